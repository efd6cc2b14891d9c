'use strict';
/**
 * "The flow has finished with the message" through core nodes, in a REAL
 * Node-RED, for both receivers: concur-legacy-notify-in in "ack after flow
 * completes" mode (the HTTP answer) and concur-ess-event-in (the journal's done
 * / dead-letter record).
 *
 * The core switch and rbe nodes register one-argument input handlers, so
 * Node-RED never reports their completion (no onComplete). The tracker treats
 * them as finished when their handler returns; without that, every flow with a
 * switch answered 500 / dead-lettered after the timeout. Change, link and delay
 * nodes call done() themselves and are covered for contrast.
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startRed, request } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');
const { startCollector } = require('../helpers/collector');
const { testKeyPair, essEvent, signedDelivery } = require('../helpers/ess-signer');
const { forwarder, essNode } = require('../helpers/ess-flows');

const TAB = 'tab-core';
const USER = 'concur-connector-user';
const PASS = 'Pa55word:for-concur!';
const AUTH = 'Basic ' + Buffer.from(`${USER}:${PASS}`).toString('base64');
const XML = `<Notification><EventType>Report Entered Expense Report Workflow Step - EXTERNAL VALIDATION - SUBMIT</EventType><ObjectType>EXPRPT</ObjectType><ObjectURI>https://www.concursolutions.com/api/expense/expensereport/v1.1/reportfulldetails/KEY1</ObjectURI><EventDateTime>2012-05-01</EventDateTime></Notification>`;
const key = testKeyPair('core-nodes');
// Far above what a finished flow needs, far below "never": a flow the tracker cannot see through fails these tests.
const LEGACY_TIMEOUT_S = 8;
const ESS_TIMEOUT_S = 60;

// ---- flow builders: each scenario is a small chain between a receiver and the collector
const at = (x, y) => ({ x, y });
const switchNode = (id, z, rule, wires) => ({
  id,
  type: 'switch',
  z,
  name: '',
  property: 'payload',
  propertyType: 'msg',
  rules: [{ t: rule }], // 'nnull' matches every receiver message, 'null' none
  checkall: 'true',
  repair: false,
  outputs: 1,
  wires: [wires],
  ...at(300, 100),
});
const fnNode = (id, z, func, wires) => ({ id, type: 'function', z, name: id, func, outputs: 1, wires: [wires], ...at(450, 100) });

/** Middle sections: (prefix, z, target id) → [first node id, nodes]. */
const SCENARIOS = {
  // switch (rule matches) → function → collector
  'switch-match': (p, z, to) => [`${p}-sw`, [switchNode(`${p}-sw`, z, 'nnull', [`${p}-fn`]), fnNode(`${p}-fn`, z, 'msg.viaSwitch = true;\nreturn msg;', [to])]],
  // switch (no rule matches): the message ends at the switch
  'switch-drop': (p, z, to) => [`${p}-sw`, [switchNode(`${p}-sw`, z, 'null', [to])]],
  // switch → function that throws: a failure after a done-less node
  'switch-throw': (p, z) => [
    `${p}-sw`,
    [switchNode(`${p}-sw`, z, 'nnull', [`${p}-boom`]), fnNode(`${p}-boom`, z, 'throw new Error("thrown after the switch");', [])],
  ],
  // change node (calls done)
  change: (p, z, to) => [
    `${p}-ch`,
    [
      {
        id: `${p}-ch`,
        type: 'change',
        z,
        name: '',
        rules: [{ t: 'set', p: 'changed', pt: 'msg', to: 'yes', tot: 'str' }],
        action: '',
        property: '',
        from: '',
        to: '',
        reg: false,
        wires: [[to]],
        ...at(300, 200),
      },
    ],
  ],
  // link out → link in → switch → collector (a hand-over without a send, then a done-less node)
  link: (p, z, to) => [
    `${p}-lout`,
    [
      { id: `${p}-lout`, type: 'link out', z, name: '', mode: 'link', links: [`${p}-lin`], wires: [], ...at(300, 300) },
      { id: `${p}-lin`, type: 'link in', z, name: '', links: [`${p}-lout`], wires: [[`${p}-sw`]], ...at(400, 300) },
      switchNode(`${p}-sw`, z, 'nnull', [to]),
    ],
  ],
  // delay 300 ms (calls send, then done, from its timer)
  delay: (p, z, to) => [
    `${p}-dl`,
    [
      {
        id: `${p}-dl`,
        type: 'delay',
        z,
        name: '',
        pauseType: 'delay',
        timeout: '300',
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
        wires: [[to]],
        ...at(300, 400),
      },
    ],
  ],
  // rbe (filter) node: also a one-argument handler; the first value passes
  rbe: (p, z, to) => [
    `${p}-rbe`,
    [
      {
        id: `${p}-rbe`,
        type: 'rbe',
        z,
        name: '',
        func: 'rbe',
        gap: '',
        start: '',
        inout: 'out',
        septopics: true,
        property: 'payload',
        topi: 'topic',
        wires: [[to]],
        ...at(300, 500),
      },
    ],
  ],
};
const NAMES = Object.keys(SCENARIOS);

describe('flow completion through core nodes (real Node-RED, both receivers)', function () {
  this.timeout(180000);
  let red;
  let collector;

  before(async () => {
    collector = await startCollector();
    red = await startRed();
    /** @type {Record<string, any>[]} */
    const nodes = [{ id: TAB, type: 'tab', label: 'core nodes' }];
    for (const name of NAMES) {
      for (const rx of ['legacy', 'ess']) {
        const p = `${rx}-${name}`;
        const fwd = forwarder({ id: `${p}-out`, z: TAB, url: collector.url, pathName: `/got/${p}`, fields: ['payload', 'topic', 'changed', 'viaSwitch'] });
        const [first, middle] = SCENARIOS[name](p, TAB, fwd[0].id);
        if (rx === 'legacy') {
          nodes.push({
            id: p,
            type: 'concur-legacy-notify-in',
            z: TAB,
            name: '',
            path: `/legacy/${name}`,
            ackMode: 'complete',
            ackTimeout: LEGACY_TIMEOUT_S,
            maxBodyKiB: 1024,
            testConnection: name === NAMES[0],
            credentials: { username: USER, password: PASS },
            wires: [[first]],
            ...at(100, 100),
          });
        } else {
          nodes.push(essNode({ id: p, z: TAB, path: `/ess/${name}`, extraKeys: key.publicPem, completionTimeout: ESS_TIMEOUT_S, wires: [[first]] }));
        }
        nodes.push(...middle, ...fwd);
      }
    }
    await red.deploy(nodes);
  });
  after(() => teardown({ red, collector }));
  beforeEach(() => collector.clear());

  const got = (p) => collector.received.filter((m) => m.path === `/got/${p}`).map((m) => m.body);
  const postLegacy = (name) =>
    request(`${red.url}/legacy/${name}`, { method: 'POST', headers: { 'Content-Type': 'application/xml', Authorization: AUTH }, body: XML });
  async function postEss(name, ev = essEvent()) {
    const d = signedDelivery(ev, { privateKey: key.privateKey });
    const r = await request(`${red.url}/ess/${name}`, { method: 'POST', headers: d.headers, body: d.body });
    assert.equal(r.status, 200, r.body);
    return ev;
  }
  const journalRecords = (nodeId) =>
    fs
      .readFileSync(path.join(red.opts.userDir, 'concur-ess', `${nodeId}.journal`), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  /** How the journal says the event ended: 'done', 'failed: <reason>', or throws if it has not ended in time. */
  async function essOutcome(nodeId, id, timeoutMs = 10000) {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const ends = journalRecords(nodeId).filter((r) => r.id === id && (r.t === 'd' || r.t === 'f'));
      if (ends.length) return ends.map((r) => (r.t === 'd' ? 'done' : `failed: ${r.r}`)).join(' + ');
      if (Date.now() > until) throw new Error(`event ${id} of ${nodeId} neither done nor failed after ${timeoutMs} ms (still pending)`);
      await new Promise((res) => setTimeout(res, 50));
    }
  }

  describe('legacy receiver, ack after flow completes', () => {
    for (const name of ['switch-match', 'change', 'link', 'delay', 'rbe']) {
      it(`${name}: answers 200 once the message has reached the end of the flow`, async () => {
        const r = await postLegacy(name);
        assert.equal(r.status, 200, r.body);
        // The answer waited for the HTTP request node at the end, so the collector already has the message.
        assert.equal(got(`legacy-${name}`).length, 1, 'delivered before Concur got its 200');
        const m = got(`legacy-${name}`)[0];
        assert.equal(m.payload.objectType, 'EXPRPT');
        if (name === 'switch-match') assert.equal(m.viaSwitch, true);
        if (name === 'change') assert.equal(m.changed, 'yes');
      });
    }

    it('switch-drop: answers 200 when no switch rule matches (the message ends at the switch)', async () => {
      const r = await postLegacy('switch-drop');
      assert.equal(r.status, 200, r.body);
      await collector.settle(200);
      assert.equal(got('legacy-switch-drop').length, 0, 'the switch really dropped it');
    });

    it('switch-throw: answers 500 when a function node after the switch throws', async () => {
      const r = await postLegacy('switch-throw');
      assert.equal(r.status, 500);
      assert.equal(r.body, 'notification not processed');
      assert.match(red.log(), /flow error in node legacy-switch-throw-boom/);
    });

    it('a burst of concurrent callouts through one switch (its queue gets busy) all answer 200', async () => {
      const answers = await Promise.all(Array.from({ length: 12 }, () => postLegacy('switch-match')));
      assert.deepEqual(
        answers.map((r) => r.status),
        Array(12).fill(200),
      );
      assert.equal(got('legacy-switch-match').length, 12);
    });
  });

  describe('ESS receiver, journal outcome', () => {
    const finished = [];

    for (const name of ['switch-match', 'change', 'link', 'delay', 'rbe']) {
      it(`${name}: marks the event done after the flow delivered it`, async () => {
        const ev = await postEss(name);
        assert.equal(await essOutcome(`ess-${name}`, ev.id), 'done');
        const g = got(`ess-${name}`);
        assert.equal(g.length, 1, 'done only after the HTTP request node at the end finished');
        assert.equal(g[0].payload.id, ev.id);
        finished.push([`ess-${name}`, ev.id]);
      });
    }

    it('switch-drop: marks the event done when no switch rule matches', async () => {
      const ev = await postEss('switch-drop');
      assert.equal(await essOutcome('ess-switch-drop', ev.id), 'done');
      assert.equal(got('ess-switch-drop').length, 0);
      finished.push(['ess-switch-drop', ev.id]);
    });

    it('switch-throw: dead-letters the event when a function node after the switch throws', async () => {
      const ev = await postEss('switch-throw');
      assert.equal(await essOutcome('ess-switch-throw', ev.id), 'failed: thrown after the switch');
      const dl = JSON.parse((await request(`${red.url}/concur-ess-event-in/ess-switch-throw/dead-letters`)).body);
      assert.ok(
        dl.some((d) => d.id === ev.id),
        'listed as a dead letter',
      );
      finished.push(['ess-switch-throw', ev.id]);
    });

    it('a burst of concurrent events through one switch are all marked done, none dead-lettered', async () => {
      const evs = await Promise.all(Array.from({ length: 12 }, () => postEss('switch-match')));
      for (const ev of evs) {
        assert.equal(await essOutcome('ess-switch-match', ev.id), 'done');
        finished.push(['ess-switch-match', ev.id]);
      }
      assert.equal(got('ess-switch-match').length, 12);
    });

    it('after a restart (well before the completion timeout) none of those events is emitted again', async () => {
      assert.ok(finished.length >= 18, 'the tests above ran');
      await red.restart();
      collector.clear();
      await collector.settle(2500); // replay runs 1 s after start at the latest
      const again = collector.received.filter((m) => m.path.startsWith('/got/ess-')).map((m) => m.body.payload.id);
      assert.deepEqual(again, [], 'completed events stay completed');
      assert.doesNotMatch(red.logs.slice(red.logStart).join(''), /re-emitting/);
      // Their journals agree: none of them is pending (last record accepted/re-delivered); a compaction turns done into "seen".
      for (const [nodeId, id] of finished) {
        const last = journalRecords(nodeId)
          .filter((r) => r.id === id)
          .pop();
        assert.ok(last && ['d', 'f', 's'].includes(last.t), `${nodeId} ${id}: ${JSON.stringify(last)}`);
      }
    });
  });
});
