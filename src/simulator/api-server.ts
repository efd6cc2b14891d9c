/**
 * The simulator's HTTP server: dispatches to the API modules, applies faults
 * (latency first, then failNext / random 429 / 5xx), checks bearer tokens,
 * renders errors in each API family's shape, and keeps a bounded request log
 * (method, path, status and other non-secret facts: never Authorization
 * values, bodies or tokens).
 */
import * as http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import { ApiError, renderError, type ApiFamily, type Reply } from './api-error';
import { BodyTooLargeError, readBody, send, wantsJson } from './http-util';
import { FaultController, type FaultSettings } from './faults';
import { describeTokenRequest, TokenService, type ExpiresInFormat } from './oauth';
import { SimState, type StateOptions } from './state';
import type { RequestContext, Route, SimContext } from './routes';
import { expenseV4Routes } from './expense-v4';
import { expenseV3Routes } from './expense-v3';
import { identityRoutes } from './identity-v4';
import { commentRoutes } from './comments-v4';
import { receiptImageRoutes } from './receipt-images';
import { travelRequestRoutes } from './travel-request-v4';
import { legacyXmlRoutes } from './expense-legacy-xml';
import { notificationRoutes } from './notifications';
import { essSubscriptionRoutes } from './ess-subscriptions';
import { adminRoutes, type RequestLogEntry } from './admin';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_COMPANY_REQUEST_TOKEN } from './seed-data';

export interface ApiServerOptions extends StateOptions {
  port?: number;
  host?: string;
  /** Seed of the fault PRNG. */
  seed?: number;
  faults?: Partial<FaultSettings>;
  clientId?: string;
  clientSecret?: string;
  companyRequestToken?: string;
  /** expires_in as number, string, or alternating (Concur docs show a string, real traffic a number). */
  expiresIn?: ExpiresInFormat;
  refreshTtlSeconds?: number;
  /** Refresh tokens (company tokens) that are valid from the start, e.g. the one a test configures in a node. */
  refreshTokens?: string[];
  /** Tests only: keep every issued token so the test can search logs for them (sim.issuedTokens()). */
  recordIssuedTokens?: boolean;
  /** Public base URL to hand out (geolocation, hrefs); default the listening URL. */
  publicUrl?: string;
  enforceTokenKinds?: boolean;
  subscriptionGetShape?: 'object' | 'array';
  workflowActionFailureStatus?: number;
  /** GET …/comments answers a bare array (docs example, default) or { commentDetails } (schema table). */
  commentsShape?: 'array' | 'wrapped';
  maxBodyBytes?: number;
  /** Optional line logger (one line per request). */
  log?: (line: string) => void;
}

const REQUEST_LOG_MAX = 1000;

function familyFor(path: string): ApiFamily {
  const p = path.toLowerCase();
  if (p.startsWith('/_sim/')) return 'admin';
  if (p.startsWith('/oauth2/')) return 'oauth';
  if (p.startsWith('/expensereports/')) return 'v4';
  if (p.startsWith('/profile/identity/')) return 'scim';
  if (p.startsWith('/travelrequest/')) return 'travelrequest';
  if (p.startsWith('/spend-documents/')) return 'spenddocs';
  if (p.startsWith('/events/') || p.startsWith('/v4/')) return 'ess';
  if (p.startsWith('/api/v3.0/')) return 'v3';
  if (p.startsWith('/api/platform/notifications/')) return 'notification';
  return 'legacy';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ApiServer {
  readonly state: SimState;
  readonly faults: FaultController;
  readonly tokens: TokenService;
  readonly requestLog: RequestLogEntry[] = [];
  readonly eventLog: Record<string, unknown>[] = [];
  readonly server: http.Server;
  readonly ctx: SimContext;
  private readonly routes: Route[];
  private readonly sockets = new Set<Socket>();
  private listeningUrl = '';

  constructor(private readonly opts: ApiServerOptions = {}) {
    this.state = new SimState(opts);
    this.faults = new FaultController(opts.faults, opts.seed ?? 1);
    this.tokens = new TokenService(this.state, {
      clientId: opts.clientId ?? DEFAULT_CLIENT_ID,
      clientSecret: opts.clientSecret ?? DEFAULT_CLIENT_SECRET,
      companyRequestToken: opts.companyRequestToken ?? DEFAULT_COMPANY_REQUEST_TOKEN,
      tokenTtlSeconds: () => this.faults.settings.tokenTtlSeconds,
      refreshTtlSeconds: opts.refreshTtlSeconds ?? 180 * 24 * 3600,
      expiresIn: opts.expiresIn ?? 'alternate',
      geolocation: () => this.url,
      seedRefreshTokens: opts.refreshTokens,
      recordIssuedTokens: opts.recordIssuedTokens,
    });
    this.ctx = {
      state: this.state,
      tokens: this.tokens,
      faults: this.faults,
      baseUrl: () => this.url,
      enforceTokenKinds: !!opts.enforceTokenKinds,
      subscriptionGetShape: opts.subscriptionGetShape ?? 'object',
      workflowActionFailureStatus: opts.workflowActionFailureStatus ?? 200,
      commentsShape: opts.commentsShape ?? 'array',
    };
    this.routes = [
      {
        method: 'POST',
        pattern: /^\/oauth2\/v0\/token\/?$/i,
        family: 'oauth',
        auth: false,
        handler: (c: RequestContext) => this.tokens.token(c.body, c.headers),
      },
      ...expenseV4Routes(),
      ...expenseV3Routes(),
      ...identityRoutes(),
      ...commentRoutes(),
      ...receiptImageRoutes(),
      ...travelRequestRoutes(),
      ...legacyXmlRoutes(),
      ...notificationRoutes(),
      ...essSubscriptionRoutes(),
      ...adminRoutes({ requestLog: this.requestLog, eventLog: this.eventLog, expireTokens: (refresh) => this.tokens.expireAll({ refresh }) }),
    ];
    this.server = http.createServer((req, res) => {
      // Guard the async path: nothing may escape as an unhandled rejection.
      this.handle(req, res).catch((err) => {
        this.opts.log?.(`internal error: ${(err as Error).message}`);
        send(res, 500, {}, { error: 'internal simulator error' });
      });
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  /** The base URL clients should use. */
  get url(): string {
    return (this.opts.publicUrl ?? this.listeningUrl).replace(/\/+$/, '');
  }

  async listen(): Promise<string> {
    const host = this.opts.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.server.once('error', onError);
      this.server.listen(this.opts.port ?? 0, host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    const addr = this.server.address() as AddressInfo;
    const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    this.listeningUrl = `http://${shownHost === '0.0.0.0' ? '127.0.0.1' : shownHost}:${addr.port}`;
    return this.url;
  }

  get port(): number {
    return (this.server.address() as AddressInfo | null)?.port ?? 0;
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = Date.now();
    const rawUrl = req.url ?? '/';
    const qi = rawUrl.indexOf('?');
    const path = qi >= 0 ? rawUrl.slice(0, qi) : rawUrl;
    const query = new URLSearchParams(qi >= 0 ? rawUrl.slice(qi + 1) : '');
    const method = (req.method ?? 'GET').toUpperCase();
    const incoming = req.headers['concur-correlationid'];
    const given = Array.isArray(incoming) ? incoming[0] : incoming;
    // Echo the caller's correlation id only when it is a plausible id (it goes back out as a header).
    const correlationId = given && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
    const json = wantsJson(req);
    const isAdmin = path.startsWith('/_sim/');
    let family = familyFor(path);
    const entry: RequestLogEntry = { at: new Date().toISOString(), method, path, status: 0, ms: 0 };
    if (qi >= 0 && qi < rawUrl.length - 1) entry.query = rawUrl.slice(qi + 1, qi + 1 + 2000);
    if (given && given === correlationId) entry.correlationId = given;
    if (typeof req.headers.accept === 'string') entry.accept = req.headers.accept.slice(0, 200);
    if (typeof req.headers['accept-language'] === 'string') entry.acceptLanguage = req.headers['accept-language'].slice(0, 100);

    const record = (status: number) => {
      entry.status = status;
      entry.ms = Date.now() - started;
      if (!isAdmin) {
        this.requestLog.push(entry);
        if (this.requestLog.length > REQUEST_LOG_MAX) this.requestLog.splice(0, this.requestLog.length - REQUEST_LOG_MAX);
        this.opts.log?.(`${method} ${path} -> ${status || 'dropped'}${entry.fault ? ` (injected: ${entry.fault})` : ''}`);
      }
    };
    const finish = (reply: Reply) => {
      if (family === 'oauth' && reply.body && typeof reply.body === 'object' && 'error' in reply.body) {
        const b = reply.body as Record<string, unknown>;
        entry.oauthError = String(b.error);
        entry.oauthCode = b.code;
      }
      record(reply.status);
      send(res, reply.status, { 'Concur-Correlationid': correlationId, ...(reply.headers ?? {}) }, reply.body);
    };
    const fail = (err: ApiError) => finish(renderError(family, err, path, json));

    if (!isAdmin && this.faults.settings.latencyMs > 0) await sleep(this.faults.settings.latencyMs);

    let body: Buffer;
    try {
      body = await readBody(req, this.opts.maxBodyBytes ?? 1024 * 1024);
    } catch (e) {
      if (e instanceof BodyTooLargeError) return fail(new ApiError(413, e.message));
      return fail(new ApiError(400, `could not read the request body: ${(e as Error).message}`));
    }

    if (family === 'oauth') {
      Object.assign(entry, describeTokenRequest(body));
      if (this.faults.settings.tokenLatencyMs > 0) await sleep(this.faults.settings.tokenLatencyMs);
    }

    if (!isAdmin) {
      const f = this.faults.decide(method, path, family === 'oauth');
      if (f?.drop) {
        entry.fault = `${f.reason} (drop)`;
        record(0);
        req.socket.destroy();
        return;
      }
      if (f?.expireTokens) {
        // The token dies while this request is on its way: answer it as the expired token deserves.
        entry.fault = `${f.reason} (expire tokens)`;
        this.tokens.expireAll();
      } else if (f) {
        entry.fault = f.reason;
        const headers: Record<string, string> = f.retryAfter !== undefined ? { 'Retry-After': String(f.retryAfter) } : {};
        if (f.geolocation && family === 'oauth') {
          return fail(
            new ApiError(f.status, f.message ?? 'the user lives in another geolocation (simulated)', {
              headers,
              oauthError: 'invalid_request',
              oauthCode: 16,
              oauthFields: { geolocation: f.geolocation },
            }),
          );
        }
        const msg =
          f.message ??
          (f.status === 429 ? 'Too Many Requests' : f.status >= 500 ? 'Service temporarily unavailable (simulated)' : `Simulated failure ${f.status}`);
        return fail(
          new ApiError(f.status, msg, {
            headers,
            oauthError: family === 'oauth' ? (f.status === 429 ? 'too_many_requests' : 'server_error') : undefined,
            oauthCode: f.status,
          }),
        );
      }
    }

    let route: Route | undefined;
    let match: RegExpExecArray | null = null;
    let pathMatched = false;
    for (const r of this.routes) {
      const m = r.pattern.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (r.method === method) {
        route = r;
        match = m;
        break;
      }
    }
    if (!route || !match) {
      return fail(pathMatched ? new ApiError(405, `method ${method} is not allowed on ${path}`) : new ApiError(404, `no simulated Concur resource at ${path}`));
    }
    family = route.family;

    const ctx: RequestContext = { method, path, params: match.slice(1), query, headers: req.headers, body, wantsJson: json, sim: this.ctx };
    if (route.auth) {
      const check = this.tokens.check(req.headers.authorization, this.faults.settings.expiredTokenStatus);
      if (!check.ok) {
        const headers: Record<string, string> =
          check.status === 401
            ? { 'WWW-Authenticate': check.expired ? 'Bearer error="invalid_token", error_description="The access token expired"' : 'Bearer' }
            : {};
        return fail(new ApiError(check.status, check.message, { headers }));
      }
      ctx.token = check.token;
      entry.tokenKind = check.token.kind;
      if (Array.isArray(route.auth) && this.ctx.enforceTokenKinds && !route.auth.includes(check.token.kind)) {
        return fail(new ApiError(403, `this resource requires a ${route.auth.join(' or ')} token (got a ${check.token.kind} token)`));
      }
    }
    try {
      finish(await route.handler(ctx));
    } catch (e) {
      if (e instanceof ApiError) return fail(e);
      throw e;
    }
  }
}
