'use strict';
/**
 * Secret hygiene across every node of the package, in a real Node-RED at log
 * level "trace": configure distinctive secrets (client secret, refresh token,
 * company request token, connector password, wrong passwords and secrets,
 * Authorization values sent by strangers), run traffic through every node
 * including the failing paths (wrong password, bad/expired token, 401 from the
 * API, wrong client secret, bad refresh token, bad ESS signature with the
 * "rejected" output on), with debug nodes printing every complete message (and
 * every status and caught error) to the console. Then none of the secrets, none
 * of the tokens the Concur simulator issued (it records them for this test:
 * recordIssuedTokens), and no Authorization header value may
 * appear in Node-RED's log output, in debug output, in HTTP answers, in GET
 * /flows (the exported flow) or in flows.json on disk.
 */
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { startRed, request } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');
const { startSimulator } = require('../../dist/simulator/index.js');
const { failNext, fingerprint } = require('../helpers/simulator-client');
const { makeKeyPair, signBody, essEvent } = require('../helpers/signed-events');

const tag = (name) => `SECRET-${name}-${crypto.randomBytes(6).toString('hex')}`;
const Z = 'tab-secrets';
// Seeded simulator reports (src/simulator/seed-data.ts).
const R1 = 'CB899F7D9F73420A8D8B'; // at EXTVAL, owner Jane
const R3 = '9F1C3B7E22D84A6B9C05'; // at MANAGER, owner Jane
const JANE = 'e1a0b7c4-5d2f-4c8a-9b1e-3f6d2a8c7e10';

describe('secret hygiene: no secret in logs, debug output, answers or exported flows', function () {
  this.timeout(120000);
  let red;
  let sim;
  const S = {
    clientSecret: tag('client-secret'),
    refreshToken: tag('refresh-token'),
    requestToken: tag('request-token'),
    wrongClientSecret: tag('wrong-client-secret'),
    badRefreshToken: tag('bad-refresh-token'),
    legacyPassword: tag('legacy-pw'),
    wrongLegacyPassword: tag('wrong-legacy-pw'),
    strangerBearer: tag('stranger-bearer'),
  };
  const LEGACY_USER = 'concur-connector-user';
  const answers = [];
  const authValues = [];

  before(async () => {
    sim = await startSimulator({
      port: 0,
      deliverEvents: false,
      clientSecret: S.clientSecret,
      refreshTokens: [S.refreshToken],
      companyRequestToken: S.requestToken,
      recordIssuedTokens: true,
    });
    red = await startRed({ logLevel: 'trace', settings: { debugMaxLength: 1000000 } });
  });
  after(() => teardown({ red, sim }));

  function flows(key) {
    const cfgCommon = { geolocation: 'custom', baseUrl: sim.url, tokenEndpoint: 'api', timeout: 10, retries: 1, retryDelay: 5, retryMaxDelay: 20 };
    const clientId = sim.credentials.clientId;
    const debugAll = {
      id: 'dbg',
      type: 'debug',
      z: Z,
      name: 'everything',
      active: true,
      tosidebar: true,
      console: true,
      tostatus: false,
      complete: 'true',
      targetType: 'full',
      wires: [],
    };
    const trigger = (name, next) => [
      { id: `in-${name}`, type: 'http in', z: Z, url: `/t/${name}`, method: 'post', upload: false, swaggerDoc: '', wires: [[`res-${name}`, `prep-${name}`]] },
      { id: `res-${name}`, type: 'http response', z: Z, statusCode: '200', headers: {}, wires: [] },
      {
        id: `prep-${name}`,
        type: 'function',
        z: Z,
        func: 'const b = msg.payload || {};\nObject.assign(msg, b.msg || {});\nmsg.payload = b.payload;\nreturn msg;',
        outputs: 1,
        wires: [[next]],
      },
    ];
    const api = (id, type, server, extra) => ({ id, type, z: Z, server, wires: [['dbg']], ...extra });
    return [
      { id: Z, type: 'tab', label: 'secrets' },
      // Connections: good refresh grant, good company grant, wrong client secret, bad refresh token.
      {
        id: 'cfg-ok',
        type: 'concur-config',
        name: 'ok',
        ...cfgCommon,
        grantType: 'refresh_token',
        credentials: { clientId, clientSecret: S.clientSecret, refreshToken: S.refreshToken },
      },
      {
        id: 'cfg-co',
        type: 'concur-config',
        name: 'company',
        ...cfgCommon,
        grantType: 'password',
        credtype: 'authtoken',
        credentials: { clientId, clientSecret: S.clientSecret, username: sim.credentials.companyId, password: S.requestToken },
      },
      {
        id: 'cfg-badsecret',
        type: 'concur-config',
        name: 'bad secret',
        ...cfgCommon,
        grantType: 'refresh_token',
        credentials: { clientId, clientSecret: S.wrongClientSecret, refreshToken: S.refreshToken },
      },
      {
        id: 'cfg-badrefresh',
        type: 'concur-config',
        name: 'bad refresh',
        ...cfgCommon,
        grantType: 'refresh_token',
        credentials: { clientId, clientSecret: S.clientSecret, refreshToken: S.badRefreshToken },
      },
      ...trigger('get', 'get'),
      api('get', 'concur-get-report-details', 'cfg-ok', { version: 'v4' }),
      ...trigger('get-co', 'get-co'),
      api('get-co', 'concur-get-report-details', 'cfg-co', { version: 'v4' }),
      ...trigger('get-badsecret', 'get-badsecret'),
      api('get-badsecret', 'concur-get-report-details', 'cfg-badsecret', { version: 'v4' }),
      ...trigger('get-badrefresh', 'get-badrefresh'),
      api('get-badrefresh', 'concur-get-report-details', 'cfg-badrefresh', { version: 'v4' }),
      ...trigger('exc', 'exc'),
      api('exc', 'concur-post-exceptions', 'cfg-co', { version: 'v4', visibility: 'ALL' }),
      ...trigger('exc11', 'exc11'),
      api('exc11', 'concur-post-exceptions', 'cfg-ok', { version: 'v1.1', exceptions: '[{"exceptionCode":"APPRVTO"}]' }),
      ...trigger('wf', 'wf'),
      api('wf', 'concur-workflow-action', 'cfg-co', { version: 'v4', action: 'approve', comment: 'validated', endpoint: 'company' }),
      ...trigger('wf11', 'wf11'),
      api('wf11', 'concur-workflow-action', 'cfg-ok', { version: 'v1.1', action: 'approve', comment: 'ok' }),
      ...trigger('notif', 'notif'),
      api('notif', 'concur-notifications', 'cfg-ok', { operation: 'list-failed' }),
      ...trigger('subs', 'subs'),
      api('subs', 'concur-ess-subscriptions', 'cfg-ok', { operation: 'msg' }),
      ...trigger('subs-bad', 'subs-bad'),
      api('subs-bad', 'concur-ess-subscriptions', 'cfg-badsecret', { operation: 'list' }),
      ...trigger('inbox', 'inbox'),
      api('inbox', 'concur-reports-to-approve', 'cfg-ok', { userId: 'userId', userIdType: 'msg', output: 'each', includeDelegateApprovals: true }),
      ...trigger('who', 'who'),
      api('who', 'concur-user-lookup', 'cfg-co', { by: 'loginId', user: 'login', userType: 'msg', cacheSeconds: 60 }),
      ...trigger('cmt', 'cmt'),
      api('cmt', 'concur-report-comments', 'cfg-co', { operation: 'add', endpoint: 'company' }),
      ...trigger('img', 'img'),
      api('img', 'concur-receipt-images', 'cfg-co', { api: 'spenddocs', output: 'each' }),
      ...trigger('img1', 'img1'),
      api('img1', 'concur-receipt-images', 'cfg-ok', { api: 'image-v1', output: 'each' }),
      ...trigger('tr', 'tr'),
      api('tr', 'concur-travel-request', 'cfg-co', { operation: 'approve' }),
      ...trigger('gen', 'gen'),
      api('gen', 'concur-api-request', 'cfg-ok', { method: 'msg', output: 'parsed' }),
      ...trigger('gen-co', 'gen-co'),
      api('gen-co', 'concur-api-request', 'cfg-co', {
        method: 'GET',
        path: '/api/v3.0/expense/reports',
        pathType: 'str',
        query: '{"user":"ALL","limit":2}',
        queryType: 'json',
        paging: 'each',
        maxPages: 5,
      }),
      // Receivers.
      {
        id: 'legacy',
        type: 'concur-legacy-notify-in',
        z: Z,
        path: '/secrets/legacy',
        credentials: { username: LEGACY_USER, password: S.legacyPassword },
        wires: [['dbg']],
      },
      {
        id: 'ess',
        type: 'concur-ess-event-in',
        z: Z,
        path: '/secrets/ess',
        extraKeys: key.publicPem,
        storeName: 'secrets',
        rejectOutput: true,
        wires: [['dbg'], ['dbg']],
      },
      // Registers its subscription on deploy through the connection with the wrong secret (fails, logs, yellow status).
      {
        id: 'ess-reg',
        type: 'concur-ess-event-in',
        z: Z,
        path: '/secrets/ess-reg',
        extraKeys: key.publicPem,
        storeName: 'secrets-reg',
        server: 'cfg-badsecret',
        publicUrl: 'https://nodered.example.com/secrets/ess-reg',
        registerOnDeploy: true,
        wires: [['dbg']],
      },
      // Every caught error and every status change goes to the console too.
      { id: 'catch-all', type: 'catch', z: Z, scope: null, uncaught: false, wires: [['dbg']] },
      { id: 'status-all', type: 'status', z: Z, scope: null, wires: [['dbg']] },
      debugAll,
    ];
  }

  async function call(url, opts = {}) {
    const r = await request(url, opts);
    answers.push(`${opts.method || 'GET'} ${url} -> ${r.status} ${JSON.stringify(r.headers)} ${r.body}`);
    return r;
  }
  const fire = (name, body) => call(`${red.url}/t/${name}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const basic = (user, pw) => {
    const v = `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;
    authValues.push(v, v.slice(6));
    return v;
  };

  it('runs every node through good and failing paths, then finds no secret anywhere', async () => {
    const key = makeKeyPair();
    await red.deploy(flows(key));
    const href = (id = R1) => `${sim.url}/expensereports/v4/users/${JANE}/context/TRAVELER/reports/${id}`;
    const r1Path = new URL(href()).pathname;
    const xml = fs.readFileSync(path.join(__dirname, '..', 'corpus', 'legacy', 'valid-notification.xml'));
    const logLines = () => red.log();
    const debugCount = () => (red.log().match(/\[debug:everything\]|\[info\] \[debug:/g) || []).length;

    // ---- API nodes: success, 401 then a fresh token, server-side expired token, 404, config failures.
    await fire('get', { payload: { facts: { href: href() } } });
    failNext(sim, { method: 'GET', pathPrefix: r1Path, status: 401 });
    await fire('get', { payload: { facts: { href: href() } } });
    sim.expireTokens();
    await fire('get', { payload: { facts: { href: href() } } });
    await fire('get', { payload: { facts: { href: href('NOPE') } } });
    failNext(sim, { method: 'GET', pathPrefix: r1Path, status: 401, count: 5 });
    await fire('get', { payload: { facts: { href: href() } } });
    await fire('get-co', { payload: { facts: { href: href() } } });
    await fire('get-badsecret', { payload: { facts: { href: href() } } });
    await fire('get-badrefresh', { payload: { facts: { href: href() } } });
    await fire('exc', { msg: { reportId: R1, exceptions: [{ exceptionCode: 'POLVIOL' }] } });
    await fire('exc11', { msg: { reportKey: sim.state.reportById(R1).reportKey } });
    await fire('wf', { msg: { reportId: R1 } });
    await fire('wf11', {
      msg: { workflowActionUrl: `${sim.url}/api/expense/expensereport/v1.1/report/${sim.state.reportById(R3).currentStep.workflowActionKey}/WorkFlowAction` },
    });
    await fire('notif', {}); // the simulator's seeded failed notifications
    await fire('subs', { msg: { operation: 'put', subscriptionId: 'secret-hygiene' }, payload: { endpoint: 'https://nodered.example.com/secrets/ess' } });
    await fire('subs', { msg: { operation: 'list' } });
    await fire('subs-bad', {});
    // The ESS dialog's admin routes and the counters route answer without secrets too.
    await call(`${red.url}/concur-ess-event-in/subscriptions?config=cfg-ok&endpoint=${encodeURIComponent('https://nodered.example.com/secrets/ess')}`);
    await call(`${red.url}/concur-ess-event-in/subscriptions?config=cfg-badsecret`);
    await call(`${red.url}/concur-ess-event-in/ess/counters`);
    // The generic API node: a GET that needs a fresh token, paging, and a full URL to a stranger's host (refused).
    failNext(sim, { method: 'GET', pathPrefix: r1Path, status: 401 });
    await fire('gen', { msg: { method: 'GET', path: r1Path } });
    await fire('gen', { msg: { method: 'GET', path: `https://attacker.example.net${r1Path}` } });
    await fire('gen-co', {});
    await fire('tr', { msg: { requestId: '224AF3CDCC2A5244A37C72FA5770C6F2', userId: '7c3e9f12-a4b6-4d8e-8f0a-1b2c3d4e5f60' } });
    await fire('tr', { msg: { requestId: '224AF3CDCC2A5244A37C72FA5770C6F2' } });
    await fire('img', { msg: { reportId: R1, userId: JANE, companyId: sim.credentials.companyId } });
    await fire('img1', { msg: { reportId: R1 } });
    await fire('cmt', { msg: { reportId: R1, comment: 'hygiene check' } });
    await fire('cmt', { msg: { reportId: 'NOPE', comment: 'hygiene check' } });
    await fire('who', { msg: { login: 'jane.doe@globex.example' } });
    await fire('who', { msg: { login: 'nobody@globex.example' } });
    await fire('inbox', { msg: { userId: '7c3e9f12-a4b6-4d8e-8f0a-1b2c3d4e5f60' } });
    await fire('inbox', { msg: { userId: 'no-such-user' } });
    // The editor's "Test connection" button, with a good and a wrong secret.
    for (const [id, secret] of [
      ['cfg-ok', S.clientSecret],
      ['cfg-badsecret', S.wrongClientSecret],
    ]) {
      await call(`${red.url}/concur-config/${id}/test`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          geolocation: 'custom',
          baseUrl: sim.url,
          tokenEndpoint: 'api',
          grantType: 'refresh_token',
          credentials: { clientId: sim.credentials.clientId, clientSecret: secret, refreshToken: '__PWRD__' },
        }),
      });
    }

    // ---- legacy receiver: good, wrong password, no credentials, a stranger's bearer token, testconnection.
    const legacyUrl = `${red.url}/secrets/legacy`;
    const ok = await call(legacyUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/xml', authorization: basic(LEGACY_USER, S.legacyPassword) },
      body: xml,
    });
    assert.equal(ok.status, 200, ok.body);
    const wrong = await call(legacyUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/xml', authorization: basic(LEGACY_USER, S.wrongLegacyPassword) },
      body: xml,
    });
    assert.equal(wrong.status, 401);
    authValues.push(`Bearer ${S.strangerBearer}`);
    assert.equal(
      (await call(legacyUrl, { method: 'POST', headers: { 'content-type': 'application/xml', authorization: `Bearer ${S.strangerBearer}` }, body: xml }))
        .status,
      401,
    );
    assert.equal((await call(`${red.url}/system/v1.0/testconnection`, { headers: { authorization: basic(LEGACY_USER, S.legacyPassword) } })).status, 200);
    assert.equal((await call(`${red.url}/system/v1.0/testconnection`, { headers: { authorization: basic(LEGACY_USER, S.wrongLegacyPassword) } })).status, 401);

    // ---- ESS receiver: good event, and a bad signature carrying a stranger's Authorization (rejected output on).
    const essUrl = `${red.url}/secrets/ess`;
    const essId = crypto.randomUUID();
    const body = Buffer.from(essEvent(essId));
    assert.equal(
      (await call(essUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'concur-signature': signBody(body, key.privateKey) }, body }))
        .status,
      200,
    );
    const bad = await call(essUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'concur-signature': signBody(Buffer.from('other'), key.privateKey),
        authorization: `Bearer ${S.strangerBearer}`,
        cookie: `session=${S.strangerBearer}`,
      },
      body: Buffer.from(essEvent(crypto.randomUUID())),
    });
    assert.equal(bad.status, 401);

    // ---- let asynchronous errors, statuses and debug output settle
    await new Promise((r) => setTimeout(r, 1500));

    // The test must have exercised what it claims: tokens issued, errors caught, debug output produced.
    const issued = sim.issuedTokens();
    assert.ok(issued.length >= 4, `the simulator issued tokens (${issued.length})`);
    const grants = sim.tokenRequests();
    assert.ok(
      grants.some((t) => t.refreshTokenSha256 === fingerprint(S.badRefreshToken) && t.oauthCode === 108),
      'the bad refresh token was tried',
    );
    assert.ok(
      grants.some((t) => t.status === 401 && t.oauthError === 'invalid_client'),
      'the wrong client secret was tried',
    );
    // Every API node reached the simulator and got its answer (so their outputs were printed).
    const answered = (method, re) => sim.requests.some((r) => r.method === method && re.test(r.path) && r.status >= 200 && r.status < 300);
    assert.ok(answered('PUT', /\/exceptions$/), 'v4 exceptions posted');
    assert.ok(answered('POST', /\/Exceptions$/), 'v1.1 exceptions posted');
    assert.ok(answered('PATCH', /\/approve$/), 'v4 approve sent');
    assert.ok(answered('POST', /\/WorkFlowAction$/i), 'v1.1 workflow action sent');
    assert.ok(answered('GET', /\/notification$/), 'failed notifications listed');
    assert.ok(answered('PUT', /\/events\/v4\/subscriptions\/webhook$/), 'a subscription saved');
    assert.match(answers.join('\n'), /"id":"secret-hygiene"/, 'the subscription list was answered');
    assert.ok(answered('GET', /\/reportsToApprove$/), 'the inbox was listed');
    assert.ok(answered('POST', /^\/travelrequest\/v4\/requests\/[^/]+\/approve$/), 'a travel request was approved');
    assert.ok(answered('GET', /^\/spend-documents\/v4\/receipts$/), 'receipt images fetched');
    assert.ok(answered('GET', /^\/imaging\/file\//), 'an Image v1 link fetched');
    assert.ok(answered('POST', /\/comments$/), 'a comment was added');
    assert.ok(answered('GET', /^\/profile\/identity\/v4\/Users$/), 'a user was looked up');
    assert.ok(sim.requests.filter((r) => r.path === '/api/v3.0/expense/reports' && r.status === 200).length >= 3, 'the generic node paged');
    assert.ok(sim.requests.filter((r) => r.path === r1Path && r.status === 401).length >= 1, 'the generic node met a 401');
    assert.ok(debugCount() >= 15, `debug nodes printed messages (${debugCount()})`);
    const log = logLines();
    assert.match(log, /concurError|HTTP_404|invalid_client|invalid_grant/, 'failing paths reached the log/debug output');
    assert.match(log, /rejected/i, 'the ESS rejected output was printed');
    assert.match(log, /ESS subscription "node-red-ess-reg" could not be registered/, 'the failed registration was logged');
    // Positive controls: message contents really are in the searched text (so a leak would be found).
    assert.ok(log.includes(essId), 'the ESS event printed by the debug node is in the log');
    assert.ok(log.includes('Client visit Berlin'), 'the fetched report printed by the debug node is in the log');
    assert.match(log, /\[debug:everything\][\s\S]*concurError/, 'a caught API error was printed by the debug node');

    // ---- the search
    const exported = await request(`${red.url}/flows`, { headers: { 'Node-RED-API-Version': 'v1' } });
    const flowsOnDisk = fs.readFileSync(path.join(red.opts.userDir, 'flows.json'), 'utf8');
    const needles = [
      ...Object.entries(S).map(([k, v]) => [k, v]),
      ...issued.map((t, i) => [`issued token #${i}`, t]),
      ...authValues.map((v, i) => [`Authorization value #${i}`, v]),
    ];
    const haystacks = {
      'Node-RED log (incl. debug console output)': log,
      'HTTP answers': answers.join('\n'),
      'GET /flows': exported.body,
      'flows.json': flowsOnDisk,
    };
    const leaks = [];
    for (const [where, text] of Object.entries(haystacks)) {
      for (const [what, secret] of needles) if (text.includes(secret)) leaks.push(`${what} in ${where}`);
    }
    process.stdout.write(
      `      checked ${needles.length} secret values (${issued.length} issued tokens) in ${Object.keys(haystacks).length} outputs (${Math.round(log.length / 1024)} KB of log, ${debugCount()} debug lines)\n`,
    );
    assert.deepEqual(leaks, [], leaks.join('\n'));
    // The exported flow still names the credential fields (as has_password flags), without values.
    const exportedNodes = JSON.parse(exported.body);
    const cfg = (Array.isArray(exportedNodes) ? exportedNodes : exportedNodes.flows).find((n) => n.id === 'cfg-ok');
    assert.ok(cfg && !cfg.credentials, 'credentials are not exported with the flow');
  });
});
