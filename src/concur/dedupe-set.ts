/**
 * The ids of finished ESS events inside the dedupe window, held compactly
 * (~28 bytes per id instead of ~250 for a Map entry plus its ready-made
 * journal line; at 100 events/s a 72 h window is 26 M ids).
 *
 * - An id is a 128-bit key: a canonical lower-case UUID (what ESS sends) is
 *   its own 16 bytes and prints back exactly; any other id is the first 128
 *   bits of its SHA-256 (the chance that two of 26 M distinct ids share one is
 *   about 1e-24, far below a disk error; such a pair would make the later
 *   event a "duplicate"). A hashed id cannot be printed back, so the journal
 *   keeps its key as hex (`{"t":"s","h":...}`).
 * - Entries are 5 Int32 words (key, then flags and time), appended to slabs
 *   that never move (a growing array would double its memory while it
 *   copies), and found through an open-addressing index of Uint32 slot
 *   numbers with a key fingerprint: no object per id, nothing for the
 *   garbage collector to trace.
 * - Entries live in time buckets (the window / 24 wide, so 3 h at 72 h):
 *   expiry drops whole buckets, O(1) per bucket, instead of walking
 *   every id (Map pruning blocked the event loop ~15 ms per 300 k ids). The
 *   exact time is kept too, so an id expires at its own time.
 * - A compaction writes the entries from a view (bucket, count) taken
 *   synchronously: slabs are append-only, so the view stays valid while new
 *   ids arrive, and the lines are made a slice at a time, not kept in memory.
 */
import { createHash } from 'node:crypto';

export type SeenState = 'done' | 'seen';

const WORDS = 5;
const FLAG_HASHED = 1;
const FLAG_DONE = 2;
/** Offsets within a bucket use the top 30 bits of the flag word (ms, so a bucket spans at most ~12 days). */
const MAX_SPAN = (1 << 30) - 1;
/**
 * 24 buckets per window (3 h at 72 h): a lookup probes every bucket, and each
 * probe of a large set is a cache miss (~100 ns), so fewer buckets make
 * lookups faster; memory past the window is at most one bucket (4 %).
 */
const BUCKETS_PER_WINDOW = 24;
/**
 * An index slot holds (entry number + 1) << 10 | a 10-bit fingerprint of the
 * key, so a probe that misses (the common case: a new event) rejects 1023 in
 * 1024 other keys without touching the entry's slab (a second cache miss).
 */
const FP_BITS = 10;
const FP_MASK = (1 << FP_BITS) - 1;
/** Entries per bucket the index can address; a fuller time slot gets another bucket. */
const BUCKET_MAX = (1 << (32 - FP_BITS)) - 2;
const fingerprint = (h: number) => Math.imul(h, 0x9e3779b1) >>> (32 - FP_BITS);
const INDEX_MIN = 1024;

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const hex8 = (w: number) => HEX[w >>> 24] + HEX[(w >>> 16) & 255] + HEX[(w >>> 8) & 255] + HEX[w & 255];

/**
 * Slab k holds 256 entries for k = 0, 128 << k for k = 1..4, then 4096: slot
 * boundaries are powers of two up to 4096, and a bucket wastes at most one
 * slab (80 KB) however many ids it holds.
 */
function slabOf(slot: number): number {
  if (slot < 256) return 0;
  if (slot < 4096) return 24 - Math.clz32(slot);
  return 4 + (slot >>> 12);
}
function slabStart(k: number): number {
  return k === 0 ? 0 : k <= 4 ? 128 << k : (k - 4) << 12;
}
function slabSize(k: number): number {
  return k === 0 ? 256 : k <= 4 ? 128 << k : 4096;
}

function mix(w0: number, w1: number, w2: number, w3: number): number {
  let h = Math.imul(w0 ^ 0x9e3779b9, 0x85ebca6b) ^ w1;
  h = Math.imul(h ^ (h >>> 15), 0xc2b2ae35) ^ w2;
  h = Math.imul(h ^ (h >>> 13), 0x85ebca6b) ^ w3;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  return (h ^ (h >>> 15)) >>> 0;
}

/** A parsed key: four words and whether it is a hash (not a UUID). Reused to avoid an allocation per call. */
export interface Key {
  w: Int32Array;
  hashed: boolean;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Parses a canonical lower-case UUID (8-4-4-4-12) into four words; false if it is not one. */
export function parseUuid(id: string, out: Int32Array): boolean {
  if (id.length !== 36 || id.charCodeAt(8) !== 45 || id.charCodeAt(13) !== 45 || id.charCodeAt(18) !== 45 || id.charCodeAt(23) !== 45) return false;
  let w = 0;
  let n = 0;
  let wi = 0;
  for (let i = 0; i < 36; i++) {
    if (i === 8 || i === 13 || i === 18 || i === 23) continue;
    const v = hexVal(id.charCodeAt(i));
    if (v < 0) return false;
    w = (w << 4) | v;
    if (++n === 8) {
      out[wi++] = w;
      w = 0;
      n = 0;
    }
  }
  return true;
}

/** Parses `len` hex digits (lower case, 32 for a key) from a Buffer into four words; false if not hex. */
export function parseHexBytes(buf: Buffer, start: number, out: Int32Array, dashes: boolean): boolean {
  let w = 0;
  let n = 0;
  let wi = 0;
  const end = start + (dashes ? 36 : 32);
  for (let i = start; i < end; i++) {
    if (dashes && (i - start === 8 || i - start === 13 || i - start === 18 || i - start === 23)) {
      if (buf[i] !== 45) return false;
      continue;
    }
    const v = hexVal(buf[i]);
    if (v < 0) return false;
    w = (w << 4) | v;
    if (++n === 8) {
      out[wi++] = w;
      w = 0;
      n = 0;
    }
  }
  return true;
}

/** The key of an id: its UUID bytes, or the first 128 bits of its SHA-256. */
export function keyOf(id: string, key: Key): Key {
  if (parseUuid(id, key.w)) {
    key.hashed = false;
    return key;
  }
  const d = createHash('sha256').update(id, 'utf8').digest();
  key.w[0] = d.readInt32BE(0);
  key.w[1] = d.readInt32BE(4);
  key.w[2] = d.readInt32BE(8);
  key.w[3] = d.readInt32BE(12);
  key.hashed = true;
  return key;
}

/** Parses a hashed key as printed in the journal (32 lower-case hex digits). */
export function keyOfHex(hex: string, key: Key): Key | undefined {
  if (!/^[0-9a-f]{32}$/.test(hex)) return undefined;
  for (let i = 0; i < 4; i++) key.w[i] = parseInt(hex.slice(i * 8, i * 8 + 8), 16) | 0;
  key.hashed = true;
  return key;
}

class Bucket {
  readonly slabs: Int32Array[] = [];
  count = 0;
  index = new Uint32Array(INDEX_MIN);
  constructor(
    readonly n: number,
    readonly base: number,
  ) {}

  bytes(): number {
    let b = this.index.byteLength;
    for (const s of this.slabs) b += s.byteLength;
    return b;
  }

  /** Adds an entry; returns the bytes it allocated (a new slab, a bigger index). */
  add(w: Int32Array, flags: number): number {
    let grew = 0;
    const slot = this.count;
    const k = slabOf(slot);
    if (k >= this.slabs.length) {
      this.slabs.push(new Int32Array(slabSize(k) * WORDS));
      grew += slabSize(k) * WORDS * 4;
    }
    const s = this.slabs[k];
    const o = (slot - slabStart(k)) * WORDS;
    s[o] = w[0];
    s[o + 1] = w[1];
    s[o + 2] = w[2];
    s[o + 3] = w[3];
    s[o + 4] = flags;
    this.count++;
    if (this.count * 4 > this.index.length * 3) {
      grew += this.index.byteLength;
      this.rehash(this.index.length * 2);
    } else this.place(slot, mix(w[0], w[1], w[2], w[3]));
    return grew;
  }

  /** The flag word (as uint32) of the newest entry with this key, or -1. */
  find(w0: number, w1: number, w2: number, w3: number, h: number): number {
    const idx = this.index;
    const mask = idx.length - 1;
    const fp = fingerprint(h);
    let found = -1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const v = idx[i];
      if (v === 0) return found;
      if ((v & FP_MASK) !== fp) continue;
      const slot = (v >>> FP_BITS) - 1;
      const k = slabOf(slot);
      const s = this.slabs[k];
      const o = (slot - slabStart(k)) * WORDS;
      if (s[o] === w0 && s[o + 1] === w1 && s[o + 2] === w2 && s[o + 3] === w3) {
        const f = s[o + 4] >>> 0;
        if (found < 0 || f >>> 2 > found >>> 2) found = f;
      }
    }
  }

  private place(slot: number, h: number): void {
    const idx = this.index;
    const mask = idx.length - 1;
    let i = h & mask;
    while (idx[i] !== 0) i = (i + 1) & mask;
    idx[i] = (slot + 1) * (1 << FP_BITS) + fingerprint(h);
  }

  private rehash(size: number): void {
    this.index = new Uint32Array(size);
    for (let slot = 0; slot < this.count; slot++) {
      const k = slabOf(slot);
      const s = this.slabs[k];
      const o = (slot - slabStart(k)) * WORDS;
      this.place(slot, mix(s[o], s[o + 1], s[o + 2], s[o + 3]));
    }
  }
}

/** The entries of a set at one instant (buckets are append-only, so later additions are simply not in it). */
export interface DedupeView {
  parts: { bucket: Bucket; count: number }[];
  cutoff: number;
}

export class DedupeSet {
  /** Bucket width (ms). */
  readonly span: number;
  private readonly buckets = new Map<number, Bucket>();
  /** Buckets oldest first. */
  private order: Bucket[] = [];
  private readonly key: Key = { w: new Int32Array(4), hashed: false };
  private n = 0;
  private held = 0;

  private readonly bucketMax: number;

  /** `bucketMax` (entries per bucket before a time slot gets another one) is for tests. */
  constructor(windowMs: number, opts: { bucketMax?: number } = {}) {
    this.bucketMax = Math.min(BUCKET_MAX, opts.bucketMax ?? BUCKET_MAX);
    this.span = Math.max(1000, Math.min(MAX_SPAN, Math.ceil(windowMs / BUCKETS_PER_WINDOW)));
  }

  /** Entries held (until their bucket expires; an id finished twice counts twice). */
  get size(): number {
    return this.n;
  }

  /** Memory held, in bytes (slabs and indexes). */
  bytes(): number {
    return this.held;
  }

  add(id: string, at: number, state: SeenState): void {
    this.addKey(keyOf(id, this.key), at, state);
  }

  addKey(key: Key, at: number, state: SeenState): void {
    const n = Math.floor(at / this.span);
    let b = this.buckets.get(n);
    if (!b || b.count >= this.bucketMax) {
      b = new Bucket(n, n * this.span);
      this.held += b.bytes();
      this.buckets.set(n, b);
      this.order.push(b);
      if (this.order.length > 1 && this.order[this.order.length - 2].n > n) this.order.sort((x, y) => x.n - y.n);
    }
    const off = Math.max(0, Math.min(MAX_SPAN, Math.round(at - b.base)));
    this.held += b.add(key.w, (off << 2) | (key.hashed ? FLAG_HASHED : 0) | (state === 'done' ? FLAG_DONE : 0));
    this.n++;
  }

  /** The state of an id finished at or after `cutoff` (the latest finish counts), else undefined. */
  lookup(id: string, cutoff: number): SeenState | undefined {
    const w = keyOf(id, this.key).w;
    const w0 = w[0];
    const w1 = w[1];
    const w2 = w[2];
    const w3 = w[3];
    const h = mix(w0, w1, w2, w3);
    // Newest first: a retried delivery is most likely a recent one.
    for (let i = this.order.length - 1; i >= 0; i--) {
      const b = this.order[i];
      if (b.base + this.span <= cutoff) break;
      const f = b.find(w0, w1, w2, w3, h);
      if (f >= 0 && b.base + (f >>> 2) >= cutoff) return f & FLAG_DONE ? 'done' : 'seen';
    }
    return undefined;
  }

  /** Drops the buckets whose every id finished before `cutoff`; returns the entries dropped. */
  prune(cutoff: number): number {
    let dropped = 0;
    let i = 0;
    while (i < this.order.length && this.order[i].base + this.span <= cutoff) {
      const b = this.order[i++];
      this.buckets.delete(b.n);
      this.held -= b.bytes();
      dropped += b.count;
    }
    if (i > 0) this.order = this.order.slice(i);
    this.n -= dropped;
    return dropped;
  }

  clear(): void {
    this.buckets.clear();
    this.order = [];
    this.n = 0;
    this.held = 0;
  }

  /** A view of the entries now, for writing them out later (see the file comment). */
  view(cutoff: number): DedupeView {
    return { parts: this.order.filter((b) => b.base + this.span > cutoff).map((bucket) => ({ bucket, count: bucket.count })), cutoff };
  }
}

/**
 * Journal lines ("s" records) of a view's entries inside the window, made
 * `maxBytes` at a time: each call returns the next slice, undefined at the end.
 */
export function seenLineWriter(view: DedupeView, maxBytes = 256 * 1024): () => Buffer | undefined {
  let p = 0;
  let slot = 0;
  return () => {
    const parts: string[] = [];
    let len = 0;
    while (p < view.parts.length && len < maxBytes) {
      const { bucket, count } = view.parts[p];
      if (slot >= count) {
        p++;
        slot = 0;
        continue;
      }
      const k = slabOf(slot);
      const s = bucket.slabs[k];
      const o = (slot - slabStart(k)) * WORDS;
      slot++;
      const f = s[o + 4] >>> 0;
      const at = bucket.base + (f >>> 2);
      if (at < view.cutoff) continue;
      const a = hex8(s[o]);
      const b = hex8(s[o + 1]);
      const c = hex8(s[o + 2]);
      const d = hex8(s[o + 3]);
      const line =
        f & FLAG_HASHED
          ? `{"t":"s","h":"${a}${b}${c}${d}","at":${at}}\n`
          : `{"t":"s","id":"${a}-${b.slice(0, 4)}-${b.slice(4)}-${c.slice(0, 4)}-${c.slice(4)}${d}","at":${at}}\n`;
      parts.push(line);
      len += line.length;
    }
    return parts.length ? Buffer.from(parts.join(''), 'latin1') : undefined;
  };
}

/** How an id appears in a seen line: the id itself if it is a UUID, else its key as hex (`h`). */
export function seenLineKey(id: string): { id: string; h?: undefined } | { h: string; id?: undefined } {
  const k = keyOf(id, { w: new Int32Array(4), hashed: false });
  return k.hashed ? { h: Array.from(k.w, hex8).join('') } : { id };
}

const SEEN_ID = Buffer.from('{"t":"s","id":"');
const SEEN_H = Buffer.from('{"t":"s","h":"');
const AT = Buffer.from('","at":');

/**
 * Reads a seen line as this module writes it, straight from its bytes:
 * `{"t":"s","id":"<lower-case UUID>","at":<ms>}` or `{"t":"s","h":"<32 hex>","at":<ms>}`.
 * Sets `key` and returns the time, or undefined for any other line (which
 * then goes through JSON.parse).
 */
export function parseSeenLine(b: Buffer, start: number, end: number, key: Key): number | undefined {
  const len = end - start;
  let p: number;
  if (len >= 60 && b[start + 10] === 0x69 && b.compare(SEEN_ID, 0, 15, start, start + 15) === 0) {
    if (!parseHexBytes(b, start + 15, key.w, true)) return undefined;
    key.hashed = false;
    p = start + 51;
  } else if (len >= 55 && b[start + 10] === 0x68 && b.compare(SEEN_H, 0, 14, start, start + 14) === 0) {
    if (!parseHexBytes(b, start + 14, key.w, false)) return undefined;
    key.hashed = true;
    p = start + 46;
  } else return undefined;
  if (b.compare(AT, 0, 7, p, p + 7) !== 0) return undefined;
  p += 7;
  const last = end - 1;
  if (b[last] !== 0x7d || last - p < 1 || last - p > 15) return undefined;
  let at = 0;
  for (; p < last; p++) {
    const d = b[p] - 48;
    if (d < 0 || d > 9) return undefined;
    at = at * 10 + d;
  }
  return at;
}
