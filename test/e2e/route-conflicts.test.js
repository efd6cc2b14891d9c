'use strict';
/**
 * Two nodes on one HTTP path: registerRoute (src/nodes/shared/http-routes) refuses a
 * path + method another live route already serves, so the second receiver shows
 * a red status and logs a node error while the first keeps working. Unit tests
 * on a real express app, then both receivers in a real Node-RED (ESS + ESS,
 * legacy + ESS in both orders, a core http in node first, release on removal).
 */
const assert = require('node:assert/strict');
const http = require('node:http');
const express = require('express');
const { registerRoute, RouteConflictError } = require('../../dist/nodes/shared/http-routes');
const { startRed, request } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');
const { startCollector, collectorNodes } = require('../helpers/collector');
const { testKeyPair, essEvent, signedDelivery } = require('../helpers/ess-signer');
const { forwarder, essNode } = require('../helpers/ess-flows');

describe('registerRoute: one owner per path and method', () => {
  const noop = (req, res) => res.end('x');
  const onError = () => undefined;

  it('refuses an overlapping claim with a RouteConflictError naming the owner; remove() frees it', () => {
    const RED = { httpNode: express() };
    const a = registerRoute(RED, { methods: ['POST'], path: '/p', owner: { id: 'first' }, allMethods: true }, noop, onError);
    assert.throws(
      () => registerRoute(RED, { methods: ['POST'], path: '/p/', owner: { id: 'second' } }, noop, onError),
      (err) => err instanceof RouteConflictError && err.ownerId === 'first' && /POST \/p is already served by node first/.test(err.message),
    );
    assert.throws(() => registerRoute(RED, { methods: ['GET'], path: '//p' }, noop, onError), RouteConflictError, 'every method is claimed');
    a.remove();
    registerRoute(RED, { methods: ['POST'], path: '/p', owner: { id: 'second' } }, noop, onError).remove();
  });

  it('lets different methods share a path, but not with an all-methods route', () => {
    const RED = { httpNode: express() };
    const get = registerRoute(RED, { methods: ['GET'], path: '/q' }, noop, onError);
    const post = registerRoute(RED, { methods: ['POST'], path: '/q' }, noop, onError);
    assert.throws(() => registerRoute(RED, { methods: ['PUT'], path: '/q', allMethods: true }, noop, onError), /is already served by another route/);
    get.remove();
    post.remove();
    registerRoute(RED, { methods: ['PUT'], path: '/q', allMethods: true }, noop, onError).remove();
  });

  it('sees routes registered on the app directly (e.g. a core http in node)', async () => {
    const app = express();
    app.post('/core', (req, res) => res.end('core'));
    const RED = { httpNode: app };
    assert.throws(
      () => registerRoute(RED, { methods: ['POST'], path: '/core', allMethods: true, owner: { id: 'mine' } }, noop, onError),
      /every method \/core is already served by another route|POST \/core is already served by another route/,
    );
    const ours = registerRoute(RED, { methods: ['GET'], path: '/core' }, noop, onError); // GET is free
    // The refused registration left nothing behind: the core route still answers.
    const server = http.createServer(app);
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    try {
      const r = await request(`http://127.0.0.1:${server.address().port}/core`, { method: 'POST', body: 'x' });
      assert.equal(r.body, 'core');
    } finally {
      ours.remove();
      await new Promise((r) => server.close(r));
    }
  });
});

describe('receivers on a path another node already serves (real Node-RED)', function () {
  this.timeout(120000);
  const TAB = 'tab-routes';
  const USER = 'concur-connector-user';
  const PASS = 'Pa55word:for-concur!';
  const AUTH = 'Basic ' + Buffer.from(`${USER}:${PASS}`).toString('base64');
  const XML =
    '<Notification><EventType>Report Entered Expense Report Workflow Step - EXTERNAL VALIDATION - SUBMIT</EventType><ObjectType>EXPRPT</ObjectType><ObjectURI>https://www.concursolutions.com/api/expense/expensereport/v1.1/reportfulldetails/K1</ObjectURI><EventDateTime>2012-05-01</EventDateTime></Notification>';
  const key = testKeyPair('routes');
  let red;
  let collector;

  before(async () => {
    collector = await startCollector();
    red = await startRed();
  });
  after(() => teardown({ red, collector }));
  beforeEach(() => collector.clear());

  const legacy = (id, path) => ({
    id,
    type: 'concur-legacy-notify-in',
    z: TAB,
    name: '',
    path,
    ackMode: 'receipt',
    ackTimeout: 25,
    maxBodyKiB: 1024,
    testConnection: false,
    credentials: { username: USER, password: PASS },
    wires: [['fwd-fn']],
    x: 100,
    y: 100,
  });
  const ess = (id, path) => essNode({ id, z: TAB, path, extraKeys: key.publicPem, storeName: id, wires: [['fwd-fn']] });
  function flows(receivers) {
    const st = collectorNodes({ idPrefix: 'st', z: TAB, url: collector.url, pathName: '/status', fields: ['status'] });
    return [
      { id: TAB, type: 'tab', label: 'routes' },
      ...receivers,
      ...forwarder({ id: 'fwd', z: TAB, url: collector.url, pathName: '/msg', fields: ['payload'] }),
      { id: 'status-watch', type: 'status', z: TAB, name: '', scope: null, wires: [[st.inputId]], x: 100, y: 300 },
      ...st.nodes,
    ];
  }
  const statusesOf = (id) => collector.received.filter((m) => m.path === '/status' && m.body.status.source.id === id).map((m) => m.body.status);
  async function waitStatus(id, re, ms = 5000) {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      const hit = statusesOf(id).find((s) => re.test(s.text || ''));
      if (hit) return hit;
      await collector.settle(50);
    }
    assert.fail(`no status of ${id} matching ${re}: ${JSON.stringify(statusesOf(id))}`);
  }
  const postEss = (path, ev = essEvent()) => {
    const d = signedDelivery(ev, { privateKey: key.privateKey });
    return request(`${red.url}${path}`, { method: 'POST', headers: d.headers, body: d.body });
  };
  const postLegacy = (path) => request(`${red.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/xml', Authorization: AUTH }, body: XML });
  const logSince = (from) => red.log().slice(from);

  it('ESS + ESS: the second is refused (red status, node error); the first keeps receiving', async () => {
    const from = red.log().length;
    await red.deploy(flows([ess('essA', '/shared/ess'), ess('essB', '/shared/ess')]));
    const st = await waitStatus('essB', /used by another node/);
    assert.deepEqual([st.fill, st.shape], ['red', 'ring']);
    assert.match(logSince(from), /\[concur-ess-event-in:essB\] cannot listen on \/shared\/ess: every method \/shared\/ess is already served by node essA/);
    const ev = essEvent();
    assert.equal((await postEss('/shared/ess', ev)).status, 200);
    const [m] = await collector.waitFor(1, 10000, '/msg');
    assert.equal(m.body.payload.id, ev.id);
    assert.ok(!statusesOf('essA').some((s) => s.fill === 'red'), 'the first is healthy');
  });

  it('legacy first, ESS second on one path: ESS is refused, legacy keeps answering', async () => {
    await red.deploy(flows([legacy('leg', '/shared/both'), ess('essC', '/shared/both')]));
    await waitStatus('essC', /path \/shared\/both used by another node/);
    assert.equal((await postLegacy('/shared/both')).status, 200);
    const [m] = await collector.waitFor(1, 10000, '/msg');
    assert.equal(m.body.payload.objectType, 'EXPRPT');
  });

  it('ESS first, legacy second on one path: legacy is refused, ESS keeps receiving', async () => {
    const from = red.log().length;
    await red.deploy(flows([ess('essD', '/shared/both2'), legacy('leg2', '/shared/both2')]));
    const st = await waitStatus('leg2', /path \/shared\/both2 used by another node/);
    assert.deepEqual([st.fill, st.shape], ['red', 'ring']);
    assert.match(logSince(from), /\[concur-legacy-notify-in:leg2\] cannot listen on \/shared\/both2: .*already served by node essD/);
    assert.equal((await postEss('/shared/both2')).status, 200);
    await collector.waitFor(1, 10000, '/msg');
    // The legacy receiver never saw the request: an ESS body without Basic auth would have been a 401.
    assert.equal((await postLegacy('/shared/both2')).status, 401, 'answered by the ESS receiver (signature check), not the legacy one');
  });

  it('a core http in node on the path first: the receiver is refused instead of never being called', async () => {
    await red.deploy(
      flows([
        {
          id: 'core-in',
          type: 'http in',
          z: TAB,
          name: '',
          url: '/shared/core',
          method: 'post',
          upload: false,
          swaggerDoc: '',
          wires: [['core-out']],
          x: 100,
          y: 500,
        },
        { id: 'core-out', type: 'http response', z: TAB, name: '', statusCode: '202', headers: {}, wires: [], x: 300, y: 500 },
        ess('essE', '/shared/core'),
      ]),
    );
    await waitStatus('essE', /used by another node/);
    assert.equal((await postEss('/shared/core')).status, 202, 'the core flow answers');
  });

  it('a path that is not literal is refused by registerRoute for the ESS receiver too (red status, node error, no route)', async () => {
    const from = red.log().length;
    await red.deploy(flows([ess('essBad', '/shared/:tenant')]));
    const st = await waitStatus('essBad', /cannot register \/shared\/:tenant: invalid path/);
    assert.deepEqual([st.fill, st.shape], ['red', 'ring']);
    assert.match(logSince(from), /\[concur-ess-event-in:essBad\] cannot listen on \/shared\/:tenant: invalid path "\/shared\/:tenant"/);
    assert.equal((await postEss('/shared/acme')).status, 404, 'no pattern route was registered');
  });

  it('paths that differ only in case are one route (Express routes them alike): the second node is refused', async () => {
    await red.deploy(flows([ess('essLow', '/shared/case'), legacy('legUp', '/Shared/CASE')]));
    const st = await waitStatus('legUp', /used by another node/);
    assert.deepEqual([st.fill, st.shape], ['red', 'ring']);
    assert.equal((await postEss('/SHARED/Case')).status, 200, 'the ESS receiver answers, with the raw body captured');
    await collector.waitFor(1, 10000, '/msg');
  });

  it('removing the owner frees the path: the refused node works after the next deploy', async () => {
    await red.deploy(flows([ess('essB', '/shared/ess')]));
    await waitStatus('essB', /\/shared\/ess · 0 ok/);
    assert.equal((await postEss('/shared/ess')).status, 200);
    await collector.waitFor(1, 10000, '/msg');
    // And a redeploy of the same node does not trip over its own earlier claim.
    await red.deploy(flows([ess('essB', '/shared/ess'), { id: 'c1', type: 'comment', z: TAB, name: 'rev', wires: [] }]));
    assert.equal((await postEss('/shared/ess')).status, 200);
    assert.doesNotMatch(red.log(), /cannot listen on \/shared\/ess: .* by node essB/);
  });
});
