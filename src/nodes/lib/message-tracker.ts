/**
 * Knows when a message a node emitted has finished in the flow, using Node-RED
 * message hooks (Node-RED >= 2), so the ESS receiver can mark an event done (or
 * failed) in its journal only once the flow is through with it.
 *
 * A message (by msg._msgid, which clones keep) is in the flow while it is
 * either scheduled for delivery (preDeliver, counted when the sender calls
 * send(), i.e. before the sender's done()) or being handled by a node
 * (onReceive .. onComplete). Link nodes and Catch/Complete nodes hand messages
 * over with receive() and no preDeliver; onReceive without a scheduled delivery
 * counts them. When both counts reach zero and stay there for a short grace
 * period, the message is complete; a done(err) anywhere marks it failed.
 *
 * Limits (documented in the help): a node that builds a brand-new message
 * object ends tracking at that node; a node that never calls done() keeps the
 * message open until the timeout.
 */
import type { RED } from './red-types';

export interface TrackOutcome {
  key: string;
  /** Set when a node reported an error with done(err), or on timeout. */
  error?: string;
  timedOut?: boolean;
}

interface Tracked {
  key: string;
  inflight: number;
  active: number;
  error?: string;
  timeout?: NodeJS.Timeout;
  grace?: NodeJS.Timeout;
}

interface HookMsg {
  _msgid?: string;
}

export class MessageTracker {
  private readonly byMsgId = new Map<string, Tracked>();
  private readonly label: string;
  private stopped = false;

  constructor(
    private readonly red: Pick<RED, 'hooks'>,
    label: string,
    private readonly onDone: (outcome: TrackOutcome) => void,
    private readonly graceMs = 25,
  ) {
    this.label = label.replace(/[^A-Za-z0-9_-]/g, '_');
    const hooks = red.hooks;
    if (!hooks) throw new Error('this Node-RED has no message hooks (Node-RED 2 or later is required)');
    hooks.add(`preDeliver.${this.label}`, (ev: { msg?: HookMsg }) => {
      const t = this.get(ev?.msg);
      if (t) {
        t.inflight++;
        this.cancelGrace(t);
      }
    });
    hooks.add(`onReceive.${this.label}`, (ev: { msg?: HookMsg }) => {
      const t = this.get(ev?.msg);
      if (!t) return;
      if (t.inflight > 0) t.inflight--;
      t.active++;
      this.cancelGrace(t);
    });
    hooks.add(`onComplete.${this.label}`, (ev: { msg?: HookMsg; error?: unknown }) => {
      const id = ev?.msg?._msgid;
      const t = this.get(ev?.msg);
      if (!t || !id) return;
      if (ev.error && t.error === undefined) t.error = errorText(ev.error);
      if (t.active > 0) t.active--;
      this.check(id, t);
    });
  }

  /** Number of messages still in the flow. */
  get size(): number {
    return this.byMsgId.size;
  }

  /**
   * Starts tracking `msgid` (call before node.send). `timeoutMs` > 0 reports the
   * message as timed out if the flow has not finished with it by then.
   */
  track(msgid: string, key: string, timeoutMs: number): void {
    if (this.stopped) return;
    const t: Tracked = { key, inflight: 0, active: 0 };
    if (timeoutMs > 0) {
      t.timeout = setTimeout(() => this.finish(msgid, t, `the flow did not complete within ${Math.round(timeoutMs / 1000)} s`, true), timeoutMs);
      t.timeout.unref?.();
    }
    this.byMsgId.set(msgid, t);
  }

  /** Call right after node.send(): a message nobody received is complete at once. */
  sent(msgid: string): void {
    const t = this.byMsgId.get(msgid);
    if (t) this.check(msgid, t);
  }

  /** Removes the hooks and forgets every message (nothing is reported). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    try {
      this.red.hooks?.remove(`*.${this.label}`);
    } catch {
      /* runtime shutting down */
    }
    for (const t of this.byMsgId.values()) {
      if (t.timeout) clearTimeout(t.timeout);
      if (t.grace) clearTimeout(t.grace);
    }
    this.byMsgId.clear();
  }

  private get(msg: HookMsg | undefined): Tracked | undefined {
    const id = msg?._msgid;
    return id === undefined ? undefined : this.byMsgId.get(id);
  }

  private cancelGrace(t: Tracked): void {
    if (t.grace) {
      clearTimeout(t.grace);
      t.grace = undefined;
    }
  }

  private check(msgid: string, t: Tracked): void {
    if (t.inflight > 0 || t.active > 0 || t.grace) return;
    // A node may send on (e.g. from an async hook) just after it completed; wait briefly.
    t.grace = setTimeout(() => {
      t.grace = undefined;
      if (t.inflight === 0 && t.active === 0) this.finish(msgid, t, t.error, false);
    }, this.graceMs);
    t.grace.unref?.();
  }

  private finish(msgid: string, t: Tracked, error: string | undefined, timedOut: boolean): void {
    if (this.byMsgId.get(msgid) !== t) return;
    this.byMsgId.delete(msgid);
    if (t.timeout) clearTimeout(t.timeout);
    if (t.grace) clearTimeout(t.grace);
    try {
      this.onDone({ key: t.key, error, timedOut });
    } catch {
      /* the callback guards itself; never let it break a hook */
    }
  }
}

function errorText(err: unknown): string {
  if (typeof err === 'string') return err;
  // Errors from the function node's sandbox come from another realm: not instanceof Error.
  const m = (err as { message?: unknown } | null)?.message;
  if (typeof m === 'string' && m) return m;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}
