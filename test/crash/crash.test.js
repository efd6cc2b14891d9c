'use strict';
/**
 * Crash test for concur-ess-event-in (durable journal, dedupe, redelivery).
 *
 * Several concurrent senders deliver N >= 2000 signed ESS events to a real
 * Node-RED and retry every non-2xx answer and connection error, as ESS does;
 * some already-acknowledged events are sent again on purpose (an ESS
 * redelivery after a lost ack). Meanwhile the Node-RED process is killed with
 * SIGKILL at random moments (>= 3 times) and restarted on the same userDir and
 * port. Every emitted message is forwarded to a loopback collector with its id,
 * msg.concur.deliveryCount and the process generation ("epoch") it came from.
 *
 * At-least-once, precisely:
 *  1. every id acknowledged with 2xx is emitted at least once;
 *  2. no id is emitted twice with the same deliveryCount;
 *  3. no id is emitted twice by the same process (so sender redeliveries of an
 *     accepted id are never emitted again);
 *  4. no id whose "done" record was durably in the journal when the process
 *     was killed is emitted again afterwards (the journal file is read while
 *     the process is dead, so it holds exactly what survived);
 *  5. deliveryCount grows with each re-emission; after a final graceful restart
 *     nothing is re-emitted.
 * An event emitted but not yet done when the process died IS emitted again
 * after the restart with a higher deliveryCount; those crash re-emissions are
 * counted and printed, not treated as errors.
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { startRed } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');
const { startCollector } = require('../helpers/collector');
const { makeKeyPair, signedPool } = require('../helpers/signed-events');

const N = Number(process.env.CRASH_EVENTS) || 2000;
const SENDERS = 8;
const KILLS = Number(process.env.CRASH_KILLS) || 4;
const RESEND_SHARE = 0.05; // share of acked events sent again on purpose
const SEND_DEADLINE_MS = 100_000;
const ESS_PATH = '/crash/ess';
const STORE = 'crash';

/** Ids whose done (or compacted "seen") record is in the journal file. */
function durableDoneIds(file) {
  const done = new Set();
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return done;
  }
  for (const line of text.split('\n')) {
    if (!line) continue;
    let r;
    try {
      r = JSON.parse(line);
    } catch {
      continue; // torn tail
    }
    if ((r.t === 'd' || r.t === 's') && typeof r.id === 'string') done.add(r.id);
  }
  return done;
}

function post(url, ev, agent) {
  return new Promise((resolve) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        timeout: 10000,
        headers: { 'content-type': 'application/json', 'concur-signature': ev.signature, 'content-length': ev.body.length },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
        res.on('error', () => resolve(0));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
    req.end(ev.body);
  });
}

describe('crash test: ESS receiver under SIGKILL', function () {
  this.timeout(180000);
  let red;
  let collector;
  const oldLogs = [];

  after(() => teardown({ red, collector }));

  it(`every acked event is emitted at least once across ${KILLS} SIGKILLs, and nothing finished is emitted again`, async () => {
    const key = makeKeyPair();
    const pool = signedPool(N, key.privateKey, { prefix: 'crash' });
    collector = await startCollector();
    red = await startRed({ env: { CRASH_EPOCH: '0' } });
    const journalFile = path.join(red.opts.userDir, 'concur-ess', `${STORE}.journal`);
    await red.deploy([
      { id: 'tab', type: 'tab', label: 'crash' },
      { id: 'ess', type: 'concur-ess-event-in', z: 'tab', path: ESS_PATH, extraKeys: key.publicPem, storeName: STORE, wires: [['tag']] },
      {
        id: 'tag',
        type: 'function',
        z: 'tab',
        name: 'tag with epoch',
        // Mutates msg (keeps _msgid) so the receiver marks the event done only after the collector answered.
        func: "msg.payload = { id: msg.concur.id, n: msg.concur.deliveryCount, epoch: Number(env.get('CRASH_EPOCH')) };\nmsg.headers = { 'content-type': 'application/json' };\nreturn msg;",
        outputs: 1,
        wires: [['out']],
      },
      { id: 'out', type: 'http request', z: 'tab', method: 'POST', ret: 'txt', url: `${collector.url}/emit`, persist: false, tls: '', wires: [[]] },
    ]);
    const url = `${red.url}${ESS_PATH}`;

    // ---- senders
    const acked = new Map(); // id -> epoch seen by the collector at ack time (informational)
    const stats = { attempts: 0, non2xx: 0, connErrors: 0, resends: 0, resendAcked: 0 };
    let epoch = 0;
    let restarting = null;
    const deadline = Date.now() + SEND_DEADLINE_MS;
    const queue = pool.map((ev) => ({ ev, resend: false }));
    const agent = new http.Agent({ keepAlive: true, maxSockets: SENDERS });
    const sender = async () => {
      while (queue.length && Date.now() < deadline) {
        const job = queue.shift();
        let backoff = 20;
        for (;;) {
          if (Date.now() > deadline) return;
          stats.attempts++;
          const status = await post(url, job.ev, agent);
          if (status >= 200 && status < 300) break;
          if (status === 0) stats.connErrors++;
          else stats.non2xx++;
          await new Promise((r) => setTimeout(r, backoff + Math.random() * backoff));
          backoff = Math.min(500, backoff * 2);
        }
        if (job.resend) stats.resendAcked++;
        else {
          acked.set(job.ev.id, epoch);
          // ESS redelivers when an ack is lost: send some accepted events again, later.
          if (Math.random() < RESEND_SHARE) {
            stats.resends++;
            queue.splice(Math.floor(Math.random() * queue.length), 0, { ev: job.ev, resend: true });
          }
        }
      }
    };

    // ---- killer: SIGKILL when the ack count passes random thresholds, then restart
    const thresholds = Array.from({ length: KILLS }, (_, k) => Math.floor(N * ((k + 0.6 + Math.random() * 0.5) / (KILLS + 1))));
    const kills = [];
    const killer = async () => {
      for (const t of thresholds) {
        while (acked.size < t && Date.now() < deadline && queue.length) await new Promise((r) => setTimeout(r, 5));
        if (Date.now() >= deadline || !queue.length) break;
        await new Promise((r) => setTimeout(r, Math.random() * 150)); // land at a random phase
        const pid = red.pid;
        await red.kill();
        const done = durableDoneIds(journalFile);
        kills.push({ epoch, pid, ackedSoFar: acked.size, doneInJournal: done });
        epoch++;
        oldLogs.push(red.log());
        red.logs.length = 0; // waitReady looks for this start's "Started flows"
        red.opts.env.CRASH_EPOCH = String(epoch);
        restarting = red.start();
        await restarting;
        restarting = null;
      }
    };
    const t0 = Date.now();
    await Promise.all([killer(), ...Array.from({ length: SENDERS }, sender)]);
    agent.destroy();
    const sendSeconds = (Date.now() - t0) / 1000;
    assert.equal(queue.length, 0, `senders did not finish within ${SEND_DEADLINE_MS / 1000}s (${acked.size}/${N} acked)`);
    assert.ok(kills.length >= 3, `at least 3 SIGKILLs happened (${kills.length})`);

    // ---- every acked id reaches the flow (bounded wait), then settle for late duplicates
    const emittedIds = () => new Set(collector.received.map((m) => m.body.id));
    const until = Date.now() + 30000;
    while ([...acked.keys()].some((id) => !emittedIds().has(id)) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    await collector.settle(1500);

    // ---- final graceful restart: nothing finished may come back
    const beforeFinal = collector.received.length;
    await red.stop();
    epoch++;
    oldLogs.push(red.log());
    red.logs.length = 0;
    red.opts.env.CRASH_EPOCH = String(epoch);
    await red.start();
    await collector.settle(2500);
    const afterFinal = collector.received.slice(beforeFinal);

    // ---- analysis
    const emissions = collector.received.map((m) => m.body);
    const byId = new Map();
    for (const e of emissions) {
      if (!byId.has(e.id)) byId.set(e.id, []);
      byId.get(e.id).push(e);
    }
    const missing = [...acked.keys()].filter((id) => !byId.has(id));
    const sameCount = [];
    const sameEpoch = [];
    const notIncreasing = [];
    const afterDone = [];
    let crashReemissions = 0;
    for (const [id, list] of byId) {
      const counts = new Set();
      const epochs = new Set();
      for (const e of list) {
        if (counts.has(e.n)) sameCount.push(`${id} n=${e.n}`);
        counts.add(e.n);
        if (epochs.has(e.epoch)) sameEpoch.push(`${id} in epoch ${e.epoch} (emissions epoch/deliveryCount: ${list.map((x) => `${x.epoch}/${x.n}`).join(' ')})`);
        epochs.add(e.epoch);
        for (const k of kills)
          if (k.epoch < e.epoch && k.doneInJournal.has(id)) afterDone.push(`${id} done before kill of epoch ${k.epoch}, emitted in epoch ${e.epoch}`);
      }
      const ordered = [...list].sort((a, b) => a.epoch - b.epoch);
      for (let i = 1; i < ordered.length; i++)
        if (ordered[i].n <= ordered[i - 1].n) notIncreasing.push(`${id}: ${ordered.map((e) => `${e.epoch}/${e.n}`).join(' ')}`);
      crashReemissions += list.length - 1;
    }
    const notAcked = [...byId.keys()].filter((id) => !acked.has(id));
    const report = [
      `crash test: ${N} events, ${SENDERS} senders, ${kills.length} SIGKILLs (pids ${kills.map((k) => k.pid).join(', ')}) at ${kills.map((k) => k.ackedSoFar).join('/')} acks, ${sendSeconds.toFixed(1)} s of sending`,
      `  sender attempts ${stats.attempts}; retried after non-2xx ${stats.non2xx}, after connection errors ${stats.connErrors}; deliberate redeliveries of acked ids ${stats.resends} (acked ${stats.resendAcked})`,
      `  acked ids ${acked.size}; emitted ids ${byId.size}; emissions ${emissions.length}; crash re-emissions (emitted, not done at a kill, emitted again with higher deliveryCount) ${crashReemissions}`,
      `  done records durably in the journal at each kill: ${kills.map((k) => k.doneInJournal.size).join('/')} (rule 4 is checked against these)`,
      `  emitted but never acked (stored, ack lost in the crash; ESS would redeliver and get a duplicate ack) ${notAcked.length}`,
      `  missing acked ids ${missing.length}; same id+deliveryCount twice ${sameCount.length}; same id twice in one process ${sameEpoch.length}; emitted after a durable done ${afterDone.length}; deliveryCount not increasing ${notIncreasing.length}; re-emitted after the final graceful restart ${afterFinal.length}`,
    ].join('\n');
    process.stdout.write(`      ${report.replace(/\n/g, '\n      ')}\n`);
    const show = (a) => a.slice(0, 5).join('; ');
    assert.deepEqual(missing.length, 0, `acked but never emitted: ${show(missing)}`);
    assert.equal(sameCount.length, 0, `emitted twice with the same deliveryCount: ${show(sameCount)}`);
    assert.equal(sameEpoch.length, 0, `emitted twice by one process: ${show(sameEpoch)}`);
    assert.equal(afterDone.length, 0, `re-emitted after done was durable: ${show(afterDone)}`);
    assert.equal(notIncreasing.length, 0, `deliveryCount did not grow: ${show(notIncreasing)}`);
    assert.equal(afterFinal.length, 0, `re-emitted after a graceful restart: ${JSON.stringify(afterFinal.slice(0, 5))}`);
    assert.equal(acked.size, N);
    // Rule 4 has teeth only if done records were on disk when the process died.
    assert.ok(
      kills.every((k) => k.doneInJournal.size > 0),
      `done records at each kill: ${kills.map((k) => k.doneInJournal.size)}`,
    );
    // The process that ran last never logged an uncaught error.
    assert.doesNotMatch(oldLogs.join('') + red.log(), /uncaught|unhandled/i);
  });
});
