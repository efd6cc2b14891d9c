/**
 * Travel Request v4: read a Request, and approve or send it back.
 * GET  {datacenter}/travelrequest/v4/requests/{requestUuid}[?userId=…]
 *   https://developer.concur.com/api-reference/request/v4.endpoints.request-resources.html#request-resource-get
 * POST {datacenter}/travelrequest/v4/requests/{requestUuid}/{action}[?userId=…], action approve | sendback,
 *   body only for sendback: { "comment": "…" }; answers the Request.
 *   https://developer.concur.com/api-reference/request/v4.endpoints.workflow-resources.html
 * userId: required with a company token for approver actions (not for external-validation steps).
 * Scopes: travelrequest.write (read and approver actions), travelrequest.externalsystemworkflow.write
 * (approve / send back at an external validation step).
 */
import { ConcurError, invalidInput } from './concur-error';
import type { ApiResponse } from './api-client';
import type { ConcurApi } from './api-types';
import { optionalId, pathSegment } from './path-segment';

export type TravelRequestAction = 'approve' | 'sendback';
export const TRAVEL_REQUEST_ACTIONS: readonly TravelRequestAction[] = ['approve', 'sendback'];
export const MAX_TR_COMMENT_LENGTH = 2000;

export function normalizeTravelAction(v: unknown): TravelRequestAction | undefined {
  if (typeof v !== 'string') return undefined;
  const k = v.replace(/[\s_-]/g, '').toLowerCase();
  return k === 'approve' ? 'approve' : k === 'sendback' ? 'sendback' : undefined;
}

/** The Request UUID from an id, or from an ESS `facts.href` / Request `href` (…/travelrequest/v4/requests/{id}). */
export function requestIdFrom(id: unknown, href: unknown): string | undefined {
  const given = optionalId(id, 'the request id');
  if (given) return given;
  if (typeof href === 'string') {
    const m = /\/travelrequest\/v4\/requests\/([^/?#]+)/i.exec(href);
    if (m) {
      try {
        return decodeURIComponent(m[1]);
      } catch {
        return m[1];
      }
    }
  }
  return undefined;
}

function withUser(path: string, userId: unknown): string {
  const u = optionalId(userId, 'the user id');
  return u === undefined ? path : `${path}?${new URLSearchParams({ userId: u }).toString()}`;
}

export function travelRequestPath(requestId: unknown, userId?: unknown): string {
  return withUser(`/travelrequest/v4/requests/${pathSegment(requestId, 'the request id (msg.requestId)')}`, userId);
}

export function travelActionPath(requestId: unknown, action: TravelRequestAction, userId?: unknown): string {
  return withUser(`/travelrequest/v4/requests/${pathSegment(requestId, 'the request id (msg.requestId)')}/${action}`, userId);
}

export interface TravelRequestResult {
  request: Record<string, unknown>;
  response: ApiResponse;
}

function asRequest(r: ApiResponse, what: string): Record<string, unknown> {
  const d = r.data;
  if (d && typeof d === 'object' && !Array.isArray(d)) return d as Record<string, unknown>;
  if (d === undefined) return {};
  throw new ConcurError({ status: r.status, code: 'BAD_RESPONSE', message: `${what} answered ${r.status} without a Request`, correlationId: r.correlationId });
}

export async function getTravelRequest(api: ConcurApi, requestId: unknown, userId: unknown, correlationId?: string): Promise<TravelRequestResult> {
  const response = await api.request({ method: 'GET', url: travelRequestPath(requestId, userId), correlationId });
  return { request: asRequest(response, 'the Request'), response };
}

export async function travelRequestAction(
  api: ConcurApi,
  requestId: unknown,
  action: unknown,
  opts: { userId?: unknown; comment?: unknown },
  correlationId?: string,
): Promise<TravelRequestResult> {
  const a = normalizeTravelAction(action);
  if (!a) throw invalidInput(`action must be approve or sendback (got ${JSON.stringify(action)?.slice(0, 40)})`);
  let body: Record<string, unknown> | undefined;
  if (opts.comment !== undefined && opts.comment !== null && opts.comment !== '') {
    if (typeof opts.comment !== 'string') throw invalidInput('comment must be a string');
    if (opts.comment.length > MAX_TR_COMMENT_LENGTH)
      throw invalidInput(`comment is ${opts.comment.length} characters; at most ${MAX_TR_COMMENT_LENGTH} are accepted`);
    // The docs: a comment "only works with" sendback; it is not sent with approve.
    if (a === 'sendback') body = { comment: opts.comment };
  }
  const path = travelActionPath(requestId, a, opts.userId);
  // POST is not idempotent: the client retries 429 only, never a 5xx.
  const response = await api.request({ method: 'POST', url: path, json: body, correlationId });
  return { request: asRequest(response, `${a}`), response };
}
