'use strict';
/**
 * Crash test of the event journal itself, aimed at compaction: a child process
 * appends and finishes events with compactions running all the time (64 KiB
 * threshold, so the background snapshot, the catch-up copy and the file swap
 * are in progress at most instants), and is SIGKILLed at random moments.
 * After every kill the journal is opened as the next process would open it:
 * every id the child had acknowledged must be there (pending or finished),
 * and no line may be corrupt (a torn last line, never acknowledged, is allowed).
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { EventJournal } = require('../../dist/concur/event-journal');

const CHILD = path.join(__dirname, '..', 'helpers', 'journal-crash-child.js');
const KILLS = 6;

describe('event journal: SIGKILL during compactions', function () {
  this.timeout(60_000);
  let dir;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-jcrash-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Runs the child until it has acked 300 ids and `killAfterMs` has passed, then SIGKILLs it. */
  function runAndKill(file, prefix, killAfterMs) {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CHILD, file, prefix], { stdio: ['ignore', 'pipe', 'pipe'] });
      const acked = [];
      let compactions = 0;
      let carry = '';
      let stderr = '';
      child.stdout.on('data', (d) => {
        const lines = (carry + d.toString()).split('\n');
        carry = lines.pop();
        for (const l of lines) {
          if (l.startsWith('A ')) acked.push(l.slice(2));
          else if (l.startsWith('C ')) compactions = Number(l.slice(2));
        }
      });
      child.stderr.on('data', (d) => (stderr += d));
      const started = Date.now();
      const hardStop = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const poll = setInterval(() => {
        if (acked.length >= 300 && Date.now() - started >= killAfterMs) {
          clearInterval(poll);
          child.kill('SIGKILL');
        }
      }, 5);
      child.on('exit', (code, signal) => {
        clearInterval(poll);
        clearTimeout(hardStop);
        if (signal !== 'SIGKILL') return reject(new Error(`child exited on its own (${code}): ${stderr}`));
        resolve({ acked, compactions, pid: child.pid });
      });
    });
  }

  it(`every acknowledged id survives ${KILLS} SIGKILLs that land while compactions run`, async () => {
    const file = path.join(dir, 'crash.journal');
    const allAcked = [];
    const report = [];
    let compactionsSeen = 0;
    for (let k = 0; k < KILLS; k++) {
      const r = await runAndKill(file, `k${k}`, 150 + Math.floor(Math.random() * 350));
      allAcked.push(...r.acked);
      const j = await EventJournal.open({ file });
      const st = j.getStats();
      const missing = allAcked.filter((id) => j.lookup(id) === undefined);
      report.push(
        `kill ${k + 1}: ${r.acked.length} acked, ≥${r.compactions} compactions before the kill, torn tail ${st.tornTailBytes} B, corrupt ${st.corruptLines}, pending ${st.pending}, missing ${missing.length}`,
      );
      await j.close();
      assert.deepEqual(missing.slice(0, 5), [], `acked ids missing after kill ${k + 1}`);
      assert.equal(st.corruptLines, 0, `corrupt lines after kill ${k + 1}`);
      compactionsSeen += r.compactions;
      assert.equal(fs.existsSync(`${file}.compact-tmp`), false, 'the next open leaves no temp file');
    }
    assert.ok(compactionsSeen >= KILLS, `compactions ran during the runs (${compactionsSeen})`);
    console.log(`      journal crash test: ${allAcked.length} acked ids, ${KILLS} kills\n        ${report.join('\n        ')}`);
  });
});
