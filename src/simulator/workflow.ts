/**
 * Workflow transitions shared by the v4 PATCH endpoints, the v1.1
 * WorkflowAction endpoint and the admin API. Every transition checks that the
 * report is where the caller expects it (Concur's "never act unless the report
 * sits at the expected step"), records the comment and publishes statusChanged.
 */
import type { Report } from './model';
import { APPROVAL_STATUS_NAMES } from './model';
import type { SimState } from './state';

export const MAX_COMMENT = 2000;

export class WorkflowError extends Error {
  constructor(
    /** validation → 400, conflict → 409 (v4) / FAILURE (v1.1). */
    readonly kind: 'validation' | 'conflict',
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export interface ExpectedStep {
  expectedStepCode?: unknown;
  expectedStepSequence?: unknown;
  expectedWorkflowStepInstanceId?: unknown;
}

export interface Actor {
  /** Acting user (null for company/system actions). */
  userId: string | null;
  label: string;
}

function checkComment(value: unknown, field: string, required: boolean): string {
  if (value === undefined || value === null) {
    if (required) throw new WorkflowError('validation', `${field} is required`, field);
    return '';
  }
  if (typeof value !== 'string') throw new WorkflowError('validation', `${field} must be a string`, field);
  if (required && !value.trim()) throw new WorkflowError('validation', `${field} is required and must not be blank`, field);
  if (value.length > MAX_COMMENT) throw new WorkflowError('validation', `${field} must be at most ${MAX_COMMENT} characters (got ${value.length})`, field);
  return value;
}

/** Honours every documented variant of the "expected step" guard (which one Concur enforces is UNCONFIRMED). */
export function checkExpectedStep(report: Report, exp: ExpectedStep): void {
  const step = report.currentStep;
  if (exp.expectedStepCode !== undefined && exp.expectedStepCode !== null) {
    if (typeof exp.expectedStepCode !== 'string') throw new WorkflowError('validation', 'expectedStepCode must be a string', 'expectedStepCode');
    if (!step || step.stepCode.toUpperCase() !== exp.expectedStepCode.toUpperCase()) {
      throw new WorkflowError(
        'conflict',
        `report ${report.reportId} is not at step ${exp.expectedStepCode} (current step: ${step ? step.stepCode : 'none'})`,
        'expectedStepCode',
      );
    }
  }
  if (exp.expectedStepSequence !== undefined && exp.expectedStepSequence !== null) {
    const n = typeof exp.expectedStepSequence === 'string' ? Number(exp.expectedStepSequence) : exp.expectedStepSequence;
    if (typeof n !== 'number' || !Number.isInteger(n)) throw new WorkflowError('validation', 'expectedStepSequence must be an integer', 'expectedStepSequence');
    if (!step || step.sequence !== n) {
      throw new WorkflowError(
        'conflict',
        `report ${report.reportId} is not at step sequence ${n} (current: ${step ? step.sequence : 'none'})`,
        'expectedStepSequence',
      );
    }
  }
  if (exp.expectedWorkflowStepInstanceId !== undefined && exp.expectedWorkflowStepInstanceId !== null) {
    if (typeof exp.expectedWorkflowStepInstanceId !== 'string')
      throw new WorkflowError('validation', 'expectedWorkflowStepInstanceId must be a string', 'expectedWorkflowStepInstanceId');
    if (!step || step.stepInstanceId.toLowerCase() !== exp.expectedWorkflowStepInstanceId.toLowerCase()) {
      throw new WorkflowError(
        'conflict',
        `report ${report.reportId} is not at workflow step instance ${exp.expectedWorkflowStepInstanceId}`,
        'expectedWorkflowStepInstanceId',
      );
    }
  }
}

function requireInWorkflow(report: Report, action: string): void {
  if (!report.currentStep) {
    const name = APPROVAL_STATUS_NAMES[report.approvalStatus] ?? report.approvalStatus;
    throw new WorkflowError('conflict', `cannot ${action} report ${report.reportId}: it is not in an approval step (status ${report.approvalStatus} ${name})`);
  }
}

function record(report: Report, action: string, comment: string, actor: Actor): void {
  report.comments.push({ at: new Date().toISOString(), action, comment, by: actor.label });
  if (report.comments.length > 100) report.comments.shift();
}

export interface ApproveInput extends ExpectedStep {
  comment?: unknown;
  expenseRejectedComment?: unknown;
  statusId?: unknown;
}

/** Approves the current step: the report moves to the next step, or to statusId (default A_APPR) after the last. */
export function approve(state: SimState, report: Report, input: ApproveInput, actor: Actor): void {
  const comment = checkComment(input.comment, 'comment', false);
  checkComment(input.expenseRejectedComment, 'expenseRejectedComment', false);
  let statusId = 'A_APPR';
  if (input.statusId !== undefined && input.statusId !== null) {
    if (typeof input.statusId !== 'string' || input.statusId.length > 6 || !input.statusId) {
      throw new WorkflowError('validation', 'statusId must be a status code of at most 6 characters', 'statusId');
    }
    if (!APPROVAL_STATUS_NAMES[input.statusId]) throw new WorkflowError('validation', `statusId ${input.statusId} is not a known approval status`, 'statusId');
    statusId = input.statusId;
  }
  requireInWorkflow(report, 'approve');
  checkExpectedStep(report, input);
  const prevA = report.approvalStatus;
  const prevP = report.paymentStatus;
  const next = state.enterStep(report, (report.currentStep?.sequence ?? 0) + 1);
  if (!next) report.approvalStatus = statusId;
  report.isSentBack = false;
  record(report, 'Approve', comment, actor);
  state.touch(report);
  state.publishStatusChange({
    report,
    previousApprovalStatus: prevA,
    previousPaymentStatus: prevP,
    stepCode: next ? next.stepCode : null,
    userId: actor.userId,
    actingUserId: actor.userId,
  });
}

export function sendBack(state: SimState, report: Report, input: ExpectedStep & { comment?: unknown }, actor: Actor): void {
  const comment = checkComment(input.comment, 'comment', true);
  requireInWorkflow(report, 'send back');
  checkExpectedStep(report, input);
  const prevA = report.approvalStatus;
  state.enterStep(report, 0);
  report.approvalStatus = 'A_RESU';
  report.isSentBack = true;
  report.everSentBack = true;
  record(report, 'Send Back to Employee', comment, actor);
  state.touch(report);
  state.publishStatusChange({
    report,
    previousApprovalStatus: prevA,
    previousPaymentStatus: report.paymentStatus,
    stepCode: 'SENDBACK',
    userId: actor.userId,
    actingUserId: actor.userId,
  });
}

export function recall(state: SimState, report: Report, input: { comment?: unknown }, actor: Actor): void {
  const comment = checkComment(input.comment, 'comment', false);
  requireInWorkflow(report, 'recall');
  const prevA = report.approvalStatus;
  state.enterStep(report, 0);
  report.approvalStatus = 'A_RESU';
  record(report, 'Recall to Employee', comment, actor);
  state.touch(report);
  state.publishStatusChange({
    report,
    previousApprovalStatus: prevA,
    previousPaymentStatus: report.paymentStatus,
    stepCode: 'RECALL',
    userId: report.ownerUserId,
    actingUserId: actor.userId,
  });
}

/**
 * Admin/demo action: submits a not-submitted or sent-back report, or moves a
 * report straight to the named step (e.g. EXTVAL), publishing statusChanged.
 */
export function moveToStep(state: SimState, report: Report, stepCode: string | undefined, actor: Actor): void {
  const prevA = report.approvalStatus;
  let seq = 1;
  if (stepCode) {
    seq = report.workflow.findIndex((s) => s.stepCode.toUpperCase() === stepCode.toUpperCase()) + 1;
    if (seq < 1)
      throw new WorkflowError(
        'validation',
        `report ${report.reportId} has no step ${stepCode} (steps: ${report.workflow.map((s) => s.stepCode).join(', ')})`,
        'stepCode',
      );
  } else if (report.currentStep) {
    throw new WorkflowError('conflict', `report ${report.reportId} is already submitted (step ${report.currentStep.stepCode})`);
  }
  const wasSubmitted = !!report.submitDate && prevA !== 'A_NOTF' && prevA !== 'A_RESU';
  const step = state.enterStep(report, seq);
  if (!wasSubmitted) report.submitDate = new Date().toISOString();
  report.isSentBack = false;
  record(report, stepCode ? `Move to ${stepCode}` : 'Submit', '', actor);
  state.touch(report);
  // ESS reports stepCode null for a plain submit into the first (manager) step.
  const esStep = !stepCode && step && step.stepCode === 'MANAGER' ? null : (step?.stepCode ?? null);
  state.publishStatusChange({
    report,
    previousApprovalStatus: prevA,
    previousPaymentStatus: report.paymentStatus,
    stepCode: esStep,
    userId: stepCode ? null : report.ownerUserId,
    actingUserId: null,
  });
}
