/**
 * OAuth2 access tokens for the Concur APIs (docs/concur-api.md#oauth2).
 *
 * - caches the access token until `skew` seconds before `expires_in` (string or number);
 * - single-flight: concurrent callers share one token request;
 * - refreshes with the newest refresh token (kept in a TokenStore so a rotated
 *   one survives a restart), falling back to the password grant when the
 *   refresh token is rejected and a company request token is configured;
 * - follows `geolocation` (both for API calls and for the next refresh) and
 *   retries once at the geolocation named in a "user lives elsewhere" error;
 * - surfaces OAuth errors as ConcurError with `oauth = {error, error_description, code}`.
 */
import crypto from 'node:crypto';
import { ConcurError } from './concur-error';
import { isConcurHttpsUrl, normaliseBaseUrl } from './concur-hosts';
import { sendHttp, headerValue, TransportError, type HttpExchange, type HttpResult } from './http-transport';
import type { SharedTokenState, SharedTokenStore, StoredTokenState, TokenStore } from './token-store';

export type GrantType = 'refresh_token' | 'password' | 'client_credentials';
export const GRANT_TYPES: readonly GrantType[] = ['refresh_token', 'password', 'client_credentials'];

export interface TokenCredentials {
  clientId?: string;
  clientSecret?: string;
  /** refresh_token grant: the refresh token obtained once (e.g. with Concur's refresh token tool). */
  refreshToken?: string;
  /** password grant: company UUID (credtype authtoken) or user name. */
  username?: string;
  /** password grant: company request token (credtype authtoken) or password. */
  password?: string;
}

export interface TokenManagerOptions {
  grantType: GrantType;
  credentials: TokenCredentials;
  /** password grant: `authtoken` for company request tokens (default) or `password`. */
  credtype?: 'authtoken' | 'password';
  scope?: string;
  /** Configured API base (used until a token names its geolocation). */
  baseUrl: string;
  /** Base of the token endpoint for the first grant (default baseUrl; Concur recommends GLZ). */
  tokenBaseUrl?: string;
  /** Use the token's `geolocation` for API calls and refreshes (default true). */
  followGeolocation?: boolean;
  store?: TokenStore;
  /**
   * Several Node-RED instances sharing one connection: the access token and the
   * rotated refresh token live here, and a token request runs under its lock
   * after re-reading it, so N instances make one request per expiry and never
   * present a refresh token another instance has rotated out.
   */
  shared?: SharedTokenStore;
  /** Renew this many seconds before expiry (default 120; never more than half the lifetime). */
  expirySkewSec?: number;
  timeoutMs?: number;
  /** Retries of a token request answered 429 or 5xx (default 3, 500 ms doubling to 30 s, Retry-After honoured up to 60 s). */
  tokenRetry?: { maxRetries: number; baseDelayMs: number; maxDelayMs: number; maxRetryAfterSec?: number };
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  send?: (x: HttpExchange) => Promise<HttpResult>;
  /** Non-secret notifications for logs/status. */
  onEvent?: (e: TokenEvent) => void;
}

export type TokenEvent =
  | { type: 'token'; grant: GrantType; expiresInSec: number; geolocation?: string }
  | { type: 'refresh-rotated' }
  | { type: 'refresh-rejected'; fallback: boolean; error: string }
  | { type: 'store-error'; message: string }
  | { type: 'geolocation-refused'; geolocation: string };

export interface AccessToken {
  accessToken: string;
  /** Base URL for API calls (the geolocation when known and followed). */
  apiBase: string;
  /** Epoch ms when we stop using it. */
  renewAt: number;
}

export const TOKEN_PATH = '/oauth2/v0/token';
export const DEFAULT_TOKEN_RETRY = { maxRetries: 3, baseDelayMs: 500, maxDelayMs: 30_000, maxRetryAfterSec: 60 };

/** Seconds from a Retry-After header (delta-seconds or an HTTP date), if any. */
export function retryAfterSeconds(v: string | undefined, nowMs: number): number | undefined {
  if (!v) return undefined;
  const s = v.trim();
  if (/^\d+$/.test(s)) return Number(s);
  const t = Date.parse(s);
  return Number.isFinite(t) ? Math.max(0, Math.ceil((t - nowMs) / 1000)) : undefined;
}
const DEFAULT_EXPIRES_IN = 3600;
const DEFAULT_SKEW = 120;

export function parseExpiresIn(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/**
 * `refresh_expires_in` is documented as absolute epoch seconds. A small value
 * can only be a duration (some samples), so we accept that too.
 */
export function parseRefreshExpiry(v: unknown, nowMs: number): number | undefined {
  const n = parseExpiresIn(v);
  if (n === undefined) return undefined;
  return n > 1e9 ? Math.floor(n) : Math.floor(nowMs / 1000 + n);
}

/** A stable, non-reversible tag for "which configured credentials" (never the secret itself). */
export function credentialSeed(grant: GrantType, clientId: string | undefined, c: TokenCredentials, endpoints: Array<string | undefined> = []): string {
  // The company request token (password) is left out on purpose: it lasts 24 h,
  // the refresh token obtained with it must keep working after it is replaced.
  const parts = [grant, clientId ?? '', grant === 'refresh_token' ? (c.refreshToken ?? '') : grant === 'password' ? (c.username ?? '') : ''];
  // The endpoints are part of it so that pointing the connection at another
  // Concur (implementation vs production, another simulator) starts over from
  // the configured credentials instead of a refresh token and geolocation that
  // belong to the old one.
  for (const e of endpoints) parts.push(e ? normaliseBaseUrl(e) : '');
  return crypto.createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 32);
}

/** The seed under which a connection's refresh-token state is stored. */
export function tokenStateSeed(o: { grantType: GrantType; baseUrl: string; tokenBaseUrl?: string; credentials: TokenCredentials }): string {
  return credentialSeed(o.grantType, o.credentials.clientId, o.credentials, [o.baseUrl, o.tokenBaseUrl]);
}

export function credentialProblems(grant: GrantType, c: TokenCredentials): string[] {
  const p: string[] = [];
  if (!GRANT_TYPES.includes(grant)) p.push(`unknown grant type "${grant}"`);
  if (!c.clientId) p.push('client id is not set');
  if (!c.clientSecret) p.push('client secret is not set');
  if (grant === 'refresh_token' && !c.refreshToken) p.push('refresh token is not set');
  if (grant === 'password' && !c.username) p.push('company UUID / user name is not set');
  if (grant === 'password' && !c.password) p.push('request token / password is not set');
  return p;
}

interface TokenResponse {
  access_token?: unknown;
  expires_in?: unknown;
  refresh_token?: unknown;
  refresh_expires_in?: unknown;
  geolocation?: unknown;
}

export class TokenManager {
  private readonly o: TokenManagerOptions;
  private readonly now: () => number;
  private readonly send: (x: HttpExchange) => Promise<HttpResult>;
  private readonly seed: string;
  private current: AccessToken | undefined;
  private inflight: Promise<AccessToken> | undefined;
  private refresh: StoredTokenState | undefined;
  private geolocation: string | undefined;
  /** An access token the API refused (401): never adopted again from the shared store. */
  private refused: string | undefined;
  /** Token requests sent (for status and tests). */
  requests = 0;

  constructor(opts: TokenManagerOptions) {
    this.o = { followGeolocation: true, credtype: 'authtoken', ...opts };
    this.o.baseUrl = normaliseBaseUrl(opts.baseUrl);
    if (opts.tokenBaseUrl) this.o.tokenBaseUrl = normaliseBaseUrl(opts.tokenBaseUrl);
    this.now = opts.now ?? Date.now;
    this.send = opts.send ?? sendHttp;
    this.seed = tokenStateSeed(this.o);
    this.loadStore();
  }

  private loadStore() {
    if (this.o.grantType === 'client_credentials' || !this.o.store) return;
    try {
      const s = this.o.store.load();
      // A state written for other credentials (the user pasted a new refresh token) is ignored.
      if (s && s.seed === this.seed) {
        this.refresh = s;
        if (s.geolocation) this.geolocation = this.acceptGeolocation(s.geolocation);
      }
    } catch (err) {
      this.emit({ type: 'store-error', message: `could not read the token store: ${(err as Error).message}` });
    }
  }

  private emit(e: TokenEvent) {
    try {
      this.o.onEvent?.(e);
    } catch {
      /* a listener must not break token handling */
    }
  }

  /** The base URL API calls should use right now. */
  apiBase(): string {
    return (this.o.followGeolocation && this.geolocation) || this.o.baseUrl;
  }

  /** Origins that may receive the Bearer token (configured base, token base, geolocation). */
  trustedOrigins(): string[] {
    return [this.o.baseUrl, this.o.tokenBaseUrl, this.geolocation].filter((x): x is string => Boolean(x));
  }

  /** Returns a valid access token, requesting one (once, for all concurrent callers) when needed. */
  getToken(): Promise<AccessToken> {
    const c = this.current;
    if (c && this.now() < c.renewAt) return Promise.resolve(c);
    if (!this.inflight) {
      this.inflight = (this.o.shared ? this.obtainShared(this.o.shared) : this.obtain()).finally(() => {
        this.inflight = undefined;
      });
    }
    return this.inflight;
  }

  /** Drops the cached token if it is still `accessToken` (a 401 answer); concurrent callers refresh once. */
  invalidate(accessToken: string): void {
    if (this.current && this.current.accessToken === accessToken) this.current = undefined;
    this.refused = accessToken;
  }

  /** The shared state's access token, if it belongs to these credentials and is still good. */
  private usableShared(s: SharedTokenState | undefined): AccessToken | undefined {
    if (!s || s.seed !== this.seed || !s.accessToken || !s.accessRenewAt) return undefined;
    if (s.accessToken === this.refused || this.now() >= s.accessRenewAt) return undefined;
    return { accessToken: s.accessToken, apiBase: s.accessApiBase || this.apiBase(), renewAt: s.accessRenewAt };
  }

  private adoptShared(s: SharedTokenState | undefined): void {
    if (!s || s.seed !== this.seed) return; // no row yet (or other credentials): keep what this instance has
    if (s.geolocation) this.geolocation = s.geolocation;
    this.refresh = s.refreshToken
      ? { seed: s.seed, refreshToken: s.refreshToken, refreshExpiresAt: s.refreshExpiresAt, geolocation: s.geolocation, updatedAt: s.updatedAt }
      : undefined;
  }

  /**
   * Shared connection: take the token another instance got if it is still
   * good; otherwise, under the store's lock, read again (the instance that held
   * the lock before may just have refreshed) and only then ask Concur, writing
   * the new access token and rotated refresh token before the lock is released.
   * If the store cannot be reached no token request is made: a refresh with a
   * possibly rotated-out refresh token would cost every instance the connection.
   */
  private async obtainShared(shared: SharedTokenStore): Promise<AccessToken> {
    const seen = this.usableShared(await shared.read());
    if (seen) return (this.current = seen);
    return shared.withLock<AccessToken>(async (s) => {
      const fresh = this.usableShared(s);
      if (fresh) return { result: (this.current = fresh) };
      const had = s?.seed === this.seed ? s.refreshToken : undefined;
      this.adoptShared(s);
      try {
        const t = await this.obtain();
        return { result: t, write: this.sharedState(t) };
      } catch (err) {
        // A refresh token obtain() dropped (Concur rejected it) is gone for every instance.
        return { error: err, write: had && !this.refresh ? this.sharedState(undefined) : undefined };
      }
    });
  }

  private sharedState(t: AccessToken | undefined): SharedTokenState {
    const r = this.refresh;
    return {
      seed: this.seed,
      refreshToken: r?.refreshToken ?? '',
      refreshExpiresAt: r?.refreshExpiresAt,
      geolocation: this.geolocation,
      updatedAt: new Date(this.now()).toISOString(),
      accessToken: t?.accessToken,
      accessApiBase: t?.apiBase,
      accessRenewAt: t?.renewAt,
    };
  }

  private refreshUsable(): boolean {
    const r = this.refresh;
    if (!r) return false;
    return r.refreshExpiresAt === undefined || r.refreshExpiresAt * 1000 > this.now() + 5000;
  }

  private async obtain(): Promise<AccessToken> {
    const { grantType, credentials: c } = this.o;
    const problems = credentialProblems(grantType, c);
    if (problems.length) throw new ConcurError({ status: 0, code: 'CONFIG', message: `connection not configured: ${problems.join('; ')}`, notSent: true });

    if (grantType !== 'client_credentials') {
      const refreshToken = this.refreshUsable() ? this.refresh!.refreshToken : grantType === 'refresh_token' ? c.refreshToken! : undefined;
      if (refreshToken) {
        try {
          return await this.grant('refresh_token', { refresh_token: refreshToken }, this.refreshBase());
        } catch (err) {
          const e = err as ConcurError;
          // Only invalid_grant says the refresh token itself is dead. A 429, a 5xx (already
          // retried in grant()) or another error says nothing about it: keep it, and do not
          // fall back to the configured token, which Concur may already have invalidated
          // when it rotated (https://developer.concur.com/api-reference/authentication/apidoc.html).
          const dead = e instanceof ConcurError && e.oauth?.error === 'invalid_grant';
          // password grant: get a new refresh token with the request token; refresh_token
          // grant: a rejected stored token may still leave the configured one to try.
          const canFallBack = dead && (grantType === 'password' || refreshToken !== c.refreshToken);
          if (dead) {
            this.emit({ type: 'refresh-rejected', fallback: canFallBack, error: e.message });
            this.forgetStoredRefresh();
          }
          if (!canFallBack) throw err;
        }
      }
    }
    if (grantType === 'password') {
      return this.grant(
        'password',
        { username: c.username!, password: c.password!, credtype: this.o.credtype ?? 'authtoken' },
        this.o.tokenBaseUrl ?? this.o.baseUrl,
      );
    }
    if (grantType === 'client_credentials') return this.grant('client_credentials', {}, this.o.tokenBaseUrl ?? this.o.baseUrl);
    // refresh_token grant with a rejected stored token: try the configured one once.
    return this.grant('refresh_token', { refresh_token: c.refreshToken! }, this.refreshBase());
  }

  /**
   * A geolocation named by the token endpoint becomes a host that receives the
   * Bearer token, the client secret and the refresh token. With a Concur base
   * URL (a preset) it must be https on a Concur domain, like every documented
   * geolocation (https://developer.concur.com/platform/base-uris.html); a custom
   * base (simulator, proxy) keeps any http(s) geolocation its server names.
   */
  private acceptGeolocation(raw: string): string | undefined {
    let geo: string;
    try {
      geo = normaliseBaseUrl(raw);
    } catch {
      return undefined;
    }
    if (isConcurHttpsUrl(this.o.baseUrl) && !isConcurHttpsUrl(geo)) {
      this.emit({ type: 'geolocation-refused', geolocation: geo.slice(0, 120) });
      return undefined;
    }
    return geo;
  }

  private refreshBase(): string {
    // Concur: refresh at the stored geolocation.
    return (this.o.followGeolocation && this.geolocation) || this.o.tokenBaseUrl || this.o.baseUrl;
  }

  /**
   * Stops using a refresh token Concur refused with invalid_grant. The stored
   * state is not deleted: it is replaced when a new token is saved, so nothing
   * is lost if the refusal was wrong or the fallback fails too.
   */
  private forgetStoredRefresh() {
    this.refresh = undefined;
  }

  private async grant(grant: GrantType, fields: Record<string, string>, base: string, redirected = false): Promise<AccessToken> {
    const { credentials: c } = this.o;
    const form = new URLSearchParams({ grant_type: grant, client_id: c.clientId!, client_secret: c.clientSecret!, ...fields });
    if (this.o.scope) form.set('scope', this.o.scope);
    const url = new URL(base.replace(/\/+$/, '') + TOKEN_PATH);
    const retry = { ...DEFAULT_TOKEN_RETRY, ...this.o.tokenRetry };
    let res: HttpResult;
    for (let attempt = 0; ; attempt++) {
      this.requests++;
      try {
        res = await this.send({
          method: 'POST',
          url,
          headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
          body: form.toString(),
          timeoutMs: this.o.timeoutMs ?? 60000,
        });
      } catch (err) {
        // Not retried: the server may have rotated the refresh token without our seeing the answer.
        const te = err as TransportError;
        throw new ConcurError({ status: 0, code: te.code ?? 'ENETWORK', message: `token request to ${url.host} failed: ${te.message}` });
      }
      // 429 / 5xx: the server did not take the grant; wait (Retry-After when given) and ask again.
      if ((res.status === 429 || res.status >= 500) && attempt < retry.maxRetries) {
        const ra = retryAfterSeconds(headerValue(res.headers, 'retry-after'), this.now());
        if (ra !== undefined && ra > (retry.maxRetryAfterSec ?? 60)) break; // longer than we wait: report it now
        const backoff = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** attempt);
        await (this.o.sleep ?? sleep)(ra !== undefined ? ra * 1000 : Math.round(backoff / 2 + (backoff / 2) * Math.random()));
        continue;
      }
      break;
    }
    const correlationId = headerValue(res.headers, 'concur-correlationid');
    let body: Record<string, unknown> | undefined;
    try {
      body = JSON.parse(res.body.toString('utf8'));
    } catch {
      body = undefined;
    }
    if (res.status < 200 || res.status >= 300 || !body || typeof body !== 'object') {
      const b = body ?? {};
      const oauth = {
        error: typeof b.error === 'string' ? b.error : undefined,
        error_description: typeof b.error_description === 'string' ? b.error_description : undefined,
        code: typeof b.code === 'string' || typeof b.code === 'number' ? (b.code as string | number) : undefined,
        geolocation: typeof b.geolocation === 'string' ? b.geolocation : undefined,
      };
      // "user lives elsewhere" (code 16): retry once at the named geolocation.
      if (!redirected && oauth.geolocation && String(oauth.code) === '16') {
        const geo = this.acceptGeolocation(oauth.geolocation);
        if (geo && geo !== base) {
          if (this.o.followGeolocation) this.geolocation = geo;
          return this.grant(grant, fields, geo, true);
        }
      }
      const what = oauth.error
        ? `${oauth.error}${oauth.code !== undefined ? ` (code ${oauth.code})` : ''}${oauth.error_description ? `: ${oauth.error_description}` : ''}`
        : `HTTP ${res.status}`;
      throw new ConcurError({
        status: res.status || 0,
        code: oauth.error ?? `HTTP_${res.status}`,
        message: `token request (${grant}) refused: ${what}`,
        correlationId,
        oauth: oauth.error || oauth.code !== undefined ? oauth : undefined,
      });
    }
    const access = body.access_token;
    if (typeof access !== 'string' || !access) {
      throw new ConcurError({ status: res.status, code: 'BAD_TOKEN_RESPONSE', message: 'token response has no access_token', correlationId });
    }
    return this.accept(grant, body as TokenResponse, access);
  }

  private accept(grant: GrantType, body: TokenResponse, access: string): AccessToken {
    const now = this.now();
    const expiresIn = parseExpiresIn(body.expires_in) ?? DEFAULT_EXPIRES_IN;
    const skew = Math.min(this.o.expirySkewSec ?? DEFAULT_SKEW, expiresIn / 2);
    if (typeof body.geolocation === 'string' && body.geolocation && this.o.followGeolocation) {
      this.geolocation = this.acceptGeolocation(body.geolocation) ?? this.geolocation; // refused: keep the previous one
    }
    if (typeof body.refresh_token === 'string' && body.refresh_token && grant !== 'client_credentials') {
      const rotated = Boolean(this.refresh && this.refresh.refreshToken !== body.refresh_token);
      this.refresh = {
        seed: this.seed,
        refreshToken: body.refresh_token,
        refreshExpiresAt: parseRefreshExpiry(body.refresh_expires_in, now) ?? this.refresh?.refreshExpiresAt,
        geolocation: this.geolocation,
        updatedAt: new Date(now).toISOString(),
      };
      if (rotated) this.emit({ type: 'refresh-rotated' });
      this.persist();
    } else if (this.refresh && this.geolocation && this.refresh.geolocation !== this.geolocation) {
      this.refresh = { ...this.refresh, geolocation: this.geolocation, updatedAt: new Date(now).toISOString() };
      this.persist();
    }
    this.current = { accessToken: access, apiBase: this.apiBase(), renewAt: now + (expiresIn - skew) * 1000 };
    this.emit({ type: 'token', grant, expiresInSec: expiresIn, geolocation: this.geolocation });
    return this.current;
  }

  private persist() {
    if (!this.o.store || !this.refresh) return;
    try {
      this.o.store.save(this.refresh);
    } catch (err) {
      this.emit({ type: 'store-error', message: `could not save the rotated refresh token: ${(err as Error).message}` });
    }
  }

  /** Non-secret facts for status/diagnostics. */
  describe(): { apiBase: string; hasToken: boolean; refreshExpiresAt?: number; geolocation?: string; tokenRequests: number } {
    return {
      apiBase: this.apiBase(),
      hasToken: Boolean(this.current && this.now() < this.current.renewAt),
      refreshExpiresAt: this.refresh?.refreshExpiresAt,
      geolocation: this.geolocation,
      tokenRequests: this.requests,
    };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => {
    const t = setTimeout(r, ms);
    t.unref?.();
  });
}
