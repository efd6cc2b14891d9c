'use strict';
/**
 * concur-receipt-images end to end (real Node-RED + simulator): v4 reports
 * through the expenses' receiptImageId and Spend Documents v4 (bytes + content
 * type, one message per image or one array, one expense, company id from the
 * ESS event), legacy keys through Image v1 (the pre-signed link fetched
 * without the token), retries and bad input.
 */
const assert = require('node:assert/strict');
const { startApiHarness } = require('../helpers/api-flow');
const { failNext, requestsTo, apiRequests } = require('../helpers/simulator-client');

const R1 = 'CB899F7D9F73420A8D8B'; // Jane, three expenses with images
const R2 = '4D2E8A61B0C94F7FA311'; // Chris, one of three expenses has an image
const JANE = 'e1a0b7c4-5d2f-4c8a-9b1e-3f6d2a8c7e10';
const CHRIS = '3b8d1e6a-9c2f-47a5-b0e4-6d7f8a9b0c21';
const PNG = [0x89, 0x50, 0x4e, 0x47];
const bytes = (b) => Buffer.from(b.data);

describe('concur-receipt-images in a real Node-RED against the simulator', function () {
  this.timeout(90000);
  let h;
  let sim;

  before(async () => {
    h = await startApiHarness({ fields: ['contentType', 'receipt', 'parts'] });
    sim = h.sim;
    await h.deploy([
      { name: 'each', type: 'concur-receipt-images', api: 'spenddocs', context: 'TRAVELER', output: 'each', server: 'cfg2' },
      { name: 'array', type: 'concur-receipt-images', api: 'spenddocs', context: 'TRAVELER', output: 'array', server: 'cfg2' },
      { name: 'v1', type: 'concur-receipt-images', api: 'image-v1', output: 'each', server: 'cfg2' },
    ]);
  });
  beforeEach(() => {
    sim.state.reset();
    sim.resetFaults();
  });
  after(() => h && h.stop());

  it('v4 report: one message per receipt image, PNG bytes with their content type', async () => {
    const company = sim.credentials.companyId;
    const n = apiRequests(sim).length;
    const msgs = await h.expectOk('each', { msg: { reportId: R1, userId: JANE, companyId: company, correlationId: 'corr-img' } }, 3);
    const expenses = sim.state.reportById(R1).expenses.map((e) => e.expenseId);
    assert.deepEqual(msgs.map((m) => m.receipt.expenseId).sort(), [...expenses].sort());
    for (const m of msgs) {
      assert.equal(m.contentType, 'image/png');
      assert.equal(m.payload.type, 'Buffer');
      assert.deepEqual([...bytes(m.payload).subarray(0, 4)], PNG);
      assert.equal(m.receipt.bytes, m.payload.data.length);
      assert.equal(m.parts.count, 3);
    }
    assert.equal(new Set(msgs.map((m) => bytes(m.payload).toString('base64'))).size, 3, 'a different image per expense');
    const calls = apiRequests(sim).slice(n);
    assert.equal(calls[0].path, `/expensereports/v4/users/${JANE}/context/TRAVELER/reports/${R1}/expenses`);
    for (const c of calls.slice(1)) {
      assert.equal(c.path, '/spend-documents/v4/receipts');
      const q = new URLSearchParams(c.query);
      assert.deepEqual([q.get('companyId'), q.get('type')], [company, 'display']);
      assert.match(q.get('imageId'), /^IMG/);
      assert.equal(c.correlationId, 'corr-img');
    }
    assert.equal(calls.length, 4);
  });

  it('one array; only expenses with an image; one expense; company id from the ESS event', async () => {
    let m = await h.expectOk('array', { msg: { reportId: R2, userId: CHRIS, companyId: sim.credentials.companyId } });
    assert.equal(m.payload.length, 1);
    assert.equal(m.payload[0].expenseId, 'E8C6A4F2D0B84E6C2A0F8D6B4E2C0A8F');
    assert.deepEqual([...bytes(m.payload[0].data).subarray(0, 4)], PNG);
    const e = sim.state.reportById(R1).expenses[2].expenseId;
    m = await h.expectOk('array', {
      msg: { reportId: R1, userId: JANE, expenseId: e, concur: { event: { facts: { companyId: sim.credentials.companyId } } } },
    });
    assert.deepEqual(
      m.payload.map((x) => x.expenseId),
      [e],
    );
    assert.equal(requestsTo(sim, /\/expenses\//).at(-1).path, `/expensereports/v4/users/${JANE}/context/TRAVELER/reports/${R1}/expenses/${e}`);
  });

  it('Image v1: the report as one PDF and an entry image; the link is fetched without the token', async () => {
    let m = await h.expectOk('v1', { msg: { reportId: R1 } });
    assert.equal(m.contentType, 'application/pdf');
    assert.match(bytes(m.payload).toString('latin1'), /^%PDF-1\.4/);
    assert.equal(requestsTo(sim, /^\/api\/image\/v1\.0\/report\//).at(-1).path, `/api/image/v1.0/report/${R1}`);
    const link = requestsTo(sim, /^\/imaging\/file\//).at(-1);
    assert.equal(link.status, 200);
    assert.equal(link.tokenKind, undefined, 'no Authorization on the pre-signed link');
    assert.ok(!JSON.stringify(m.receipt).includes('?'), "the link's query is not passed on");
    const key = sim.state.reportById(R1).expenses[0].rpeKey;
    m = await h.expectOk('v1', { msg: { reportId: R1, expenseId: key } });
    assert.equal(m.contentType, 'image/png');
    assert.equal(requestsTo(sim, /^\/api\/image\/v1\.0\/expenseentry\//).at(-1).path, `/api/image/v1.0/expenseentry/${encodeURIComponent(key)}`);
  });

  it('retries 503 on the image GET; errors and bad input (nothing sent) reach the Catch node', async () => {
    failNext(sim, { method: 'GET', pathPrefix: '/spend-documents/v4/receipts', status: 503 });
    const n = requestsTo(sim, /^\/spend-documents\//).length;
    await h.expectOk('array', { msg: { reportId: R2, userId: CHRIS, companyId: sim.credentials.companyId } });
    assert.deepEqual(
      requestsTo(sim, /^\/spend-documents\//)
        .slice(n)
        .map((r) => r.status),
      [503, 200],
    );
    let e = await h.expectErr('array', { msg: { reportId: R2, userId: CHRIS, companyId: 'other-company' } });
    assert.deepEqual([e.concurError.status, e.concurError.code], [404, 'HTTP_404']);
    const before = apiRequests(sim).length;
    e = await h.expectErr('array', { msg: { reportId: R2, userId: CHRIS } });
    assert.match(e.concurError.message, /company id \(msg.companyId\) is required/);
    e = await h.expectErr('array', { msg: { reportId: '..', userId: CHRIS, companyId: 'x' } });
    assert.match(e.concurError.message, /dot segment/);
    e = await h.expectErr('v1', { msg: { reportId: R1, expenseId: '%2E%2E' } });
    assert.match(e.concurError.message, /dot segment/);
    assert.equal(apiRequests(sim).length, before, 'nothing sent');
    e = await h.expectErr('v1', { msg: { reportId: '71E0D5A9C3B24F18BE6A', expenseId: 'nope' } });
    assert.equal(e.concurError.status, 404);
  });
});

describe('concur-receipt-images: per-image messages keep the input _msgid (flow completion covers every image)', function () {
  this.timeout(60000);
  let h;
  const LEGACY = { user: 'concur-connector-user', password: 'completion-test-pw-42' };

  before(async () => {
    h = await startApiHarness({ fields: ['receipt'] });
    await h.red.deploy(
      h.flows(
        [],
        [
          {
            id: 'leg',
            type: 'concur-legacy-notify-in',
            path: '/t/legacy',
            ackMode: 'complete',
            ackTimeout: 20,
            credentials: { username: LEGACY.user, password: LEGACY.password },
            wires: [['leg-fn']],
          },
          {
            id: 'leg-fn',
            type: 'function',
            func: `msg.reportId = '${R1}'; msg.userId = '${JANE}'; msg.companyId = '${'b5a4d2f0-8c1e-4f3a-9d6b-2e7c1a0f9b31'}'; msg.tag = 'legacy'; return msg;`,
            outputs: 1,
            wires: [['leg-img']],
          },
          { id: 'leg-img', type: 'concur-receipt-images', server: 'cfg2', api: 'spenddocs', output: 'each', wires: [['leg-slow']] },
          // Image n leaves after (n + 1) × 250 ms: the last one 500 ms after the first.
          {
            id: 'leg-slow',
            type: 'function',
            func: 'setTimeout(() => { node.send(msg); node.done(); }, 250 * (msg.parts.index + 1));\nreturn null;',
            outputs: 1,
            wires: [['$ok']],
          },
        ],
      ),
    );
  });
  after(() => h && h.stop());

  it('the legacy callout is acknowledged only after the last image went through the flow', async () => {
    h.collector.clear();
    const r = await h.sim.sendLegacy({ to: `${h.red.url}/t/legacy`, user: LEGACY.user, password: LEGACY.password, reportId: R1, recordFailure: false });
    assert.equal(r.status, 200, `${r.body}: ${(h.red.log().match(/answered 500[^\n]*/g) || []).join(' | ')}`);
    const arrived = h.collector.received.filter((m) => m.path === '/ok' && m.body.tag === 'legacy');
    assert.equal(arrived.length, 3, 'all three images had reached the end of the flow when Concur got its answer');
  });
});
