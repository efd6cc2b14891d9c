'use strict';
/**
 * The simulator's newer Concur APIs over HTTP (no Node-RED): Identity v4,
 * reportsToApprove (schema, delegates, sort), Comments v4, Spend Documents v4
 * and Image v1 receipt images, Travel Request v4, their error shapes, and
 * fault injection on them.
 */
const assert = require('node:assert/strict');
const { startSimulator } = require('../../dist/simulator/index.js');
const { companyToken, call, failNext } = require('../helpers/simulator-client');
const { request } = require('../helpers/red-runtime');

const JANE = 'e1a0b7c4-5d2f-4c8a-9b1e-3f6d2a8c7e10';
const SAM = '7c3e9f12-a4b6-4d8e-8f0a-1b2c3d4e5f60';
const PAT = '90f1e2d3-c4b5-4a69-8788-a9b0c1d2e3f4';
const R1 = 'CB899F7D9F73420A8D8B';
const R3 = '9F1C3B7E22D84A6B9C05';
const TR1 = '224AF3CDCC2A5244A37C72FA5770C6F2';

describe('simulator: Identity v4, reportsToApprove, comments, receipt images, Travel Request v4', function () {
  this.timeout(30000);
  let sim;
  let t;
  const get = (p) => call(sim, 'GET', p, { token: t });

  before(async () => {
    sim = await startSimulator({ port: 0, deliverEvents: false });
    t = (await companyToken(sim)).access_token;
  });
  beforeEach(() => {
    sim.state.reset();
    sim.resetFaults();
  });
  after(() => sim.stop());

  it('Identity v4: user by id, filters, ListResponse paging, SCIM errors', async () => {
    let r = await get(`/profile/identity/v4/Users/${JANE}`);
    assert.equal(r.status, 200);
    const ent = r.json['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'];
    assert.deepEqual(
      [r.json.userName, ent.employeeNumber, ent.manager.value, ent.companyId],
      ['jane.doe@globex.example', 'E1001', SAM, sim.credentials.companyId],
    );
    r = await get('/profile/identity/v4/Users?filter=' + encodeURIComponent('employeeNumber eq "E1004"'));
    assert.deepEqual(
      r.json.Resources.map((u) => u.id),
      [PAT],
    );
    r = await get('/profile/identity/v4/Users?count=2&startIndex=3');
    assert.deepEqual([r.json.totalResults, r.json.startIndex, r.json.itemsPerPage], [4, 3, 2]);
    r = await get('/profile/identity/v4/Users?filter=' + encodeURIComponent('title eq "x"'));
    assert.equal(r.status, 400);
    r = await get('/profile/identity/v4/Users/nope');
    assert.deepEqual(
      [r.status, r.json.schemas[0], r.json.status, r.json.detail],
      [404, 'urn:ietf:params:scim:api:messages:2.0:Error', '404', 'User nope not found'],
    );
    assert.equal((await call(sim, 'GET', `/profile/identity/v4/Users/${JANE}`)).status, 401, 'a token is needed');
  });

  it('reportsToApprove: documented schema, delegates, sort/order, bad parameters', async () => {
    let r = await get(`/expensereports/v4/users/${SAM}/context/MANAGER/reportsToApprove`);
    assert.deepEqual(
      Object.keys(r.json[0]).sort(),
      [
        'amountDueEmployee',
        'approver',
        'claimedAmount',
        'employee',
        'hasExceptions',
        'links',
        'name',
        'reportDate',
        'reportId',
        'reportNumber',
        'reportType',
        'submitDate',
        'totalApprovedAmount',
      ].sort(),
    );
    assert.deepEqual([r.json[0].approver.employeeUuid, r.json[0].employee.employeeUuid], [SAM, JANE]);
    assert.deepEqual((await get(`/expensereports/v4/users/${PAT}/context/MANAGER/reportsToApprove`)).json, []);
    r = await get(`/expensereports/v4/users/${PAT}/context/MANAGER/reportsToApprove?includeDelegateApprovals=true`);
    assert.deepEqual(
      r.json.map((x) => x.reportId),
      [R3],
    );
    assert.equal((await get(`/expensereports/v4/users/${PAT}/context/MANAGER/reportsToApprove?includeDelegateApprovals=yes`)).status, 400);
    assert.equal((await get(`/expensereports/v4/users/${SAM}/context/MANAGER/reportsToApprove?sort=colour`)).status, 400);
    assert.equal((await get(`/expensereports/v4/users/${SAM}/context/MANAGER/reportsToApprove?sort=reportDate&order=sideways`)).status, 400);
  });

  it('comments: seeded, levels, user context, POST 201 + uri, validation', async () => {
    let r = await get(`/expensereports/v4/reports/${R3}/comments?includeAllComments=true`);
    assert.equal(r.json.length, 2);
    r = await call(sim, 'POST', `/expensereports/v4/users/${JANE}/context/TRAVELER/reports/${R1}/comments`, { token: t, json: { comment: 'hi' } });
    assert.deepEqual([r.status, r.json.uri], [201, `${sim.url}/expensereports/v4/users/${JANE}/context/TRAVELER/reports/${R1}/comments`]);
    r = await get(`/expensereports/v4/users/${JANE}/context/TRAVELER/reports/${R1}/comments`);
    assert.deepEqual(
      r.json.map((c) => [c.comment, c.author.employeeUuid]),
      [['hi', JANE]],
    );
    assert.equal((await call(sim, 'POST', `/expensereports/v4/reports/${R1}/comments`, { token: t, json: { comment: '' } })).status, 400);
    assert.equal((await get(`/expensereports/v4/users/${JANE}/context/PROCESSOR/reports/${R1}/comments`)).status, 400);
    assert.equal((await get(`/expensereports/v4/reports/${R1}/expenses/NOPE/comments`)).status, 404);
  });

  it('receipt images: receiptImageId on expenses, Spend Documents by query and by receipt id, Image v1 links', async () => {
    const ex = (await get(`/expensereports/v4/users/${JANE}/context/TRAVELER/reports/${R1}/expenses`)).json;
    const img = ex[0].receiptImageId;
    assert.match(img, /^IMG/);
    const q = (type) => `/spend-documents/v4/receipts?imageId=${img}&companyId=${sim.credentials.companyId}${type ? `&type=${type}` : ''}`;
    const bytes = await request(`${sim.url}${q('display')}`, { headers: { Authorization: `Bearer ${t}` } });
    assert.equal(bytes.headers['content-type'], 'image/png');
    const meta = (await get(q())).json;
    assert.equal(meta.metadata.imageId, img);
    const rep = meta.documents.find((d) => d.representation === 'compliance').href.replace(sim.url, '');
    assert.equal((await call(sim, 'GET', rep, { token: t })).status, 200);
    assert.equal((await get(q('thumbnail'))).status, 400);
    const err = await get(`/spend-documents/v4/receipts?imageId=NOPE&companyId=${sim.credentials.companyId}&type=display`);
    assert.deepEqual([err.status, err.json.status, typeof err.json.timestamp], [404, '404', 'string']);
    const x = await call(sim, 'GET', `/api/image/v1.0/report/${R1}`, { token: t, headers: { Accept: 'application/xml' } });
    assert.match(x.body, /<Image xmlns="http:\/\/www\.concursolutions\.com\/api\/image\/2011\/02"/);
    assert.match(x.body, /<Url>[^<]*&amp;e=sim<\/Url>/, 'the Url is XML-encoded as the docs say');
    const link = /<Url>([^<]*)<\/Url>/.exec(x.body)[1].replace(/&amp;/g, '&');
    const pdf = await request(link);
    assert.equal(pdf.status, 200);
    assert.match(pdf.body, /^%PDF/);
  });

  it('Travel Request v4: get, approve as the approver, error body { errorCode, errorMessage }, faults', async () => {
    let r = await get(`/travelrequest/v4/requests/${TR1}`);
    assert.deepEqual([r.json.approvalStatus.code, r.json.operations.map((o) => o.rel)], ['SUBMITTED', ['approve', 'sendback']]);
    r = await call(sim, 'POST', `/travelrequest/v4/requests/${TR1}/approve`, { token: t });
    assert.deepEqual([r.status, r.json.errorCode], [400, 'missingRequiredParam']);
    r = await call(sim, 'POST', `/travelrequest/v4/requests/${TR1}/submit?userId=${SAM}`, { token: t });
    assert.deepEqual([r.status, r.json.errorCode], [400, 'unsupportedParam']);
    failNext(sim, { method: 'POST', pathPrefix: '/travelrequest/', status: 503 });
    r = await call(sim, 'POST', `/travelrequest/v4/requests/${TR1}/approve?userId=${SAM}`, { token: t });
    assert.equal(r.status, 503);
    assert.equal(sim.state.travelRequests.get(TR1).status, 'SUBMITTED', 'an injected fault changes nothing');
    r = await call(sim, 'POST', `/travelrequest/v4/requests/${TR1}/approve?userId=${SAM}`, { token: t });
    assert.deepEqual([r.status, r.json.approvalStatus.code], [200, 'APPROVED']);
    const st = await call(sim, 'GET', '/_sim/state');
    assert.equal(st.json.travelRequests.find((x) => x.id === TR1).status, 'APPROVED');
    const ev = sim.buildRequestEvent('053A479B3C9DD847B02A203C657AE26B');
    assert.deepEqual(
      [ev.topic, ev.eventType, ev.facts.role, ev.facts.status],
      ['public.concur.request', 'statusChange.PENDING.ExternalValidation', 'ExternalValidation', 'PendingExternalValidation'],
    );
  });
});
