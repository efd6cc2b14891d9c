/** Data model of the simulated Concur tenant (one company). */

export interface SimUser {
  userId: string;
  loginId: string;
  firstName: string;
  lastName: string;
  /** Password for the password grant with credtype=password. */
  password: string;
  /** Employee number (Identity v4 employeeNumber, Expense v4 employee.employeeId). */
  employeeId?: string;
  email?: string;
  /** Manager (Identity v4 enterprise extension manager.value). */
  managerUserId?: string;
  /** Approvers this user may approve for as a delegate (reportsToApprove?includeDelegateApprovals=true). */
  delegateFor?: string[];
}

export interface Allocation {
  allocationId: string;
  /** Legacy encrypted allocation key (v1.1 ObjectId for Allocation exceptions). */
  allocationKey: string;
  percentage: number;
  accountCode: string;
}

export interface Expense {
  /** v4 expense id. */
  expenseId: string;
  /** Legacy encrypted entry key (v1.1). */
  rpeKey: string;
  /** v2.0/v3 ReportEntryID. */
  entryId: string;
  expenseTypeCode: string;
  expenseTypeName: string;
  spendCategory: string;
  transactionDate: string; // YYYY-MM-DD
  transactionAmount: number;
  transactionCurrency: string;
  postedAmount: number;
  approvedAmount: number;
  vendor: string;
  city: string;
  countrySubdivision: string;
  country: string;
  businessPurpose: string;
  paymentTypeCode: string;
  paymentTypeName: string;
  receiptRequired: boolean;
  hasReceiptImage: boolean;
  isPersonal: boolean;
  attendeeCount: number;
  allocations: Allocation[];
}

export type ExceptionLevel = 'REPORT' | 'EXPENSE' | 'ALLOCATION';

export interface ReportException {
  exceptionCode: string;
  exceptionVisibility: 'ALL' | 'APPROVER_PROCESSOR' | 'PROCESSOR';
  level: ExceptionLevel;
  expenseId: string | null;
  allocationId: string | null;
  message: string;
  isBlocking: boolean;
  /** Which API created it (for the admin view). */
  source: 'seed' | 'v4' | 'v1.1';
}

/** One workflow step definition; the report moves through them in order. */
export interface StepDef {
  stepCode: string;
  roleCode: string;
  /** Approval status while the report sits at this step. */
  approvalStatus: string;
  assignedUserId: string | null;
}

export interface CurrentStep extends StepDef {
  /** 1-based position in the workflow. */
  sequence: number;
  stepInstanceId: string;
  /** Legacy v1.1 WorkflowActionURL key for this step instance (changes on every transition). */
  workflowActionKey: string;
}

export interface ReportComment {
  at: string;
  action: string;
  comment: string;
  by: string;
  /** Set for expense-level comments (Comments v4). */
  expenseId?: string | null;
  /** The author's user UUID, when a user wrote it. */
  authorUserId?: string | null;
  /** On whose behalf (a delegate writing for someone); defaults to the author. */
  forUserId?: string | null;
}

export interface Report {
  reportId: string;
  /** Legacy encrypted report key (v1.1 RptKey). */
  reportKey: string;
  name: string;
  businessPurpose: string;
  ownerUserId: string;
  policyId: string;
  reportType: 'Regular' | 'Reconciliation' | 'Statement' | 'AutoCreated';
  currencyCode: string;
  approvalStatus: string;
  paymentStatus: string;
  reportDate: string;
  creationDate: string;
  submitDate: string | null;
  paidDate: string | null;
  lastModifiedDate: string;
  isSentBack: boolean;
  everSentBack: boolean;
  processId: string;
  workflow: StepDef[];
  currentStep: CurrentStep | null;
  /** The last workflow-action key handed out (printed in WorkflowActionURL when the report is at no step). */
  lastWorkflowActionKey: string;
  /** Keys of earlier step instances, so a stale key can be told apart from an unknown one (bounded). */
  retiredWorkflowActionKeys: string[];
  expenses: Expense[];
  exceptions: ReportException[];
  comments: ReportComment[];
}

/** A Travel Request v4 (Concur Request). */
export interface TravelRequest {
  id: string;
  /** The short, user-facing key (Request v4 `requestId`). */
  requestId: string;
  name: string;
  businessPurpose: string;
  ownerUserId: string;
  /** NOT_SUBMITTED, SUBMITTED, APPROVED, SENTBACK, CANCELED (Request v4 approvalStatus.code). */
  status: string;
  /** The approver of the current step; null at an external validation step or when not pending. */
  approverUserId: string | null;
  /** Current step (e.g. MANAGER, EXTERNAL_VALIDATION); null when not pending. */
  stepCode: string | null;
  startDate: string;
  endDate: string;
  city: string;
  countryCode: string;
  total: number;
  currency: string;
  everSentBack: boolean;
  comments: Array<{ at: string; comment: string; by: string | null }>;
  lastModified: string;
  creationDate: string;
}

export interface FailedNotification {
  id: string;
  eventType: string;
  objectType: string;
  /** Report key the ObjectURI points at. */
  reportKey: string;
  eventDateTime: string;
  context: string | null;
  /** Base of NotificationURI / ObjectURI (default the simulator URL; e.g. https://www.concursolutions.com as Concur prints them). */
  uriBase?: string;
  /** Fields left out of the listed entry, to play a malformed answer (clients must skip it, not crash). */
  omitFields?: NotificationField[];
}

export const NOTIFICATION_FIELDS = ['Context', 'EventDateTime', 'EventType', 'NotificationURI', 'ObjectType', 'ObjectURI'] as const;
export type NotificationField = (typeof NOTIFICATION_FIELDS)[number];

export interface Subscription {
  id: string;
  filter: string;
  topic: string;
  webHookConfig: { endpoint: string };
  applicationId: string;
  companyIds: string[];
  groups: string[];
  scope: string;
}

export const APPROVAL_STATUS_NAMES: Record<string, string> = {
  A_NOTF: 'Not Submitted',
  A_RESU: 'Sent Back to Employee',
  A_PEND: 'Submitted & Pending Approval',
  A_APPR: 'Approved',
  A_EXTV: 'Pending External Validation',
  A_PBDG: 'Pending Budget Approval',
  A_PECO: 'Pending Cost Object Approval',
  A_ACCO: 'Approved by Cost Object Approver',
};

export const PAYMENT_STATUS_NAMES: Record<string, string> = {
  P_NOTP: 'Not Paid',
  P_PROC: 'Payment Confirmed',
  P_PAID: 'Paid',
  P_PAYC: 'Payment Confirmed',
};

export function reportTotal(r: Report): number {
  return round2(r.expenses.reduce((s, e) => s + e.postedAmount, 0));
}

export function approvedTotal(r: Report): number {
  return round2(r.expenses.filter((e) => !e.isPersonal).reduce((s, e) => s + e.approvedAmount, 0));
}

export function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
