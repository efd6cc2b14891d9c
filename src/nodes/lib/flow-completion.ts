/**
 * Tells when a message a node sent has been completely handled by the flow,
 * using Node-RED's message hooks (onSend / onReceive / onComplete).
 *
 * Why not "the first done() for this _msgid": in a chain A → B → C, node A
 * calls done() as soon as it has passed the message on, long before C has
 * finished. So we count outstanding deliveries of the message (and of its
 * clones, which keep the same _msgid): +1 when a node sends it (or a node
 * receives it without a send, e.g. link in, catch, complete), −1 when the
 * receiving node calls done(). Zero outstanding after a settle tick means the
 * flow is finished; done(err) anywhere means it failed.
 *
 * Limits (documented in the node help): a node that never calls done() (very
 * old third-party nodes) holds the message until the timeout; a node that sends
 * the message on *after* calling done() may let the flow count as finished early.
 */

export interface HooksApi {
  add(id: string, fn: (event: any) => unknown): void;
  remove(id: string): void;
}

export type CompletionOutcome =
  | { ok: true }
  | { ok: false; reason: 'error'; error: unknown; nodeId?: string }
  | { ok: false; reason: 'timeout' | 'closed' };

interface Watch {
  outstanding: number;
  /** Destinations of sends not yet received, so onReceive does not count them twice. */
  inTransit: Map<string, number>;
  timer: NodeJS.Timeout;
  settling: boolean;
  resolve(o: CompletionOutcome): void;
}

const HOOK_NAMES = ['onSend', 'onReceive', 'onComplete'] as const;

function msgIdOf(ev: unknown): string | undefined {
  const id = (ev as { msg?: { _msgid?: unknown } } | undefined)?.msg?._msgid;
  return typeof id === 'string' ? id : undefined;
}

export class FlowCompletionTracker {
  private readonly watches = new Map<string, Watch>();
  private readonly label: string;
  private closed = false;

  /**
   * @param labelSeed unique per node instance; dots are removed because Node-RED
   *   splits hook ids on the first "." (`onComplete.<label>`).
   */
  constructor(
    private readonly hooks: HooksApi,
    labelSeed: string,
    private readonly onHookError: (err: unknown) => void = () => undefined,
  ) {
    this.label = `concurFlowCompletion-${labelSeed}-${Math.random().toString(36).slice(2, 10)}`.replace(/[^A-Za-z0-9_-]/g, '_');
    // Hook callbacks take one argument and return undefined: synchronous, and
    // never `false` (which would halt the message for every flow in the runtime).
    this.hooks.add(`onSend.${this.label}`, (events: unknown) => this.guard(() => this.onSend(events)));
    this.hooks.add(`onReceive.${this.label}`, (ev: unknown) => this.guard(() => this.onReceive(ev)));
    this.hooks.add(`onComplete.${this.label}`, (ev: unknown) => this.guard(() => this.onComplete(ev)));
  }

  /** The hook label (for tests and diagnostics). */
  get hookLabel(): string {
    return this.label;
  }

  get pendingCount(): number {
    return this.watches.size;
  }

  /**
   * Starts watching `msgId`. Call before node.send(msg), then call sent(msgId)
   * right after it. Resolves exactly once.
   */
  watch(msgId: string, timeoutMs: number): Promise<CompletionOutcome> {
    return new Promise<CompletionOutcome>((resolve) => {
      if (this.closed) {
        resolve({ ok: false, reason: 'closed' });
        return;
      }
      const timer = setTimeout(() => this.finish(msgId, { ok: false, reason: 'timeout' }), timeoutMs);
      this.watches.set(msgId, { outstanding: 0, inTransit: new Map(), timer, settling: false, resolve });
    });
  }

  /** After node.send: if nothing was delivered (no wires), the flow is already complete. */
  sent(msgId: string): void {
    this.maybeSettle(msgId);
  }

  /** Answers every pending watch with 'closed' and removes the hooks. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const name of HOOK_NAMES) {
      try {
        this.hooks.remove(`${name}.${this.label}`);
      } catch (err) {
        this.onHookError(err);
      }
    }
    for (const id of [...this.watches.keys()]) this.finish(id, { ok: false, reason: 'closed' });
  }

  private guard(fn: () => void): undefined {
    try {
      fn();
    } catch (err) {
      this.onHookError(err);
    }
    return undefined;
  }

  private onSend(events: unknown): void {
    for (const ev of Array.isArray(events) ? events : [events]) {
      const id = msgIdOf(ev);
      const w = id === undefined ? undefined : this.watches.get(id);
      if (!w) continue;
      const dest = String((ev as { destination?: { id?: unknown } }).destination?.id ?? '');
      w.outstanding++;
      w.inTransit.set(dest, (w.inTransit.get(dest) ?? 0) + 1);
    }
  }

  private onReceive(ev: unknown): void {
    const id = msgIdOf(ev);
    const w = id === undefined ? undefined : this.watches.get(id);
    if (!w) return;
    const dest = String((ev as { destination?: { id?: unknown } }).destination?.id ?? '');
    const n = w.inTransit.get(dest) ?? 0;
    if (n > 0) {
      // Already counted when it was sent.
      if (n === 1) w.inTransit.delete(dest);
      else w.inTransit.set(dest, n - 1);
    } else {
      // Delivered without a send (link in, catch, complete, status …).
      w.outstanding++;
    }
  }

  private onComplete(ev: unknown): void {
    const id = msgIdOf(ev);
    if (id === undefined || !this.watches.has(id)) return;
    const e = ev as { error?: unknown; node?: { id?: string } };
    if (e.error) {
      this.finish(id, { ok: false, reason: 'error', error: e.error, nodeId: e.node?.id });
      return;
    }
    const w = this.watches.get(id)!;
    w.outstanding = Math.max(0, w.outstanding - 1);
    this.maybeSettle(id);
  }

  /** Declares completion only if nothing new is delivered during two event-loop turns. */
  private maybeSettle(msgId: string): void {
    const w = this.watches.get(msgId);
    if (!w || w.outstanding > 0 || w.settling) return;
    w.settling = true;
    // Core delivers messages with setImmediate, queued when the sender called send()
    // (before its done()), so two turns let any queued delivery register first.
    setImmediate(() =>
      setImmediate(() => {
        const cur = this.watches.get(msgId);
        if (cur !== w) return;
        w.settling = false;
        if (w.outstanding === 0 && w.inTransit.size === 0) this.finish(msgId, { ok: true });
      }),
    );
  }

  private finish(msgId: string, outcome: CompletionOutcome): void {
    const w = this.watches.get(msgId);
    if (!w) return;
    this.watches.delete(msgId);
    clearTimeout(w.timer);
    w.resolve(outcome);
  }
}
