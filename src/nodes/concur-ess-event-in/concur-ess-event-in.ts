/**
 * Node-RED adapter for `concur-ess-event-in`: the ESS v4 webhook receiver.
 * Protocol decisions live in ../concur/ess-receiver.ts; the durable store in
 * ../concur/event-journal.ts. This file wires them to a route, messages, the
 * message-completion hooks and status badges.
 */
import * as path from 'node:path';
import * as os from 'node:os';
import type { RED as RedApi, Node, NodeDef, NodeMessage } from '../shared/red-types';
import { registerRoute, sendText, RouteConflictError, type RegisteredRoute, type RouteRequest, type RouteResponse } from '../shared/http-routes';
import { FlowCompletionTracker, type CompletionOutcome } from '../shared/flow-completion';
import { CONCUR_PUBLISHED_KEYS, CONCUR_WEBHOOK_CN } from '../../concur/ess-keys';
import { loadVerificationKeys, type KeySource, type SignaturePadding } from '../../concur/ess-signature';
import { compileFilter } from '../../concur/ess-envelope';
import { parseCertificates, parseList, type ClientCertPolicy, type TlsSocketLike } from '../../concur/client-cert';
import { parseTrustedProxies } from '../../concur/trusted-proxies';
import type { StoredEvent } from '../../concur/event-journal';
import { FileEventStore, type EventStore } from '../../concur/event-store';
import { PgEventStore } from '../../concur/pg-event-store';
import type { PgDatabase } from '../../concur/pg-database';
import { EssReceiver, eventMessage, rejectedPayload, type ClientCertMode, type Delivery, type Outcome } from '../../concur/ess-receiver';
import { registerEssKeyInfoRoute } from '../shared/ess-key-info-route';
import { throttledWarn } from '../shared/warn-throttle';
import { receiverCounters, registerCountersRoute } from '../shared/receiver-counters';
import { manageSubscriptionOnDeploy, registerEssSubscriptionRoutes, type SubscriptionDef } from '../shared/ess-subscription-routes';
import { numberOption } from '../shared/options';
import { ThrottledStatus, type Badge } from '../shared/status';
import { registerDeadLetterRoutes, type DeadLetterTarget } from './dead-letter-routes';

interface EssInDef extends NodeDef {
  path?: string;
  maxBodyKiB?: number | string;
  verifySignature?: boolean;
  signaturePadding?: SignaturePadding;
  signatureFailureStatus?: number | string;
  extraKeys?: string;
  acceptClientCertKey?: boolean;
  clientCertMode?: ClientCertMode;
  clientCertHeader?: string;
  allowedCNs?: string;
  allowedSerials?: string;
  headerCertIssuers?: string;
  trustedProxies?: string;
  topicFilter?: string;
  eventTypeFilter?: string;
  dedupeHours?: number | string;
  durability?: 'fsync' | 'write';
  storeName?: string;
  /** id of a concur-store config node (PostgreSQL); empty = the journal file. */
  store?: string;
  deadLetterMax?: number | string;
  dedupeMemoryMiB?: number | string;
  pendingMemoryMiB?: number | string;
  deadLetterMemoryMiB?: number | string;
  completionTimeout?: number | string;
  maxPending?: number | string;
  rejectOutput?: boolean;
  rejectStale?: boolean;
  [key: string]: unknown;
}

const DEFAULT_PATH = '/concur/ess';
/** Allowance for the sender's and our clock disagreeing, on top of the dedupe window. */
const CLOCK_SKEW_MS = 10 * 60_000;
/**
 * ESS retries a delivery for 72 hours (https://developer.concur.com/api-reference/ess/v4.event-subscription.html,
 * "Retry"): an event younger than that may be a first delivery that failed until now, so it is never
 * refused as stale (400 is dropped by ESS), even when the dedupe window is shorter.
 */
const ESS_RETRY_MS = 72 * 3600_000;
const MAINTENANCE_MS = 60_000;
const STARTUP_WAIT_MS = 15_000;
/** Retry delays of a store that failed to open (disk full, directory missing, database down): 1 s doubling to 60 s. */
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 60_000;
const MiB = 1024 * 1024;
/** Shared store: how often an instance looks for unclaimed events (a crashed instance's, after their lease). */
const CLAIM_POLL_MS = 1000;
const CLAIM_BATCH = 200;
/** A concur-store config node, as this adapter sees it (adapters never import each other). */
interface StoreConfigNode {
  database(): PgDatabase;
  release(): void;
  leaseMs?: number;
}

/** One node per store file at a time; a redeployed node waits for its predecessor to close the file. */
const stores = new Map<string, { owner: string; closed?: Promise<void> }>();

/** The store could not be opened (I/O: disk full, directory missing or not writable, database down); start() retries. */
class StoreOpenError extends Error {}

const TYPE = 'concur-ess-event-in';

function storeFile(RED: RedApi, node: { id: string }, def: EssInDef): string {
  const base = RED.settings.userDir || path.join(os.homedir(), '.node-red');
  const name =
    String(def.storeName ?? '')
      .trim()
      .replace(/[^A-Za-z0-9._-]/g, '_') || node.id.replace(/[^A-Za-z0-9._-]/g, '_');
  return path.join(base, 'concur-ess', `${name}.journal`);
}

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
    const counts = { accepted: 0, duplicate: 0, filtered: 0, rejected: 0, failed: 0, redelivered: 0 };
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
      emitReplayed: (ev) => {
        counts.redelivered++;
        live.redelivered++;
        emit(ev, undefined, true);
      },
      room: () => (receiverOpts?.maxPending ?? 10000) - (journal?.pendingCount() ?? 0),
      changed: () => {
        refreshDeadGauge();
        status();
      },
    };
    const journalOf = () => deadLetters;
    journals.set(node.id, journalOf);

    // ---- status badge (throttled: a burst of deliveries must not flood the editor)
    const renderStatus = (): Badge | undefined => {
      if (closing) return undefined;
      if (fatal) return { fill: 'red', shape: 'ring', text: fatal.slice(0, 60) };
      if (storeRetry) return { fill: 'red', shape: 'ring', text: `event store: ${storeRetry.error.slice(0, 40)} · retry in ${storeRetry.retryInSec} s` };
      const health = journal?.health();
      if (health && !health.ok) return { fill: 'red', shape: 'ring', text: `store: ${health.message ?? 'unavailable'}`.slice(0, 60) };
      const pending = journal ? journal.pendingCount() : 0;
      const parts = [`${counts.accepted} ok`];
      if (counts.duplicate) parts.push(`${counts.duplicate} dup`);
      if (counts.filtered) parts.push(`${counts.filtered} filtered`);
      if (counts.rejected) parts.push(`${counts.rejected} rejected`);
      if (counts.failed) parts.push(`${counts.failed} failed`);
      if (pending) parts.push(`${pending} pending`);
      let text = parts.join(', ');
      if (!verifySignature) return { fill: 'yellow', shape: 'ring', text: `signature check OFF · ${text}` };
      if (lastIssue) return { fill: lastIssue.fill, shape: 'ring', text: `${lastIssue.text.slice(0, 40)} · ${text}` };
      text = `${route ? route.fullPath : ''} · ${text}`;
      return { fill: 'green', shape: 'dot', text };
    };
    const badge = new ThrottledStatus(node, renderStatus, { leading: false });
    const status = () => badge.update();

    // ---- throttled warnings: one per reason per 10 s, with a count of what was suppressed
    const warn = throttledWarn((text) => node.warn(text));

    // ---- configuration (errors are fatal for this node only: red status, route answers 503)
    const verifySignature = def.verifySignature !== false;
    const emitRejected = def.rejectOutput === true;
    const completionTimeoutMs = numberOption(TYPE, 'completionTimeout', def.completionTimeout) * 1000;
    const file = storeFile(RED, node, def);
    let routePath = String(def.path ?? '').trim() || DEFAULT_PATH;
    if (!routePath.startsWith('/')) routePath = '/' + routePath;
    const dedupeWindowMs = numberOption(TYPE, 'dedupeHours', def.dedupeHours) * 3600_000;
    const maxBodyBytes = Math.round(numberOption(TYPE, 'maxBodyKiB', def.maxBodyKiB) * 1024);
    let receiverOpts: ConstructorParameters<typeof EssReceiver>[0] | undefined;
    try {
      const sources: KeySource[] = [];
      for (const k of CONCUR_PUBLISHED_KEYS) {
        const on = def[k.property];
        if (on === true || (on === undefined && k.enabledByDefault)) sources.push({ id: k.id, text: k.pem });
      }
      const extra = String(def.extraKeys ?? '');
      if (extra.trim()) sources.push({ id: 'user', text: extra });
      const { keys, errors } = loadVerificationKeys(sources);
      if (errors.length) throw new Error(errors.map((e) => e.message).join('; '));
      const acceptClientCertKey = def.acceptClientCertKey === true;
      const mode: ClientCertMode = def.clientCertMode === 'tls' || def.clientCertMode === 'header' ? def.clientCertMode : 'off';
      // The certificate's own key only counts where the certificate is proven (TLS): a header certificate is public.
      if (verifySignature && keys.length === 0 && !(acceptClientCertKey && mode === 'tls')) {
        throw new Error(
          acceptClientCertKey && mode === 'header'
            ? "signature verification is on but no key is enabled (the client certificate's key is not used in header mode)"
            : 'signature verification is on but no key is enabled',
        );
      }
      const trustedProxies = mode === 'header' ? parseTrustedProxies(def.trustedProxies) : undefined;
      if (trustedProxies && trustedProxies.entries.length === 0) {
        throw new Error('client certificate header mode needs the addresses of the trusted proxies');
      }
      const policy: ClientCertPolicy = {
        allowedCNs: def.allowedCNs === undefined ? [CONCUR_WEBHOOK_CN] : parseList(def.allowedCNs),
        allowedSerials: parseList(def.allowedSerials),
        trustedIssuers: mode === 'header' ? parseCertificates(def.headerCertIssuers, 'trusted issuers') : undefined,
      };
      const header =
        String(def.clientCertHeader ?? '')
          .trim()
          .toLowerCase() || 'x-forwarded-client-cert';
      if (mode === 'header' && !/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(header)) throw new Error(`"${header}" is not a valid header name`);
      receiverOpts = {
        store: undefined, // set once the store is open
        verifySignature,
        keys,
        padding: def.signaturePadding === 'pss' || def.signaturePadding === 'pkcs1' ? def.signaturePadding : 'any',
        signatureFailureStatus: Number(def.signatureFailureStatus) === 400 ? 400 : 401,
        acceptClientCertKey,
        clientCertMode: mode,
        clientCertHeader: header,
        clientCertPolicy: policy,
        trustedProxies,
        topicFilter: compileFilter(def.topicFilter, 'topic'),
        eventTypeFilter: compileFilter(def.eventTypeFilter, 'event type'),
        maxPending: Math.round(numberOption(TYPE, 'maxPending', def.maxPending)),
        // Older events than the dedupe window (+ clock skew) would be emitted again: refused (400),
        // but never one ESS may still be retrying for the first time (see ESS_RETRY_MS).
        maxEventAgeMs: def.rejectStale === false ? 0 : Math.max(dedupeWindowMs, ESS_RETRY_MS) + CLOCK_SKEW_MS,
      };
    } catch (err) {
      fatal = (err as Error).message;
      node.error(`configuration error: ${fatal}`);
    }
    if (!verifySignature) node.warn('Concur-Signature verification is OFF: anyone who can reach this URL can inject events.');

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
    const storeNode = def.store ? (RED.nodes.getNode(String(def.store)) as unknown as StoreConfigNode | null) : undefined;
    const shared = Boolean(def.store);
    const holder = shared ? undefined : stores.get(file);
    const deadLetterMax = Math.round(numberOption(TYPE, 'deadLetterMax', def.deadLetterMax));
    // Ids are kept for the clock-skew allowance too, so no replay falls between forgetting an id and refusing it as stale.
    const keepIdsMs = dedupeWindowMs + CLOCK_SKEW_MS;
    let db: PgDatabase | undefined;
    let releaseDb: (() => void) | undefined;
    /** Opens the configured store; an I/O failure (disk full, database down) is a StoreOpenError, which start() retries. */
    const openStore = async (): Promise<EventStore | undefined> => {
      if (shared) {
        if (!storeNode || typeof storeNode.database !== 'function') throw new Error('the selected store (concur-store) is missing or not deployed');
        if (!db) {
          db = storeNode.database();
          releaseDb = () => storeNode.release();
        }
        const stream = String(def.storeName ?? '').trim() || node.id;
        try {
          return await PgEventStore.open(db, { stream, dedupeWindowMs: keepIdsMs, deadLetterMax, leaseMs: storeNode.leaseMs });
        } catch (err) {
          throw new StoreOpenError(`${db.location}: ${(err as Error).message}`);
        }
      }
      if (holder && holder.owner !== node.id && !holder.closed) {
        throw new Error(`store "${path.basename(file)}" is already used by node ${holder.owner}; set a different store name`);
      }
      if (holder?.closed) await holder.closed; // our predecessor (redeploy) is still closing the file
      if (closing) return undefined;
      stores.set(file, { owner: node.id });
      let fileStore: FileEventStore;
      try {
        fileStore = await FileEventStore.open({
          file,
          dedupeWindowMs: keepIdsMs,
          sync: def.durability !== 'write',
          deadLetterMax,
          dedupeMemoryBytes: Math.round(numberOption(TYPE, 'dedupeMemoryMiB', def.dedupeMemoryMiB) * MiB),
          pendingMaxBytes: Math.round(numberOption(TYPE, 'pendingMemoryMiB', def.pendingMemoryMiB) * MiB),
          deadLetterMaxBytes: Math.round(numberOption(TYPE, 'deadLetterMemoryMiB', def.deadLetterMemoryMiB) * MiB),
        });
      } catch (err) {
        throw new StoreOpenError((err as Error).message);
      }
      const st = fileStore.journal.getStats();
      if (st.corruptLines || st.tornTailBytes) {
        node.warn(
          `event store ${path.basename(file)}: skipped ${st.corruptLines} unreadable line(s) and a ${st.tornTailBytes}-byte torn tail (never acknowledged)`,
        );
      }
      // Already over the dedupe memory limit (a lower limit, or ids replayed from a busier time): say so now, not at the first 503.
      const mem = fileStore.journal.memory();
      if (mem.dedupe >= mem.limits.dedupe) {
        lastIssue = { text: '503 memory limit', fill: 'red' };
        node.warn(
          `event store ${path.basename(file)}: the ids in the dedupe window take ${Math.round(mem.dedupe / MiB)} MiB, over the ${Math.round(mem.limits.dedupe / MiB)} MiB "Dedupe memory" limit; new events get 503 until old ids leave the window (raise the limit or shorten the window)`,
        );
      }
      return fileStore;
    };
    const refreshDeadGauge = () => {
      journal
        ?.counts()
        .then((c) => (deadGauge = c.dead))
        .catch(() => undefined); // the store's health shows in the status; the gauge keeps its last value
    };
    const start = async () => {
      if (fatal || !receiverOpts) return;
      const opened = await openStore();
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
      scheduleReplay();
      status();
    };

    // Events stored but not finished before a crash or redeploy go out again once every node of the flow has started;
    // with a shared store, also (polled) the ones another instance claimed and could not finish.
    let replayListener: (() => void) | undefined;
    const scheduleReplay = () => {
      let started = false;
      let claiming = false;
      const claim = async () => {
        if (claiming || closing || !journal) return;
        claiming = true;
        try {
          for (;;) {
            if (closing || !journal) return;
            // The journal's leftovers count as pending already; a shared store counts only this instance's claims.
            const room = shared ? Math.min(CLAIM_BATCH, (receiverOpts?.maxPending ?? 10000) - journal.pendingCount()) : CLAIM_BATCH;
            if (room <= 0) return;
            const batch = await journal.claimPending(room);
            if (batch.length === 0) return;
            if (closing) return; // a shared store gives the claims back on close
            node.log(
              `re-emitting ${batch.length} ESS event(s) stored but not completed${shared ? ' (left over or taken over from another instance)' : ' before the last stop'}`,
            );
            for (const ev of batch) {
              counts.redelivered++;
              live.redelivered++;
              emit(ev);
            }
            status();
            await new Promise((r) => setImmediate(r));
          }
        } catch (err) {
          warn('claim', `looking for stored events to emit failed (retried): ${(err as Error).message}`);
          status();
        } finally {
          claiming = false;
        }
      };
      const run = () => {
        if (started || closing || !journal) return;
        started = true;
        RED.events?.removeListener('flows:started', run);
        void claim();
        if (shared) {
          const poll = setInterval(() => {
            void claim();
            status(); // the store's health recovers by itself; show it
          }, CLAIM_POLL_MS);
          poll.unref?.();
          timers.push(poll);
        }
      };
      replayListener = run;
      RED.events?.on('flows:started', run);
      const t = setTimeout(run, 1000); // flows:started has already fired when only this node was (re)started
      t.unref?.();
      timers.push(t);
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
          const where = shared ? 'event store' : `event store ${file}`;
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
      if (replayListener) RED.events?.removeListener('flows:started', replayListener);
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
          releaseDb?.();
          const cur = shared ? undefined : stores.get(file);
          if (cur && cur.closed === closed) stores.delete(file);
          node.status({});
          done();
        });
      if (!shared) {
        const cur = stores.get(file);
        if (!cur || cur.owner === node.id) stores.set(file, { owner: node.id, closed });
      }
      void removed;
    });
  }

  RED.nodes.registerType('concur-ess-event-in', ConcurEssEventIn);
};
