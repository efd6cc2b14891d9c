'use strict';
/**
 * The file store at scale (no HTTP load): a journal holding 1 M finished ids
 * in the 72 h dedupe window (9 in 10 UUIDs, 1 in 10 other ids, as written by a
 * compaction) is opened in a child process started with --expose-gc, which
 * reports
 * - restart: time from EventJournal.open() until the first new event is
 *   accepted (written and fsync'd), the figure behind "a restart with 1 M ids
 *   accepts deliveries again within 5 s";
 * - memory: bytes per dedupe id (V8 heap plus external memory, after a full GC);
 * - the cost of the dedupe check a new delivery pays (lookups of ids not held).
 * The child is test/helpers/journal-load-child.js (also run by the memory test).
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');

const CHILD = path.join(__dirname, '..', '..', 'test', 'helpers', 'journal-load-child.js');
const IDS = Number(process.env.BENCH_JOURNAL_IDS) || 1_000_000;

function runChild(dir) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', CHILD, dir, String(IDS)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`journal child ${signal || code}: ${err.slice(-500)}`));
      resolve(JSON.parse(out.trim().split('\n').pop()));
    });
  });
}

module.exports = {
  id: 'journal',
  title: `file store, ${IDS / 1e6} M dedupe ids`,
  requires: [],
  async run(ctx) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-bench-journal-'));
    try {
      const r = await runChild(dir);
      ctx.log(`journal: open ${r.openMs.toFixed(0)} ms, first accept after ${r.firstAcceptMs.toFixed(0)} ms, ${r.bytesPerId.toFixed(1)} B/id`);
      return {
        results: [r],
        rows: [
          {
            variant: `restart: open() until the first accept: ${(r.firstAcceptMs / 1000).toFixed(2)} s (journal ${(r.fileBytes / 1048576).toFixed(0)} MiB)`,
            target: '< 5 s',
          },
          { variant: `memory: ${r.bytesPerId.toFixed(1)} bytes per dedupe id (heap + external, after GC)`, target: '≤ 48 B/id' },
          { variant: `dedupe lookup of a new id: ${r.lookupUs.toFixed(1)} µs (diagnostic)`, target: '' },
        ],
        notes: [
          `journal: ${r.ids} ids replayed; the dedupe set reports ${(r.dedupeBytes / 1048576).toFixed(1)} MiB; process.memoryUsage().external already includes arrayBuffers (adding both would give ${r.bytesPerIdCountingArrayBuffersTwice.toFixed(1)} B/id)`,
        ],
      };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
