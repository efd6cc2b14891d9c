/**
 * The shape both the legacy callout receiver and the Notification v1.0 "list
 * failed" replay emit, so a failed notification can be replayed through the
 * same flow as a live one.
 */

export interface LegacyNotification {
  eventType: string;
  objectType: string;
  objectURI: string;
  eventDateTime: string;
  context: string | null;
}

export interface LegacyNotificationPayload extends LegacyNotification {
  /** Text after "Report Entered Expense Report Workflow Step - " (undefined for other event types). */
  workflowStep: string | undefined;
  /** Last path segment of objectURI for expense reports (undefined for other object types). */
  reportKey: string | undefined;
}

export const WORKFLOW_STEP_PREFIX = 'Report Entered Expense Report Workflow Step - ';

/** Report object types whose ObjectURI ends in a report key. */
const REPORT_OBJECT_TYPES = new Set(['EXPRPT']);

export function workflowStepOf(eventType: string): string | undefined {
  // Concur documents the prefix; the suffix is the admin-configured step name (free text).
  const i = eventType.indexOf(WORKFLOW_STEP_PREFIX);
  if (i < 0) return undefined;
  return eventType.slice(i + WORKFLOW_STEP_PREFIX.length).trim() || undefined;
}

export function reportKeyOf(objectType: string, objectURI: string): string | undefined {
  if (!REPORT_OBJECT_TYPES.has(objectType.trim().toUpperCase())) return undefined;
  const path = objectURI.split(/[?#]/)[0].replace(/\/+$/, '');
  const last = path.slice(path.lastIndexOf('/') + 1);
  // The key is opaque (it may contain `$` and `%`); hand it on exactly as Concur sent it.
  return last || undefined;
}

export function notificationFields(n: LegacyNotification): LegacyNotificationPayload {
  return {
    eventType: n.eventType,
    workflowStep: workflowStepOf(n.eventType),
    objectType: n.objectType,
    objectURI: n.objectURI,
    eventDateTime: n.eventDateTime,
    context: n.context,
    reportKey: reportKeyOf(n.objectType, n.objectURI),
  };
}
