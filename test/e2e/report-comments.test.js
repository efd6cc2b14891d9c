'use strict';
/**
 * concur-report-comments end to end (real Node-RED + simulator's Comments v4):
 * read report-header / expense / all-level comments as the system user and in
 * a user context, add comments (201 + uri), the { commentDetails } variant,
 * POST not repeated after a 5xx but after a 429, and bad input refused.
 */
const assert = require('node:assert/strict');
const { startApiHarness } = require('../helpers/api-flow');
const { failNext, requestsTo, apiRequests } = require('../helpers/simulator-client');

const R1 = 'CB899F7D9F73420A8D8B';
const R3 = '9F1C3B7E22D84A6B9C05'; // seeded: one header and one expense comment by Jane
const E31 = 'F1D3B5A7C9E14F3D5B7A9C1E3F5D7B9A';
const JANE = 'e1a0b7c4-5d2f-4c8a-9b1e-3f6d2a8c7e10';
const SAM = '7c3e9f12-a4b6-4d8e-8f0a-1b2c3d4e5f60';

describe('concur-report-comments in a real Node-RED against the simulator', function () {
  this.timeout(90000);
  let h;
  let sim;

  const nodes = [
    { name: 'read', type: 'concur-report-comments', operation: 'read', endpoint: 'company', server: 'cfg2' },
    { name: 'readall', type: 'concur-report-comments', operation: 'read', endpoint: 'company', includeAll: true, server: 'cfg2' },
    { name: 'readuser', type: 'concur-report-comments', operation: 'read', endpoint: 'user', context: 'MANAGER', userId: 'approver', userIdType: 'msg' },
    { name: 'add', type: 'concur-report-comments', operation: 'add', endpoint: 'company', server: 'cfg2' },
    {
      name: 'adduser',
      type: 'concur-report-comments',
      operation: 'add',
      endpoint: 'user',
      context: 'TRAVELER',
      comment: '"Note from " & who',
      commentType: 'jsonata',
    },
  ];

  before(async () => {
    h = await startApiHarness();
    sim = h.sim;
    await h.deploy(nodes);
  });
  beforeEach(() => {
    sim.state.reset();
    sim.resetFaults();
  });
  after(() => h && h.stop());

  it("reads report-header comments, one expense's comments, and all levels (documented fields)", async () => {
    let m = await h.expectOk('read', { msg: { reportId: R3, correlationId: 'corr-c1' } });
    assert.deepEqual(
      m.payload.map((c) => [c.comment, c.expenseId]),
      [['Conference ticket and hotel for KubeCon; receipts attached.', null]],
    );
    const c = m.payload[0];
    assert.deepEqual([c.author.employeeUuid, c.author.employeeId, c.createdForEmployeeId, c.isAuditorComment, c.isLatest], [JANE, 'E1001', JANE, false, true]);
    assert.match(c.creationDate, /^2026-11-13T/);
    assert.equal(requestsTo(sim, /\/comments$/).at(-1).path, `/expensereports/v4/reports/${R3}/comments`);
    assert.equal(requestsTo(sim, /\/comments$/).at(-1).correlationId, 'corr-c1');
    m = await h.expectOk('read', { msg: { reportId: R3, expenseId: E31 } });
    assert.deepEqual(
      m.payload.map((x) => x.comment),
      ['Early-bird price.'],
    );
    m = await h.expectOk('readall', { msg: { reportId: R3 } });
    assert.equal(m.payload.length, 2);
    assert.equal(requestsTo(sim, /\/comments$/).at(-1).query, 'includeAllComments=true');
    m = await h.expectOk('readuser', { msg: { reportId: R3, approver: SAM } });
    assert.equal(m.payload.length, 1);
    assert.equal(requestsTo(sim, /\/comments$/).at(-1).path, `/expensereports/v4/users/${SAM}/context/MANAGER/reports/${R3}/comments`);
    assert.deepEqual([m.concur.comments.operation, m.concur.comments.count], ['read', 1]);
  });

  it('adds comments as the system user and as the owner (comment from JSONata); they read back', async () => {
    let m = await h.expectOk('add', { msg: { reportId: R1, comment: 'Checked by the validation robot.' } });
    assert.deepEqual([m.payload.added, m.payload.status], [true, 201]);
    assert.equal(m.payload.uri, `${sim.url}/expensereports/v4/reports/${R1}/comments`);
    m = await h.expectOk('add', { msg: { reportId: R1, expenseId: sim.state.reportById(R1).expenses[1].expenseId, comment: 'Taxi receipt ok.' } });
    m = await h.expectOk('adduser', { msg: { reportId: R1, userId: JANE, who: 'Jane' } });
    const stored = sim.state.reportById(R1).comments.map((x) => [x.comment, x.expenseId ?? null, x.authorUserId ?? null]);
    assert.deepEqual(stored, [
      ['Checked by the validation robot.', null, null],
      ['Taxi receipt ok.', sim.state.reportById(R1).expenses[1].expenseId, null],
      ['Note from Jane', null, JANE],
    ]);
    const posts = apiRequests(sim)
      .filter((r) => r.method === 'POST')
      .slice(-3)
      .map((r) => `${r.path} ${r.status}`);
    assert.deepEqual(posts, [
      `/expensereports/v4/reports/${R1}/comments 201`,
      `/expensereports/v4/reports/${R1}/expenses/${sim.state.reportById(R1).expenses[1].expenseId}/comments 201`,
      `/expensereports/v4/users/${JANE}/context/TRAVELER/reports/${R1}/comments 201`,
    ]);
    m = await h.expectOk('readall', { msg: { reportId: R1 } });
    assert.equal(m.payload.length, 3);
  });

  it('POST: a 503 is not repeated (the comment is not doubled), a 429 is', async () => {
    failNext(sim, { method: 'POST', pathPrefix: `/expensereports/v4/reports/${R1}/comments`, status: 503 });
    const n = requestsTo(sim, /\/comments$/).length;
    const e = await h.expectErr('add', { msg: { reportId: R1, comment: 'once' } });
    assert.equal(e.concurError.status, 503);
    assert.equal(requestsTo(sim, /\/comments$/).length - n, 1);
    assert.equal(sim.state.reportById(R1).comments.length, 0);
    failNext(sim, { method: 'POST', pathPrefix: `/expensereports/v4/reports/${R1}/comments`, status: 429, retryAfter: 0 });
    await h.expectOk('add', { msg: { reportId: R1, comment: 'after 429' } });
    assert.deepEqual(
      sim.state.reportById(R1).comments.map((c) => c.comment),
      ['after 429'],
    );
  });

  it('bad input is refused before sending; 404 for an unknown report reaches the Catch node', async () => {
    const before = apiRequests(sim).length;
    /** @type {Array<[Record<string, string>, RegExp]>} */
    const bad = [
      [{ reportId: R1 }, /comment .* is required/],
      [{ reportId: R1, comment: '   ' }, /comment .* is required/],
      [{ reportId: R1, comment: 'x'.repeat(2001) }, /at most 2000/],
      [{ comment: 'x' }, /report id \(msg.reportId\) is required/],
      [{ reportId: '..', comment: 'x' }, /dot segment/],
      [{ reportId: R1, expenseId: '%2e%2e', comment: 'x' }, /dot segment/],
    ];
    for (const [msg, re] of bad) {
      const e = await h.expectErr('add', { msg });
      assert.equal(e.concurError.code, 'INVALID_INPUT');
      assert.match(e.concurError.message, re);
    }
    let e = await h.expectErr('adduser', { msg: { reportId: R1, who: 'x' } });
    assert.match(e.concurError.message, /user id \(msg.userId\)/);
    assert.equal(apiRequests(sim).length, before);
    e = await h.expectErr('read', { msg: { reportId: 'NOPE' } });
    assert.deepEqual([e.concurError.status, e.concurError.code], [404, 'HTTP_404']);
  });

  it('reads the { commentDetails } variant of the answer too', async () => {
    const h2 = await startApiHarness({ simOptions: { commentsShape: 'wrapped' } });
    try {
      await h2.deploy([{ name: 'read', type: 'concur-report-comments', operation: 'read', endpoint: 'company', includeAll: true, server: 'cfg2' }]);
      const m = await h2.expectOk('read', { msg: { reportId: R3 } });
      assert.equal(m.payload.length, 2);
    } finally {
      await h2.stop();
    }
  });
});
