'use strict';
/**
 * concur-ess-event-in through a REAL Node-RED (red.js child process): flows
 * deployed over the admin API, signed deliveries over loopback HTTP, emitted
 * messages, rejected deliveries and status badges observed via the collector.
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startRed, request } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');
const { startCollector, collectorNodes } = require('../helpers/collector');
const { testKeyPair, sign, essEvent, signedDelivery } = require('../helpers/ess-signer');
const { forwarder, essNode, EVENT_FIELDS } = require('../helpers/ess-flows');

const TAB = 'tab-ess';
const good = testKeyPair('ess-good');
const other = testKeyPair('ess-other');

describe('concur-ess-event-in (real Node-RED)', function () {
  this.timeout(120000);
  let red;
  let collector;

  before(async () => {
    collector = await startCollector();
    red = await startRed();
  });
  after(() => teardown({ red, collector }));

  let failedEvent;
  const url = (p = '/concur/ess') => `${red.url}${p}`;
  const post = (d, p) => request(url(p), { method: 'POST', headers: d.headers, body: d.body });
  const events = () => collector.received.filter((m) => m.path === '/event').map((m) => m.body);
  const rejected = () => collector.received.filter((m) => m.path === '/rejected').map((m) => m.body.payload);
  const statuses = () => collector.received.filter((m) => m.path === '/status').map((m) => m.body.status);
  async function waitForStatus(pred, ms = 5000) {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      const hit = statuses().find(pred);
      if (hit) return hit;
      await collector.settle(50);
    }
    assert.fail(`no matching status within ${ms} ms: ${JSON.stringify(statuses())}`);
  }

  /** Main receiver + a 400-on-bad-signature receiver + a filtering receiver + one with verification off. */
  function flows(extra = []) {
    const st = collectorNodes({ idPrefix: 'st', z: TAB, url: collector.url, pathName: '/status', fields: ['status'] });
    return [
      { id: TAB, type: 'tab', label: 'ess' },
      essNode({ extraKeys: good.publicPem, rejectOutput: true, outputs: 2, wires: [['ev-fn'], ['rej-fn']] }),
      essNode({ id: 'ess400', path: '/concur/ess400', extraKeys: good.publicPem, signatureFailureStatus: '400', wires: [['ev-fn']] }),
      essNode({
        id: 'essFilter',
        path: '/concur/ess-filter',
        extraKeys: good.publicPem,
        topicFilter: 'concur\\.expense\\.report$',
        eventTypeFilter: '^statusChanged$',
        wires: [['ev-fn']],
      }),
      essNode({ id: 'essOpen', path: '/concur/ess-open', verifySignature: false, wires: [['ev-fn']] }),
      essNode({ id: 'essFail', path: '/concur/ess-fail', extraKeys: good.publicPem, wires: [['boom']] }),
      { id: 'boom', type: 'function', z: TAB, name: 'boom', func: 'throw new Error("flow failed on purpose")', outputs: 1, wires: [[]], x: 400, y: 400 },
      { id: 'status-watch', type: 'status', z: TAB, name: '', scope: ['ess', 'essOpen', 'essFail'], wires: [[st.inputId]], x: 100, y: 300 },
      ...forwarder({ id: 'ev', z: TAB, url: collector.url, pathName: '/event', fields: EVENT_FIELDS }),
      ...forwarder({ id: 'rej', z: TAB, url: collector.url, pathName: '/rejected', fields: ['payload', 'topic'] }),
      ...st.nodes,
      ...extra,
    ];
  }

  // biome-ignore lint/suspicious/noDuplicateTestHooks: runs after the first before (Node-RED started), deploys the flows
  before(async () => {
    await red.deploy(flows());
  });
  beforeEach(() => collector.clear());

  it('accepts a PSS-signed event and emits it with the documented message shape', async () => {
    const ev = essEvent();
    const d = signedDelivery(ev, { privateKey: good.privateKey, padding: 'pss', correlationId: 'corr-from-header' });
    const t0 = Date.now();
    const r = await post(d);
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body, 'accepted');
    const [m] = await collector.waitFor(1, 10000, '/event');
    const { payload, topic, eventType, concur } = m.body;
    assert.deepEqual(payload, ev);
    assert.equal(topic, 'public.concur.expense.report');
    assert.equal(eventType, 'statusChanged');
    assert.deepEqual(Object.keys(concur).sort(), ['correlationId', 'deliveryCount', 'id', 'keyId', 'receivedAt', 'signatureVerified']);
    assert.equal(concur.id, ev.id);
    assert.equal(concur.correlationId, 'corr-from-header');
    assert.equal(concur.signatureVerified, true);
    assert.equal(concur.keyId, 'user');
    assert.equal(concur.deliveryCount, 1);
    assert.ok(Math.abs(Date.parse(concur.receivedAt) - t0) < 60000);
    assert.equal(concur.clientCert, undefined);
  });

  it('accepts PKCS#1 v1.5 too, and verifies the exact bytes even with odd JSON whitespace (editor body-parser trap)', async () => {
    const ev = essEvent();
    const body = `{ "id" :  ${JSON.stringify(ev.id)},\n\t"topic":"public.concur.expense.report", "eventType" : "statusChanged", "n": 1.50 }`;
    const r = await post(signedDelivery(null, { privateKey: good.privateKey, padding: 'pkcs1', body, correlationId: null }));
    assert.equal(r.status, 200, r.body);
    const [m] = await collector.waitFor(1, 10000, '/event');
    assert.equal(m.body.concur.id, ev.id);
    assert.equal(m.body.payload.n, 1.5);
    assert.equal(m.body.concur.correlationId, undefined, 'no header and no correlationId field');
  });

  it('rejects bad signatures with 401 (ESS retries), emits nothing, and reports them on the second output without secrets', async () => {
    const ev = essEvent();
    const okBody = JSON.stringify(ev);
    const okSig = sign(okBody, good.privateKey);
    const tampered = okBody.replace('A_PEND', 'A_APPR');
    const reserialized = JSON.stringify(ev, null, 2);
    /** @type {Array<[string, Record<string, string>, string, RegExp]>} */
    const cases = [
      ['wrong key', { 'Concur-Signature': sign(okBody, other.privateKey) }, okBody, /does not match/],
      ['tampered body', { 'Concur-Signature': okSig }, tampered, /does not match/],
      ['re-serialized body', { 'Concur-Signature': okSig }, reserialized, /does not match/],
      ['missing header', {}, okBody, /missing/],
      ['garbage base64', { 'Concur-Signature': '%%%garbage%%%' }, okBody, /not a base64/],
      ['short base64', { 'Concur-Signature': 'AAAA' }, okBody, /not a base64/],
    ];
    for (const [name, h, body, re] of cases) {
      const r = await request(url(), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: 'Bearer super-secret-token', ...h },
        body,
      });
      assert.equal(r.status, 401, `${name}: ${r.body}`);
      assert.match(r.body, re, name);
    }
    await collector.waitFor(cases.length, 10000, '/rejected');
    const rej = rejected();
    assert.equal(rej.length, cases.length);
    for (const p of rej) {
      assert.equal(p.statusCode, 401);
      assert.equal(p.category, 'signature');
      assert.equal(p.headers.authorization, '[redacted]');
      assert.ok(!JSON.stringify(p).includes('super-secret-token'));
      assert.equal(typeof p.rawBody, 'string');
    }
    assert.equal(rej[1].rawBody, tampered);
    assert.equal(events().length, 0, 'nothing emitted');
    assert.ok(!red.log().includes('super-secret-token'), 'no secret in the log');
  });

  it('answers 400 for a bad signature when configured to (ESS drops it)', async () => {
    const ev = essEvent();
    const r = await request(url('/concur/ess400'), { method: 'POST', headers: { 'Concur-Signature': sign('x', good.privateKey) }, body: JSON.stringify(ev) });
    assert.equal(r.status, 400);
    assert.equal((await collector.settle(300)).filter((m) => m.path === '/event').length, 0);
  });

  it('answers 400 (not retried) for verified bodies that are not JSON or not an event', async () => {
    for (const [body, re] of /** @type {Array<[string, RegExp]>} */ ([
      ['this is not json', /not JSON/],
      ['[{"id":"a"}]', /not an event object/],
      ['{"topic":"x"}', /no "id"/],
    ])) {
      const r = await post({ body, headers: { 'Content-Type': 'text/plain', 'Concur-Signature': sign(body, good.privateKey) } });
      assert.equal(r.status, 400, body);
      assert.match(r.body, re);
    }
    await collector.waitFor(3, 10000, '/rejected');
    assert.deepEqual(
      rejected().map((p) => p.category),
      ['envelope', 'envelope', 'envelope'],
    );
    assert.equal(events().length, 0);
  });

  it('answers 413 past the body limit without emitting', async () => {
    const ev = essEvent({ facts: { big: 'x'.repeat(1024 * 1024) } });
    const r = await post(signedDelivery(ev, { privateKey: good.privateKey }));
    assert.equal(r.status, 413);
    await collector.waitFor(1, 10000, '/rejected');
    assert.equal(rejected()[0].statusCode, 413);
    assert.equal(events().length, 0);
  });

  it('acknowledges a duplicate id with 200 and emits it only once, also when both arrive concurrently', async () => {
    const ev = essEvent();
    const d = signedDelivery(ev, { privateKey: good.privateKey });
    const rs = await Promise.all([post(d), post(d), post(d)]);
    assert.deepEqual(
      rs.map((r) => r.status),
      [200, 200, 200],
    );
    assert.deepEqual(rs.map((r) => r.body).sort(), ['accepted', 'duplicate', 'duplicate']);
    const again = await post(signedDelivery(ev, { privateKey: good.privateKey, padding: 'pkcs1' }));
    assert.equal(again.status, 200);
    assert.equal(again.body, 'duplicate');
    await collector.waitFor(1, 10000, '/event');
    assert.equal((await collector.settle(400)).filter((m) => m.path === '/event').length, 1);
    const st = await waitForStatus((s) => s.source.id === 'ess' && /3 dup/.test(s.text || ''));
    assert.equal(st.fill, 'green');
  });

  it('acknowledges and drops verified events that do not match the topic/eventType filters', async () => {
    const pass = essEvent();
    const wrongType = essEvent({ eventType: 'reportDeleted' });
    const wrongTopic = essEvent({ topic: 'public.concur.request' });
    for (const ev of [pass, wrongType, wrongTopic]) {
      const r = await post(signedDelivery(ev, { privateKey: good.privateKey }), '/concur/ess-filter');
      assert.equal(r.status, 200);
      assert.equal(r.body, ev === pass ? 'accepted' : 'ignored by filter');
    }
    await collector.waitFor(1, 10000, '/event');
    const got = (await collector.settle(300)).filter((m) => m.path === '/event');
    assert.deepEqual(
      got.map((m) => m.body.concur.id),
      [pass.id],
    );
  });

  it('with verification off: accepts unsigned events, marks them unverified and shows a warning status', async () => {
    const ev = essEvent();
    const r = await request(url('/concur/ess-open'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(ev) });
    assert.equal(r.status, 200);
    const [m] = await collector.waitFor(1, 10000, '/event');
    assert.equal(m.body.concur.signatureVerified, false);
    assert.equal(m.body.concur.keyId, undefined);
    const warn = await waitForStatus((s) => s.source.id === 'essOpen' && /signature check OFF · 1 ok/.test(s.text || ''));
    assert.equal(warn.fill, 'yellow');
    assert.equal(warn.shape, 'ring');
  });

  it('answers 405 to other methods', async () => {
    const r = await request(url(), { method: 'GET' });
    assert.equal(r.status, 405);
    assert.equal(r.headers.allow, 'POST');
  });

  it('puts events whose flow failed into the dead-letter record (journal "f" record, status count, warning)', async () => {
    const ev = essEvent();
    failedEvent = ev;
    const r = await post(signedDelivery(ev, { privateKey: good.privateKey }), '/concur/ess-fail');
    assert.equal(r.status, 200);
    const journal = path.join(red.opts.userDir, 'concur-ess', 'essFail.journal');
    const until = Date.now() + 10000;
    while (!fs.readFileSync(journal, 'utf8').includes('"t":"f"') && Date.now() < until) await new Promise((res) => setTimeout(res, 50));
    const lines = fs
      .readFileSync(journal, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const f = lines.find((l) => l.t === 'f' && l.id === ev.id);
    assert.ok(f, 'failed record written');
    assert.match(f.r, /flow failed on purpose/);
    await waitForStatus((s) => s.source.id === 'essFail' && /1 ok, 1 failed/.test(s.text || ''));
    assert.match(red.log(), /dead-letter record: flow failed on purpose/);
    // Operators can read the dead letters back over the admin API.
    const dl = await request(`${red.url}/concur-ess-event-in/essFail/dead-letters`);
    assert.equal(dl.status, 200);
    const list = JSON.parse(dl.body);
    const mine = list.find((d) => d.id === ev.id);
    assert.ok(mine, dl.body);
    assert.deepEqual(JSON.parse(mine.body), ev);
    assert.match(mine.reason, /flow failed on purpose/);
    assert.equal((await request(`${red.url}/concur-ess-event-in/nope/dead-letters`)).status, 404);
  });

  it('keeps dedupe across a Node-RED restart and re-emits nothing that was completed', async () => {
    const ev = essEvent();
    const d = signedDelivery(ev, { privateKey: good.privateKey });
    assert.equal((await post(d)).status, 200);
    await collector.waitFor(1, 10000, '/event');
    await collector.settle(300); // let the completion record reach the journal
    await red.restart();
    collector.clear();
    const r = await post(d);
    assert.equal(r.status, 200);
    assert.equal(r.body, 'duplicate');
    const got = (await collector.settle(1500)).filter((m) => m.path === '/event');
    assert.equal(got.length, 0, `nothing re-emitted: ${JSON.stringify(got.map((m) => m.body.concur))}`);
    // The dead letter of the previous test survived the restart (compaction keeps it) and is a duplicate too.
    const dl = await post(signedDelivery(failedEvent, { privateKey: good.privateKey }), '/concur/ess-fail');
    assert.equal(dl.body, 'duplicate');
    const journal = fs.readFileSync(path.join(red.opts.userDir, 'concur-ess', 'essFail.journal'), 'utf8');
    const recs = journal
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((l) => l.id === failedEvent.id);
    assert.deepEqual(
      recs.map((l) => l.t),
      ['a', 'f'],
      'dead letter kept with its body',
    );
  });

  it('removes its route on redeploy: two redeploys leave one route answering once; removing the node gives 404', async () => {
    for (let i = 0; i < 2; i++) await red.deploy(flows([{ id: `c${i}`, type: 'comment', z: TAB, name: `rev ${i}` }]));
    collector.clear();
    const ev = essEvent();
    assert.equal((await post(signedDelivery(ev, { privateKey: good.privateKey }))).status, 200);
    await collector.waitFor(1, 10000, '/event');
    assert.equal((await collector.settle(400)).filter((m) => m.path === '/event').length, 1);
    await red.deploy([{ id: TAB, type: 'tab', label: 'ess' }]);
    const gone = await post(signedDelivery(essEvent(), { privateKey: good.privateKey }));
    assert.equal(gone.status, 404);
    await red.deploy(flows());
  });

  it('reports a configuration error (bad key, bad regex) with a red status and 503, never 2xx', async () => {
    const st = collectorNodes({ idPrefix: 'st2', z: TAB, url: collector.url, pathName: '/status2', fields: ['status'] });
    await red.deploy([
      { id: TAB, type: 'tab', label: 'ess' },
      essNode({ id: 'bad', path: '/concur/ess-bad', extraKeys: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----', topicFilter: '(' }),
      { id: 'status2', type: 'status', z: TAB, scope: ['bad'], wires: [[st.inputId]], x: 100, y: 300 },
      ...st.nodes,
    ]);
    const r = await post(signedDelivery(essEvent(), { privateKey: good.privateKey }), '/concur/ess-bad');
    assert.equal(r.status, 503);
    await collector.waitFor(1, 10000, '/status2');
    const s = collector.received.filter((m) => m.path === '/status2').map((m) => m.body.status);
    assert.ok(
      s.some((x) => x.fill === 'red' && /key "user"/.test(x.text)),
      JSON.stringify(s),
    );
    await red.deploy(flows());
  });
});
