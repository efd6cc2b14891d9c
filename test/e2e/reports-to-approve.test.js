'use strict';
/**
 * concur-reports-to-approve end to end (real Node-RED + simulator): an
 * approver's inbox as one message per report or one array, delegate
 * approvals, sort/order, the catch-up chain inbox → report (MANAGER context) →
 * approve as the approver, retries, and bad input refused before sending.
 */
const assert = require('node:assert/strict');
const { startApiHarness } = require('../helpers/api-flow');
const { failNext, requestsTo, apiRequests } = require('../helpers/simulator-client');

const R3 = '9F1C3B7E22D84A6B9C05'; // owner Jane, pending at MANAGER (Sam)
const JANE = 'e1a0b7c4-5d2f-4c8a-9b1e-3f6d2a8c7e10';
const SAM = '7c3e9f12-a4b6-4d8e-8f0a-1b2c3d4e5f60';
const PAT = '90f1e2d3-c4b5-4a69-8788-a9b0c1d2e3f4'; // Sam's delegate
const INBOX = /\/users\/[^/]+\/context\/MANAGER\/reportsToApprove$/;

describe('concur-reports-to-approve in a real Node-RED against the simulator', function () {
  this.timeout(90000);
  let h;
  let sim;

  before(async () => {
    h = await startApiHarness({ fields: ['reportId', 'userId', 'reportOwnerId', 'parts'] });
    sim = h.sim;
    const f = h.flows(
      [
        { name: 'each', type: 'concur-reports-to-approve', userId: 'userId', userIdType: 'msg', output: 'each' },
        { name: 'array', type: 'concur-reports-to-approve', userId: 'userId', userIdType: 'msg', output: 'array', sort: 'reportDate', order: 'desc' },
        { name: 'delegate', type: 'concur-reports-to-approve', userId: PAT, userIdType: 'str', includeDelegateApprovals: true, output: 'array' },
        // Catch-up: every report in Sam's inbox is fetched in the MANAGER context and approved as Sam.
        { name: 'catchup', type: 'concur-reports-to-approve', userId: 'APPROVER', userIdType: 'env', output: 'each', next: 'cu-get' },
      ],
      [
        { id: 'cu-get', type: 'concur-get-report-details', server: 'cfg', version: 'v4', context: 'MANAGER', wires: [['cu-wf']] },
        {
          id: 'cu-wf',
          type: 'concur-workflow-action',
          server: 'cfg',
          version: 'v4',
          action: 'approve',
          endpoint: 'user',
          comment: 'caught up',
          wires: [['$ok']],
        },
      ],
    );
    f.find((n) => n.type === 'tab').env = [{ name: 'APPROVER', value: SAM, type: 'str' }];
    await h.red.deploy(f);
  });
  beforeEach(() => {
    sim.state.reset();
    sim.resetFaults();
  });
  after(() => h && h.stop());

  it('one message per report: reportId, the approver as userId, the owner, parts', async () => {
    const m = await h.expectOk('each', { msg: { userId: SAM, correlationId: 'corr-inbox' } });
    assert.equal(m.reportId, R3);
    assert.equal(m.userId, SAM);
    assert.equal(m.reportOwnerId, JANE);
    assert.deepEqual(
      [m.payload.reportId, m.payload.name, m.payload.approver.employeeUuid, m.payload.employee.employeeId],
      [R3, 'Conference Chicago', SAM, 'E1001'],
    );
    assert.deepEqual([m.parts.index, m.parts.count], [0, 1]);
    assert.deepEqual([m.concur.reportsToApprove.count, m.concur.reportsToApprove.approver], [1, SAM]);
    const call = requestsTo(sim, INBOX).at(-1);
    assert.equal(call.path, `/expensereports/v4/users/${SAM}/context/MANAGER/reportsToApprove`);
    assert.equal(call.correlationId, 'corr-inbox');
    const nested = await h.expectOk('each', { msg: { userId: SAM, parts: { id: 'outer', index: 2, count: 3, type: 'array' } } });
    assert.deepEqual(nested.parts.parts, { id: 'outer', index: 2, count: 3, type: 'array' }, 'an incoming msg.parts is kept nested');
  });

  it('one array, sorted; an approver with nothing to approve; delegate approvals', async () => {
    let m = await h.expectOk('array', { msg: { userId: SAM } });
    assert.deepEqual(
      m.payload.map((r) => r.reportId),
      [R3],
    );
    assert.equal(requestsTo(sim, INBOX).at(-1).query, 'sort=reportDate&order=desc');
    m = await h.expectOk('array', { msg: { userId: JANE } });
    assert.deepEqual(m.payload, []);
    m = await h.expectOk('delegate', {});
    assert.deepEqual(
      m.payload.map((r) => r.reportId),
      [R3],
      "Pat sees Sam's report as a delegate",
    );
    assert.equal(requestsTo(sim, INBOX).at(-1).query, 'includeDelegateApprovals=true');
    // Nothing to approve and one message per report: nothing is sent.
    h.collector.clear();
    await h.fire('each', { tag: 'each', msg: { userId: JANE } });
    assert.equal((await h.collector.settle(600)).length, 0);
  });

  it('catch-up chain: inbox → report in the MANAGER context → approve as the approver', async () => {
    const m = await h.expectOk('catchup', {});
    assert.deepEqual([m.payload.action, m.payload.status], ['approve', 204]);
    assert.equal(sim.state.reportById(R3).approvalStatus, 'A_EXTV', 'the manager step is done');
    assert.equal(sim.state.reportById(R3).comments.at(-1).comment, 'caught up');
    const calls = apiRequests(sim)
      .slice(-3)
      .map((r) => `${r.method} ${r.path}`);
    assert.deepEqual(calls, [
      `GET /expensereports/v4/users/${SAM}/context/MANAGER/reportsToApprove`,
      `GET /expensereports/v4/users/${SAM}/context/MANAGER/reports/${R3}`,
      `PATCH /expensereports/v4/users/${SAM}/context/MANAGER/reports/${R3}/approve`,
    ]);
  });

  it('retries 429 and 503 (GET), then answers; errors and bad ids reach the Catch node, bad ids send nothing', async () => {
    failNext(sim, { method: 'GET', pathPrefix: `/expensereports/v4/users/${SAM}/context/MANAGER/reportsToApprove`, status: 429, retryAfter: 0 });
    failNext(sim, { method: 'GET', pathPrefix: `/expensereports/v4/users/${SAM}/context/MANAGER/reportsToApprove`, status: 503, count: 2 });
    const n = requestsTo(sim, INBOX).length;
    await h.expectOk('array', { msg: { userId: SAM } });
    assert.deepEqual(
      requestsTo(sim, INBOX)
        .slice(n)
        .map((r) => r.status),
      [429, 503, 503, 200],
    );
    let e = await h.expectErr('array', { msg: { userId: 'no-such-user' } });
    assert.deepEqual([e.concurError.status, e.concurError.code], [404, 'HTTP_404']);
    const before = apiRequests(sim).length;
    for (const bad of ['..', '%2e%2E', '.']) {
      e = await h.expectErr('array', { msg: { userId: bad } });
      assert.equal(e.concurError.code, 'INVALID_INPUT');
      assert.match(e.concurError.message, /dot segment/);
    }
    e = await h.expectErr('array', { msg: {} });
    assert.match(e.concurError.message, /approver's user id \(msg\.userId\) is required/);
    assert.equal(apiRequests(sim).length, before, 'nothing sent');
    const odd = await h.expectOk('array', { msg: { userId: 'a/b?c' } }).catch((err) => err);
    assert.ok(odd instanceof Error, 'an unknown id with / and ? fails');
    assert.ok(requestsTo(sim, /a%2Fb%3Fc/).length === 1, 'escaped into one path segment');
  });
});
