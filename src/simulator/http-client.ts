/** One outbound HTTP(S) request with a hard timeout, for the event senders. */
import * as http from 'node:http';
import * as https from 'node:https';

export interface ClientTls {
  /** Client certificate and key (PEM) for mutual TLS. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Extra CA certificates to trust (e.g. a self-signed receiver in tests). */
  ca?: string | Buffer | Array<string | Buffer>;
  rejectUnauthorized?: boolean;
}

export interface ClientResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export class NetworkError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

const MAX_RESPONSE_BYTES = 1024 * 1024;

export function httpRequest(
  url: string,
  opts: { method: string; headers: Record<string, string | number>; body?: Buffer; timeoutMs: number; tls?: ClientTls },
): Promise<ClientResponse> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return Promise.reject(new NetworkError(`invalid URL: ${url}`, 'EINVALIDURL'));
  }
  const isHttps = u.protocol === 'https:';
  if (!isHttps && u.protocol !== 'http:') return Promise.reject(new NetworkError(`unsupported protocol ${u.protocol}`, 'EPROTO'));
  return new Promise((resolve, reject) => {
    const reqOpts: https.RequestOptions = { method: opts.method, headers: opts.headers, agent: false, timeout: opts.timeoutMs };
    if (isHttps && opts.tls) {
      if (opts.tls.cert) reqOpts.cert = opts.tls.cert;
      if (opts.tls.key) reqOpts.key = opts.tls.key;
      if (opts.tls.ca) reqOpts.ca = opts.tls.ca;
      if (opts.tls.rejectUnauthorized === false) reqOpts.rejectUnauthorized = false;
    }
    const req = (isHttps ? https : http).request(u, reqOpts, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_RESPONSE_BYTES) chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (e: NodeJS.ErrnoException) => reject(new NetworkError(e.message, e.code ?? 'ERESPONSE')));
    });
    // A hard deadline for the whole exchange, not just socket idle time.
    const timer = setTimeout(() => req.destroy(new NetworkError(`no response within ${opts.timeoutMs} ms`, 'ETIMEDOUT')), opts.timeoutMs);
    req.on('timeout', () => req.destroy(new NetworkError(`no response within ${opts.timeoutMs} ms`, 'ETIMEDOUT')));
    req.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(e instanceof NetworkError ? e : new NetworkError(e.message, e.code ?? 'ENETWORK'));
    });
    req.on('close', () => clearTimeout(timer));
    req.end(opts.body);
  });
}
