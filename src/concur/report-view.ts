/**
 * One documented view of an expense report, whichever API answered
 * (Expense v4 JSON, v3 JSON, or the deprecated v2.0 / v1.1 XML that
 * `concur-get-report-details` converts to objects). Validation rules are
 * written against this view, so one rule set serves every API version.
 *
 * Sources of every field (public Concur reference):
 * - v4 report header: https://developer.concur.com/api-reference/expense/expense-report/v4.reports.html
 * - v4 expenses (ReportExpenseSummary): https://developer.concur.com/api-reference/expense/expense-report/v4.expenses.html
 * - v4 allocations: https://developer.concur.com/api-reference/expense/expense-report/v4.allocations.html
 * - v4 attendees: https://developer.concur.com/api-reference/expense/expense-report/v4.expense-attendee-associations.html
 * - v3 reports / entries / attendees: https://developer.concur.com/api-reference/expense/expense-report/v3.reports.html,
 *   https://developer.concur.com/api-reference/expense/expense-report/expense-entry.html,
 *   https://developer.concur.com/api-reference/expense/expense-report/v3.expense-entry-attendee.html
 * - v2.0 report details: https://developer.concur.com/api-reference/expense/expense-report/v2.reports.html
 * - v1.1 report full details: https://developer.concur.com/api-reference/expense/expense-report/v1dot1.report-full-details.html
 *
 * The v4 report and the v3 report carry no expenses: Concur serves them from
 * separate resources (v4 `.../reports/{reportId}/expenses`, v3 `/expense/entries?reportID=`).
 * Pass those lists as `extras` (the node takes them from `msg.expenses`,
 * `msg.allocations`, `msg.attendees`) or attach them to the report as `expenses`.
 */
import { isObject } from './objects';

export type ReportSource = 'v4' | 'v3' | 'v2.0' | 'v1.1' | 'view';

/*
 * Absent fields are LEFT OUT of the view (undefined), never null: in JSONata a
 * comparison with a missing field is simply false, while null raises a type
 * error (`null > 5` is T2010, `$lowercase(null)` is T0410).
 */

export interface Money {
  /** The amount as a number (legacy XML strings such as "389.00000000" are parsed); left out when absent. */
  value?: number;
  /** ISO 4217 code; left out when the API does not say. */
  currency?: string;
}

export interface ReportHeader {
  /** v4 `reportId`, v3 `ID`, v2.0 `ReportID`, v1.1 `ReportId`. */
  reportId?: string;
  /** Legacy key: v1.1 `RptKey`, v2.0 `ReportKey` (the id v1.1 exceptions use). */
  reportKey?: string;
  /** v4 `name`, v3 `Name`, v2.0/v1.1 `ReportName`. */
  name?: string;
  /** v4 `businessPurpose`, v3/v2.0/v1.1 `Purpose`. */
  purpose?: string;
  /** v4 `userId` (UUID). */
  ownerId?: string;
  /** v3 `OwnerLoginID`, v2.0 `UserLoginID`, v1.1 `X_UserID`. */
  ownerLoginId?: string;
  /** v3 `OwnerName`, v2.0/v1.1 `EmployeeName`. */
  ownerName?: string;
  /** v4 `policyId`, v3 `PolicyID`, v1.1 `PolKey`. */
  policyId?: string;
  /** v4 `currencyCode`, v3/v2.0 `CurrencyCode`, v1.1 `CrnCode`. */
  currency?: string;
  /** YYYY-MM-DD: v4 `reportDate`, v3 `UserDefinedDate`, v2.0/v1.1 `ReportDate`. */
  reportDate?: string;
  /** YYYY-MM-DD trip start / end (v4 `startDate` / `endDate`; not in v3 or the legacy APIs). */
  startDate?: string;
  endDate?: string;
  /** YYYY-MM-DD: v4 `submitDate`, v3/v2.0/v1.1 `SubmitDate` (legacy "0001-01-01" means never: left out). */
  submitDate?: string;
  /** v4 `approvalStatusId`, v3/v2.0 `ApprovalStatusCode`, v1.1 `ApsKey` (e.g. A_EXTV). */
  approvalStatus?: string;
  /** v4 `approvalStatus`, v3/v2.0 `ApprovalStatusName`, v1.1 `ApvStatusName`. */
  approvalStatusName?: string;
  /** v4 `paymentStatusId`, v3/v2.0 `PaymentStatusCode`, v1.1 `PayKey`. */
  paymentStatus?: string;
  /** v4 `reportTotal`, v3 `Total`, v2.0/v1.1 `ReportTotal`. */
  total: Money;
  /** v4 `claimedAmount`, v3/v2.0/v1.1 `TotalClaimedAmount`. */
  claimed: Money;
  /** v4 `approvedAmount`, v3/v2.0/v1.1 `TotalApprovedAmount`. */
  approved: Money;
  /** v4 `amountDueEmployee`, v3/v2.0/v1.1 `AmountDueEmployee`. */
  amountDueEmployee: Money;
  /** v4 `hasExceptions`, v3 `HasException`, v2.0/v1.1 `HasException` (Y/N). */
  hasExceptions?: boolean;
  /** Custom and org-unit fields by id: v4 `customData[]` ({id, value}), v3/v1.1 `Custom1..`, `OrgUnit1..`. */
  custom: Record<string, string>;
}

export interface AllocationView {
  /** v4 `allocationId`, v3 `ID`, v1.1 `AllocationKey` (the id an Allocation exception needs). */
  id?: string;
  /** Id of the entry the allocation belongs to (EntryView.id). */
  entryId?: string;
  /** Position in the report's flat allocation list. */
  index: number;
  /** v4/v3 `percentage`/`Percentage`, v1.1 `Percentage` ("100.00000000%"). */
  percentage?: number;
  /** v4 `accountCode`, v3/v1.1 `AccountCode1`. */
  accountCode?: string;
  /** v3/v1.1 `AccountCode2`. */
  accountCode2?: string;
  /** v4 `allocationAmount`. */
  amount: Money;
  /** v4 `customData[]`, v3/v1.1 `Custom1..Custom20`. */
  custom: Record<string, string>;
}

export interface AttendeeView {
  /** v4 `attendeeId`, v3 `AttendeeID`, v1.1 `AttendeeKey`. */
  id?: string;
  entryId?: string;
  index: number;
  /** v1.1 `AttendeeType` (e.g. SYSEMP, BUSGUEST). */
  type?: string;
  firstName?: string;
  lastName?: string;
  company?: string;
  /** v4/v3 `associatedAttendeeCount` (unnamed guests), default 1. */
  count: number;
  /** v4 `transactionAmount`, v3 `Amount`: this attendee's share. */
  amount: Money;
}

export interface EntryView {
  /**
   * The id an Entry exception needs: v4 `expenseId`, v3 `ExpenseID` (else `ID`),
   * v1.1 `RpeKey`, v2.0 `ReportEntryID`.
   */
  id?: string;
  index: number;
  /** v4 `expenseType.id`, v3 `ExpenseTypeCode`, v2.0 `ExpenseTypeID`, v1.1 `ExpKey`. */
  expenseTypeCode?: string;
  /** v4 `expenseType.name`, v3/v2.0 `ExpenseTypeName`, v1.1 `ExpName`. */
  expenseTypeName?: string;
  /** v3 `SpendCategoryCode`, v2.0/v1.1 `SpendCategory`. */
  spendCategory?: string;
  /** YYYY-MM-DD: v4 `transactionDate`, v3/v2.0/v1.1 `TransactionDate`. */
  date?: string;
  /** 0 = Sunday … 6 = Saturday (from `date`, UTC calendar day). */
  weekday?: number;
  /** v4 `transactionAmount`, v3/v2.0/v1.1 `TransactionAmount` + `TransactionCurrencyCode`. */
  transactionAmount: Money;
  /** Report currency: v4 `postedAmount`, v3/v2.0/v1.1 `PostedAmount`. */
  postedAmount: Money;
  /** v4 `approvedAmount`, v3/v2.0/v1.1 `ApprovedAmount`. */
  approvedAmount: Money;
  /** v4 `claimedAmount` (non-personal part); the legacy APIs: posted amount unless personal. */
  claimedAmount: Money;
  /** v4 `vendor.name` (else `vendor.description`), v3 `VendorDescription` / `VendorListItemName`, v2.0/v1.1 `VendorDescription`. */
  vendor?: string;
  /** v4 `location.city` / `name`, v3/v2.0/v1.1 `LocationName`. */
  city?: string;
  /** v4 `location.countryCode`, v3/v2.0/v1.1 `LocationCountry`. */
  country?: string;
  /** v4 `location.countrySubDivisionCode`, v3/v1.1 `LocationSubdivision`. */
  countrySubdivision?: string;
  /** v4 `paymentType.id`, v3/v2.0 `PaymentTypeID`, v1.1 `PaymentTypeKey`. */
  paymentTypeCode?: string;
  /** v4 `paymentType.name`, v3/v2.0 `PaymentTypeName`. */
  paymentTypeName?: string;
  businessPurpose?: string;
  /** v4 `isPersonalExpense`, v3 `IsPersonal`, v2.0/v1.1 `IsPersonal` (Y/N). */
  isPersonal?: boolean;
  /** v4 `isImageRequired`, v3 `IsImageRequired`, v2.0/v1.1 `ImageRequired` (Y/N). */
  receiptRequired?: boolean;
  /**
   * v4 `receiptImageId` or `ereceiptImageId` set (or the simulator's `hasReceiptImage`), v3 `HasImage`,
   * v1.1 `ReceiptImageId` non-empty. Left out when the API does not say (v2.0).
   */
  hasReceiptImage?: boolean;
  /** v4 `hasMissingReceiptDeclaration` (affidavit). */
  hasMissingReceiptDeclaration?: boolean;
  /** v4 `attendeeCount`, v1.1 `AttendeeCount`, else the sum of the attendees' counts. */
  attendeeCount?: number;
  /** v4 `allocationState` (FULLY_ALLOCATED, NOT_ALLOCATED, …); legacy `HasAllocation`/`AllocationType` F/P/N mapped to the v4 names. */
  allocationState?: string;
  /** v4 `customData[]`, v3/v1.1 `Custom1..`, `OrgUnit1..`. */
  custom: Record<string, string>;
  allocations: AllocationView[];
  attendees: AttendeeView[];
}

export interface ReportView {
  source: ReportSource;
  header: ReportHeader;
  entries: EntryView[];
  /** Every entry's allocations, flattened (each carries entryId). */
  allocations: AllocationView[];
  /** Every entry's attendees, flattened (each carries entryId). */
  attendees: AttendeeView[];
}

/** Lists Concur serves apart from the report (v4 / v3): expenses, allocations, attendees. */
export interface ReportExtras {
  expenses?: unknown;
  allocations?: unknown;
  attendees?: unknown;
}

type Obj = Record<string, unknown>;

const isObj = isObject;

/** Text of a value from JSON or from the XML parser (which gives '' for empty and {"#text"} next to attributes). */
function text(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v.trim() === '' ? undefined : v.trim();
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (isObj(v)) {
    if ('#text' in v) return text(v['#text']);
    // i:nil="true" and nothing else
    return undefined;
  }
  return undefined;
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  const s = text(v);
  if (s === undefined) return undefined;
  const n = Number(s.replace(/%$/, '').replace(/,/g, ''));
  return Number.isFinite(n) ? n : undefined;
}

function bool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  const s = text(v);
  if (s === undefined) return undefined;
  const l = s.toLowerCase();
  if (l === 'y' || l === 'true' || l === 'yes' || l === '1') return true;
  if (l === 'n' || l === 'false' || l === 'no' || l === '0') return false;
  return undefined;
}

/** YYYY-MM-DD from "2026-11-02", "2026-11-02T00:00:00", "2026-11-06T16:03:10Z"; the legacy "never" date 0001-01-01 is left out. */
function day(v: unknown): string | undefined {
  const s = text(v);
  if (!s) return undefined;
  const m = /^(\d{4}-\d{2}-\d{2})/.exec(s);
  if (!m || m[1] === '0001-01-01') return undefined;
  return m[1];
}

function weekdayOf(d: string | undefined): number | undefined {
  if (!d) return undefined;
  const t = Date.parse(`${d}T00:00:00Z`);
  return Number.isFinite(t) ? new Date(t).getUTCDay() : undefined;
}

function money(v: unknown, currency: string | undefined): Money {
  if (isObj(v) && ('value' in v || 'currencyCode' in v)) {
    return { value: num(v.value), currency: text(v.currencyCode) ?? currency };
  }
  return { value: num(v), currency };
}

function asList(v: unknown): unknown[] {
  if (v === undefined || v === null || v === '') return [];
  if (Array.isArray(v)) return v;
  if (isObj(v) && Array.isArray(v.Items)) return v.Items; // v3 list answers
  if (isObj(v) && Array.isArray(v.items)) return v.items;
  return [v];
}

/** Children of an XML list element: `<AllocationsList><Allocations>…` → the Allocations items. */
function xmlList(parent: unknown, child: string): Obj[] {
  if (!isObj(parent)) return [];
  return asList(parent[child]).filter(isObj);
}

/** Custom1..CustomN, OrgUnit1..N (v3: {Value, Code}; XML: text) and v4 customData[]. */
function customFields(o: Obj): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) {
    if (/^(Custom|OrgUnit)\d+$/.test(k)) {
      const val = isObj(v) && ('Value' in v || 'Code' in v) ? (text(v.Code) ?? text(v.Value)) : text(v);
      if (val !== undefined) out[k.charAt(0).toLowerCase() + k.slice(1)] = val;
    }
  }
  if (Array.isArray(o.customData)) {
    for (const c of o.customData) {
      const id = isObj(c) ? text(c.id) : undefined;
      const val = isObj(c) ? text(c.value) : undefined;
      if (id && val !== undefined) out[id] = val;
    }
  }
  return out;
}

const ALLOCATION_STATES: Record<string, string> = { F: 'FULLY_ALLOCATED', P: 'PARTIALLY_ALLOCATED', N: 'NOT_ALLOCATED', Y: 'FULLY_ALLOCATED' };

function detectSource(r: Obj): ReportSource {
  if (r.source !== undefined && isObj(r.header) && Array.isArray(r.entries)) return 'view';
  if ('RptKey' in r || 'Entries' in r) return 'v1.1';
  if ('ReportID' in r || 'ExpenseEntriesList' in r) return 'v2.0';
  if ('ID' in r || 'OwnerLoginID' in r || 'WorkflowActionUrl' in r) return 'v3';
  return 'v4';
}

function header(r: Obj, source: ReportSource): ReportHeader {
  if (source === 'v4') {
    const cur = text(r.currencyCode) ?? (isObj(r.reportTotal) ? text(r.reportTotal.currencyCode) : undefined);
    return {
      reportId: text(r.reportId) ?? text(r.id),
      reportKey: undefined,
      name: text(r.name),
      purpose: text(r.businessPurpose),
      ownerId: text(r.userId),
      ownerLoginId: undefined,
      ownerName: undefined,
      policyId: text(r.policyId),
      currency: cur,
      reportDate: day(r.reportDate),
      startDate: day(r.startDate),
      endDate: day(r.endDate),
      submitDate: day(r.submitDate),
      approvalStatus: text(r.approvalStatusId),
      approvalStatusName: text(r.approvalStatus),
      paymentStatus: text(r.paymentStatusId),
      total: money(r.reportTotal, cur),
      claimed: money(r.claimedAmount, cur),
      approved: money(r.approvedAmount, cur),
      amountDueEmployee: money(r.amountDueEmployee, cur),
      hasExceptions: bool(r.hasExceptions),
      custom: customFields(r),
    };
  }
  if (source === 'v3') {
    const cur = text(r.CurrencyCode);
    return {
      reportId: text(r.ID),
      reportKey: undefined,
      name: text(r.Name),
      purpose: text(r.Purpose),
      ownerId: undefined,
      ownerLoginId: text(r.OwnerLoginID),
      ownerName: text(r.OwnerName),
      policyId: text(r.PolicyID),
      currency: cur,
      reportDate: day(r.UserDefinedDate),
      startDate: undefined,
      endDate: undefined,
      submitDate: day(r.SubmitDate),
      approvalStatus: text(r.ApprovalStatusCode),
      approvalStatusName: text(r.ApprovalStatusName),
      paymentStatus: text(r.PaymentStatusCode),
      total: money(r.Total, cur),
      claimed: money(r.TotalClaimedAmount, cur),
      approved: money(r.TotalApprovedAmount, cur),
      amountDueEmployee: money(r.AmountDueEmployee, cur),
      hasExceptions: bool(r.HasException),
      custom: customFields(r),
    };
  }
  // v2.0 and v1.1 XML ReportDetails
  const cur = text(r.CurrencyCode) ?? text(r.CrnCode);
  const legacy = source === 'v1.1';
  return {
    reportId: legacy ? (text(r.ReportId) ?? text(r.RptKey)) : text(r.ReportID),
    reportKey: legacy ? text(r.RptKey) : text(r.ReportKey),
    name: text(r.ReportName),
    purpose: text(r.Purpose),
    ownerId: undefined,
    ownerLoginId: legacy ? (text(r.X_UserID) ?? text(r.EmployeeLoginId)) : text(r.UserLoginID),
    ownerName: text(r.EmployeeName),
    policyId: text(r.PolKey) ?? text(r.PolicyID),
    currency: cur,
    reportDate: day(r.ReportDate),
    startDate: undefined,
    endDate: undefined,
    submitDate: day(r.SubmitDate),
    approvalStatus: text(r.ApprovalStatusCode) ?? text(r.ApsKey),
    approvalStatusName: text(r.ApprovalStatusName) ?? text(r.ApvStatusName),
    paymentStatus: text(r.PaymentStatusCode) ?? text(r.PayKey),
    total: money(r.ReportTotal, cur),
    claimed: money(r.TotalClaimedAmount, cur),
    approved: money(r.TotalApprovedAmount, cur),
    amountDueEmployee: money(r.AmountDueEmployee, cur),
    hasExceptions: bool(r.HasException),
    custom: customFields(r),
  };
}

function allocationOf(a: Obj, entryId: string | undefined, cur: string | undefined): Omit<AllocationView, 'index'> {
  return {
    id: text(a.allocationId) ?? text(a.AllocationKey) ?? text(a.allocKey) ?? text(a.ID),
    entryId: text(a.expenseId) ?? text(a.EntryID) ?? entryId,
    percentage: num(a.percentage ?? a.Percentage),
    accountCode: text(a.accountCode) ?? text(a.AccountCode1),
    accountCode2: text(a.AccountCode2),
    amount: money(a.allocationAmount, cur),
    custom: customFields(a),
  };
}

function attendeeOf(a: Obj, entryId: string | undefined, cur: string | undefined): Omit<AttendeeView, 'index'> {
  return {
    id: text(a.attendeeId) ?? text(a.AttendeeID) ?? text(a.AttendeeKey),
    entryId: text(a.expenseId) ?? text(a.EntryID) ?? entryId,
    type: text(a.AttendeeType) ?? text(a.attendeeType),
    firstName: text(a.FirstName) ?? text(a.firstName),
    lastName: text(a.LastName) ?? text(a.lastName),
    company: text(a.Company) ?? text(a.company),
    count: num(a.associatedAttendeeCount ?? a.AssociatedAttendeeCount) ?? 1,
    amount: money(a.transactionAmount ?? a.Amount, cur),
  };
}

function receiptImage(e: Obj): boolean | undefined {
  if (typeof e.hasReceiptImage === 'boolean') return e.hasReceiptImage;
  if ('HasImage' in e) return bool(e.HasImage);
  if ('receiptImageId' in e || 'ereceiptImageId' in e) return Boolean(text(e.receiptImageId) ?? text(e.ereceiptImageId));
  if ('ReceiptImageId' in e) return Boolean(text(e.ReceiptImageId));
  return undefined;
}

function entryOf(
  e: Obj,
  source: ReportSource,
  cur: string | undefined,
): Omit<EntryView, 'index' | 'allocations' | 'attendees'> & { rawAllocations: Obj[]; rawAttendees: Obj[] } {
  if (source === 'v4' || 'expenseId' in e) {
    const t = isObj(e.expenseType) ? e.expenseType : {};
    const v = isObj(e.vendor) ? e.vendor : {};
    const loc = isObj(e.location) ? e.location : {};
    const pay = isObj(e.paymentType) ? e.paymentType : {};
    const date = day(e.transactionDate);
    const posted = money(e.postedAmount, cur);
    return {
      id: text(e.expenseId),
      expenseTypeCode: text(t.id) ?? text(t.code),
      expenseTypeName: text(t.name),
      spendCategory: text(t.code) ?? undefined,
      date,
      weekday: weekdayOf(date),
      transactionAmount: money(e.transactionAmount, undefined),
      postedAmount: posted,
      approvedAmount: money(e.approvedAmount, cur),
      claimedAmount: 'claimedAmount' in e ? money(e.claimedAmount, cur) : posted,
      vendor: text(v.name) ?? text(v.description) ?? (typeof e.vendor === 'string' ? text(e.vendor) : undefined),
      city: text(loc.city) ?? text(loc.name),
      country: text(loc.countryCode),
      countrySubdivision: text(loc.countrySubDivisionCode),
      paymentTypeCode: text(pay.id) ?? text(pay.code),
      paymentTypeName: text(pay.name),
      businessPurpose: text(e.businessPurpose),
      isPersonal: bool(e.isPersonalExpense),
      receiptRequired: bool(e.isImageRequired),
      hasReceiptImage: receiptImage(e),
      hasMissingReceiptDeclaration: bool(e.hasMissingReceiptDeclaration),
      attendeeCount: num(e.attendeeCount),
      allocationState: text(e.allocationState),
      custom: customFields(e),
      rawAllocations: asList(e.allocations).filter(isObj),
      rawAttendees: asList(isObj(e.attendees) && 'expenseAttendeeList' in e.attendees ? e.attendees.expenseAttendeeList : e.attendees).filter(isObj),
    };
  }
  // v3 Entries and v2.0 / v1.1 ExpenseEntry
  const date = day(e.TransactionDate);
  const posted = money(e.PostedAmount, cur);
  const personal = bool(e.IsPersonal);
  const allocFlag = text(e.AllocationType) ?? text(e.HasAllocation);
  return {
    id: source === 'v1.1' ? text(e.RpeKey) : (text(e.ExpenseID) ?? text(e.ID) ?? text(e.ReportEntryID) ?? text(e.RpeKey)),
    expenseTypeCode: text(e.ExpenseTypeCode) ?? text(e.ExpenseTypeID) ?? text(e.ExpKey),
    expenseTypeName: text(e.ExpenseTypeName) ?? text(e.ExpName),
    spendCategory: text(e.SpendCategoryCode) ?? text(e.SpendCategory),
    date,
    weekday: weekdayOf(date),
    transactionAmount: money(e.TransactionAmount, text(e.TransactionCurrencyCode)),
    postedAmount: posted,
    approvedAmount: money(e.ApprovedAmount, cur),
    claimedAmount: personal ? { value: 0, currency: cur } : posted,
    vendor: text(e.VendorDescription) ?? text(e.VendorListItemName),
    city: text(e.LocationName),
    country: text(e.LocationCountry),
    countrySubdivision: text(e.LocationSubdivision),
    paymentTypeCode: text(e.PaymentTypeID) ?? text(e.PaymentTypeKey),
    paymentTypeName: text(e.PaymentTypeName),
    businessPurpose: text(e.BusinessPurpose) ?? text(e.Description),
    isPersonal: personal,
    receiptRequired: bool(e.IsImageRequired ?? e.ImageRequired),
    hasReceiptImage: receiptImage(e),
    hasMissingReceiptDeclaration: undefined,
    attendeeCount: num(e.AttendeeCount),
    allocationState: allocFlag ? (ALLOCATION_STATES[allocFlag.toUpperCase()] ?? allocFlag) : undefined,
    custom: customFields(e),
    rawAllocations: [...xmlList(e.AllocationsList, 'Allocations'), ...xmlList(e.AllocationsList, 'Allocation')],
    rawAttendees: [...asList(e.AttendeeDetails).filter(isObj), ...xmlList(e.AttendeesList, 'Attendee')],
  };
}

function rawEntries(r: Obj, source: ReportSource, extras: ReportExtras): unknown[] {
  if (extras.expenses !== undefined && extras.expenses !== null) return asList(extras.expenses);
  if (source === 'v1.1') return xmlList(r.Entries, 'ExpenseEntry');
  if (source === 'v2.0') return xmlList(r.ExpenseEntriesList, 'ExpenseEntry');
  return asList(r.expenses ?? r.Entries ?? r.entries);
}

export class ReportViewError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReportViewError';
  }
}

/**
 * Normalises a report (any supported API version) into a ReportView.
 * Separate lists (v4 allocations / attendees, v3 allocations / attendees) are
 * matched to entries by their expenseId / EntryID.
 */
export function toReportView(report: unknown, extras: ReportExtras = {}): ReportView {
  if (!isObj(report)) throw new ReportViewError('the report must be an object (the msg.payload of concur-get-report-details)');
  const source = detectSource(report);
  if (source === 'view') return report as unknown as ReportView;
  const h = header(report, source);
  if (source === 'v4' && !h.reportId && !('expenses' in report)) {
    throw new ReportViewError('not an expense report: no reportId (v4), ID (v3), ReportID (v2.0) or RptKey (v1.1)');
  }
  const cur = h.currency;
  const extraAllocs = asList(extras.allocations).filter(isObj);
  const extraAtts = asList(
    isObj(extras.attendees) && 'expenseAttendeeList' in extras.attendees ? extras.attendees.expenseAttendeeList : extras.attendees,
  ).filter(isObj);
  const entries: EntryView[] = [];
  const allocations: AllocationView[] = [];
  const attendees: AttendeeView[] = [];
  const raw = rawEntries(report, source, extras).filter(isObj);
  raw.forEach((re, i) => {
    const { rawAllocations, rawAttendees, ...base } = entryOf(re, source, cur);
    // v3 entries are matched by their v3 ID, v4 ones by expenseId.
    const keys = new Set([base.id, text(re.ID), text(re.expenseId)].filter((k): k is string => Boolean(k)));
    const ownAllocs = [...rawAllocations, ...extraAllocs.filter((a) => keys.has(text(a.expenseId) ?? text(a.EntryID) ?? ''))];
    const ownAtts = [...rawAttendees, ...extraAtts.filter((a) => keys.has(text(a.expenseId) ?? text(a.EntryID) ?? ''))];
    const entry: EntryView = { ...base, index: i, allocations: [], attendees: [] };
    for (const a of ownAllocs) {
      const view: AllocationView = { ...allocationOf(a, base.id, cur), entryId: base.id, index: allocations.length };
      entry.allocations.push(view);
      allocations.push(view);
    }
    for (const a of ownAtts) {
      const view: AttendeeView = { ...attendeeOf(a, base.id, cur), entryId: base.id, index: attendees.length };
      entry.attendees.push(view);
      attendees.push(view);
    }
    if (entry.attendeeCount === undefined && entry.attendees.length) entry.attendeeCount = entry.attendees.reduce((s, a) => s + a.count, 0);
    if (entry.allocationState === undefined && source === 'v4') entry.allocationState = entry.allocations.length ? 'FULLY_ALLOCATED' : undefined;
    entries.push(entry);
  });
  const view: ReportView = { source, header: h, entries, allocations, attendees };
  return prune(view);
}

/** Drops undefined members in place (the view is built here, so nothing shared is touched). */
function prune<T>(v: T): T {
  if (Array.isArray(v)) {
    for (const x of v) prune(x);
  } else if (isObj(v)) {
    for (const k of Object.keys(v)) {
      if (v[k] === undefined) delete v[k];
      else if (typeof v[k] === 'object') prune(v[k]);
    }
  }
  return v;
}
