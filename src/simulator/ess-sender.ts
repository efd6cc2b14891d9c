/**
 * Sends an ESS event the way Concur does: JSON body signed over its exact
 * bytes (RSA-SHA256, PSS with maximum salt or PKCS#1 v1.5), headers
 * Concur-Signature and Concur-Correlationid, optional client certificate for
 * mTLS, and the documented retry policy: retry on 5xx, 401, 403, 429 and
 * network errors with exponential backoff until the retention limit; stop on
 * 2xx and on any other 4xx.
 */
import { constants, randomUUID, sign, type KeyObject } from 'node:crypto';
import { httpRequest, NetworkError, type ClientTls } from './http-client';

export type EssPadding = 'pss' | 'pkcs1';

export const DEFAULT_RETENTION_MS = 72 * 3600 * 1000;

export interface EssSendOptions {
  to: string;
  /** The event: an object is serialised once; a string or Buffer is sent byte for byte. */
  event: unknown;
  privateKey: KeyObject;
  padding?: EssPadding;
  /** Concur-Correlationid header (default: the envelope's correlationId). */
  correlationId?: string;
  tls?: ClientTls;
  /** Give up when the event is this old (default 72 h, as ESS). */
  retentionMs?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Hard cap on attempts, whatever the retention (default 10000). */
  maxAttempts?: number;
  /** Per-attempt timeout (ESS waits up to 60 s). */
  timeoutMs?: number;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

export interface EssAttempt {
  n: number;
  status?: number;
  /** What the receiver said with a non-2xx answer (first line of the body, shortened). */
  reason?: string;
  error?: string;
  retry: boolean;
  nextDelayMs?: number;
}

export interface EssSendResult {
  delivered: boolean;
  outcome: 'delivered' | 'rejected' | 'expired' | 'max-attempts' | 'aborted';
  status?: number;
  attempts: EssAttempt[];
  /** The exact bytes sent and their signature (for verification in tests). */
  body: Buffer;
  signature: string;
  correlationId: string;
}

export function signBody(body: Buffer, key: KeyObject, padding: EssPadding = 'pss'): string {
  const opts =
    padding === 'pss'
      ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_MAX_SIGN }
      : { key, padding: constants.RSA_PKCS1_PADDING };
  return sign('sha256', body, opts).toString('base64');
}

/** ESS retries 5xx, 401, 403, 429; everything else (2xx, other 4xx, 1xx/3xx) ends delivery. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 401 || status === 403 || status === 429;
}

export function backoffDelay(attempt: number, initialMs: number, maxMs: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 30));
}

/** Retry-After as seconds or an HTTP date, in ms (undefined when absent or unreadable). */
export function retryAfterMs(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - Date.now());
}

function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The receiver's reason for a rejection, from its answer body: one line, at most 200 characters. */
export function reasonOf(body: string | undefined): string | undefined {
  if (!body) return undefined;
  let text = body;
  try {
    const j = JSON.parse(body);
    if (j && typeof j === 'object') text = String(j.reason ?? j.message ?? j.error_description ?? j.error ?? body);
  } catch {
    /* plain text */
  }
  const line = text.replace(/\s+/g, ' ').trim();
  if (!line) return undefined;
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(ms % 1000 ? 1 : 0)}s` : `${ms}ms`);

export async function sendEss(o: EssSendOptions): Promise<EssSendResult> {
  const body = Buffer.isBuffer(o.event) ? o.event : Buffer.from(typeof o.event === 'string' ? o.event : JSON.stringify(o.event), 'utf8');
  const padding = o.padding ?? 'pss';
  const signature = signBody(body, o.privateKey, padding);
  let correlationId = o.correlationId;
  if (!correlationId) {
    // Take it from the envelope; raw bodies are parsed only to read it (the bytes sent are unchanged).
    let env: unknown = o.event;
    if (typeof env === 'string' || Buffer.isBuffer(env)) {
      try {
        env = JSON.parse(body.toString('utf8'));
      } catch {
        env = undefined;
      }
    }
    const c = env && typeof env === 'object' ? (env as { correlationId?: unknown }).correlationId : undefined;
    correlationId = typeof c === 'string' && c ? c : randomUUID();
  }
  const headers = {
    'Content-Type': 'application/json',
    'Content-Length': body.length,
    'Concur-Signature': signature,
    'Concur-Correlationid': correlationId,
    'User-Agent': 'concur-sim-ess/1.0',
  };
  const log = o.log ?? (() => undefined);
  const retention = o.retentionMs ?? DEFAULT_RETENTION_MS;
  const initial = o.initialDelayMs ?? 1000;
  const maxDelay = o.maxDelayMs ?? 15 * 60 * 1000;
  const maxAttempts = o.maxAttempts ?? 10000;
  const timeoutMs = o.timeoutMs ?? 60000;
  const deadline = Date.now() + retention;
  const attempts: EssAttempt[] = [];
  const result = (outcome: EssSendResult['outcome'], status?: number): EssSendResult => ({
    delivered: outcome === 'delivered',
    outcome,
    status,
    attempts,
    body,
    signature,
    correlationId: correlationId as string,
  });

  for (let n = 1; n <= maxAttempts; n++) {
    if (o.signal?.aborted) return result('aborted');
    const a: EssAttempt = { n, retry: false };
    attempts.push(a);
    let hint: number | undefined;
    try {
      const res = await httpRequest(o.to, { method: 'POST', headers, body, timeoutMs, tls: o.tls });
      a.status = res.status;
      if (res.status >= 200 && res.status < 300) {
        log(`ESS attempt ${n} -> ${res.status} delivered`);
        return result('delivered', res.status);
      }
      a.reason = reasonOf(res.body);
      if (!isRetryableStatus(res.status)) {
        log(`ESS attempt ${n} -> ${res.status}${a.reason ? ` (${a.reason})` : ''} rejected, not retried (ESS drops events on 4xx other than 401/403/429)`);
        return result('rejected', res.status);
      }
      hint = res.status === 429 || res.status === 503 ? retryAfterMs(res.headers['retry-after']) : undefined;
    } catch (e) {
      a.error = e instanceof NetworkError ? `${e.code}: ${e.message}` : (e as Error).message;
    }
    const delay = Math.min(maxDelay, Math.max(backoffDelay(n, initial, maxDelay), hint ?? 0));
    const what = a.status !== undefined ? `${a.status}${a.reason ? ` (${a.reason})` : ''}` : `network error ${a.error}`;
    if (n >= maxAttempts) {
      log(`ESS attempt ${n} -> ${what}; giving up after ${maxAttempts} attempts`);
      return result('max-attempts', a.status);
    }
    if (Date.now() + delay >= deadline) {
      log(`ESS attempt ${n} -> ${what}; retention of ${fmt(retention)} reached, event expired`);
      return result('expired', a.status);
    }
    a.retry = true;
    a.nextDelayMs = delay;
    log(`ESS attempt ${n} -> ${what}; retrying in ${fmt(delay)}`);
    if (!(await sleep(delay, o.signal))) return result('aborted', a.status);
  }
  return result('max-attempts');
}
