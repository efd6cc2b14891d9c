/**
 * The HTTP client every API node shares (docs/concur-api.md#oauth2, #errors):
 * Bearer auth from the TokenManager, keep-alive, a timeout (default 60 s),
 * retries with exponential backoff on 429 (honouring Retry-After) for every
 * call and on 5xx / network errors for idempotent calls only, one retry with a
 * fresh token on 401 (or a 403 that says the token is bad), `Concur-Correlationid`
 * passed through, and legacy `www.concursolutions.com` URLs rewritten to the
 * token's geolocation. The token is only sent to trusted hosts.
 */
import { ConcurError, describeErrorBody } from './concur-error';
import { isTrustedHost, resolveApiUrl, ConcurUrlError } from './concur-hosts';
import { headerValue, retryAfterMs, sendHttp, TransportError, type HttpExchange, type HttpResult } from './http-transport';
import { looksLikeXml, parseLegacyXml, LegacyXmlError } from './legacy-xml';
import type { TokenManager } from './token-manager';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RetryPolicy {
  /** Retries after the first attempt (default 3). */
  maxRetries: number;
  /** First backoff delay; doubles each retry (default 1000 ms). */
  baseDelayMs: number;
  /** Cap of one backoff delay (default 30 s). */
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited for; the call fails instead (default 5 min). */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: Readonly<RetryPolicy> = Object.freeze({ maxRetries: 3, baseDelayMs: 1000, maxDelayMs: 30000, maxRetryAfterMs: 300000 });
export const DEFAULT_TIMEOUT_MS = 60000;
const IDEMPOTENT = new Set(['GET', 'PUT', 'DELETE', 'HEAD', 'OPTIONS']);
/** 5xx answers worth retrying (501/505 will not get better). */
const RETRYABLE_5XX = new Set([500, 502, 503, 504]);

export interface ApiRequest {
  method: HttpMethod;
  /** Absolute URL, or a path relative to the current API base. */
  url: string;
  headers?: Record<string, string>;
  /** JSON body (sent as application/json). */
  json?: unknown;
  /** XML body (sent as application/xml). */
  xml?: string;
  accept?: string;
  /** Passed through as `Concur-Correlationid`. */
  correlationId?: string;
  /** Override the method's idempotency (5xx/network retries only happen for idempotent calls). */
  idempotent?: boolean;
  timeoutMs?: number;
  /**
   * Send no access token: for pre-signed links Concur hands out (Image v1 `Url`, valid 15 minutes).
   * Such a URL must be absolute and https (or on the configured base / geolocation origin); 429/5xx
   * retries apply as usual, there is no re-authentication.
   */
  anonymous?: boolean;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  url: string;
  text: string;
  /** Parsed JSON, or XML converted to JSON, or the text. */
  data: unknown;
  /** Root element name when the body was XML. */
  xmlRoot?: string;
  correlationId?: string;
  attempts: number;
  /** The body's bytes as received (binary answers such as receipt images). */
  raw?: Buffer;
}

export type ApiEvent =
  | { type: 'retry'; method: string; url: string; attempt: number; reason: string; delayMs: number }
  | { type: 'reauth'; method: string; url: string; status: number };

export interface ApiClientOptions {
  tokens: TokenManager;
  retry?: Partial<RetryPolicy>;
  timeoutMs?: number;
  /** Extra origins (besides Concur hosts, the configured base and the geolocation) that may receive the token. */
  trustedOrigins?: string[];
  send?: (x: HttpExchange) => Promise<HttpResult>;
  onEvent?: (e: ApiEvent) => void;
  random?: () => number;
}

/** Token-bearing URLs are logged without their query (it can hold user ids). */
function safeUrl(u: URL): string {
  return u.origin + u.pathname;
}

/** A 403 caused by a bad/expired token rather than missing rights (Concur uses 403 for both). */
export function looksLikeTokenProblem(res: HttpResult): boolean {
  const www = headerValue(res.headers, 'www-authenticate') ?? '';
  if (/invalid_token/i.test(www)) return true;
  const text = res.body.subarray(0, 4096).toString('utf8');
  return /expired|invalid[ _-]?token|token (is )?(invalid|revoked)|revoked/i.test(text);
}

export function parseBody(res: HttpResult): { data: unknown; xmlRoot?: string; text: string } {
  const text = res.body.toString('utf8');
  const ct = headerValue(res.headers, 'content-type');
  if (!text.trim()) return { data: undefined, text };
  if (looksLikeXml(ct, text)) {
    const x = parseLegacyXml(text);
    return { data: x.value, xmlRoot: x.root, text };
  }
  try {
    return { data: JSON.parse(text), text };
  } catch {
    if (ct && /json/i.test(ct)) throw new ConcurError({ status: res.status, code: 'BAD_RESPONSE', message: 'response claims JSON but does not parse' });
    return { data: text, text };
  }
}

export class ConcurApiClient {
  readonly retry: RetryPolicy;
  private readonly o: ApiClientOptions;
  private readonly send: (x: HttpExchange) => Promise<HttpResult>;
  private readonly abort = new AbortController();

  constructor(opts: ApiClientOptions) {
    this.o = opts;
    this.retry = { ...DEFAULT_RETRY, ...(opts.retry ?? {}) };
    this.send = opts.send ?? sendHttp;
  }

  get tokens(): TokenManager {
    return this.o.tokens;
  }

  /** Stops backoff waits (on redeploy) so nothing runs after the node closed. */
  close(): void {
    this.abort.abort();
  }

  private emit(e: ApiEvent) {
    try {
      this.o.onEvent?.(e);
    } catch {
      /* listeners must not break requests */
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.abort.signal.aborted) return reject(closedError());
      const t = setTimeout(() => {
        this.abort.signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(t);
        reject(closedError());
      };
      this.abort.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private backoff(retryIndex: number): number {
    const exp = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** retryIndex);
    const r = (this.o.random ?? Math.random)();
    return Math.round(exp / 2 + (exp / 2) * r); // "equal jitter": spread bursts, keep a floor
  }

  /** Resolves a URL against the current API base and refuses hosts that must not see the token. */
  resolve(urlOrPath: string, apiBase: string): URL {
    let u: URL;
    try {
      u = resolveApiUrl(urlOrPath, apiBase);
    } catch (err) {
      if (err instanceof ConcurUrlError) throw new ConcurError({ status: 0, code: 'INVALID_URL', message: err.message, notSent: true });
      throw err;
    }
    const trusted = [...this.o.tokens.trustedOrigins(), apiBase, ...(this.o.trustedOrigins ?? [])];
    if (!isTrustedHost(u, trusted)) {
      throw new ConcurError({
        status: 0,
        code: 'UNTRUSTED_HOST',
        message: `refusing to send the access token to ${u.origin}: not a Concur host nor the configured base URL`,
        notSent: true,
      });
    }
    return u;
  }

  /** A token-less URL: absolute, https unless it is on an origin the token may go to anyway. */
  resolveAnonymous(urlOrPath: string, apiBase: string): URL {
    let u: URL;
    try {
      if (!/^https?:\/\//i.test(String(urlOrPath ?? '').trim())) throw new ConcurUrlError('a link without the access token must be an absolute URL');
      u = resolveApiUrl(urlOrPath, apiBase);
    } catch (err) {
      if (err instanceof ConcurUrlError) throw new ConcurError({ status: 0, code: 'INVALID_URL', message: err.message, notSent: true });
      throw err;
    }
    const trusted = [...this.o.tokens.trustedOrigins(), apiBase, ...(this.o.trustedOrigins ?? [])];
    if (u.protocol !== 'https:' && !isTrustedHost(u, trusted)) {
      throw new ConcurError({ status: 0, code: 'INSECURE_URL', message: `refusing to fetch ${u.origin} over plain http`, notSent: true });
    }
    return u;
  }

  async request(req: ApiRequest): Promise<ApiResponse> {
    if (this.abort.signal.aborted) throw closedError();
    const method = req.method.toUpperCase() as HttpMethod;
    const idempotent = req.idempotent ?? IDEMPOTENT.has(method);
    let token = req.anonymous ? { accessToken: '', apiBase: this.o.tokens.apiBase() } : await this.o.tokens.getToken();
    const url = req.anonymous ? this.resolveAnonymous(req.url, token.apiBase) : this.resolve(req.url, token.apiBase);
    let body: string | undefined;
    const headers: Record<string, string> = { Accept: req.accept ?? 'application/json', ...(req.headers ?? {}) };
    if (req.json !== undefined) {
      body = JSON.stringify(req.json);
      headers['Content-Type'] = 'application/json';
    } else if (req.xml !== undefined) {
      body = req.xml;
      headers['Content-Type'] = 'application/xml; charset=utf-8';
    }
    if (req.correlationId) headers['Concur-Correlationid'] = String(req.correlationId);

    let reauthed = false;
    let retries = 0;
    for (let attempt = 1; ; attempt++) {
      let res: HttpResult;
      try {
        res = await this.send({
          method,
          url,
          headers: req.anonymous ? headers : { ...headers, Authorization: `Bearer ${token.accessToken}` },
          body,
          timeoutMs: req.timeoutMs ?? this.o.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        });
      } catch (err) {
        const te = err as TransportError;
        if (idempotent && retries < this.retry.maxRetries && !this.abort.signal.aborted) {
          const delayMs = this.backoff(retries++);
          this.emit({ type: 'retry', method, url: safeUrl(url), attempt, reason: te.code ?? 'network error', delayMs });
          await this.sleep(delayMs);
          continue;
        }
        throw new ConcurError({
          status: 0,
          code: te.code ?? 'ENETWORK',
          message: `${method} ${safeUrl(url)} failed: ${te.message}`,
          correlationId: req.correlationId,
        });
      }

      const st = res.status;
      if (!req.anonymous && (st === 401 || (st === 403 && looksLikeTokenProblem(res))) && !reauthed) {
        reauthed = true;
        this.emit({ type: 'reauth', method, url: safeUrl(url), status: st });
        this.o.tokens.invalidate(token.accessToken);
        token = await this.o.tokens.getToken();
        continue;
      }
      const retryable = st === 429 || (idempotent && RETRYABLE_5XX.has(st));
      if (retryable && retries < this.retry.maxRetries) {
        const ra = retryAfterMs(headerValue(res.headers, 'retry-after'));
        if (ra === undefined || ra <= this.retry.maxRetryAfterMs) {
          const delayMs = ra ?? this.backoff(retries);
          retries++;
          this.emit({ type: 'retry', method, url: safeUrl(url), attempt, reason: `HTTP ${st}`, delayMs });
          await this.sleep(delayMs);
          continue;
        }
      }
      return this.finish(method, url, res, attempt, req.correlationId);
    }
  }

  private finish(method: string, url: URL, res: HttpResult, attempts: number, sentCorrelationId?: string): ApiResponse {
    const correlationId = headerValue(res.headers, 'concur-correlationid') ?? sentCorrelationId;
    let parsed: { data: unknown; xmlRoot?: string; text: string };
    try {
      parsed = parseBody(res);
    } catch (err) {
      if (res.status >= 200 && res.status < 300) {
        const msg = err instanceof LegacyXmlError || err instanceof ConcurError ? err.message : String(err);
        throw new ConcurError({ status: res.status, code: 'BAD_RESPONSE', message: `${method} ${safeUrl(url)}: ${msg}`, correlationId });
      }
      parsed = { data: undefined, text: res.body.toString('utf8') };
    }
    if (res.status < 200 || res.status >= 300) {
      const d = describeErrorBody(parsed.data);
      const reason = d.message ?? (parsed.text.trim() ? parsed.text.trim().replace(/\s+/g, ' ').slice(0, 200) : 'no details');
      throw new ConcurError({
        status: res.status,
        code: d.code ?? `HTTP_${res.status}`,
        message: `${method} ${safeUrl(url)} answered ${res.status}: ${reason}${attempts > 1 ? ` (after ${attempts} attempts)` : ''}`,
        correlationId,
        body: parsed.data,
      });
    }
    return {
      status: res.status,
      headers: res.headers,
      url: url.toString(),
      text: parsed.text,
      data: parsed.data,
      xmlRoot: parsed.xmlRoot,
      correlationId,
      attempts,
      raw: res.body,
    };
  }
}

function closedError(): ConcurError {
  return new ConcurError({ status: 0, code: 'CLOSED', message: 'the Concur connection was closed (redeploy or shutdown) before the call finished' });
}
