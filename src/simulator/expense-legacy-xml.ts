/**
 * Legacy XML expense APIs: v2.0 report details, v1.1 report full details
 * (the legacy callout's ObjectURI), v1.1 Exceptions POST and v1.1
 * WorkflowAction POST. Bodies follow the Concur doc examples; clients should
 * parse them namespace-agnostically.
 */
import { ApiError, type Reply } from './api-error';
import { safeDecode } from './http-util';
import type { Expense, Report, ReportException } from './model';
import { APPROVAL_STATUS_NAMES, PAYMENT_STATUS_NAMES, approvedTotal, reportTotal } from './model';
import type { RequestContext, Route } from './routes';
import { approve, recall, sendBack, WorkflowError } from './workflow';
import { asArray, parseXml, renderDocument, textOf, XmlInputError, type XmlNode } from './xml';

export const NS_2011 = 'http://www.concursolutions.com/api/expense/expensereport/2011/03';
export const NS_2012 = 'http://www.concursolutions.com/api/expense/expensereport/2012/07';
const NS_I = 'http://www.w3.org/2001/XMLSchema-instance';
const XML = { 'Content-Type': 'application/xml; charset=utf-8' };
// Deprecated APIs announce themselves (Concur release notes 2026-03-03).
const DEPRECATED = { 'x-api-warn': 'This API version is deprecated; use Expense v4', sunset: 'Wed, 05 Aug 2026 00:00:00 GMT' };

const CURRENCY_NAMES: Record<string, string> = { USD: 'US, Dollar', EUR: 'Euro', GBP: 'Pound Sterling' };
const amt8 = (n: number) => n.toFixed(8);
const yn = (b: boolean) => (b ? 'Y' : 'N');

/** `YYYY-MM-DDThh:mm:ss` without zone, as the legacy APIs print dates. */
/** The report-level amount fields, the same in the v1.1 and v2.0 documents. */
function reportAmounts(r: Parameters<typeof reportTotal>[0]): XmlNode[] {
  const total = reportTotal(r);
  return [
    ['ReportTotal', amt8(total)],
    ['PersonalExpenses', amt8(0)],
    ['AmountDueEmployee', amt8(total)],
    ['AmountDueCompanyCard', amt8(0)],
    ['TotalClaimedAmount', amt8(total)],
    ['TotalApprovedAmount', amt8(approvedTotal(r))],
  ];
}

export function legacyDate(iso: string): string {
  return iso.length === 10 ? `${iso}T00:00:00` : iso.slice(0, 19);
}

/** Keys go into URLs as Concur prints them (raw `$`, and a bare `%` when the key has one). */
export function reportFullDetailsUrl(base: string, reportKey: string): string {
  return `${base}/api/expense/expensereport/v1.1/reportfulldetails/${reportKey}`;
}

export function workflowActionUrl(ctx: RequestContext, r: Report): string {
  const key = r.currentStep?.workflowActionKey ?? r.lastWorkflowActionKey;
  return `${ctx.sim.baseUrl()}/api/expense/expensereport/v1.1/report/${key}/WorkFlowAction`;
}

function hasAllocation(e: Expense): string {
  if (!e.allocations.length) return 'N';
  return e.allocations.reduce((s, a) => s + a.percentage, 0) >= 100 ? 'F' : 'P';
}

function fullDetailsXml(ctx: RequestContext, r: Report): string {
  const owner = ctx.sim.state.user(r.ownerUserId);
  const entries: XmlNode[] = r.expenses.map((e) => [
    'ExpenseEntry',
    [
      ['ReceiptRequired', yn(e.receiptRequired)],
      ['ImageRequired', yn(e.receiptRequired)],
      ['RpeKey', e.rpeKey],
      ['RptKey', r.reportKey],
      ['X_UserID', owner?.loginId ?? ''],
      ['ExpKey', e.expenseTypeCode],
      ['ExpName', e.expenseTypeName],
      ['BusinessPurpose', e.businessPurpose],
      ['HasVat', 'N'],
      ['ExchangeRate', '1.00000000000000'],
      ['TransactionAmount', amt8(e.transactionAmount)],
      ['PostedAmount', amt8(e.postedAmount)],
      ['ApprovedAmount', amt8(e.approvedAmount)],
      ['TransactionCurrencyName', CURRENCY_NAMES[e.transactionCurrency] ?? e.transactionCurrency],
      ['VendorDescription', e.vendor],
      ['LocationName', e.city],
      ['LocationSubdivision', e.countrySubdivision],
      ['LocationCountry', e.country],
      ['SpendCategory', e.spendCategory],
      ['HasComments', 'N'],
      ['CommentCount', 0],
      ['PaymentTypeKey', e.paymentTypeCode],
      ['IsItemized', 'N'],
      ['HasExceptions', yn(r.exceptions.some((x) => x.expenseId === e.expenseId))],
      ['IsPersonal', yn(e.isPersonal)],
      ['HasAttendees', yn(e.attendeeCount > 0)],
      ['HasAllocation', hasAllocation(e)],
      ['IsCreditCardCharge', yn(e.paymentTypeCode === 'IBCP')],
      ['AttendeeCount', e.attendeeCount],
      ['IsPersonalCardCharge', 'N'],
      ['TransactionDate', legacyDate(e.transactionDate)],
      ['LastModifiedDate', legacyDate(r.lastModifiedDate)],
      ['ReceiptImageId', e.hasReceiptImage ? e.expenseId.slice(0, 32) : ''],
      ['ItemizationsList', []],
      [
        'AllocationsList',
        e.allocations.map(
          (a): XmlNode => [
            'Allocations',
            [
              ['AllocationKey', a.allocationKey],
              ['Percentage', `${amt8(a.percentage)}%`],
              ['AccountCode1', a.accountCode],
              ['AccountCode2', ''],
            ],
          ],
        ),
      ],
    ],
  ]);
  const children: XmlNode[] = [
    ['X_UserID', owner?.loginId ?? ''],
    ['ReportId', r.reportId],
    ['ReportName', r.name],
    ['Purpose', r.businessPurpose],
    ['CrnCode', r.currencyCode],
    ['ApsKey', r.approvalStatus],
    ['ReportDate', legacyDate(r.reportDate)],
    ['CreationDate', legacyDate(r.creationDate)],
    ['ReceiptImageUrl', `${ctx.sim.baseUrl()}/getImage?rpt=${encodeURIComponent(r.reportKey)}`],
    ['HasException', yn(r.exceptions.length > 0)],
    ['EverSentBack', yn(r.everSentBack)],
    ['EmployeeName', owner ? `${owner.lastName}, ${owner.firstName}` : ''],
    ['ApvStatusName', APPROVAL_STATUS_NAMES[r.approvalStatus] ?? r.approvalStatus],
    // Not in the v1.1 doc example, but the name clients (and the v2.0 API) use; sent too so either parser works.
    ['ApprovalStatusName', APPROVAL_STATUS_NAMES[r.approvalStatus] ?? r.approvalStatus],
    ['ApprovalStatusCode', r.approvalStatus],
    ['PayKey', r.paymentStatus],
    ['PayStatusName', PAYMENT_STATUS_NAMES[r.paymentStatus] ?? r.paymentStatus],
    ['PaidDate', r.paidDate ? legacyDate(r.paidDate) : null],
    ['SubmitDate', r.submitDate ? legacyDate(r.submitDate) : '0001-01-01T00:00:00'],
    ['EntryCount', r.expenses.length],
    ['LedgerName', 'DEFAULT'],
    ['PolKey', r.policyId],
    ['RptKey', r.reportKey],
    ...reportAmounts(r),
    ['WorkflowActionURL', workflowActionUrl(ctx, r)],
    ['Entries', entries, { Count: String(r.expenses.length) }],
  ];
  // The doc example declares the namespace with a prefix it never uses, so elements are namespace-less.
  return renderDocument('ReportDetails', { 'xmlns:ns': NS_2011, 'xmlns:i': NS_I }, children, { nil: true });
}

function v2DetailsXml(ctx: RequestContext, r: Report): string {
  const owner = ctx.sim.state.user(r.ownerUserId);
  const last = r.comments[r.comments.length - 1];
  const entries: XmlNode[] = r.expenses.map((e) => [
    'ExpenseEntry',
    [
      ['ReportEntryID', e.entryId],
      ['ExpenseTypeID', e.expenseTypeCode],
      ['ExpenseTypeName', e.expenseTypeName],
      ['SpendCategory', e.spendCategory],
      ['PaymentTypeID', e.paymentTypeCode],
      ['PaymentTypeName', e.paymentTypeName],
      ['TransactionDate', legacyDate(e.transactionDate)],
      ['TransactionCurrencyCode', e.transactionCurrency],
      ['TransactionAmount', amt8(e.transactionAmount)],
      ['ExchangeRate', '1.00000000000000'],
      ['PostedAmount', amt8(e.postedAmount)],
      ['ApprovedAmount', amt8(e.approvedAmount)],
      ['VendorDescription', e.vendor],
      ['LocationName', e.city],
      ['LocationCountry', e.country],
      ['BusinessPurpose', e.businessPurpose],
      ['IsPersonal', yn(e.isPersonal)],
      ['HasExceptions', yn(r.exceptions.some((x) => x.expenseId === e.expenseId))],
      ['ReceiptRequired', yn(e.receiptRequired)],
      ['ImageRequired', yn(e.receiptRequired)],
      ['HasAttendees', yn(e.attendeeCount > 0)],
      ['HasAllocation', hasAllocation(e)],
    ],
  ]);
  return renderDocument(
    'ReportDetails',
    { xmlns: NS_2012, 'xmlns:i': NS_I },
    [
      ['UserLoginID', owner?.loginId ?? ''],
      ['EmployeeName', owner ? `${owner.lastName}, ${owner.firstName}` : ''],
      ['ReportID', r.reportId],
      ['ReportKey', r.reportKey],
      ['ReportName', r.name],
      ['Purpose', r.businessPurpose],
      ['ReportDate', legacyDate(r.reportDate)],
      ['CreationDate', legacyDate(r.creationDate)],
      ['SubmitDate', r.submitDate ? legacyDate(r.submitDate) : null],
      ['PaidDate', r.paidDate ? legacyDate(r.paidDate) : null],
      ['CurrencyCode', r.currencyCode],
      ...reportAmounts(r),
      ['ApprovalStatusCode', r.approvalStatus],
      ['ApprovalStatusName', APPROVAL_STATUS_NAMES[r.approvalStatus] ?? r.approvalStatus],
      ['PaymentStatusCode', r.paymentStatus],
      ['PaymentStatusName', PAYMENT_STATUS_NAMES[r.paymentStatus] ?? r.paymentStatus],
      ['LastComment', last?.comment ?? ''],
      ['HasException', yn(r.exceptions.length > 0)],
      ['EverSentBack', yn(r.everSentBack)],
      ['WorkflowActionURL', workflowActionUrl(ctx, r)],
      ['ExpenseEntriesList', entries],
    ],
    { nil: true },
  );
}

function parseRequestXml(ctx: RequestContext, root: string): Record<string, unknown> {
  let doc: Record<string, unknown>;
  try {
    doc = parseXml(ctx.body.toString('utf8'));
  } catch (e) {
    if (e instanceof XmlInputError) throw new ApiError(400, e.message);
    throw e;
  }
  const el = doc[root];
  if (el === undefined) throw new ApiError(400, `the root element must be ${root} (got ${Object.keys(doc).join(', ') || 'none'})`);
  return el && typeof el === 'object' ? (el as Record<string, unknown>) : {};
}

const MAX_V11_EXCEPTIONS = 500;

function postExceptions(ctx: RequestContext): Reply {
  const key = ctx.params[0];
  const report = ctx.sim.state.reportByKey(key);
  if (!report) throw new ApiError(404, `report ${safeDecode(key)} was not found`);
  const root = parseRequestXml(ctx, 'Exceptions');
  const items = asArray(root.Exception);
  if (items.length === 0) throw new ApiError(400, 'Exceptions must contain at least one Exception element');
  if (items.length > MAX_V11_EXCEPTIONS) throw new ApiError(400, `at most ${MAX_V11_EXCEPTIONS} Exception elements per request`);
  const errors: XmlNode[] = [];
  const infos: XmlNode[] = [];
  let ok = 0;
  items.forEach((raw, i) => {
    const ex = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
    const index = textOf(ex.Index) ?? String(i + 1);
    const fail = (message: string) => {
      errors.push([
        'error',
        [
          ['Index', index],
          ['message', message],
        ],
      ]);
      infos.push([
        'ExceptionInfo',
        [
          ['Index', index],
          ['Status', 'FAILURE'],
        ],
      ]);
    };
    const objectType = (textOf(ex.ObjectType) ?? '').trim();
    const objectId = (textOf(ex.ObjectId) ?? '').trim();
    const code = (textOf(ex.ExceptionCode) ?? '').trim().toUpperCase();
    if (!/^\d+$/.test(index)) return fail('Index must be a positive integer');
    const max = ctx.sim.state.exceptionCodeMaxLength;
    if (!code || code.length > max) return fail(`ExceptionCode is required (1 to ${max} characters)`);
    const configured = ctx.sim.state.exceptionCodes[code];
    if (!configured && !ctx.sim.state.anyExceptionCode) return fail(`ExceptionCode ${code} is not configured for this company`);
    let target: Pick<ReportException, 'level' | 'expenseId' | 'allocationId'>;
    const t = objectType.toLowerCase();
    if (t === 'report') target = { level: 'REPORT', expenseId: null, allocationId: null };
    else if (t === 'entry') {
      const e = report.expenses.find((x) => x.rpeKey === objectId || x.rpeKey === safeDecode(objectId));
      if (!e) return fail(`ObjectId ${objectId || '(empty)'} is not an entry (RpeKey) of this report`);
      target = { level: 'EXPENSE', expenseId: e.expenseId, allocationId: null };
    } else if (t === 'allocation') {
      let found: Pick<ReportException, 'level' | 'expenseId' | 'allocationId'> | undefined;
      for (const e of report.expenses) {
        const a = e.allocations.find((x) => x.allocationKey === objectId || x.allocationKey === safeDecode(objectId));
        if (a) found = { level: 'ALLOCATION', expenseId: e.expenseId, allocationId: a.allocationId };
      }
      if (!found) return fail(`ObjectId ${objectId || '(empty)'} is not an allocation (AllocationKey) of this report`);
      target = found;
    } else return fail(`ObjectType must be Report, Entry or Allocation (got ${objectType || 'nothing'})`);
    const rec: ReportException = {
      exceptionCode: code,
      exceptionVisibility: 'ALL',
      ...target,
      message: configured?.message ?? `Exception ${code}`,
      isBlocking: configured?.isBlocking ?? false,
      source: 'v1.1',
    };
    const list = report.exceptions;
    const at = list.findIndex((x) => x.exceptionCode === code && x.level === rec.level && x.expenseId === rec.expenseId && x.allocationId === rec.allocationId);
    if (at >= 0) list[at] = rec;
    else list.push(rec);
    ok++;
    infos.push([
      'ExceptionInfo',
      [
        ['Index', index],
        ['Status', 'SUCCESS'],
      ],
    ]);
  });
  if (ok) ctx.sim.state.touch(report);
  const body = renderDocument('exception-result', { xmlns: NS_2011 }, [
    ['exceptions-succeeded', ok],
    ['exceptions-failed', items.length - ok],
    ['errors', errors],
    ['ExceptionDetails', infos],
  ]);
  return { status: 200, headers: { ...XML, ...DEPRECATED }, body };
}

function actionStatus(ctx: RequestContext, ok: boolean, message: string): Reply {
  const body = renderDocument('ActionStatus', { xmlns: NS_2011 }, [
    ['Message', message],
    ['Status', ok ? 'SUCCESS!' : 'FAILURE'],
  ]);
  return { status: ok ? 200 : ctx.sim.workflowActionFailureStatus, headers: { ...XML, ...DEPRECATED }, body };
}

function postWorkflowAction(ctx: RequestContext): Reply {
  const key = ctx.params[0];
  const found = ctx.sim.state.reportByWorkflowKey(key);
  if (!found) throw new ApiError(404, `workflow step ${safeDecode(key)} was not found`);
  const root = parseRequestXml(ctx, 'WorkflowAction');
  const action = (textOf(root.Action) ?? '').trim();
  const comment = textOf(root.Comment);
  if (found.stale) {
    return actionStatus(ctx, false, 'This item has recently been changed. Please refresh the report and try again.');
  }
  const report = found.report;
  const actor = { userId: null, label: ctx.token ? `${ctx.token.kind}:${ctx.token.sub}` : 'system' };
  try {
    switch (action.toLowerCase()) {
      case 'approve':
        approve(ctx.sim.state, report, { comment }, actor);
        break;
      case 'send back to employee':
        sendBack(ctx.sim.state, report, { comment }, actor);
        break;
      case 'recall to employee':
        recall(ctx.sim.state, report, { comment }, actor);
        break;
      default:
        return actionStatus(ctx, false, `Action must be Approve, Send Back to Employee or Recall to Employee (got ${action || 'nothing'})`);
    }
  } catch (e) {
    if (e instanceof WorkflowError) return actionStatus(ctx, false, e.message);
    throw e;
  }
  return actionStatus(ctx, true, `${action} succeeded for report ${report.reportId}`);
}

const V11 = '^/api/expense/expensereport/v1\\.1';

export function legacyXmlRoutes(): Route[] {
  return [
    {
      method: 'GET',
      pattern: /^\/api\/expense\/expensereport\/v2\.0\/report\/([^/]+)$/i,
      family: 'legacy',
      auth: true,
      handler: (ctx) => {
        const id = safeDecode(ctx.params[0]);
        const r = ctx.sim.state.reportById(id) ?? ctx.sim.state.reportByKey(ctx.params[0]);
        if (!r) throw new ApiError(404, `report ${id} was not found`);
        return { status: 200, headers: { ...XML, ...DEPRECATED }, body: v2DetailsXml(ctx, r) };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`${V11}/reportfulldetails/([^/]+)$`, 'i'),
      family: 'legacy',
      auth: true,
      handler: (ctx) => {
        const r = ctx.sim.state.reportByKey(ctx.params[0]);
        if (!r) throw new ApiError(404, `report ${safeDecode(ctx.params[0])} was not found`);
        return { status: 200, headers: { ...XML, ...DEPRECATED }, body: fullDetailsXml(ctx, r) };
      },
    },
    { method: 'POST', pattern: new RegExp(`${V11}/report/([^/]+)/exceptions$`, 'i'), family: 'legacy', auth: true, handler: postExceptions },
    { method: 'POST', pattern: new RegExp(`${V11}/report/([^/]+)/workflowaction$`, 'i'), family: 'legacy', auth: true, handler: postWorkflowAction },
  ];
}
