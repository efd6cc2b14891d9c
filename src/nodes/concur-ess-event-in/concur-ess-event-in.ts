/**
 * Node-RED adapter for `concur-ess-event-in`: the ESS v4 webhook receiver.
 * Protocol decisions live in ../../concur/ess-receiver.ts, the stores in
 * ../../concur/event-store.ts. Beside this file: settings.ts (the node's
 * properties), badge.ts (its status), store-opener.ts (which store, opened how).
 * This file wires them to a route, messages, the message-completion hooks and
 * the admin routes.
 */
import type { StoredEvent } from '../../concur/event-journal';
import type { EventStore } from '../../concur/event-store';
import { EssReceiver, eventMessage, rejectedPayload, type Delivery, type Outcome } from '../../concur/ess-receiver';
import type { TlsSocketLike } from '../../concur/client-cert';
import type { RED as RedApi, Node, NodeMessage } from '../shared/red-types';
import { registerRoute, sendText, RouteConflictError, type RegisteredRoute, type RouteRequest, type RouteResponse } from '../shared/http-routes';
import { FlowCompletionTracker, type CompletionOutcome } from '../shared/flow-completion';
import { registerEssKeyInfoRoute } from '../shared/ess-key-info-route';
import { throttledWarn } from '../shared/warn-throttle';
import { receiverCounters, registerCountersRoute } from '../shared/receiver-counters';
import { manageSubscriptionOnDeploy, registerEssSubscriptionRoutes, type SubscriptionDef } from '../shared/ess-subscription-routes';
import { ThrottledStatus } from '../shared/status';
import { type EssCounts, essBadge } from './badge';
import { type EssInDef, essSettings, storeFile, TYPE } from './settings';
import { ReplayLoop } from './replay-loop';
import { EssStoreOpener, StoreOpenError, type StoreConfigNode } from './store-opener';
import { registerDeadLetterRoutes, type DeadLetterTarget } from './dead-letter-routes';

const MAINTENANCE_MS = 60_000;
const STARTUP_WAIT_MS = 15_000;
/** Retry delays of a store that failed to open (disk full, directory missing, database down): 1 s doubling to 60 s. */
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 60_000;

export = function (RED: RedApi) {
  // Editor helper: fingerprints of the built-in and pasted keys for the edit dialog.
  registerEssKeyInfoRoute(RED);
  // The dialog's subscription panel (list / save / delete through a deployed concur-config).
  registerEssSubscriptionRoutes(RED);
  registerCountersRoute(RED, 'concur-ess-event-in'); // GET <admin>/concur-ess-event-in/<id>/counters
  /** Running nodes, for the dead-letter admin routes (list, replay, discard: ./dead-letter-routes.ts). */
  const journals = new Map<string, () => DeadLetterTarget | undefined>();
  registerDeadLetterRoutes(RED, TYPE, journals);

  function ConcurEssEventIn(this: Node, def: EssInDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const counts: EssCounts = { accepted: 0, duplicate: 0, filtered: 0, rejected: 0, failed: 0, redelivered: 0 };
    // Live counters for the dialog and GET <admin>/concur-ess-event-in/<id>/counters (shared/receiver-counters).
    const live = receiverCounters(RED, node);
    live.gauges = () => ({ pending: journal?.pendingCount() ?? 0, dead: deadGauge });
    let route: RegisteredRoute | undefined;
    let tracker: FlowCompletionTracker | undefined;
    let journal: EventStore | undefined;
    let receiver: EssReceiver | undefined;
    let fatal: string | undefined;
    /** The store failed to open (disk full, database down) and start() retries: shown red, the route answers 503 meanwhile. */
    let storeRetry: { error: string; retryInSec: number } | undefined;
    /** Dead letters in the store (the counters' gauge; refreshed by the maintenance timer and on each failure). */
    let deadGauge = 0;
    let closing = false;
    let lastIssue: { text: string; fill: 'red' | 'yellow' } | undefined;
    const timers: NodeJS.Timeout[] = [];
    const deadLetters: DeadLetterTarget = {
      store: () => (tracker && !closing ? journal : undefined),
      emitReplayed: (ev) => redeliver(ev, true),
      room: () => (receiverOpts?.maxPending ?? 10000) - (journal?.pendingCount() ?? 0),
      changed: () => {
        refreshDeadGauge();
        status();
      },
    };
    const journalOf = () => deadLetters;
    journals.set(node.id, journalOf);

    // ---- configuration (errors are fatal for this node only: red status, route answers 503)
    const settings = essSettings(def);
    const { verifySignature, emitRejected, completionTimeoutMs, routePath, maxBodyBytes } = settings;
    const receiverOpts = settings.receiver;
    if (settings.configError) {
      fatal = settings.configError;
      node.error(`configuration error: ${fatal}`);
    }
    if (!verifySignature) node.warn('Concur-Signature verification is OFF: anyone who can reach this URL can inject events.');

    // ---- status badge (throttled: a burst of deliveries must not flood the editor)
    const badge = new ThrottledStatus(
      node,
      () =>
        essBadge({
          closing,
          fatal,
          storeRetry,
          storeHealth: journal?.health(),
          verifySignature,
          lastIssue,
          counts,
          pending: journal ? journal.pendingCount() : 0,
          fullPath: route?.fullPath,
        }),
      { leading: false },
    );
    const status = () => badge.update();

    // ---- throttled warnings: one per reason per 10 s, with a count of what was suppressed
    const warn = throttledWarn((text) => node.warn(text));

    // Register on deploy (optional): runs in the background, a failure only shows in the status.
    const subscription = manageSubscriptionOnDeploy(RED, node, def as SubscriptionDef, (problem) => {
      if (problem) lastIssue = { text: problem, fill: 'yellow' };
      else if (lastIssue?.text.startsWith('subscription')) lastIssue = undefined;
      status();
    });

    // ---- emission and completion
    const emit = (stored: StoredEvent, parsed?: Parameters<typeof eventMessage>[1], replayed = false) => {
      if (closing || !tracker) return;
      let fields: ReturnType<typeof eventMessage>;
      try {
        fields = eventMessage(stored, parsed);
      } catch (err) {
        // Only a store edited by hand can get here: keep the body as a dead letter.
        journal
          ?.markFailed(stored.id, `stored body does not parse: ${(err as Error).message}`)
          .catch((e) => warn('mark', `recording a dead letter failed (retried): ${(e as Error).message}`));
        counts.failed++;
        live.failed++;
        return status();
      }
      if (replayed) fields.concur.replayed = true; // an operator replayed this dead letter
      const msg: NodeMessage = { _msgid: RED.util.generateId(), ...fields };
      const id = msg._msgid as string;
      const t = tracker;
      // watch() never rejects; the catch keeps a throw in onTracked (e.g. a failing store) from escaping.
      t.watch(id, completionTimeoutMs)
        .then((o) => onTracked(stored.id, o))
        .catch((err) => node.error(`ESS event ${stored.id}: recording the flow outcome failed: ${(err as Error)?.message ?? err}`));
      try {
        node.send(emitRejected ? [msg, null] : msg);
      } finally {
        t.sent(id);
      }
    };
    /** A stored event emitted again (left over from the last run, taken over, or replayed from the dead letters). */
    const redeliver = (ev: StoredEvent, replayed = false) => {
      counts.redelivered++;
      live.redelivered++;
      emit(ev, undefined, replayed);
    };
    const onTracked = (key: string, o: CompletionOutcome) => {
      // 'closed' (redeploy, stop): the event stays pending in the journal and the next start emits it again.
      if (!journal || closing || (!o.ok && o.reason === 'closed')) return;
      const markFailed = (e: unknown) => {
        warn('mark', `recording the outcome of ESS event ${key} failed (retried): ${(e as Error)?.message ?? e}`);
        status();
      };
      if (o.ok) journal.markDone(key).catch(markFailed);
      else {
        const why = o.reason === 'error' ? o.message : `the flow did not complete within ${Math.round(completionTimeoutMs / 1000)} s`;
        journal.markFailed(key, why).then(() => refreshDeadGauge(), markFailed);
        counts.failed++;
        live.failed++;
        warn(o.reason, `ESS event ${key} moved to the dead-letter record: ${why}`);
      }
      status();
    };

    // ---- HTTP route (registered at once, so a request during startup waits instead of 404)
    let resolveReady!: () => void;
    const ready = new Promise<void>((r) => (resolveReady = r));
    const answer = (res: RouteResponse, outcome: Outcome) => {
      const headers: Record<string, string> = {};
      if (outcome.kind === 'rejected' && outcome.retryAfterSec) headers['Retry-After'] = String(outcome.retryAfterSec);
      if (outcome.kind === 'rejected' && outcome.status === 413) headers.Connection = 'close';
      sendText(res, outcome.status, outcome.text, headers);
    };
    const handle = async (req: RouteRequest, res: RouteResponse) => {
      live.received++;
      if ((req.method ?? '').toUpperCase() !== 'POST') {
        live.reject('method');
        return sendText(res, 405, 'only POST is supported', { Allow: 'POST' });
      }
      const receivedAt = Date.now();
      if (!receiver && !fatal && !storeRetry) {
        await Promise.race([ready, new Promise((r) => setTimeout(r, STARTUP_WAIT_MS).unref?.())]);
      }
      if (!receiver || closing) {
        live.reject(fatal ? 'misconfigured' : storeRetry ? 'store' : 'not-ready');
        const why = fatal ? 'receiver is misconfigured' : storeRetry ? 'event store unavailable, retrying' : 'receiver is not ready';
        return sendText(res, 503, why, { 'Retry-After': storeRetry ? String(Math.max(1, storeRetry.retryInSec)) : '30' });
      }
      const delivery: Delivery = {
        rawBody: req.concurRawBody,
        bodyError: req.concurBodyError,
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        remoteAddress: req.socket?.remoteAddress,
        socket: req.socket as unknown as TlsSocketLike,
      };
      const outcome = await receiver.handle(delivery);
      answer(res, outcome);
      switch (outcome.kind) {
        case 'accepted':
          counts.accepted++;
          live.accept();
          lastIssue = undefined;
          emit(outcome.stored, outcome.event);
          break;
        case 'duplicate':
          counts.duplicate++;
          live.duplicates++;
          break;
        case 'filtered':
          counts.filtered++;
          live.filtered++;
          break;
        case 'rejected':
          counts.rejected++;
          live.reject(outcome.category);
          lastIssue =
            outcome.category === 'capacity'
              ? { text: `${outcome.status} memory limit`, fill: 'red' }
              : { text: `${outcome.status} ${outcome.category}`, fill: outcome.category === 'store' ? 'red' : 'yellow' };
          warn(outcome.category, `rejected ESS delivery (${outcome.status}): ${outcome.reason}`);
          if (emitRejected && !closing) node.send([null, { payload: rejectedPayload(delivery, outcome, receivedAt), topic: 'rejected' }]);
          break;
      }
      status();
    };
    try {
      route = registerRoute(
        RED,
        {
          methods: ['POST'],
          allMethods: true,
          path: routePath,
          owner: { id: node.id, type: node.type },
          // Bodies without a usable Concur-Signature are refused unread (until the store is open: read, then 503).
          captureBody: { methods: ['POST'], limitBytes: maxBodyBytes, shouldRead: (req) => (receiver ? receiver.shouldReadBody(req.headers) : !fatal) },
        },
        handle,
        (err) => node.error(`ESS request failed: ${(err as Error)?.message ?? err}`),
      );
    } catch (err) {
      // Another node owns the path: this one stays idle (red status), the other keeps working.
      fatal = err instanceof RouteConflictError ? `path ${routePath} used by another node` : `cannot register ${routePath}: ${(err as Error).message}`;
      node.error(`cannot listen on ${routePath}: ${(err as Error).message}`);
    }

    // ---- open the store, then replay what the flow had not finished
    const opener = new EssStoreOpener({
      nodeId: node.id,
      def,
      settings,
      file: storeFile(RED.settings.userDir, node.id, def),
      storeNode: def.store ? (RED.nodes.getNode(String(def.store)) as unknown as StoreConfigNode | null) : undefined,
      isClosing: () => closing,
      warn: (text, issue) => {
        if (issue) lastIssue = { text: issue, fill: 'red' };
        node.warn(text);
      },
    });
    const shared = opener.shared;
    const refreshDeadGauge = () => {
      journal
        ?.counts()
        .then((c) => (deadGauge = c.dead))
        .catch(() => undefined); // the store's health shows in the status; the gauge keeps its last value
    };
    let replay: ReplayLoop | undefined;
    const start = async () => {
      if (fatal || !receiverOpts) return;
      const opened = await opener.open();
      if (!opened) return;
      journal = opened;
      if (closing) return; // the close handler closes the store once start() has settled
      if (!RED.hooks) throw new Error('this Node-RED has no message hooks (Node-RED 2 or later is required)');
      tracker = new FlowCompletionTracker(RED.hooks, `ess-${node.id}`, { onHookError: (err) => node.error(err) });
      receiver = new EssReceiver({ ...receiverOpts, store: opened });
      resolveReady();
      refreshDeadGauge();
      const maintenance = setInterval(() => {
        if (!journal || closing) return;
        journal.expire().catch((err) => warn('expire', `event store housekeeping failed: ${(err as Error).message}`));
        refreshDeadGauge();
      }, MAINTENANCE_MS);
      maintenance.unref?.();
      timers.push(maintenance);
      // Events stored but not finished before a crash or redeploy go out again once every node of the flow has started;
      // with a shared store, also (polled) the ones another instance claimed and could not finish.
      replay = new ReplayLoop({
        store: opened,
        shared,
        maxPending: receiverOpts.maxPending ?? 10000,
        events: RED.events,
        isClosing: () => closing,
        emit: (ev) => redeliver(ev),
        log: (text) => node.log(text),
        warn,
        status,
      });
      status();
    };

    // A store that fails to open (disk full, its directory missing or not writable, the
    // database down) is retried with backoff until it opens or the node closes: the
    // receiver recovers by itself once the cause is fixed, with no redeploy. Other start
    // errors are fatal.
    let retryTimer: NodeJS.Timeout | undefined;
    let wakeRetry: (() => void) | undefined;
    const started = (async () => {
      for (let delay = RETRY_MIN_MS; ; delay = Math.min(RETRY_MAX_MS, delay * 2)) {
        try {
          await start();
          if (storeRetry) node.log(`event store opened after: ${storeRetry.error}`);
          storeRetry = undefined;
          status();
          return;
        } catch (err) {
          if (!(err instanceof StoreOpenError) || closing) throw err;
          const first = !storeRetry;
          storeRetry = { error: err.message, retryInSec: Math.ceil(delay / 1000) };
          const where = opener.describe();
          if (first) node.error(`cannot open ${where}: ${err.message}; retrying every ${RETRY_MIN_MS / 1000}–${RETRY_MAX_MS / 1000} s`);
          else warn('store-open', `event store still unavailable: ${err.message}`);
          badge.paint();
          resolveReady(); // deliveries waiting for the start get their 503 now, not after 15 s
          await new Promise<void>((r) => {
            wakeRetry = r; // a close must not wait out the back-off
            retryTimer = setTimeout(r, delay);
          });
          retryTimer = undefined;
          wakeRetry = undefined;
          if (closing) return;
        }
      }
    })().catch((err) => {
      storeRetry = undefined;
      fatal = `event store: ${(err as Error).message}`;
      node.error(fatal);
      resolveReady();
      status();
    });
    if (fatal) status();
    else badge.paint();

    node.on('close', (removed: boolean, closeDone: () => void) => {
      // A removed node deletes its subscription (when asked to) before it reports closed.
      const unsubscribed = subscription.close(removed).catch((err) => node.warn(`ESS subscription: ${(err as Error).message}`));
      const done = () => void unsubscribed.finally(closeDone);
      closing = true;
      if (journals.get(node.id) === journalOf) journals.delete(node.id);
      live.release();
      route?.remove();
      tracker?.close();
      replay?.close();
      for (const t of timers) clearInterval(t);
      badge.close();
      if (retryTimer) clearTimeout(retryTimer);
      wakeRetry?.(); // a start waiting to retry ends now
      resolveReady();
      // Wait for a start still opening the store, then flush and close it; a
      // redeployed node with the same store waits on `closed` before opening it.
      const closed: Promise<void> = started
        .then(() => journal?.close())
        .catch((err) => node.error(`closing event store: ${(err as Error).message}`))
        .finally(() => {
          opener.closed(closed);
          node.status({});
          done();
        });
      opener.closing(closed);
      void removed;
    });
  }

  RED.nodes.registerType('concur-ess-event-in', ConcurEssEventIn);
};
