'use strict';
/**
 * End to end: concur-notifications (Notification API v1.0) in a real Node-RED
 * against the fake Concur API: list failed (JSON, XML, 406 → XML), emit each
 * in concur-legacy-notify-in's shape, replay through get-report-details, and delete.
 */
const assert = require('node:assert/strict');
const { startRed, request } = require('./helpers/red-runtime');
const { startCollector, collectorNodes } = require('./helpers/collector');
const { startFakeConcur } = require('./helpers/fake-concur');
const { notificationFields } = require('../concur/notification-fields');

const Z = 'tab-n';

describe('concur-notifications in a real Node-RED against a fake Concur', function () {
  this.timeout(60000);
  let red;
  let collector;
  let fake;

  function flows() {
    const ok = collectorNodes({ idPrefix: 'ok', z: Z, url: collector.url, pathName: '/ok', fields: ['tag', 'payload', 'topic', 'notificationURI', 'concur', 'skipped', 'reportKey'] });
    const err = collectorNodes({ idPrefix: 'err', z: Z, url: collector.url, pathName: '/err', fields: ['tag', 'concurError', 'notificationURI'] });
    const trig = (name, next) => [
      { id: `in-${name}`, type: 'http in', z: Z, url: `/t/${name}`, method: 'post', upload: false, swaggerDoc: '', wires: [[`res-${name}`, `prep-${name}`]] },
      { id: `res-${name}`, type: 'http response', z: Z, statusCode: '200', headers: {}, wires: [] },
      { id: `prep-${name}`, type: 'function', z: Z, func: 'const b = msg.payload || {};\nObject.assign(msg, b.msg || {});\nmsg.payload = b.payload;\nmsg.tag = b.tag;\nreturn msg;', outputs: 1, wires: [[next]] },
    ];
    const nodes = [
      { id: Z, type: 'tab', label: 'notifications' },
      {
        id: 'cfg',
        type: 'concur-config',
        geolocation: 'custom',
        baseUrl: fake.url,
        grantType: 'client_credentials',
        retries: 2,
        retryDelay: 5,
        retryMaxDelay: 10,
        credentials: { clientId: fake.cfg.clientId, clientSecret: fake.cfg.clientSecret },
      },
      ...trig('list', 'list'),
      { id: 'list', type: 'concur-notifications', z: Z, server: 'cfg', operation: 'list-failed', statusValue: 'failed', emitEach: false, wires: [[ok.inputId]] },
      ...trig('list-upper', 'list-upper'),
      { id: 'list-upper', type: 'concur-notifications', z: Z, server: 'cfg', operation: 'list-failed', statusValue: 'FAILED', emitEach: false, wires: [[ok.inputId]] },
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
    const r = await request(`${red.url}/t/${name}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ tag: name, ...body }) });
    assert.equal(r.status, 200, r.body);
  }

  before(async () => {
    fake = await startFakeConcur();
    collector = await startCollector();
    red = await startRed();
    await red.deploy(flows());
  });
  beforeEach(() => {
    fake.state.notifications.length = 0;
    fake.cfg.notificationsFormat = 'json';
  });
  after(async () => {
    if (red) {
      await red.stop();
      red.cleanup();
    }
    if (collector) await collector.close();
    if (fake) await fake.close();
  });

  const expected = (n) => ({ eventType: n.EventType, objectType: n.ObjectType, objectURI: n.ObjectURI, eventDateTime: n.EventDateTime, context: n.Context, notificationURI: n.NotificationURI });

  for (const format of ['json', 'xml', 'xml-only']) {
    it(`list-failed → one array (${format === 'xml-only' ? '406 on JSON, then XML' : format} answer)`, async () => {
      fake.cfg.notificationsFormat = format;
      const a = fake.addFailedNotification('N1', 'KEY$R1');
      const b = fake.addFailedNotification('N2', 'K2', 'Report Entered Expense Report Workflow Step - Pre-Extract', { Context: 'ctx <1>' });
      await fire('list');
      const [m] = await collector.waitFor(1, 10000, '/ok');
      assert.deepEqual(m.body.payload, [expected(a), expected(b)]);
      const gets = fake.requestsTo(/notification$/).slice(format === 'xml-only' ? -2 : -1);
      assert.equal(gets[0].query, '?status=failed');
      assert.match(gets[0].headers.accept, /^application\/json/);
      if (format === 'xml-only') assert.equal(gets[1].headers.accept, 'application/xml');
    });
  }

  it('the status value is configurable (the docs\' example uses FAILED) and an empty list is []', async () => {
    await fire('list-upper');
    const [m] = await collector.waitFor(1, 10000, '/ok');
    assert.deepEqual(m.body.payload, []);
    assert.equal(fake.state.requests.at(-1).query, '?status=FAILED');
  });

  it('unusable entries are skipped with a warning and reported in msg.skipped', async () => {
    fake.addFailedNotification('N1', 'K1');
    fake.state.notifications.push({ EventType: 'x', ObjectType: 'EXPRPT' });
    await fire('list');
    const [m] = await collector.waitFor(1, 10000, '/ok');
    assert.equal(m.body.payload.length, 1);
    assert.deepEqual(m.body.skipped, [{ index: 1, reason: 'no NotificationURI' }]);
    assert.match(red.log(), /ignored 1 unusable notification\(s\) \(left on Concur\): #1 no NotificationURI/);
  });

  it('emit each: one message per notification, shaped like concur-legacy-notify-in output', async () => {
    fake.cfg.notificationsFormat = 'xml';
    const a = fake.addFailedNotification('N1', 'KEY$R1');
    const b = fake.addFailedNotification('N2', 'K2', 'Some Other Event');
    await fire('each');
    const got = await collector.waitFor(2, 10000, '/ok');
    assert.equal((await collector.settle(200)).length, 2);
    for (const [m, n] of [[got[0], a], [got[1], b]]) {
      const shape = notificationFields({ eventType: n.EventType, objectType: n.ObjectType, objectURI: n.ObjectURI, eventDateTime: n.EventDateTime, context: n.Context });
      assert.deepEqual(m.body.payload, JSON.parse(JSON.stringify(shape)));
      assert.equal(m.body.topic, 'EXPRPT');
      assert.equal(m.body.notificationURI, n.NotificationURI);
      assert.equal(m.body.concur.source, 'notification-replay');
    }
    assert.equal(got[0].body.payload.workflowStep, 'Pending External Validation');
    assert.equal(got[0].body.payload.reportKey, 'KEY$R1');
  });

  it('replays failed notifications through get-report-details and deletes each one', async () => {
    fake.addFailedNotification('N1', 'KEY$R1');
    fake.addFailedNotification('N2', 'KEY$R1');
    await fire('replay');
    const got = await collector.waitFor(2, 10000, '/ok');
    assert.deepEqual(got.map((m) => m.body.payload.deleted), [true, true]);
    assert.deepEqual(got.map((m) => m.body.reportKey), ['KEY$R1', 'KEY$R1']);
    assert.equal(fake.state.notifications.length, 0, 'both deleted at the fake');
    const dels = fake.state.requests.filter((r) => r.method === 'DELETE').slice(-2).map((r) => r.path);
    assert.deepEqual(dels, ['/api/platform/notifications/v1.0/notification/N1', '/api/platform/notifications/v1.0/notification/N2'], 'www.concursolutions.com rewritten to the geolocation');
  });

  it('delete: bad or missing notificationURI → Catch node error, nothing sent; Concur errors are reported', async () => {
    const before = fake.state.requests.filter((r) => r.method === 'DELETE').length;
    await fire('delete', { msg: {} });
    let [e] = await collector.waitFor(1, 10000, '/err');
    assert.equal(e.body.concurError.code, 'INVALID_INPUT');
    await fire('delete', { msg: { notificationURI: `${fake.url}/expensereports/v4/reports/R1/exceptions` } });
    [e] = await collector.waitFor(1, 10000, '/err');
    assert.match(e.body.concurError.message, /not a Notification v1.0 resource/);
    assert.equal(fake.state.requests.filter((r) => r.method === 'DELETE').length, before);
    await fire('delete', { msg: { notificationURI: 'https://www.concursolutions.com/api/platform/notifications/v1.0/notification/GONE' } });
    [e] = await collector.waitFor(1, 10000, '/err');
    assert.equal(e.body.concurError.status, 400);
    assert.match(e.body.concurError.message, /Notification not found/);
  });
});
