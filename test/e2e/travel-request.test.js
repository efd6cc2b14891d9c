'use strict';
/**
 * concur-travel-request end to end (real Node-RED + simulator's Travel
 * Request v4): read by id or from an ESS request event, approve / send back
 * (with userId and comment), external validation without a user, Concur's
 * refusals with their errorCode, POST not repeated after a 5xx, bad input.
 */
const assert = require('node:assert/strict');
const { startApiHarness } = require('../helpers/api-flow');
const { failNext, requestsTo, apiRequests } = require('../helpers/simulator-client');

const TR1 = '224AF3CDCC2A5244A37C72FA5770C6F2'; // Jane's, pending Sam
const TR2 = '053A479B3C9DD847B02A203C657AE26B'; // Chris's, at external validation
const TR3 = '8C1D2E3F4A5B4C6D8E9F0A1B2C3D4E5F'; // approved
const JANE = 'e1a0b7c4-5d2f-4c8a-9b1e-3f6d2a8c7e10';
const SAM = '7c3e9f12-a4b6-4d8e-8f0a-1b2c3d4e5f60';
const TR = /^\/travelrequest\/v4\/requests\//;

describe('concur-travel-request in a real Node-RED against the simulator', function () {
  this.timeout(90000);
  let h;
  let sim;

  before(async () => {
    h = await startApiHarness({ fields: ['requestId', 'travelRequest'] });
    sim = h.sim;
    await h.deploy([
      { name: 'get', type: 'concur-travel-request', operation: 'get', server: 'cfg2' },
      { name: 'approve', type: 'concur-travel-request', operation: 'approve', server: 'cfg2' },
      {
        name: 'sendback',
        type: 'concur-travel-request',
        operation: 'sendback',
        comment: '"Please book the cheaper hotel, " & who',
        commentType: 'jsonata',
        server: 'cfg2',
      },
      { name: 'act', type: 'concur-travel-request', operation: 'msg', actionFrom: 'decision', actionFromType: 'msg', server: 'cfg2' },
    ]);
  });
  beforeEach(() => {
    sim.state.reset();
    sim.resetFaults();
  });
  after(() => h && h.stop());

  const event = (id) => ({
    id: 'ev-tr',
    topic: 'public.concur.request',
    eventType: 'statusChange.PENDING.RequestManager',
    correlationId: 'corr-tr',
    facts: { requestId: '333T', id, href: `https://emea.api.concursolutions.com/travelrequest/v4/requests/${id}` },
  });

  it('reads a Request by id, from an ESS request event (facts.id), and from facts.href alone', async () => {
    let m = await h.expectOk('get', { msg: { requestId: TR1, userId: JANE } });
    assert.deepEqual([m.payload.id, m.payload.requestId, m.payload.approvalStatus.code, m.requestId], [TR1, '333T', 'SUBMITTED', TR1]);
    assert.deepEqual(m.travelRequest, m.payload);
    const r = requestsTo(sim, TR).at(-1);
    assert.deepEqual([r.method, r.path, r.query], ['GET', `/travelrequest/v4/requests/${TR1}`, `userId=${JANE}`]);
    m = await h.expectOk('get', { payload: event(TR2) });
    assert.equal(m.payload.id, TR2);
    assert.equal(m.concur.event.topic, 'public.concur.request', 'the event is kept');
    assert.equal(requestsTo(sim, TR).at(-1).correlationId, 'corr-tr');
    assert.equal(requestsTo(sim, TR).at(-1).query, undefined, 'no userId when none is given');
    m = await h.expectOk('get', { payload: { facts: { href: `${sim.url}/travelrequest/v4/requests/${TR3}` } } });
    assert.equal(m.payload.approvalStatus.code, 'APPROVED');
  });

  it('approves as the approver; sends back with a comment (JSONata); external validation needs no user', async () => {
    let m = await h.expectOk('approve', { msg: { requestId: TR1, userId: SAM } });
    assert.equal(m.payload.approvalStatus.code, 'APPROVED');
    let r = requestsTo(sim, TR).at(-1);
    assert.deepEqual([r.method, r.path, r.query, r.status], ['POST', `/travelrequest/v4/requests/${TR1}/approve`, `userId=${SAM}`, 200]);
    sim.state.reset();
    m = await h.expectOk('sendback', { msg: { requestId: TR1, userId: SAM, who: 'Sam' } });
    assert.equal(m.payload.approvalStatus.code, 'SENTBACK');
    assert.deepEqual(
      sim.state.travelRequests.get(TR1).comments.map((c) => [c.comment, c.by]),
      [['Please book the cheaper hotel, Sam', SAM]],
    );
    r = requestsTo(sim, TR).at(-1);
    assert.equal(r.path, `/travelrequest/v4/requests/${TR1}/sendback`);
    m = await h.expectOk('approve', { payload: event(TR2) });
    assert.equal(m.payload.approvalStatus.code, 'APPROVED');
    m = await h.expectOk('act', { msg: { requestId: TR1, decision: 'get' } });
    assert.equal(m.payload.approvalStatus.code, 'SENTBACK');
    const e = await h.expectErr('act', { msg: { requestId: TR1, decision: 'cancel' } });
    assert.match(e.concurError.message, /action must be approve or sendback/);
  });

  it("Concur's refusals reach the Catch node with the errorCode", async () => {
    let e = await h.expectErr('approve', { msg: { requestId: TR1 } });
    assert.deepEqual([e.concurError.status, e.concurError.code], [400, 'missingRequiredParam']);
    e = await h.expectErr('approve', { msg: { requestId: TR1, userId: JANE } });
    assert.deepEqual([e.concurError.status, e.concurError.code], [403, 'permissionDenied']);
    e = await h.expectErr('approve', { msg: { requestId: TR3, userId: SAM } });
    assert.deepEqual([e.concurError.status, e.concurError.code], [403, 'permissionDenied']);
    e = await h.expectErr('get', { msg: { requestId: 'NOPE' } });
    assert.deepEqual([e.concurError.status, e.concurError.code], [404, 'notFound']);
    assert.equal(sim.state.travelRequests.get(TR1).status, 'SUBMITTED');
  });

  it('POST approve is not repeated after a 503, but after a 429; GET retried after a 503; bad ids send nothing', async () => {
    failNext(sim, { method: 'POST', pathPrefix: `/travelrequest/v4/requests/${TR1}/approve`, status: 503 });
    let n = requestsTo(sim, TR).length;
    let e = await h.expectErr('approve', { msg: { requestId: TR1, userId: SAM } });
    assert.equal(e.concurError.status, 503);
    assert.equal(requestsTo(sim, TR).length - n, 1);
    failNext(sim, { method: 'POST', pathPrefix: `/travelrequest/v4/requests/${TR1}/approve`, status: 429, retryAfter: 0 });
    n = requestsTo(sim, TR).length;
    await h.expectOk('approve', { msg: { requestId: TR1, userId: SAM } });
    assert.deepEqual(
      requestsTo(sim, TR)
        .slice(n)
        .map((r) => r.status),
      [429, 200],
    );
    failNext(sim, { method: 'GET', pathPrefix: `/travelrequest/v4/requests/${TR2}`, status: 502 });
    n = requestsTo(sim, TR).length;
    await h.expectOk('get', { msg: { requestId: TR2 } });
    assert.deepEqual(
      requestsTo(sim, TR)
        .slice(n)
        .map((r) => r.status),
      [502, 200],
    );
    const before = apiRequests(sim).length;
    for (const bad of ['..', '%2e%2e']) {
      e = await h.expectErr('approve', { msg: { requestId: bad, userId: SAM } });
      assert.match(e.concurError.message, /dot segment/);
    }
    e = await h.expectErr('get', { payload: { something: 'else' } });
    assert.match(e.concurError.message, /request id \(msg.requestId\) is required/);
    e = await h.expectErr('sendback', { msg: { requestId: TR1, userId: SAM, who: 'x'.repeat(2000) } });
    assert.match(e.concurError.message, /at most 2000/);
    assert.equal(apiRequests(sim).length, before);
  });
});
