/**
 * Notification API v1.0 (docs/concur-api.md#notification-api): list failed legacy callouts and
 * delete them once handled. JSON is asked for; an XML answer (or a 406) is
 * handled too. Whether the endpoint expects `failed` or `FAILED` is
 * UNCONFIRMED, so the status value is configurable.
 */
import { ConcurError, invalidInput } from './concur-error';
import type { ConcurApi } from './api-types';
import { asArray } from './legacy-xml';
import type { LegacyNotification } from './notification-fields';

export const NOTIFICATIONS_PATH = '/api/platform/notifications/v1.0/notification';

export interface FailedNotification extends LegacyNotification {
  notificationURI: string;
}

export interface FailedNotificationList {
  notifications: FailedNotification[];
  /** Entries that could not be used (kept on Concur's side, nothing is deleted). */
  skipped: { index: number; reason: string }[];
  correlationId?: string;
}

function field(o: Record<string, unknown>, ...names: string[]): unknown {
  for (const n of names) if (n in o) return o[n];
  // Case-insensitive fallback (JSON samples use PascalCase; be lenient).
  const lower = new Map(Object.keys(o).map((k) => [k.toLowerCase(), k]));
  for (const n of names) {
    const k = lower.get(n.toLowerCase());
    if (k) return o[k];
  }
  return undefined;
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : undefined;
}

export function normalizeNotifications(data: unknown): { notifications: FailedNotification[]; skipped: { index: number; reason: string }[] } {
  let items: unknown[];
  if (Array.isArray(data)) items = data;
  else if (data && typeof data === 'object') {
    // XML NotificationList → { Notification: [...] }; some JSON wrappers use the same name.
    const d = data as Record<string, unknown>;
    items = asArray((d.Notification ?? d.notifications ?? d.Items) as unknown[]);
  } else if (data === undefined || data === '') items = [];
  else throw new ConcurError({ status: 200, code: 'BAD_RESPONSE', message: 'notification list is neither a JSON array nor a NotificationList' });
  const notifications: FailedNotification[] = [];
  const skipped: { index: number; reason: string }[] = [];
  items.forEach((raw, index) => {
    if (!raw || typeof raw !== 'object') return skipped.push({ index, reason: 'not an object' });
    const o = raw as Record<string, unknown>;
    const notificationURI = text(field(o, 'NotificationURI', 'NotificationURL'));
    const objectURI = text(field(o, 'ObjectURI'));
    const eventType = text(field(o, 'EventType'));
    const objectType = text(field(o, 'ObjectType'));
    if (!notificationURI) return skipped.push({ index, reason: 'no NotificationURI' });
    if (!objectURI || !eventType || !objectType) return skipped.push({ index, reason: 'EventType, ObjectType or ObjectURI missing' });
    const ctx = field(o, 'Context');
    notifications.push({
      eventType,
      objectType,
      objectURI,
      eventDateTime: text(field(o, 'EventDateTime')) ?? '',
      context: typeof ctx === 'string' ? ctx : ctx === null || ctx === undefined || ctx === '' ? null : String(ctx),
      notificationURI,
    });
  });
  return { notifications, skipped };
}

export async function listFailedNotifications(api: ConcurApi, opts: { statusValue?: string; correlationId?: string } = {}): Promise<FailedNotificationList> {
  const status = (opts.statusValue ?? 'failed').trim() || 'failed';
  const url = `${NOTIFICATIONS_PATH}?status=${encodeURIComponent(status)}`;
  let r;
  try {
    r = await api.request({ method: 'GET', url, accept: 'application/json', correlationId: opts.correlationId });
  } catch (err) {
    // XML fallback for a server that refuses JSON.
    if (err instanceof ConcurError && (err.status === 406 || err.status === 415)) {
      r = await api.request({ method: 'GET', url, accept: 'application/xml', correlationId: opts.correlationId });
    } else throw err;
  }
  return { ...normalizeNotifications(r.data), correlationId: r.correlationId };
}

export async function deleteNotification(
  api: ConcurApi,
  notificationURI: unknown,
  correlationId?: string,
): Promise<{ status: number; notificationURI: string; correlationId?: string }> {
  if (typeof notificationURI !== 'string' || !notificationURI.trim())
    throw invalidInput('msg.notificationURI is required (the NotificationURI of a failed notification)');
  const uri = notificationURI.trim();
  // Only ever delete notifications, whatever URL a message carries.
  let path: string;
  try {
    path = new URL(uri, 'http://placeholder').pathname;
  } catch {
    throw invalidInput('msg.notificationURI is not a valid URL');
  }
  if (!/\/api\/platform\/notifications\/v1\.0\/notification\/[^/]+$/i.test(path)) {
    throw invalidInput(`msg.notificationURI "${uri.slice(0, 120)}" is not a Notification v1.0 resource (…/api/platform/notifications/v1.0/notification/{id})`);
  }
  const r = await api.request({ method: 'DELETE', url: uri, accept: 'application/json, application/xml;q=0.9', correlationId });
  return { status: r.status, notificationURI: uri, correlationId: r.correlationId };
}
