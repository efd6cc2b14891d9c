'use strict';
/**
 * End to end: concur-config + concur-get-report-details / concur-post-exceptions /
 * concur-workflow-action in a real Node-RED (startRed), calling the fake Concur
 * API on loopback. Messages are triggered over HTTP and observed through the
 * collector; errors through a Catch node.
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startRed, request } = require('./helpers/red-runtime');
const { startCollector, collectorNodes } = require('./helpers/collector');
const { startFakeConcur } = require('./helpers/fake-concur');

const Z = 'tab-api';
const OK_FIELDS = ['tag', 'payload', 'report', 'reportXml', 'reportId', 'reportKey', 'userId', 'workflowActionUrl', 'concur'];
const ERR_FIELDS = ['tag', 'payload', 'concurError', 'error'];

describe('API nodes in a real Node-RED against a fake Concur', function () {
  this.timeout(90000);
  let red;
  let collector;
  let fake;

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
    const cfgCommon = { geolocation: 'custom', baseUrl: fake.url, tokenEndpoint: 'api', followGeolocation: true, timeout: 10, retries: 3, retryDelay: 5, retryMaxDelay: 20, expirySkew: 60 };
    const node = (id, type, extra, next = ok.inputId) => ({ id, type, z: Z, server: 'cfg', wires: [[next]], ...extra });
    return [
      { id: Z, type: 'tab', label: 'api' },
      {
        id: 'cfg',
        type: 'concur-config',
        name: 'fake',
        ...cfgCommon,
        grantType: 'refresh_token',
        credentials: { clientId: fake.cfg.clientId, clientSecret: fake.cfg.clientSecret, refreshToken: fake.cfg.refreshTokens[0] },
      },
      {
        id: 'cfg2',
        type: 'concur-config',
        name: 'company',
        ...cfgCommon,
        grantType: 'password',
        credtype: 'authtoken',
        credentials: { clientId: fake.cfg.clientId, clientSecret: fake.cfg.clientSecret, username: fake.cfg.companyUuid, password: fake.cfg.requestToken },
      },
      ...trigger('get-v4', 'get-v4'),
      node('get-v4', 'concur-get-report-details', { version: 'v4', context: 'TRAVELER' }),
      ...trigger('get-v3', 'get-v3'),
      node('get-v3', 'concur-get-report-details', { version: 'v3' }),
      ...trigger('get-v20', 'get-v20'),
      node('get-v20', 'concur-get-report-details', { version: 'v2.0' }),
      ...trigger('get-tpl', 'get-tpl'),
      node('get-tpl', 'concur-get-report-details', { version: 'v4', context: 'MANAGER', urlTemplate: '/expensereports/v4/users/{userId}/context/{context}/reports/{reportId}' }),
      ...trigger('get-co', 'get-co'),
      { ...node('get-co', 'concur-get-report-details', { version: 'v4' }), server: 'cfg2' },
      ...trigger('exc-v4', 'exc-v4'),
      node('exc-v4', 'concur-post-exceptions', { version: 'v4', visibility: 'ALL' }),
      ...trigger('exc-v11', 'exc-v11'),
      node('exc-v11', 'concur-post-exceptions', { version: 'v1.1', exceptions: '[{"exceptionCode":"CFGCODE"}]' }),
      ...trigger('wf-v4', 'wf-v4'),
      node('wf-v4', 'concur-workflow-action', { version: 'v4', action: 'msg', endpoint: 'company' }),
      ...trigger('wf-v11', 'wf-v11'),
      node('wf-v11', 'concur-workflow-action', { version: 'v1.1', action: 'approve', comment: 'ok by robot' }),
      // ESS event → report → exceptions → approve, in one flow.
      ...trigger('chain', 'ch-get'),
      node('ch-get', 'concur-get-report-details', { version: 'v4' }, 'ch-fn'),
      { id: 'ch-fn', type: 'function', z: Z, func: 'msg.exceptions = [{ exceptionCode: "POLICY1" }];\nreturn msg;', outputs: 1, wires: [['ch-exc']] },
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

  const v4Href = (id = 'R1', user = 'U-OWNER-1') => `${fake.url}/expensereports/v4/users/${user}/context/TRAVELER/reports/${id}`;
  const apiRequests = () => fake.state.requests.filter((r) => r.path !== '/oauth2/v0/token');

  before(async () => {
    fake = await startFakeConcur({ refreshTokens: ['fake-refresh-token-ORIGINAL'] });
    collector = await startCollector();
    red = await startRed({ logLevel: 'trace' });
    await red.deploy(flows());
  });
  after(async () => {
    if (red) {
      await red.stop();
      red.cleanup();
    }
    if (collector) await collector.close();
    if (fake) await fake.close();
  });

  it('ESS event: fetches the v4 report from facts.href, keeps the event, forwards the correlation id', async () => {
    const event = { id: 'ev-1', correlationId: 'corr-ess-1', eventType: 'statusChanged', topic: 'public.concur.expense.report', facts: { reportId: 'R1', href: v4Href() } };
    const m = await expectOk('get-v4', { payload: event });
    assert.equal(m.payload.reportId, 'R1');
    assert.deepEqual(m.report, m.payload);
    assert.equal(m.reportId, 'R1');
    assert.equal(m.userId, 'U-OWNER-1');
    assert.deepEqual(m.concur.event, event);
    assert.equal(m.concur.report.version, 'v4');
    assert.equal(m.concur.report.correlationId, 'corr-ess-1');
    const get = fake.requestsTo(/reports\/R1$/).at(-1);
    assert.equal(get.headers['concur-correlationid'], 'corr-ess-1');
    assert.match(get.headers.authorization, /^Bearer access-/);
  });

  it('legacy notification: objectURI on www.concursolutions.com is fetched from the geolocation as v1.1 XML', async () => {
    const payload = { eventType: 'x', objectType: 'EXPRPT', objectURI: 'https://www.concursolutions.com/api/expense/expensereport/v1.1/reportfulldetails/KEY$R1' };
    const m = await expectOk('get-v4', { payload });
    assert.equal(m.payload.RptKey, 'KEY$R1');
    assert.equal(m.payload.EntriesList.Entry.RpeKey, 'E1');
    assert.equal(m.reportKey, 'KEY$R1');
    assert.match(m.reportXml, /^<\?xml/);
    assert.match(m.workflowActionUrl, /\/v1\.1\/report\/STEPR1\/WorkFlowAction$/);
    assert.equal(fake.state.requests.at(-1).path, '/api/expense/expensereport/v1.1/reportfulldetails/KEY$R1');
  });

  it('msg.reportId with v3 (JSON), v2.0 (XML) and a URL template', async () => {
    let m = await expectOk('get-v3', { msg: { reportId: 'R1' } });
    assert.equal(m.payload.ID, 'R1');
    assert.equal(m.workflowActionUrl, `${fake.url}/api/expense/expensereport/v1.1/report/STEPR1/WorkFlowAction`);
    m = await expectOk('get-v20', { msg: { reportId: 'R1' } });
    assert.equal(m.payload.ReportID, 'R1');
    assert.equal(m.payload.ExpenseEntriesList.ExpenseEntry.ReportEntryID, 'E1');
    assert.equal(m.reportKey, 'KEY$R1');
    m = await expectOk('get-tpl', { msg: { reportId: 'R1', userId: 'MGR-9' } });
    assert.equal(m.payload.reportId, 'R1');
    assert.equal(fake.state.requests.at(-1).path, '/expensereports/v4/users/MGR-9/context/MANAGER/reports/R1');
  });

  it('status badge: green dot with counts after success, red ring with the error code after a failure', async () => {
    collector.clear();
    await fire('get-v3', { tag: 'st1', msg: { reportId: 'R1' } });
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
    assert.ok(badges.some((b) => b.fill === 'blue' && /calling Concur/.test(b.text)), JSON.stringify(badges));
    assert.ok(badges.some((b) => b.fill === 'green' && b.shape === 'dot' && /v3 R1 · \d+ ok/.test(b.text)), JSON.stringify(badges));
    const red1 = badges.find((b) => b.fill === 'red');
    assert.equal(red1.shape, 'ring');
    assert.match(red1.text, /^404 HTTP_404: \d+ ok, 1 failed$/);
  });

  it('invalid input: no report id → clear node error in the Catch node, no request sent', async () => {
    const before = apiRequests().length;
    let e = await expectErr('get-v4', { payload: { something: 'else' } });
    assert.equal(e.concurError.code, 'INVALID_INPUT');
    assert.equal(e.concurError.status, 0);
    assert.match(e.concurError.message, /no report to fetch/);
    assert.match(e.error.message, /no report to fetch/);
    e = await expectErr('get-v4', { msg: { reportId: 'R1' } });
    assert.match(e.concurError.message, /needs msg.userId/);
    e = await expectErr('exc-v4', { msg: { reportId: 'R1', exceptions: [{ exceptionCode: 'OK' }, { exceptionCode: 'WAYTOOLONG' }] } });
    assert.match(e.concurError.message, /exceptions\[1\]\.exceptionCode/);
    e = await expectErr('wf-v4', { msg: { reportId: 'R1', action: 'sendBack' } });
    assert.match(e.concurError.message, /comment is required/);
    e = await expectErr('wf-v4', { msg: { reportId: 'R1', action: 'approve', comment: 'x'.repeat(2001) } });
    assert.match(e.concurError.message, /at most 2000/);
    e = await expectErr('get-v4', { payload: { facts: { href: 'https://attacker.example.net/collect' } } });
    assert.equal(e.concurError.code, 'UNTRUSTED_HOST');
    assert.equal(apiRequests().length, before, 'nothing reached Concur');
  });

  it('HTTP errors reach the Catch node with status, code, message and correlation id', async () => {
    const e = await expectErr('get-v4', { payload: { correlationId: 'corr-404', facts: { href: v4Href('NOPE') } } });
    assert.deepEqual(
      { status: e.concurError.status, code: e.concurError.code, correlationId: e.concurError.correlationId },
      { status: 404, code: 'HTTP_404', correlationId: 'corr-404' },
    );
    assert.match(e.concurError.message, /Report NOPE not found/);
  });

  it('429 with Retry-After, then success', async () => {
    fake.fail({ method: 'GET', path: /reports\/R1$/, status: 429, headers: { 'Retry-After': '1' } });
    const n = fake.requestsTo(/reports\/R1$/).length;
    const m = await expectOk('get-v4', { payload: { facts: { href: v4Href() } } });
    assert.equal(m.payload.reportId, 'R1');
    const gets = fake.requestsTo(/reports\/R1$/).slice(n);
    assert.equal(gets.length, 2);
    assert.ok(gets[1].at - gets[0].at >= 950, `waited for Retry-After (gap ${gets[1].at - gets[0].at} ms)`);
  });

  it('503 then success; and 5xx exhausting the retries ends in the Catch node', async () => {
    fake.fail({ method: 'GET', path: /reports\/R1$/, status: 503, times: 2 });
    const n = fake.requestsTo(/reports\/R1$/).length;
    await expectOk('get-v4', { payload: { facts: { href: v4Href() } } });
    assert.equal(fake.requestsTo(/reports\/R1$/).length - n, 3);
    fake.fail({ method: 'GET', path: /reports\/R1$/, status: 502, times: 4 });
    const e = await expectErr('get-v4', { payload: { facts: { href: v4Href() } } });
    assert.equal(e.concurError.status, 502);
  });

  it('401 then a fresh token, and token expiry in the middle of a flow', async () => {
    const t0 = fake.state.tokenRequests.length;
    fake.fail({ method: 'GET', path: /reports\/R1$/, status: 401 });
    await expectOk('get-v4', { payload: { facts: { href: v4Href() } } });
    assert.equal(fake.state.tokenRequests.length - t0, 1, 'one refresh');
    // ESS event → report → exceptions (token dies here) → approve.
    fake.fail({ method: 'PUT', path: /exceptions$/, expireTokens: true });
    const m = await expectOk('chain', { payload: { correlationId: 'corr-chain', facts: { href: v4Href() } } });
    assert.equal(m.payload.action, 'approve');
    assert.equal(m.payload.status, 204);
    assert.equal(fake.state.tokenRequests.length - t0, 2);
    assert.deepEqual(fake.state.exceptions.at(-1), { api: 'v4', reportId: 'R1', expenseId: undefined, allocationId: undefined, exceptionCode: 'POLICY1', exceptionVisibility: 'ALL' });
    assert.deepEqual(fake.state.workflowActions.at(-1), { api: 'v4', reportId: 'R1', userId: undefined, context: undefined, action: 'approve', body: { comment: 'validated' } });
    const chainCalls = fake.state.requests.filter((r) => r.headers['concur-correlationid'] === 'corr-chain').map((r) => r.method);
    assert.deepEqual(chainCalls, ['GET', 'PUT', 'PUT', 'PATCH'], 'correlation id on every call, PUT repeated after the 401');
  });

  it('concurrent first calls share one token request (company token, password grant)', async () => {
    const t0 = fake.state.tokenRequests.length;
    fake.cfg.tokenDelayMs = 300;
    try {
      collector.clear();
      await Promise.all([1, 2, 3, 4, 5].map((i) => fire('get-co', { tag: `co-${i}`, payload: { facts: { href: v4Href() } } })));
      const got = await collector.waitFor(5, 15000, '/ok');
      assert.equal(got.length, 5);
    } finally {
      fake.cfg.tokenDelayMs = 0;
    }
    const reqs = fake.state.tokenRequests.slice(t0);
    assert.deepEqual(reqs.map((r) => [r.grant, r.credtype, r.username]), [['password', 'authtoken', fake.cfg.companyUuid]]);
  });

  it('posts v4 exceptions at report, expense and allocation level, one PUT each', async () => {
    const n = fake.state.exceptions.length;
    const m = await expectOk('exc-v4', {
      msg: {
        reportId: 'R1',
        exceptions: [
          { exceptionCode: 'RPT1' },
          { exceptionCode: 'EXP1', objectId: 'E1', visibility: 'PROCESSOR' },
          { exceptionCode: 'ALC1', objectType: 'Allocation', expenseId: 'E1', allocationId: 'A1' },
        ],
      },
    });
    assert.deepEqual(m.payload.map((r) => [r.index, r.exceptionCode, r.objectType, r.ok, r.status]), [
      [0, 'RPT1', 'Report', true, 200],
      [1, 'EXP1', 'Entry', true, 200],
      [2, 'ALC1', 'Allocation', true, 200],
    ]);
    assert.deepEqual(
      fake.state.exceptions.slice(n).map((e) => [e.exceptionCode, e.expenseId, e.allocationId, e.exceptionVisibility]),
      [['RPT1', undefined, undefined, 'ALL'], ['EXP1', 'E1', undefined, 'PROCESSOR'], ['ALC1', 'E1', 'A1', 'ALL']],
    );
  });

  it('v4 exceptions: a rejected code reaches the Catch node with every result (partial failure)', async () => {
    const e = await expectErr('exc-v4', { msg: { reportId: 'R1', exceptions: [{ exceptionCode: 'GOOD' }, { exceptionCode: 'BADCODE' }] } });
    assert.equal(e.concurError.code, 'EXCEPTIONS_PARTIAL');
    assert.equal(e.concurError.status, 400);
    assert.deepEqual(e.payload.map((r) => r.ok), [true, false]);
    assert.match(e.payload[1].message, /BADCODE is not configured/);
  });

  it('posts v1.1 exceptions as one XML document (configured list) and maps per-index failures', async () => {
    const n = fake.state.exceptions.length;
    const m = await expectOk('exc-v11', { msg: { reportKey: 'KEY$R1' } });
    assert.deepEqual(m.payload.map((r) => [r.exceptionCode, r.ok]), [['CFGCODE', true]]);
    assert.deepEqual(fake.state.exceptions.slice(n), [{ api: 'v1.1', reportKey: 'KEY$R1', index: 1, objectType: 'Report', objectId: '', exceptionCode: 'CFGCODE' }]);
    const e = await expectErr('exc-v11', { msg: { reportKey: 'KEY$R1', exceptions: [{ exceptionCode: 'NODATE', objectType: 'Entry', objectId: 'E1' }, { exceptionCode: 'BADCODE' }] } });
    assert.equal(e.concurError.code, 'EXCEPTIONS_PARTIAL');
    assert.deepEqual(e.payload.map((r) => [r.exceptionCode, r.ok, r.message]), [['NODATE', true, undefined], ['BADCODE', false, 'Exception code BADCODE is not defined']]);
    assert.equal(fake.requestsTo(/Exceptions$/).length, 2, 'one POST per message');
  });

  it('v4 workflow: send back with comment and expected-step fields, recall via the user endpoint', async () => {
    let m = await expectOk('wf-v4', { msg: { reportId: 'R1', action: 'sendBack', comment: 'missing receipt', workflow: { expectedStepCode: 'EXTVAL', expectedStepSequence: 3, expectedWorkflowStepInstanceId: 'SI-1' } } });
    assert.equal(m.payload.status, 204);
    assert.deepEqual(fake.state.workflowActions.at(-1).body, { comment: 'missing receipt', expectedStepCode: 'EXTVAL', expectedStepSequence: 3, expectedWorkflowStepInstanceId: 'SI-1' });
    m = await expectOk('wf-v4', { msg: { reportId: 'R1', userId: 'U-OWNER-1', action: 'recall' } });
    const last = fake.state.workflowActions.at(-1);
    assert.deepEqual([last.action, last.userId, last.context], ['recall', 'U-OWNER-1', 'TRAVELER']);
  });

  it('v4 workflow PATCH is not repeated after a 503 (not idempotent)', async () => {
    fake.fail({ method: 'PATCH', path: /approve$/, status: 503 });
    const n = fake.requestsTo(/approve$/).length;
    const e = await expectErr('wf-v4', { msg: { reportId: 'R1', action: 'approve' } });
    assert.equal(e.concurError.status, 503);
    assert.equal(fake.requestsTo(/approve$/).length - n, 1);
  });

  it('v1.1 workflow: WorkflowActionURL on www.concursolutions.com, SUCCESS! and FAILURE', async () => {
    const url = 'https://www.concursolutions.com/api/expense/expensereport/v1.1/report/STEPR1/workflowaction';
    const m = await expectOk('wf-v11', { msg: { workflowActionUrl: url } });
    assert.deepEqual(m.payload, { action: 'approve', ok: true, status: 200, message: '', correlationId: m.payload.correlationId });
    assert.deepEqual(fake.state.workflowActions.at(-1), { api: 'v1.1', stepKey: 'STEPR1', action: 'Approve', comment: 'ok by robot' });
    fake.state.legacyWorkflowStatus = 'FAILURE';
    try {
      const e = await expectErr('wf-v11', { msg: { workflowActionUrl: url } });
      assert.equal(e.concurError.code, 'WORKFLOW_ACTION_FAILED');
      assert.match(e.concurError.message, /FAILURE – The item has recently been changed/);
    } finally {
      fake.state.legacyWorkflowStatus = 'SUCCESS!';
    }
    const e2 = await expectErr('wf-v11', { msg: {} });
    assert.match(e2.concurError.message, /workflowActionUrl/);
  });

  it('"Test connection" admin route: success or the OAuth error, never a token', async () => {
    const post = (id, body) => request(`${red.url}/concur-config/${id}/test`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const base = { geolocation: 'custom', baseUrl: fake.url, tokenEndpoint: 'api', grantType: 'refresh_token' };
    // Unchanged secrets come back from the editor as __PWRD__: the deployed values are used.
    let r = await post('cfg', { ...base, credentials: { clientId: fake.cfg.clientId, clientSecret: '__PWRD__', refreshToken: '__PWRD__' } });
    assert.equal(r.status, 200, r.body);
    const ok = JSON.parse(r.body);
    assert.equal(ok.ok, true);
    assert.equal(ok.apiBase, fake.url);
    for (const t of fake.state.issued) assert.ok(!r.body.includes(t), 'no token in the answer');
    r = await post('cfg', { ...base, credentials: { clientId: fake.cfg.clientId, clientSecret: 'wrong-secret', refreshToken: '__PWRD__' } });
    assert.equal(r.status, 502);
    assert.deepEqual(JSON.parse(r.body), { ok: false, status: 401, message: 'token request (refresh_token) refused: invalid_client (code 1): client authentication failed', error: 'invalid_client', error_description: 'client authentication failed', code: 1 });
    r = await post('new-node', { ...base, credentials: { clientId: fake.cfg.clientId, clientSecret: fake.cfg.clientSecret, refreshToken: 'not-a-valid-one' } });
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
    assert.ok(!fs.readFileSync(file, 'utf8').includes(fake.cfg.clientSecret));
    assert.ok(!fake.state.validRefresh.has(fake.cfg.refreshTokens[0]), 'the configured refresh token was rotated away');
    const started = (red.log().match(/Started flows/g) || []).length;
    await red.restart();
    // The harness returns once the (cumulative) log shows a start; wait for this start's flows.
    const until = Date.now() + 20000;
    while ((red.log().match(/Started flows/g) || []).length <= started) {
      if (Date.now() > until) throw new Error('flows did not start after the restart');
      await new Promise((r) => setTimeout(r, 50));
    }
    const t0 = fake.state.tokenRequests.length;
    const m = await expectOk('get-v4', { payload: { facts: { href: v4Href() } } });
    assert.equal(m.payload.reportId, 'R1');
    const refresh = fake.state.tokenRequests.slice(t0);
    assert.equal(refresh.length, 1);
    assert.equal(refresh[0].refreshToken, stored.refreshToken, 'used the stored (rotated) refresh token');
    const now = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.notEqual(now.refreshToken, stored.refreshToken, 'and saved the next one');
  });

  it('never leaks secrets: not in the Node-RED log (trace level), not in the exported flows', async () => {
    const secrets = [fake.cfg.clientSecret, fake.cfg.refreshTokens[0], fake.cfg.requestToken, ...fake.state.issued];
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
