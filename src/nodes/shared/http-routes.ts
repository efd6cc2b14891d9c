/**
 * Route registration on Node-RED's node HTTP server, with exact raw-body capture.
 *
 * Why: when httpAdminRoot and httpNodeRoot share a server, the editor's JSON and
 * urlencoded body parsers run first and consume the request stream, so a route
 * registered on RED.httpNode sees a re-parsed object, never the bytes Concur
 * signed. Core `http in` (Node-RED >= 4) solves this with a middleware at the top
 * of the root express app; we do the same, keyed on the routes our nodes own.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidPathError, isValidPath, normalizePath, routeKey, type RoutingOptions } from './receiver-path';

export { InvalidPathError, normalizePath, routeKey, type RoutingOptions } from './receiver-path';

export interface BodyError {
  /** 413 too large; 503 busy (byte budget), too slow (read timeout) or aborted: every one but 413 is worth a retry. */
  status: number;
  kind: 'too-large' | 'busy' | 'timeout' | 'aborted';
  message: string;
  /** Suggested Retry-After (seconds) for 503. */
  retryAfterSec?: number;
}

export interface RouteRequest extends IncomingMessage {
  /** Exact bytes of the body (set for routes registered with captureBody). */
  concurRawBody?: Buffer;
  /** Set instead of concurRawBody when reading the body failed (e.g. 413). */
  concurBodyError?: BodyError;
  /** Set when the route's shouldRead refused the request on its headers: no body byte was read. */
  concurBodySkipped?: boolean;
  originalUrl?: string;
  path?: string;
  query?: Record<string, unknown>;
  body?: unknown;
  _body?: boolean;
  skipRawBodyParser?: boolean;
  _parsedUrl?: { pathname?: string };
}
export type RouteResponse = ServerResponse;
export type RouteHandler = (req: RouteRequest, res: RouteResponse) => void | Promise<void>;

interface Layer {
  handle: unknown;
  route?: { path: string; methods: Record<string, boolean>; stack: Layer[] };
}
interface ExpressLike {
  (req: IncomingMessage, res: ServerResponse, next?: () => void): void;
  use(fn: unknown): void;
  path(): string;
  parent?: ExpressLike;
  _router?: { stack: Layer[] };
  router?: { stack: Layer[] };
  get(path: string, ...h: unknown[]): void;
  enabled?(setting: string): boolean;
  post(path: string, ...h: unknown[]): void;
  all(path: string, ...h: unknown[]): void;
}
export interface RedWithHttp {
  httpNode: unknown;
  settings?: Record<string, unknown> & { concurReceiverLimits?: ReceiverLimitSettings; httpNodeAuth?: unknown };
}

/** Optional `concurReceiverLimits` in settings.js (global for every receiver of this package). */
export interface ReceiverLimitSettings {
  /** Seconds a request body may take to arrive (default 30). */
  bodyReadTimeoutSec?: number;
  /** MiB of request bodies being read at once, per receiver type (default 8). */
  bodyBudgetMiB?: number;
}

/** httpNodeAuth as { user, pass } (Node-RED's Basic check); a function or array is custom middleware we cannot predict. */
function isBasicNodeAuth(v: unknown): boolean {
  return Boolean(v && typeof v === 'object' && !Array.isArray(v) && (v as { user?: unknown }).user && (v as { pass?: unknown }).pass);
}

function positive(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() ? Number(v) : NaN;
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

interface CaptureEntry {
  limitBytes: number;
  methods: Set<string>;
  shouldRead?: (req: RouteRequest) => boolean;
  /** settings.js httpNodeAuth is { user, pass }: Node-RED refuses a request without Basic credentials after our capture ran. */
  needsBasic: boolean;
  budget: ByteBudget;
  readTimeoutMs: number;
}

/** Registry shared by every copy of this module in the process (stored on the root app). */
const CAPTURE = Symbol.for('node-red-contrib-sap-concur.rawBodyCapture');

type Captures = Map<string, CaptureEntry> & { routing?: RoutingOptions };

function routingOf(app: ExpressLike): RoutingOptions {
  const enabled = (k: string) => {
    try {
      return typeof app.enabled === 'function' ? Boolean(app.enabled(k)) : false;
    } catch {
      return false;
    }
  };
  return { caseSensitive: enabled('case sensitive routing'), strict: enabled('strict routing') };
}

/** Bytes of request bodies being read right now, per receiver type (shared by every copy of this module). */
export interface ByteBudget {
  readonly name: string;
  limitBytes: number;
  inFlight: number;
}
const BUDGETS = Symbol.for('node-red-contrib-sap-concur.bodyBudgets');
/** Default budget per receiver type: ESS sends events of a few KB from up to 24 threads, legacy callouts are smaller. */
export const DEFAULT_BODY_BUDGET_BYTES = 8 * 1024 * 1024;
export const DEFAULT_BODY_READ_TIMEOUT_MS = 30_000;
const BUSY_RETRY_AFTER_SEC = 5;

export function bodyBudget(name: string, limitBytes = DEFAULT_BODY_BUDGET_BYTES): ByteBudget {
  const g = globalThis as { [BUDGETS]?: Map<string, ByteBudget> };
  const all = (g[BUDGETS] ??= new Map());
  let b = all.get(name);
  if (!b) all.set(name, (b = { name, limitBytes, inFlight: 0 }));
  else b.limitBytes = limitBytes; // the newest registration's setting wins (settings.js changes need a restart anyway)
  return b;
}

function rootApp(app: ExpressLike): ExpressLike {
  let a = app;
  while (a.parent) a = a.parent;
  return a;
}

function stackOf(app: ExpressLike): Layer[] | undefined {
  // Express 4 exposes app._router (created lazily; its app.router getter throws);
  // Express 5 (Node-RED 5) exposes app.router.
  if (app._router) return app._router.stack;
  try {
    return app.router?.stack;
  } catch {
    return undefined;
  }
}

export interface ReadBodyOptions {
  limit: number;
  /** Whole-body deadline; a sender slower than this gets 503 (ESS drops a 408, it retries a 503). */
  timeoutMs?: number;
  /** In-flight byte budget this body is counted against (reserved up front: the declared length, or `limit` if chunked). */
  budget?: ByteBudget;
}

function bodyError(kind: BodyError['kind'], message: string, status = kind === 'too-large' ? 413 : 503): Error & { body: BodyError } {
  const retryAfterSec = status === 503 ? BUSY_RETRY_AFTER_SEC : undefined;
  return Object.assign(new Error(message), { body: { status, kind, message, retryAfterSec } });
}

/**
 * Reads the whole body into a Buffer: 413 past `limit` bytes, 503 when the
 * budget is used up by other bodies or the body does not arrive in time.
 */
export function readBody(req: IncomingMessage, limitOrOpts: number | ReadBodyOptions): Promise<Buffer> {
  const o: ReadBodyOptions = typeof limitOrOpts === 'number' ? { limit: limitOrOpts } : limitOrOpts;
  const limit = o.limit;
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    const hasLength = req.headers['content-length'] !== undefined && Number.isFinite(declared);
    if (hasLength && declared > limit) {
      reject(bodyError('too-large', `body of ${declared} bytes exceeds the ${limit}-byte limit`));
      req.resume();
      return;
    }
    let reserved = 0;
    const b = o.budget;
    if (b) {
      const need = hasLength ? declared : limit;
      // One body alone is always admitted, so a limit above the budget still works.
      if (b.inFlight > 0 && b.inFlight + need > b.limitBytes) {
        reject(bodyError('busy', `too many request bodies in flight (${b.inFlight} of ${b.limitBytes} bytes for ${b.name})`));
        return; // not read at all: the answer closes the connection
      }
      reserved = need;
      b.inFlight += need;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err?: Error, buf?: Buffer) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      if (b) b.inFlight -= reserved;
      reserved = 0;
      chunks.length = 0;
      req.removeListener('data', onData);
      if (err) {
        req.resume(); // discard the rest without buffering it
        reject(err);
      } else resolve(buf as Buffer);
    };
    const onData = (c: Buffer) => {
      if (settled) return;
      size += c.length;
      if (size > limit) return finish(bodyError('too-large', `body exceeds the ${limit}-byte limit`));
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => {
      if (!settled) finish(undefined, Buffer.concat(chunks, size));
    });
    req.on('error', (err) => finish(bodyError('aborted', `request body could not be read: ${err.message}`)));
    req.on('close', () => {
      if (!settled && !req.complete) finish(bodyError('aborted', 'the client closed the connection before the body was complete'));
    });
    if (o.timeoutMs && o.timeoutMs > 0) {
      timer = setTimeout(() => finish(bodyError('timeout', `body not received within ${Math.round(o.timeoutMs! / 1000)} s`)), o.timeoutMs);
      timer.unref?.();
    }
  });
}

/** How long and how much of a refused request's unread body is drained (discarded, never buffered) after the answer. */
const LINGER_MS = 2000;
const LINGER_BYTES = 256 * 1024;

/**
 * Closes the connection after the answer without losing it. The answer says
 * `Connection: close` (the client must not reuse the socket); our side is then
 * ended (FIN) and the rest of the body is read and discarded for at most
 * LINGER_MS / LINGER_BYTES before the socket is destroyed. Node would destroy it
 * as soon as the answer is flushed, and closing with unread bytes in the receive
 * buffer makes the kernel send a reset, so the client may never see the 401 / 503
 * ("lingering close", https://www.rfc-editor.org/rfc/rfc9112#section-9.6).
 */
function lingeringClose(req: IncomingMessage, res: ServerResponse): void {
  const sock = req.socket as (IncomingMessage['socket'] & { destroySoon?: () => void }) | undefined;
  if (!sock || res.headersSent) return;
  res.setHeader('Connection', 'close');
  // Node's server ends a "Connection: close" response with socket.destroySoon(): end only, we destroy later.
  if (typeof sock.destroySoon === 'function') sock.destroySoon = () => sock.end();
  res.once('finish', () => {
    if (sock.destroyed) return;
    req.resume();
    sock.end();
    const t = setTimeout(() => sock.destroy(), LINGER_MS);
    t.unref?.();
    let drained = 0;
    const onData = (c: Buffer) => {
      drained += c.length;
      if (drained > LINGER_BYTES) sock.destroy();
    };
    sock.on('data', onData);
    sock.once('close', () => {
      clearTimeout(t);
      sock.removeListener('data', onData);
    });
  });
}

function installCapture(app: ExpressLike): Captures {
  const root = rootApp(app) as ExpressLike & { [CAPTURE]?: Captures };
  const existing = root[CAPTURE];
  if (existing) return existing;
  const captures: Captures = new Map();
  captures.routing = routingOf(app);
  const capture = (req: RouteRequest, res: RouteResponse, next: () => void) => {
    const pathname = req._parsedUrl?.pathname ?? (req.url ?? '/').split('?')[0];
    const entry = captures.get(routeKey(pathname, captures.routing));
    if (!entry || !entry.methods.has((req.method ?? '').toUpperCase()) || req._body) return next();
    // Mark the body as consumed so the editor's and core's body parsers skip it.
    req._body = true;
    req.skipRawBodyParser = true;
    // Headers first: a request that fails the route's own header check (Basic
    // auth, a missing Concur-Signature) is answered without reading its body.
    let read = true;
    try {
      if (entry.needsBasic && !/^basic\s/i.test(String(req.headers.authorization ?? ''))) read = false;
      else read = entry.shouldRead ? entry.shouldRead(req) : true;
    } catch {
      read = true; // the handler runs the same check and reports it
    }
    if (!read) {
      req.concurBodySkipped = true;
      lingeringClose(req, res);
      return next();
    }
    readBody(req, { limit: entry.limitBytes, timeoutMs: entry.readTimeoutMs, budget: entry.budget }).then(
      (buf) => {
        req.concurRawBody = buf;
        req.body = buf;
        next();
      },
      (err: Error & { body?: BodyError }) => {
        req.concurBodyError = err.body ?? { status: 503, kind: 'aborted', message: err.message, retryAfterSec: BUSY_RETRY_AFTER_SEC };
        if (req.concurBodyError.status !== 413) lingeringClose(req, res);
        next();
      },
    );
  };
  root.use(capture);
  const stack = stackOf(root);
  if (stack) {
    const i = stack.findIndex((l) => l.handle === capture);
    if (i > 0) stack.unshift(stack.splice(i, 1)[0]);
  }
  root[CAPTURE] = captures;
  return captures;
}

export interface RouteSpec {
  /** HTTP methods to route (upper case). The handler sees every method on the path when `allMethods` is set. */
  methods: string[];
  path: string;
  /** Who registers the route (named in the error when another node already owns the path). */
  owner?: { id: string; type?: string };
  /** Capture the raw body for these methods with this limit (bytes). */
  captureBody?: {
    methods: string[];
    limitBytes: number;
    /** Receiver type whose in-flight body bytes share one budget (default: the owner's node type). */
    budget?: string;
    budgetBytes?: number;
    /** Whole-body read deadline (default 30 s). */
    readTimeoutMs?: number;
    /**
     * Header-only check run before any body byte is read; false: the body is not
     * read (`req.concurBodySkipped`), and the handler answers from its own check.
     */
    shouldRead?: (req: RouteRequest) => boolean;
  };
  /** Route every method to the handler (so it can answer 405 itself). */
  allMethods?: boolean;
}

/** Thrown by registerRoute when a live route already answers this path and method. */
export class RouteConflictError extends Error {
  constructor(
    readonly fullPath: string,
    readonly method: string,
    readonly ownerId?: string,
  ) {
    super(`${method === '*' ? 'every method' : method} ${fullPath} is already served by ${ownerId ? `node ${ownerId}` : 'another route'}`);
    this.name = 'RouteConflictError';
  }
}

interface Claim {
  ownerId?: string;
  /** Upper-case methods, or '*' for a route that takes every method. */
  methods: Set<string>;
}

/** Live claims per full path, shared by every copy of this module (stored on the root app). */
const CLAIMS = Symbol.for('node-red-contrib-sap-concur.routeClaims');

function claimsOf(app: ExpressLike): Map<string, Claim[]> {
  const root = rootApp(app) as ExpressLike & { [CLAIMS]?: Map<string, Claim[]> };
  return (root[CLAIMS] ??= new Map());
}

function overlap(a: Set<string>, b: Set<string>): string | undefined {
  if (a.has('*')) return b.has('*') ? '*' : [...b][0];
  if (b.has('*')) return [...a][0];
  return [...a].find((m) => b.has(m));
}

/** Express routes on `app` for this path that were not registered through registerRoute (e.g. core http in). */
function foreignRouteMethod(app: ExpressLike, path: string, methods: Set<string>, routing: RoutingOptions): string | undefined {
  const key = routeKey(path, routing);
  for (const layer of stackOf(app) ?? []) {
    const r = layer.route;
    if (!r || typeof r.path !== 'string' || routeKey(normalizePath(r.path), routing) !== key) continue;
    if (r.stack.some((l) => (l.handle as { [CLAIMS]?: boolean })[CLAIMS])) continue; // ours: checked through the claims
    const theirs = new Set(Object.keys(r.methods ?? {}).map((m) => (m === '_all' ? '*' : m.toUpperCase())));
    const m = overlap(methods, theirs);
    if (m) return m;
  }
  return undefined;
}

export interface RegisteredRoute {
  /** Full path as seen by clients (includes httpNodeRoot). */
  fullPath: string;
  remove(): void;
}

/**
 * Registers a route on RED.httpNode; returns a handle whose remove() must be
 * called from the node's close handler (otherwise a redeploy duplicates it).
 * Throws InvalidPathError for a path that is not literal (receiver-path.ts) and
 * RouteConflictError when the path (compared case-insensitively, as Express
 * routes) and a method are already served.
 */
export function registerRoute(RED: RedWithHttp, spec: RouteSpec, handler: RouteHandler, onError: (err: unknown) => void): RegisteredRoute {
  const app = RED.httpNode as ExpressLike;
  const path = normalizePath(spec.path);
  if (!isValidPath(path)) throw new InvalidPathError(path);
  const mount = typeof app.path === 'function' ? app.path() : '';
  const fullPath = normalizePath(mount + path);
  const routing = routingOf(app);
  // Claims and captures use Express's own notion of "the same path" (/Concur/ESS/ is /concur/ess).
  const key = routeKey(fullPath, routing);
  // Two nodes on one path would silently share requests (Express calls the first route only).
  const claim: Claim = { ownerId: spec.owner?.id, methods: new Set(spec.allMethods ? ['*'] : spec.methods.map((m) => m.toUpperCase())) };
  const claims = claimsOf(app);
  for (const other of claims.get(key) ?? []) {
    const m = overlap(claim.methods, other.methods);
    if (m) throw new RouteConflictError(fullPath, m, other.ownerId);
  }
  const foreign = foreignRouteMethod(app, path, claim.methods, routing);
  if (foreign) throw new RouteConflictError(fullPath, foreign);
  let captures: Captures | undefined;
  if (spec.captureBody) {
    const cb = spec.captureBody;
    const limits = RED.settings?.concurReceiverLimits ?? {};
    const budgetMiB = positive(limits.bodyBudgetMiB);
    const timeoutSec = positive(limits.bodyReadTimeoutSec);
    captures = installCapture(app);
    captures.set(key, {
      limitBytes: cb.limitBytes,
      methods: new Set(cb.methods.map((m) => m.toUpperCase())),
      shouldRead: cb.shouldRead,
      needsBasic: isBasicNodeAuth(RED.settings?.httpNodeAuth),
      budget: bodyBudget(
        cb.budget ?? spec.owner?.type ?? 'default',
        cb.budgetBytes ?? (budgetMiB ? Math.round(budgetMiB * 1024 * 1024) : DEFAULT_BODY_BUDGET_BYTES),
      ),
      readTimeoutMs: cb.readTimeoutMs ?? (timeoutSec ? Math.round(timeoutSec * 1000) : DEFAULT_BODY_READ_TIMEOUT_MS),
    });
  }
  // Guard every async path: an escaped rejection would take down Node-RED.
  const guarded = (req: RouteRequest, res: RouteResponse) => {
    try {
      const r = handler(req, res);
      if (r && typeof (r as Promise<void>).catch === 'function') {
        (r as Promise<void>).catch((err) => fail(err, res));
      }
    } catch (err) {
      fail(err, res);
    }
  };
  const fail = (err: unknown, res: RouteResponse) => {
    onError(err);
    if (!res.headersSent) {
      res.statusCode = 500;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end('internal error');
    }
  };
  (guarded as unknown as { [CLAIMS]: boolean })[CLAIMS] = true;
  claims.set(key, [...(claims.get(key) ?? []), claim]);
  if (spec.allMethods) app.all(path, guarded);
  else for (const m of spec.methods) (app as unknown as Record<string, (p: string, h: unknown) => void>)[m.toLowerCase()](path, guarded);

  return {
    fullPath,
    remove() {
      const stack = stackOf(app);
      if (stack) {
        for (let i = stack.length - 1; i >= 0; i--) {
          const r = stack[i].route;
          if (r && r.stack.some((l) => l.handle === guarded)) stack.splice(i, 1);
        }
      }
      if (captures) captures.delete(key);
      const left = (claims.get(key) ?? []).filter((c) => c !== claim);
      if (left.length) claims.set(key, left);
      else claims.delete(key);
    },
  };
}

/** Small helper for plain-text answers with the right headers. */
export function sendText(res: RouteResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.statusCode = status;
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}
