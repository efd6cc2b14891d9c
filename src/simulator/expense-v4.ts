/**
 * Expense v4 (JSON): report and expenses GET, reportsToApprove, workflow PATCH
 * approve / sendBack / recall (system and user-context URLs), and exceptions
 * PUT / GET / DELETE at report, expense and allocation level.
 */
import { ApiError, type Reply, type ValidationError } from './api-error';
import { safeDecode } from './http-util';
import type { Expense, Report, ReportException } from './model';
import { APPROVAL_STATUS_NAMES, PAYMENT_STATUS_NAMES, approvedTotal, reportTotal } from './model';
import { jsonBody, requireKind, type RequestContext, type Route } from './routes';
import { approve, recall, sendBack, WorkflowError, type Actor } from './workflow';
import { receiptImageId } from './receipt-images';

const CONTEXTS = ['TRAVELER', 'MANAGER', 'PROCESSOR', 'PROXY'];
const VISIBILITIES = ['ALL', 'APPROVER_PROCESSOR', 'PROCESSOR'] as const;
// One curl example in the docs omits /v4; accept both.
const BASE = '^/expensereports(?:/v4)?';
const USER_REPORT = `${BASE}/users/([^/]+)/context/([^/]+)/reports/([^/]+)`;

const money = (value: number, currencyCode: string) => ({ value, currencyCode });

export function v4ReportJson(ctx: RequestContext, r: Report): Record<string, unknown> {
  const base = ctx.sim.baseUrl();
  const total = reportTotal(r);
  const self = `${base}/expensereports/v4/users/${r.ownerUserId}/context/TRAVELER/reports/${r.reportId}`;
  return {
    reportId: r.reportId,
    name: r.name,
    businessPurpose: r.businessPurpose,
    userId: r.ownerUserId,
    policyId: r.policyId,
    reportType: r.reportType,
    reportDate: r.reportDate,
    creationDate: r.creationDate,
    submitDate: r.submitDate,
    paidDate: r.paidDate,
    lastModifiedDate: r.lastModifiedDate,
    approvalStatusId: r.approvalStatus,
    approvalStatus: APPROVAL_STATUS_NAMES[r.approvalStatus] ?? r.approvalStatus,
    paymentStatusId: r.paymentStatus,
    paymentStatus: PAYMENT_STATUS_NAMES[r.paymentStatus] ?? r.paymentStatus,
    currencyCode: r.currencyCode,
    reportTotal: money(total, r.currencyCode),
    claimedAmount: money(total, r.currencyCode),
    approvedAmount: money(approvedTotal(r), r.currencyCode),
    amountDueEmployee: money(total, r.currencyCode),
    isSubmitted: r.submitDate !== null && r.approvalStatus !== 'A_NOTF' && r.approvalStatus !== 'A_RESU',
    isSentBack: r.isSentBack,
    hasExceptions: r.exceptions.length > 0,
    customData: [
      { id: 'custom1', value: null, isValid: true },
      { id: 'orgUnit1', value: 'Globex-EU', isValid: true },
    ],
    links: [
      { rel: 'self', href: self, method: 'GET', isTemplated: false },
      { rel: 'expenses', href: `${self}/expenses`, method: 'GET', isTemplated: false },
      { rel: 'approve', href: `${base}/expensereports/v4/reports/${r.reportId}/approve`, method: 'PATCH', isTemplated: false },
      { rel: 'sendBack', href: `${base}/expensereports/v4/reports/${r.reportId}/sendBack`, method: 'PATCH', isTemplated: false },
      { rel: 'exceptions', href: `${base}/expensereports/v4/reports/${r.reportId}/exceptions`, method: 'GET', isTemplated: false },
    ],
  };
}

function expenseJson(r: Report, e: Expense): Record<string, unknown> {
  return {
    expenseId: e.expenseId,
    expenseType: { id: e.expenseTypeCode, name: e.expenseTypeName },
    transactionDate: e.transactionDate,
    transactionAmount: money(e.transactionAmount, e.transactionCurrency),
    postedAmount: money(e.postedAmount, r.currencyCode),
    claimedAmount: money(e.isPersonal ? 0 : e.postedAmount, r.currencyCode),
    approvedAmount: money(e.approvedAmount, r.currencyCode),
    businessPurpose: e.businessPurpose || null,
    vendor: { id: null, name: e.vendor, description: e.vendor },
    location: { name: e.city, city: e.city, countrySubDivisionCode: e.countrySubdivision || null, countryCode: e.country },
    paymentType: { id: e.paymentTypeCode, name: e.paymentTypeName },
    isPersonalExpense: e.isPersonal,
    isImageRequired: e.receiptRequired,
    hasReceiptImage: e.hasReceiptImage,
    receiptImageId: receiptImageId(e),
    ereceiptImageId: null,
    attendeeCount: e.attendeeCount,
    hasExceptions: r.exceptions.some((x) => x.expenseId === e.expenseId),
    allocations: e.allocations.map((a) => ({ allocationId: a.allocationId, percentage: a.percentage, accountCode: a.accountCode })),
  };
}

function findReport(ctx: RequestContext, rawId: string): Report {
  const id = safeDecode(rawId);
  const r = ctx.sim.state.reportById(id);
  if (!r) throw new ApiError(404, `report ${id} was not found`);
  return r;
}

/** Resolves /users/{userId}/context/{ctx}/reports/{reportId} with the access rules Concur applies. */
function userContextReport(ctx: RequestContext): { report: Report; userId: string; context: string } {
  const [rawUser, rawCtx, rawReport] = ctx.params;
  const userId = safeDecode(rawUser);
  const context = safeDecode(rawCtx).toUpperCase();
  if (!CONTEXTS.includes(context)) {
    throw new ApiError(400, `context must be one of ${CONTEXTS.join(', ')}`, {
      validationErrors: [{ source: 'contextType', message: `invalid context ${rawCtx}` }],
    });
  }
  const user = ctx.sim.state.user(userId);
  if (!user) throw new ApiError(404, `user ${userId} was not found`);
  const t = ctx.token;
  if (t && t.kind === 'user' && t.userId?.toLowerCase() !== user.userId.toLowerCase()) {
    throw new ApiError(403, 'a user token may only act for its own user');
  }
  const report = findReport(ctx, rawReport);
  if (context === 'TRAVELER' && report.ownerUserId !== user.userId) throw new ApiError(404, `report ${report.reportId} was not found for user ${userId}`);
  return { report, userId: user.userId, context };
}

function workflowFailure(err: unknown): never {
  if (err instanceof WorkflowError) {
    const v: ValidationError[] = [{ id: err.field ?? 'report', source: err.field ?? 'report', message: err.message }];
    throw new ApiError(err.kind === 'validation' ? 400 : 409, err.message, { validationErrors: v });
  }
  throw err;
}

function actorOf(ctx: RequestContext, userId: string | null): Actor {
  const t = ctx.token;
  return { userId, label: userId ? `user:${userId}` : t ? `${t.kind}:${t.sub}` : 'system' };
}

type Action = 'approve' | 'sendBack' | 'recall';

function runAction(ctx: RequestContext, report: Report, action: Action, actorUserId: string | null): Reply {
  const body = jsonBody(ctx, { allowEmpty: action !== 'sendBack' });
  const actor = actorOf(ctx, actorUserId);
  try {
    if (action === 'approve') approve(ctx.sim.state, report, body, actor);
    else if (action === 'sendBack') sendBack(ctx.sim.state, report, body, actor);
    else recall(ctx.sim.state, report, body, actor);
  } catch (e) {
    workflowFailure(e);
  }
  return { status: 204 };
}

function parseAction(raw: string): Action {
  const a = raw.toLowerCase();
  if (a === 'approve') return 'approve';
  if (a === 'sendback') return 'sendBack';
  return 'recall';
}

// ---- exceptions ----

interface ExceptionTarget {
  report: Report;
  level: ReportException['level'];
  expenseId: string | null;
  allocationId: string | null;
}

function exceptionTarget(ctx: RequestContext): ExceptionTarget {
  const [rawReport, rawExpense, rawAlloc] = ctx.params;
  const report = findReport(ctx, rawReport);
  if (rawExpense === undefined) return { report, level: 'REPORT', expenseId: null, allocationId: null };
  const expenseId = safeDecode(rawExpense);
  const expense = report.expenses.find((e) => e.expenseId.toLowerCase() === expenseId.toLowerCase());
  if (!expense) throw new ApiError(404, `expense ${expenseId} was not found in report ${report.reportId}`);
  if (rawAlloc === undefined) return { report, level: 'EXPENSE', expenseId: expense.expenseId, allocationId: null };
  const allocationId = safeDecode(rawAlloc);
  const alloc = expense.allocations.find((a) => a.allocationId.toLowerCase() === allocationId.toLowerCase());
  if (!alloc) throw new ApiError(404, `allocation ${allocationId} was not found on expense ${expense.expenseId}`);
  return { report, level: 'ALLOCATION', expenseId: expense.expenseId, allocationId: alloc.allocationId };
}

function sameTarget(x: ReportException, t: ExceptionTarget): boolean {
  return x.level === t.level && x.expenseId === t.expenseId && x.allocationId === t.allocationId;
}

function putException(ctx: RequestContext): Reply {
  requireKind(ctx, ['company'], 'posting exceptions');
  const t = exceptionTarget(ctx);
  const body = jsonBody(ctx);
  const errors: ValidationError[] = [];
  const code = body.exceptionCode;
  const max = ctx.sim.state.exceptionCodeMaxLength;
  if (typeof code !== 'string' || code.length < 1 || code.length > max) {
    errors.push({ id: 'exceptionCode', source: 'exceptionCode', message: `exceptionCode is required and must be 1 to ${max} characters` });
  }
  // The swagger marks exceptionVisibility required; the markdown examples always send it. Default ALL when absent.
  const vis = body.exceptionVisibility ?? 'ALL';
  if (typeof vis !== 'string' || !(VISIBILITIES as readonly string[]).includes(vis)) {
    errors.push({ id: 'exceptionVisibility', source: 'exceptionVisibility', message: `exceptionVisibility must be one of ${VISIBILITIES.join(', ')}` });
  }
  if (errors.length) throw new ApiError(400, 'validation failed', { validationErrors: errors });
  const configured = ctx.sim.state.exceptionCodes[(code as string).toUpperCase()];
  if (!configured && !ctx.sim.state.anyExceptionCode) {
    throw new ApiError(400, `exception code ${code} is not configured for this company`, {
      validationErrors: [{ id: 'exceptionCode', source: 'exceptionCode', message: `unknown exception code ${code}` }],
    });
  }
  const rec: ReportException = {
    exceptionCode: (code as string).toUpperCase(),
    exceptionVisibility: vis as ReportException['exceptionVisibility'],
    level: t.level,
    expenseId: t.expenseId,
    allocationId: t.allocationId,
    message: configured?.message ?? `Exception ${code}`,
    isBlocking: configured?.isBlocking ?? false,
    source: 'v4',
  };
  const list = t.report.exceptions;
  const i = list.findIndex((x) => x.exceptionCode === rec.exceptionCode && sameTarget(x, t));
  if (i >= 0) list[i] = rec;
  else list.push(rec);
  ctx.sim.state.touch(t.report);
  return { status: 200 };
}

export function exceptionJson(x: ReportException): Record<string, unknown> {
  return {
    exceptionCode: x.exceptionCode,
    exceptionVisibility: x.exceptionVisibility,
    isBlocking: x.isBlocking,
    message: x.message,
    expenseId: x.expenseId,
    allocationId: x.allocationId,
    parentExpenseId: null,
  };
}

function getExceptions(ctx: RequestContext): Reply {
  const t = exceptionTarget(ctx);
  const exclude = (ctx.query.get('excludeExpenses') ?? '').toLowerCase() === 'true';
  let list = t.report.exceptions;
  if (t.level === 'REPORT' && exclude) list = list.filter((x) => x.level === 'REPORT');
  else if (t.level === 'EXPENSE') list = list.filter((x) => x.expenseId === t.expenseId);
  else if (t.level === 'ALLOCATION') list = list.filter((x) => x.allocationId === t.allocationId);
  return { status: 200, body: list.map(exceptionJson) };
}

function deleteException(ctx: RequestContext): Reply {
  requireKind(ctx, ['company'], 'deleting exceptions');
  const code = safeDecode(ctx.params[ctx.params.length - 1]).toUpperCase();
  const t = exceptionTarget({ ...ctx, params: ctx.params.slice(0, -1) });
  const i = t.report.exceptions.findIndex((x) => x.exceptionCode === code && sameTarget(x, t));
  if (i < 0) throw new ApiError(404, `exception ${code} was not found at this level`);
  t.report.exceptions.splice(i, 1);
  ctx.sim.state.touch(t.report);
  return { status: 204 };
}

/**
 * GET …/users/{userId}/context/MANAGER/reportsToApprove with the documented query (sort, order,
 * includeDelegateApprovals) and the "Report To Approve" schema:
 * https://developer.concur.com/api-reference/expense/expense-report/v4.reports.html#get-reports-to-approve
 */
function reportsToApprove(ctx: RequestContext): Reply {
  const userId = safeDecode(ctx.params[0]);
  const user = ctx.sim.state.user(userId);
  if (!user) throw new ApiError(404, `user ${userId} was not found`);
  const t = ctx.token;
  if (t && t.kind === 'user' && t.userId?.toLowerCase() !== user.userId.toLowerCase()) throw new ApiError(403, 'a user token may only act for its own user');
  const rawDelegate = ctx.query.get('includeDelegateApprovals');
  if (rawDelegate !== null && !/^(true|false)$/i.test(rawDelegate)) {
    throw new ApiError(400, 'includeDelegateApprovals must be true or false', {
      validationErrors: [{ source: 'includeDelegateApprovals', message: `invalid boolean ${rawDelegate}` }],
    });
  }
  const approvers = new Set([user.userId.toLowerCase()]);
  if (rawDelegate?.toLowerCase() === 'true') for (const d of user.delegateFor ?? []) approvers.add(d.toLowerCase());
  let list = [...ctx.sim.state.reports.values()].filter((r) => approvers.has(r.currentStep?.assignedUserId?.toLowerCase() ?? ''));
  const sort = ctx.query.get('sort');
  if (sort) {
    const allowed: Record<string, (r: Report) => string | number> = {
      reportDate: (r) => r.reportDate,
      submitDate: (r) => r.submitDate ?? '',
      name: (r) => r.name,
      reportId: (r) => r.reportId,
      claimedAmount: (r) => reportTotal(r),
    };
    const key = allowed[sort];
    if (!key)
      throw new ApiError(400, `cannot sort by ${sort}`, {
        validationErrors: [{ source: 'sort', message: `sort must be one of ${Object.keys(allowed).join(', ')}` }],
      });
    const order = (ctx.query.get('order') ?? 'asc').toLowerCase();
    if (order !== 'asc' && order !== 'desc') throw new ApiError(400, 'order must be asc or desc');
    list = [...list].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0) * (order === 'desc' ? -1 : 1));
  }
  const employee = (id: string | null | undefined) => {
    const u = id ? ctx.sim.state.user(id) : undefined;
    return { employeeId: u?.employeeId ?? null, employeeUuid: u?.userId ?? id ?? null };
  };
  const base = ctx.sim.baseUrl();
  return {
    status: 200,
    body: list.map((r) => {
      const total = reportTotal(r);
      return {
        name: r.name,
        reportDate: r.reportDate,
        reportId: r.reportId,
        reportNumber: r.reportId.slice(0, 8),
        submitDate: r.submitDate,
        approver: employee(r.currentStep?.assignedUserId),
        employee: employee(r.ownerUserId),
        amountDueEmployee: money(total, r.currencyCode),
        claimedAmount: money(total, r.currencyCode),
        totalApprovedAmount: money(approvedTotal(r), r.currencyCode),
        hasExceptions: r.exceptions.length > 0,
        reportType: r.reportType,
        links: [
          {
            rel: 'self',
            href: `${base}/expensereports/v4/users/${r.currentStep?.assignedUserId ?? user.userId}/context/MANAGER/reports/${r.reportId}`,
            method: 'GET',
            isTemplated: false,
          },
        ],
      };
    }),
  };
}

const EXC = `${BASE}/reports/([^/]+)(?:/expenses/([^/]+)(?:/allocations/([^/]+))?)?/exceptions`;

export function expenseV4Routes(): Route[] {
  return [
    {
      method: 'GET',
      pattern: new RegExp(`${USER_REPORT}$`),
      family: 'v4',
      auth: true,
      handler: (ctx) => ({ status: 200, body: v4ReportJson(ctx, userContextReport(ctx).report) }),
    },
    {
      method: 'GET',
      pattern: new RegExp(`${USER_REPORT}/expenses$`),
      family: 'v4',
      auth: true,
      handler: (ctx) => {
        const { report } = userContextReport(ctx);
        return { status: 200, body: report.expenses.map((e) => expenseJson(report, e)) };
      },
    },
    {
      // Retrieve an Expense by ID (v4.expenses).
      method: 'GET',
      pattern: new RegExp(`${USER_REPORT}/expenses/([^/]+)$`),
      family: 'v4',
      auth: true,
      handler: (ctx) => {
        const { report } = userContextReport(ctx);
        const id = safeDecode(ctx.params[3]);
        const e = report.expenses.find((x) => x.expenseId.toLowerCase() === id.toLowerCase());
        if (!e) throw new ApiError(404, `expense ${id} was not found in report ${report.reportId}`);
        return { status: 200, body: expenseJson(report, e) };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`${BASE}/users/([^/]+)/context/MANAGER/reportsToApprove$`, 'i'),
      family: 'v4',
      auth: true,
      handler: reportsToApprove,
    },
    {
      method: 'PATCH',
      pattern: new RegExp(`${BASE}/reports/([^/]+)/(approve|sendBack)$`, 'i'),
      family: 'v4',
      auth: true,
      handler: (ctx) => {
        requireKind(ctx, ['company'], 'system approve/sendBack');
        return runAction(ctx, findReport(ctx, ctx.params[0]), parseAction(ctx.params[1]), null);
      },
    },
    {
      method: 'PATCH',
      pattern: new RegExp(`${USER_REPORT}/(approve|sendBack|recall)$`, 'i'),
      family: 'v4',
      auth: true,
      handler: (ctx) => {
        const { report, userId, context } = userContextReport(ctx);
        const action = parseAction(ctx.params[3]);
        if (action === 'recall' && context !== 'TRAVELER' && context !== 'PROXY')
          throw new ApiError(400, 'recall is only available in the TRAVELER or PROXY context');
        if (action !== 'recall') {
          if (context !== 'MANAGER') throw new ApiError(400, `${action} is only available in the MANAGER context`);
          const assigned = report.currentStep?.assignedUserId;
          if (assigned && assigned.toLowerCase() !== userId.toLowerCase())
            throw new ApiError(403, `user ${userId} is not the approver of report ${report.reportId}`);
        }
        return runAction(ctx, report, action, userId);
      },
    },
    { method: 'PUT', pattern: new RegExp(`${EXC}$`), family: 'v4', auth: true, handler: putException },
    { method: 'GET', pattern: new RegExp(`${EXC}$`), family: 'v4', auth: true, handler: getExceptions },
    { method: 'DELETE', pattern: new RegExp(`${EXC}/([^/]+)$`), family: 'v4', auth: true, handler: deleteException },
  ];
}
