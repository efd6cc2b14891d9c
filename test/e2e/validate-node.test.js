'use strict';
/**
 * concur-validate end to end: a real Node-RED with concur-config,
 * concur-get-report-details -> concur-validate -> concur-post-exceptions
 * against the Concur simulator. Checks the exceptions arrive in the simulator
 * (v4 per expense, v1.1 by RpeKey), rules from msg / flow context, a rule that
 * does not compile (red status naming it at deploy), a rule that throws (Catch
 * with its name, the other rules still run), and the dry-run admin route
 * (pasted JSON and fetched through the connection; concur-validate.write).
 */
const assert = require('node:assert/strict');
const { startRed, request } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');
const { startCollector, collectorNodes } = require('../helpers/collector');
const { startSimulator } = require('../../dist/simulator/index.js');
const { RULE_PRESETS } = require('../../dist/concur/rule-presets');

const Z = 'tab-val';
const R2 = '4D2E8A61B0C94F7FA311'; // Team offsite (USD), Chris, at EXTVAL
const R4 = '71E0D5A9C3B24F18BE6A'; // Office supplies (USD), Chris: one 129.99 entry on a Monday, with a receipt
const CHRIS = '3b8d1e6a-9c2f-47a5-b0e4-6d7f8a9b0c21';
const REFRESH = 'configured-refresh-token-ORIGINAL';
const FIELDS = ['tag', 'payload', 'exceptions', 'validation', 'reportId', 'reportKey', 'error', 'concurError'];
const PRESETS = RULE_PRESETS.map((p) => ({ ...p.rule }));

describe('concur-validate in a real Node-RED against the Concur simulator', function () {
  this.timeout(120000);
  let red;
  let collector;
  let sim;
  let deployStatus;

  function trigger(name, first) {
    return [
      { id: `in-${name}`, type: 'http in', z: Z, url: `/t/${name}`, method: 'post', upload: false, swaggerDoc: '', wires: [[`res-${name}`, `prep-${name}`]] },
      { id: `res-${name}`, type: 'http response', z: Z, statusCode: '200', headers: {}, wires: [] },
      {
        id: `prep-${name}`,
        type: 'function',
        z: Z,
        func: 'const b = msg.payload || {};\nObject.assign(msg, b.msg || {});\nmsg.payload = b.payload;\nmsg.tag = b.tag;\nif (b.flowRules) flow.set("sharedRules", b.flowRules);\nif (b.addFlowRule) flow.get("sharedRules").push(b.addFlowRule);\nreturn msg;',
        outputs: 1,
        wires: [[first]],
      },
    ];
  }

  function flows() {
    const passed = collectorNodes({ idPrefix: 'pass', z: Z, url: collector.url, pathName: '/passed', fields: FIELDS });
    const flagged = collectorNodes({ idPrefix: 'flag', z: Z, url: collector.url, pathName: '/flagged', fields: FIELDS });
    const posted = collectorNodes({ idPrefix: 'post', z: Z, url: collector.url, pathName: '/posted', fields: FIELDS });
    const err = collectorNodes({ idPrefix: 'err', z: Z, url: collector.url, pathName: '/err', fields: FIELDS });
    const st = collectorNodes({ idPrefix: 'st', z: Z, url: collector.url, pathName: '/status', fields: ['status'] });
    const c = sim.credentials;
    const nodes = [
      { id: Z, type: 'tab', label: 'validate' },
      {
        id: 'cfg',
        type: 'concur-config',
        name: 'sim',
        geolocation: 'custom',
        baseUrl: sim.url,
        tokenEndpoint: 'api',
        followGeolocation: true,
        timeout: 10,
        retries: 1,
        retryDelay: 5,
        retryMaxDelay: 20,
        expirySkew: 60,
        grantType: 'refresh_token',
        credentials: { clientId: c.clientId, clientSecret: c.clientSecret, refreshToken: REFRESH },
      },
      // v4: get -> validate (fetches the expenses) -> post exceptions (v4)
      ...trigger('v4', 'get4'),
      { id: 'get4', type: 'concur-get-report-details', z: Z, server: 'cfg', version: 'v4', context: 'TRAVELER', wires: [['val4']] },
      {
        id: 'val4',
        type: 'concur-validate',
        z: Z,
        server: 'cfg',
        fetchExpenses: true,
        rulesFrom: 'node',
        visibility: 'APPROVER_PROCESSOR',
        rules: PRESETS,
        wires: [[passed.inputId], [flagged.inputId, 'post4']],
      },
      { id: 'post4', type: 'concur-post-exceptions', z: Z, server: 'cfg', version: 'v4', wires: [[posted.inputId]] },
      // legacy v1.1: objectURI -> validate (entries inline) -> post exceptions (v1.1 XML)
      ...trigger('v11', 'get11'),
      { id: 'get11', type: 'concur-get-report-details', z: Z, server: 'cfg', version: 'v4', wires: [['val11']] },
      { id: 'val11', type: 'concur-validate', z: Z, rulesFrom: 'node', rules: PRESETS, wires: [[passed.inputId], [flagged.inputId, 'post11']] },
      { id: 'post11', type: 'concur-post-exceptions', z: Z, server: 'cfg', version: 'v1.1', wires: [[posted.inputId]] },
      // rules from msg.rules / flow context, no connection: the expenses come in msg.expenses
      ...trigger('msg', 'valmsg'),
      { id: 'valmsg', type: 'concur-validate', z: Z, rulesFrom: 'msg', rulesKey: 'rules', wires: [[passed.inputId], [flagged.inputId]] },
      ...trigger('flow', 'valflow'),
      { id: 'valflow', type: 'concur-validate', z: Z, rulesFrom: 'flow', rulesKey: 'sharedRules', wires: [[passed.inputId], [flagged.inputId]] },
      // a rule that does not compile
      ...trigger('bad', 'valbad'),
      {
        id: 'valbad',
        type: 'concur-validate',
        z: Z,
        rulesFrom: 'node',
        rules: [
          { name: 'ok rule', scope: 'report', condition: 'true', exceptionCode: 'APPRVTO' },
          { name: 'Broken limit', scope: 'entry', condition: 'postedAmount.value >', exceptionCode: 'OVRLIMIT' },
        ],
        wires: [[passed.inputId], [flagged.inputId]],
      },
      { id: 'catch', type: 'catch', z: Z, scope: null, uncaught: false, wires: [[err.inputId]] },
      { id: 'status', type: 'status', z: Z, scope: ['valbad', 'valmsg'], wires: [[st.inputId]] },
      ...passed.nodes,
      ...flagged.nodes,
      ...posted.nodes,
      ...err.nodes,
      ...st.nodes,
    ];
    return nodes.map((n, i) => (n.z && n.x === undefined ? { x: 100 + (i % 5) * 150, y: 40 + Math.floor(i / 5) * 40, ...n } : n));
  }

  async function fire(name, body) {
    const r = await request(`${red.url}/t/${name}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ tag: name, ...body }),
    });
    assert.equal(r.status, 200, r.body);
  }
  const byPath = (list, p) => list.filter((m) => m.path === p).map((m) => m.body);
  const v4Href = (id, user) => `${sim.url}/expensereports/v4/users/${user}/context/TRAVELER/reports/${id}`;

  before(async () => {
    sim = await startSimulator({ port: 0, deliverEvents: false, refreshTokens: [REFRESH] });
    collector = await startCollector();
    red = await startRed();
    await red.deploy(flows());
    deployStatus = byPath(await collector.waitFor(1, 10000, '/status'), '/status').map((b) => b.status);
  });
  beforeEach(() => {
    sim.state.reset();
    collector.clear();
  });
  after(() => teardown({ red, collector, sim }));

  it('at deploy, a rule that does not compile turns the node red, naming the rule; a message then goes to Catch, not to an output', async () => {
    assert.match(red.log(), /rules do not compile: rule 2 "Broken limit": condition does not compile/);
    const st = deployStatus.find((s) => s.source.id === 'valbad');
    assert.deepEqual({ fill: st.fill, shape: st.shape }, { fill: 'red', shape: 'ring' });
    assert.match(st.text, /rule "Broken limit"/);
    await fire('bad', { payload: { reportId: 'X' } });
    const got = await collector.waitFor(1, 10000, '/err');
    const e = byPath(got, '/err')[0];
    assert.match(e.error.message, /rule 2 "Broken limit"/);
    const all = await collector.settle(300);
    assert.equal(byPath(all, '/passed').length + byPath(all, '/flagged').length, 0);
  });

  it('v4 ESS event: report + fetched expenses -> presets -> exceptions PUT on the expenses in the simulator', async () => {
    await fire('v4', { payload: { id: 'ev1', facts: { reportId: R2, href: v4Href(R2, CHRIS) } } });
    const got = await collector.waitFor(2, 20000);
    const errs = byPath(got, '/err');
    assert.equal(errs.length, 0, JSON.stringify(errs));
    const flagged = byPath(got, '/flagged')[0];
    assert.ok(flagged, JSON.stringify(got.map((m) => m.path)));
    assert.equal(flagged.reportId, R2);
    assert.equal(flagged.validation.passed, false);
    assert.equal(flagged.validation.source, 'v4');
    assert.deepEqual(flagged.exceptions.map((x) => `${x.exceptionCode}:${x.objectId}`).sort(), [
      'NORCPT:C4A2E0B8D6F44A1C9E7B5D3F1A9C7E5B',
      'OVRLIMIT:C4A2E0B8D6F44A1C9E7B5D3F1A9C7E5B',
      'POLVIOL:C4A2E0B8D6F44A1C9E7B5D3F1A9C7E5B',
      'POLVIOL:E8C6A4F2D0B84E6C2A0F8D6B4E2C0A8F',
    ]);
    assert.match(flagged.validation.summary, /^5 finding\(s\), 4 exception\(s\) on report 4D2E8A61B0C94F7FA311/);
    const posted = byPath(await collector.waitFor(1, 20000, '/posted'), '/posted')[0];
    assert.ok(
      posted.payload.every((r) => r.ok),
      JSON.stringify(posted.payload),
    );
    // In the simulator: expense-level exceptions with the node's default visibility.
    const stored = sim.state.reportById(R2).exceptions.filter((x) => x.source === 'v4');
    assert.deepEqual(stored.map((x) => `${x.level}:${x.exceptionCode}:${x.expenseId}:${x.exceptionVisibility}`).sort(), [
      'EXPENSE:NORCPT:C4A2E0B8D6F44A1C9E7B5D3F1A9C7E5B:APPROVER_PROCESSOR',
      'EXPENSE:OVRLIMIT:C4A2E0B8D6F44A1C9E7B5D3F1A9C7E5B:APPROVER_PROCESSOR',
      'EXPENSE:POLVIOL:C4A2E0B8D6F44A1C9E7B5D3F1A9C7E5B:APPROVER_PROCESSOR',
      'EXPENSE:POLVIOL:E8C6A4F2D0B84E6C2A0F8D6B4E2C0A8F:APPROVER_PROCESSOR',
    ]);
    assert.ok(
      sim.requests.some((r) => r.path === `/expensereports/v4/users/${CHRIS}/context/TRAVELER/reports/${R2}/expenses`),
      'the expenses were fetched',
    );
  });

  it('legacy callout: the v1.1 report -> the same rules -> one XML exceptions POST by RpeKey', async () => {
    const r = sim.state.reportById(R2);
    await fire('v11', { payload: { objectURI: `${sim.url}/api/expense/expensereport/v1.1/reportfulldetails/${r.reportKey}` } });
    await collector.waitFor(1, 20000, '/posted');
    const got = await collector.settle(200);
    assert.equal(byPath(got, '/err').length, 0, JSON.stringify(byPath(got, '/err')));
    const flagged = byPath(got, '/flagged')[0];
    assert.equal(flagged.reportKey, r.reportKey);
    assert.equal(flagged.validation.source, 'v1.1');
    assert.ok(byPath(got, '/posted')[0].payload.every((x) => x.ok));
    const stored = sim.state.reportById(R2).exceptions.filter((x) => x.source === 'v1.1');
    assert.deepEqual([...new Set(stored.map((x) => x.expenseId))].sort(), ['C4A2E0B8D6F44A1C9E7B5D3F1A9C7E5B', 'E8C6A4F2D0B84E6C2A0F8D6B4E2C0A8F']);
    assert.equal(stored.length, 4);
  });

  it('a clean report passes on output 1 with nothing posted', async () => {
    await fire('v4', { payload: { facts: { href: v4Href(R4, CHRIS) } } });
    const got = await collector.waitFor(1, 20000);
    const passed = byPath(got, '/passed')[0];
    assert.ok(passed, JSON.stringify(got));
    assert.equal(passed.validation.passed, true);
    assert.match(passed.validation.summary, /passed 6 rule\(s\)/);
    assert.equal(passed.payload.reportId, R4);
    assert.equal(sim.state.reportById(R4).exceptions.length, 0);
  });

  it('rules from msg.rules and from a flow context variable; a rule that throws goes to Catch by name, the others still fire', async () => {
    const expenses = [
      {
        expenseId: 'E1',
        expenseType: { id: 'LODNG', name: 'Hotel' },
        transactionDate: '2026-11-02',
        postedAmount: { value: 400, currencyCode: 'EUR' },
        vendor: { name: 'Adlon' },
      },
      { expenseId: 'E2', expenseType: { id: 'TAXI', name: 'Taxi' }, transactionDate: '2026-11-03', postedAmount: { value: 20, currencyCode: 'EUR' } },
    ];
    const rules = [
      { name: 'Throws on types', scope: 'entry', condition: '$uppercase(postedAmount.value) = "X"', exceptionCode: 'X' },
      {
        name: 'Hotel over 300',
        scope: 'entry',
        condition: 'expenseTypeCode = "LODNG" and postedAmount.value > 300',
        exceptionCode: 'OVRLIMIT',
        message: '{{entry.vendor}} {{entry.postedAmount.value}}',
      },
    ];
    await fire('msg', { payload: { reportId: 'RX', currencyCode: 'EUR' }, msg: { expenses, rules } });
    await collector.waitFor(1, 10000, '/err');
    await collector.waitFor(1, 10000, '/flagged');
    let got = await collector.settle(200);
    const flagged = byPath(got, '/flagged')[0];
    assert.deepEqual(flagged.exceptions, [{ exceptionCode: 'OVRLIMIT', objectType: 'Entry', objectId: 'E1', visibility: 'ALL' }]);
    assert.equal(flagged.validation.findings[0].message, 'Adlon 400');
    const e = byPath(got, '/err')[0];
    assert.match(e.error.message, /rule "Throws on types" failed on entry 1/);
    assert.equal(byPath(got, '/passed').length, 0);

    collector.clear();
    await fire('flow', { payload: { reportId: 'RY' }, msg: { expenses }, flowRules: [rules[1]] });
    got = await collector.waitFor(1, 10000);
    assert.equal(byPath(got, '/flagged')[0].exceptions[0].objectId, 'E1');

    // The same context array changed in place: the new rule is used (rule sets are cached by content, not identity).
    collector.clear();
    await fire('flow', {
      payload: { reportId: 'RY' },
      msg: { expenses },
      addFlowRule: { name: 'Taxi', scope: 'entry', condition: 'expenseTypeCode = "TAXI"', exceptionCode: 'POLVIOL' },
    });
    got = await collector.waitFor(1, 10000);
    assert.deepEqual(
      byPath(got, '/flagged')[0].exceptions.map((x) => `${x.exceptionCode}:${x.objectId}`),
      ['OVRLIMIT:E1', 'POLVIOL:E2'],
    );

    // A v4 report without its expenses (no connection, no msg.expenses) is not passed: entry rules would check nothing.
    collector.clear();
    await fire('msg', { payload: { reportId: 'RW' }, msg: { rules } });
    got = await collector.waitFor(1, 10000, '/err');
    assert.match(byPath(got, '/err')[0].error.message, /the v4 report carries no expenses, so 2 entry .* rule\(s\) could not check anything/);
    assert.equal(byPath(await collector.settle(200), '/passed').length, 0);

    collector.clear();
    await fire('msg', { payload: { reportId: 'RZ' }, msg: { expenses, rules: [{ name: 'nope', condition: '((', exceptionCode: 'X' }] } });
    got = await collector.waitFor(1, 10000, '/err');
    assert.match(byPath(got, '/err')[0].error.message, /rule 1 "nope": condition does not compile/);
  });

  it('dry run: pasted JSON (a whole debug msg) and a report fetched through the deployed connection', async () => {
    const post = (body) =>
      request(`${red.url}/concur-validate/dry-run`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const pasted = {
      payload: { reportId: 'R', currencyCode: 'USD' },
      expenses: [{ expenseId: 'A', expenseType: { id: 'AIRFR' }, postedAmount: { value: 1200, currencyCode: 'USD' }, transactionDate: '2026-11-03' }],
    };
    let r = await post({ rules: PRESETS, report: JSON.stringify(pasted) });
    assert.equal(r.status, 200, r.body);
    let b = JSON.parse(r.body);
    assert.deepEqual(
      b.result.findings.map((f) => [f.ruleIndex, f.exceptionCode]),
      [[0, 'OVRLIMIT']],
    );
    assert.equal(b.view.entries, 1);

    r = await post({ rules: PRESETS, fetch: { server: 'cfg', version: 'v4', reportId: R2, userId: CHRIS } });
    assert.equal(r.status, 200, r.body);
    b = JSON.parse(r.body);
    assert.equal(b.fetched.version, 'v4');
    assert.equal(b.result.findings.length, 5);
    assert.equal(sim.state.reportById(R2).exceptions.length, 0, 'a dry run posts nothing');

    r = await post({ rules: [{ name: 'bad', condition: 'a >', exceptionCode: 'X' }], report: '{}' });
    assert.equal(r.status, 400);
    assert.equal(JSON.parse(r.body).problems[0].field, 'condition');
    r = await post({ rules: PRESETS, report: '{not json' });
    assert.equal(r.status, 400);
    assert.match(JSON.parse(r.body).error, /not JSON/);
    r = await post({ rules: PRESETS, fetch: { server: 'nope', reportId: R2, userId: CHRIS } });
    assert.equal(r.status, 400);
    assert.match(JSON.parse(r.body).error, /deployed Concur connection/);
  });
});

describe('concur-validate admin routes with adminAuth: concur-validate.write is required', function () {
  this.timeout(60000);
  // bcrypt of ADMIN_PASSWORD (cost 8), as in test/editor-key-info.test.js.
  const ADMIN_PASSWORD = 'key-info-admin-pass';
  const ADMIN_HASH = '$2b$08$.6Uv/bWDcx/3mTosCMNes.6BxOxuDkNVVtORi4tjCdKS7sfccf8Hy';
  let red;
  before(async () => {
    red = await startRed({
      readyPath: '/auth/login',
      settings: {
        adminAuth: {
          type: 'credentials',
          users: [
            { username: 'admin', password: ADMIN_HASH, permissions: '*' },
            { username: 'viewer', password: ADMIN_HASH, permissions: 'read' },
            { username: 'validator', password: ADMIN_HASH, permissions: ['read', 'concur-validate.write'] },
          ],
        },
      },
    });
  });
  after(() => teardown({ red }));

  async function token(username, scope = '*') {
    const r = await request(`${red.url}/auth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ client_id: 'node-red-admin', grant_type: 'password', scope, username, password: ADMIN_PASSWORD }),
    });
    assert.equal(r.status, 200, r.body);
    return JSON.parse(r.body).access_token;
  }
  const body = JSON.stringify({
    rules: [{ name: 'big', scope: 'report', condition: 'header.total.value > 10', exceptionCode: 'APPRVTO' }],
    report: { reportId: 'R', currencyCode: 'EUR', reportTotal: { value: 20, currencyCode: 'EUR' } },
  });
  const post = (route, headers = {}) =>
    request(`${red.url}/concur-validate/${route}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body });

  // Node-RED's needsPermission answers 401 both without a token and without the permission.
  it('refuses callers without a token or without the write permission', async () => {
    for (const route of ['dry-run', 'check', 'presets']) assert.equal((await post(route)).status, 401, route);
    const viewer = { Authorization: `Bearer ${await token('viewer', 'read')}` };
    for (const route of ['dry-run', 'check', 'presets']) assert.equal((await post(route, viewer)).status, 401, route);
  });

  it('answers a user with concur-validate.write, and an admin', async () => {
    for (const user of ['validator', 'admin']) {
      const auth = { Authorization: `Bearer ${await token(user, user === 'admin' ? '*' : ['read', 'concur-validate.write'].join(' '))}` };
      const r = await post('dry-run', auth);
      assert.equal(r.status, 200, `${user}: ${r.body}`);
      assert.deepEqual(JSON.parse(r.body).result.exceptions, [{ exceptionCode: 'APPRVTO', objectType: 'Report', visibility: 'ALL' }]);
    }
  });
});
