/**
 * OAuth2 token endpoint (POST /oauth2/v0/token) and bearer-token checks.
 * Grants: client_credentials (app token), password with credtype=password
 * (user token) or credtype=authtoken (company token from company UUID +
 * request token), refresh_token (rotating: the old refresh token dies).
 */
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ApiError, type Reply } from './api-error';
import type { SimState } from './state';
import { safeDecode } from './http-util';

export type TokenKind = 'app' | 'company' | 'user';
export type ExpiresInFormat = 'number' | 'string' | 'alternate';

export interface TokenInfo {
  kind: TokenKind;
  /** JWT subject: app id (client id), company UUID, or user UUID. */
  sub: string;
  clientId: string;
  companyId: string;
  userId: string | null;
  scope: string;
  issuedAt: number;
  expiresAt: number;
}

interface RefreshInfo extends Omit<TokenInfo, 'issuedAt'> {
  expiresAt: number;
}

export interface OAuthOptions {
  clientId: string;
  clientSecret: string;
  companyRequestToken: string;
  /** Access token lifetime in seconds (read at issue time so fault settings can shorten it). */
  tokenTtlSeconds: () => number;
  refreshTtlSeconds: number;
  expiresIn: ExpiresInFormat;
  /** The URL returned as `geolocation` (the simulator's own base URL). */
  geolocation: () => string;
  /** Refresh tokens valid from the start (company tokens), as if issued before the simulator started. */
  seedRefreshTokens?: string[];
  /** Tests only: keep every issued access/refresh token so a test can search its output for them. */
  recordIssuedTokens?: boolean;
}

/** Longest list of issued tokens kept for tests. */
const ISSUED_MAX = 10000;

/** First 16 hex digits of SHA-256: lets a log say which token was presented without holding the token. */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex').slice(0, 16);
}

/** The non-secret facts of a token request, for the request log (never passwords, secrets or tokens). */
export interface TokenRequestFacts {
  grantType?: string;
  credtype?: string;
  /** Company UUID (authtoken) or login id (password): identifiers, not secrets. */
  username?: string;
  /** tokenFingerprint() of the presented refresh token. */
  refreshTokenSha256?: string;
}

export function describeTokenRequest(body: Buffer): TokenRequestFacts {
  const form = new URLSearchParams(body.toString('utf8'));
  const out: TokenRequestFacts = {};
  const grant = form.get('grant_type');
  if (grant) out.grantType = grant.slice(0, 64);
  const credtype = form.get('credtype');
  if (credtype) out.credtype = credtype.slice(0, 64);
  const username = form.get('username');
  if (username) out.username = username.slice(0, 256);
  const rt = form.get('refresh_token');
  if (rt) out.refreshTokenSha256 = tokenFingerprint(rt);
  return out;
}

const SCOPES: Record<TokenKind, string[]> = {
  app: ['events.topic.read', 'expense.report.read', 'app-helper.read'],
  company: [
    'expense.report.read',
    'expense.report.readwrite',
    'expense.report.workflowstatus.write',
    'events.topic.read',
    'EXPRPT',
    'NOTIF',
    'user.read',
    'company.read',
  ],
  user: ['expense.report.read', 'expense.report.readwrite', 'expense.report.workflowstatus.write', 'EXPRPT', 'openid'],
};

const MAX_TOKENS = 5000;

function oauthError(status: number, error: string, code: number, description: string): ApiError {
  return new ApiError(status, description, { oauthError: error, oauthCode: code });
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export type AuthCheck = { ok: true; token: TokenInfo } | { ok: false; status: 401 | 403; message: string; expired?: boolean };

export class TokenService {
  private readonly access = new Map<string, TokenInfo>();
  private readonly refresh = new Map<string, RefreshInfo>();
  private readonly secret = randomBytes(32);
  private issued = 0;
  private readonly issuedTokens: string[] = [];

  constructor(
    private readonly state: SimState,
    private readonly opts: OAuthOptions,
  ) {
    const far = Date.now() + opts.refreshTtlSeconds * 1000;
    for (const rt of opts.seedRefreshTokens ?? []) {
      const sub = state.companyId;
      this.refresh.set(rt, { kind: 'company', sub, clientId: opts.clientId, companyId: sub, userId: null, scope: SCOPES.company.join(' '), expiresAt: far });
    }
  }

  /** Every access and refresh token issued so far (only when recordIssuedTokens is on; tests use it to look for leaks). */
  issuedTokenList(): string[] {
    if (!this.opts.recordIssuedTokens) throw new Error('start the simulator with recordIssuedTokens: true to list issued tokens');
    return [...this.issuedTokens];
  }

  private remember(token: string): void {
    if (!this.opts.recordIssuedTokens) return;
    this.issuedTokens.push(token);
    if (this.issuedTokens.length > ISSUED_MAX) this.issuedTokens.shift();
  }

  get accessTokenCount(): number {
    return this.access.size;
  }

  /** Handles POST /oauth2/v0/token. */
  token(body: Buffer, headers: IncomingHttpHeaders): Reply {
    const ct = String(headers['content-type'] ?? '')
      .split(';')[0]
      .trim()
      .toLowerCase();
    if (ct !== 'application/x-www-form-urlencoded') {
      throw oauthError(400, 'invalid_request', 2, `Content-Type must be application/x-www-form-urlencoded (got ${ct || 'none'})`);
    }
    const form = new URLSearchParams(body.toString('utf8'));
    let clientId = form.get('client_id') ?? '';
    let clientSecret = form.get('client_secret') ?? '';
    const basic = /^Basic\s+(.+)$/i.exec(String(headers.authorization ?? ''));
    if (basic && !clientId) {
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i < 0) throw oauthError(401, 'invalid_client', 4, 'Basic credentials must be client_id:client_secret');
      // RFC 6749 form-encodes both parts before Basic encoding.
      clientId = safeDecode(decoded.slice(0, i));
      clientSecret = safeDecode(decoded.slice(i + 1));
    }
    if (!clientId || !clientSecret) throw oauthError(400, 'invalid_request', 2, 'client_id and client_secret are required');
    if (!safeEqual(clientId, this.opts.clientId) || !safeEqual(clientSecret, this.opts.clientSecret)) {
      throw oauthError(401, 'invalid_client', 4, 'client authentication failed');
    }
    const grant = form.get('grant_type');
    switch (grant) {
      case 'client_credentials':
        return this.issue({ kind: 'app', sub: clientId, clientId, companyId: this.state.companyId, userId: null }, form.get('scope'), false);
      case 'password':
        return this.passwordGrant(form, clientId);
      case 'refresh_token':
        return this.refreshGrant(form, clientId);
      case null:
        throw oauthError(400, 'invalid_request', 2, 'grant_type is required');
      default:
        throw oauthError(
          400,
          'unsupported_grant_type',
          3,
          `grant_type ${grant} is not supported by the simulator (use client_credentials, password or refresh_token)`,
        );
    }
  }

  private passwordGrant(form: URLSearchParams, clientId: string): Reply {
    const username = form.get('username') ?? '';
    const password = form.get('password') ?? '';
    const credtype = (form.get('credtype') ?? 'password').toLowerCase();
    if (!username || !password) throw oauthError(400, 'invalid_request', 2, 'username and password are required');
    if (credtype === 'authtoken') {
      if (!safeEqual(password, this.opts.companyRequestToken)) throw oauthError(400, 'invalid_grant', 5, 'invalid request token');
      // The request token is bound to one company: a different UUID is Concur's code 136.
      if (username.toLowerCase() !== this.state.companyId) throw oauthError(400, 'invalid_grant', 136, 'auth token was not issued for this company');
      return this.issue({ kind: 'company', sub: this.state.companyId, clientId, companyId: this.state.companyId, userId: null }, form.get('scope'), true);
    }
    if (credtype !== 'password') throw oauthError(400, 'invalid_request', 2, `credtype must be password or authtoken (got ${credtype})`);
    const user = this.state.userByLogin(username);
    if (!user || !safeEqual(password, user.password)) throw oauthError(400, 'invalid_grant', 5, 'invalid username or password');
    return this.issue({ kind: 'user', sub: user.userId, clientId, companyId: this.state.companyId, userId: user.userId }, form.get('scope'), true);
  }

  private refreshGrant(form: URLSearchParams, clientId: string): Reply {
    const rt = form.get('refresh_token') ?? '';
    if (!rt) throw oauthError(400, 'invalid_request', 2, 'refresh_token is required');
    const info = this.refresh.get(rt);
    if (!info || info.expiresAt <= Date.now() || info.clientId !== clientId) {
      throw oauthError(400, 'invalid_grant', 108, 'refresh token is invalid, expired or already used');
    }
    // Rotation: every refresh retires the presented refresh token.
    this.refresh.delete(rt);
    const requested = form.get('scope');
    return this.issue({ kind: info.kind, sub: info.sub, clientId, companyId: info.companyId, userId: info.userId }, requested ?? info.scope, true);
  }

  private issue(base: Omit<TokenInfo, 'scope' | 'issuedAt' | 'expiresAt'>, requestedScope: string | null, withRefresh: boolean): Reply {
    const allowed = SCOPES[base.kind];
    let scope = allowed.join(' ');
    if (requestedScope && requestedScope.trim()) {
      const want = requestedScope.trim().split(/\s+/);
      const bad = want.filter((s) => !allowed.includes(s));
      if (bad.length) throw oauthError(400, 'invalid_scope', 54, `scope not allowed for this grant: ${bad.join(' ')}`);
      scope = want.join(' ');
    }
    const now = Date.now();
    const ttl = Math.max(1, Math.floor(this.opts.tokenTtlSeconds()));
    const info: TokenInfo = { ...base, scope, issuedAt: now, expiresAt: now + ttl * 1000 };
    const accessToken = this.jwt({ typ: base.kind, sub: base.sub, 'concur.companyId': base.companyId, scope, exp: Math.floor(info.expiresAt / 1000) });
    this.prune(this.access, now);
    this.access.set(accessToken, info);
    this.remember(accessToken);
    const geolocation = this.opts.geolocation();
    this.issued++;
    const fmt = this.opts.expiresIn === 'alternate' ? (this.issued % 2 ? 'string' : 'number') : this.opts.expiresIn;
    const body: Record<string, unknown> = {
      expires_in: fmt === 'string' ? String(ttl) : ttl,
      scope,
      token_type: 'Bearer',
      access_token: accessToken,
      geolocation,
    };
    if (withRefresh) {
      const refreshToken = randomUUID();
      const refreshExpiresAt = now + this.opts.refreshTtlSeconds * 1000;
      this.prune(this.refresh, now);
      this.refresh.set(refreshToken, { ...base, scope, expiresAt: refreshExpiresAt });
      this.remember(refreshToken);
      body.refresh_token = refreshToken;
      // Absolute epoch seconds, not a duration (as Concur sends it).
      body.refresh_expires_in = Math.floor(refreshExpiresAt / 1000);
      body.id_token = this.jwt({ sub: base.sub, iss: geolocation, aud: base.clientId, exp: Math.floor(info.expiresAt / 1000) });
    }
    return { status: 200, headers: { 'Cache-Control': 'no-store', Pragma: 'no-cache' }, body };
  }

  /** Checks an Authorization header: 401 when missing, 403 when unknown, `expiredStatus` (403 per the docs) when expired. */
  check(authorization: string | undefined, expiredStatus: 401 | 403 = 403): AuthCheck {
    const m = /^(Bearer|OAuth)\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!authorization) return { ok: false, status: 401, message: 'Authorization header is missing' };
    if (!m) return { ok: false, status: 401, message: 'Authorization header must be "Bearer <access token>"' };
    const info = this.access.get(m[2]);
    if (!info) return { ok: false, status: 403, message: 'Invalid or revoked access token' };
    if (info.expiresAt <= Date.now()) return { ok: false, status: expiredStatus, message: 'Access token has expired', expired: true };
    return { ok: true, token: info };
  }

  /** Fault injection: every issued access token (and optionally refresh token) expires now. */
  expireAll(opts: { refresh?: boolean } = {}): number {
    const now = Date.now();
    let n = 0;
    for (const t of this.access.values()) {
      if (t.expiresAt > now) n++;
      t.expiresAt = now - 1;
    }
    if (opts.refresh) for (const r of this.refresh.values()) r.expiresAt = now - 1;
    return n;
  }

  private jwt(claims: Record<string, unknown>): string {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const head = b64({ alg: 'HS256', typ: 'JWT', kid: 'concur-sim' });
    const payload = b64({ ...claims, iat: Math.floor(Date.now() / 1000), jti: randomUUID(), iss: 'concur-sim' });
    const sig = createHmac('sha256', this.secret).update(`${head}.${payload}`).digest('base64url');
    return `${head}.${payload}.${sig}`;
  }

  private prune(map: Map<string, { expiresAt: number }>, now: number): void {
    if (map.size < MAX_TOKENS) return;
    for (const [k, v] of map) if (v.expiresAt <= now) map.delete(k);
    // Still full: drop the oldest (Map keeps insertion order).
    for (const k of map.keys()) {
      if (map.size < MAX_TOKENS) break;
      map.delete(k);
    }
  }
}
