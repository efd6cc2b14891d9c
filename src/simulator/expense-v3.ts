/** Expense v3.0 reports (JSON): single report and list with filters. */
import { ApiError, type Reply } from './api-error';
import { safeDecode } from './http-util';
import type { Report } from './model';
import { APPROVAL_STATUS_NAMES, PAYMENT_STATUS_NAMES, approvedTotal, reportTotal } from './model';
import type { RequestContext, Route } from './routes';
import { legacyDate, workflowActionUrl } from './expense-legacy-xml';

/** v3 dates have no zone designator. */
const v3Date = (iso: string | null) => (iso ? legacyDate(iso) : null);

function v3ReportJson(ctx: RequestContext, r: Report): Record<string, unknown> {
  const owner = ctx.sim.state.user(r.ownerUserId);
  const approver = r.currentStep?.assignedUserId ? ctx.sim.state.user(r.currentStep.assignedUserId) : undefined;
  const base = ctx.sim.baseUrl();
  return {
    ID: r.reportId,
    URI: `${base}/api/v3.0/expense/reports/${r.reportId}`,
    Name: r.name,
    Purpose: r.businessPurpose,
    Total: reportTotal(r),
    TotalClaimedAmount: reportTotal(r),
    TotalApprovedAmount: approvedTotal(r),
    AmountDueEmployee: reportTotal(r),
    CurrencyCode: r.currencyCode,
    OwnerLoginID: owner?.loginId ?? null,
    OwnerName: owner ? `${owner.lastName}, ${owner.firstName}` : null,
    ApproverLoginID: approver?.loginId ?? null,
    ApproverName: approver ? `${approver.lastName}, ${approver.firstName}` : null,
    ApprovalStatusCode: r.approvalStatus,
    ApprovalStatusName: APPROVAL_STATUS_NAMES[r.approvalStatus] ?? r.approvalStatus,
    PaymentStatusCode: r.paymentStatus,
    PaymentStatusName: PAYMENT_STATUS_NAMES[r.paymentStatus] ?? r.paymentStatus,
    HasException: r.exceptions.length > 0,
    EverSentBack: r.everSentBack,
    WorkflowActionUrl: workflowActionUrl(ctx, r),
    PolicyID: r.policyId,
    CreateDate: v3Date(r.creationDate),
    SubmitDate: v3Date(r.submitDate),
    PaidDate: v3Date(r.paidDate),
    LastModifiedDate: v3Date(r.lastModifiedDate),
    LedgerName: 'DEFAULT',
  };
}

/** `user` query: a login id, or ALL. A user token without it sees its own reports. */
function visible(ctx: RequestContext, r: Report): boolean {
  const user = ctx.query.get('user');
  if (user && user.toUpperCase() !== 'ALL') {
    const owner = ctx.sim.state.user(r.ownerUserId);
    return !!owner && owner.loginId.toLowerCase() === user.toLowerCase();
  }
  if (!user && ctx.token?.kind === 'user') return r.ownerUserId === ctx.token.userId;
  return true;
}

function getOne(ctx: RequestContext): Reply {
  const id = safeDecode(ctx.params[0]);
  const r = ctx.sim.state.reportById(id);
  if (!r || !visible(ctx, r)) throw new ApiError(404, `report ${id} was not found`);
  return { status: 200, body: v3ReportJson(ctx, r) };
}

function list(ctx: RequestContext): Reply {
  const codes = (ctx.query.get('approvalStatusCode') ?? '')
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  const pay = (ctx.query.get('paymentStatusCode') ?? '')
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  const limitRaw = ctx.query.get('limit');
  const limit = limitRaw === null ? 25 : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new ApiError(400, 'limit must be an integer from 1 to 100');
  const offset = Number(ctx.query.get('offset') ?? 0) || 0;
  const all = [...ctx.sim.state.reports.values()]
    .filter((r) => visible(ctx, r))
    .filter((r) => !codes.length || codes.includes(r.approvalStatus))
    .filter((r) => !pay.length || pay.includes(r.paymentStatus));
  const page = all.slice(offset, offset + limit);
  const next =
    offset + limit < all.length
      ? `${ctx.sim.baseUrl()}/api/v3.0/expense/reports?${new URLSearchParams({ ...Object.fromEntries(ctx.query), offset: String(offset + limit) })}`
      : null;
  return { status: 200, body: { Items: page.map((r) => v3ReportJson(ctx, r)), NextPage: next } };
}

export function expenseV3Routes(): Route[] {
  return [
    { method: 'GET', pattern: /^\/api\/v3\.0\/expense\/reports\/?$/i, family: 'v3', auth: true, handler: list },
    { method: 'GET', pattern: /^\/api\/v3\.0\/expense\/reports\/([^/]+)$/i, family: 'v3', auth: true, handler: getOne },
  ];
}
