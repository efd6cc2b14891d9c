'use strict';
/**
 * End to end: concur-config + concur-get-report-details / concur-post-exceptions /
 * concur-workflow-action in a real Node-RED (startRed), calling the SAP Concur
 * simulator (src/simulator) on loopback. Messages are triggered over HTTP and
 * observed through the collector; errors through a Catch node. Assertions look
 * at the simulator's state (exceptions, workflow comments, statuses) and its
 * request log (paths, statuses, correlation ids, token grants).
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startRed, request } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');
const { startCollector, collectorNodes } = require('../helpers/collector');
const { startSimulator } = require('../../dist/simulator/index.js');
const { tokenRequest, clientFields, failNext, requestsTo, apiRequests, fingerprint } = require('../helpers/simulator-client');

const Z = 'tab-api';
const OK_FIELDS = ['tag', 'payload', 'report', 'reportXml', 'reportId', 'reportKey', 'userId', 'workflowActionUrl', 'concur'];
const ERR_FIELDS = ['tag', 'payload', 'concurError', 'error'];
/** A refresh token the simulator accepts from the start: the one configured in the connection. */
const REFRESH = 'configured-refresh-token-ORIGINAL';
// Seeded simulator tenant (src/simulator/seed-data.ts).
const R1 = 'CB899F7D9F73420A8D8B'; // at EXTVAL (last step), owner Jane
const R3 = '9F1C3B7E22D84A6B9C05'; // at MANAGER, owner Jane
const JANE = 'e1a0b7c4-5d2f-4c8a-9b1e-3f6d2a8c7e10';
const SAM = '7c3e9f12-a4b6-4d8e-8f0a-1b2c3d4e5f60'; // the manager
const R1_GET = new RegExp(`/reports/${R1}$`);

describe('API nodes in a real Node-RED against the Concur simulator', function () {
  this.timeout(90000);
  let red;
  let collector;
  let sim;

  /** http in /t/<name> → (answer 200) + (msg.* from the JSON body) → node(s) → collector /ok; Catch → /err. */
  function trigger(name, firstNodeId) {
    return [
      { id: `in-${name}`, type: 'http in', z: Z, url: `/t/${name}`, method: 'post', upload: false, swaggerDoc: '', wires: [[`res-${name}`, `prep-${name}`]] },
      { id: `res-${name}`, type: 'http response', z: Z, statusCode: '200', headers: {}, wires: [] },
      {
        id: `prep-${name}`,
        type: 'function',
        z: Z,
        func: 'const b = msg.payload || {};\nObject.assign(msg, b.msg || {});\nmsg.payload = b.payload;\nmsg.tag = b.tag;\nreturn msg;',
        outputs: 1,
        wires: [[firstNodeId]],
      },
    ];
  }

  /** Node-RED treats a node without x/y as a config node: place every flow node. */
  function placed(nodes) {
    return nodes.map((n, i) => (n.z && n.x === undefined ? { x: 100 + (i % 5) * 150, y: 40 + Math.floor(i / 5) * 40, ...n } : n));
  }

  function flows() {
    return placed(rawFlows());
  }

  function rawFlows() {
    const ok = collectorNodes({ idPrefix: 'ok', z: Z, url: collector.url, pathName: '/ok', fields: OK_FIELDS });
    const err = collectorNodes({ idPrefix: 'err', z: Z, url: collector.url, pathName: '/err', fields: ERR_FIELDS });
    const st = collectorNodes({ idPrefix: 'st', z: Z, url: collector.url, pathName: '/status', fields: ['status'] });
    const cfgCommon = {
      geolocation: 'custom',
      baseUrl: sim.url,
      tokenEndpoint: 'api',
      followGeolocation: true,
      timeout: 10,
      retries: 3,
      retryDelay: 5,
      retryMaxDelay: 20,
      expirySkew: 60,
    };
    const c = sim.credentials;
    const node = (id, type, extra, next = ok.inputId) => ({ id, type, z: Z, server: 'cfg', wires: [[next]], ...extra });
    return [
      { id: Z, type: 'tab', label: 'api' },
      {
        id: 'cfg',
        type: 'concur-config',
        name: 'simulator',
        ...cfgCommon,
        grantType: 'refresh_token',
        credentials: { clientId: c.clientId, clientSecret: c.clientSecret, refreshToken: REFRESH },
      },
      {
        id: 'cfg2',
        type: 'concur-config',
        name: 'company',
        ...cfgCommon,
        grantType: 'password',
        credtype: 'authtoken',
        credentials: { clientId: c.clientId, clientSecret: c.clientSecret, username: c.companyId, password: c.companyRequestToken },
      },
      ...trigger('get-v4', 'get-v4'),
      node('get-v4', 'concur-get-report-details', { version: 'v4', context: 'TRAVELER' }),
      ...trigger('get-v3', 'get-v3'),
      node('get-v3', 'concur-get-report-details', { version: 'v3' }),
      ...trigger('get-v20', 'get-v20'),
      node('get-v20', 'concur-get-report-details', { version: 'v2.0' }),
      ...trigger('get-tpl', 'get-tpl'),
      node('get-tpl', 'concur-get-report-details', {
        version: 'v4',
        context: 'MANAGER',
        urlTemplate: '/expensereports/v4/users/{userId}/context/{context}/reports/{reportId}',
      }),
      ...trigger('get-co', 'get-co'),
      { ...node('get-co', 'concur-get-report-details', { version: 'v4' }), server: 'cfg2' },
      ...trigger('exc-v4', 'exc-v4'),
      node('exc-v4', 'concur-post-exceptions', { version: 'v4', visibility: 'ALL' }),
      ...trigger('exc-v11', 'exc-v11'),
      node('exc-v11', 'concur-post-exceptions', { version: 'v1.1', exceptions: '[{"exceptionCode":"APPRVTO"}]' }),
      ...trigger('wf-v4', 'wf-v4'),
      node('wf-v4', 'concur-workflow-action', { version: 'v4', action: 'msg', endpoint: 'company' }),
      ...trigger('wf-v11', 'wf-v11'),
      node('wf-v11', 'concur-workflow-action', { version: 'v1.1', action: 'approve', comment: 'ok by robot' }),
      // ESS event → report → exceptions → approve, in one flow.
      ...trigger('chain', 'ch-get'),
      node('ch-get', 'concur-get-report-details', { version: 'v4' }, 'ch-fn'),
      { id: 'ch-fn', type: 'function', z: Z, func: 'msg.exceptions = [{ exceptionCode: "POLVIOL" }];\nreturn msg;', outputs: 1, wires: [['ch-exc']] },
      node('ch-exc', 'concur-post-exceptions', { version: 'v4' }, 'ch-wf'),
      node('ch-wf', 'concur-workflow-action', { version: 'v4', action: 'approve', comment: 'validated' }),
      { id: 'catch-all', type: 'catch', z: Z, scope: null, uncaught: false, wires: [[err.inputId]] },
      { id: 'status-watch', type: 'status', z: Z, scope: ['get-v3'], wires: [[st.inputId]] },
      ...st.nodes,
      ...ok.nodes,
      ...err.nodes,
    ];
  }

  async function fire(name, body) {
    const r = await request(`${red.url}/t/${name}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(r.status, 200, r.body);
  }

  async function one(kind, tag) {
    const got = await collector.waitFor(1, 15000, `/${kind}`);
    const m = got.find((x) => x.body.tag === tag);
    assert.ok(m, `expected a /${kind} message tagged ${tag}, got ${JSON.stringify(got.map((x) => x.body.tag))}`);
    return m.body;
  }

  async function expectOk(name, body) {
    collector.clear();
    await fire(name, { tag: name, ...body });
    const got = await collector.waitFor(1, 15000);
    if (got[0].path === '/err') assert.fail(`flow failed: ${JSON.stringify(got[0].body.concurError)}`);
    return one('ok', name);
  }

  async function expectErr(name, body) {
    collector.clear();
    await fire(name, { tag: name, ...body });
    const e = await one('err', name);
    assert.equal((await collector.settle(200)).filter((m) => m.path === '/ok').length, 0, 'nothing on the output');
    return e;
  }

  const v4Href = (id = R1, user = JANE) => `${sim.url}/expensereports/v4/users/${user}/context/TRAVELER/reports/${id}`;
  const report = (id = R1) => sim.state.reportById(id);

  before(async () => {
    sim = await startSimulator({ port: 0, deliverEvents: false, refreshTokens: [REFRESH], recordIssuedTokens: true });
    collector = await startCollector();
    red = await startRed({ logLevel: 'trace' });
    await red.deploy(flows());
  });
  // Every test starts from the seeded tenant and no faults (tokens are kept: the connection's state lives on).
  beforeEach(() => {
    sim.state.reset();
    sim.resetFaults();
  });
  after(() => teardown({ red, collector, sim }));

  it('ESS event: fetches the v4 report from facts.href, keeps the event, forwards the correlation id', async () => {
    const event = {
      id: 'ev-1',
      correlationId: 'corr-ess-1',
      eventType: 'statusChanged',
      topic: 'public.concur.expense.report',
      facts: { reportId: R1, href: v4Href() },
    };
    const m = await expectOk('get-v4', { payload: event });
    assert.equal(m.payload.reportId, R1);
    assert.equal(m.payload.name, 'Client visit Berlin');
    assert.deepEqual(m.report, m.payload);
    assert.equal(m.reportId, R1);
    assert.equal(m.userId, JANE);
    assert.deepEqual(m.concur.event, event);
    assert.equal(m.concur.report.version, 'v4');
    assert.equal(m.concur.report.correlationId, 'corr-ess-1');
    const get = requestsTo(sim, R1_GET).at(-1);
    assert.equal(get.correlationId, 'corr-ess-1');
    assert.equal(get.status, 200);
    assert.equal(get.tokenKind, 'company', 'a bearer token the simulator issued was sent');
  });

  it('legacy notification: objectURI on www.concursolutions.com is fetched from the geolocation as v1.1 XML', async () => {
    const r = report();
    const payload = {
      eventType: 'x',
      objectType: 'EXPRPT',
      objectURI: `https://www.concursolutions.com/api/expense/expensereport/v1.1/reportfulldetails/${r.reportKey}`,
    };
    const m = await expectOk('get-v4', { payload });
    assert.equal(m.payload.RptKey, r.reportKey);
    assert.equal(m.payload.Entries.ExpenseEntry[0].RpeKey, r.expenses[0].rpeKey);
    assert.equal(m.reportKey, r.reportKey);
    assert.match(m.reportXml, /^<\?xml/);
    assert.equal(m.workflowActionUrl, `${sim.url}/api/expense/expensereport/v1.1/report/${r.currentStep.workflowActionKey}/WorkFlowAction`);
    assert.equal(sim.requests.at(-1).path, `/api/expense/expensereport/v1.1/reportfulldetails/${r.reportKey}`);
  });

  it('msg.reportId with v3 (JSON), v2.0 (XML) and a URL template', async () => {
    const r = report();
    let m = await expectOk('get-v3', { msg: { reportId: R1 } });
    assert.equal(m.payload.ID, R1);
    assert.equal(m.workflowActionUrl, `${sim.url}/api/expense/expensereport/v1.1/report/${r.currentStep.workflowActionKey}/WorkFlowAction`);
    m = await expectOk('get-v20', { msg: { reportId: R1 } });
    assert.equal(m.payload.ReportID, R1);
    assert.equal(m.payload.ExpenseEntriesList.ExpenseEntry[0].ReportEntryID, '1001');
    assert.equal(m.reportKey, r.reportKey);
    assert.match(sim.requests.at(-1).accept, /^application\/xml/, 'v2.0 asked for XML');
    m = await expectOk('get-tpl', { msg: { reportId: R1, userId: SAM } });
    assert.equal(m.payload.reportId, R1);
    assert.equal(sim.requests.at(-1).path, `/expensereports/v4/users/${SAM}/context/MANAGER/reports/${R1}`);
  });

  it('status badge: green dot with counts after success, red ring with the error code after a failure', async () => {
    collector.clear();
    await fire('get-v3', { tag: 'st1', msg: { reportId: R1 } });
    await collector.waitFor(1, 10000, '/ok');
    await fire('get-v3', { tag: 'st2', msg: { reportId: 'NOPE' } });
    await collector.waitFor(1, 10000, '/err');
    const until = Date.now() + 5000;
    let badges = [];
    while (Date.now() < until) {
      badges = collector.received.filter((m) => m.path === '/status').map((m) => m.body.status);
      if (badges.some((b) => b.fill === 'red')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(
      badges.some((b) => b.fill === 'blue' && /calling Concur/.test(b.text)),
      JSON.stringify(badges),
    );
    assert.ok(
      badges.some((b) => b.fill === 'green' && b.shape === 'dot' && new RegExp(`v3 ${R1} · \\d+ ok`).test(b.text)),
      JSON.stringify(badges),
    );
    const red1 = badges.find((b) => b.fill === 'red');
    assert.equal(red1.shape, 'ring');
    assert.match(red1.text, /^404 HTTP_404: \d+ ok, 1 failed$/);
  });

  it('invalid input: no report id → clear node error in the Catch node, no request sent', async () => {
    const before = apiRequests(sim).length;
    let e = await expectErr('get-v4', { payload: { something: 'else' } });
    assert.equal(e.concurError.code, 'INVALID_INPUT');
    assert.equal(e.concurError.status, 0);
    assert.match(e.concurError.message, /no report to fetch/);
    assert.match(e.error.message, /no report to fetch/);
    e = await expectErr('get-v4', { msg: { reportId: R1 } });
    assert.match(e.concurError.message, /needs msg.userId/);
    e = await expectErr('exc-v4', { msg: { reportId: R1, exceptions: [{ exceptionCode: 'OK' }, { exceptionCode: 'WAYTOOLONG' }] } });
    assert.match(e.concurError.message, /exceptions\[1\]\.exceptionCode/);
    e = await expectErr('wf-v4', { msg: { reportId: R1, action: 'sendBack' } });
    assert.match(e.concurError.message, /comment is required/);
    e = await expectErr('wf-v4', { msg: { reportId: R1, action: 'approve', comment: 'x'.repeat(2001) } });
    assert.match(e.concurError.message, /at most 2000/);
    e = await expectErr('get-v4', { payload: { facts: { href: 'https://attacker.example.net/collect' } } });
    assert.equal(e.concurError.code, 'UNTRUSTED_HOST');
    assert.equal(apiRequests(sim).length, before, 'nothing reached Concur');
  });

  it('HTTP errors reach the Catch node with status, code, message and correlation id', async () => {
    const e = await expectErr('get-v4', { payload: { correlationId: 'corr-404', facts: { href: v4Href('NOPE') } } });
    assert.deepEqual(
      { status: e.concurError.status, code: e.concurError.code, correlationId: e.concurError.correlationId },
      { status: 404, code: 'HTTP_404', correlationId: 'corr-404' },
    );
    assert.match(e.concurError.message, /report NOPE was not found/);
    assert.equal(requestsTo(sim, /\/reports\/NOPE$/).at(-1).correlationId, 'corr-404');
  });

  it('429 with Retry-After, then success', async () => {
    failNext(sim, { method: 'GET', pathPrefix: new URL(v4Href()).pathname, status: 429, retryAfter: 1 });
    const n = requestsTo(sim, R1_GET).length;
    const m = await expectOk('get-v4', { payload: { facts: { href: v4Href() } } });
    assert.equal(m.payload.reportId, R1);
    const gets = requestsTo(sim, R1_GET).slice(n);
    assert.deepEqual(
      gets.map((g) => g.status),
      [429, 200],
    );
    const gap = Date.parse(gets[1].at) - Date.parse(gets[0].at);
    assert.ok(gap >= 950, `waited for Retry-After (gap ${gap} ms)`);
  });

  it('503 then success; and 5xx exhausting the retries ends in the Catch node', async () => {
    const prefix = new URL(v4Href()).pathname;
    failNext(sim, { method: 'GET', pathPrefix: prefix, status: 503, count: 2 });
    const n = requestsTo(sim, R1_GET).length;
    await expectOk('get-v4', { payload: { facts: { href: v4Href() } } });
    assert.deepEqual(
      requestsTo(sim, R1_GET)
        .slice(n)
        .map((g) => g.status),
      [503, 503, 200],
    );
    failNext(sim, { method: 'GET', pathPrefix: prefix, status: 502, count: 4 });
    const e = await expectErr('get-v4', { payload: { facts: { href: v4Href() } } });
    assert.equal(e.concurError.status, 502);
    assert.deepEqual(
      requestsTo(sim, R1_GET)
        .slice(n + 3)
        .map((g) => g.status),
      [502, 502, 502, 502],
      'retries 3 → 4 attempts, then gave up',
    );
  });

  it('401 then a fresh token, and token expiry in the middle of a flow', async () => {
    const t0 = sim.tokenRequests().length;
    failNext(sim, { method: 'GET', pathPrefix: new URL(v4Href()).pathname, status: 401 });
    await expectOk('get-v4', { payload: { facts: { href: v4Href() } } });
    assert.deepEqual(
      sim
        .tokenRequests()
        .slice(t0)
        .map((t) => [t.grantType, t.status]),
      [['refresh_token', 200]],
      'one refresh',
    );
    // ESS event → report → exceptions (token dies here) → approve.
    failNext(sim, { method: 'PUT', pathPrefix: `/expensereports/v4/reports/${R1}/exceptions`, expireTokens: true });
    const m = await expectOk('chain', { payload: { correlationId: 'corr-chain', facts: { href: v4Href() } } });
    assert.equal(m.payload.action, 'approve');
    assert.equal(m.payload.status, 204);
    assert.equal(sim.tokenRequests().length - t0, 2);
    const r = report();
    assert.deepEqual(
      r.exceptions.map((x) => [x.exceptionCode, x.level, x.expenseId, x.allocationId, x.exceptionVisibility]),
      [['POLVIOL', 'REPORT', null, null, 'ALL']],
    );
    assert.equal(r.approvalStatus, 'A_APPR', 'approved at its last step');
    assert.deepEqual([r.comments.at(-1).action, r.comments.at(-1).comment], ['Approve', 'validated']);
    const chainCalls = sim.requests.filter((x) => x.correlationId === 'corr-chain').map((x) => `${x.method} ${x.status}`);
    assert.deepEqual(chainCalls, ['GET 200', 'PUT 403', 'PUT 200', 'PATCH 204'], 'correlation id on every call, PUT repeated after the expired-token answer');
  });

  it('concurrent first calls share one token request (company token, password grant)', async () => {
    const t0 = sim.tokenRequests().length;
    sim.setFaults({ tokenLatencyMs: 300 });
    try {
      collector.clear();
      await Promise.all([1, 2, 3, 4, 5].map((i) => fire('get-co', { tag: `co-${i}`, payload: { facts: { href: v4Href() } } })));
      const got = await collector.waitFor(5, 15000, '/ok');
      assert.equal(got.length, 5);
    } finally {
      sim.setFaults({ tokenLatencyMs: 0 });
    }
    const reqs = sim.tokenRequests().slice(t0);
    assert.deepEqual(
      reqs.map((r) => [r.grantType, r.credtype, r.username, r.status]),
      [['password', 'authtoken', sim.credentials.companyId, 200]],
    );
  });

  it('posts v4 exceptions at report, expense and allocation level, one PUT each', async () => {
    const e1 = report().expenses[0].expenseId;
    const a1 = report().expenses[0].allocations[0].allocationId;
    const n = apiRequests(sim).length;
    const m = await expectOk('exc-v4', {
      msg: {
        reportId: R1,
        exceptions: [
          { exceptionCode: 'MISSREQ' },
          { exceptionCode: 'NORCPT', objectId: e1, visibility: 'PROCESSOR' },
          { exceptionCode: 'OVRLIMIT', objectType: 'Allocation', expenseId: e1, allocationId: a1 },
        ],
      },
    });
    assert.deepEqual(
      m.payload.map((r) => [r.index, r.exceptionCode, r.objectType, r.ok, r.status]),
      [
        [0, 'MISSREQ', 'Report', true, 200],
        [1, 'NORCPT', 'Entry', true, 200],
        [2, 'OVRLIMIT', 'Allocation', true, 200],
      ],
    );
    assert.deepEqual(
      report().exceptions.map((e) => [e.exceptionCode, e.level, e.expenseId, e.allocationId, e.exceptionVisibility, e.source]),
      [
        ['MISSREQ', 'REPORT', null, null, 'ALL', 'v4'],
        ['NORCPT', 'EXPENSE', e1, null, 'PROCESSOR', 'v4'],
        ['OVRLIMIT', 'ALLOCATION', e1, a1, 'ALL', 'v4'],
      ],
    );
    assert.deepEqual(
      apiRequests(sim)
        .slice(n)
        .map((r) => `${r.method} ${r.status}`),
      ['PUT 200', 'PUT 200', 'PUT 200'],
      'one PUT each',
    );
  });

  it('v4 exceptions: a rejected code reaches the Catch node with every result (partial failure)', async () => {
    const e = await expectErr('exc-v4', { msg: { reportId: R1, exceptions: [{ exceptionCode: 'NODATE' }, { exceptionCode: 'BADCODE' }] } });
    assert.equal(e.concurError.code, 'EXCEPTIONS_PARTIAL');
    assert.equal(e.concurError.status, 400);
    assert.deepEqual(
      e.payload.map((r) => r.ok),
      [true, false],
    );
    assert.match(e.payload[1].message, /BADCODE is not configured/);
    assert.deepEqual(
      report().exceptions.map((x) => x.exceptionCode),
      ['NODATE'],
      'the good one was kept',
    );
  });

  it('posts v1.1 exceptions as one XML document (configured list) and maps per-index failures', async () => {
    const r = report();
    const n = apiRequests(sim).length;
    const m = await expectOk('exc-v11', { msg: { reportKey: r.reportKey } });
    assert.deepEqual(
      m.payload.map((x) => [x.exceptionCode, x.ok]),
      [['APPRVTO', true]],
    );
    assert.deepEqual(
      report().exceptions.map((x) => [x.exceptionCode, x.level, x.expenseId, x.source]),
      [['APPRVTO', 'REPORT', null, 'v1.1']],
    );
    const e = await expectErr('exc-v11', {
      msg: {
        reportKey: r.reportKey,
        exceptions: [{ exceptionCode: 'NODATE', objectType: 'Entry', objectId: r.expenses[0].rpeKey }, { exceptionCode: 'BADCODE' }],
      },
    });
    assert.equal(e.concurError.code, 'EXCEPTIONS_PARTIAL');
    assert.deepEqual(
      e.payload.map((x) => [x.exceptionCode, x.ok, x.message]),
      [
        ['NODATE', true, undefined],
        ['BADCODE', false, 'ExceptionCode BADCODE is not configured for this company'],
      ],
    );
    assert.deepEqual(
      report().exceptions.map((x) => [x.exceptionCode, x.level, x.expenseId]),
      [
        ['APPRVTO', 'REPORT', null],
        ['NODATE', 'EXPENSE', r.expenses[0].expenseId],
      ],
    );
    const posts = apiRequests(sim)
      .slice(n)
      .map((x) => `${x.method} ${x.path}`);
    assert.deepEqual(
      posts,
      [1, 2].map(() => `POST /api/expense/expensereport/v1.1/report/${r.reportKey}/Exceptions`),
      'one POST per message',
    );
  });

  it('v4 workflow: send back with comment and expected-step fields, recall via the user endpoint', async () => {
    // The simulator enforces each expected-step field: a wrong value of any one of them is refused (409),
    // which proves the node sent it; the right values go through.
    const step = report().currentStep;
    const right = { expectedStepCode: step.stepCode, expectedStepSequence: step.sequence, expectedWorkflowStepInstanceId: step.stepInstanceId };
    for (const wrong of [{ expectedStepCode: 'MANAGER' }, { expectedStepSequence: 3 }, { expectedWorkflowStepInstanceId: 'SI-1' }]) {
      const e = await expectErr('wf-v4', { msg: { reportId: R1, action: 'sendBack', comment: 'missing receipt', workflow: { ...right, ...wrong } } });
      assert.equal(e.concurError.status, 409, JSON.stringify(wrong));
      assert.match(e.concurError.message, new RegExp(`is not at (step|step sequence|workflow step instance) ${Object.values(wrong)[0]}`));
    }
    assert.equal(report().approvalStatus, 'A_EXTV', 'nothing changed');
    let m = await expectOk('wf-v4', { msg: { reportId: R1, action: 'sendBack', comment: 'missing receipt', workflow: right } });
    assert.equal(m.payload.status, 204);
    assert.equal(report().approvalStatus, 'A_RESU');
    assert.deepEqual([report().comments.at(-1).action, report().comments.at(-1).comment], ['Send Back to Employee', 'missing receipt']);
    assert.equal(sim.requests.at(-1).path, `/expensereports/v4/reports/${R1}/sendBack`);
    m = await expectOk('wf-v4', { msg: { reportId: R3, userId: JANE, action: 'recall' } });
    assert.equal(m.payload.status, 204);
    assert.equal(sim.requests.at(-1).path, `/expensereports/v4/users/${JANE}/context/TRAVELER/reports/${R3}/recall`);
    assert.deepEqual([report(R3).approvalStatus, report(R3).comments.at(-1).action], ['A_RESU', 'Recall to Employee']);
  });

  it('v4 workflow PATCH is not repeated after a 503 (not idempotent)', async () => {
    failNext(sim, { method: 'PATCH', pathPrefix: `/expensereports/v4/reports/${R1}/approve`, status: 503 });
    const n = requestsTo(sim, /approve$/).length;
    const e = await expectErr('wf-v4', { msg: { reportId: R1, action: 'approve' } });
    assert.equal(e.concurError.status, 503);
    assert.equal(requestsTo(sim, /approve$/).length - n, 1);
    assert.equal(report().approvalStatus, 'A_EXTV');
  });

  it('v1.1 workflow: WorkflowActionURL on www.concursolutions.com, SUCCESS! and FAILURE', async () => {
    const key = report().currentStep.workflowActionKey;
    const url = `https://www.concursolutions.com/api/expense/expensereport/v1.1/report/${key}/workflowaction`;
    const m = await expectOk('wf-v11', { msg: { workflowActionUrl: url } });
    assert.deepEqual(m.payload, {
      action: 'approve',
      ok: true,
      status: 200,
      message: `Approve succeeded for report ${R1}`,
      correlationId: m.payload.correlationId,
    });
    assert.equal(sim.requests.at(-1).path, `/api/expense/expensereport/v1.1/report/${key}/workflowaction`, 'host rewritten to the geolocation, key unchanged');
    assert.equal(report().approvalStatus, 'A_APPR');
    assert.deepEqual([report().comments.at(-1).action, report().comments.at(-1).comment], ['Approve', 'ok by robot']);
    // The same step key again: the report has moved on, Concur answers Status FAILURE (HTTP 200).
    const e = await expectErr('wf-v11', { msg: { workflowActionUrl: url } });
    assert.equal(e.concurError.code, 'WORKFLOW_ACTION_FAILED');
    assert.match(e.concurError.message, /FAILURE – This item has recently been changed/);
    const e2 = await expectErr('wf-v11', { msg: {} });
    assert.match(e2.concurError.message, /workflowActionUrl/);
  });

  it('"Test connection" admin route: success or the OAuth error, never a token', async () => {
    const post = (id, body) =>
      request(`${red.url}/concur-config/${id}/test`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const base = { geolocation: 'custom', baseUrl: sim.url, tokenEndpoint: 'api', grantType: 'refresh_token' };
    const c = sim.credentials;
    // Unchanged secrets come back from the editor as __PWRD__: the deployed values are used.
    const t0 = sim.tokenRequests().length;
    let r = await post('cfg', { ...base, credentials: { clientId: c.clientId, clientSecret: '__PWRD__', refreshToken: '__PWRD__' } });
    assert.equal(r.status, 200, r.body);
    const ok = JSON.parse(r.body);
    assert.equal(ok.ok, true);
    assert.equal(ok.apiBase, sim.url);
    assert.ok(sim.tokenRequests().length > t0, 'a token was requested');
    for (const t of sim.issuedTokens()) assert.ok(!r.body.includes(t), 'no token in the answer');
    r = await post('cfg', { ...base, credentials: { clientId: c.clientId, clientSecret: 'wrong-secret', refreshToken: '__PWRD__' } });
    assert.equal(r.status, 502);
    assert.deepEqual(JSON.parse(r.body), {
      ok: false,
      status: 401,
      message: 'token request (refresh_token) refused: invalid_client (code 4): client authentication failed',
      error: 'invalid_client',
      error_description: 'client authentication failed',
      code: 4,
    });
    r = await post('new-node', { ...base, credentials: { clientId: c.clientId, clientSecret: c.clientSecret, refreshToken: 'not-a-valid-one' } });
    assert.equal(JSON.parse(r.body).code, 108);
    r = await post('new-node', { ...base, geolocation: 'custom', baseUrl: 'ftp://x', credentials: {} });
    assert.equal(r.status, 400);
    assert.match(JSON.parse(r.body).message, /must be http\(s\)/);
    // After all this the deployed connection still works.
    await expectOk('get-v4', { payload: { facts: { href: v4Href() } } });
  });

  it('a rotated refresh token survives a Node-RED restart (kept in <userDir>/concur-tokens, 0600, no client secret)', async () => {
    const file = path.join(red.opts.userDir, 'concur-tokens', 'cfg.json');
    const stored = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.ok(!fs.readFileSync(file, 'utf8').includes(sim.credentials.clientSecret));
    const old = await tokenRequest(sim, { grant_type: 'refresh_token', refresh_token: REFRESH, ...clientFields(sim) });
    assert.deepEqual([old.status, old.json.code], [400, 108], 'the configured refresh token was rotated away');
    const started = (red.log().match(/Started flows/g) || []).length;
    await red.restart();
    // The harness returns once the (cumulative) log shows a start; wait for this start's flows.
    const until = Date.now() + 20000;
    while ((red.log().match(/Started flows/g) || []).length <= started) {
      if (Date.now() > until) throw new Error('flows did not start after the restart');
      await new Promise((r) => setTimeout(r, 50));
    }
    const t0 = sim.tokenRequests().length;
    const m = await expectOk('get-v4', { payload: { facts: { href: v4Href() } } });
    assert.equal(m.payload.reportId, R1);
    const refresh = sim.tokenRequests().slice(t0);
    assert.equal(refresh.length, 1);
    assert.deepEqual(
      [refresh[0].grantType, refresh[0].refreshTokenSha256, refresh[0].status],
      ['refresh_token', fingerprint(stored.refreshToken), 200],
      'used the stored (rotated) refresh token',
    );
    const now = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.notEqual(now.refreshToken, stored.refreshToken, 'and saved the next one');
  });

  it('never leaks secrets: not in the Node-RED log (trace level), not in the exported flows', async () => {
    const issued = sim.issuedTokens();
    assert.ok(issued.length >= 6, `the simulator issued tokens (${issued.length})`);
    const secrets = [sim.credentials.clientSecret, REFRESH, sim.credentials.companyRequestToken, ...issued];
    const log = red.log();
    assert.ok(log.length > 1000, 'the log was captured');
    assert.match(log, /access token obtained/, 'token events were logged');
    for (const s of secrets) assert.ok(!log.includes(s), `secret ${s.slice(0, 12)}… found in the log`);
    const exported = JSON.stringify(await red.getFlows());
    for (const s of secrets) assert.ok(!exported.includes(s), `secret ${s.slice(0, 12)}… found in the exported flows`);
    assert.ok(exported.includes('"concur-config"'));
  });

  it('deleting the connection deletes its stored refresh token', async () => {
    const file = path.join(red.opts.userDir, 'concur-tokens', 'cfg.json');
    assert.ok(fs.existsSync(file));
    await red.deploy([{ id: Z, type: 'tab', label: 'api' }]);
    assert.ok(!fs.existsSync(file));
  });
});
