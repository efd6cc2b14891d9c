/**
 * In-memory state of the simulated tenant: reports, exceptions, failed legacy
 * notifications and ESS subscriptions. State changes are visible through every
 * API family (an approved report reads as approved in v4, v3, v2.0 and v1.1).
 */
import { EventEmitter } from 'node:events';
import { randomBytes, randomUUID } from 'node:crypto';
import type { CurrentStep, FailedNotification, Report, SimUser, Subscription, TravelRequest } from './model';
import { COMMENT_SEEDS, COMPANY_ID, DEFAULT_TOPICS, EXCEPTION_CODES, FAILED_NOTIFICATION_SEEDS, REPORT_SEEDS, TRAVEL_REQUEST_SEEDS, USERS } from './seed-data';
import { safeDecode } from './http-util';

export interface StatusChange {
  report: Report;
  previousApprovalStatus: string;
  previousPaymentStatus: string;
  /** stepCode as ESS reports it: new step code, SENDBACK, RECALL, or null. */
  stepCode: string | null;
  /** Focus user: the owner on submit, otherwise the acting approver (null for company/system actions). */
  userId: string | null;
  actingUserId: string | null;
}

export interface StateOptions {
  /** Exception codes the tenant has configured (default: the seeded list). */
  exceptionCodes?: Record<string, { message: string; isBlocking: boolean }>;
  /** Accept any exception code of valid length (skips the configured-code check). */
  anyExceptionCode?: boolean;
  /** Topics GET /events/v4/topics returns and subscriptions may use. */
  topics?: string[];
  /** Longest accepted exception code: 8 per the v4 docs' rule (whose own example MISSREQFLD has 10). */
  exceptionCodeMaxLength?: number;
}

const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A fresh key in the style of Concur's encrypted legacy keys (`n…` with `$p`/`$s` escapes). */
export function newLegacyKey(): string {
  const bytes = randomBytes(32);
  let s = 'n';
  for (let i = 0; i < 30; i++) s += KEY_ALPHABET[bytes[i] % KEY_ALPHABET.length];
  const at = 6 + (bytes[30] % 20);
  return s.slice(0, at) + (bytes[31] % 2 ? '$p' : '$s') + s.slice(at);
}

export class SimState {
  readonly companyId = COMPANY_ID;
  readonly users: SimUser[] = USERS.map((u) => ({ ...u }));
  readonly events = new EventEmitter();
  reports = new Map<string, Report>();
  notifications: FailedNotification[] = [];
  subscriptions = new Map<string, Subscription>();
  travelRequests = new Map<string, TravelRequest>();
  readonly topics: string[];
  readonly exceptionCodes: Record<string, { message: string; isBlocking: boolean }>;
  readonly anyExceptionCode: boolean;
  readonly exceptionCodeMaxLength: number;

  constructor(opts: StateOptions = {}) {
    this.topics = opts.topics ?? [...DEFAULT_TOPICS];
    this.exceptionCodes = opts.exceptionCodes ?? { ...EXCEPTION_CODES };
    this.anyExceptionCode = !!opts.anyExceptionCode;
    this.exceptionCodeMaxLength = opts.exceptionCodeMaxLength ?? 8;
    this.reset();
  }

  /** Back to the seeded tenant (subscriptions are dropped too). */
  reset(): void {
    this.reports.clear();
    for (const seed of REPORT_SEEDS) {
      const { atStep, stepInstanceId, workflowActionKey, ...rest } = structuredClone(seed);
      const report: Report = {
        ...rest,
        lastModifiedDate: rest.submitDate ?? rest.creationDate,
        isSentBack: false,
        everSentBack: false,
        currentStep: null,
        lastWorkflowActionKey: workflowActionKey,
        retiredWorkflowActionKeys: [],
        exceptions: [],
        comments: [],
      };
      if (atStep > 0) {
        report.currentStep = { ...rest.workflow[atStep - 1], sequence: atStep, stepInstanceId, workflowActionKey };
      }
      this.reports.set(report.reportId, report);
    }
    for (const c of COMMENT_SEEDS) {
      this.reports.get(c.reportId)?.comments.push({
        at: c.at,
        action: 'Comment',
        comment: c.comment,
        by: `user:${c.authorUserId}`,
        authorUserId: c.authorUserId,
        forUserId: c.authorUserId,
        expenseId: c.expenseId,
      });
    }
    this.notifications = FAILED_NOTIFICATION_SEEDS.map((n) => ({
      id: n.id,
      eventType: `Report Entered Expense Report Workflow Step - ${n.step}`,
      objectType: 'EXPRPT',
      reportKey: (this.reports.get(n.reportId) as Report).reportKey,
      eventDateTime: n.eventDateTime,
      context: null,
    }));
    this.subscriptions.clear();
    this.travelRequests = new Map(TRAVEL_REQUEST_SEEDS.map((t) => [t.id, structuredClone(t)]));
  }

  user(userId: string): SimUser | undefined {
    return this.users.find((u) => u.userId.toLowerCase() === userId.toLowerCase());
  }

  userByLogin(loginId: string): SimUser | undefined {
    return this.users.find((u) => u.loginId.toLowerCase() === loginId.toLowerCase());
  }

  reportById(id: string): Report | undefined {
    return this.reports.get(id) ?? this.reports.get(id.toUpperCase());
  }

  /** Legacy keys arrive raw, percent-encoded, or with `$` encoded as %24: match all forms. */
  reportByKey(key: string): Report | undefined {
    const forms = new Set([key, safeDecode(key)]);
    for (const r of this.reports.values()) if (forms.has(r.reportKey)) return r;
    return undefined;
  }

  /** Finds a report by a v1.1 workflow-action key; `stale` when the key belongs to an earlier step. */
  reportByWorkflowKey(key: string): { report: Report; stale: boolean } | undefined {
    const forms = new Set([key, safeDecode(key)]);
    for (const r of this.reports.values()) {
      if (r.currentStep && forms.has(r.currentStep.workflowActionKey)) return { report: r, stale: false };
      if (forms.has(r.lastWorkflowActionKey) || r.retiredWorkflowActionKeys.some((k) => forms.has(k))) return { report: r, stale: true };
    }
    return undefined;
  }

  /** Moves the report to `sequence` (1-based) of its workflow, or off the workflow when 0. */
  enterStep(report: Report, sequence: number): CurrentStep | null {
    if (report.currentStep) {
      report.retiredWorkflowActionKeys.push(report.currentStep.workflowActionKey);
      if (report.retiredWorkflowActionKeys.length > 20) report.retiredWorkflowActionKeys.shift();
    }
    if (sequence <= 0 || sequence > report.workflow.length) {
      report.currentStep = null;
      return null;
    }
    const def = report.workflow[sequence - 1];
    const key = newLegacyKey();
    report.currentStep = { ...def, sequence, stepInstanceId: randomUUID(), workflowActionKey: key };
    report.lastWorkflowActionKey = key;
    report.approvalStatus = def.approvalStatus;
    return report.currentStep;
  }

  touch(report: Report): void {
    report.lastModifiedDate = new Date().toISOString();
  }

  publishStatusChange(change: StatusChange): void {
    this.events.emit('statusChanged', change);
  }

  addFailedNotification(n: Omit<FailedNotification, 'id'> & { id?: string }): FailedNotification {
    const rec: FailedNotification = { ...n, id: n.id ?? `nOB1${newLegacyKey().slice(1)}` };
    this.notifications.push(rec);
    // Bounded: a long-running demo must not grow without limit.
    if (this.notifications.length > 1000) this.notifications.splice(0, this.notifications.length - 1000);
    return rec;
  }

  deleteNotification(id: string): boolean {
    const forms = new Set([id, safeDecode(id)]);
    const i = this.notifications.findIndex((n) => forms.has(n.id));
    if (i < 0) return false;
    this.notifications.splice(i, 1);
    return true;
  }

  /** A compact view of the state for the admin endpoint and for tests. */
  summary(): Record<string, unknown> {
    return {
      companyId: this.companyId,
      reports: [...this.reports.values()].map((r) => ({
        reportId: r.reportId,
        reportKey: r.reportKey,
        name: r.name,
        approvalStatus: r.approvalStatus,
        paymentStatus: r.paymentStatus,
        currentStep: r.currentStep && { stepCode: r.currentStep.stepCode, sequence: r.currentStep.sequence, stepInstanceId: r.currentStep.stepInstanceId },
        exceptions: r.exceptions.map((e) => ({
          exceptionCode: e.exceptionCode,
          level: e.level,
          expenseId: e.expenseId,
          allocationId: e.allocationId,
          source: e.source,
        })),
        comments: r.comments,
      })),
      notifications: this.notifications.map((n) => ({ id: n.id, eventType: n.eventType, reportKey: n.reportKey })),
      subscriptions: [...this.subscriptions.values()],
      travelRequests: [...this.travelRequests.values()].map((t) => ({
        id: t.id,
        requestId: t.requestId,
        status: t.status,
        stepCode: t.stepCode,
        approverUserId: t.approverUserId,
        comments: t.comments,
      })),
    };
  }
}
