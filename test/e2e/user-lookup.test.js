'use strict';
/**
 * concur-user-lookup end to end (real Node-RED + simulator's Identity v4):
 * by user id, login id and employee id; the summary (name, e-mail, manager,
 * ids); the cache (hits across keys, expiry, off); not found / ambiguous /
 * bad input; retries; and the chain login id → reports to approve.
 */
const assert = require('node:assert/strict');
const { startApiHarness } = require('../helpers/api-flow');
const { failNext, requestsTo, apiRequests } = require('../helpers/simulator-client');

const JANE = 'e1a0b7c4-5d2f-4c8a-9b1e-3f6d2a8c7e10';
const SAM = '7c3e9f12-a4b6-4d8e-8f0a-1b2c3d4e5f60';
const R3 = '9F1C3B7E22D84A6B9C05';
const USERS = /^\/profile\/identity\/v4\/Users/;

describe('concur-user-lookup in a real Node-RED against the simulator', function () {
  this.timeout(90000);
  let h;
  let sim;

  before(async () => {
    h = await startApiHarness({ fields: ['user', 'userId'] });
    sim = h.sim;
    await h.deploy(
      [
        { name: 'byid', type: 'concur-user-lookup', by: 'id', user: 'userId', userType: 'msg', cacheSeconds: 600, server: 'cfg2' },
        { name: 'bylogin', type: 'concur-user-lookup', by: 'loginId', user: 'payload.login', userType: 'msg', cacheSeconds: 0, server: 'cfg2' },
        { name: 'byemp', type: 'concur-user-lookup', by: 'employeeId', user: 'E1003', userType: 'str', cacheSeconds: 1, setUserId: false, server: 'cfg2' },
        { name: 'chain', type: 'concur-user-lookup', by: 'loginId', user: 'login', userType: 'msg', cacheSeconds: 60, server: 'cfg2', next: 'ch-inbox' },
      ],
      [{ id: 'ch-inbox', type: 'concur-reports-to-approve', server: 'cfg2', userId: 'userId', userIdType: 'msg', output: 'array', wires: [['$ok']] }],
    );
  });
  beforeEach(() => {
    sim.state.reset();
    sim.resetFaults();
  });
  after(() => h && h.stop());

  it('by user id: name, e-mail, manager and ids; the second lookup comes from the cache', async () => {
    const n = requestsTo(sim, USERS).length;
    let m = await h.expectOk('byid', { msg: { userId: JANE, correlationId: 'corr-user' } });
    assert.deepEqual(m.payload, {
      userId: JANE,
      loginId: 'jane.doe@globex.example',
      employeeId: 'E1001',
      displayName: 'Jane Doe',
      givenName: 'Jane',
      familyName: 'Doe',
      email: 'jane.doe@globex.example',
      active: true,
      companyId: sim.credentials.companyId,
      manager: { userId: SAM, displayName: 'Sam Lee', employeeId: 'E1002' },
    });
    assert.equal(m.user.id, JANE);
    assert.equal(m.userId, JANE);
    assert.deepEqual([m.concur.userLookup.by, m.concur.userLookup.cached], ['id', false]);
    assert.equal(requestsTo(sim, USERS).at(-1).path, `/profile/identity/v4/Users/${JANE}`);
    assert.equal(requestsTo(sim, USERS).at(-1).correlationId, 'corr-user');
    m = await h.expectOk('byid', { msg: { userId: JANE.toUpperCase() } });
    assert.equal(m.concur.userLookup.cached, true);
    assert.equal(m.payload.displayName, 'Jane Doe');
    assert.equal(requestsTo(sim, USERS).length - n, 1, 'one request for two lookups');
  });

  it('by login id (filter userName eq) and by employee id (filter employeeNumber eq); cache expiry', async () => {
    let m = await h.expectOk('bylogin', { payload: { login: 'Sam.Lee@globex.example' } });
    assert.equal(m.payload.userId, SAM);
    assert.equal(m.userId, SAM);
    const q = new URLSearchParams(requestsTo(sim, USERS).at(-1).query);
    assert.equal(q.get('filter'), 'userName eq "Sam.Lee@globex.example"');
    await h.expectOk('bylogin', { payload: { login: 'sam.lee@globex.example' } });
    const n = requestsTo(sim, USERS).length;
    m = await h.expectOk('byemp', { msg: { userId: 'kept' } });
    assert.equal(m.payload.loginId, 'chris.miller@globex.example');
    assert.equal(m.userId, 'kept', 'setUserId off');
    assert.equal(new URLSearchParams(requestsTo(sim, USERS).at(-1).query).get('filter'), 'employeeNumber eq "E1003"');
    m = await h.expectOk('byemp', {});
    assert.equal(m.concur.userLookup.cached, true);
    await new Promise((r) => setTimeout(r, 1100));
    m = await h.expectOk('byemp', {});
    assert.equal(m.concur.userLookup.cached, false, 'expired after 1 s');
    assert.equal(requestsTo(sim, USERS).length - n, 2);
  });

  it('not found, unknown id, bad input (nothing sent), 503 retried', async () => {
    let e = await h.expectErr('bylogin', { payload: { login: 'nobody@globex.example' } });
    assert.deepEqual([e.concurError.status, e.concurError.code], [404, 'USER_NOT_FOUND']);
    e = await h.expectErr('byid', { msg: { userId: 'no-such-id' } });
    assert.deepEqual([e.concurError.status, e.concurError.code], [404, 'HTTP_404']);
    assert.match(e.concurError.message, /User no-such-id not found/);
    const before = apiRequests(sim).length;
    e = await h.expectErr('bylogin', { payload: { login: 'x" or userName eq "y' } });
    assert.match(e.concurError.message, /must not contain quotes/);
    e = await h.expectErr('byid', { msg: { userId: '..' } });
    assert.match(e.concurError.message, /dot segment/);
    e = await h.expectErr('byid', { msg: {} });
    assert.match(e.concurError.message, /user id is required/);
    assert.equal(apiRequests(sim).length, before);
    failNext(sim, { method: 'GET', pathPrefix: '/profile/identity/v4/Users', status: 503 });
    const n = requestsTo(sim, USERS).length;
    await h.expectOk('bylogin', { payload: { login: 'jane.doe@globex.example' } });
    assert.deepEqual(
      requestsTo(sim, USERS)
        .slice(n)
        .map((r) => r.status),
      [503, 200],
    );
  });

  it('chain: login id → user id → reports to approve', async () => {
    const m = await h.expectOk('chain', { msg: { login: 'sam.lee@globex.example' } });
    assert.deepEqual(
      m.payload.map((r) => r.reportId),
      [R3],
    );
    assert.equal(m.userId, SAM);
  });
});
