/**
 * Sends a legacy Event Notification callout the way Concur does: a
 * namespace-less `Notification` XML document POSTed with HTTP Basic auth. One
 * attempt (Concur's retry policy for the legacy callout is UNCONFIRMED; failed
 * callouts end up in the Notification v1.0 "failed" list instead).
 */
import { httpRequest, NetworkError, type ClientTls } from './http-client';
import { renderDocument } from './xml';

export const WORKFLOW_STEP_PREFIX = 'Report Entered Expense Report Workflow Step - ';
export const DEFAULT_LEGACY_STEP = 'EXTERNAL VALIDATION - SUBMIT';

export interface LegacyNotificationInput {
  /** Full EventType; default `Report Entered Expense Report Workflow Step - <step>`. */
  eventType?: string;
  step?: string;
  objectType?: string;
  objectUri: string;
  /** Default today as YYYY-MM-DD (the callout doc's format). */
  eventDateTime?: string;
  context?: string | null;
}

export function legacyNotificationXml(n: LegacyNotificationInput): string {
  const eventType = n.eventType ?? `${WORKFLOW_STEP_PREFIX}${n.step ?? DEFAULT_LEGACY_STEP}`;
  return renderDocument('Notification', {}, [
    ['EventType', eventType],
    ['ObjectType', n.objectType ?? 'EXPRPT'],
    ['ObjectURI', n.objectUri],
    ['EventDateTime', n.eventDateTime ?? new Date().toISOString().slice(0, 10)],
    ['Context', n.context ?? ''],
  ]);
}

export interface LegacySendOptions extends LegacyNotificationInput {
  to: string;
  user: string;
  password: string;
  timeoutMs?: number;
  tls?: ClientTls;
  log?: (line: string) => void;
}

export interface LegacySendResult {
  ok: boolean;
  status?: number;
  error?: string;
  body: string;
  /** The XML that was sent. */
  sent: string;
}

export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}

function checkCredentials(user: string, password: string, log: (l: string) => void): void {
  if (!user || !password) throw new Error('user and password are required (the connector registration needs both)');
  if (user.includes(':')) throw new Error('the user name must not contain ":" (HTTP Basic auth)');
  // Concur's connector registration only accepts 10-50 characters; warn instead of refusing so tests can probe receivers.
  if (user.length < 10 || user.length > 50 || password.length < 10 || password.length > 50) {
    log('warning: Concur only accepts connector user names and passwords of 10 to 50 characters');
  }
}

export async function sendLegacy(o: LegacySendOptions): Promise<LegacySendResult> {
  const log = o.log ?? (() => undefined);
  checkCredentials(o.user, o.password, log);
  const sent = legacyNotificationXml(o);
  const body = Buffer.from(sent, 'utf8');
  try {
    const res = await httpRequest(o.to, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/xml',
        'Content-Length': body.length,
        Authorization: basicAuth(o.user, o.password),
        'User-Agent': 'concur-sim-callout/1.0',
      },
      body,
      timeoutMs: o.timeoutMs ?? 60000,
      tls: o.tls,
    });
    // Concur documents 200 as the only success answer.
    const ok = res.status === 200;
    log(`legacy callout -> ${res.status}${ok ? ' accepted' : ' (not 200: Concur would mark the notification failed)'}`);
    return { ok, status: res.status, body: res.body, sent };
  } catch (e) {
    const error = e instanceof NetworkError ? `${e.code}: ${e.message}` : (e as Error).message;
    log(`legacy callout -> network error ${error}`);
    return { ok: false, error, body: '', sent };
  }
}

/** Concur's "Test Connection": GET {host}/system/v1.0/testconnection with the same Basic credentials. */
export async function testConnection(o: {
  to: string;
  user: string;
  password: string;
  timeoutMs?: number;
  tls?: ClientTls;
  log?: (l: string) => void;
}): Promise<LegacySendResult> {
  const log = o.log ?? (() => undefined);
  checkCredentials(o.user, o.password, log);
  const url = new URL('/system/v1.0/testconnection', new URL(o.to).origin).toString();
  try {
    const res = await httpRequest(url, {
      method: 'GET',
      headers: { Authorization: basicAuth(o.user, o.password) },
      timeoutMs: o.timeoutMs ?? 30000,
      tls: o.tls,
    });
    log(`test connection ${url} -> ${res.status}`);
    return { ok: res.status === 200, status: res.status, body: res.body, sent: '' };
  } catch (e) {
    const error = e instanceof NetworkError ? `${e.code}: ${e.message}` : (e as Error).message;
    log(`test connection ${url} -> network error ${error}`);
    return { ok: false, error, body: '', sent: '' };
  }
}
