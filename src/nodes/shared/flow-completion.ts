/**
 * Tells when the flow has finished with a message a node sent, using Node-RED's
 * message hooks. Serves both receivers: the legacy one answers Concur's callout
 * only then ("ack after flow completes"), the ESS one marks the journalled event
 * done or dead-letters it.
 *
 * Why not "the first done() for this _msgid": in a chain A → B → C, node A calls
 * done() as soon as it has passed the message on, long before C has finished. So
 * we count outstanding deliveries of the message (and of its clones, which keep
 * the same _msgid):
 *   - preDeliver (the router found a destination; fires when the sender calls
 *     send(), i.e. before its done()) puts one delivery in transit to that node;
 *   - onReceive turns an in-transit delivery into "being handled", or counts a
 *     hand-over without a send (link in, catch, complete nodes call receive());
 *   - onComplete (the node called done()) ends one handling; done(err) fails the
 *     message at once;
 *   - postReceive ends the handling by a node whose input handler does not take
 *     `done` (core switch and rbe, older contrib nodes): Node-RED never fires
 *     onComplete for those. Messages it sent synchronously were counted first;
 *     if it sent nothing, it may still send later (the switch queues messages
 *     while busy, JSONata rules run asynchronously), so the handling ends only
 *     after `lateSendGraceMs` or at its next send of the message.
 * Zero outstanding for two event-loop turns (plus `settleMs`, 0 by default)
 * means finished.
 *
 * Hooks run on every delivery of every flow in the runtime, so all trackers of
 * a process share ONE set of four hooks, registered only while some tracker is
 * waiting on a message (and removed after `HOOKS_IDLE_MS` without one): a
 * receiver that is idle, or acks on receipt, costs other flows nothing.
 *
 * Limits (documented in both nodes' help): a node that never calls done() although
 * its handler takes it holds the message until the timeout; a node that sends the
 * message on after calling done() (or a done-less node after the grace period)
 * may let the flow count as finished early; errors a done-less node reports only
 * with node.error() are not seen; a node that builds a new message (new _msgid)
 * ends tracking there.
 */

export interface HooksApi {
  add(id: string, fn: (event: any) => unknown): void;
  remove(id: string): void;
}

export type CompletionOutcome =
  | { ok: true }
  | { ok: false; reason: 'error'; error: unknown; message: string; nodeId?: string }
  | { ok: false; reason: 'timeout' | 'closed' };

export interface FlowCompletionOptions {
  /** Called with errors thrown inside our hook callbacks (they are never rethrown). */
  onHookError?: (err: unknown) => void;
  /** Quiet time (ms) after the count reaches zero, on top of two event-loop turns. */
  settleMs?: number;
  /** How long a done-less node that returned without sending may still send the message on. */
  lateSendGraceMs?: number;
  /** Keep the shared hooks this long after the last watched message finished (default HOOKS_IDLE_MS). */
  hooksIdleMs?: number;
}

/**
 * Extra quiet time after two event-loop turns. 0: completion is event-driven
 * (the turns cover core's setImmediate delivery); the former 10 ms cost the
 * legacy receiver's "ack after flow completes" mode ~75% of its throughput.
 */
export const DEFAULT_SETTLE_MS = 0;
export const DEFAULT_LATE_SEND_GRACE_MS = 100;
/** How long the shared hooks stay registered after the last watched message finished (avoids add/remove churn: Node-RED's hooks.add builds a stack trace). */
export const HOOKS_IDLE_MS = 1000;

interface Watch {
  msgId: string;
  /** Deliveries routed to a node (by destination id) and not yet received. */
  inTransit: Map<string, number>;
  inTransitTotal: number;
  /** Handlings in progress (received, not yet done). */
  active: number;
  /** Messages each node has sent (by source id), to see whether a done-less node passed it on. */
  sendsFrom: Map<string, number>;
  /** Done-less nodes that returned without sending: their handling ends at a timer or their next send. */
  late: Map<string, NodeJS.Timeout[]>;
  /** Bumped on every event, so a pending settle check can tell nothing happened meanwhile. */
  generation: number;
  settling: boolean;
  timer?: NodeJS.Timeout;
  resolve(o: CompletionOutcome): void;
}

interface NoDoneHandling {
  watch: Watch;
  nodeId: string;
  sendsAtStart: number;
}

const HOOK_NAMES = ['preDeliver', 'onReceive', 'postReceive', 'onComplete'] as const;
type HookName = (typeof HOOK_NAMES)[number];

/**
 * The one set of message hooks per hooks registry (i.e. per Node-RED runtime),
 * dispatching each event to the tracker watching that _msgid.
 */
class SharedHooks {
  private static readonly byApi = new WeakMap<HooksApi, SharedHooks>();
  static for(api: HooksApi): SharedHooks {
    let s = SharedHooks.byApi.get(api);
    if (!s) {
      s = new SharedHooks(api);
      SharedHooks.byApi.set(api, s);
    }
    return s;
  }

  /** Which tracker watches a message id. */
  readonly owners = new Map<string, FlowCompletionTracker>();
  readonly label = `concurFlowCompletion-${Math.random().toString(36).slice(2, 10)}`;
  private registered = false;
  private idleTimer: NodeJS.Timeout | undefined;

  private constructor(private readonly api: HooksApi) {}

  get active(): boolean {
    return this.registered;
  }

  watch(msgId: string, t: FlowCompletionTracker): void {
    this.owners.set(msgId, t);
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
    }
    if (!this.registered) this.register(t);
  }

  unwatch(msgId: string, t: FlowCompletionTracker, idleMs: number): void {
    if (this.owners.get(msgId) === t) this.owners.delete(msgId);
    if (this.owners.size > 0 || !this.registered) return;
    if (idleMs <= 0) return this.unregister(t);
    if (!this.idleTimer) {
      this.idleTimer = setTimeout(() => {
        this.idleTimer = undefined;
        if (this.owners.size === 0) this.unregister(t);
      }, idleMs);
      this.idleTimer.unref?.();
    }
  }

  private register(reporter: FlowCompletionTracker): void {
    this.registered = true;
    for (const name of HOOK_NAMES) {
      try {
        // One argument, returns undefined: synchronous, and never `false` (which would halt the message for every flow).
        this.api.add(`${name}.${this.label}`, (ev: unknown) => this.dispatch(name, ev));
      } catch (err) {
        reporter.reportHookError(err);
      }
    }
  }

  private unregister(reporter: FlowCompletionTracker): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.registered = false;
    for (const name of HOOK_NAMES) {
      try {
        this.api.remove(`${name}.${this.label}`);
      } catch (err) {
        reporter.reportHookError(err);
      }
    }
  }

  private dispatch(name: HookName, ev: unknown): undefined {
    const id = msgIdOf(ev);
    const t = id === undefined ? undefined : this.owners.get(id);
    if (t) t.hookEvent(name, ev);
    return undefined;
  }
}

function msgIdOf(ev: unknown): string | undefined {
  const id = (ev as { msg?: { _msgid?: unknown } } | null | undefined)?.msg?._msgid;
  return typeof id === 'string' ? id : undefined;
}

function idOf(end: unknown): string {
  const id = (end as { id?: unknown } | null | undefined)?.id;
  return typeof id === 'string' ? id : '';
}

/**
 * Whether Node-RED will report this node's completion (onComplete). Node-RED 4
 * and 5 count done() only for input handlers declared with three parameters
 * (msg, send, done): `_expectedDoneCount` is the number of those. Returns
 * undefined when the runtime's internals are not recognised (then we assume it
 * calls done: a timeout is safer than finishing early).
 */
export function handlerCallsDone(node: unknown): boolean | undefined {
  if (!node || typeof node !== 'object') return undefined;
  const n = node as { _expectedDoneCount?: unknown; _inputCallback?: unknown; _inputCallbacks?: unknown };
  if (typeof n._expectedDoneCount === 'number') return n._expectedDoneCount > 0;
  const callbacks = Array.isArray(n._inputCallbacks) ? n._inputCallbacks : typeof n._inputCallback === 'function' ? [n._inputCallback] : undefined;
  if (!callbacks) return undefined;
  return callbacks.some((cb) => typeof cb === 'function' && cb.length >= 3);
}

/** Readable text of a done(err) value; errors from the Function node's sandbox are not `instanceof Error`. */
export function errorText(err: unknown): string {
  if (typeof err === 'string') return err;
  const m = (err as { message?: unknown } | null)?.message;
  if (typeof m === 'string' && m) return m;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}

export class FlowCompletionTracker {
  private readonly watches = new Map<string, Watch>();
  /** Receive events of done-less nodes, matched again at postReceive (same event object). */
  private readonly noDone = new WeakMap<object, NoDoneHandling>();
  private readonly shared: SharedHooks;
  private readonly onHookError: (err: unknown) => void;
  private readonly settleMs: number;
  private readonly lateSendGraceMs: number;
  private readonly hooksIdleMs: number;
  private closed = false;

  /**
   * @param labelSeed names this tracker in diagnostics (the hooks themselves are
   *   shared by every tracker on this hooks registry, under one dot-free label:
   *   Node-RED splits hook ids on the first "." as `onComplete.<label>`).
   */
  constructor(
    hooks: HooksApi,
    readonly labelSeed: string,
    opts: FlowCompletionOptions = {},
  ) {
    this.onHookError = opts.onHookError ?? (() => undefined);
    this.settleMs = Math.max(0, opts.settleMs ?? DEFAULT_SETTLE_MS);
    this.lateSendGraceMs = Math.max(0, opts.lateSendGraceMs ?? DEFAULT_LATE_SEND_GRACE_MS);
    this.hooksIdleMs = Math.max(0, opts.hooksIdleMs ?? HOOKS_IDLE_MS);
    this.shared = SharedHooks.for(hooks);
  }

  /** The label of the shared hooks (for tests and diagnostics). */
  get hookLabel(): string {
    return this.shared.label;
  }

  /** Whether the shared hooks are registered right now (only while some tracker waits on a message, plus the idle delay). */
  get hooksActive(): boolean {
    return this.shared.active;
  }

  /** @internal Called by the shared hooks with an event for a message this tracker watches. */
  hookEvent(name: HookName, ev: unknown): void {
    this.guard(() => {
      if (name === 'preDeliver') this.onPreDeliver(ev);
      else if (name === 'onReceive') this.onReceive(ev);
      else if (name === 'postReceive') this.onPostReceive(ev);
      else this.onComplete(ev);
    });
  }

  /** @internal */
  reportHookError(err: unknown): void {
    this.onHookError(err);
  }

  /** Messages still in the flow. */
  get pendingCount(): number {
    return this.watches.size;
  }

  /**
   * Starts watching `msgId`: call before node.send(msg), then sent(msgId) right
   * after it. `timeoutMs` <= 0 means no timeout. Resolves exactly once, never rejects.
   */
  watch(msgId: string, timeoutMs: number): Promise<CompletionOutcome> {
    return new Promise<CompletionOutcome>((resolve) => {
      if (this.closed) return resolve({ ok: false, reason: 'closed' });
      this.finish(msgId, { ok: false, reason: 'closed' }); // a reused id must not leave a promise hanging
      const w: Watch = {
        msgId,
        inTransit: new Map(),
        inTransitTotal: 0,
        active: 0,
        sendsFrom: new Map(),
        late: new Map(),
        generation: 0,
        settling: false,
        resolve,
      };
      if (timeoutMs > 0) {
        w.timer = setTimeout(() => this.finish(msgId, { ok: false, reason: 'timeout' }), timeoutMs);
        w.timer.unref?.();
      }
      this.watches.set(msgId, w);
      this.shared.watch(msgId, this); // registers the shared hooks before the caller's send()
    });
  }

  /** After node.send: if nothing was delivered (no wires), the flow is already complete. */
  sent(msgId: string): void {
    const w = this.watches.get(msgId);
    if (w) this.maybeSettle(w);
  }

  /** Answers every pending watch with 'closed'; the shared hooks go at once if no other tracker waits on a message. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.watches.keys()]) this.finish(id, { ok: false, reason: 'closed' }, 0);
    this.shared.unwatch('', this, 0);
  }

  private guard(fn: () => void): undefined {
    try {
      fn();
    } catch (err) {
      this.onHookError(err);
    }
    return undefined;
  }

  private watchOf(ev: unknown): Watch | undefined {
    // (The shared dispatcher only calls us for our ids; the lookup also drops finished ones.)
    const id = msgIdOf(ev);
    return id === undefined ? undefined : this.watches.get(id);
  }

  private onPreDeliver(ev: unknown): void {
    const w = this.watchOf(ev);
    if (!w) return;
    w.generation++;
    const e = ev as { source?: unknown; destination?: unknown };
    const dest = idOf(e.destination);
    w.inTransit.set(dest, (w.inTransit.get(dest) ?? 0) + 1);
    w.inTransitTotal++;
    const src = idOf(e.source);
    if (!src) return;
    w.sendsFrom.set(src, (w.sendsFrom.get(src) ?? 0) + 1);
    // A done-less node we were giving time to send the message on just did.
    const timers = w.late.get(src);
    if (timers) {
      clearTimeout(timers.shift());
      if (timers.length === 0) w.late.delete(src);
      w.active = Math.max(0, w.active - 1);
    }
  }

  private onReceive(ev: unknown): void {
    const w = this.watchOf(ev);
    if (!w) return;
    w.generation++;
    const destination = (ev as { destination?: { id?: unknown; node?: unknown } }).destination;
    const dest = idOf(destination);
    const n = w.inTransit.get(dest) ?? 0;
    if (n > 0) {
      if (n === 1) w.inTransit.delete(dest);
      else w.inTransit.set(dest, n - 1);
      w.inTransitTotal--;
    }
    // Counted either way: a delivery we saw routed, or a hand-over without a send (link in, catch, complete).
    w.active++;
    if (handlerCallsDone(destination?.node) === false && ev && typeof ev === 'object') {
      this.noDone.set(ev, { watch: w, nodeId: dest, sendsAtStart: w.sendsFrom.get(dest) ?? 0 });
    }
  }

  /** Node-RED calls postReceive right after the node's input handler(s) returned. */
  private onPostReceive(ev: unknown): void {
    if (!ev || typeof ev !== 'object') return;
    const h = this.noDone.get(ev);
    if (!h) return;
    this.noDone.delete(ev);
    const w = h.watch;
    if (this.watches.get(w.msgId) !== w) return;
    w.generation++;
    if ((w.sendsFrom.get(h.nodeId) ?? 0) > h.sendsAtStart || this.lateSendGraceMs === 0) {
      // It passed the message on (already counted) or dropped it: its handling is over.
      w.active = Math.max(0, w.active - 1);
      this.maybeSettle(w);
      return;
    }
    const timers = w.late.get(h.nodeId) ?? [];
    const t = setTimeout(() => {
      const list = w.late.get(h.nodeId);
      const i = list ? list.indexOf(t) : -1;
      if (i < 0 || this.watches.get(w.msgId) !== w) return;
      list!.splice(i, 1);
      if (list!.length === 0) w.late.delete(h.nodeId);
      w.generation++;
      w.active = Math.max(0, w.active - 1);
      this.maybeSettle(w);
    }, this.lateSendGraceMs);
    t.unref?.();
    timers.push(t);
    w.late.set(h.nodeId, timers);
  }

  private onComplete(ev: unknown): void {
    const w = this.watchOf(ev);
    if (!w) return;
    const e = ev as { error?: unknown; node?: { id?: unknown } };
    if (e.error) {
      const nodeId = idOf(e.node) || undefined;
      this.finish(w.msgId, { ok: false, reason: 'error', error: e.error, message: errorText(e.error), nodeId });
      return;
    }
    w.generation++;
    w.active = Math.max(0, w.active - 1);
    this.maybeSettle(w);
  }

  /** Declares completion only if nothing happens for two event-loop turns plus settleMs. */
  private maybeSettle(w: Watch): void {
    if (w.settling || w.active > 0 || w.inTransitTotal > 0) return;
    w.settling = true;
    const gen = w.generation;
    const check = () => {
      w.settling = false;
      if (this.watches.get(w.msgId) !== w) return;
      if (w.generation !== gen) return this.maybeSettle(w); // something happened: look again
      if (w.active === 0 && w.inTransitTotal === 0) this.finish(w.msgId, { ok: true });
    };
    // Core delivers with setImmediate, queued when the sender called send() (before
    // its done()); complete/catch nodes receive right after onComplete.
    setImmediate(() =>
      setImmediate(() => {
        if (this.settleMs === 0) return check();
        const t = setTimeout(check, this.settleMs);
        t.unref?.();
      }),
    );
  }

  private finish(msgId: string, outcome: CompletionOutcome, hooksIdleMs = this.hooksIdleMs): void {
    const w = this.watches.get(msgId);
    if (!w) return;
    this.watches.delete(msgId);
    this.shared.unwatch(msgId, this, hooksIdleMs);
    if (w.timer) clearTimeout(w.timer);
    for (const timers of w.late.values()) for (const t of timers) clearTimeout(t);
    w.late.clear();
    w.resolve(outcome);
  }
}
