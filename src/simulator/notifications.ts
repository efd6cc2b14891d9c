/**
 * Notification API v1.0: list failed legacy callouts (JSON by Accept, XML
 * NotificationList otherwise; the notificationListFormat setting plays the
 * UNCONFIRMED variants: XML only, or 406 to a JSON-only Accept) and delete
 * one after processing.
 */
import { ApiError, type Reply } from './api-error';
import { safeDecode } from './http-util';
import type { FailedNotification } from './model';
import type { RequestContext, Route } from './routes';
import { reportFullDetailsUrl } from './expense-legacy-xml';
import { renderDocument, type XmlNode } from './xml';

export const NS_NOTIFICATION = 'http://www.concursolutions.com/api/notification/2012/06';
const BASE_PATH = '/api/platform/notifications/v1.0/notification';

export function notificationUri(base: string, id: string): string {
  return `${base}${BASE_PATH}/${id}`;
}

function asJson(ctx: RequestContext, n: FailedNotification): Record<string, unknown> {
  const base = n.uriBase ?? ctx.sim.baseUrl();
  const o: Record<string, unknown> = {
    Context: n.context,
    EventDateTime: n.eventDateTime,
    EventType: n.eventType,
    NotificationURI: notificationUri(base, n.id),
    ObjectType: n.objectType,
    ObjectURI: reportFullDetailsUrl(base, n.reportKey),
  };
  for (const f of n.omitFields ?? []) delete o[f];
  return o;
}

function list(ctx: RequestContext): Reply {
  const status = ctx.query.get('status');
  // The docs' example uses FAILED, the prose says failed: accept any case.
  if (!status || status.toLowerCase() !== 'failed') throw new ApiError(400, 'status is required and the only supported value is failed');
  const format = ctx.sim.faults.settings.notificationListFormat;
  const accept = String(ctx.headers.accept ?? '').toLowerCase();
  if (format === 'xml-406' && ctx.wantsJson && !accept.includes('xml'))
    throw new ApiError(406, 'Not Acceptable: this resource is served as application/xml only');
  const items = ctx.sim.state.notifications.map((n) => asJson(ctx, n));
  if (ctx.wantsJson && format === 'negotiate') return { status: 200, body: items };
  // Element order is the documented one; asJson keeps it.
  const nodes: XmlNode[] = items.map((o) => ['Notification', Object.entries(o).map(([k, v]): XmlNode => [k, v as string | null])]);
  const body = renderDocument('NotificationList', { xmlns: NS_NOTIFICATION, 'xmlns:i': 'http://www.w3.org/2001/XMLSchema-instance' }, nodes, { nil: true });
  return { status: 200, headers: { 'Content-Type': 'application/xml; charset=utf-8' }, body };
}

function remove(ctx: RequestContext): Reply {
  const id = ctx.params[0];
  if (!ctx.sim.state.deleteNotification(id)) throw new ApiError(404, `notification ${safeDecode(id)} was not found`);
  return { status: 200 };
}

export function notificationRoutes(): Route[] {
  return [
    { method: 'GET', pattern: /^\/api\/platform\/notifications\/v1\.0\/notification\/?$/i, family: 'notification', auth: ['company', 'user'], handler: list },
    {
      method: 'DELETE',
      pattern: /^\/api\/platform\/notifications\/v1\.0\/notification\/([^/]+)$/i,
      family: 'notification',
      auth: ['company', 'user'],
      handler: remove,
    },
  ];
}
