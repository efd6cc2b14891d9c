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
import { InvalidPathError, isValidPath, normalizePath, routeKey } from './receiver-path';

export { InvalidPathError, normalizePath } from './receiver-path';

export interface RouteRequest extends IncomingMessage {
  /** Exact bytes of the body (set for routes registered with captureBody). */
  concurRawBody?: Buffer;
  /** Set instead of concurRawBody when reading the body failed (e.g. 413). */
  concurBodyError?: { status: number; message: string };
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
  post(path: string, ...h: unknown[]): void;
  all(path: string, ...h: unknown[]): void;
}
export interface RedWithHttp {
  httpNode: unknown;
}

interface CaptureEntry {
  limitBytes: number;
  methods: Set<string>;
}

/** Registry shared by every copy of this module in the process (stored on the root app). */
const CAPTURE = Symbol.for('node-red-contrib-sap-concur.rawBodyCapture');

type Captures = Map<string, CaptureEntry>;

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

/** Reads the whole body into a Buffer, failing with 413 past `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(Object.assign(new Error(`body of ${declared} bytes exceeds the ${limit}-byte limit`), { status: 413 }));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        req.resume(); // discard the rest without buffering it
        reject(Object.assign(new Error(`body exceeds the ${limit}-byte limit`), { status: 413 }));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks, size));
    });
    req.on('error', (err) => {
      if (!failed) {
        failed = true;
        reject(Object.assign(err, { status: 400 }));
      }
    });
  });
}

function installCapture(app: ExpressLike): Captures {
  const root = rootApp(app) as ExpressLike & { [CAPTURE]?: Captures };
  const existing = root[CAPTURE];
  if (existing) return existing;
  const captures: Captures = new Map();
  const capture = (req: RouteRequest, _res: RouteResponse, next: () => void) => {
    const pathname = routeKey(req._parsedUrl?.pathname ?? (req.url ?? '/').split('?')[0]);
    const entry = captures.get(pathname);
    if (!entry || !entry.methods.has((req.method ?? '').toUpperCase()) || req._body) return next();
    // Mark the body as consumed so the editor's and core's body parsers skip it.
    req._body = true;
    req.skipRawBodyParser = true;
    readBody(req, entry.limitBytes).then(
      (buf) => {
        req.concurRawBody = buf;
        req.body = buf;
        next();
      },
      (err: Error & { status?: number }) => {
        req.concurBodyError = { status: err.status ?? 400, message: err.message };
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
  captureBody?: { methods: string[]; limitBytes: number };
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
function foreignRouteMethod(app: ExpressLike, path: string, methods: Set<string>): string | undefined {
  for (const layer of stackOf(app) ?? []) {
    const r = layer.route;
    if (!r || typeof r.path !== 'string' || routeKey(r.path) !== routeKey(path)) continue;
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
  const key = routeKey(fullPath);
  // Two nodes on one path would silently share requests (Express calls the first route only).
  const claim: Claim = { ownerId: spec.owner?.id, methods: new Set(spec.allMethods ? ['*'] : spec.methods.map((m) => m.toUpperCase())) };
  const claims = claimsOf(app);
  for (const other of claims.get(key) ?? []) {
    const m = overlap(claim.methods, other.methods);
    if (m) throw new RouteConflictError(fullPath, m, other.ownerId);
  }
  const foreign = foreignRouteMethod(app, path, claim.methods);
  if (foreign) throw new RouteConflictError(fullPath, foreign);
  let captures: Captures | undefined;
  if (spec.captureBody) {
    captures = installCapture(app);
    captures.set(key, {
      limitBytes: spec.captureBody.limitBytes,
      methods: new Set(spec.captureBody.methods.map((m) => m.toUpperCase())),
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
