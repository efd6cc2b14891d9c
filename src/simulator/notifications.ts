/**
 * Notification API v1.0: list failed legacy callouts (JSON by Accept, XML
 * NotificationList otherwise) and delete one after processing.
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
  const base = ctx.sim.baseUrl();
  return {
    Context: n.context,
    EventDateTime: n.eventDateTime,
    EventType: n.eventType,
    NotificationURI: notificationUri(base, n.id),
    ObjectType: n.objectType,
    ObjectURI: reportFullDetailsUrl(base, n.reportKey),
  };
}

function list(ctx: RequestContext): Reply {
  const status = ctx.query.get('status');
  // The docs' example uses FAILED, the prose says failed: accept any case.
  if (!status || status.toLowerCase() !== 'failed') throw new ApiError(400, 'status is required and the only supported value is failed');
  const items = ctx.sim.state.notifications.map((n) => asJson(ctx, n));
  if (ctx.wantsJson) return { status: 200, body: items };
  const nodes: XmlNode[] = items.map((o) => [
    'Notification',
    [
      ['Context', o.Context as string | null],
      ['EventDateTime', o.EventDateTime as string],
      ['EventType', o.EventType as string],
      ['NotificationURI', o.NotificationURI as string],
      ['ObjectType', o.ObjectType as string],
      ['ObjectURI', o.ObjectURI as string],
    ],
  ]);
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
    { method: 'DELETE', pattern: /^\/api\/platform\/notifications\/v1\.0\/notification\/([^/]+)$/i, family: 'notification', auth: ['company', 'user'], handler: remove },
  ];
}
