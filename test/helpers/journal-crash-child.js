'use strict';
/**
 * Child process for test/journal-crash.test.js: appends events to an
 * EventJournal as fast as it can (16 in flight, a tiny compaction threshold so
 * compactions run all the time), marks all but every 50th done, and prints one
 * line per acknowledged id ("A <id>") on stdout, which is a pipe and written
 * synchronously on Linux, so a line printed is a line the parent sees even if
 * the process is SIGKILLed right after. argv: journal file, id prefix.
 */
const { EventJournal } = require('../../dist/concur/event-journal');

const [file, prefix] = process.argv.slice(2);
const body = (id) => JSON.stringify({ id, pad: 'p'.repeat(2000) });

(async () => {
  const j = await EventJournal.open({ file, compactAboveBytes: 64 * 1024 });
  let n = 0;
  const worker = async () => {
    for (;;) {
      const id = `${prefix}-${n++}`;
      await j.accept({ id, receivedAt: Date.now(), body: body(id), meta: { signatureVerified: true } });
      process.stdout.write(`A ${id}\n`);
      if (n % 50 !== 0) j.markDone(id); // a few stay pending: snapshots carry event bodies too
      if (n % 100 === 0) process.stdout.write(`C ${j.getStats().compactions}\n`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
})().catch((err) => {
  process.stderr.write(`child failed: ${err.stack}\n`);
  process.exit(1);
});
