/** Small HTTP helpers shared by the simulator's server and senders. */
import type { IncomingMessage, ServerResponse } from 'node:http';

export class BodyTooLargeError extends Error {}

/** Reads the request body, failing past `limit` bytes (without buffering the rest). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > limit) {
        done = true;
        chunks.length = 0;
        req.resume();
        reject(new BodyTooLargeError(`request body exceeds ${limit} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!done) {
        done = true;
        resolve(Buffer.concat(chunks, size));
      }
    });
    req.on('error', (e) => {
      if (!done) {
        done = true;
        reject(e);
      }
    });
  });
}

export function send(res: ServerResponse, status: number, headers: Record<string, string>, body?: unknown): void {
  if (res.headersSent || res.destroyed) return;
  let buf: Buffer | undefined;
  const h = { ...headers };
  if (body === undefined || body === null || status === 204) {
    buf = undefined;
  } else if (Buffer.isBuffer(body)) {
    buf = body;
  } else if (typeof body === 'string') {
    buf = Buffer.from(body, 'utf8');
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['Content-Type'] = 'text/plain; charset=utf-8';
  } else {
    buf = Buffer.from(JSON.stringify(body), 'utf8');
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['Content-Type'] = 'application/json; charset=utf-8';
  }
  res.statusCode = status;
  for (const [k, v] of Object.entries(h)) res.setHeader(k, v);
  res.setHeader('Content-Length', buf ? buf.length : 0);
  res.end(buf);
}

/** decodeURIComponent that keeps the raw text when it is not valid percent-encoding (Concur keys contain bare `%`). */
export function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function wantsJson(req: IncomingMessage): boolean {
  const accept = String(req.headers.accept ?? '').toLowerCase();
  return accept.includes('json') && !/xml/.test(accept.split(',')[0] ?? '');
}

export function contentTypeOf(req: IncomingMessage): string {
  return String(req.headers['content-type'] ?? '')
    .split(';')[0]
    .trim()
    .toLowerCase();
}
