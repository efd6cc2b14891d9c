/**
 * Travel Request v4: GET /travelrequest/v4/requests/{id} and the workflow
 * actions POST /travelrequest/v4/requests/{id}/{approve|sendback} (others
 * answer 400), with the documented `userId` query (required with a company
 * token for approver actions, not at an external validation step) and a
 * sendback comment. https://developer.concur.com/api-reference/request/v4.endpoints.workflow-resources.html
 */
import { ApiError, type Reply } from './api-error';
import { safeDecode } from './http-util';
import type { TravelRequest } from './model';
import { type RequestContext, type Route } from './routes';

const STATUS_NAMES: Record<string, string> = {
  NOT_SUBMITTED: 'Not Submitted',
  SUBMITTED: 'Submitted & Pending Approval',
  APPROVED: 'Approved',
  SENTBACK: 'Sent Back',
  CANCELED: 'Canceled',
};

const err = (status: number, code: string, message: string) => new ApiError(status, message, { validationErrors: [{ id: code, source: code, message }] });

export function travelRequestJson(ctx: RequestContext, t: TravelRequest): Record<string, unknown> {
  const base = `${ctx.sim.baseUrl()}/travelrequest/v4`;
  const owner = ctx.sim.state.user(t.ownerUserId);
  const approver = t.approverUserId ? ctx.sim.state.user(t.approverUserId) : undefined;
  const pending = t.status === 'SUBMITTED';
  const money = { value: t.total, currency: t.currency };
  return {
    href: `${base}/requests/${t.id}`,
    id: t.id,
    requestId: t.requestId,
    name: t.name,
    businessPurpose: t.businessPurpose,
    approvalStatus: { code: t.status, name: STATUS_NAMES[t.status] ?? t.status },
    approved: t.status === 'APPROVED',
    pendingApproval: pending,
    everSentBack: t.everSentBack,
    canceledPostApproval: false,
    closed: false,
    creationDate: t.creationDate,
    lastModified: t.lastModified,
    startDate: t.startDate,
    endDate: t.endDate,
    mainDestination: { city: t.city, name: t.city, countryCode: t.countryCode },
    owner: owner ? { id: owner.userId, firstName: owner.firstName, lastName: owner.lastName } : { id: t.ownerUserId },
    approver: approver ? { id: approver.userId, firstName: approver.firstName, lastName: approver.lastName } : null,
    comments: { href: `${base}/requests/${t.id}/comments`, id: t.id, template: `${base}/requests/{id}/comments` },
    totalApprovedAmount: money,
    totalPostedAmount: money,
    totalRemainingAmount: money,
    operations: pending
      ? [
          { rel: 'approve', href: `${base}/requests/${t.id}/approve` },
          { rel: 'sendback', href: `${base}/requests/${t.id}/sendback` },
        ]
      : [],
  };
}

function find(ctx: RequestContext): TravelRequest {
  const id = safeDecode(ctx.params[0]);
  const t = ctx.sim.state.travelRequests.get(id) ?? ctx.sim.state.travelRequests.get(id.toUpperCase());
  if (!t) throw err(404, 'notFound', 'resource not found');
  return t;
}

function actor(ctx: RequestContext): string | null {
  const q = ctx.query.get('userId');
  if (q !== null) {
    const u = ctx.sim.state.user(q);
    if (!u) throw err(400, 'userNotFound', `user ${q} not found`);
    return u.userId;
  }
  const tk = ctx.token;
  return tk?.kind === 'user' ? (tk.userId ?? null) : null;
}

function action(ctx: RequestContext): Reply {
  const t = find(ctx);
  const a = safeDecode(ctx.params[1]).toLowerCase();
  if (!['approve', 'sendback', 'submit', 'recall', 'cancel', 'close', 'reopen'].includes(a))
    throw err(400, 'badParam', `the request has bad parameter(s) ${a}`);
  if (a !== 'approve' && a !== 'sendback') throw err(400, 'unsupportedParam', `the simulator supports approve and sendback only (got ${a})`);
  if (t.status !== 'SUBMITTED') throw err(403, 'permissionDenied', `permission denied: the Request is ${t.status}, not pending approval`);
  const who = actor(ctx);
  if (t.stepCode !== 'EXTERNAL_VALIDATION') {
    if (!who) throw err(400, 'missingRequiredParam', 'the request is missing required parameter(s) userId');
    if (who === t.ownerUserId) throw err(403, 'permissionDenied', 'permission denied: a user cannot approve their own Request');
    if (t.approverUserId && who.toLowerCase() !== t.approverUserId.toLowerCase())
      throw err(403, 'permissionDenied', 'permission denied: the user is not the approver of this Request');
  }
  let comment: string | undefined;
  const text = ctx.body.toString('utf8');
  if (text.trim()) {
    let b: unknown;
    try {
      b = JSON.parse(text);
    } catch {
      throw err(400, 'invalidJson', 'invalid json structure');
    }
    const c = b && typeof b === 'object' ? (b as Record<string, unknown>).comment : undefined;
    if (c !== undefined && typeof c !== 'string') throw err(400, 'invalidJson', 'comment must be a string');
    comment = c as string | undefined;
  }
  if (a === 'approve') {
    t.status = 'APPROVED';
  } else {
    t.status = 'SENTBACK';
    t.everSentBack = true;
    if (comment) t.comments.push({ at: new Date().toISOString(), comment, by: who });
  }
  t.approverUserId = null;
  t.stepCode = null;
  t.lastModified = new Date().toISOString();
  return { status: 200, body: travelRequestJson(ctx, t) };
}

export function travelRequestRoutes(): Route[] {
  return [
    {
      method: 'GET',
      pattern: /^\/travelrequest\/v4\/requests\/([^/]+)$/,
      family: 'travelrequest',
      auth: true,
      handler: (ctx) => ({ status: 200, body: travelRequestJson(ctx, find(ctx)) }),
    },
    { method: 'POST', pattern: /^\/travelrequest\/v4\/requests\/([^/]+)\/([^/]+)$/, family: 'travelrequest', auth: true, handler: action },
  ];
}
