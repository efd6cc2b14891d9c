'use strict';
/**
 * End to end: concur-notifications (Notification API v1.0) in a real Node-RED
 * against the SAP Concur simulator: list failed (JSON, XML, 406 → XML), emit each
 * in concur-legacy-notify-in's shape, replay through get-report-details, and delete.
 * The simulator prints the notifications' URIs on www.concursolutions.com, as
 * Concur does, so every follow-up call also proves the host rewrite.
 */
const assert = require('node:assert/strict');
const { startRed, request } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');
const { startCollector, collectorNodes } = require('../helpers/collector');
const { startSimulator } = require('../../dist/simulator/index.js');
const { requestsTo } = require('../helpers/simulator-client');
const { notificationFields } = require('../../dist/concur/notification-fields');

const Z = 'tab-n';
const WWW = 'https://www.concursolutions.com';
const R1 = 'CB899F7D9F73420A8D8B';
const R2 = '4D2E8A61B0C94F7FA311';
const PENDING_EXTVAL = 'Report Entered Expense Report Workflow Step - Pending External Validation';
/** simulator answer setting for each case: JSON by Accept, XML whatever is asked, 406 to JSON then XML. */
const FORMATS = { json: 'negotiate', xml: 'xml', 'xml-only': 'xml-406' };

describe('concur-notifications in a real Node-RED against the Concur simulator', function () {
  this.timeout(60000);
  let red;
  let collector;
  let sim;

  function flows() {
    const ok = collectorNodes({
      idPrefix: 'ok',
      z: Z,
      url: collector.url,
      pathName: '/ok',
      fields: ['tag', 'payload', 'topic', 'notificationURI', 'concur', 'skipped', 'reportKey'],
    });
    const err = collectorNodes({ idPrefix: 'err', z: Z, url: collector.url, pathName: '/err', fields: ['tag', 'concurError', 'notificationURI'] });
    const trig = (name, next) => [
      { id: `in-${name}`, type: 'http in', z: Z, url: `/t/${name}`, method: 'post', upload: false, swaggerDoc: '', wires: [[`res-${name}`, `prep-${name}`]] },
      { id: `res-${name}`, type: 'http response', z: Z, statusCode: '200', headers: {}, wires: [] },
      {
        id: `prep-${name}`,
        type: 'function',
        z: Z,
        func: 'const b = msg.payload || {};\nObject.assign(msg, b.msg || {});\nmsg.payload = b.payload;\nmsg.tag = b.tag;\nreturn msg;',
        outputs: 1,
        wires: [[next]],
      },
    ];
    const nodes = [
      { id: Z, type: 'tab', label: 'notifications' },
      {
        id: 'cfg',
        type: 'concur-config',
        geolocation: 'custom',
        baseUrl: sim.url,
        grantType: 'client_credentials',
        retries: 2,
        retryDelay: 5,
        retryMaxDelay: 10,
        credentials: { clientId: sim.credentials.clientId, clientSecret: sim.credentials.clientSecret },
      },
      ...trig('list', 'list'),
      {
        id: 'list',
        type: 'concur-notifications',
        z: Z,
        server: 'cfg',
        operation: 'list-failed',
        statusValue: 'failed',
        emitEach: false,
        wires: [[ok.inputId]],
      },
      ...trig('list-upper', 'list-upper'),
      {
        id: 'list-upper',
        type: 'concur-notifications',
        z: Z,
        server: 'cfg',
        operation: 'list-failed',
        statusValue: 'FAILED',
        emitEach: false,
        wires: [[ok.inputId]],
      },
      ...trig('each', 'each'),
      { id: 'each', type: 'concur-notifications', z: Z, server: 'cfg', operation: 'list-failed', statusValue: 'failed', emitEach: true, wires: [[ok.inputId]] },
      // Replay: each failed notification → fetch the report it names → delete it.
      ...trig('replay', 'r-list'),
      { id: 'r-list', type: 'concur-notifications', z: Z, server: 'cfg', operation: 'list-failed', emitEach: true, wires: [['r-get']] },
      { id: 'r-get', type: 'concur-get-report-details', z: Z, server: 'cfg', version: 'v4', wires: [['r-del']] },
      { id: 'r-del', type: 'concur-notifications', z: Z, server: 'cfg', operation: 'delete', wires: [[ok.inputId]] },
      ...trig('delete', 'delete'),
      { id: 'delete', type: 'concur-notifications', z: Z, server: 'cfg', operation: 'delete', wires: [[ok.inputId]] },
      { id: 'catch-all', type: 'catch', z: Z, scope: null, uncaught: false, wires: [[err.inputId]] },
      ...ok.nodes,
      ...err.nodes,
    ];
    return nodes.map((n, i) => (n.z && n.x === undefined ? { x: 100 + (i % 5) * 150, y: 40 + Math.floor(i / 5) * 40, ...n } : n));
  }

  async function fire(name, body) {
    collector.clear();
    const r = await request(`${red.url}/t/${name}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ tag: name, ...body }),
    });
    assert.equal(r.status, 200, r.body);
  }

  before(async () => {
    sim = await startSimulator({ port: 0, deliverEvents: false });
    collector = await startCollector();
    red = await startRed();
    await red.deploy(flows());
  });
  beforeEach(() => {
    sim.state.reset();
    sim.state.notifications.length = 0; // no seeded failures: each test queues its own
    sim.resetFaults();
  });
  after(() => teardown({ red, collector, sim }));

  const keyOf = (id) => sim.state.reportById(id).reportKey;
  /**
   * Queues a failed notification at the simulator; returns the entry as Concur lists it (independently spelt out here).
   * @param {string} id
   * @param {string} reportKey
   * @param {string} [eventType]
   * @param {{ context?: string | null, omitFields?: string[] }} [opts]
   */
  function addFailed(id, reportKey, eventType = PENDING_EXTVAL, { context = null, omitFields } = {}) {
    const eventDateTime = '2026-11-20T10:00:00';
    sim.state.addFailedNotification({ id, eventType, objectType: 'EXPRPT', reportKey, eventDateTime, context, uriBase: WWW, omitFields });
    return {
      Context: context,
      EventDateTime: eventDateTime,
      EventType: eventType,
      NotificationURI: `${WWW}/api/platform/notifications/v1.0/notification/${id}`,
      ObjectType: 'EXPRPT',
      ObjectURI: `${WWW}/api/expense/expensereport/v1.1/reportfulldetails/${reportKey}`,
    };
  }
  const expected = (n) => ({
    eventType: n.EventType,
    objectType: n.ObjectType,
    objectURI: n.ObjectURI,
    eventDateTime: n.EventDateTime,
    context: n.Context,
    notificationURI: n.NotificationURI,
  });

  for (const format of ['json', 'xml', 'xml-only']) {
    it(`list-failed → one array (${format === 'xml-only' ? '406 on JSON, then XML' : format} answer)`, async () => {
      sim.setFaults({ notificationListFormat: FORMATS[format] });
      const a = addFailed('N1', keyOf(R1));
      const b = addFailed('N2', keyOf(R2), 'Report Entered Expense Report Workflow Step - Pre-Extract', { context: 'ctx <1>' });
      const n = requestsTo(sim, /notification$/).length;
      await fire('list');
      const [m] = await collector.waitFor(1, 10000, '/ok');
      assert.deepEqual(m.body.payload, [expected(a), expected(b)]);
      const gets = requestsTo(sim, /notification$/).slice(n);
      assert.deepEqual(
        gets.map((g) => g.status),
        format === 'xml-only' ? [406, 200] : [200],
      );
      assert.equal(gets[0].query, 'status=failed');
      assert.match(gets[0].accept, /^application\/json/);
      if (format === 'xml-only') assert.equal(gets[1].accept, 'application/xml');
    });
  }

  it("the status value is configurable (the docs' example uses FAILED) and an empty list is []", async () => {
    await fire('list-upper');
    const [m] = await collector.waitFor(1, 10000, '/ok');
    assert.deepEqual(m.body.payload, []);
    assert.equal(sim.requests.at(-1).query, 'status=FAILED');
  });

  it('unusable entries are skipped with a warning and reported in msg.skipped', async () => {
    addFailed('N1', keyOf(R1));
    addFailed('N9', keyOf(R2), 'x', { omitFields: ['Context', 'EventDateTime', 'NotificationURI', 'ObjectURI'] }); // only EventType and ObjectType
    await fire('list');
    const [m] = await collector.waitFor(1, 10000, '/ok');
    assert.equal(m.body.payload.length, 1);
    assert.deepEqual(m.body.skipped, [{ index: 1, reason: 'no NotificationURI' }]);
    assert.match(red.log(), /ignored 1 unusable notification\(s\) \(left on Concur\): #1 no NotificationURI/);
  });

  it('emit each: one message per notification, shaped like concur-legacy-notify-in output', async () => {
    sim.setFaults({ notificationListFormat: 'xml' });
    const a = addFailed('N1', keyOf(R1));
    const b = addFailed('N2', keyOf(R2), 'Some Other Event');
    await fire('each');
    const got = await collector.waitFor(2, 10000, '/ok');
    assert.equal((await collector.settle(200)).length, 2);
    for (const [m, n] of [
      [got[0], a],
      [got[1], b],
    ]) {
      const shape = notificationFields({
        eventType: n.EventType,
        objectType: n.ObjectType,
        objectURI: n.ObjectURI,
        eventDateTime: n.EventDateTime,
        context: n.Context,
      });
      assert.deepEqual(m.body.payload, JSON.parse(JSON.stringify(shape)));
      assert.equal(m.body.topic, 'EXPRPT');
      assert.equal(m.body.notificationURI, n.NotificationURI);
      assert.equal(m.body.concur.source, 'notification-replay');
    }
    assert.equal(got[0].body.payload.workflowStep, 'Pending External Validation');
    assert.equal(got[0].body.payload.reportKey, keyOf(R1));
  });

  it('replays failed notifications through get-report-details and deletes each one', async () => {
    addFailed('N1', keyOf(R1));
    addFailed('N2', keyOf(R1));
    const n = sim.requests.length;
    await fire('replay');
    const got = await collector.waitFor(2, 10000, '/ok');
    assert.deepEqual(
      got.map((m) => m.body.payload.deleted),
      [true, true],
    );
    assert.deepEqual(
      got.map((m) => m.body.reportKey),
      [keyOf(R1), keyOf(R1)],
    );
    assert.equal(sim.state.notifications.length, 0, 'both deleted at the simulator');
    const calls = sim.requests.slice(n).filter((r) => !r.path.startsWith('/oauth2/'));
    const fetched = calls.filter((r) => r.method === 'GET' && r.path.includes('/reportfulldetails/'));
    assert.deepEqual(
      fetched.map((r) => [r.path, r.status]),
      [1, 2].map(() => [`/api/expense/expensereport/v1.1/reportfulldetails/${keyOf(R1)}`, 200]),
      'ObjectURI fetched from the geolocation',
    );
    const dels = calls.filter((r) => r.method === 'DELETE').map((r) => r.path);
    assert.deepEqual(
      dels,
      ['/api/platform/notifications/v1.0/notification/N1', '/api/platform/notifications/v1.0/notification/N2'],
      'www.concursolutions.com rewritten to the geolocation',
    );
  });

  it('delete: bad or missing notificationURI → Catch node error, nothing sent; Concur errors are reported', async () => {
    const before = sim.requests.filter((r) => r.method === 'DELETE').length;
    await fire('delete', { msg: {} });
    let [e] = await collector.waitFor(1, 10000, '/err');
    assert.equal(e.body.concurError.code, 'INVALID_INPUT');
    await fire('delete', { msg: { notificationURI: `${sim.url}/expensereports/v4/reports/${R1}/exceptions` } });
    [e] = await collector.waitFor(1, 10000, '/err');
    assert.match(e.body.concurError.message, /not a Notification v1.0 resource/);
    assert.equal(sim.requests.filter((r) => r.method === 'DELETE').length, before);
    await fire('delete', { msg: { notificationURI: 'https://www.concursolutions.com/api/platform/notifications/v1.0/notification/GONE' } });
    [e] = await collector.waitFor(1, 10000, '/err');
    assert.equal(e.body.concurError.status, 404);
    assert.match(e.body.concurError.message, /notification GONE was not found/);
    assert.deepEqual([sim.requests.at(-1).method, sim.requests.at(-1).path], ['DELETE', '/api/platform/notifications/v1.0/notification/GONE']);
  });
});
