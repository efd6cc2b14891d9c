/**
 * Builds ESS event envelopes for topic public.concur.expense.report, with the
 * facts Concur documents (docs/concur-api.md#ess-envelope, #ess-expense-topic).
 */
import { randomUUID } from 'node:crypto';
import type { Report } from './model';
import type { SimState, StatusChange } from './state';

export const EXPENSE_TOPIC = 'public.concur.expense.report';
export const EXPENSE_EVENT_TYPES = ['statusChanged', 'reportCreated', 'reportUpdated', 'reportDeleted'] as const;
export type ExpenseEventType = (typeof EXPENSE_EVENT_TYPES)[number];

export interface EssEnvelope {
  id: string;
  correlationId: string;
  eventType: string;
  topic: string;
  subtopic: string;
  timeStamp: string;
  route: string;
  data: null;
  facts: Record<string, unknown>;
}

export interface ExpenseEventInput {
  eventType: ExpenseEventType;
  report: Report;
  companyId: string;
  /** Base URL for facts.href (the simulator API, so a receiver can fetch the report). */
  apiBase: string;
  previousApprovalStatus?: string;
  previousPaymentStatus?: string;
  stepCode?: string | null;
  userId?: string | null;
  actingUserId?: string | null;
  /** Overrides for the envelope fields (tests and the CLI use them). */
  id?: string;
  correlationId?: string;
}

export function reportHref(apiBase: string, r: Report): string {
  // href always carries the owner and the TRAVELER context (documented).
  return `${apiBase}/expensereports/v4/users/${r.ownerUserId}/context/TRAVELER/reports/${r.reportId}`;
}

export function expenseReportEvent(input: ExpenseEventInput): EssEnvelope {
  const r = input.report;
  const facts: Record<string, unknown> = {
    companyId: input.companyId,
    reportId: r.reportId,
    reportType: r.reportType,
    userId: input.userId === undefined ? r.ownerUserId : input.userId,
    actingUserId: input.actingUserId ?? null,
    lastModifiedDate: r.lastModifiedDate,
  };
  if (input.eventType === 'statusChanged') {
    const step = r.currentStep;
    Object.assign(facts, {
      previousApprovalStatus: input.previousApprovalStatus ?? 'A_NOTF',
      currentApprovalStatus: r.approvalStatus,
      previousPaymentStatus: input.previousPaymentStatus ?? r.paymentStatus,
      currentPaymentStatus: r.paymentStatus,
      stepCode: input.stepCode === undefined ? (step?.stepCode ?? null) : input.stepCode,
      processId: r.processId,
      startingStep: step ? { roleCode: step.roleCode, stepInstances: [{ id: step.stepInstanceId, assignedUserId: step.assignedUserId }] } : null,
    });
  }
  if (input.eventType !== 'reportDeleted') facts.href = reportHref(input.apiBase, r);
  return {
    id: input.id ?? randomUUID(),
    correlationId: input.correlationId ?? randomUUID(),
    eventType: input.eventType,
    topic: EXPENSE_TOPIC,
    subtopic: input.companyId,
    timeStamp: new Date().toISOString(),
    route: 'stable',
    data: null,
    facts,
  };
}

export function envelopeForChange(change: StatusChange, companyId: string, apiBase: string): EssEnvelope {
  return expenseReportEvent({
    eventType: 'statusChanged',
    report: change.report,
    companyId,
    apiBase,
    previousApprovalStatus: change.previousApprovalStatus,
    previousPaymentStatus: change.previousPaymentStatus,
    stepCode: change.stepCode,
    userId: change.userId,
    actingUserId: change.actingUserId,
  });
}

/**
 * An event for a seeded report as it stands (used by `concur-sim send ess`):
 * a report at a step is described as having just entered it.
 */
export function eventForReportAsIs(state: SimState, report: Report, eventType: ExpenseEventType, apiBase: string): EssEnvelope {
  const step = report.currentStep;
  let previous = 'A_NOTF';
  let stepCode: string | null = step?.stepCode ?? null;
  if (step && step.sequence > 1) previous = report.workflow[step.sequence - 2].approvalStatus;
  else if (step && step.stepCode === 'MANAGER') stepCode = null; // plain submit
  if (!step && report.approvalStatus === 'A_APPR') previous = report.workflow[report.workflow.length - 1]?.approvalStatus ?? 'A_PEND';
  return expenseReportEvent({
    eventType,
    report,
    companyId: state.companyId,
    apiBase,
    previousApprovalStatus: previous,
    stepCode,
    userId: step && step.stepCode !== 'MANAGER' ? null : report.ownerUserId,
  });
}

export const REQUEST_TOPIC = 'public.concur.request';

/**
 * An ESS event of topic public.concur.request for a Travel Request in its current state, with the
 * documented facts (booleans as strings, as in the samples):
 * https://developer.concur.com/event-topics/request/v4.request-events.html
 */
export function travelRequestEvent(
  t: import('./model').TravelRequest,
  companyId: string,
  apiBase: string,
  over: { id?: string; correlationId?: string } = {},
): EssEnvelope & { groups: null; scopes: string } {
  const pendingExternal = t.status === 'SUBMITTED' && t.stepCode === 'EXTERNAL_VALIDATION';
  const pending = t.status === 'SUBMITTED';
  const role = pendingExternal ? 'ExternalValidation' : 'RequestManager';
  const eventType = pending ? `statusChange.PENDING.${role}` : `statusChange.${t.status}`;
  const facts: Record<string, unknown> = {
    companyId,
    isClosed: 'false',
    isTest: 'false',
    isRecall: 'false',
    requestId: t.requestId,
    id: t.id,
    href: `${apiBase}/travelrequest/v4/requests/${t.id}`,
    userId: t.ownerUserId,
    entityId: 'psimulator01',
    policyId: 'F4C8BD31CA9D4D6292795BE687EB9B2A',
    status: pending ? (pendingExternal ? 'PendingExternalValidation' : 'PendingRequestManagerApproval') : t.status,
    role: pending ? role : null,
    currentApprovalStatus: pending ? (pendingExternal ? 'Q_EXTV' : 'Q_PEND') : null,
    stepCode: pendingExternal ? 'EXTVAL' : pending ? 'PENDMGRA' : t.status === 'SENTBACK' ? 'SENDBACK' : null,
    isPaymentCardRelated: 'false',
  };
  if (pending && t.approverUserId) facts.recipientId = t.approverUserId;
  return {
    id: over.id ?? randomUUID(),
    correlationId: over.correlationId ?? randomUUID(),
    eventType,
    topic: REQUEST_TOPIC,
    subtopic: companyId,
    timeStamp: new Date().toISOString(),
    route: '',
    data: null,
    groups: null,
    scopes: 'travelrequest.write',
    facts,
  };
}
