/**
 * concur-ess-event-in: hands stored-but-unfinished events to the flow again.
 * Once every node of the flow has started (flows:started, or after 1 s when
 * only this node was restarted), the events left over from the last run are
 * claimed and re-emitted; with a shared store it also polls for the events a
 * crashed instance had claimed, once their lease ran out.
 */
import type { StoredEvent } from '../../concur/event-journal';
import type { EventStore } from '../../concur/event-store';

/** Shared store: how often an instance looks for unclaimed events. */
const CLAIM_POLL_MS = 1000;
const CLAIM_BATCH = 200;
const START_FALLBACK_MS = 1000;

export interface ReplayContext {
  store: EventStore;
  shared: boolean;
  /** Events this instance may hold pending at once (the shared store's claims count against it). */
  maxPending: number;
  events?: { on(ev: string, fn: () => void): void; removeListener(ev: string, fn: () => void): void };
  isClosing(): boolean;
  emit(ev: StoredEvent): void;
  log(text: string): void;
  warn(key: string, text: string): void;
  status(): void;
}

export class ReplayLoop {
  private started = false;
  private claiming = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly run = () => this.begin();

  constructor(private readonly c: ReplayContext) {
    c.events?.on('flows:started', this.run);
    const t = setTimeout(this.run, START_FALLBACK_MS); // flows:started has already fired when only this node was (re)started
    t.unref?.();
    this.timers.push(t);
  }

  close(): void {
    this.c.events?.removeListener('flows:started', this.run);
    for (const t of this.timers) clearInterval(t);
  }

  private begin(): void {
    if (this.started || this.c.isClosing()) return;
    this.started = true;
    this.c.events?.removeListener('flows:started', this.run);
    void this.claim();
    if (this.c.shared) {
      const poll = setInterval(() => {
        void this.claim();
        this.c.status(); // the store's health recovers by itself; show it
      }, CLAIM_POLL_MS);
      poll.unref?.();
      this.timers.push(poll);
    }
  }

  private async claim(): Promise<void> {
    const c = this.c;
    if (this.claiming || c.isClosing()) return;
    this.claiming = true;
    try {
      for (;;) {
        if (c.isClosing()) return;
        // The journal's leftovers count as pending already; a shared store counts only this instance's claims.
        const room = c.shared ? Math.min(CLAIM_BATCH, c.maxPending - c.store.pendingCount()) : CLAIM_BATCH;
        if (room <= 0) return;
        const batch = await c.store.claimPending(room);
        if (batch.length === 0) return;
        if (c.isClosing()) return; // a shared store gives the claims back on close
        c.log(
          `re-emitting ${batch.length} ESS event(s) stored but not completed` +
            (c.shared ? ' (left over or taken over from another instance)' : ' before the last stop'),
        );
        for (const ev of batch) c.emit(ev);
        c.status();
        await new Promise((r) => setImmediate(r));
      }
    } catch (err) {
      c.warn('claim', `looking for stored events to emit failed (retried): ${(err as Error).message}`);
      c.status();
    } finally {
      this.claiming = false;
    }
  }
}
