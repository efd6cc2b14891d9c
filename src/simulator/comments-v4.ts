/**
 * Expense v4 Comments: GET / POST report-header and expense comments, as the
 * system user (/expensereports/v4/reports/{reportId}/…) and in a user context
 * (/users/{userId}/context/{TRAVELER|MANAGER|PROXY}/reports/{reportId}/…).
 * https://developer.concur.com/api-reference/expense/expense-report/v4.comments.html
 * GET answers the documented example (a bare array of commentDetails); with the
 * simulator option commentsShape 'wrapped' it answers { commentDetails: [...] }
 * as the schema table says (which one Concur sends is UNCONFIRMED).
 */
import { ApiError, type Reply } from './api-error';
import { safeDecode } from './http-util';
import type { Report, ReportComment } from './model';
import { jsonBody, type RequestContext, type Route } from './routes';

const BASE = '^/expensereports(?:/v4)?';
const CONTEXTS = ['TRAVELER', 'MANAGER', 'PROXY'];
export const MAX_COMMENT_LENGTH = 2000;

interface Target {
  report: Report;
  expenseId: string | null;
  /** The acting user (user-context URLs). */
  userId: string | null;
}

function target(ctx: RequestContext, userContext: boolean): Target {
  const p = ctx.params;
  let i = 0;
  let userId: string | null = null;
  if (userContext) {
    userId = safeDecode(p[i++]);
    const context = safeDecode(p[i++]).toUpperCase();
    if (!CONTEXTS.includes(context))
      throw new ApiError(400, `contextType must be one of ${CONTEXTS.join(', ')}`, {
        validationErrors: [{ source: 'contextType', message: `invalid context ${context}` }],
      });
    const u = ctx.sim.state.user(userId);
    if (!u) throw new ApiError(404, `user ${userId} was not found`);
    userId = u.userId;
    const t = ctx.token;
    if (t && t.kind === 'user' && t.userId?.toLowerCase() !== u.userId.toLowerCase()) throw new ApiError(403, 'a user token may only act for its own user');
  }
  const reportId = safeDecode(p[i++]);
  const report = ctx.sim.state.reportById(reportId);
  if (!report) throw new ApiError(404, `report ${reportId} was not found`);
  const rawExpense = p[i];
  let expenseId: string | null = null;
  if (rawExpense !== undefined) {
    const id = safeDecode(rawExpense);
    const e = report.expenses.find((x) => x.expenseId.toLowerCase() === id.toLowerCase());
    if (!e) throw new ApiError(404, `expense ${id} was not found in report ${report.reportId}`);
    expenseId = e.expenseId;
  }
  return { report, expenseId, userId };
}

function employee(ctx: RequestContext, id: string | null | undefined) {
  const u = id ? ctx.sim.state.user(id) : undefined;
  return { employeeId: u?.employeeId ?? null, employeeUuid: u?.userId ?? id ?? null };
}

function commentJson(ctx: RequestContext, c: ReportComment, latest: boolean): Record<string, unknown> {
  const author = c.authorUserId ?? null;
  return {
    comment: c.comment,
    author: employee(ctx, author),
    createdForEmployee: employee(ctx, c.forUserId ?? author),
    createdForEmployeeId: c.forUserId ?? author,
    creationDate: c.at,
    expenseId: c.expenseId ?? null,
    isAuditorComment: false,
    isLatest: latest,
    stepInstanceId: null,
  };
}

function list(ctx: RequestContext, userContext: boolean): Reply {
  const t = target(ctx, userContext);
  const all = (ctx.query.get('includeAllComments') ?? '').toLowerCase() === 'true';
  const items = t.report.comments.filter((c) => (t.expenseId ? c.expenseId === t.expenseId : all || !c.expenseId));
  const body = items.map((c, i) => commentJson(ctx, c, i === items.length - 1));
  return { status: 200, body: ctx.sim.commentsShape === 'wrapped' ? { commentDetails: body } : body };
}

function add(ctx: RequestContext, userContext: boolean): Reply {
  const t = target(ctx, userContext);
  const body = jsonBody(ctx);
  const comment = body.comment;
  if (typeof comment !== 'string' || !comment.trim())
    throw new ApiError(400, 'comment is required', { validationErrors: [{ id: 'comment', source: 'comment', message: 'comment must be a non-empty string' }] });
  if (comment.length > MAX_COMMENT_LENGTH)
    throw new ApiError(400, `comment exceeds ${MAX_COMMENT_LENGTH} characters`, {
      validationErrors: [{ id: 'comment', source: 'comment', message: 'comment too long' }],
    });
  const tk = ctx.token;
  const author = t.userId ?? (tk?.kind === 'user' ? (tk.userId ?? null) : null);
  t.report.comments.push({
    at: new Date().toISOString(),
    action: 'Comment',
    comment,
    by: author ? `user:${author}` : tk ? `${tk.kind}:${tk.sub}` : 'system',
    authorUserId: author,
    forUserId: author,
    expenseId: t.expenseId,
  });
  if (t.report.comments.length > 100) t.report.comments.shift();
  ctx.sim.state.touch(t.report);
  const base = ctx.sim.baseUrl();
  const path = ctx.path.replace(/^\/expensereports(?!\/v4)/i, '/expensereports/v4');
  return { status: 201, body: { uri: `${base}${path}` } };
}

const USER = `${BASE}/users/([^/]+)/context/([^/]+)/reports/([^/]+)`;
const SYSTEM = `${BASE}/reports/([^/]+)`;

export function commentRoutes(): Route[] {
  const routes: Route[] = [];
  for (const [prefix, user] of [
    [USER, true],
    [SYSTEM, false],
  ] as const) {
    for (const level of ['', '/expenses/([^/]+)']) {
      const pattern = new RegExp(`${prefix}${level}/comments$`, 'i');
      routes.push({ method: 'GET', pattern, family: 'v4', auth: true, handler: (ctx) => list(ctx, user) });
      routes.push({ method: 'POST', pattern, family: 'v4', auth: true, handler: (ctx) => add(ctx, user) });
    }
  }
  return routes;
}
