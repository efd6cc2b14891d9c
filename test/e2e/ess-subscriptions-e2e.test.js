'use strict';
/**
 * ESS subscriptions from Node-RED, against the simulator's subscription API,
 * in a REAL Node-RED over loopback:
 * - "register on deploy": the receiver creates its subscription at deploy, the
 *   simulator then delivers a report's state change to it (counted by the
 *   receiver), a changed filter is PUT again, an unchanged one is not, a
 *   failing registration shows a yellow ring while the route keeps answering,
 *   and removing the node deletes the subscription;
 * - the dialog's admin routes: list (with the receiver's match and state),
 *   save, delete, and "deploy the connection first".
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startRed, request } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');
const { startCollector, collectorNodes } = require('../helpers/collector');
const { startSimulator } = require('../../dist/simulator/index.js');
const { essNode } = require('../helpers/ess-flows');
const { testKeyPair, essEvent, signedDelivery } = require('../helpers/ess-signer');

const TAB = 'tab-subs';
const R_DRAFT = '0A6B4C2D9E8F41A3B7D1'; // not submitted: submitting it makes a statusChanged event
const SUB_ID = 'nr-e2e.receiver';

async function waitUntil(cond, what, timeoutMs = 15000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('ESS subscriptions in a real Node-RED against the simulator', function () {
  this.timeout(120000);
  let sim;
  let red;
  let collector;
  let keyDir;
  const own = testKeyPair('subs-own');

  before(async () => {
    keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-sim-keys-'));
    sim = await startSimulator({ port: 0, keyDir, enforceTokenKinds: true, delivery: { initialDelayMs: 20, retentionMs: 10000 } });
    collector = await startCollector();
    red = await startRed();
  });
  after(async () => {
    await teardown({ red, collector, sim });
    if (keyDir) fs.rmSync(keyDir, { recursive: true, force: true });
  });
  beforeEach(() => collector.clear());

  const webhook = () => `${red.url}/concur/ess`;
  function config(over = {}) {
    const c = sim.credentials;
    return {
      id: 'cfg-app',
      type: 'concur-config',
      name: 'app',
      geolocation: 'custom',
      baseUrl: sim.url,
      tokenEndpoint: 'api',
      grantType: 'client_credentials',
      followGeolocation: true,
      timeout: 10,
      retries: 1,
      retryDelay: 5,
      retryMaxDelay: 20,
      expirySkew: 60,
      credentials: { clientId: c.clientId, clientSecret: c.clientSecret },
      ...over,
    };
  }
  function flows({ cfg = config(), ess = {}, withReceiver = true } = {}) {
    const st = collectorNodes({ idPrefix: 'st', z: TAB, url: collector.url, pathName: '/status', fields: ['status'] });
    return [
      { id: TAB, type: 'tab', label: 'subs' },
      cfg,
      ...(withReceiver
        ? [
            essNode({
              id: 'essS',
              z: TAB,
              extraKeys: `${sim.essKeys().publicPem.trim()}\n${own.publicPem.trim()}`,
              server: 'cfg-app',
              publicUrl: webhook(),
              subscriptionId: SUB_ID,
              subscriptionTopic: 'public.concur.expense.report',
              subscriptionFilter: 'statusChanged',
              registerOnDeploy: true,
              unregisterOnRemove: true,
              wires: [['sink']],
              ...ess,
            }),
          ]
        : []),
      { id: 'sink', type: 'function', z: TAB, func: 'return null;', outputs: 1, wires: [[]], x: 400, y: 100 },
      { id: 'stw', type: 'status', z: TAB, name: '', scope: null, wires: [[st.inputId]], x: 100, y: 300 },
      ...st.nodes,
    ];
  }
  const puts = () => sim.requests.filter((r) => r.method === 'PUT' && /\/events\/v4\/subscriptions\/webhook$/.test(r.path)).length;
  const counters = async () => JSON.parse((await request(`${red.url}/concur-ess-event-in/essS/counters`)).body);

  it('registers on deploy, receives the events Concur sends to it, updates only on change', async () => {
    await red.deploy(flows());
    const sub = await waitUntil(() => sim.state.subscriptions.get(SUB_ID), 'the subscription');
    assert.deepEqual(
      [sub.topic, sub.filter, sub.webHookConfig.endpoint, sub.applicationId],
      ['public.concur.expense.report', 'statusChanged', webhook(), sim.credentials.clientId],
    );
    assert.equal(puts(), 1);

    // The simulator (as ESS) now delivers a state change to the receiver.
    const moved = await request(`${sim.url}/_sim/reports/${R_DRAFT}/submit`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ stepCode: 'EXTVAL' }),
    });
    assert.equal(moved.status, 200, moved.body);
    await sim.deliveriesIdle();
    const event = sim.events.filter((e) => e.reportId === R_DRAFT).pop();
    assert.deepEqual(
      event.deliveries.map((d) => [d.subscriptionId, d.status]),
      [[SUB_ID, 200]],
    );
    assert.equal((await counters()).accepted, 1);

    // Same settings again: nothing to PUT. Changed filter: PUT once more.
    await red.deploy(flows({ ess: { name: 'renamed' } }));
    await waitUntil(() => /ESS subscription "nr-e2e.receiver" unchanged/.test(red.log()), 'the unchanged log line');
    assert.equal(puts(), 1);
    await red.deploy(flows({ ess: { subscriptionFilter: '.*' } }));
    await waitUntil(() => sim.state.subscriptions.get(SUB_ID).filter === '.*', 'the updated filter');
    assert.equal(puts(), 2);
  });

  it('a failing registration shows a yellow ring and the receiver keeps answering', async () => {
    await red.deploy(
      flows({
        cfg: config({ credentials: { clientId: sim.credentials.clientId, clientSecret: 'wrong-secret-123' } }),
        ess: { subscriptionId: 'nr-e2e.failing' },
      }),
    );
    const st = await waitUntil(
      () => collector.received.map((m) => m.body.status).find((s) => s.source && s.source.id === 'essS' && /subscription/.test(s.text || '')),
      'the subscription status',
    );
    assert.deepEqual([st.fill, st.shape], ['yellow', 'ring']);
    assert.ok(!sim.state.subscriptions.has('nr-e2e.failing'));
    assert.match(red.log(), /could not be registered: token request .*refused: invalid_client/);
    assert.match(st.text, /subscription 401 failed/);
    assert.ok(!red.log().includes('wrong-secret-123'), 'no secret in the log');
    const r = await request(webhook(), { method: 'POST', ...signedDelivery(essEvent(), { privateKey: own.privateKey }) });
    assert.equal(r.status, 200, 'the receiver still accepts events');
  });

  it('deletes its subscription when the node is removed (and only then)', async () => {
    await red.deploy(flows());
    await waitUntil(() => sim.state.subscriptions.get(SUB_ID)?.filter === 'statusChanged', 'the subscription');
    // A redeploy that keeps the node (restart) must not delete it.
    await red.deploy(flows({ ess: { name: 'restarted' } }));
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(sim.state.subscriptions.has(SUB_ID));
    await red.deploy(flows({ withReceiver: false }));
    await waitUntil(() => !sim.state.subscriptions.has(SUB_ID), 'the deletion');
  });

  it('a node removed while its registration is still in flight deletes the subscription after the PUT', async () => {
    await red.deploy(flows({ withReceiver: false }));
    const before = puts();
    sim.setFaults({ latencyMs: 400 });
    try {
      await red.deploy(flows({ ess: { subscriptionId: 'nr-e2e.inflight' } }));
      // Remove the receiver while its token / list / PUT calls are slow; a "modified nodes" deploy keeps the connection running.
      const r = await request(`${red.url}/flows`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'nodes', 'Node-RED-API-Version': 'v1' },
        // Without inline credentials, so the connection counts as unchanged and keeps running.
        body: JSON.stringify(flows({ withReceiver: false }).map((n) => (n.type === 'concur-config' ? { ...n, credentials: undefined } : n))),
      });
      assert.equal(r.status, 204, r.body);
      await waitUntil(() => puts() === before + 1, 'the PUT that was in flight');
      await waitUntil(() => /ESS subscription "nr-e2e.inflight" deleted/.test(red.log()), 'the deletion after the PUT', 20000);
      assert.ok(!sim.state.subscriptions.has('nr-e2e.inflight'), 'no subscription left behind');
    } finally {
      sim.setFaults({ latencyMs: 0 });
    }
  });

  it('on a full deploy (the connection restarts too) the DELETE is sent through the restarted connection', async () => {
    await red.deploy(flows({ withReceiver: false }));
    sim.setFaults({ latencyMs: 300 });
    try {
      await red.deploy(flows({ ess: { subscriptionId: 'nr-e2e.full' } }));
      await red.deploy(flows({ withReceiver: false })); // registration still in flight: the connection closes under it
      await waitUntil(
        () => /ESS subscription "nr-e2e\.full" (deleted|was already gone) \(node removed; sent once the flows had restarted\)/.test(red.log()),
        'the deferred DELETE',
        20000,
      );
      await sim.deliveriesIdle();
      assert.ok(!sim.state.subscriptions.has('nr-e2e.full'), 'no subscription left behind');
      assert.ok(
        sim.requests.some((r) => r.method === 'DELETE' && r.path === '/events/v4/subscriptions/nr-e2e.full'),
        'the DELETE reached Concur',
      );
    } finally {
      sim.setFaults({ latencyMs: 0 });
    }
  });

  describe('concur-ess-subscriptions node', () => {
    const ok = () => collector.received.filter((m) => m.path === '/ok').map((m) => m.body);
    const errs = () => collector.received.filter((m) => m.path === '/err').map((m) => m.body);
    function nodeFlows() {
      const okC = collectorNodes({ idPrefix: 'ok', z: TAB, url: collector.url, pathName: '/ok', fields: ['payload', 'subscriptionId', 'tag'] });
      const errC = collectorNodes({ idPrefix: 'err', z: TAB, url: collector.url, pathName: '/err', fields: ['concurError', 'tag'] });
      return [
        ...flows({ withReceiver: false }),
        { id: 'in', type: 'http in', z: TAB, url: '/subs', method: 'post', upload: false, swaggerDoc: '', wires: [['res', 'prep']], x: 100, y: 500 },
        { id: 'res', type: 'http response', z: TAB, statusCode: '200', headers: {}, wires: [], x: 300, y: 540 },
        {
          id: 'prep',
          type: 'function',
          z: TAB,
          func: 'const b = msg.payload; Object.assign(msg, b.msg || {}); msg.payload = b.payload; msg.tag = b.tag; return msg;',
          outputs: 1,
          wires: [['subs']],
          x: 300,
          y: 500,
        },
        {
          id: 'subs',
          type: 'concur-ess-subscriptions',
          z: TAB,
          name: '',
          server: 'cfg-app',
          operation: 'msg',
          subscriptionId: '',
          topic: 'public.concur.expense.report',
          filter: '.*',
          endpoint: webhook(),
          wires: [[okC.inputId]],
          x: 500,
          y: 500,
        },
        { id: 'catch', type: 'catch', z: TAB, scope: ['subs'], uncaught: false, wires: [[errC.inputId]], x: 500, y: 560 },
        ...okC.nodes,
        ...errC.nodes,
      ];
    }
    const send = (tag, msg, payload) =>
      request(`${red.url}/subs`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ tag, msg, payload }) });

    it("runs list / get / put / delete / topics from msg.operation, with node defaults and the API nodes' error shape", async () => {
      await red.deploy(nodeFlows());
      await send('put', { operation: 'put', subscriptionId: 'from-node' }, { filter: 'statusChanged' });
      await collector.waitFor(1, 10000, '/ok');
      assert.deepEqual(ok()[0].payload.subscription, {
        id: 'from-node',
        filter: 'statusChanged',
        topic: 'public.concur.expense.report',
        webHookConfig: { endpoint: webhook() },
      });
      assert.equal(sim.state.subscriptions.get('from-node').filter, 'statusChanged');
      await send('get', { operation: 'get' }, { id: 'from-node' });
      await send('missing', { operation: 'get', subscriptionId: 'not-there' });
      await send('topics', { operation: 'topics' });
      await collector.waitFor(4, 10000, '/ok');
      const byTag = Object.fromEntries(ok().map((m) => [m.tag, m]));
      assert.equal(byTag.get.payload.applicationId, sim.credentials.clientId);
      assert.equal(byTag.missing.payload, null);
      assert.ok(byTag.topics.payload.includes('public.concur.expense.report'));

      // A 503 is retried (GET is idempotent) and then answered.
      await sim.setFaults({ failNext: [{ count: 1, status: 503, pathPrefix: '/events/v4/subscriptions' }] });
      await send('list', { operation: 'list' });
      await collector.waitFor(5, 10000, '/ok');
      assert.deepEqual(
        ok()[4].payload.map((x) => x.id),
        ['from-node'],
      );
      assert.ok(
        sim.requests.some((r) => r.status === 503 && r.path === '/events/v4/subscriptions'),
        'the 503 was served, then retried',
      );

      await send('bad', { operation: 'put', subscriptionId: 'Not Valid' });
      await send('nope', { operation: 'rename' });
      await send('del', { operation: 'delete', subscriptionId: 'from-node' });
      await collector.waitFor(2, 10000, '/err');
      await collector.waitFor(6, 10000, '/ok');
      const e = Object.fromEntries(errs().map((m) => [m.tag, m.concurError]));
      assert.deepEqual([e.bad.code, e.bad.status], ['INVALID_INPUT', 0]);
      assert.match(e.nope.message, /msg\.operation must be one of list, get, put, delete, topics/);
      assert.ok(!sim.state.subscriptions.has('from-node'));
    });
  });

  describe('admin routes for the dialog panel', () => {
    const admin = (method, p, body) =>
      request(`${red.url}${p}`, { method, headers: body ? { 'Content-Type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined }).then(
        (r) => ({ ...r, json: JSON.parse(r.body) }),
      );

    it("lists, saves and deletes through the deployed connection, and marks the receiver's own", async () => {
      await red.deploy(flows({ withReceiver: false }));
      const saved = await admin('POST', '/concur-ess-event-in/subscriptions', {
        config: 'cfg-app',
        subscription: { id: 'panel-made', topic: 'public.concur.expense.report', filter: '.*', webHookConfig: { endpoint: webhook() } },
      });
      assert.equal(saved.status, 200, saved.body);
      assert.equal(saved.json.message, "Subscription 'panel-made' saved successfully");
      await admin('POST', '/concur-ess-event-in/subscriptions', {
        config: 'cfg-app',
        subscription: { id: 'someone-else', topic: 'public.concur.expense.report', webHookConfig: { endpoint: 'https://elsewhere.example.com/hook' } },
      });
      const list = await admin('GET', `/concur-ess-event-in/subscriptions?config=cfg-app&endpoint=${encodeURIComponent(webhook() + '/')}`);
      assert.equal(list.status, 200, list.body);
      const byId = Object.fromEntries(list.json.subscriptions.map((s) => [s.id, s]));
      assert.equal(byId['panel-made'].matches, true);
      assert.equal(byId['someone-else'].matches, false);
      assert.equal(byId['panel-made'].state, 'active');
      assert.deepEqual(byId['panel-made'].companyIds, [sim.credentials.companyId]);
      assert.ok(list.json.topics.includes('public.concur.expense.report'));
      const del = await admin('DELETE', '/concur-ess-event-in/subscriptions/someone-else?config=cfg-app');
      assert.equal(del.status, 200);
      assert.equal(del.json.message, "Subscription 'someone-else' marked for deletion");
      assert.deepEqual([...sim.state.subscriptions.keys()], ['panel-made']);
      await admin('DELETE', '/concur-ess-event-in/subscriptions/panel-made?config=cfg-app');
    });

    it('answers clear errors: undeployed connection, bad input, Concur refusals', async () => {
      const nd = await admin('GET', '/concur-ess-event-in/subscriptions?config=not-deployed');
      assert.equal(nd.status, 409);
      assert.match(nd.json.error, /deploy the connection first/);
      const quiet = await admin('GET', '/concur-ess-event-in/subscriptions?config=not-deployed&quiet=1');
      assert.deepEqual([quiet.status, quiet.json.code], [200, 'NOT_DEPLOYED']);
      const bad = await admin('POST', '/concur-ess-event-in/subscriptions', {
        config: 'cfg-app',
        subscription: { id: 'Bad Id', topic: 't', webHookConfig: { endpoint: webhook() } },
      });
      assert.equal(bad.status, 400);
      assert.match(bad.json.error, /lowercase/);
      const forbidden = await admin('POST', '/concur-ess-event-in/subscriptions', {
        config: 'cfg-app',
        subscription: { id: 'x1', topic: 'public.secret', webHookConfig: { endpoint: webhook() } },
      });
      assert.equal(forbidden.status, 502);
      assert.equal(forbidden.json.status, 403);
      assert.match(forbidden.json.error, /no access to topic public\.secret/);
      const missing = await admin('DELETE', '/concur-ess-event-in/subscriptions/not-there?config=cfg-app');
      assert.equal(missing.json.status, 404);
    });
  });
});
