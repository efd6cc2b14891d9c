/**
 * One HTTP exchange with keep-alive agents, a hard timeout and a response size
 * cap. No retries, no auth: those live in api-client.ts and token-manager.ts.
 */
import http from 'node:http';
import https from 'node:https';

export interface HttpExchange {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string | Buffer;
  timeoutMs: number;
  maxResponseBytes?: number;
}

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** Network-level failure (no HTTP status). `code` is e.g. ECONNREFUSED, ETIMEDOUT. */
export class TransportError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

export const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

// Keep-alive pools shared by every client in the process (Concur closes idle sockets itself).
const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 16, keepAliveMsecs: 15000 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 16, keepAliveMsecs: 15000 }),
};

export function sendHttp(x: HttpExchange): Promise<HttpResult> {
  const isHttps = x.url.protocol === 'https:';
  const mod = isHttps ? https : http;
  const limit = x.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const headers: Record<string, string | number> = { ...x.headers };
  if (x.body !== undefined) headers['Content-Length'] = Buffer.byteLength(x.body);
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | null, r?: HttpResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(r as HttpResult);
    };
    const req = mod.request(x.url, { method: x.method, headers, agent: isHttps ? agents.https : agents.http }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > limit) {
          req.destroy();
          finish(new TransportError('ERESPONSETOOLARGE', `response from ${x.url.host} exceeds ${limit} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => finish(null, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', (e) => finish(new TransportError((e as NodeJS.ErrnoException).code ?? 'ERESPONSE', `response from ${x.url.host} failed: ${e.message}`)));
      res.on('aborted', () => finish(new TransportError('ECONNRESET', `response from ${x.url.host} was aborted`)));
    });
    // A whole-exchange timer (socket idle timeouts would let a trickling server hang us forever).
    const timer = setTimeout(() => {
      req.destroy();
      finish(new TransportError('ETIMEDOUT', `no complete response from ${x.url.host} within ${x.timeoutMs} ms`));
    }, x.timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) => finish(new TransportError(e.code ?? 'EREQUEST', `request to ${x.url.host} failed: ${e.message}`)));
    if (x.body !== undefined) req.write(x.body);
    req.end();
  });
}

export function headerValue(h: http.IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Parses a Retry-After value (delta seconds or HTTP date) into milliseconds from `now`. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const s = value.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const t = Date.parse(s);
  return Number.isFinite(t) ? Math.max(0, t - now) : undefined;
}
