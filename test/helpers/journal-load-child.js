'use strict';
/**
 * Builds a journal holding `count` finished ids spread over the last 71 hours
 * of a 72 h dedupe window (9 in 10 random UUIDs, as ESS sends; 1 in 10 other
 * ids, which the store keeps as 128-bit hashes), then, in this process:
 * measures memory before and after EventJournal.open() (each after a full
 * GC: run with --expose-gc), and the time from open() until the first new
 * event is accepted (written and fsync'd). Prints one JSON line.
 *
 * Used by test/dedupe-memory.test.js and the bench's restart row.
 * Usage: node --expose-gc journal-load-child.js <dir> <count>
 */
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { EventJournal } = require('../../dist/concur/event-journal');
const { seenLineKey } = require('../../dist/concur/dedupe-set');

const [dir, countArg] = process.argv.slice(2);
const count = Number(countArg) || 1_000_000;
const H = 3600_000;
const now = Date.now();

// Memory counted: V8 heap plus memory outside it. `external` already includes
// `arrayBuffers` (Node.js docs, process.memoryUsage()), so adding both would count
// every typed array twice; both figures are printed.
function mem() {
  global.gc();
  global.gc();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, rss: m.rss };
}

async function main() {
  if (typeof global.gc !== 'function') throw new Error('run with --expose-gc');
  const file = path.join(dir, 'load.journal');
  const sample = [];
  {
    const fd = fs.openSync(file, 'w');
    fs.writeSync(fd, '{"t":"h","v":3}\n');
    const rnd = crypto.randomBytes(16 * 4096);
    let parts = [];
    for (let i = 0; i < count; i++) {
      if (i % 4096 === 0) crypto.randomFillSync(rnd);
      const at = now - 71 * H + Math.floor((i / count) * 71 * H);
      let id;
      if (i % 10 === 9) id = `report-${i}-${rnd.readUInt32BE((i % 4096) * 16).toString(36)}`;
      else {
        const h = rnd.toString('hex', (i % 4096) * 16, (i % 4096) * 16 + 16);
        id = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
      }
      if (i % 99_991 === 0) sample.push(id);
      // As a compaction writes them: a UUID as itself, any other id as its 128-bit key.
      /** @type {ReturnType<typeof seenLineKey>} */
      const k = i % 10 === 9 ? seenLineKey(id) : { id };
      parts.push(k.h ? `{"t":"s","h":"${k.h}","at":${at}}\n` : `{"t":"s","id":"${id}","at":${at}}\n`);
      if (parts.length === 8192) {
        fs.writeSync(fd, parts.join(''));
        parts = [];
      }
    }
    if (parts.length) fs.writeSync(fd, parts.join(''));
    fs.closeSync(fd);
  }
  const fileBytes = fs.statSync(file).size;
  const before = mem();
  const t0 = process.hrtime.bigint();
  const j = await EventJournal.open({ file, dedupeWindowMs: 72 * H });
  const tOpen = process.hrtime.bigint();
  await j.accept({ id: crypto.randomUUID(), receivedAt: Date.now(), body: '{"id":"x"}', meta: { signatureVerified: true } });
  const tAccept = process.hrtime.bigint();
  const after = mem();
  const missing = sample.filter((id) => j.lookup(id) !== 'seen');
  // Dedupe cost per delivery: lookups of ids not in the set (a new event), after a warm-up.
  const fresh = Array.from({ length: 50_000 }, () => crypto.randomUUID());
  for (const id of fresh.slice(0, 5000)) j.lookup(id);
  const tl = process.hrtime.bigint();
  for (const id of fresh) j.lookup(id);
  const lookupUs = Number(process.hrtime.bigint() - tl) / 1e3 / fresh.length;
  const st = j.getStats();
  const heapPlusExternal = after.heapUsed + after.external - (before.heapUsed + before.external);
  const sumAsAsked = after.heapUsed + after.external + after.arrayBuffers - (before.heapUsed + before.external + before.arrayBuffers);
  await j.close();
  process.stdout.write(
    JSON.stringify({
      ids: count,
      fileBytes,
      tracked: st.done,
      dedupeBytes: st.dedupeBytes,
      bytesPerId: heapPlusExternal / count,
      bytesPerIdCountingArrayBuffersTwice: sumAsAsked / count,
      heapBytesPerId: (after.heapUsed - before.heapUsed) / count,
      openMs: Number(tOpen - t0) / 1e6,
      firstAcceptMs: Number(tAccept - t0) / 1e6,
      lookupUs,
      sampleMissing: missing,
    }) + '\n',
  );
}

main().catch((err) => {
  process.stderr.write(`${err && err.stack}\n`);
  process.exit(1);
});
