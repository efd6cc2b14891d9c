'use strict';
/**
 * Durable acknowledgement of concur-ess-event-in, proven with a real crash:
 * signed events are delivered, the Node-RED process is SIGKILLed right after
 * some 2xx answers (with more deliveries in flight and acknowledged events
 * still inside the flow), Node-RED is started again on the same userDir, and
 * ESS-style retries are replayed. Every acknowledged event must come out at
 * least once; an event whose flow had completed must never come out again; a
 * repeat is only ever a flagged redelivery (deliveryCount > 1).
 */
const assert = require('node:assert/strict');
const { startRed, request } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');
const { startCollector } = require('../helpers/collector');
const { testKeyPair, essEvent, signedDelivery } = require('../helpers/ess-signer');
const { forwarder, essNode, EVENT_FIELDS } = require('../helpers/ess-flows');

const TAB = 'tab-ess';
const key = testKeyPair('ess-crash');

describe('concur-ess-event-in: SIGKILL after acknowledgement (real Node-RED)', function () {
  this.timeout(90000);
  let red;
  let collector;

  before(async () => {
    collector = await startCollector();
    red = await startRed();
  });
  after(() => teardown({ red, collector }));

  const post = (ev) => {
    const d = signedDelivery(ev, { privateKey: key.privateKey });
    return request(`${red.url}/concur/ess`, { method: 'POST', headers: d.headers, body: d.body, timeoutMs: 10000 });
  };
  const emissions = () => collector.received.filter((m) => m.path === '/event').map((m) => m.body.concur);

  it('emits every acknowledged event after a crash, never re-emits completed ones, and flags redeliveries', async () => {
    await red.deploy([
      { id: TAB, type: 'tab', label: 'ess' },
      essNode({ extraKeys: key.publicPem, wires: [['slow']] }),
      // Keeps acknowledged events inside the flow for a while, so the kill catches some mid-flow.
      {
        id: 'slow',
        type: 'delay',
        z: TAB,
        pauseType: 'delay',
        timeout: '400',
        timeoutUnits: 'milliseconds',
        rate: '1',
        nbRateUnits: '1',
        rateUnits: 'second',
        randomFirst: '1',
        randomLast: '5',
        randomUnits: 'seconds',
        drop: false,
        allowrate: false,
        outputs: 1,
        wires: [['ev-fn']],
        x: 300,
        y: 100,
      },
      ...forwarder({ id: 'ev', z: TAB, url: collector.url, pathName: '/event', fields: EVENT_FIELDS }),
    ]);

    // Phase 1: events that complete before the crash.
    const done = Array.from({ length: 15 }, () => essEvent());
    for (const ev of done) assert.equal((await post(ev)).status, 200);
    await collector.waitFor(done.length, 15000, '/event');
    await collector.settle(500); // completion records reach the journal (written, not synced: a SIGKILL keeps them)

    // Phase 2: concurrent deliveries; SIGKILL as soon as 10 of them are acknowledged.
    const burst = Array.from({ length: 40 }, () => essEvent());
    const acked = new Set();
    const answered = new Map();
    let killing;
    let next = 0;
    const worker = async () => {
      while (next < burst.length && !killing) {
        const ev = burst[next++];
        try {
          const r = await post(ev);
          answered.set(ev.id, r.status);
          if (r.status === 200) acked.add(ev.id);
          if (acked.size >= 10 && !killing) killing = red.kill();
        } catch {
          answered.set(ev.id, 'connection error');
        }
      }
    };
    await Promise.all(Array.from({ length: 6 }, worker));
    const exit = await killing;
    assert.equal(exit.signal, 'SIGKILL');
    const emittedBeforeKill = emissions().length;
    assert.ok(acked.size >= 10, `acked ${acked.size}`);

    // Restart on the same userDir: acknowledged-but-unfinished events come out again.
    await red.start();
    const until = Date.now() + 20000;
    const seen = () => new Set(emissions().map((c) => c.id));
    while ([...acked].some((id) => !seen().has(id)) && Date.now() < until) await collector.settle(100);
    const missing = [...acked].filter((id) => !seen().has(id));
    assert.deepEqual(missing, [], 'every acknowledged event is emitted after the restart');

    // ESS retries everything it has no 2xx for (and we replay the acked ones too, as a worst case).
    for (const ev of [...done, ...burst]) {
      const r = await post(ev);
      assert.equal(r.status, 200, `${ev.id}: ${r.status} ${r.body}`);
      if (acked.has(ev.id) || done.includes(ev)) assert.equal(r.body, 'duplicate', 'an acknowledged id is a duplicate after the restart');
    }
    await collector.waitFor(done.length + burst.length, 20000, '/event').catch(() => undefined);
    await collector.settle(1000);

    const all = emissions();
    const byId = new Map();
    for (const c of all) byId.set(c.id, [...(byId.get(c.id) || []), c]);
    for (const ev of [...done, ...burst]) assert.ok(byId.has(ev.id), `${ev.id} emitted at least once`);
    for (const ev of done) assert.equal(byId.get(ev.id).length, 1, 'a completed event is never emitted again');
    for (const [id, list] of byId) {
      assert.ok(list.filter((c) => c.deliveryCount === 1).length <= 1, `${id}: at most one first delivery`);
      assert.ok(list.length <= 2, `${id}: emitted ${list.length} times`);
      if (list.length === 2) assert.ok(list[1].deliveryCount >= 2, `${id}: a repeat is flagged as a redelivery`);
    }
    // The crash really caught acknowledged events mid-flow: they came out only after the restart, flagged.
    const recovered = all.slice(emittedBeforeKill).filter((c) => acked.has(c.id) && c.deliveryCount >= 2);
    assert.ok(recovered.length >= 1, `recovered after restart: ${recovered.length}`);
    const bursts = [...byId.values()].filter((l) => acked.has(l[0].id));
    assert.equal(bursts.length, acked.size);
  });
});
