/**
 * File I/O of the ESS event journal (see ./event-journal.ts): gathering
 * writes, short-write handling, reading lines with a torn tail, temp files
 * that are synced before a rename, and directory fsync. No record format and
 * no journal state.
 */
import { promises as fsp } from 'node:fs';
import { type Chunk, chunkBuffer, chunkBytes } from './journal-codec';

export const READ_CHUNK = 1 << 20;

/**
 * The file-system calls the journal makes. Node's `fs.promises` by default;
 * tests inject a wrapper to simulate a full disk (ENOSPC) without root or a
 * tiny file system. Handles are used through their FileHandle methods
 * (write, writev, read, datasync, sync, stat, close).
 */
export type JournalFs = Pick<typeof fsp, 'open' | 'mkdir' | 'rm' | 'rename' | 'truncate'>;
export const defaultFs: JournalFs = fsp;
/** Batches up to this size are packed into one reused buffer; bigger ones are written from their own chunks. */
const SCRATCH_MAX = 4 * 1024 * 1024;

/**
 * Writes chunks in order: packed into a reused buffer when they fit (one
 * copy, no allocation per record), else gathered from their own buffers.
 * One write in flight at a time (the journal has a single writer).
 */
export class ChunkWriter {
  private scratch: Buffer | undefined;

  async write(fh: fsp.FileHandle, chunks: Chunk[]): Promise<number> {
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
}

/**
 * Reads a file line by line ("\n"-terminated): `onLine(buf, start, end)` gets
 * each line's bytes without the "\n" (a view into a reused buffer, valid only
 * during the call; no object per line: a restart replays millions of lines).
 * Returns the byte count after the last newline (a torn tail: a write cut
 * short by a crash) and the file size, or undefined if the file does not exist.
 */
export async function readLines(
  file: string,
  onLine: (buf: Buffer, start: number, end: number) => void,
  fs: JournalFs = defaultFs,
): Promise<{ tornTailBytes: number; size: number } | undefined> {
  let fh: fsp.FileHandle;
  try {
    fh = await fs.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    let buf = Buffer.allocUnsafe(READ_CHUNK);
    let have = 0; // bytes of an unfinished line kept at the start of buf
    let pos = 0;
    for (;;) {
      if (buf.length - have < READ_CHUNK / 2) {
        // A line longer than the buffer (a large event): grow it.
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, have);
        buf = bigger;
      }
      const { bytesRead } = await fh.read(buf, have, buf.length - have, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      const end = have + bytesRead;
      let start = 0;
      let nl: number;
      while ((nl = buf.indexOf(0x0a, start)) >= 0 && nl < end) {
        onLine(buf, start, nl);
        start = nl + 1;
      }
      have = end - start;
      if (have > 0 && start > 0) buf.copy(buf, 0, start, end);
    }
    return { tornTailBytes: have, size: pos };
  } finally {
    await fh.close();
  }
}

/**
 * Writes chunks to a new temp file, then the buffers `more` yields until it
 * returns undefined (made one at a time, so a large snapshot is never whole in
 * memory), and syncs it; returns its open handle and size.
 */
export async function writeTemp(
  tmp: string,
  chunks: Chunk[],
  more?: () => Buffer | undefined,
  fs: JournalFs = defaultFs,
): Promise<{ out: fsp.FileHandle; bytes: number }> {
  const out = await fs.open(tmp, 'w', 0o600);
  try {
    let bytes = await writevAll(out, chunks);
    for (let b = more?.(); b; b = more?.()) {
      await writeAll(out, b);
      bytes += b.length;
    }
    await out.datasync();
    return { out, bytes };
  } catch (err) {
    await out.close().catch(() => undefined);
    throw err;
  }
}

/** Appends everything in `src` from `pos` to its end onto `out`; returns the byte count. */
export async function copyFrom(src: fsp.FileHandle, pos: number, out: fsp.FileHandle): Promise<number> {
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
export async function writevAll(fh: fsp.FileHandle, chunks: Chunk[]): Promise<number> {
  const bufs = chunks.map(chunkBuffer);
  let total = 0;
  for (const c of bufs) total += c.length;
  if (total === 0) return 0;
  const { bytesWritten } = await fh.writev(bufs);
  if (bytesWritten < total) await writeAll(fh, Buffer.concat(bufs).subarray(bytesWritten));
  return total;
}

/** Writes the whole buffer, continuing after short writes. */
export async function writeAll(fh: fsp.FileHandle, buf: Buffer): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const r = await fh.write(buf, off, buf.length - off);
    if (r.bytesWritten <= 0) throw new Error('short write to the event store');
    off += r.bytesWritten;
  }
}

/** fsync a directory so a rename survives power loss (not supported on Windows; ignored there). */
export async function syncDir(dir: string, fs: JournalFs = defaultFs): Promise<void> {
  let d: fsp.FileHandle | undefined;
  try {
    d = await fs.open(dir, 'r');
    await d.sync();
  } catch {
    /* platform without directory fsync */
  } finally {
    await d?.close().catch(() => undefined);
  }
}
