/**
 * What the ESS receiver, its node and the dead-letter route need from a store
 * of accepted events, whatever keeps them: the journal file of one Node-RED
 * (FileEventStore, below) or a PostgreSQL table shared by several instances
 * (PgEventStore in ./pg-event-store.ts).
 *
 * The contract that keeps ESS's retry rules safe (see ./ess-receiver.ts):
 * `accept` resolves 'accepted' only once the event is durably stored, and
 * 'duplicate' only when the id is already stored (or was, inside the dedupe
 * window); anything else rejects, and the receiver answers 503 so ESS retries.
 *
 * No Node-RED imports.
 */
import { EventJournal, type AcceptedMeta, type DeadLetter, type StoredEvent } from './event-journal';

export type { AcceptedMeta, DeadLetter, StoredEvent };

export interface AcceptInput {
  id: string;
  /** Receipt time (ms since epoch). */
  receivedAt: number;
  /** The body text (decoded once by the envelope parser). */
  body: string;
  /** The exact received bytes of `body`, stored as they are when given. */
  bodyBytes?: Buffer;
  meta: AcceptedMeta;
}

export type AcceptResult =
  | { kind: 'accepted'; stored: StoredEvent }
  | { kind: 'duplicate' }
  /** More than `maxPending` events wait for this instance's flow (answer 429). */
  | { kind: 'overload' };

export interface StoreCounts {
  pending: number;
  done: number;
  dead: number;
}

export interface StoreHealth {
  ok: boolean;
  /** Why not (no secrets: host names and error texts only). */
  message?: string;
}

export interface EventStore {
  readonly kind: 'file' | 'postgres';
  /** Human-readable place (file path, or host/database/table), for logs. */
  readonly location: string;
  /**
   * Dedupe and durable store in one step. Order of checks (the receiver's
   * answers depend on it): a stored id is 'duplicate' even when the store is
   * full; otherwise 'overload' when `maxPending` events wait for this
   * instance; otherwise stored. Rejects when the store cannot say for sure.
   */
  accept(ev: AcceptInput, opts: { maxPending: number }): Promise<AcceptResult>;
  /**
   * Stored events this instance should hand to the flow now, each claimed for
   * it (never returned to two instances) and counted as another delivery:
   * on start the ones left over from the previous run; with a shared store
   * also those a crashed instance had claimed once its lease ran out.
   */
  claimPending(limit: number): Promise<StoredEvent[]>;
  /** The flow completed the event. */
  markDone(id: string): Promise<void>;
  /** The flow failed or timed out: keep the event as a dead letter. */
  markFailed(id: string, reason: string): Promise<void>;
  /** Events waiting for this instance's flow (O(1); back-pressure and status). */
  pendingCount(): number;
  deadLetters(): Promise<DeadLetter[]>;
  /**
   * The operator replays a dead letter: it becomes pending again, durably,
   * claimed by this instance, with its delivery count + 1. Resolves the event
   * for this instance to emit (through the normal path: done/failed as usual),
   * or undefined when `id` is not a dead letter (unknown, pending, done,
   * discarded, or replayed meanwhile by another request or instance).
   */
  replayDeadLetter(id: string): Promise<StoredEvent | undefined>;
  /** Replays up to `limit` dead letters (oldest failure first); the events to emit. */
  replayDeadLetters(limit: number): Promise<StoredEvent[]>;
  /**
   * The operator discards a dead letter: its body is dropped, its id stays a
   * duplicate inside the dedupe window. False when `id` is not a dead letter.
   */
  discardDeadLetter(id: string): Promise<boolean>;
  /** Discards every dead letter; how many. */
  discardDeadLetters(): Promise<number>;
  counts(): Promise<StoreCounts>;
  health(): StoreHealth;
  /** Housekeeping: forget ids older than the dedupe window, compact. */
  expire(): Promise<number>;
  close(): Promise<void>;
}

/**
 * The journal file of one Node-RED, as an EventStore. A thin wrapper: the
 * journal keeps its own API (and its dedupe set in memory).
 */
export class FileEventStore implements EventStore {
  readonly kind = 'file' as const;
  /** Leftover pending events, handed out once by the first claimPending after open. */
  private leftOver: StoredEvent[] | undefined;
  private lastError: string | undefined;

  constructor(readonly journal: EventJournal) {
    this.leftOver = journal.pendingEvents();
  }

  static async open(opts: Parameters<typeof EventJournal.open>[0]): Promise<FileEventStore> {
    return new FileEventStore(await EventJournal.open(opts));
  }

  get location(): string {
    return this.journal.file;
  }

  async accept(ev: AcceptInput, opts: { maxPending: number }): Promise<AcceptResult> {
    const j = this.journal;
    // Dedupe, also against a concurrent delivery of the same id still being stored.
    if (j.lookup(ev.id)) return { kind: 'duplicate' };
    const inFlight = j.storing(ev.id);
    if (inFlight) {
      await inFlight; // its failure is ours too: the caller answers 503
      return { kind: 'duplicate' };
    }
    if (j.pendingCount() >= opts.maxPending) return { kind: 'overload' };
    try {
      const stored = await j.accept({ id: ev.id, receivedAt: ev.receivedAt, body: ev.body, bodyBytes: ev.bodyBytes, meta: ev.meta });
      this.lastError = undefined;
      return { kind: 'accepted', stored };
    } catch (err) {
      // A concurrent delivery of the same id won the race: that one is stored or failing; answer accordingly.
      const other = j.storing(ev.id);
      if (other) {
        try {
          await other;
          return { kind: 'duplicate' };
        } catch {
          /* fall through */
        }
      } else if (j.lookup(ev.id)) return { kind: 'duplicate' };
      this.lastError = (err as Error).message;
      throw err;
    }
  }

  async claimPending(limit: number): Promise<StoredEvent[]> {
    const left = this.leftOver;
    if (!left || left.length === 0) return [];
    const out: StoredEvent[] = [];
    while (out.length < limit && left.length) {
      const ev = left.shift() as StoredEvent;
      if (this.journal.lookup(ev.id) !== 'pending') continue;
      this.journal.redelivered(ev.id);
      out.push(ev);
    }
    if (left.length === 0) this.leftOver = undefined;
    return out;
  }

  async markDone(id: string): Promise<void> {
    this.journal.markDone(id);
  }

  async markFailed(id: string, reason: string): Promise<void> {
    this.journal.markFailed(id, reason);
  }

  pendingCount(): number {
    return this.journal.pendingCount();
  }

  async deadLetters(): Promise<DeadLetter[]> {
    return this.journal.deadLetters();
  }

  replayDeadLetter(id: string): Promise<StoredEvent | undefined> {
    return this.journal.replay(id);
  }

  async replayDeadLetters(limit: number): Promise<StoredEvent[]> {
    // One replay record per dead letter, all in one group commit.
    const ids = this.journal
      .deadLetters()
      .slice(0, Math.max(0, limit))
      .map((d) => d.id);
    const out = await Promise.all(ids.map((id) => this.journal.replay(id)));
    return out.filter((ev): ev is StoredEvent => ev !== undefined);
  }

  async discardDeadLetter(id: string): Promise<boolean> {
    return this.journal.discard(id);
  }

  async discardDeadLetters(): Promise<number> {
    let n = 0;
    for (const d of this.journal.deadLetters()) if (this.journal.discard(d.id)) n++;
    return n;
  }

  async counts(): Promise<StoreCounts> {
    const s = this.journal.getStats();
    return { pending: s.pending, done: s.done, dead: s.failed };
  }

  health(): StoreHealth {
    return this.lastError ? { ok: false, message: this.lastError } : { ok: true };
  }

  async expire(): Promise<number> {
    const n = this.journal.prune();
    await this.journal.maybeCompact();
    return n;
  }

  close(): Promise<void> {
    return this.journal.close();
  }
}
