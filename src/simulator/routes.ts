/** Route table types shared by the simulator's API modules. */
import type { IncomingHttpHeaders } from 'node:http';
import type { ApiFamily, Reply } from './api-error';
import { ApiError } from './api-error';
import type { FaultController } from './faults';
import type { TokenInfo, TokenKind, TokenService } from './oauth';
import type { SimState } from './state';

export interface SimContext {
  state: SimState;
  tokens: TokenService;
  faults: FaultController;
  /** Base URL clients should use (the listening URL, or the configured public URL). */
  baseUrl(): string;
  /** When set, token kinds are enforced per endpoint (e.g. ESS management needs an app token). */
  enforceTokenKinds: boolean;
  /** Shape of GET /events/v4/subscriptions/{id}: the docs' one-element array or the swagger's object. */
  subscriptionGetShape: 'object' | 'array';
  /** Status code answered when a v1.1 WorkflowAction fails (Concur's is UNCONFIRMED; body Status is FAILURE either way). */
  workflowActionFailureStatus: number;
  /** GET comments: the docs' example (bare array) or the schema table ({ commentDetails }); UNCONFIRMED which is live. */
  commentsShape: 'array' | 'wrapped';
}

export interface RequestContext {
  method: string;
  /** Raw pathname (not percent-decoded). */
  path: string;
  /** Regex capture groups of the route pattern (raw). */
  params: string[];
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Set on authenticated routes. */
  token?: TokenInfo;
  wantsJson: boolean;
  sim: SimContext;
}

export interface Route {
  method: string;
  pattern: RegExp;
  family: ApiFamily;
  /** false: public; true: any valid bearer token; array: only these token kinds when enforceTokenKinds is on. */
  auth: boolean | TokenKind[];
  handler(ctx: RequestContext): Reply | Promise<Reply>;
}

/** Parses a JSON request body (empty → {} when allowed), with a clear 400 on anything else. */
export function jsonBody(ctx: RequestContext, opts: { allowEmpty?: boolean } = {}): Record<string, unknown> {
  const text = ctx.body.toString('utf8');
  if (!text.trim()) {
    if (opts.allowEmpty) return {};
    throw new ApiError(400, 'request body is empty; a JSON object was expected');
  }
  const ct = String(ctx.headers['content-type'] ?? '')
    .split(';')[0]
    .trim()
    .toLowerCase();
  if (ct && !ct.endsWith('json')) throw new ApiError(415, `Content-Type must be application/json (got ${ct})`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ApiError(400, `request body is not valid JSON: ${(e as Error).message}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ApiError(400, 'request body must be a JSON object');
  return v as Record<string, unknown>;
}

/** Throws 403 when token kinds are enforced and the token is not one of `kinds`. */
export function requireKind(ctx: RequestContext, kinds: TokenKind[], what: string): void {
  if (!ctx.sim.enforceTokenKinds || !ctx.token) return;
  if (!kinds.includes(ctx.token.kind)) throw new ApiError(403, `${what} requires a ${kinds.join(' or ')} token (got a ${ctx.token.kind} token)`);
}
