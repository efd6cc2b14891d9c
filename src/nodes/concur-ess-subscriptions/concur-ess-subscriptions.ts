/**
 * concur-ess-subscriptions: manage Event Subscription Service (ESS) v4
 * webhook subscriptions from a flow: list, get, put (create or update), delete,
 * and list the topics the application may use. Thin adapter over
 * ../concur/ess-subscriptions-api.ts (documented at
 * https://developer.concur.com/event-topics/index.html); calls go through the
 * selected concur-config (an app token: client_credentials grant, scope
 * events.topic.read plus the topic's scope) with its retries and error shape.
 */
import { choiceOption } from '../shared/options';
import type { RED, Node, NodeDef, NodeMessage } from '../shared/red-types';
import { correlationIdOf, findConnection, handleInputs } from '../shared/concur-action';
import { invalidInput } from '../../concur/concur-error';
import {
  DEFAULT_TOPIC,
  deleteSubscription,
  getSubscription,
  listSubscriptions,
  listTopics,
  putSubscription,
  subscriptionInput,
  checkSubscriptionId,
} from '../../concur/ess-subscriptions-api';

const OPERATIONS = ['list', 'get', 'put', 'delete', 'topics'] as const;
type Operation = (typeof OPERATIONS)[number];

interface Def extends NodeDef {
  server?: string;
  /** One of OPERATIONS, or `msg` (msg.operation decides). */
  operation?: string;
  subscriptionId?: string;
  topic?: string;
  filter?: string;
  endpoint?: string;
}

function text(v: unknown): string {
  return typeof v === 'string' ? v.trim() : '';
}

export = function (RED: RED) {
  function ConcurEssSubscriptions(this: Node, def: Def) {
    RED.nodes.createNode(this, def);
    const node = this;
    const configured = def.operation === 'msg' ? 'msg' : choiceOption(OPERATIONS, def.operation, 'list');

    handleInputs(
      node,
      () => findConnection(RED, def.server),
      async (api, msg: NodeMessage, send) => {
        const correlationId = correlationIdOf(msg);
        let op: Operation;
        if (configured === 'msg') {
          const o = text(msg.operation).toLowerCase();
          if (!(OPERATIONS as readonly string[]).includes(o))
            throw invalidInput(`msg.operation must be one of ${OPERATIONS.join(', ')} (got "${String(msg.operation ?? '').slice(0, 40)}")`);
          op = o as Operation;
        } else op = configured;
        const p = msg.payload && typeof msg.payload === 'object' && !Array.isArray(msg.payload) ? (msg.payload as Record<string, unknown>) : {};
        const idOf = () =>
          checkSubscriptionId(
            msg.subscriptionId ?? p.id ?? (text(def.subscriptionId) || undefined),
            "msg.subscriptionId (or msg.payload.id, or the node's subscription id)",
          );

        switch (op) {
          case 'list': {
            const list = await listSubscriptions(api, correlationId);
            msg.payload = list;
            send(msg);
            return `${list.length} subscription${list.length === 1 ? '' : 's'}`;
          }
          case 'topics': {
            const topics = await listTopics(api, correlationId);
            msg.payload = topics;
            send(msg);
            return `${topics.length} topic${topics.length === 1 ? '' : 's'}`;
          }
          case 'get': {
            const id = idOf();
            const sub = await getSubscription(api, id, correlationId);
            msg.payload = sub ?? null;
            msg.subscriptionId = id;
            send(msg);
            return sub ? `got ${id}` : `${id} not found`;
          }
          case 'put': {
            const body = subscriptionInput(
              { ...p, id: msg.subscriptionId ?? p.id },
              {
                id: text(def.subscriptionId) || undefined,
                topic: text(def.topic) || DEFAULT_TOPIC,
                filter: text(def.filter) || '.*',
                endpoint: text(def.endpoint) || undefined,
              },
            );
            const r = await putSubscription(api, body, correlationId);
            msg.payload = { message: r.message ?? null, subscription: r.subscription };
            msg.subscriptionId = body.id;
            send(msg);
            return `saved ${body.id}`;
          }
          case 'delete': {
            const id = idOf();
            const r = await deleteSubscription(api, id, { correlationId });
            msg.payload = { deleted: true, message: r.message ?? null };
            msg.subscriptionId = id;
            send(msg);
            return `deleted ${id}`;
          }
        }
      },
    );
  }
  RED.nodes.registerType('concur-ess-subscriptions', ConcurEssSubscriptions);
};
