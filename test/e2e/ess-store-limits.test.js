'use strict';
/**
 * concur-ess-event-in's file store under pressure, through a REAL Node-RED
 * over loopback HTTP:
 * - "Dedupe memory": a store whose finished ids already take more than the
 *   limit answers new events 503 with Retry-After and shows a red status
 *   (instead of growing until Node-RED runs out of heap), still answers
 *   duplicates 200, and takes events again when the limit is raised;
 * - "Pending memory": event bodies waiting for the flow are capped the same way;
 * - a store that cannot be opened at start (a file where its directory should
 *   be: works as root, unlike chmod) answers 503 with Retry-After and a red
 *   "retry" status, retries with backoff, and recovers by itself once the
 *   file is removed, with no redeploy; a node removed while retrying closes
 *   cleanly.
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { startRed, request } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');
const { startCollector, collectorNodes } = require('../helpers/collector');
const { testKeyPair, essEvent, signedDelivery } = require('../helpers/ess-signer');
const { forwarder, essNode, EVENT_FIELDS } = require('../helpers/ess-flows');

const TAB = 'tab-ess';
const key = testKeyPair('ess-limits');
const H = 3600_000;

describe('concur-ess-event-in: store memory limits and a store that cannot open (real Node-RED)', function () {
  this.timeout(120000);
  let red;
  let collector;
  let userDir;
  const prefilled = [];

  before(async () => {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-red-limits-'));
    // A journal with 60,000 finished ids spread over the last 70 h (about 2 MiB in memory).
    fs.mkdirSync(path.join(userDir, 'concur-ess'));
    const now = Date.now();
    const lines = ['{"t":"h","v":3}'];
    for (let i = 0; i < 60_000; i++) {
      const id = crypto.randomUUID();
      if (i % 10_000 === 0) prefilled.push(id);
      lines.push(`{"t":"s","id":"${id}","at":${now - 70 * H + Math.floor((i / 60_000) * 70 * H)}}`);
    }
    fs.writeFileSync(path.join(userDir, 'concur-ess', 'full.journal'), lines.join('\n') + '\n');
    collector = await startCollector();
    red = await startRed({ userDir });
  });
  after(() => teardown({ red, collector }));
  beforeEach(() => collector.clear());

  const post = (ev, p = '/concur/ess') => {
    const d = signedDelivery(ev, { privateKey: key.privateKey });
    return request(`${red.url}${p}`, { method: 'POST', headers: d.headers, body: d.body, timeoutMs: 10000 });
  };
  const statuses = () => collector.received.filter((m) => m.path === '/status').map((m) => m.body.status);
  async function waitForStatus(pred, ms = 8000) {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      const hit = statuses().find(pred);
      if (hit) return hit;
      await collector.settle(50);
    }
    assert.fail(`no matching status within ${ms} ms: ${JSON.stringify(statuses())}`);
  }
  function flows(nodes, watch) {
    const st = collectorNodes({ idPrefix: 'st', z: TAB, url: collector.url, pathName: '/status', fields: ['status'] });
    return [
      { id: TAB, type: 'tab', label: 'ess' },
      ...nodes,
      { id: 'status-watch', type: 'status', z: TAB, name: '', scope: watch, wires: [[st.inputId]], x: 100, y: 300 },
      ...forwarder({ id: 'ev', z: TAB, url: collector.url, pathName: '/event', fields: EVENT_FIELDS }),
      ...st.nodes,
    ];
  }

  it('answers 503 with Retry-After and shows a red status once the dedupe memory limit is reached, still dedupes, and takes events when the limit is raised', async () => {
    await red.deploy(flows([essNode({ storeName: 'full', dedupeMemoryMiB: 1, extraKeys: key.publicPem, wires: [['ev-fn']] })], ['ess']));
    // Red as soon as the store is open (the replayed ids are over the limit), before any delivery.
    await waitForStatus((s) => s.fill === 'red' && /memory limit/.test(s.text));
    assert.match(red.log(), /over the 1 MiB "Dedupe memory" limit/);
    collector.clear();
    const ev = essEvent();
    const r = await post(ev);
    assert.equal(r.status, 503, r.body);
    assert.ok(Number(r.headers['retry-after']) > 0, 'Retry-After');
    assert.match(r.body, /dedupe memory limit reached/);
    const red1 = await waitForStatus((s) => s.fill === 'red' && /memory limit/.test(s.text));
    assert.equal(red1.shape, 'ring');
    const dup = await post(essEvent({ id: prefilled[1] }));
    assert.equal(dup.status, 200, 'a duplicate of a held id is still answered 200');
    assert.equal(dup.body, 'duplicate');
    // Raised limit (redeploy): the same event, retried as ESS would, is taken.
    await red.deploy(flows([essNode({ storeName: 'full', dedupeMemoryMiB: 256, extraKeys: key.publicPem, wires: [['ev-fn']] })], ['ess']));
    const again = await post(ev);
    assert.equal(again.status, 200, again.body);
    assert.equal(again.body, 'accepted');
    await collector.waitFor(1, 10000, '/event');
    assert.equal((await post(essEvent({ id: prefilled[5] }))).body, 'duplicate');
  });

  it('caps the bodies of events waiting for the flow ("Pending memory"): 503 with Retry-After and a red status, then accepts again once the flow catches up', async () => {
    await red.deploy(
      flows(
        [
          essNode({ id: 'essPend', storeName: 'pend', pendingMemoryMiB: 0.01, extraKeys: key.publicPem, wires: [['hold']] }),
          // Holds each event 1.5 s, so it stays pending.
          {
            id: 'hold',
            type: 'delay',
            z: TAB,
            pauseType: 'delay',
            timeout: '1500',
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
        ],
        ['essPend'],
      ),
    );
    const pad = 'p'.repeat(6000);
    assert.equal((await post(essEvent({ pad }))).status, 200, 'one event always fits');
    const second = essEvent({ pad });
    const r = await post(second);
    assert.equal(r.status, 503, r.body);
    assert.ok(Number(r.headers['retry-after']) > 0);
    assert.match(r.body, /pending-event memory limit reached/);
    await waitForStatus((s) => s.fill === 'red' && /memory limit/.test(s.text));
    await collector.waitFor(1, 10000, '/event'); // the first one has left the flow
    await collector.settle(300);
    const retried = await post(second);
    assert.equal(retried.status, 200, retried.body);
  });

  it('a store that cannot be opened at start answers 503 with Retry-After, retries, and recovers by itself once the cause is gone (no redeploy)', async () => {
    const node = essNode({ id: 'essBlocked', path: '/concur/ess-blocked', storeName: 'later', extraKeys: key.publicPem, wires: [['ev-fn']] });
    // The store directory is <userDir>/concur-ess: put a file in its place (mkdir fails, even as root).
    fs.renameSync(path.join(userDir, 'concur-ess'), path.join(userDir, 'concur-ess.moved'));
    fs.writeFileSync(path.join(userDir, 'concur-ess'), 'not a directory');
    try {
      await red.deploy(flows([node], ['essBlocked']));
      const st = await waitForStatus((s) => s.fill === 'red' && /retry in \d+ s/.test(s.text));
      assert.match(st.text, /event store: .*(EEXIST|ENOTDIR)/);
      const ev = essEvent();
      const r = await post(ev, '/concur/ess-blocked');
      assert.equal(r.status, 503, r.body);
      assert.match(r.body, /retrying/);
      assert.ok(Number(r.headers['retry-after']) >= 1, 'Retry-After');
      assert.match(red.log(), /cannot open event store/);
    } finally {
      fs.rmSync(path.join(userDir, 'concur-ess'), { force: true });
      fs.renameSync(path.join(userDir, 'concur-ess.moved'), path.join(userDir, 'concur-ess'));
    }
    // Fixed: the next retry (1 s, 2 s, 4 s, ... after the failures) opens the store.
    await waitForStatus((s) => s.fill === 'green', 15000);
    const ev = essEvent();
    const ok = await post(ev, '/concur/ess-blocked');
    assert.equal(ok.status, 200, ok.body);
    await collector.waitFor(1, 10000, '/event');
    assert.ok(fs.existsSync(path.join(userDir, 'concur-ess', 'later.journal')));
  });

  it('a node removed while its store is retrying closes at once (the deploy completes, no retry keeps running)', async () => {
    fs.renameSync(path.join(userDir, 'concur-ess'), path.join(userDir, 'concur-ess.moved'));
    fs.writeFileSync(path.join(userDir, 'concur-ess'), 'not a directory');
    try {
      await red.deploy(
        flows([essNode({ id: 'essGone', path: '/concur/ess-gone', storeName: 'gone', extraKeys: key.publicPem, wires: [['ev-fn']] })], ['essGone']),
      );
      await waitForStatus((s) => s.fill === 'red' && /retry in/.test(s.text));
      const t0 = Date.now();
      await red.deploy(flows([], []));
      assert.ok(Date.now() - t0 < 5000, `redeploy took ${Date.now() - t0} ms`);
      const r = await request(`${red.url}/concur/ess-gone`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      assert.equal(r.status, 404, 'route removed');
    } finally {
      fs.rmSync(path.join(userDir, 'concur-ess'), { force: true });
      fs.renameSync(path.join(userDir, 'concur-ess.moved'), path.join(userDir, 'concur-ess'));
    }
    // With the directory back, a retry still running would open (and create) the store within 2 s.
    await collector.settle(2500);
    assert.equal(fs.existsSync(path.join(userDir, 'concur-ess', 'gone.journal')), false, 'no retry after close');
  });
});
