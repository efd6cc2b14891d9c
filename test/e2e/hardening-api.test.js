'use strict';
/**
 * End to end (real Node-RED, Concur simulator on loopback): the API-side items
 * of the security review (issue 12): ids made of dot segments, ...
 */
const assert = require('node:assert/strict');
const { startRed, request } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');
const { startCollector, collectorNodes } = require('../helpers/collector');
const { startSimulator } = require('../../dist/simulator/index.js');
const fs = require('node:fs');
const path = require('node:path');
const { apiRequests } = require('../helpers/simulator-client');

const Z = 'tab-hard';
const REFRESH = 'configured-refresh-token-HARDEN';
const R1 = 'CB899F7D9F73420A8D8B';

describe('hardening: API nodes in a real Node-RED against the simulator', function () {
  this.timeout(90000);
  let red;
  let collector;
  let sim;

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

  function flows() {
    const ok = collectorNodes({ idPrefix: 'ok', z: Z, url: collector.url, pathName: '/ok', fields: ['tag', 'payload'] });
    const err = collectorNodes({ idPrefix: 'err', z: Z, url: collector.url, pathName: '/err', fields: ['tag', 'concurError', 'error'] });
    const c = sim.credentials;
    const node = (id, type, extra) => ({ id, type, z: Z, server: 'cfg', wires: [[ok.inputId]], ...extra });
    const nodes = [
      { id: Z, type: 'tab', label: 'hardening' },
      {
        id: 'cfg',
        type: 'concur-config',
        name: 'simulator',
        geolocation: 'custom',
        baseUrl: sim.url,
        tokenEndpoint: 'api',
        followGeolocation: true,
        timeout: 10,
        retries: 2,
        retryDelay: 5,
        retryMaxDelay: 20,
        expirySkew: 60,
        grantType: 'refresh_token',
        credentials: { clientId: c.clientId, clientSecret: c.clientSecret, refreshToken: REFRESH },
      },
      ...trigger('wf', 'wf'),
      node('wf', 'concur-workflow-action', { version: 'v4', action: 'approve', endpoint: 'company' }),
      ...trigger('get', 'get'),
      node('get', 'concur-get-report-details', { version: 'v3' }),
      ...trigger('exc', 'exc'),
      node('exc', 'concur-post-exceptions', { version: 'v4', visibility: 'ALL' }),
      { id: 'catch-all', type: 'catch', z: Z, scope: null, uncaught: false, wires: [[err.inputId]] },
      ...ok.nodes,
      ...err.nodes,
    ];
    return nodes.map((n, i) => (n.z && n.x === undefined ? { x: 100 + (i % 5) * 150, y: 40 + Math.floor(i / 5) * 40, ...n } : n));
  }

  async function fire(name, body) {
    const r = await request(`${red.url}/t/${name}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(r.status, 200, r.body);
  }

  async function expectErr(name, body) {
    collector.clear();
    await fire(name, { tag: name, ...body });
    const got = await collector.waitFor(1, 15000, '/err');
    assert.equal((await collector.settle(200)).filter((m) => m.path === '/ok').length, 0, 'nothing on the output');
    return got[0].body;
  }

  before(async () => {
    sim = await startSimulator({ port: 0, deliverEvents: false, refreshTokens: [REFRESH] });
    collector = await startCollector();
    red = await startRed();
    await red.deploy(flows());
  });
  beforeEach(() => {
    sim.state.reset();
    sim.resetFaults();
  });
  after(() => teardown({ red, collector, sim }));

  it('a report id of "..", "%2e%2e" or "." goes to Catch as INVALID_INPUT and nothing reaches Concur', async () => {
    const before = apiRequests(sim).length;
    for (const id of ['..', '%2e%2e', '.%2E', '.']) {
      let e = await expectErr('wf', { msg: { reportId: id, comment: 'x' } });
      assert.equal(e.concurError.code, 'INVALID_INPUT', JSON.stringify(e));
      assert.match(e.concurError.message, /msg\.reportId .* dot segment/);
      e = await expectErr('get', { msg: { reportId: id } });
      assert.equal(e.concurError.code, 'INVALID_INPUT', JSON.stringify(e));
      e = await expectErr('exc', { msg: { reportId: R1, exceptions: [{ exceptionCode: 'POLVIOL', expenseId: id }] } });
      assert.equal(e.concurError.code, 'INVALID_INPUT', JSON.stringify(e));
      assert.match(e.concurError.message, /expense id .* dot segment/);
    }
    const sent = apiRequests(sim)
      .slice(before)
      .map((r) => `${r.method} ${r.path}`);
    assert.deepEqual(sent, [], 'no API request was sent');
    assert.equal(sim.state.reportById(R1).approvalStatus, 'A_EXTV', 'nothing approved');
  });

  const testConn = (id, body) =>
    request(`${red.url}/concur-config/${id}/test`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

  it('preset geolocation: the http://127.0.0.1 geolocation the token endpoint names is not followed (Test connection shows the preset)', async () => {
    const c = sim.credentials;
    // Token from a custom endpoint (the simulator), API base a preset: the simulator names itself (http, not Concur) as geolocation.
    const r = await testConn('geo-node', {
      geolocation: 'us2',
      tokenEndpoint: 'custom',
      tokenUrl: sim.url,
      grantType: 'client_credentials',
      credentials: { clientId: c.clientId, clientSecret: c.clientSecret },
    });
    assert.equal(r.status, 200, r.body);
    const b = JSON.parse(r.body);
    assert.equal(b.apiBase, 'https://us2.api.concursolutions.com');
    assert.equal(b.geolocation, null);
  });

  it('a 429 from the token endpoint during a refresh is waited out: the flow succeeds with the stored rotated token, which is kept', async () => {
    collector.clear();
    await fire('get', { tag: 'warm', msg: { reportId: R1 } });
    await collector.waitFor(1, 15000, '/ok');
    const file = path.join(red.opts.userDir, 'concur-tokens', 'cfg.json');
    const before = JSON.parse(fs.readFileSync(file, 'utf8')).refreshToken;
    assert.notEqual(before, REFRESH, 'Concur rotated the configured token');
    sim.expireTokens(); // the access token dies: the next call needs a refresh
    sim.setFaults({ failNext: [{ pathPrefix: '/oauth2/v0/token', status: 429, retryAfter: 1, count: 1 }] });
    const n = sim.tokenRequests().length;
    collector.clear();
    await fire('get', { tag: 'after-429', msg: { reportId: R1 } });
    const got = await collector.waitFor(1, 20000);
    assert.equal(got[0].path, '/ok', JSON.stringify(got[0].body));
    assert.deepEqual(
      sim
        .tokenRequests()
        .slice(n)
        .map((r) => [r.grantType, r.status]),
      [
        ['refresh_token', 429],
        ['refresh_token', 200],
      ],
    );
    const after = JSON.parse(fs.readFileSync(file, 'utf8')).refreshToken;
    assert.ok(after && after !== before && after !== REFRESH, 'the newly rotated token is stored');
  });

  describe('Test connection never sends the stored secrets anywhere else', () => {
    let trap;
    const seen = [];
    before(async () => {
      // A loopback server standing in for an attacker's URL: it records every request body.
      const http = require('node:http');
      trap = http.createServer((req, res) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
          seen.push(Buffer.concat(chunks).toString('utf8'));
          res.writeHead(401, { 'Content-Type': 'application/json' });
          res.end('{"error":"invalid_client"}');
        });
      });
      await new Promise((r) => trap.listen(0, '127.0.0.1', r));
    });
    after(() => new Promise((r) => trap.close(r)));
    const trapUrl = () => `http://127.0.0.1:${trap.address().port}`;
    const base = () => ({ geolocation: 'custom', baseUrl: sim.url, tokenEndpoint: 'api', grantType: 'refresh_token' });
    const kept = () => ({ clientId: sim.credentials.clientId, clientSecret: '__PWRD__', refreshToken: '__PWRD__' });

    it('another base URL, token URL or grant with the secrets left as stored: 400 SECRETS_REQUIRED, nothing sent', async () => {
      seen.length = 0;
      for (const body of [
        { ...base(), baseUrl: trapUrl(), credentials: kept() },
        { ...base(), baseUrl: trapUrl(), credentials: {} },
        { ...base(), tokenEndpoint: 'custom', tokenUrl: trapUrl(), credentials: kept() },
        { ...base(), grantType: 'client_credentials', credentials: { clientId: sim.credentials.clientId, clientSecret: '__PWRD__' } },
      ]) {
        const r = await testConn('cfg', body);
        assert.equal(r.status, 400, r.body);
        const b = JSON.parse(r.body);
        assert.equal(b.error, 'SECRETS_REQUIRED');
        assert.match(b.message, /type the client secret .*again/);
      }
      assert.deepEqual(seen, [], 'no request reached the other URL');
    });

    it('typed secrets may be tested anywhere on https or loopback; unchanged settings still use the stored ones', async () => {
      seen.length = 0;
      const r = await testConn('cfg', {
        ...base(),
        baseUrl: trapUrl(),
        credentials: { clientId: 'id', clientSecret: 'typed-secret', refreshToken: 'typed-refresh' },
      });
      assert.equal(r.status, 502, r.body);
      assert.equal(seen.length, 1);
      assert.ok(!seen[0].includes(sim.credentials.clientSecret), 'the stored secret was not sent');
      const same = await testConn('cfg', { ...base(), credentials: kept() });
      assert.equal(same.status, 200, same.body);
    });

    it('plain http:// to a non-loopback host is refused before anything is sent', async () => {
      // 0.0.0.0 is not a loopback address by name, but a connection to it stays on this machine (the test sends nothing off-host).
      for (const body of [
        { ...base(), baseUrl: 'http://0.0.0.0:9', credentials: { clientId: 'id', clientSecret: 'typed', refreshToken: 'typed' } },
        {
          ...base(),
          geolocation: 'us2',
          tokenEndpoint: 'custom',
          tokenUrl: 'http://0.0.0.0:9/',
          credentials: { clientId: 'id', clientSecret: 'typed', refreshToken: 'typed' },
        },
      ]) {
        const r = await testConn('new-node', body);
        assert.equal(r.status, 400, r.body);
        const b = JSON.parse(r.body);
        assert.equal(b.error, 'INSECURE_URL');
        assert.match(b.message, /plain http:\/\/ to 0\.0\.0\.0:9: use https/);
      }
    });
  });
});
