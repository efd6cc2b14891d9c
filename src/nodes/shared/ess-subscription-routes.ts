/**
 * ESS subscriptions for the concur-ess-event-in node (protocol in
 * ../../concur/ess-subscriptions-api.ts, documented at
 * https://developer.concur.com/event-topics/index.html):
 *
 * - admin routes for the edit dialog's subscription panel, through a DEPLOYED
 *   concur-config (its token manager and retries):
 *     GET    <admin>/concur-ess-event-in/subscriptions?config=<id>&endpoint=<url>  (read; 409 for a
 *            connection not deployed, or 200 { code: 'NOT_DEPLOYED' } with &quiet=1)
 *     POST   <admin>/concur-ess-event-in/subscriptions  { config, subscription }   (write: PUT …/webhook)
 *     DELETE <admin>/concur-ess-event-in/subscriptions/<sub id>?config=<id>        (write)
 * - "register on deploy": create or update the receiver's subscription when the
 *   node starts, optionally delete it when the node is removed. Failures are
 *   reported (status, log) and never stop the receiver.
 */
import type { RED, Node } from './red-types';
import { findConnection } from './concur-action';
import { needsPermission } from './permissions';
import { toConcurError } from '../../concur/concur-error';
import {
  DEFAULT_TOPIC,
  deleteSubscription,
  ensureSubscription,
  listSubscriptions,
  listTopics,
  putSubscription,
  sameEndpoint,
  subscriptionInput,
  subscriptionState,
  type EssSubscriptionInput,
} from '../../concur/ess-subscriptions-api';

const BASE = '/concur-ess-event-in/subscriptions';
const REGISTERED = Symbol.for('node-red-contrib-sap-concur.essSubscriptionRoutes');
/** Waits before trying a failed registration again (then it stays failed until the next deploy). */
const RETRY_DELAYS_MS = [30_000, 120_000, 600_000];
/** Longest a removed node waits for its subscription's DELETE before it lets Node-RED go on. */
const DELETE_WAIT_MS = 10_000;
/** How long a DELETE that met a closing connection waits for the flows to start again. */
const DEFERRED_DELETE_MS = 5 * 60_000;

interface Req {
  params: Record<string, string>;
  query: Record<string, unknown>;
  body?: unknown;
}
interface Res {
  status(code: number): Res;
  json(body: unknown): void;
  headersSent?: boolean;
}

function text(v: unknown): string {
  return typeof v === 'string' ? v.trim() : '';
}

/** The id a receiver uses when none is set: `node-red-<node id>` (lowercase, digits, "." and "-"). */
export function defaultSubscriptionId(nodeId: string): string {
  return `node-red-${nodeId.toLowerCase().replace(/[^a-z0-9.-]/g, '-')}`.slice(0, 100);
}

export function registerEssSubscriptionRoutes(RED: RED): void {
  const app = RED.httpAdmin as unknown as { [REGISTERED]?: boolean } & Record<string, (...a: unknown[]) => void>;
  if (app[REGISTERED]) return;
  app[REGISTERED] = true;
  const needsRead = needsPermission(RED, 'concur-ess-event-in.read');
  const needsWrite = needsPermission(RED, 'concur-ess-event-in.write');

  const connection = (id: unknown, res: Res, quiet = false) => {
    const conn = findConnection(RED, text(id));
    if (!conn) {
      // quiet=1 (the dialog's automatic listing): 200, so a connection not deployed yet is no browser console error.
      res.status(quiet ? 200 : 409).json({ code: 'NOT_DEPLOYED', error: 'the Concur connection is not deployed: deploy the connection first, then try again' });
      return undefined;
    }
    return conn;
  };
  const fail = (res: Res, err: unknown) => {
    const e = toConcurError(err);
    if (res.headersSent) return;
    // Only the ConcurError's message (never a token): what Concur or the check said.
    res
      .status(e.notSent || e.code === 'INVALID_INPUT' ? 400 : 502)
      .json({ code: e.code, status: e.status, error: e.message, correlationId: e.correlationId ?? null });
  };

  app.get(BASE, needsRead, (req: Req, res: Res) => {
    const conn = connection(req.query.config, res, req.query.quiet === '1');
    if (!conn) return;
    const endpoint = text(req.query.endpoint);
    (async () => {
      const [subs, topics] = await Promise.all([
        listSubscriptions(conn.api),
        listTopics(conn.api).then(
          (t) => ({ topics: t }),
          (err) => ({ topicsError: toConcurError(err).message }),
        ),
      ]);
      res.status(200).json({
        apiBase: conn.api.apiBase(),
        endpoint: endpoint || null,
        subscriptions: subs.map((s) => ({ ...s, state: subscriptionState(s), matches: Boolean(endpoint) && sameEndpoint(s.webHookConfig.endpoint, endpoint) })),
        ...topics,
      });
    })().catch((err) => fail(res, err));
  });

  app.post(BASE, needsWrite, (req: Req, res: Res) => {
    const body = (req.body && typeof req.body === 'object' ? req.body : {}) as { config?: unknown; subscription?: unknown };
    const conn = connection(body.config, res);
    if (!conn) return;
    (async () => {
      const r = await putSubscription(conn.api, subscriptionInput(body.subscription));
      res.status(200).json({ message: r.message ?? null, subscription: r.subscription });
    })().catch((err) => fail(res, err));
  });

  app.delete(`${BASE}/:sid`, needsWrite, (req: Req, res: Res) => {
    const conn = connection(req.query.config, res);
    if (!conn) return;
    (async () => {
      const r = await deleteSubscription(conn.api, String(req.params.sid));
      res.status(200).json({ message: r.message ?? null });
    })().catch((err) => fail(res, err));
  });
}

export interface SubscriptionDef {
  server?: string;
  publicUrl?: string;
  subscriptionId?: string;
  subscriptionTopic?: string;
  subscriptionFilter?: string;
  registerOnDeploy?: boolean;
  unregisterOnRemove?: boolean;
}

/**
 * Register on deploy. `report(problem)` is called with a short text when the
 * registration fails (undefined once it worked). Returns the close handler part.
 */
export function manageSubscriptionOnDeploy(
  RED: RED,
  node: Node,
  def: SubscriptionDef,
  report: (problem: string | undefined) => void,
): { close(removed: boolean): Promise<void> } {
  if (def.registerOnDeploy !== true) return { close: async () => undefined };
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let want: EssSubscriptionInput | undefined;
  let registered = false;
  /** The registration under way (if any), so a removal deletes only after a PUT that was already sent. */
  let inflight: Promise<unknown> | undefined;
  try {
    want = subscriptionInput(
      {},
      {
        id: text(def.subscriptionId) || defaultSubscriptionId(node.id),
        topic: text(def.subscriptionTopic) || DEFAULT_TOPIC,
        filter: text(def.subscriptionFilter) || '.*',
        endpoint: text(def.publicUrl),
      },
    );
  } catch (err) {
    const m = toConcurError(err).message;
    node.warn(`ESS subscription not registered: ${m}`);
    report(`subscription: ${m}`);
    return { close: async () => undefined };
  }
  const sub = want;

  const attempt = (n: number) => {
    timer = undefined;
    if (closed) return;
    const conn = findConnection(RED, def.server);
    const run = conn ? ensureSubscription(conn.api, sub) : Promise.reject(new Error('no Concur connection is selected, or it is not deployed'));
    const mine = run
      .catch(() => undefined)
      .then(() => {
        if (inflight === mine) inflight = undefined;
      });
    inflight = mine;
    run
      .then((r) => {
        registered = true;
        if (closed) return;
        node.log(`ESS subscription "${sub.id}" ${r.action} (topic ${sub.topic}, filter ${sub.filter}, endpoint ${sub.webHookConfig.endpoint})`);
        report(undefined);
      })
      .catch((err) => {
        if (closed) return;
        const e = toConcurError(err);
        const next = RETRY_DELAYS_MS[n];
        node.warn(`ESS subscription "${sub.id}" could not be registered: ${e.message}${next ? `; trying again in ${next / 1000} s` : ''}`);
        report(`subscription ${e.status ? e.status + ' ' : ''}failed`);
        if (next) {
          timer = setTimeout(() => attempt(n + 1), next);
          timer.unref?.();
        }
      })
      .catch((err) => node.error(err)); // never let a throw in the handlers escape
  };
  // After the current tick: the connection node may be created after this one on a full deploy.
  timer = setTimeout(() => attempt(0), 0);
  timer.unref?.();

  return {
    async close(removed: boolean) {
      closed = true;
      if (timer) clearTimeout(timer);
      if (!removed || def.unregisterOnRemove !== true) return;
      const conn = findConnection(RED, def.server);
      if (!conn) {
        node.warn(
          `ESS subscription "${sub.id}" was not deleted: the Concur connection is gone; ` +
            "delete it from another receiver's dialog or a concur-ess-subscriptions node",
        );
        return;
      }
      let t: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<'timeout'>((r) => (t = setTimeout(() => r('timeout'), DELETE_WAIT_MS)));
      try {
        // Sent at once when nothing is in flight: on a full deploy the connection closes right after this
        // handler, and a request already started keeps its client.
        const del = inflight
          ? inflight.then(() => deleteSubscription(conn.api, sub.id, { missingOk: true }))
          : deleteSubscription(conn.api, sub.id, { missingOk: true });
        const r = await Promise.race([del, gaveUp]);
        if (r === 'timeout') node.warn(`ESS subscription "${sub.id}": no answer to the DELETE within ${DELETE_WAIT_MS / 1000} s`);
        else
          node.log(
            `ESS subscription "${sub.id}" ${r.deleted ? 'deleted' : 'was already gone'} ` +
              `(node removed${registered ? '' : ', it had not been registered by this run'})`,
          );
      } catch (err) {
        const e = toConcurError(err);
        // The connection was stopped with this node (a full deploy): delete through its successor once the flows run again.
        if (e.code === 'CLOSED' || e.code === 'CONFIG') deleteAfterRestart(RED, node, def.server, sub.id);
        else node.warn(`ESS subscription "${sub.id}" could not be deleted: ${e.message}`);
      } finally {
        if (t) clearTimeout(t);
      }
    },
  };
}

/** One more DELETE once the flows have started again (the redeployed connection with the same id). */
function deleteAfterRestart(RED: RED, node: Node, server: string | undefined, id: string): void {
  if (!RED.events) {
    node.warn(`ESS subscription "${id}" could not be deleted: the connection was closing; delete it from the dialog or a concur-ess-subscriptions node`);
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const again = () => {
    RED.events?.removeListener('flows:started', again);
    if (timer) clearTimeout(timer);
    const conn = findConnection(RED, server);
    if (!conn) return node.warn(`ESS subscription "${id}" could not be deleted: the Concur connection is gone`);
    deleteSubscription(conn.api, id, { missingOk: true })
      .then(
        (r) => node.log(`ESS subscription "${id}" ${r.deleted ? 'deleted' : 'was already gone'} (node removed; sent once the flows had restarted)`),
        (err) => node.warn(`ESS subscription "${id}" could not be deleted: ${toConcurError(err).message}`),
      )
      .catch(() => undefined);
  };
  RED.events.on('flows:started', again);
  timer = setTimeout(() => {
    RED.events?.removeListener('flows:started', again);
    node.warn(`ESS subscription "${id}" was not deleted: the flows did not start again within ${DEFERRED_DELETE_MS / 60000} min`);
  }, DEFERRED_DELETE_MS);
  timer.unref?.();
}
