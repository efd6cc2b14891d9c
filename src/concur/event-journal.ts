/**
 * Durable store for accepted ESS events: an append-only journal file.
 *
 * Why a journal and not SQLite: no native module to build on every Node-RED
 * host (Pi, Docker, Windows); one `fdatasync` covers every delivery that arrived
 * while the previous sync ran (group commit), so 24 concurrent ESS threads cost
 * a handful of syncs, not 24; and the format is a text file an operator can read.
 * The journal only needs "append, replay on start, rewrite now and then", which
 * is what a log does best.
 *
 * Format: one JSON object per line ("\n"-terminated), so `jq` and line readers work:
 *   {"t":"h","v":2}                                   header
 *   {"t":"a","id","at","m","n","len","b64"}           accepted: metadata, delivery count, body bytes (base64)
 *   {"t":"a","id","at","b","m","n"}                   accepted, version 1 (body as JSON text); still read
 *   {"t":"r","id","n"}                                re-delivered to the flow (n = delivery count)
 *   {"t":"d","id","at"}                               done (the flow completed)
 *   {"t":"f","id","at","r"}                           failed (dead-letter, reason r)
 *   {"t":"s","id","at"}                               seen (compacted dedupe entry, body dropped)
 * A torn last line (crash mid-write) is cut off on open; an accepted record is
 * only acknowledged after its line has been written and fdatasync'd, so a torn
 * line was never acknowledged.
 *
 * Why base64 and not the body as a JSON string: escaping a 50 KB body with
 * JSON.stringify, then encoding the line to UTF-8, cost ~170 µs of main-thread
 * CPU per event and made the journal the ESS receiver's bottleneck; base64 of
 * the received bytes is ~10 µs, keeps the exact bytes (even invalid UTF-8),
 * and `len` catches a line that parses but was damaged. Raw length-prefixed
 * bytes would be cheaper still but would break the one-JSON-object-per-line
 * property operators (and their tools) rely on.
 *
 * Compaction writes a snapshot of the live state (pending events, dead
 * letters, ids still inside the dedupe window) to a temp file while appends go
 * on to the journal, copies the records appended meanwhile after it, fsyncs
 * it, renames it over the journal and fsyncs the directory. Appends wait only
 * for the last copy and the swap: when they waited for the whole rewrite,
 * every compaction stalled all deliveries for 20–65 ms. The "s" lines of
 * finished ids are kept ready-made (SeenLog), so a snapshot costs main-thread
 * time for the events still pending, not for every id in the 72 h window.
 *
 * Why replaying the copied records over the snapshot is right: the snapshot is
 * taken when every record before the copy point is applied in memory, and may
 * already show some later changes; each record type is idempotent over a
 * state that already contains it (an "a" sets pending, "d"/"f" only move a
 * pending event, "r" keeps the higher count, "s" never overrides a newer state).
 */
import { promises as fsp, constants as fsc } from 'node:fs';
import * as path from 'node:path';

export interface AcceptedMeta {
  correlationId?: string;
  signatureVerified: boolean;
  keyId?: string;
  clientCert?: { subject: string; serial: string };
  [key: string]: unknown;
}

export interface StoredEvent {
  id: string;
  /** Receipt time (ms since epoch). */
  receivedAt: number;
  /** The exact body text as received. */
  body: string;
  meta: AcceptedMeta;
  /** Times the event has been handed to the flow (1 on first emission). */
  deliveryCount: number;
}

export interface DeadLetter extends StoredEvent {
  failedAt: number;
  reason: string;
}

export type EntryState = 'pending' | 'done' | 'failed' | 'seen';

interface Entry {
  id: string;
  at: number;
  state: EntryState;
  event?: StoredEvent;
  failedAt?: number;
  reason?: string;
}

export interface JournalOptions {
  /** Journal file path; its directory is created if needed. */
  file: string;
  /** Dedupe window (ms): ids seen within it are duplicates. Default 72 h. */
  dedupeWindowMs?: number;
  /** fdatasync before acknowledging (default true). false = write only (survives a process crash, not a power loss). */
  sync?: boolean;
  /** Dead letters kept with their body (default 100); older ones shrink to dedupe entries. */
  deadLetterMax?: number;
  /** Compact when the file exceeds this many bytes and is at least 2x the live size (default 64 MiB: each rewrite stalls appends for a few ms, so with 50 KB events an 8 MiB threshold cost ~30% of the throughput). */
  compactAboveBytes?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export interface JournalStats {
  pending: number;
  done: number;
  failed: number;
  tracked: number;
  fileBytes: number;
  corruptLines: number;
  tornTailBytes: number;
  syncs: number;
  compactions: number;
}

/**
 * Bytes of a record: a Buffer, or bytes to be written as base64. The base64
 * text is made only when the writer packs the batch, so it dies at once
 * instead of living through the wait for the previous sync: a 68 KB string
 * per 50 KB event kept alive for milliseconds was copied by every scavenge.
 */
type Chunk = Buffer | { base64: Buffer };

function chunkBytes(c: Chunk): number {
  return Buffer.isBuffer(c) ? c.length : Math.ceil(c.base64.length / 3) * 4;
}
function chunkBuffer(c: Chunk): Buffer {
  return Buffer.isBuffer(c) ? c : Buffer.from(c.base64.toString('base64'), 'latin1');
}

interface QueuedWrite {
  /** One record, "\n" included (several chunks: an accepted record's body is not copied into its line). */
  chunks: Chunk[];
  sync: boolean;
  /** Runs synchronously once the line is on disk, before any later compaction can snapshot the state. */
  onWritten?: () => void;
  resolve: () => void;
  reject: (err: Error) => void;
}

const HOUR = 3600_000;
const READ_CHUNK = 1 << 20;
const FORMAT_VERSION = 2;
const NL = Buffer.from('\n');
const B64_TAIL = Buffer.from('"}\n');
/** Batches up to this size are packed into one reused buffer; bigger ones are written from their own chunks. */
const SCRATCH_MAX = 4 * 1024 * 1024;
/** Seen lines are sealed into a Buffer every this many characters. */
const SEEN_CHUNK = 64 * 1024;
/** Compaction copies appended records in passes while appends go on, until a pass copies less than this. */
const CATCH_UP_BYTES = 256 * 1024;

/** The bytes of one small record line. */
function recordLine(r: Record<string, unknown>): Chunk[] {
  return [Buffer.from(JSON.stringify(r) + '\n', 'utf8')];
}

/**
 * An accepted record: a small JSON head with the base64 body spliced in as the
 * last property (base64 needs no JSON escaping, so the body is never run
 * through JSON.stringify or re-encoded as UTF-8). The base64 is made by the
 * writer straight into its reused buffer: a Buffer of its own per record cost
 * ~20 µs per 50 KB event (a fresh 68 KB allocation).
 */
export function acceptedRecord(ev: StoredEvent, bodyBytes?: Buffer): Chunk[] {
  const raw = bodyBytes ?? Buffer.from(ev.body, 'utf8');
  const head = JSON.stringify({ t: 'a', id: ev.id, at: ev.receivedAt, m: ev.meta, n: ev.deliveryCount, len: raw.length });
  return [Buffer.from(head.slice(0, -1) + ',"b64":"', 'utf8'), { base64: raw }, B64_TAIL];
}

/** A seen (compacted dedupe) line; same text as JSON.stringify({ t: 's', id, at }). */
function seenLine(id: string, at: number): string {
  return `{"t":"s","id":${JSON.stringify(id)},"at":${at}}\n`;
}

/**
 * The "s" lines of finished ids, in the order they finished, kept ready to
 * write. Without it every compaction serialized every id in the dedupe window
 * again (~0.5 µs each on the main thread: 25 ms at 45,000 ids, with appends
 * waiting, several times a second under 50 KB load). Lines of ids that later
 * expired or were accepted again stay until the log is rebuilt; both are
 * harmless on replay (an expired id is pruned; a later record wins over an "s").
 */
class SeenLog {
  private sealed: { buf: Buffer; maxAt: number; lines: number }[] = [];
  private text = '';
  private textMaxAt = 0;
  private textLines = 0;
  /** Lines held, stale ones included. */
  lines = 0;

  add(id: string, at: number): void {
    this.text += seenLine(id, at);
    this.textLines++;
    this.lines++;
    if (at > this.textMaxAt) this.textMaxAt = at;
    if (this.text.length >= SEEN_CHUNK) this.seal();
  }

  /** The lines to write, after dropping sealed chunks whose ids have all left the window. */
  chunks(cutoff: number): Buffer[] {
    this.seal();
    while (this.sealed.length > 0 && this.sealed[0].maxAt < cutoff) this.lines -= (this.sealed.shift() as { lines: number }).lines;
    return this.sealed.map((c) => c.buf);
  }

  clear(): void {
    this.sealed = [];
    this.text = '';
    this.textMaxAt = 0;
    this.textLines = 0;
    this.lines = 0;
  }

  private seal(): void {
    if (this.textLines === 0) return;
    this.sealed.push({ buf: Buffer.from(this.text, 'utf8'), maxAt: this.textMaxAt, lines: this.textLines });
    this.text = '';
    this.textMaxAt = 0;
    this.textLines = 0;
  }
}

/** Bytes an event's accepted record takes, near enough for the compaction heuristic (no encoding pass). */
function approxRecordBytes(ev: StoredEvent): number {
  return Math.ceil(ev.body.length / 3) * 4 + 128;
}

/** Thrown by append when the journal is closed or broken; the caller answers 503 so ESS retries. */
export class JournalUnavailableError extends Error {}

/** A compaction whose temp file is written and synced, waiting for the writer to pause and swap files. */
interface PendingSwap {
  tmp: string;
  out: fsp.FileHandle;
  /** Read handle on the journal being replaced, and the offset copied up to. */
  src: fsp.FileHandle;
  from: number;
  bytes: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class EventJournal {
  readonly file: string;
  private readonly windowMs: number;
  private readonly sync: boolean;
  private readonly deadLetterMax: number;
  private readonly compactAbove: number;
  private readonly now: () => number;

  private fh: fsp.FileHandle | undefined;
  private readonly entries = new Map<string, Entry>();
  /** Failed ids in failure order; the first ones lose their body past deadLetterMax. */
  private readonly deadOrder: string[] = [];
  /** Ready-made "s" lines of finished ids (rebuilt from `entries` when mostly stale). */
  private readonly seen = new SeenLog();
  /** The writer's reused output buffer (one write in flight at a time). */
  private scratch: Buffer | undefined;
  /** Accepts whose write is in flight, so a concurrent duplicate can wait for the outcome. */
  private readonly storingNow = new Map<string, Promise<StoredEvent>>();
  private pendingN = 0;
  private queue: QueuedWrite[] = [];
  private flushing: Promise<void> | undefined;
  private compactRequested = false;
  /** The compaction running in the background (at most one). */
  private compaction: Promise<void> | undefined;
  private swapRequest: PendingSwap | undefined;
  private needsNewline = false;
  private closing = false;
  private closed = false;
  private fileBytes = 0;
  private liveBytes = 0;
  private stats = { corruptLines: 0, tornTailBytes: 0, syncs: 0, compactions: 0 };

  private constructor(opts: JournalOptions) {
    this.file = opts.file;
    this.windowMs = opts.dedupeWindowMs ?? 72 * HOUR;
    this.sync = opts.sync ?? true;
    this.deadLetterMax = Math.max(0, opts.deadLetterMax ?? 100);
    this.compactAbove = opts.compactAboveBytes ?? 64 * 1024 * 1024;
    this.now = opts.now ?? Date.now;
  }

  /** Opens (creating if needed), replays and compacts the journal. */
  static async open(opts: JournalOptions): Promise<EventJournal> {
    const j = new EventJournal(opts);
    await fsp.mkdir(path.dirname(j.file), { recursive: true });
    await j.replay();
    // Start from a compact, well-formed file (nothing appends yet, so no copy is needed).
    const tmp = j.tmpFile();
    const { out, bytes } = await j.writeTemp(tmp, j.snapshot(true));
    await out.close();
    await j.install(tmp, bytes);
    j.needsNewline = false;
    return j;
  }

  // ---------------------------------------------------------------- queries

  /** The state of an id inside the dedupe window (pending and dead letters always count). */
  lookup(id: string): EntryState | undefined {
    const e = this.entries.get(id);
    if (!e) return undefined;
    if (e.state === 'pending' || (e.state === 'failed' && e.event)) return e.state;
    return e.at >= this.now() - this.windowMs ? e.state : undefined;
  }

  /** Accepted events the flow has not finished, oldest first. */
  pendingEvents(): StoredEvent[] {
    const out: StoredEvent[] = [];
    for (const e of this.entries.values()) if (e.state === 'pending' && e.event) out.push(e.event);
    return out.sort((a, b) => a.receivedAt - b.receivedAt);
  }

  /** Pending events plus accepts being written (O(1); used for back-pressure on every request). */
  pendingCount(): number {
    return this.pendingN + this.storingNow.size;
  }

  /** The in-flight store of this id, if a concurrent delivery is writing it right now. */
  storing(id: string): Promise<StoredEvent> | undefined {
    return this.storingNow.get(id);
  }

  deadLetters(): DeadLetter[] {
    const out: DeadLetter[] = [];
    for (const id of this.deadOrder) {
      const e = this.entries.get(id);
      if (e?.state === 'failed' && e.event) out.push({ ...e.event, failedAt: e.failedAt ?? e.at, reason: e.reason ?? '' });
    }
    return out;
  }

  getStats(): JournalStats {
    let pending = 0;
    let done = 0;
    let failed = 0;
    for (const e of this.entries.values()) {
      if (e.state === 'pending') pending++;
      else if (e.state === 'failed') failed++;
      else done++;
    }
    return { pending, done, failed, tracked: this.entries.size, fileBytes: this.fileBytes, ...this.stats };
  }

  // ---------------------------------------------------------------- writes

  /**
   * Stores an accepted event; resolves once it is on disk (fdatasync'd unless
   * sync is off). `bodyBytes`, when given, are the exact received bytes of
   * `body` (stored as they are, saving a re-encode). Only then may the caller answer 2xx. Rejects with
   * JournalUnavailableError or the I/O error; the id is then not recorded.
   */
  accept(ev: Omit<StoredEvent, 'deliveryCount'> & { deliveryCount?: number; bodyBytes?: Buffer }): Promise<StoredEvent> {
    if (this.entries.get(ev.id)?.state === 'pending' || this.storingNow.has(ev.id)) {
      return Promise.reject(new Error(`event ${ev.id} is already stored`));
    }
    const { bodyBytes, ...rest } = ev;
    const stored: StoredEvent = { ...rest, deliveryCount: ev.deliveryCount ?? 1 };
    const p = this.enqueue(acceptedRecord(stored, bodyBytes), this.sync, () => {
      this.setPending(stored);
      this.liveBytes += approxRecordBytes(stored);
    })
      .then(() => stored)
      .finally(() => this.storingNow.delete(stored.id));
    this.storingNow.set(stored.id, p);
    return p;
  }

  /** Records another hand-off to the flow (after a restart); returns the new count. */
  redelivered(id: string): number {
    const e = this.entries.get(id);
    if (!e?.event) return 0;
    e.event.deliveryCount += 1;
    this.fireAndForget(recordLine({ t: 'r', id, n: e.event.deliveryCount }));
    return e.event.deliveryCount;
  }

  /**
   * Marks an event done. Not synced on its own: it rides with the next write.
   * If it is lost in a power cut the event is emitted once more (at-least-once).
   */
  markDone(id: string): void {
    const e = this.entries.get(id);
    if (!e || e.state !== 'pending') return;
    e.state = 'done';
    this.pendingN--;
    if (e.event) this.liveBytes -= Math.min(this.liveBytes, approxRecordBytes(e.event));
    e.event = undefined;
    this.seen.add(id, e.at);
    this.fireAndForget(recordLine({ t: 'd', id, at: this.now() }));
  }

  /** Moves an event to the dead-letter record (bounded). */
  markFailed(id: string, reason: string): void {
    const e = this.entries.get(id);
    if (!e || e.state !== 'pending') return;
    e.state = 'failed';
    this.pendingN--;
    e.failedAt = this.now();
    e.reason = String(reason).slice(0, 1000);
    this.addDead(id);
    this.fireAndForget(recordLine({ t: 'f', id, at: e.failedAt, r: e.reason }));
  }

  /** Drops ids older than the dedupe window (never pending events or kept dead letters). */
  prune(): number {
    const cutoff = this.now() - this.windowMs;
    let n = 0;
    for (const [id, e] of this.entries) {
      if (e.state === 'pending' || (e.state === 'failed' && e.event)) continue;
      if (e.at < cutoff) {
        this.entries.delete(id);
        n++;
      }
    }
    return n;
  }

  /** Rewrites the file if it has grown well past its live content. */
  maybeCompact(): Promise<void> {
    return this.grownPastLive() ? this.compact() : Promise.resolve();
  }

  /**
   * Prunes and rewrites the journal now (after the writes queued so far);
   * resolves once the new file is in place. Failures are swallowed: the old
   * journal stays valid, and compaction is an optimisation.
   */
  async compact(): Promise<void> {
    this.compactRequested = true;
    await this.kick().catch(() => undefined);
    // A compaction already running started before this request: the next one (started as it ends) is ours.
    while (this.compaction) await this.compaction;
  }

  /** Writes what is queued, syncs and closes the file. Further writes fail. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closing = true; // no new compaction; a running one finishes (it needs the writer for its swap)
    while (this.flushing || this.queue.length > 0 || this.compaction) {
      await Promise.all([this.kick().catch(() => undefined), this.compaction]);
    }
    this.closed = true;
    const fh = this.fh;
    this.fh = undefined;
    if (fh) {
      try {
        await fh.datasync();
      } finally {
        await fh.close();
      }
    }
  }

  // ---------------------------------------------------------------- internals

  private setPending(ev: StoredEvent): void {
    const prev = this.entries.get(ev.id);
    if (prev?.state !== 'pending') this.pendingN++;
    this.entries.set(ev.id, { id: ev.id, at: ev.receivedAt, state: 'pending', event: ev });
  }

  private addDead(id: string): void {
    this.deadOrder.push(id);
    while (this.deadOrder.length > this.deadLetterMax) {
      const old = this.entries.get(this.deadOrder.shift() as string);
      if (old) {
        old.event = undefined; // keep the id for dedupe, drop the body
        old.state = 'seen';
        this.seen.add(old.id, old.at);
      }
    }
  }

  private fireAndForget(chunks: Chunk[]): void {
    this.enqueue(chunks, false).catch(() => undefined); // a lost done/redelivery record only causes one more emission
  }

  private enqueue(chunks: Chunk[], sync: boolean, onWritten?: () => void): Promise<void> {
    if (this.closed) return Promise.reject(new JournalUnavailableError('event store is closed'));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ chunks, sync, onWritten, resolve, reject });
      void this.kick();
    });
  }

  /** Runs the single writer loop if it is not running; resolves when the queue is drained. */
  private kick(): Promise<void> {
    if (!this.flushing) {
      this.flushing = this.flushLoop().finally(() => {
        this.flushing = undefined;
        // A record queued by a continuation that ran between the loop's last check and here.
        if (this.queue.length > 0 && !this.closed) void this.kick();
      });
    }
    return this.flushing;
  }

  /**
   * The single writer. Pipelined group commit: while batch N's fdatasync runs,
   * batch N+1 (everything queued meanwhile) is already being written; its own
   * fdatasync starts only after N's has finished, so a batch is acknowledged
   * only by a sync that began after its write completed. Records that arrive
   * after batch N+1's write but before N's sync ends are written as a top-up
   * and ride with N+1's sync (without it, small events waited one extra sync).
   * One write and one sync in flight at most, in file order.
   */
  private async flushLoop(): Promise<void> {
    /** The batch written last, with its sync (if it needs one) still running. */
    let inFlight: { batch: QueuedWrite[]; sync: Promise<void> | undefined } | undefined;
    /** Waits for the in-flight sync and answers its batch; false if the sync failed. */
    const settle = async (): Promise<boolean> => {
      const f = inFlight;
      inFlight = undefined;
      if (!f) return true;
      try {
        await f.sync;
      } catch (err) {
        for (const w of f.batch) w.reject(err as Error);
        return false;
      }
      for (const w of f.batch) w.onWritten?.();
      for (const w of f.batch) w.resolve();
      return true;
    };
    for (;;) {
      if (this.swapRequest) {
        // A compaction's temp file is ready: pause appends, copy the last records, swap files.
        await settle();
        await this.swap();
        continue;
      }
      if (this.compactRequested && this.closing) this.compactRequested = false;
      const startCompaction = this.compactRequested && !this.compaction;
      if (this.queue.length === 0 && !startCompaction) {
        if (!inFlight) return;
        await settle();
        continue;
      }
      if (startCompaction) {
        // Not waiting for an empty queue (under sustained load it never is):
        // with the last sync settled, every record written so far is applied
        // in memory, so the snapshot taken now plus the records from the
        // current end of the file onwards is the whole journal.
        // `compaction` is set before any await, so compact() and close() always see it.
        this.compactRequested = false;
        let finish!: () => void;
        this.compaction = new Promise<void>((r) => (finish = r));
        const end = () => {
          this.compaction = undefined;
          if (this.compactRequested && !this.closing) void this.kick(); // a request made meanwhile
          finish();
        };
        await settle();
        let from: number | undefined;
        try {
          from = this.fh ? (await this.fh.stat()).size : undefined;
        } catch {
          /* no compaction this time */
        }
        if (from === undefined) end();
        else void this.compactInBackground(from).finally(end);
        continue;
      }
      const batch = this.queue;
      this.queue = [];
      if (!(await this.writeBatch(batch))) {
        await settle();
        continue;
      }
      // The previous sync must end before this batch's starts. If it failed, this
      // batch was written while the kernel may have dropped dirty pages: a later
      // "successful" sync would not prove it durable, so it is refused too.
      if (!(await settle())) {
        for (const w of batch) w.reject(new JournalUnavailableError('event store sync failed'));
        continue;
      }
      if (this.queue.length > 0 && !this.compactRequested) {
        const topUp = this.queue;
        this.queue = [];
        if (await this.writeBatch(topUp)) batch.push(...topUp);
      }
      const fh = this.fh;
      const sync =
        batch.some((w) => w.sync) && fh
          ? fh.datasync().then(() => {
              this.stats.syncs++;
            })
          : undefined;
      sync?.catch(() => undefined); // observed in settle(); never an unhandled rejection meanwhile
      inFlight = { batch, sync };
    }
  }

  /** Appends a batch; on failure rejects its records and returns false. */
  private async writeBatch(batch: QueuedWrite[]): Promise<boolean> {
    try {
      if (!this.fh) throw new JournalUnavailableError('event store is not open');
      // A failed earlier write may have left a partial line; terminate it so
      // it is skipped as one corrupt line instead of merging with this one.
      const chunks: Chunk[] = this.needsNewline ? [NL] : [];
      for (const w of batch) for (const c of w.chunks) chunks.push(c);
      this.needsNewline = true;
      const bytes = await this.writeChunks(this.fh, chunks);
      this.needsNewline = false;
      this.fileBytes += bytes;
      // Rewrite once the file is mostly finished events (checked per batch, so a burst cannot grow it unbounded).
      if (!this.compaction && this.grownPastLive()) this.compactRequested = true;
      return true;
    } catch (err) {
      for (const w of batch) w.reject(err as Error);
      return false;
    }
  }

  /**
   * Writes chunks in order: packed into the reused buffer when they fit (one
   * copy, no allocation per record), else gathered from their own buffers.
   */
  private async writeChunks(fh: fsp.FileHandle, chunks: Chunk[]): Promise<number> {
    let total = 0;
    for (const c of chunks) total += chunkBytes(c);
    if (total === 0) return 0;
    if (total > SCRATCH_MAX) return writevAll(fh, chunks);
    if (!this.scratch || this.scratch.length < total) this.scratch = Buffer.allocUnsafe(Math.min(SCRATCH_MAX, Math.max(total, 256 * 1024)));
    const buf = this.scratch;
    let off = 0;
    for (const c of chunks) off += Buffer.isBuffer(c) ? c.copy(buf, off) : buf.write(c.base64.toString('base64'), off, 'latin1');
    await writeAll(fh, buf.subarray(0, total));
    return total;
  }

  private async replay(): Promise<void> {
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(this.file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    try {
      const buf = Buffer.allocUnsafe(READ_CHUNK);
      let carry = Buffer.alloc(0);
      let pos = 0;
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, READ_CHUNK, pos);
        if (bytesRead === 0) break;
        pos += bytesRead;
        let chunk = Buffer.concat([carry, buf.subarray(0, bytesRead)]);
        let nl: number;
        while ((nl = chunk.indexOf(0x0a)) >= 0) {
          this.applyLine(chunk.subarray(0, nl).toString('utf8'));
          chunk = chunk.subarray(nl + 1);
        }
        carry = Buffer.from(chunk);
      }
      // Bytes after the last newline: a write cut short by a crash, never acknowledged.
      this.stats.tornTailBytes = carry.length;
    } finally {
      await fh.close();
    }
  }

  private applyLine(line: string): void {
    if (!line.trim()) return;
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line);
    } catch {
      this.stats.corruptLines++;
      return;
    }
    const id = typeof r.id === 'string' ? r.id : undefined;
    const at = typeof r.at === 'number' ? r.at : this.now();
    switch (r.t) {
      case 'h':
        return;
      case 'a': {
        if (!id) break;
        let body: string;
        if (typeof r.b64 === 'string') {
          const bytes = Buffer.from(r.b64, 'base64');
          if (typeof r.len === 'number' && bytes.length !== r.len) break; // damaged inside a line that still parses
          body = bytes.toString('utf8');
        } else if (typeof r.b === 'string')
          body = r.b; // version 1 record
        else break;
        // Records are in time order: a later accept of the same id (after its window) wins.
        const meta = (r.m && typeof r.m === 'object' ? r.m : { signatureVerified: false }) as AcceptedMeta;
        this.setPending({ id, receivedAt: at, body, meta, deliveryCount: typeof r.n === 'number' ? r.n : 1 });
        return;
      }
      case 'r': {
        const e = id ? this.entries.get(id) : undefined;
        if (e?.event && typeof r.n === 'number') e.event.deliveryCount = Math.max(e.event.deliveryCount, r.n);
        return;
      }
      case 'd': {
        const e = id ? this.entries.get(id) : undefined;
        if (e) {
          if (e.state === 'pending') this.pendingN--;
          e.state = 'done';
          e.event = undefined;
        }
        return;
      }
      case 'f': {
        const e = id ? this.entries.get(id) : undefined;
        if (e && e.state === 'pending') {
          this.pendingN--;
          e.state = 'failed';
          e.failedAt = at;
          e.reason = typeof r.r === 'string' ? r.r : '';
          this.addDead(e.id);
        }
        return;
      }
      case 's': {
        if (!id) break;
        const e = this.entries.get(id);
        if (!e) this.entries.set(id, { id, at, state: 'seen' });
        else if ((e.state === 'seen' || e.state === 'done') && at > e.at) e.at = at; // an id finished twice: the later one counts
        return;
      }
    }
    this.stats.corruptLines++;
  }

  /** The file is past the compaction threshold and mostly finished events. */
  private grownPastLive(): boolean {
    return this.fileBytes > this.compactAbove && this.fileBytes > 2 * this.liveBytes + 64 * 1024;
  }

  private tmpFile(): string {
    return `${this.file}.compact-tmp`;
  }

  /**
   * The live state as journal chunks, taken synchronously (a consistent view
   * of memory): header, seen lines, then pending events and dead letters.
   * Prunes expired ids. `rebuildSeen` re-serializes the seen lines from
   * `entries` (on open, and when most kept lines are stale); otherwise the
   * ready-made ones are reused.
   */
  private snapshot(rebuildSeen: boolean): Chunk[] {
    const cutoff = this.now() - this.windowMs;
    this.prune(); // first, so the staleness check below compares with the ids still kept
    // Every id has at most one live seen line; past twice that (plus slack) the log is mostly stale.
    if (rebuildSeen || this.seen.lines > 2 * this.entries.size + 10_000) {
      rebuildSeen = true;
      this.seen.clear();
    }
    const events: Chunk[] = [];
    let live = 0;
    // Small records are joined as text and encoded once per run, not one Buffer each.
    let small = '';
    const flushSmall = () => {
      if (small) events.push(Buffer.from(small, 'utf8'));
      small = '';
    };
    for (const e of this.entries.values()) {
      if ((e.state === 'pending' || e.state === 'failed') && e.event) {
        const ev = e.event;
        flushSmall();
        events.push(...acceptedRecord(ev));
        if (e.state === 'failed') small += JSON.stringify({ t: 'f', id: ev.id, at: e.failedAt ?? e.at, r: e.reason ?? '' }) + '\n';
        live += approxRecordBytes(ev);
      } else if (rebuildSeen) {
        this.seen.add(e.id, e.at);
      }
    }
    flushSmall();
    // Set here, not at the swap: accepts and done marks after this point adjust it as usual.
    this.liveBytes = live + (this.entries.size + 1) * 64;
    return [...recordLine({ t: 'h', v: FORMAT_VERSION, compactedAt: this.now() }), ...this.seen.chunks(cutoff), ...events];
  }

  /** Writes chunks to a new temp file and syncs it; returns its open handle and size. */
  private async writeTemp(tmp: string, chunks: Chunk[]): Promise<{ out: fsp.FileHandle; bytes: number }> {
    const out = await fsp.open(tmp, 'w', 0o600);
    try {
      const bytes = await writevAll(out, chunks);
      await out.datasync();
      return { out, bytes };
    } catch (err) {
      await out.close().catch(() => undefined);
      throw err;
    }
  }

  /** Renames the (synced, closed) temp file over the journal, fsyncs the directory and opens it for appending. */
  private async install(tmp: string, bytes: number): Promise<void> {
    if (this.fh) {
      await this.fh.close();
      this.fh = undefined;
    }
    try {
      await fsp.rename(tmp, this.file);
    } catch (err) {
      // Keep appending to the old (still complete) journal; drop the temp file.
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      this.fh = await fsp.open(this.file, fsc.O_WRONLY | fsc.O_APPEND | fsc.O_CREAT, 0o600);
      throw err;
    }
    await syncDir(path.dirname(this.file));
    this.fh = await fsp.open(this.file, fsc.O_WRONLY | fsc.O_APPEND | fsc.O_CREAT, 0o600);
    this.fileBytes = bytes;
    this.stats.compactions++;
  }

  /**
   * A compaction started by the writer once every record before `from` was
   * applied in memory: writes the snapshot while appends go on, catches up
   * with the records appended meanwhile, then has the writer pause and swap.
   * Never rejects (the old journal stays valid if anything fails).
   */
  private async compactInBackground(from: number): Promise<void> {
    const chunks = this.snapshot(false); // synchronous: before any further write
    const tmp = this.tmpFile();
    let src: fsp.FileHandle | undefined;
    let out: fsp.FileHandle | undefined;
    try {
      src = await fsp.open(this.file, 'r'); // the journal being replaced (it is only renamed by this compaction)
      const written = await this.writeTemp(tmp, chunks);
      out = written.out;
      let bytes = written.bytes;
      for (let n = Infinity; n >= CATCH_UP_BYTES; ) {
        n = await copyFrom(src, from, out);
        from += n;
        bytes += n;
      }
      const ready = { tmp, out, src, from, bytes };
      await new Promise<void>((resolve, reject) => {
        this.swapRequest = { ...ready, resolve, reject };
        void this.kick();
      });
    } catch {
      await out?.close().catch(() => undefined);
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
    } finally {
      await src?.close().catch(() => undefined);
    }
  }

  /** Run by the writer with no write or sync in flight: copies the last appended records and swaps files. */
  private async swap(): Promise<void> {
    const r = this.swapRequest as PendingSwap;
    this.swapRequest = undefined;
    try {
      // One pass reaches the end: nothing appends while the writer runs this.
      r.bytes += await copyFrom(r.src, r.from, r.out);
      await r.out.datasync();
      await r.out.close();
      await r.src.close(); // no handle on the old file left open across the rename (Windows refuses to replace an open file)
      await this.install(r.tmp, r.bytes); // needsNewline carries over: the copy ends exactly where the old file did
      r.resolve();
    } catch (err) {
      r.reject(err as Error);
    }
  }
}

/** Appends everything in `src` from `pos` to its end onto `out`; returns the byte count. */
async function copyFrom(src: fsp.FileHandle, pos: number, out: fsp.FileHandle): Promise<number> {
  const buf = Buffer.allocUnsafe(READ_CHUNK);
  let total = 0;
  for (;;) {
    const { bytesRead } = await src.read(buf, 0, READ_CHUNK, pos + total);
    if (bytesRead === 0) return total;
    await writeAll(out, buf.subarray(0, bytesRead));
    total += bytesRead;
  }
}

/** Writes every chunk in order (one gathering write; a short write is finished from a copy). Returns the byte count. */
async function writevAll(fh: fsp.FileHandle, chunks: Chunk[]): Promise<number> {
  const bufs = chunks.map(chunkBuffer);
  let total = 0;
  for (const c of bufs) total += c.length;
  if (total === 0) return 0;
  const { bytesWritten } = await fh.writev(bufs);
  if (bytesWritten < total) await writeAll(fh, Buffer.concat(bufs).subarray(bytesWritten));
  return total;
}

/** Writes the whole buffer, continuing after short writes. */
async function writeAll(fh: fsp.FileHandle, buf: Buffer): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const r = await fh.write(buf, off, buf.length - off);
    if (r.bytesWritten <= 0) throw new Error('short write to the event store');
    off += r.bytesWritten;
  }
}

/** fsync a directory so a rename survives power loss (not supported on Windows; ignored there). */
async function syncDir(dir: string): Promise<void> {
  let d: fsp.FileHandle | undefined;
  try {
    d = await fsp.open(dir, 'r');
    await d.sync();
  } catch {
    /* platform without directory fsync */
  } finally {
    await d?.close().catch(() => undefined);
  }
}
