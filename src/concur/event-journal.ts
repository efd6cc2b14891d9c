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
 *   {"t":"h","v":3}                                   header (version 3; versions 1 and 2 are read too)
 *   {"t":"a","id","at","m","n","len","b64"}           accepted: metadata, delivery count, body bytes (base64)
 *   {"t":"a","id","at","b","m","n"}                   accepted, version 1 (body as JSON text); still read
 *   {"t":"r","id","n"}                                re-delivered to the flow (n = delivery count)
 *   {"t":"d","id","at"}                               done (the flow completed), or a dead letter discarded by the operator
 *   {"t":"f","id","at","r"}                           failed (dead-letter, reason r)
 *   {"t":"p","id","at","n"}                           a dead letter replayed by the operator: pending again, delivery count n
 *   {"t":"s","id","at"}                               seen (compacted dedupe entry, body dropped)
 *   {"t":"s","h","at"}                                seen, for an id that is not a UUID: its 128-bit key as hex (version 3)
 * A torn last line (crash mid-write) is cut off on open; an accepted record is
 * only acknowledged after its line has been written and fdatasync'd, so a torn
 * line was never acknowledged.
 *
 * Modules: ./journal-codec.ts (record encode/decode), ./journal-file.ts
 * (file I/O), this file (the journal state machine and compaction policy).
 *
 * Compaction writes a snapshot of the live state (pending events, dead
 * letters, ids still inside the dedupe window) to a temp file while appends go
 * on to the journal, copies the records appended meanwhile after it, fsyncs
 * it, renames it over the journal and fsyncs the directory. Appends wait only
 * for the last copy and the swap: when they waited for the whole rewrite,
 * every compaction stalled all deliveries for 20–65 ms. The ids of finished
 * events are held compactly (./dedupe-set.ts: ~28 bytes per id); a snapshot
 * takes an O(buckets) view of them and their "s" lines are made a slice at a
 * time while the temp file is written, so neither memory nor a main-thread
 * pause grows with the ids in the 72 h window.
 *
 * Why replaying the copied records over the snapshot is right: the snapshot is
 * taken when every record before the copy point is applied in memory, and may
 * already show some later changes; each record type is idempotent over a
 * state that already contains it (an "a" sets pending, "d"/"f" only move a
 * pending event (a "d" also drops a dead letter), "p" only moves a dead letter
 * (a pending one keeps the higher count), "r" keeps the higher count, "s"
 * never overrides a newer state).
 */
import { promises as fsp, constants as fsc } from 'node:fs';
import * as path from 'node:path';
import { type Chunk, type DeadLetter, type StoredEvent, FORMAT_VERSION, NL, acceptedRecord, approxRecordBytes, decodeLine, recordLine } from './journal-codec';
import { DedupeSet, type Key, keyOfHex, parseSeenLine, seenLineWriter } from './dedupe-set';
import { ChunkWriter, type JournalFs, copyFrom, defaultFs, readLines, syncDir, writeTemp, writevAll } from './journal-file';

export type { AcceptedMeta, DeadLetter, StoredEvent } from './journal-codec';
export { acceptedRecord } from './journal-codec';
export type { JournalFs } from './journal-file';

export type EntryState = 'pending' | 'done' | 'failed' | 'seen';

/** A pending event or a dead letter (with its body). Finished ids live in the DedupeSet instead. */
interface Entry {
  id: string;
  at: number;
  state: 'pending' | 'failed';
  event: StoredEvent;
  /** Body bytes (for the memory limits). */
  bytes: number;
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
  /**
   * Compact when the file exceeds this many bytes and is at least 2x the live size (default 64 MiB: each rewrite
   * stalls appends for a few ms, so with 50 KB events an 8 MiB threshold cost ~30% of the throughput).
   */
  compactAboveBytes?: number;
  /**
   * Memory the finished ids may take (bytes, default 256 MiB: ~9 M ids, 72 h
   * at 35 events/s). Past it, accept() refuses new events with JournalFullError
   * (the receiver answers 503, ESS retries) until old ids leave the window.
   */
  dedupeMemoryBytes?: number;
  /** Body bytes of pending events (default 256 MiB); past it accept() refuses new events with JournalFullError. */
  pendingMaxBytes?: number;
  /** Body bytes of kept dead letters (default 64 MiB); past it the oldest shrink to dedupe entries, like past deadLetterMax. */
  deadLetterMaxBytes?: number;
  /** File-system calls (default fs.promises); tests inject failures such as ENOSPC. */
  fs?: JournalFs;
  /** Clock, for tests. */
  now?: () => number;
}

export interface JournalStats {
  pending: number;
  done: number;
  failed: number;
  tracked: number;
  fileBytes: number;
  /** Memory held by the finished ids (see ./dedupe-set.ts). */
  dedupeBytes: number;
  corruptLines: number;
  tornTailBytes: number;
  syncs: number;
  compactions: number;
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
/** Compaction copies appended records in passes while appends go on, until a pass copies less than this. */
const CATCH_UP_BYTES = 256 * 1024;

/** Thrown by append when the journal is closed or broken; the caller answers 503 so ESS retries. */
export class JournalUnavailableError extends Error {}

/**
 * Thrown by accept() when a memory limit is reached (the receiver answers 503
 * with Retry-After: ESS retries for 72 h, by which time old ids have left the
 * window or the flow has caught up). `code` lets other modules recognise it
 * without importing this class.
 */
export class JournalFullError extends JournalUnavailableError {
  readonly code = 'ESTORE_FULL';
  constructor(
    message: string,
    readonly limit: 'dedupe-memory' | 'pending-memory',
  ) {
    super(message);
    this.name = 'JournalFullError';
  }
}

const MiB = 1024 * 1024;
const mib = (n: number) => `${(n / MiB).toFixed(n < 10 * MiB ? 1 : 0)} MiB`;

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
  private readonly fs: JournalFs;
  private readonly dedupeMemoryMax: number;
  private readonly pendingMaxBytes: number;
  private readonly deadLetterMaxBytes: number;
  /** Body bytes of pending events, of accepts being written, and of kept dead letters. */
  private pendingBytes = 0;
  private storingBytes = 0;
  private deadBytes = 0;

  private fh: fsp.FileHandle | undefined;
  /** Pending events and dead letters with their body. */
  private readonly entries = new Map<string, Entry>();
  /** Ids of finished events (done, or dead letters whose body was dropped) inside the dedupe window. */
  private readonly seenSet: DedupeSet;
  private readonly key: Key = { w: new Int32Array(4), hashed: true };
  /** Failed ids in failure order; the first ones lose their body past deadLetterMax. */
  private readonly deadOrder: string[] = [];
  /** Packs each batch into one reused buffer (one write in flight at a time). */
  private readonly writer = new ChunkWriter();
  /** Accepts whose write is in flight, so a concurrent duplicate can wait for the outcome. */
  private readonly storingNow = new Map<string, Promise<StoredEvent>>();
  /** Dead letters whose replay record is being written. */
  private readonly replaying = new Set<string>();
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
    this.fs = opts.fs ?? defaultFs;
    this.dedupeMemoryMax = opts.dedupeMemoryBytes ?? 256 * MiB;
    this.pendingMaxBytes = opts.pendingMaxBytes ?? 256 * MiB;
    this.deadLetterMaxBytes = opts.deadLetterMaxBytes ?? 64 * MiB;
    this.seenSet = new DedupeSet(this.windowMs);
  }

  /**
   * Opens (creating if needed) and replays the journal. It is not rewritten
   * here: a rewrite needs free space equal to the journal (a full disk kept
   * the receiver down), and time (seconds at millions of ids) before the first
   * delivery can be accepted. A torn tail is cut off in place (truncating
   * needs no space); a journal with corrupt lines or mostly finished events is
   * compacted in the background once open. A temp file left by a crashed
   * compaction is deleted.
   */
  static async open(opts: JournalOptions): Promise<EventJournal> {
    const j = new EventJournal(opts);
    const fs = j.fs;
    await fs.mkdir(path.dirname(j.file), { recursive: true });
    await fs.rm(j.tmpFile(), { force: true });
    const read = await readLines(j.file, (buf, start, end) => j.applyLine(buf, start, end), fs);
    if (read) {
      // Bytes after the last newline: a write cut short by a crash, never acknowledged.
      j.stats.tornTailBytes = read.tornTailBytes;
      j.fileBytes = read.size - read.tornTailBytes;
      if (read.tornTailBytes > 0) await fs.truncate(j.file, j.fileBytes);
    }
    j.fh = await fs.open(j.file, fsc.O_WRONLY | fsc.O_APPEND | fsc.O_CREAT, 0o600);
    try {
      if (j.fileBytes === 0) {
        j.fileBytes = await writevAll(j.fh, recordLine({ t: 'h', v: FORMAT_VERSION }));
        await j.fh.datasync();
        await syncDir(path.dirname(j.file), fs);
      }
    } catch (err) {
      await j.fh.close().catch(() => undefined);
      throw err;
    }
    let live = 0;
    for (const e of j.entries.values()) live += approxRecordBytes(e.event);
    j.liveBytes = live + (j.entries.size + j.seenSet.size + 1) * 64;
    if (j.stats.corruptLines > 0 || j.grownPastLive()) {
      j.compactRequested = true;
      void j.kick();
    }
    return j;
  }

  // ---------------------------------------------------------------- queries

  /** The state of an id inside the dedupe window (pending and dead letters always count). */
  lookup(id: string): EntryState | undefined {
    const e = this.entries.get(id);
    if (e) return e.state;
    return this.seenSet.lookup(id, this.now() - this.windowMs);
  }

  /** Accepted events the flow has not finished, oldest first. */
  pendingEvents(): StoredEvent[] {
    const out: StoredEvent[] = [];
    for (const e of this.entries.values()) if (e.state === 'pending') out.push(e.event);
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
      if (e?.state === 'failed') out.push({ ...e.event, failedAt: e.failedAt ?? e.at, reason: e.reason ?? '' });
    }
    return out;
  }

  getStats(): JournalStats {
    const done = this.seenSet.size;
    return {
      pending: this.pendingN,
      done,
      failed: this.entries.size - this.pendingN,
      tracked: this.entries.size + done,
      fileBytes: this.fileBytes,
      dedupeBytes: this.seenSet.bytes(),
      ...this.stats,
    };
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
    const size = bodyBytes?.length ?? Buffer.byteLength(ev.body);
    const full = this.fullFor(size);
    if (full) return Promise.reject(full);
    const stored: StoredEvent = { ...rest, deliveryCount: ev.deliveryCount ?? 1 };
    this.storingBytes += size;
    const p = this.enqueue(acceptedRecord(stored, bodyBytes), this.sync, () => {
      this.setPending(stored, size);
      this.liveBytes += approxRecordBytes(stored);
    })
      .then(() => stored)
      .finally(() => {
        this.storingNow.delete(stored.id);
        this.storingBytes -= size;
      });
    this.storingNow.set(stored.id, p);
    return p;
  }

  /**
   * Why an event of `size` body bytes cannot be taken now, or undefined. The
   * limits only refuse new events: ids of events already pending still join
   * the dedupe set when they finish, so nothing accepted loses its dedupe.
   */
  private fullFor(size: number): JournalFullError | undefined {
    const dedupe = this.seenSet.bytes();
    if (dedupe >= this.dedupeMemoryMax) {
      return new JournalFullError(
        `dedupe memory limit reached (${mib(dedupe)} of ${mib(this.dedupeMemoryMax)} for ${this.seenSet.size} ids in the window); ` +
          'new events are refused until old ids leave the window',
        'dedupe-memory',
      );
    }
    const held = this.pendingBytes + this.storingBytes;
    if (held > 0 && held + size > this.pendingMaxBytes) {
      return new JournalFullError(`pending-event memory limit reached (${mib(held)} of ${mib(this.pendingMaxBytes)} waiting for the flow)`, 'pending-memory');
    }
    return undefined;
  }

  /** Memory held (bytes): finished ids, pending event bodies (with accepts being written), dead-letter bodies. */
  memory(): { dedupe: number; pending: number; deadLetters: number; limits: { dedupe: number; pending: number; deadLetters: number } } {
    return {
      dedupe: this.seenSet.bytes(),
      pending: this.pendingBytes + this.storingBytes,
      deadLetters: this.deadBytes,
      limits: { dedupe: this.dedupeMemoryMax, pending: this.pendingMaxBytes, deadLetters: this.deadLetterMaxBytes },
    };
  }

  /** Records another hand-off to the flow (after a restart); returns the new count. */
  redelivered(id: string): number {
    const e = this.entries.get(id);
    if (!e) return 0;
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
    this.finish(e, 'done');
    this.fireAndForget(recordLine({ t: 'd', id, at: this.now() }));
  }

  /** Moves an event to the dead-letter record (bounded). */
  markFailed(id: string, reason: string): void {
    const e = this.entries.get(id);
    if (!e || e.state !== 'pending') return;
    const at = this.now();
    const why = String(reason).slice(0, 1000);
    this.toFailed(e, at, why);
    this.fireAndForget(recordLine({ t: 'f', id, at, r: why }));
  }

  /**
   * Replays a dead letter: it becomes pending again with its delivery count
   * + 1, durably (the "p" record is synced before this resolves), so a crash
   * before its flow finishes emits it again on the next start. Resolves the
   * event to emit, or undefined when `id` is not a dead letter with its body
   * (unknown, pending, done, shrunk to a dedupe entry, or being replayed).
   */
  async replay(id: string): Promise<StoredEvent | undefined> {
    const e = this.entries.get(id);
    if (!e || e.state !== 'failed' || this.replaying.has(id)) return undefined;
    const n = e.event.deliveryCount + 1;
    this.replaying.add(id);
    try {
      await this.enqueue(recordLine({ t: 'p', id, at: this.now(), n }), this.sync, () => this.toPendingAgain(id, n));
    } finally {
      this.replaying.delete(id);
    }
    const now = this.entries.get(id);
    return now?.state === 'pending' ? now.event : undefined;
  }

  /**
   * Discards a dead letter: its body is dropped and its id stays a duplicate
   * inside the dedupe window (a "d" record). False when `id` is not a dead letter.
   */
  discard(id: string): boolean {
    const e = this.entries.get(id);
    if (!e || e.state !== 'failed' || this.replaying.has(id)) return false;
    this.forgetDead(id);
    this.finish(e, 'seen');
    this.fireAndForget(recordLine({ t: 'd', id, at: this.now() }));
    return true;
  }

  /** A dead letter becomes pending again (a "p" record, written or read back). */
  private toPendingAgain(id: string, n: number): void {
    const e = this.entries.get(id);
    if (!e) return;
    if (e.state === 'pending') {
      e.event.deliveryCount = Math.max(e.event.deliveryCount, n); // already pending (a snapshot newer than the record)
      return;
    }
    this.forgetDead(id);
    this.deadBytes -= e.bytes;
    e.state = 'pending';
    e.failedAt = undefined;
    e.reason = undefined;
    e.event.deliveryCount = Math.max(e.event.deliveryCount, n);
    this.pendingN++;
    this.pendingBytes += e.bytes;
  }

  /** Removes a dead letter from the failure order (at most deadLetterMax long), so it no longer counts toward the limit. */
  private forgetDead(id: string): void {
    const i = this.deadOrder.lastIndexOf(id);
    if (i >= 0) this.deadOrder.splice(i, 1);
  }

  /** Drops ids older than the dedupe window, a time bucket at a time (never pending events or kept dead letters). */
  prune(): number {
    return this.seenSet.prune(this.now() - this.windowMs);
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

  /** A pending event or dead letter becomes a finished id (its body is dropped). */
  private finish(e: Entry, state: 'done' | 'seen'): void {
    this.entries.delete(e.id);
    this.dropBytes(e);
    if (e.state === 'pending') this.pendingN--;
    this.liveBytes -= Math.min(this.liveBytes, approxRecordBytes(e.event));
    this.seenSet.add(e.id, e.at, state);
  }

  private setPending(ev: StoredEvent, bytes = Buffer.byteLength(ev.body)): void {
    const prev = this.entries.get(ev.id);
    if (prev) this.dropBytes(prev);
    if (prev?.state !== 'pending') this.pendingN++;
    this.entries.set(ev.id, { id: ev.id, at: ev.receivedAt, state: 'pending', event: ev, bytes });
    this.pendingBytes += bytes;
  }

  private dropBytes(e: Entry): void {
    if (e.state === 'pending') this.pendingBytes -= e.bytes;
    else this.deadBytes -= e.bytes;
  }

  /** A pending event becomes a dead letter. */
  private toFailed(e: Entry, at: number, reason: string): void {
    this.pendingN--;
    this.pendingBytes -= e.bytes;
    e.state = 'failed';
    e.failedAt = at;
    e.reason = reason;
    this.deadBytes += e.bytes;
    this.addDead(e.id);
  }

  private addDead(id: string): void {
    this.deadOrder.push(id);
    // Past the count or the byte limit the oldest shrink (the newest is always kept with its body).
    while (this.deadOrder.length > this.deadLetterMax || (this.deadBytes > this.deadLetterMaxBytes && this.deadOrder.length > 1)) {
      const old = this.entries.get(this.deadOrder.shift() as string);
      if (old?.state === 'failed') this.finish(old, 'seen'); // keep the id for dedupe, drop the body
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
        // A record (or a compaction request) queued by a continuation that ran between the loop's last check and here.
        if ((this.queue.length > 0 || (this.compactRequested && !this.closing && !this.compaction)) && !this.closed) void this.kick();
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
      const bytes = await this.writer.write(this.fh, chunks);
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
   * Applies one journal line. The seen lines of a compacted journal (millions
   * at a 72 h window) are read straight from the bytes: a JSON.parse per line
   * made a restart with 1 M ids take seconds before the first delivery.
   */
  private applyLine(buf: Buffer, start: number, end: number): void {
    const fast = parseSeenLine(buf, start, end, this.key);
    if (fast !== undefined) {
      this.seenSet.addKey(this.key, fast, 'seen');
      return;
    }
    this.applyText(buf.toString('utf8', start, end));
  }

  private applyText(line: string): void {
    const r = decodeLine(line);
    if (r === undefined) return;
    if (r === 'corrupt') {
      this.stats.corruptLines++;
      return;
    }
    const id = r.t === 'h' || 'h' in r ? undefined : r.id;
    const at = (r.t === 'a' || r.t === 'd' || r.t === 'f' || r.t === 's') && r.at !== undefined ? r.at : this.now();
    switch (r.t) {
      case 'h':
        return;
      case 'a':
        // Records are in time order: a later accept of the same id (after its window) wins.
        this.setPending({ id: r.id, receivedAt: at, body: r.body, meta: r.meta, deliveryCount: r.n });
        return;
      case 'r': {
        const e = id ? this.entries.get(id) : undefined;
        if (e?.event && typeof r.n === 'number') e.event.deliveryCount = Math.max(e.event.deliveryCount, r.n);
        return;
      }
      case 'd': {
        const e = id ? this.entries.get(id) : undefined;
        if (e?.state === 'failed') {
          this.forgetDead(e.id); // a discarded dead letter
          this.finish(e, 'seen');
        } else if (e) this.finish(e, 'done');
        return;
      }
      case 'p':
        if (id && typeof r.n === 'number') this.toPendingAgain(id, r.n);
        return;
      case 'f': {
        const e = id ? this.entries.get(id) : undefined;
        if (e && e.state === 'pending') this.toFailed(e, at, r.reason);
        return;
      }
      case 's':
        // A pending event or dead letter is newer than a seen line of its id. An id
        // finished twice is held twice; the later time counts in lookups.
        if ('h' in r) {
          const key = keyOfHex(r.h, this.key);
          if (key) this.seenSet.addKey(key, at, 'seen');
          else this.stats.corruptLines++;
        } else if (!this.entries.has(r.id)) this.seenSet.add(r.id, at, 'seen');
        return;
    }
  }

  /** The file is past the compaction threshold and mostly finished events. */
  private grownPastLive(): boolean {
    return this.fileBytes > this.compactAbove && this.fileBytes > 2 * this.liveBytes + 64 * 1024;
  }

  private tmpFile(): string {
    return `${this.file}.compact-tmp`;
  }

  /**
   * The live state, taken synchronously (a consistent view of memory): the
   * header, pending events and dead letters as chunks, and the finished ids
   * as a writer of their "s" lines (made a slice at a time while the temp file
   * is written, from a view that later additions do not change). Prunes
   * expired ids first.
   */
  private snapshot(): { chunks: Chunk[]; seen: () => Buffer | undefined } {
    const cutoff = this.now() - this.windowMs;
    this.prune();
    const events: Chunk[] = [];
    let live = 0;
    // Small records are joined as text and encoded once per run, not one Buffer each.
    let small = '';
    const flushSmall = () => {
      if (small) events.push(Buffer.from(small, 'utf8'));
      small = '';
    };
    for (const e of this.entries.values()) {
      const ev = e.event;
      flushSmall();
      events.push(...acceptedRecord(ev));
      if (e.state === 'failed') small += JSON.stringify({ t: 'f', id: ev.id, at: e.failedAt ?? e.at, r: e.reason ?? '' }) + '\n';
      live += approxRecordBytes(ev);
    }
    flushSmall();
    // Set here, not at the swap: accepts and done marks after this point adjust it as usual.
    this.liveBytes = live + (this.entries.size + this.seenSet.size + 1) * 64;
    return {
      chunks: [...recordLine({ t: 'h', v: FORMAT_VERSION, compactedAt: this.now() }), ...events],
      seen: seenLineWriter(this.seenSet.view(cutoff)),
    };
  }

  /** Renames the (synced, closed) temp file over the journal, fsyncs the directory and opens it for appending. */
  private async install(tmp: string, bytes: number): Promise<void> {
    if (this.fh) {
      await this.fh.close();
      this.fh = undefined;
    }
    try {
      await this.fs.rename(tmp, this.file);
    } catch (err) {
      // Keep appending to the old (still complete) journal; drop the temp file.
      await this.fs.rm(tmp, { force: true }).catch(() => undefined);
      this.fh = await this.fs.open(this.file, fsc.O_WRONLY | fsc.O_APPEND | fsc.O_CREAT, 0o600);
      throw err;
    }
    await syncDir(path.dirname(this.file), this.fs);
    this.fh = await this.fs.open(this.file, fsc.O_WRONLY | fsc.O_APPEND | fsc.O_CREAT, 0o600);
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
    const snap = this.snapshot(); // synchronous: before any further write
    const tmp = this.tmpFile();
    let src: fsp.FileHandle | undefined;
    let out: fsp.FileHandle | undefined;
    try {
      src = await this.fs.open(this.file, 'r'); // the journal being replaced (it is only renamed by this compaction)
      const written = await writeTemp(tmp, snap.chunks, snap.seen, this.fs);
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
      await this.fs.rm(tmp, { force: true }).catch(() => undefined);
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
