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
import { EventJournal, type StoredEvent } from '../../concur/event-journal';
import { EssReceiver, eventMessage, rejectedPayload, type ClientCertMode, type Delivery, type Outcome } from '../../concur/ess-receiver';
import { registerEssKeyInfoRoute } from '../shared/ess-key-info-route';
import { numberOption } from '../shared/options';
import { needsPermission } from '../shared/permissions';
import { ThrottledStatus, type Badge } from '../shared/status';

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
  topicFilter?: string;
  eventTypeFilter?: string;
  dedupeHours?: number | string;
  durability?: 'fsync' | 'write';
  storeName?: string;
  deadLetterMax?: number | string;
  completionTimeout?: number | string;
  maxPending?: number | string;
  rejectOutput?: boolean;
  [key: string]: unknown;
}

const DEFAULT_PATH = '/concur/ess';
const MAINTENANCE_MS = 60_000;
const WARN_THROTTLE_MS = 10_000;
const STARTUP_WAIT_MS = 15_000;

/** One node per store file at a time; a redeployed node waits for its predecessor to close the file. */
const stores = new Map<string, { owner: string; closed?: Promise<void> }>();

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
  /** Running nodes' journals, for the dead-letter admin endpoint. */
  const journals = new Map<string, () => EventJournal | undefined>();

  // GET <httpAdminRoot>/concur-ess-event-in/<node id>/dead-letters: the kept dead letters
  // (event bodies and failure reasons; no secrets), so an operator can recover them.
  const needsRead = needsPermission(RED, 'concur-ess-event-in.read');
  RED.httpAdmin.get('/concur-ess-event-in/:id/dead-letters', needsRead, (req: { params: { id: string } }, res: RouteResponse) => {
    const j = journals.get(String(req.params.id))?.();
    if (!j) return sendText(res, 404, 'no running concur-ess-event-in node with this id');
    const body = JSON.stringify(
      j.deadLetters().map((d) => ({
        id: d.id,
        reason: d.reason,
        failedAt: new Date(d.failedAt).toISOString(),
        receivedAt: new Date(d.receivedAt).toISOString(),
        deliveryCount: d.deliveryCount,
        meta: d.meta,
        body: d.body,
      })),
    );
    res.statusCode = 200;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(body);
  });

  function ConcurEssEventIn(this: Node, def: EssInDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const counts = { accepted: 0, duplicate: 0, filtered: 0, rejected: 0, failed: 0, redelivered: 0 };
    let route: RegisteredRoute | undefined;
    let tracker: FlowCompletionTracker | undefined;
    let journal: EventJournal | undefined;
    let receiver: EssReceiver | undefined;
    let fatal: string | undefined;
    let closing = false;
    let lastIssue: { text: string; fill: 'red' | 'yellow' } | undefined;
    const timers: NodeJS.Timeout[] = [];
    const journalOf = () => journal;
    journals.set(node.id, journalOf);

    // ---- status badge (throttled: a burst of deliveries must not flood the editor)
    const renderStatus = (): Badge | undefined => {
      if (closing) return undefined;
      if (fatal) return { fill: 'red', shape: 'ring', text: fatal.slice(0, 60) };
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
    const warned = new Map<string, { at: number; suppressed: number }>();
    const warn = (key: string, text: string) => {
      const now = Date.now();
      const w = warned.get(key);
      if (w && now - w.at < WARN_THROTTLE_MS) {
        w.suppressed++;
        return;
      }
      const extra = w && w.suppressed ? ` (${w.suppressed} similar suppressed)` : '';
      warned.set(key, { at: now, suppressed: 0 });
      node.warn(text + extra);
    };

    // ---- configuration (errors are fatal for this node only: red status, route answers 503)
    const verifySignature = def.verifySignature !== false;
    const emitRejected = def.rejectOutput === true;
    const completionTimeoutMs = numberOption(TYPE, 'completionTimeout', def.completionTimeout) * 1000;
    const file = storeFile(RED, node, def);
    let routePath = String(def.path ?? '').trim() || DEFAULT_PATH;
    if (!routePath.startsWith('/')) routePath = '/' + routePath;
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
      if (verifySignature && keys.length === 0 && !(acceptClientCertKey && mode !== 'off')) {
        throw new Error('signature verification is on but no key is enabled');
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
        journal: undefined as unknown as EventJournal, // set once the store is open
        verifySignature,
        keys,
        padding: def.signaturePadding === 'pss' || def.signaturePadding === 'pkcs1' ? def.signaturePadding : 'any',
        signatureFailureStatus: Number(def.signatureFailureStatus) === 400 ? 400 : 401,
        acceptClientCertKey,
        clientCertMode: mode,
        clientCertHeader: header,
        clientCertPolicy: policy,
        topicFilter: compileFilter(def.topicFilter, 'topic'),
        eventTypeFilter: compileFilter(def.eventTypeFilter, 'event type'),
        maxPending: Math.round(numberOption(TYPE, 'maxPending', def.maxPending)),
      };
    } catch (err) {
      fatal = (err as Error).message;
      node.error(`configuration error: ${fatal}`);
    }
    if (!verifySignature) node.warn('Concur-Signature verification is OFF: anyone who can reach this URL can inject events.');

    // ---- emission and completion
    const emit = (stored: StoredEvent, parsed?: Parameters<typeof eventMessage>[1]) => {
      if (closing || !tracker) return;
      let fields: ReturnType<typeof eventMessage>;
      try {
        fields = eventMessage(stored, parsed);
      } catch (err) {
        // Only a store edited by hand can get here: keep the body as a dead letter.
        journal?.markFailed(stored.id, `stored body does not parse: ${(err as Error).message}`);
        counts.failed++;
        return status();
      }
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
      if (o.ok) journal.markDone(key);
      else {
        const why = o.reason === 'error' ? o.message : `the flow did not complete within ${Math.round(completionTimeoutMs / 1000)} s`;
        journal.markFailed(key, why);
        counts.failed++;
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
      if ((req.method ?? '').toUpperCase() !== 'POST') {
        return sendText(res, 405, 'only POST is supported', { Allow: 'POST' });
      }
      const receivedAt = Date.now();
      if (!receiver && !fatal) {
        await Promise.race([ready, new Promise((r) => setTimeout(r, STARTUP_WAIT_MS).unref?.())]);
      }
      if (!receiver || closing) {
        return sendText(res, 503, fatal ? 'receiver is misconfigured' : 'receiver is not ready', { 'Retry-After': '30' });
      }
      const delivery: Delivery = {
        rawBody: req.concurRawBody,
        bodyError: req.concurBodyError,
        headers: req.headers,
        socket: req.socket as unknown as TlsSocketLike,
      };
      const outcome = await receiver.handle(delivery);
      answer(res, outcome);
      switch (outcome.kind) {
        case 'accepted':
          counts.accepted++;
          lastIssue = undefined;
          emit(outcome.stored, outcome.event);
          break;
        case 'duplicate':
          counts.duplicate++;
          break;
        case 'filtered':
          counts.filtered++;
          break;
        case 'rejected':
          counts.rejected++;
          lastIssue = { text: `${outcome.status} ${outcome.category}`, fill: outcome.category === 'store' ? 'red' : 'yellow' };
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
          captureBody: { methods: ['POST'], limitBytes: maxBodyBytes },
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
    const holder = stores.get(file);
    const start = async () => {
      if (fatal || !receiverOpts) return;
      if (holder && holder.owner !== node.id && !holder.closed) {
        throw new Error(`store "${path.basename(file)}" is already used by node ${holder.owner}; set a different store name`);
      }
      if (holder?.closed) await holder.closed; // our predecessor (redeploy) is still closing the file
      if (closing) return;
      stores.set(file, { owner: node.id });
      journal = await EventJournal.open({
        file,
        dedupeWindowMs: numberOption(TYPE, 'dedupeHours', def.dedupeHours) * 3600_000,
        sync: def.durability !== 'write',
        deadLetterMax: Math.round(numberOption(TYPE, 'deadLetterMax', def.deadLetterMax)),
      });
      if (closing) return; // the close handler closes the store once start() has settled
      // Snapshot before the receiver accepts anything: only events left over from the
      // previous run are replayed, never ones this run accepts (and emits) meanwhile.
      const leftOver = journal.pendingEvents();
      if (!RED.hooks) throw new Error('this Node-RED has no message hooks (Node-RED 2 or later is required)');
      tracker = new FlowCompletionTracker(RED.hooks, `ess-${node.id}`, { onHookError: (err) => node.error(err) });
      receiver = new EssReceiver({ ...receiverOpts, journal });
      const st = journal.getStats();
      if (st.corruptLines || st.tornTailBytes) {
        node.warn(
          `event store ${path.basename(file)}: skipped ${st.corruptLines} unreadable line(s) and a ${st.tornTailBytes}-byte torn tail (never acknowledged)`,
        );
      }
      resolveReady();
      const maintenance = setInterval(() => {
        if (!journal || closing) return;
        journal.prune();
        journal.maybeCompact().catch((err) => warn('compact', `event store compaction failed: ${(err as Error).message}`));
      }, MAINTENANCE_MS);
      maintenance.unref?.();
      timers.push(maintenance);
      scheduleReplay(leftOver);
      status();
    };

    // Events stored but not finished before a crash or redeploy go out again once every node of the flow has started.
    let replayListener: (() => void) | undefined;
    const scheduleReplay = (pending: StoredEvent[]) => {
      if (pending.length === 0) return;
      let done = false;
      const run = () => {
        if (done || closing || !journal) return;
        done = true;
        RED.events?.removeListener('flows:started', run);
        if (pending.length) node.log(`re-emitting ${pending.length} ESS event(s) stored but not completed before the last stop`);
        let i = 0;
        const batch = () => {
          if (closing || !journal) return;
          for (const end = Math.min(i + 200, pending.length); i < end; i++) {
            const ev = pending[i];
            if (journal.lookup(ev.id) !== 'pending') continue;
            journal.redelivered(ev.id);
            counts.redelivered++;
            emit(ev);
          }
          if (i < pending.length) setImmediate(batch);
          status();
        };
        batch();
      };
      replayListener = run;
      RED.events?.on('flows:started', run);
      const t = setTimeout(run, 1000); // flows:started has already fired when only this node was (re)started
      t.unref?.();
      timers.push(t);
    };

    const started = start().catch((err) => {
      fatal = `event store: ${(err as Error).message}`;
      node.error(fatal);
      resolveReady();
      status();
    });
    if (fatal) status();
    else badge.paint();

    node.on('close', (removed: boolean, done: () => void) => {
      closing = true;
      if (journals.get(node.id) === journalOf) journals.delete(node.id);
      route?.remove();
      tracker?.close();
      if (replayListener) RED.events?.removeListener('flows:started', replayListener);
      for (const t of timers) clearTimeout(t);
      badge.close();
      resolveReady();
      // Wait for a start still opening the store, then flush and close it; a
      // redeployed node with the same store waits on `closed` before opening it.
      const closed: Promise<void> = started
        .then(() => journal?.close())
        .catch((err) => node.error(`closing event store: ${(err as Error).message}`))
        .finally(() => {
          const cur = stores.get(file);
          if (cur && cur.closed === closed) stores.delete(file);
          node.status({});
          done();
        });
      const cur = stores.get(file);
      if (!cur || cur.owner === node.id) stores.set(file, { owner: node.id, closed });
      void removed;
    });
  }

  RED.nodes.registerType('concur-ess-event-in', ConcurEssEventIn);
};
