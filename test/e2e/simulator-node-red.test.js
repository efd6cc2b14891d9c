'use strict';
/**
 * The simulator as the backend of a REAL Node-RED runtime (core nodes only,
 * so this does not depend on the package's own nodes): a flow fetches a
 * token and a v4 report from the simulator and approves it; the simulator
 * then delivers the signed statusChanged ESS event into another flow, and a
 * legacy callout lands in a third.
 */
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startRed, request } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');
const { startCollector, collectorNodes } = require('../helpers/collector');
const { startSimulator } = require('../../dist/simulator/index.js');
const { appToken, call } = require('../helpers/simulator-client');

const R1 = 'CB899F7D9F73420A8D8B';

// Node-RED treats nodes without x/y as config nodes, so every flow node gets a position.
let y = 0;
const at = () => ({ x: 200, y: (y += 40) });
function fn(id, func, wires) {
  return { id, type: 'function', z: 'tab', name: id, func, outputs: 1, wires: [wires], ...at() };
}
function httpReq(id, ret, wires) {
  return {
    id,
    type: 'http request',
    z: 'tab',
    name: id,
    method: 'use',
    ret,
    paytoqs: 'ignore',
    url: '',
    tls: '',
    persist: false,
    proxy: '',
    authType: '',
    senderr: false,
    headers: [],
    wires: [wires],
    ...at(),
  };
}
function httpIn(id, url, wires) {
  return { id, type: 'http in', z: 'tab', name: id, url, method: 'post', upload: false, swaggerDoc: '', wires: [wires], ...at() };
}
function httpRes(id) {
  return { id, type: 'http response', z: 'tab', name: id, statusCode: '', headers: {}, wires: [], ...at() };
}

describe('simulator behind a real Node-RED', function () {
  this.timeout(90000);
  let sim;
  let red;
  let collector;
  let keyDir;

  before(async () => {
    keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-sim-keys-'));
    sim = await startSimulator({ port: 0, keyDir, delivery: { initialDelayMs: 50, retentionMs: 10000 } });
    collector = await startCollector();
    red = await startRed();
    const ess = collectorNodes({ idPrefix: 'colEss', z: 'tab', url: collector.url, pathName: '/ess', fields: ['payload', 'sig', 'corr'] });
    const legacy = collectorNodes({ idPrefix: 'colLegacy', z: 'tab', url: collector.url, pathName: '/legacy', fields: ['payload', 'basicUser'] });
    await red.deploy([
      { id: 'tab', type: 'tab', label: 'simulator e2e' },
      // Approval flow: the caller posts the simulator coordinates and credentials (nothing secret is stored in the flow).
      httpIn('trigger', '/approve', ['getToken']),
      fn(
        'getToken',
        `const c = msg.payload; msg.ctx = c;
msg.method = 'POST'; msg.url = c.simUrl + '/oauth2/v0/token';
msg.headers = { 'content-type': 'application/x-www-form-urlencoded' };
msg.payload = new URLSearchParams({ grant_type: 'password', credtype: 'authtoken', username: c.companyId, password: c.requestToken, client_id: c.clientId, client_secret: c.clientSecret }).toString();
return msg;`,
        ['tokenReq'],
      ),
      httpReq('tokenReq', 'obj', ['getReport']),
      fn(
        'getReport',
        `const c = msg.ctx; msg.bearer = 'Bearer ' + msg.payload.access_token;
msg.method = 'GET'; msg.url = c.simUrl + '/expensereports/v4/users/' + c.ownerId + '/context/TRAVELER/reports/' + c.reportId;
msg.headers = { authorization: msg.bearer }; delete msg.payload; return msg;`,
        ['reportReq'],
      ),
      httpReq('reportReq', 'obj', ['rule']),
      fn(
        'rule',
        `const c = msg.ctx; const r = msg.payload;
msg.before = r.approvalStatusId;
const ok = r.reportTotal.value <= 1000;
msg.method = 'PATCH'; msg.url = c.simUrl + '/expensereports/v4/reports/' + c.reportId + (ok ? '/approve' : '/sendBack');
msg.headers = { authorization: msg.bearer, 'content-type': 'application/json' };
msg.payload = ok ? { comment: 'Validated by Node-RED', expectedStepCode: 'EXTVAL' } : { comment: 'Over the limit' };
return msg;`,
        ['actReq'],
      ),
      httpReq('actReq', 'txt', ['answer']),
      fn('answer', `msg.payload = { actionStatus: msg.statusCode, before: msg.before }; msg.statusCode = 200; msg.headers = {}; return msg;`, ['trigRes']),
      httpRes('trigRes'),
      // ESS receiver (core http in parses the JSON; the exact-bytes check belongs to concur-ess-event-in).
      httpIn('essIn', '/concur/ess', ['essFn']),
      fn('essFn', `msg.sig = msg.req.headers['concur-signature']; msg.corr = msg.req.headers['concur-correlationid']; return msg;`, ['essRes', ess.inputId]),
      httpRes('essRes'),
      ...ess.nodes,
      // Legacy callout receiver.
      httpIn('legacyIn', '/concur/v1.0/notify', ['legacyFn']),
      fn(
        'legacyFn',
        `const a = msg.req.headers.authorization || ''; msg.basicUser = Buffer.from(a.replace(/^Basic /, ''), 'base64').toString().split(':')[0]; return msg;`,
        ['legacyRes', legacy.inputId],
      ),
      httpRes('legacyRes'),
      ...legacy.nodes,
    ]);
  });
  after(async () => {
    await teardown({ red, collector, sim });
    fs.rmSync(keyDir, { recursive: true, force: true });
  });

  it('a flow approves a report on the simulator, and the simulator delivers the signed statusChanged event back into Node-RED', async () => {
    const app = (await appToken(sim)).access_token;
    const sub = await call(sim, 'PUT', '/events/v4/subscriptions/webhook', {
      token: app,
      json: { id: 'node-red-e2e', filter: 'statusChanged', topic: 'public.concur.expense.report', webHookConfig: { endpoint: `${red.url}/concur/ess` } },
    });
    assert.equal(sub.status, 200);
    const c = sim.credentials;
    const r = await request(`${red.url}/approve`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        simUrl: sim.url,
        clientId: c.clientId,
        clientSecret: c.clientSecret,
        companyId: c.companyId,
        requestToken: c.companyRequestToken,
        reportId: R1,
        ownerId: sim.state.reportById(R1).ownerUserId,
      }),
    });
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(JSON.parse(r.body), { actionStatus: 204, before: 'A_EXTV' });
    assert.equal(sim.state.reportById(R1).approvalStatus, 'A_APPR');
    const [msg] = await collector.waitFor(1, 15000, '/ess');
    const env = msg.body.payload;
    assert.deepEqual([env.eventType, env.facts.reportId, env.facts.currentApprovalStatus], ['statusChanged', R1, 'A_APPR']);
    assert.equal(msg.body.corr, env.correlationId);
    // The simulator signs JSON.stringify(envelope); re-serialising the parsed payload gives the same bytes.
    const ok = crypto.verify(
      'sha256',
      Buffer.from(JSON.stringify(env)),
      { key: sim.essKeys().publicKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: crypto.constants.RSA_PSS_SALTLEN_AUTO },
      Buffer.from(msg.body.sig, 'base64'),
    );
    assert.ok(ok, 'signature verifies with the simulator public key');
    await sim.deliveriesIdle();
    assert.equal(sim.events.find((e) => e.id === env.id).deliveries[0].outcome, 'delivered');
  });

  it('a legacy callout from the simulator reaches a Node-RED flow with Basic auth', async () => {
    const res = await sim.sendLegacy({
      to: `${red.url}/concur/v1.0/notify`,
      user: 'concur-connector',
      password: 'Demo-Password-1',
      reportId: '4D2E8A61B0C94F7FA311',
    });
    assert.equal(res.status, 200);
    const [msg] = await collector.waitFor(1, 15000, '/legacy');
    assert.equal(msg.body.basicUser, 'concur-connector');
    assert.match(String(msg.body.payload), /<ObjectURI>[^<]*reportfulldetails\/nbe1LDA99RdTx0fUEuZiYd5WW8afkjew\$p<\/ObjectURI>/);
  });
});
