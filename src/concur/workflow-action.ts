/**
 * Approve / send back / recall an expense report (v1.1: docs/concur-api.md#legacy-workflow-action, v4: #v4-workflow-exceptions).
 * Comments are checked (required for send back, ≤ 2000 characters) before anything is sent.
 */
import { ConcurError, invalidInput } from './concur-error';
import type { ConcurApi } from './api-types';
import { pathSegment, idValue } from './path-segment';
import { buildWorkflowActionXml } from './legacy-xml';

export type WorkflowActionName = 'approve' | 'sendBack' | 'recall';
export const WORKFLOW_ACTIONS: readonly WorkflowActionName[] = ['approve', 'sendBack', 'recall'];
export const MAX_COMMENT_LENGTH = 2000;
export const MAX_STATUS_ID_LENGTH = 6;

/** v4 endpoint family: the company-JWT "system" URL, or the user-token URL with a context. */
export type WorkflowEndpoint = 'company' | 'user';

/** v1.1 `<Action>` texts. */
export const LEGACY_ACTION_TEXT: Record<WorkflowActionName, string> = {
  approve: 'Approve',
  sendBack: 'Send Back to Employee',
  recall: 'Recall to Employee',
};

export interface WorkflowActionInput {
  action?: unknown;
  comment?: unknown;
  expenseRejectedComment?: unknown;
  statusId?: unknown;
  /** UNCONFIRMED which the live service accepts: the markdown documents these two… */
  expectedStepCode?: unknown;
  expectedStepSequence?: unknown;
  /** …the swagger this one. We send whichever are given. */
  expectedWorkflowStepInstanceId?: unknown;
}

export interface ValidWorkflowAction {
  action: WorkflowActionName;
  comment?: string;
  expenseRejectedComment?: string;
  statusId?: string;
  expectedStepCode?: string;
  expectedStepSequence?: number;
  expectedWorkflowStepInstanceId?: string;
}

function optText(v: unknown, what: string, max: number): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw invalidInput(`${what} must be a string`);
  if (v.length > max) throw invalidInput(`${what} is ${v.length} characters; Concur allows at most ${max}`);
  return v.trim() ? v : undefined;
}

export function normalizeActionName(v: unknown): WorkflowActionName | undefined {
  if (typeof v !== 'string') return undefined;
  const k = v.replace(/[\s_-]/g, '').toLowerCase();
  return k === 'approve' ? 'approve' : k === 'sendback' ? 'sendBack' : k === 'recall' ? 'recall' : undefined;
}

export function validateWorkflowAction(input: WorkflowActionInput): ValidWorkflowAction {
  const action = normalizeActionName(input.action);
  if (!action) throw invalidInput(`action must be approve, sendBack or recall (got ${JSON.stringify(input.action)?.slice(0, 40)})`);
  const comment = optText(input.comment, 'comment', MAX_COMMENT_LENGTH);
  if (action === 'sendBack' && !comment) throw invalidInput('a comment is required to send a report back');
  const out: ValidWorkflowAction = { action };
  if (comment) out.comment = comment;
  const erc = optText(input.expenseRejectedComment, 'expenseRejectedComment', MAX_COMMENT_LENGTH);
  if (erc) out.expenseRejectedComment = erc;
  const statusId = optText(input.statusId, 'statusId', MAX_STATUS_ID_LENGTH);
  if (statusId) out.statusId = statusId;
  const code = optText(input.expectedStepCode, 'expectedStepCode', 64);
  if (code) out.expectedStepCode = code;
  if (input.expectedStepSequence !== undefined && input.expectedStepSequence !== null && input.expectedStepSequence !== '') {
    const n = Number(input.expectedStepSequence);
    if (!Number.isInteger(n) || n < 0) throw invalidInput('expectedStepSequence must be a non-negative integer');
    out.expectedStepSequence = n;
  }
  const inst = optText(input.expectedWorkflowStepInstanceId, 'expectedWorkflowStepInstanceId', 128);
  if (inst) out.expectedWorkflowStepInstanceId = inst;
  return out;
}

export interface V4Target {
  reportId: unknown;
  endpoint: WorkflowEndpoint;
  /** Needed for the user endpoint (and therefore for recall). */
  userId?: unknown;
  /** recall: TRAVELER (default) or PROXY. */
  recallContext?: 'TRAVELER' | 'PROXY';
}

export function v4WorkflowPath(a: ValidWorkflowAction, t: V4Target): string {
  const reportId = idValue(t.reportId);
  if (!reportId) throw invalidInput('msg.reportId is required for a v4 workflow action');
  const rid = pathSegment(reportId, 'msg.reportId');
  const endpoint = a.action === 'recall' ? 'user' : t.endpoint;
  if (endpoint === 'company') return `/expensereports/v4/reports/${rid}/${a.action}`;
  const userId = idValue(t.userId);
  if (!userId) throw invalidInput(`msg.userId is required for ${a.action === 'recall' ? 'recall' : 'the user-token endpoint'} (v4 /users/{userId}/context/…)`);
  const ctx = a.action === 'recall' ? (t.recallContext ?? 'TRAVELER') : 'MANAGER';
  return `/expensereports/v4/users/${pathSegment(userId, 'msg.userId')}/context/${ctx}/reports/${rid}/${a.action}`;
}

export function v4WorkflowBody(a: ValidWorkflowAction): Record<string, unknown> {
  const { action: _action, ...rest } = a;
  return rest;
}

export interface WorkflowActionResult {
  action: WorkflowActionName;
  ok: true;
  status: number;
  /** v1.1 ActionStatus.Message, when given. */
  message?: string;
  correlationId?: string;
}

export async function workflowActionV4(api: ConcurApi, a: ValidWorkflowAction, t: V4Target, correlationId?: string): Promise<WorkflowActionResult> {
  const path = v4WorkflowPath(a, t);
  // PATCH is not idempotent: no blind retries on 5xx (429 is still retried by the client).
  const r = await api.request({ method: 'PATCH', url: path, json: v4WorkflowBody(a), correlationId });
  return { action: a.action, ok: true, status: r.status, correlationId: r.correlationId };
}

export async function workflowActionLegacy(
  api: ConcurApi,
  a: ValidWorkflowAction,
  workflowActionUrl: unknown,
  correlationId?: string,
): Promise<WorkflowActionResult> {
  if (typeof workflowActionUrl !== 'string' || !workflowActionUrl.trim()) {
    throw invalidInput("msg.workflowActionUrl (the report's WorkflowActionURL) is required for a v1.1 workflow action");
  }
  const r = await api.request({
    method: 'POST',
    url: workflowActionUrl.trim(),
    xml: buildWorkflowActionXml(LEGACY_ACTION_TEXT[a.action], a.comment),
    accept: 'application/xml',
    correlationId,
  });
  const d = (r.data && typeof r.data === 'object' ? r.data : {}) as Record<string, unknown>;
  const status = typeof d.Status === 'string' ? d.Status : undefined;
  const message = typeof d.Message === 'string' ? d.Message : undefined;
  // Concur answers 200 with <ActionStatus><Status>FAILURE</Status> when the action was refused.
  if (!status || !/^success/i.test(status)) {
    throw new ConcurError({
      status: r.status,
      code: 'WORKFLOW_ACTION_FAILED',
      message: `workflow action ${LEGACY_ACTION_TEXT[a.action]} refused: ${status ?? `no ActionStatus in <${r.xmlRoot ?? 'response'}>`}${
        message ? ` – ${message}` : ''
      }`,
      correlationId: r.correlationId,
      body: r.data,
    });
  }
  return { action: a.action, ok: true, status: r.status, message, correlationId: r.correlationId };
}
