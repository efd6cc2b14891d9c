/**
 * concur-notifications: Notification API v1.0. `list-failed` emits the failed
 * legacy callouts (as one array, or one message each shaped like
 * concur-legacy-notify-in's output so they replay through the same flow);
 * `delete` removes one once handled. Thin adapter over concur/notifications-api.
 */
import type { RED, Node, NodeDef, NodeMessage } from '../shared/red-types';
import { correlationIdOf, findConnection, handleInputs } from '../shared/concur-action';
import { evaluateInput, typedInput } from '../shared/typed-input';
import { deleteNotification, listFailedNotifications } from '../../concur/notifications-api';
import { notificationFields } from '../../concur/notification-fields';

interface Def extends NodeDef {
  server?: string;
  operation?: string;
  statusValue?: string;
  emitEach?: boolean;
}

export = function (RED: RED) {
  function ConcurNotifications(this: Node, def: Def) {
    RED.nodes.createNode(this, def);
    const node = this;
    const operation = def.operation === 'delete' ? 'delete' : 'list-failed';
    const statusValue = typeof def.statusValue === 'string' && def.statusValue.trim() ? def.statusValue.trim() : 'failed';

    const uriInput = typedInput(def, { name: 'notificationURI', defaultValue: 'notificationURI', label: 'notification URI' });

    handleInputs(
      node,
      () => findConnection(RED, def.server),
      async (api, msg: NodeMessage, send) => {
        const correlationId = correlationIdOf(msg);
        if (operation === 'delete') {
          const given = await evaluateInput(RED, node, msg, uriInput);
          const uri = given ?? (msg.payload && typeof msg.payload === 'object' ? (msg.payload as Record<string, unknown>).notificationURI : undefined);
          const r = await deleteNotification(api, uri, correlationId);
          msg.payload = { deleted: true, status: r.status, notificationURI: r.notificationURI };
          send(msg);
          return 'deleted';
        }
        const list = await listFailedNotifications(api, { statusValue, correlationId });
        if (list.skipped.length) {
          node.warn(
            `ignored ${list.skipped.length} unusable notification(s) (left on Concur): ${list.skipped.map((s) => `#${s.index} ${s.reason}`).join('; ')}`,
          );
        }
        if (def.emitEach) {
          for (const n of list.notifications) {
            const out = RED.util.cloneMessage(msg);
            delete out._msgid; // each replayed notification is its own message
            out.payload = notificationFields(n);
            out.topic = n.objectType;
            out.notificationURI = n.notificationURI;
            out.concur = { source: 'notification-replay', notificationURI: n.notificationURI, listedAt: new Date().toISOString() };
            send(out);
          }
        } else {
          msg.payload = list.notifications;
          if (list.skipped.length) msg.skipped = list.skipped;
          send(msg);
        }
        return `${list.notifications.length} failed`;
      },
    );
  }
  RED.nodes.registerType('concur-notifications', ConcurNotifications);
};
