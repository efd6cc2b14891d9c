/**
 * Record codec of the ESS event journal (see ./event-journal.ts for the
 * format): encodes records as journal lines and decodes lines back to
 * records. No file I/O and no state.
 *
 * Why base64 and not the body as a JSON string: escaping a 50 KB body with
 * JSON.stringify, then encoding the line to UTF-8, cost ~170 µs of main-thread
 * CPU per event and made the journal the ESS receiver's bottleneck; base64 of
 * the received bytes is ~10 µs, keeps the exact bytes (even invalid UTF-8),
 * and `len` catches a line that parses but was damaged. Raw length-prefixed
 * bytes would be cheaper still but would break the one-JSON-object-per-line
 * property operators (and their tools) rely on.
 */

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

/** 3: seen lines of ids that are not UUIDs carry their 128-bit key (`h`) instead of the id (./dedupe-set.ts). */
export const FORMAT_VERSION = 3;
export const NL = Buffer.from('\n');
const B64_TAIL = Buffer.from('"}\n');

/**
 * Bytes of a record: a Buffer, or bytes to be written as base64. The base64
 * text is made only when the writer packs the batch, so it dies at once
 * instead of living through the wait for the previous sync: a 68 KB string
 * per 50 KB event kept alive for milliseconds was copied by every scavenge.
 */
export type Chunk = Buffer | { base64: Buffer };

export function chunkBytes(c: Chunk): number {
  return Buffer.isBuffer(c) ? c.length : Math.ceil(c.base64.length / 3) * 4;
}
export function chunkBuffer(c: Chunk): Buffer {
  return Buffer.isBuffer(c) ? c : Buffer.from(c.base64.toString('base64'), 'latin1');
}

/** The bytes of one small record line. */
export function recordLine(r: Record<string, unknown>): Chunk[] {
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

/** A failed (dead-letter) record line as text. */
export function failedLine(id: string, at: number, reason: string): string {
  return JSON.stringify({ t: 'f', id, at, r: reason }) + '\n';
}

/** Bytes an event's accepted record takes, near enough for the compaction heuristic (no encoding pass). */
export function approxRecordBytes(ev: StoredEvent): number {
  return Math.ceil(ev.body.length / 3) * 4 + 128;
}

/** A decoded journal line. `at` is undefined when the line carries none (the reader uses its clock). */
export type JournalRecord =
  | { t: 'h' }
  | { t: 'a'; id: string; at?: number; body: string; meta: AcceptedMeta; n: number }
  | { t: 'r'; id?: string; n?: number }
  | { t: 'd'; id?: string; at?: number }
  | { t: 'f'; id?: string; at?: number; reason: string }
  | { t: 'p'; id?: string; n?: number }
  | { t: 's'; id: string; at?: number }
  | { t: 's'; h: string; at?: number };

/**
 * Decodes one line (without its "\n"). Returns undefined for a blank line and
 * 'corrupt' for a line that does not parse, or parses but is not a valid record
 * (unknown type, missing id, a body whose length does not match).
 */
export function decodeLine(line: string): JournalRecord | 'corrupt' | undefined {
  if (!line.trim()) return undefined;
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(line);
  } catch {
    return 'corrupt';
  }
  if (r === null || typeof r !== 'object') return 'corrupt';
  const id = typeof r.id === 'string' ? r.id : undefined;
  const at = typeof r.at === 'number' ? r.at : undefined;
  switch (r.t) {
    case 'h':
      return { t: 'h' };
    case 'a': {
      if (!id) return 'corrupt';
      let body: string;
      if (typeof r.b64 === 'string') {
        const bytes = Buffer.from(r.b64, 'base64');
        if (typeof r.len === 'number' && bytes.length !== r.len) return 'corrupt'; // damaged inside a line that still parses
        body = bytes.toString('utf8');
      } else if (typeof r.b === 'string')
        body = r.b; // version 1 record
      else return 'corrupt';
      const meta = (r.m && typeof r.m === 'object' ? r.m : { signatureVerified: false }) as AcceptedMeta;
      return { t: 'a', id, at, body, meta, n: typeof r.n === 'number' ? r.n : 1 };
    }
    case 'r':
      return { t: 'r', id, n: typeof r.n === 'number' ? r.n : undefined };
    case 'd':
      return { t: 'd', id, at };
    case 'f':
      return { t: 'f', id, at, reason: typeof r.r === 'string' ? r.r : '' };
    case 'p':
      return { t: 'p', id, n: typeof r.n === 'number' ? r.n : undefined };
    case 's':
      if (id) return { t: 's', id, at };
      return typeof r.h === 'string' ? { t: 's', h: r.h, at } : 'corrupt';
  }
  return 'corrupt';
}
