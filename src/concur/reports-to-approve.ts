/**
 * Expense v4 "Get Reports To Approve": the reports waiting for an approver
 * (optionally also those the approver may approve as a delegate). Also the
 * catch-up for approval events missed while a flow was off.
 * https://developer.concur.com/api-reference/expense/expense-report/v4.reports.html#get-reports-to-approve
 * Scopes: expense.report.read or expense.report.readwrite; company or user token.
 */
import { ConcurError, invalidInput } from './concur-error';
import type { ApiResponse } from './api-client';
import type { ConcurApi } from './api-types';
import { pathSegment } from './path-segment';

export interface ReportsToApproveOptions {
  /** The approver's user UUID (Identity v4 id). */
  userId: unknown;
  includeDelegateApprovals?: boolean;
  /** Report field to sort on (passed as `sort`), e.g. reportDate. */
  sort?: string;
  order?: 'asc' | 'desc';
}

export function reportsToApprovePath(o: ReportsToApproveOptions): string {
  const user = pathSegment(o.userId, "the approver's user id (msg.userId)");
  const q = new URLSearchParams();
  const sort = (o.sort ?? '').trim();
  if (sort) {
    if (!/^[A-Za-z][A-Za-z0-9_.]{0,63}$/.test(sort))
      throw invalidInput(`sort must be a report field name such as reportDate (got ${JSON.stringify(sort).slice(0, 40)})`);
    q.set('sort', sort);
    if (o.order) q.set('order', o.order);
  }
  if (o.includeDelegateApprovals) q.set('includeDelegateApprovals', 'true');
  const qs = q.toString();
  // contextType: the docs list MANAGER as the only supported value.
  return `/expensereports/v4/users/${user}/context/MANAGER/reportsToApprove${qs ? `?${qs}` : ''}`;
}

/** One report to approve as documented (Report To Approve schema), kept as Concur sent it. */
export interface ReportToApprove {
  reportId: string;
  name?: string;
  approver?: { employeeId?: string | null; employeeUuid?: string | null };
  employee?: { employeeId?: string | null; employeeUuid?: string | null };
  [k: string]: unknown;
}

export interface ReportsToApproveResult {
  reports: ReportToApprove[];
  response: ApiResponse;
}

export async function getReportsToApprove(api: ConcurApi, o: ReportsToApproveOptions, correlationId?: string): Promise<ReportsToApproveResult> {
  const response = await api.request({ method: 'GET', url: reportsToApprovePath(o), correlationId });
  // The docs show a bare array; accept a list wrapper too (Items / items / reports).
  const d = response.data as unknown;
  const list = Array.isArray(d)
    ? d
    : d && typeof d === 'object'
      ? ((d as Record<string, unknown>).Items ?? (d as Record<string, unknown>).items ?? (d as Record<string, unknown>).reports)
      : undefined;
  if (!Array.isArray(list)) {
    throw new ConcurError({
      status: response.status,
      code: 'BAD_RESPONSE',
      message: `reportsToApprove answered ${response.status} without a list of reports`,
      correlationId: response.correlationId,
    });
  }
  const reports = list.filter((r): r is ReportToApprove => Boolean(r) && typeof r === 'object' && typeof (r as Record<string, unknown>).reportId === 'string');
  return { reports, response };
}
