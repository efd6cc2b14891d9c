/**
 * Expense v4 Comments: read and add the comments of a report header or of one
 * expense, as the system user (company token) or in a user context.
 * https://developer.concur.com/api-reference/expense/expense-report/v4.comments.html
 * Scopes: read expense.report.read or expense.report.readwrite; add expense.report.readwrite.
 * GET: the docs' example is a bare array, the schema table a { commentDetails } wrapper: both are read.
 * POST body { "comment": "…" } answers 201 { uri }. The docs state no length limit for comments;
 * 2000 characters (the workflow comment limit) is enforced here (UNCONFIRMED for comments).
 */
import { ConcurError, invalidInput } from './concur-error';
import type { ApiResponse } from './api-client';
import type { ConcurApi } from './api-types';
import { optionalId, pathSegment } from './path-segment';

export type CommentEndpoint = 'company' | 'user';
export type CommentContext = 'TRAVELER' | 'MANAGER' | 'PROXY';
export const COMMENT_CONTEXTS: readonly CommentContext[] = ['TRAVELER', 'MANAGER', 'PROXY'];
export const MAX_COMMENT_LENGTH = 2000;

export interface CommentTarget {
  reportId: unknown;
  /** Expense-level comments when set. */
  expenseId?: unknown;
  endpoint: CommentEndpoint;
  /** User-context endpoint: the acting user's UUID and context. */
  userId?: unknown;
  context?: CommentContext;
}

export function commentsPath(t: CommentTarget): string {
  const report = pathSegment(t.reportId, 'the report id (msg.reportId)');
  const expense = optionalId(t.expenseId, 'the expense id');
  const tail = `/reports/${report}${expense !== undefined ? `/expenses/${pathSegment(expense, 'the expense id')}` : ''}/comments`;
  if (t.endpoint === 'company') return `/expensereports/v4${tail}`;
  const user = pathSegment(t.userId, 'the user id (msg.userId) for the user-context endpoint');
  const ctx = t.context ?? 'TRAVELER';
  if (!COMMENT_CONTEXTS.includes(ctx)) throw invalidInput(`context must be one of ${COMMENT_CONTEXTS.join(', ')}`);
  return `/expensereports/v4/users/${user}/context/${ctx}${tail}`;
}

export function validateComment(v: unknown): string {
  if (typeof v !== 'string' || !v.trim()) throw invalidInput('a comment (a non-empty string, msg.comment by default) is required to add one');
  if (v.length > MAX_COMMENT_LENGTH) throw invalidInput(`the comment is ${v.length} characters; at most ${MAX_COMMENT_LENGTH} are accepted`);
  return v;
}

export interface CommentList {
  comments: Record<string, unknown>[];
  response: ApiResponse;
}

export async function readComments(api: ConcurApi, t: CommentTarget, includeAll: boolean, correlationId?: string): Promise<CommentList> {
  const path = commentsPath(t) + (includeAll && t.expenseId === undefined ? '?includeAllComments=true' : '');
  const response = await api.request({ method: 'GET', url: path, correlationId });
  const d = response.data as unknown;
  const list = Array.isArray(d)
    ? d
    : d && typeof d === 'object' && Array.isArray((d as Record<string, unknown>).commentDetails)
      ? ((d as Record<string, unknown>).commentDetails as unknown[])
      : d === undefined
        ? []
        : undefined;
  if (!list)
    throw new ConcurError({
      status: response.status,
      code: 'BAD_RESPONSE',
      message: `comments answered ${response.status} without a list`,
      correlationId: response.correlationId,
    });
  return { comments: list.filter((c): c is Record<string, unknown> => Boolean(c) && typeof c === 'object'), response };
}

export interface AddedComment {
  status: number;
  uri: string | null;
  correlationId?: string;
}

export async function addComment(api: ConcurApi, t: CommentTarget, comment: unknown, correlationId?: string): Promise<AddedComment> {
  const text = validateComment(comment);
  const path = commentsPath(t);
  // POST is not idempotent: the client retries a 429 only, never a 5xx (the comment could be stored twice).
  const r = await api.request({ method: 'POST', url: path, json: { comment: text }, correlationId });
  const d = r.data as Record<string, unknown> | undefined;
  return { status: r.status, uri: d && typeof d.uri === 'string' ? d.uri : null, correlationId: r.correlationId };
}
