/**
 * Accepted ESS events in one PostgreSQL table shared by every Node-RED
 * instance behind a load balancer (schema in ./pg-database.ts).
 *
 * - accept: `INSERT … ON CONFLICT DO NOTHING`, committed before the receiver
 *   answers 2xx; no row inserted means the id is stored already (duplicate, 200,
 *   never emitted again on any instance). The inserting instance claims the row
 *   (claim_owner, lease_until) and emits it at once.
 * - exactly one instance emits a stored event: the claimer. Each instance
 *   renews the leases of its claims every lease/3 while it runs, and polls for
 *   pending rows with no claim or an expired lease (`FOR UPDATE SKIP LOCKED`,
 *   so two pollers never take the same row), taking over what a crashed or
 *   stopped instance left, with delivery_count incremented.
 * - dead letters are rows in state 'dead' (readable from any instance).
 * - expiry: done (and old dead) rows leave after the dedupe window, by an
 *   indexed delete in small batches.
 * - no per-id dedupe state in memory: only the ids this instance is handing to
 *   its flow right now (bounded by maxPending), for back-pressure and for marks
 *   that must be retried while the database is away.
 *
 * No Node-RED imports.
 */
import crypto from 'node:crypto';
import type { PgDatabase } from './pg-database';
import { StatementBatcher } from './pg-batcher';
import type { AcceptInput, AcceptResult, DeadLetter, EventStore, StoreCounts, StoreHealth, StoredEvent, AcceptedMeta } from './event-store';

export interface PgEventStoreOptions {
  /** Which receiver's events (several receivers may share one table): the node id or store name. */
  stream: string;
  /** Ids seen within it are duplicates (default 72 h). */
  dedupeWindowMs?: number;
  /** A claim not renewed for this long is taken over by another instance (default 30 s). */
  leaseMs?: number;
  /** Dead letters kept past the dedupe window (default 100, newest first). */
  deadLetterMax?: number;
  /** Identifies this instance's claims (default: random). */
  owner?: string;
  /** Rows deleted per expiry statement (default 500). */
  expiryBatch?: number;
}

interface Row {
  id: string;
  body: Buffer | null;
  received_at: Date;
  delivery_count: number;
  meta: AcceptedMeta;
  last_error?: string | null;
  finished_at?: Date | null;
}

type Mark = { state: 'done' } | { state: 'dead'; reason: string };

export class PgEventStore implements EventStore {
  readonly kind = 'postgres' as const;
  readonly owner: string;
  private readonly stream: string;
  private readonly windowMs: number;
  private readonly leaseSec: number;
  private readonly deadLetterMax: number;
  private readonly batch: number;
  /** Ids this instance has accepted or claimed and not yet finished (bounded by maxPending + one claim batch). */
  private readonly inFlight = new Set<string>();
  /** Marks that failed (database away): retried on every heartbeat, leases renewed meanwhile. */
  private readonly unmarked = new Map<string, Mark>();
  private storing = 0;
  /** Concurrent accepts share one multi-row INSERT (one commit); concurrent done marks one UPDATE. */
  private readonly inserts: StatementBatcher<AcceptInput, boolean>;
  private readonly dones: StatementBatcher<string, undefined>;
  private heartbeat: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private readonly db: PgDatabase,
    o: PgEventStoreOptions,
  ) {
    this.stream = o.stream;
    this.windowMs = o.dedupeWindowMs ?? 72 * 3600_000;
    this.leaseSec = Math.max(1, (o.leaseMs ?? 30_000) / 1000);
    this.deadLetterMax = Math.max(0, Math.round(o.deadLetterMax ?? 100));
    this.batch = Math.max(1, o.expiryBatch ?? 500);
    this.owner = o.owner ?? crypto.randomUUID();
    // Up to 4 statements at once (the pool has 10 connections by default), 100 rows each.
    this.inserts = new StatementBatcher((evs) => this.insertMany(evs), { maxBatch: 100, maxInFlight: 4 });
    this.dones = new StatementBatcher((ids) => this.doneMany(ids), { maxBatch: 200, maxInFlight: 2 });
  }

  /** Creates the schema if needed, then starts renewing this instance's leases. */
  static async open(db: PgDatabase, o: PgEventStoreOptions): Promise<PgEventStore> {
    await db.ready();
    const s = new PgEventStore(db, o);
    const every = Math.max(200, (s.leaseSec * 1000) / 3);
    s.heartbeat = setInterval(() => void s.renew().catch(() => undefined), every);
    s.heartbeat.unref?.();
    return s;
  }

  get location(): string {
    return `${this.db.location} stream ${this.stream}`;
  }

  private get t(): string {
    return this.db.tables.events;
  }

  async accept(ev: AcceptInput, opts: { maxPending: number }): Promise<AcceptResult> {
    if (this.closed) throw new Error('the event store is closed');
    if (this.inFlight.size + this.storing >= opts.maxPending) {
      // Full: still a duplicate (200) if the id is stored already, otherwise 429.
      const r = await this.db.query(`SELECT 1 FROM ${this.t} WHERE stream = $1 AND id = $2`, [this.stream, ev.id]);
      return r.rowCount ? { kind: 'duplicate' } : { kind: 'overload' };
    }
    this.storing++;
    try {
      // Committed when the statement returns (autocommit, synchronous_commit as configured
      // on the server), so the caller may answer 2xx.
      const inserted = await this.inserts.run(ev);
      if (!inserted) return { kind: 'duplicate' };
      this.inFlight.add(ev.id);
      return { kind: 'accepted', stored: { id: ev.id, receivedAt: ev.receivedAt, body: ev.body, meta: ev.meta, deliveryCount: 1 } };
    } finally {
      this.storing--;
    }
  }

  /**
   * One multi-row `INSERT … ON CONFLICT DO NOTHING RETURNING id`: a row per event,
   * claimed by this instance. An id given twice in one group (two concurrent
   * deliveries of one event) is inserted once: the first caller gets true.
   */
  private async insertMany(evs: AcceptInput[]): Promise<boolean[]> {
    const params: unknown[] = [this.stream, this.owner, this.leaseSec];
    const values = evs.map((ev) => {
      const n = params.length;
      params.push(ev.id, ev.bodyBytes ?? Buffer.from(ev.body, 'utf8'), new Date(ev.receivedAt), JSON.stringify(ev.meta));
      return `($1, $${n + 1}, $${n + 2}, $${n + 3}, 'pending', 1, $2, now() + make_interval(secs => $3), $${n + 4})`;
    });
    const r = await this.db.query<{ id: string }>(
      `INSERT INTO ${this.t} (stream, id, body, received_at, state, delivery_count, claim_owner, lease_until, meta)
       VALUES ${values.join(', ')}
       ON CONFLICT (stream, id) DO NOTHING
       RETURNING id`,
      params,
    );
    const fresh = new Set(r.rows.map((row) => row.id));
    return evs.map((ev) => fresh.delete(ev.id));
  }

  /** Done rows keep only their id (the dedupe entry): one UPDATE for every done mark gathered. */
  private async doneMany(ids: string[]): Promise<undefined[]> {
    await this.db.query(
      `UPDATE ${this.t} SET state = 'done', body = NULL, claim_owner = NULL, lease_until = NULL, finished_at = now()
       WHERE stream = $1 AND id = ANY($2::text[]) AND state = 'pending'`,
      [this.stream, ids],
    );
    return ids.map(() => undefined);
  }

  async claimPending(limit: number): Promise<StoredEvent[]> {
    if (this.closed || limit <= 0) return [];
    const r = await this.db.query<Row>(
      `WITH c AS (
         SELECT stream, id FROM ${this.t}
         WHERE stream = $1 AND state = 'pending' AND (lease_until IS NULL OR lease_until < now())
         ORDER BY received_at
         LIMIT $2
         FOR UPDATE SKIP LOCKED)
       UPDATE ${this.t} e
         SET claim_owner = $3, lease_until = now() + make_interval(secs => $4), delivery_count = e.delivery_count + 1
         FROM c WHERE e.stream = c.stream AND e.id = c.id
       RETURNING e.id, e.body, e.received_at, e.delivery_count, e.meta`,
      [this.stream, limit, this.owner, this.leaseSec],
    );
    const out = r.rows.map((row) => toStored(row));
    for (const ev of out) this.inFlight.add(ev.id);
    return out.sort((a, b) => a.receivedAt - b.receivedAt);
  }

  markDone(id: string): Promise<void> {
    return this.mark(id, { state: 'done' });
  }

  markFailed(id: string, reason: string): Promise<void> {
    return this.mark(id, { state: 'dead', reason: String(reason).slice(0, 1000) });
  }

  /** Records the outcome; if the database is away, keeps it (and the lease) and retries on the heartbeat. */
  private async mark(id: string, m: Mark): Promise<void> {
    try {
      await this.write(id, m);
      this.unmarked.delete(id);
      this.inFlight.delete(id);
    } catch (err) {
      this.unmarked.set(id, m);
      throw err;
    }
  }

  private async write(id: string, m: Mark): Promise<void> {
    if (m.state === 'done') return this.dones.run(id);
    await this.db.query(
      `UPDATE ${this.t} SET state = 'dead', last_error = $3, claim_owner = NULL, lease_until = NULL, finished_at = now()
       WHERE stream = $1 AND id = $2 AND state = 'pending'`,
      [this.stream, id, m.reason],
    );
  }

  /** Retries failed marks, then extends the leases of every event this instance still holds. */
  private async renew(): Promise<void> {
    if (this.closed) return;
    for (const [id, m] of [...this.unmarked]) {
      await this.write(id, m);
      this.unmarked.delete(id);
      this.inFlight.delete(id);
    }
    if (this.inFlight.size === 0) return;
    // Only the events this instance is actually handing to its flow: a row whose INSERT committed
    // but whose answer never arrived (connection lost; we answered 503) is not ours to emit, so its
    // lease must run out and let a poller (any instance) emit it.
    await this.db.query(
      `UPDATE ${this.t} SET lease_until = now() + make_interval(secs => $3)
       WHERE stream = $1 AND claim_owner = $2 AND state = 'pending' AND id = ANY($4::text[])`,
      [this.stream, this.owner, this.leaseSec, [...this.inFlight]],
    );
  }

  pendingCount(): number {
    return this.inFlight.size + this.storing;
  }

  async deadLetters(): Promise<DeadLetter[]> {
    const r = await this.db.query<Row>(
      `SELECT id, body, received_at, delivery_count, meta, last_error, finished_at FROM ${this.t}
       WHERE stream = $1 AND state = 'dead' ORDER BY finished_at DESC NULLS LAST LIMIT $2`,
      // The table may hold more (kept until past the dedupe window); the route answers the newest, bounded.
      [this.stream, Math.max(this.deadLetterMax, 100)],
    );
    return r.rows.reverse().map((row) => ({ ...toStored(row), failedAt: (row.finished_at ?? row.received_at).getTime(), reason: row.last_error ?? '' }));
  }

  /**
   * Dead -> pending, claimed by this instance (lease), delivery_count + 1, in
   * one autocommitted UPDATE: a concurrent replay on another instance waits on
   * the row lock, then finds the row no longer dead, so exactly one emits it.
   */
  async replayDeadLetter(id: string): Promise<StoredEvent | undefined> {
    if (this.closed) throw new Error('the event store is closed');
    const r = await this.db.query<Row>(
      `UPDATE ${this.t} SET state = 'pending', delivery_count = delivery_count + 1, claim_owner = $3,
         lease_until = now() + make_interval(secs => $4), last_error = NULL, finished_at = NULL
       WHERE stream = $1 AND id = $2 AND state = 'dead' AND body IS NOT NULL
       RETURNING id, body, received_at, delivery_count, meta`,
      [this.stream, id, this.owner, this.leaseSec],
    );
    const row = r.rows[0];
    if (!row) return undefined;
    this.inFlight.add(row.id);
    return toStored(row);
  }

  async replayDeadLetters(limit: number): Promise<StoredEvent[]> {
    if (this.closed) throw new Error('the event store is closed');
    if (limit <= 0) return [];
    // SKIP LOCKED: rows another instance is replaying right now are its to emit.
    const r = await this.db.query<Row>(
      `WITH c AS (
         SELECT stream, id FROM ${this.t}
         WHERE stream = $1 AND state = 'dead' AND body IS NOT NULL
         ORDER BY finished_at NULLS FIRST
         LIMIT $2
         FOR UPDATE SKIP LOCKED)
       UPDATE ${this.t} e
         SET state = 'pending', delivery_count = e.delivery_count + 1, claim_owner = $3,
           lease_until = now() + make_interval(secs => $4), last_error = NULL, finished_at = NULL
         FROM c WHERE e.stream = c.stream AND e.id = c.id
       RETURNING e.id, e.body, e.received_at, e.delivery_count, e.meta`,
      [this.stream, limit, this.owner, this.leaseSec],
    );
    const out = r.rows.map((row) => toStored(row));
    for (const ev of out) this.inFlight.add(ev.id);
    return out.sort((a, b) => a.receivedAt - b.receivedAt);
  }

  /** Dead -> done with the body dropped: the row stays as the dedupe entry until the window passes. */
  async discardDeadLetter(id: string): Promise<boolean> {
    if (this.closed) throw new Error('the event store is closed');
    const r = await this.db.query(`UPDATE ${this.t} SET state = 'done', body = NULL, finished_at = now() WHERE stream = $1 AND id = $2 AND state = 'dead'`, [
      this.stream,
      id,
    ]);
    return (r.rowCount ?? 0) > 0;
  }

  async discardDeadLetters(): Promise<number> {
    if (this.closed) throw new Error('the event store is closed');
    const r = await this.db.query(`UPDATE ${this.t} SET state = 'done', body = NULL, finished_at = now() WHERE stream = $1 AND state = 'dead'`, [this.stream]);
    return r.rowCount ?? 0;
  }

  async counts(): Promise<StoreCounts> {
    const r = await this.db.query<{ state: string; n: string }>(`SELECT state, count(*) AS n FROM ${this.t} WHERE stream = $1 GROUP BY state`, [this.stream]);
    const c: StoreCounts = { pending: 0, done: 0, dead: 0 };
    for (const row of r.rows) if (row.state === 'pending' || row.state === 'done' || row.state === 'dead') c[row.state] = Number(row.n);
    return c;
  }

  health(): StoreHealth {
    const h = this.db.health();
    if (!h.ok) return { ok: false, message: `database unavailable: ${h.message}` };
    if (this.unmarked.size) return { ok: false, message: `${this.unmarked.size} outcome(s) not yet recorded` };
    return { ok: true };
  }

  /**
   * Deletes done rows older than the dedupe window, and dead letters older
   * than it beyond the newest `deadLetterMax`, in batches of `expiryBatch`
   * (short statements: accepts never wait long behind them). Every instance
   * runs it; SKIP LOCKED keeps two of them from waiting on (or deadlocking
   * over) the same rows. Stops after ~2 s.
   */
  async expire(): Promise<number> {
    if (this.closed) return 0;
    const cutoff = new Date(Date.now() - this.windowMs);
    const until = Date.now() + 2000;
    let total = 0;
    for (;;) {
      const r = await this.db.query(
        `DELETE FROM ${this.t} WHERE stream = $1 AND id IN (
           SELECT id FROM ${this.t} WHERE stream = $1 AND state = 'done' AND received_at < $2 LIMIT $3 FOR UPDATE SKIP LOCKED)`,
        [this.stream, cutoff, this.batch],
      );
      total += r.rowCount ?? 0;
      if ((r.rowCount ?? 0) < this.batch || Date.now() > until) break;
    }
    for (;;) {
      const r = await this.db.query(
        `DELETE FROM ${this.t} WHERE stream = $1 AND id IN (
           SELECT id FROM ${this.t} WHERE stream = $1 AND state = 'dead' AND received_at < $2
           ORDER BY finished_at DESC NULLS LAST OFFSET $4 LIMIT $3 FOR UPDATE SKIP LOCKED)`,
        [this.stream, cutoff, this.batch, this.deadLetterMax],
      );
      total += r.rowCount ?? 0;
      if ((r.rowCount ?? 0) < this.batch || Date.now() > until) break;
    }
    return total;
  }

  /**
   * Records what can still be recorded and gives this instance's remaining
   * claims back at once (another instance, or this one after a redeploy, emits
   * them again with delivery_count + 1). Does not close the shared pool.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.heartbeat) clearInterval(this.heartbeat);
    try {
      for (const [id, m] of [...this.unmarked]) {
        await this.write(id, m);
        this.unmarked.delete(id);
      }
      await this.db.query(`UPDATE ${this.t} SET claim_owner = NULL, lease_until = NULL WHERE stream = $1 AND claim_owner = $2 AND state = 'pending'`, [
        this.stream,
        this.owner,
      ]);
    } catch {
      /* database away: the leases run out and another instance takes the events over */
    } finally {
      this.closed = true;
      this.inFlight.clear();
    }
  }
}

function toStored(row: Row): StoredEvent {
  const body = row.body ? row.body.toString('utf8') : '';
  return { id: row.id, receivedAt: row.received_at.getTime(), body, meta: row.meta ?? { signatureVerified: false }, deliveryCount: row.delivery_count };
}
