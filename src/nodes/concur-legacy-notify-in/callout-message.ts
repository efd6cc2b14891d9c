/** concur-legacy-notify-in: the message a parsed callout becomes (pure). */
import type { ParsedLegacyNotification } from '../../concur/legacy-notification-xml';
import { type LegacyNotificationPayload, notificationFields } from '../../concur/notification-fields';
import type { NodeMessage } from '../shared/red-types';

export interface CalloutMessage extends NodeMessage {
  topic: string;
  payload: LegacyNotificationPayload;
  concur: { source: 'legacy-notification'; rawBody: string; contentType: string | null; receivedAt: string };
}

export function calloutMessage(msgid: string, parsed: ParsedLegacyNotification, contentType: string | undefined, receivedAt = new Date()): CalloutMessage {
  const payload = notificationFields(parsed.notification);
  return {
    _msgid: msgid,
    topic: payload.objectType,
    payload,
    concur: {
      source: 'legacy-notification',
      rawBody: parsed.xml,
      contentType: contentType ?? null,
      receivedAt: receivedAt.toISOString(),
    },
  };
}
