'use strict';
/**
 * The simulator's fake Concur API over real loopback HTTP: OAuth2 grants and
 * rotation, bearer checks, every endpoint family, state changes visible across
 * API versions, and fault injection.
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { XMLParser } = require('fast-xml-parser');
const { startSimulator } = require('../../dist/simulator/index.js');
const { tokenRequest, companyToken, appToken, call, clientFields } = require('../helpers/simulator-client');

const xml = new XMLParser({ removeNSPrefix: true, ignoreAttributes: false, parseTagValue: false });
const R1 = 'CB899F7D9F73420A8D8B'; // EXTVAL, owner Jane
const R2 = '4D2E8A61B0C94F7FA311'; // EXTVAL, owner Chris, workflow key with a bare %
const R3 = '9F1C3B7E22D84A6B9C05'; // MANAGER step, approver Sam
const R5 = '0A6B4C2D9E8F41A3B7D1'; // not submitted

describe('simulator API', function () {
  this.timeout(30000);
  let sim;
  let keyDir;
  let company;

  before(async () => {
    keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-sim-keys-'));
    sim = await startSimulator({ port: 0, keyDir, deliverEvents: false });
  });
  after(async () => {
    if (sim) await sim.stop();
    fs.rmSync(keyDir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    sim.state.reset();
    sim.resetFaults();
    company = await companyToken(sim);
  });

  const report = (id) => sim.state.reportById(id);
  const v4Path = (id, ctx = 'TRAVELER', user = report(id).ownerUserId) => `/expensereports/v4/users/${user}/context/${ctx}/reports/${id}`;
  const getV4 = async (id) => {
    const r = await call(sim, 'GET', v4Path(id), { token: company.access_token });
    assert.equal(r.status, 200, r.body);
    return r.json;
  };

  describe('OAuth2 token endpoint', () => {
    it('issues an app token for client_credentials (no refresh token) with geolocation = the simulator', async () => {
      const r = await tokenRequest(sim, { grant_type: 'client_credentials', ...clientFields(sim) });
      assert.equal(r.status, 200, r.body);
      assert.equal(r.json.token_type, 'Bearer');
      assert.equal(r.json.geolocation, sim.url);
      assert.equal(r.json.refresh_token, undefined);
      assert.match(r.json.access_token, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'JWT-shaped');
      assert.equal(Number(r.json.expires_in), 3600);
    });

    it('alternates expires_in between string and number by default, and sends refresh_expires_in as absolute epoch seconds', async () => {
      const a = await companyToken(sim);
      const b = await companyToken(sim);
      assert.deepEqual([typeof a.expires_in, typeof b.expires_in].sort(), ['number', 'string']);
      const now = Math.floor(Date.now() / 1000);
      assert.ok(a.refresh_expires_in > now + 170 * 86400 && a.refresh_expires_in < now + 190 * 86400, `absolute epoch: ${a.refresh_expires_in}`);
      assert.ok(a.id_token, 'id_token present');
    });

    it('issues a user token for credtype=password and rejects a bad password with code 5', async () => {
      const u = sim.credentials.users[0];
      const ok = await tokenRequest(sim, { grant_type: 'password', username: u.loginId, password: u.password, ...clientFields(sim) });
      assert.equal(ok.status, 200, ok.body);
      assert.ok(ok.json.refresh_token);
      const bad = await tokenRequest(sim, { grant_type: 'password', username: u.loginId, password: 'wrong-password', ...clientFields(sim) });
      assert.equal(bad.status, 400);
      assert.deepEqual([bad.json.error, bad.json.code], ['invalid_grant', 5]);
      assert.ok(bad.json.error_description);
    });

    it('company token: wrong request token → code 5, request token for another company → code 136', async () => {
      const c = sim.credentials;
      const wrongToken = await tokenRequest(sim, {
        grant_type: 'password',
        credtype: 'authtoken',
        username: c.companyId,
        password: 'nope',
        ...clientFields(sim),
      });
      assert.equal(wrongToken.json.code, 5);
      const other = await tokenRequest(sim, {
        grant_type: 'password',
        credtype: 'authtoken',
        username: '00000000-0000-4000-8000-000000000000',
        password: c.companyRequestToken,
        ...clientFields(sim),
      });
      assert.equal(other.status, 400);
      assert.equal(other.json.code, 136);
    });

    it('rotates the refresh token: the new one works, the old one is rejected with code 108', async () => {
      const first = company.refresh_token;
      const r1 = await tokenRequest(sim, { grant_type: 'refresh_token', refresh_token: first, ...clientFields(sim) });
      assert.equal(r1.status, 200, r1.body);
      assert.notEqual(r1.json.refresh_token, first);
      assert.notEqual(r1.json.access_token, company.access_token);
      const again = await tokenRequest(sim, { grant_type: 'refresh_token', refresh_token: first, ...clientFields(sim) });
      assert.equal(again.status, 400);
      assert.deepEqual([again.json.error, again.json.code], ['invalid_grant', 108]);
      const r2 = await tokenRequest(sim, { grant_type: 'refresh_token', refresh_token: r1.json.refresh_token, ...clientFields(sim) });
      assert.equal(r2.status, 200);
      // The refreshed token is a company token that can read reports.
      const g = await call(sim, 'GET', v4Path(R1), { token: r2.json.access_token });
      assert.equal(g.status, 200);
    });

    it('rejects bad clients, wrong content type, unknown grants and scopes with Concur-style errors', async () => {
      const badClient = await tokenRequest(sim, { grant_type: 'client_credentials', client_id: sim.credentials.clientId, client_secret: 'x' });
      assert.equal(badClient.status, 401);
      assert.equal(badClient.json.error, 'invalid_client');
      const json = await call(sim, 'POST', '/oauth2/v0/token', { json: { grant_type: 'client_credentials', ...clientFields(sim) } });
      assert.equal(json.status, 400);
      assert.equal(json.json.error, 'invalid_request');
      const grant = await tokenRequest(sim, { grant_type: 'otp', ...clientFields(sim) });
      assert.equal(grant.json.error, 'unsupported_grant_type');
      const scope = await tokenRequest(sim, { grant_type: 'client_credentials', scope: 'expense.report.read admin.everything', ...clientFields(sim) });
      assert.deepEqual([scope.status, scope.json.error, scope.json.code], [400, 'invalid_scope', 54]);
      for (const r of [badClient, json, grant, scope]) assert.deepEqual(Object.keys(r.json).sort(), ['code', 'error', 'error_description']);
    });

    it('accepts client credentials in HTTP Basic as well', async () => {
      const basic = Buffer.from(`${sim.credentials.clientId}:${sim.credentials.clientSecret}`).toString('base64');
      const r = await tokenRequest(sim, { grant_type: 'client_credentials' }, { Authorization: `Basic ${basic}` });
      assert.equal(r.status, 200, r.body);
    });
  });

  describe('bearer tokens on resources', () => {
    it('401 without a token, 403 for an unknown token, in each family’s error shape', async () => {
      const none = await call(sim, 'GET', v4Path(R1));
      assert.equal(none.status, 401);
      assert.equal(none.json.httpStatus, '401 UNAUTHORIZED');
      assert.ok(none.json.errorId && none.json.timestamp && Array.isArray(none.json.validationErrors));
      assert.equal(none.headers['www-authenticate'], 'Bearer');
      const bogus = await call(sim, 'GET', `/api/expense/expensereport/v1.1/reportfulldetails/${report(R1).reportKey}`, { token: 'not-a-token' });
      assert.equal(bogus.status, 403);
      const err = xml.parse(bogus.body).Error;
      assert.ok(err.Message && err['Server-Time'] && err.Id);
      const legacyJson = await call(sim, 'GET', `/api/v3.0/expense/reports/${R1}`, { token: 'not-a-token' });
      assert.equal(legacyJson.status, 403);
      assert.ok(legacyJson.json.Error.Message);
    });

    it('forced expiry: every access token answers 403 until refreshed', async () => {
      assert.equal((await call(sim, 'GET', v4Path(R1), { token: company.access_token })).status, 200);
      const ex = await call(sim, 'POST', '/_sim/tokens/expire', { json: {} });
      assert.equal(ex.status, 200);
      assert.ok(ex.json.expired >= 1);
      const after = await call(sim, 'GET', v4Path(R1), { token: company.access_token });
      assert.equal(after.status, 403);
      assert.match(after.json.errorMessage, /expired/);
      const fresh = await tokenRequest(sim, { grant_type: 'refresh_token', refresh_token: company.refresh_token, ...clientFields(sim) });
      assert.equal((await call(sim, 'GET', v4Path(R1), { token: fresh.json.access_token })).status, 200);
    });

    it('token-ttl fault shortens expires_in for newly issued tokens', async () => {
      await call(sim, 'POST', '/_sim/faults', { json: { tokenTtlSeconds: 2 } });
      const t = await appToken(sim);
      assert.equal(Number(t.expires_in), 2);
    });

    it('keeps tokens and secrets out of the request log', async () => {
      await call(sim, 'GET', v4Path(R1), { token: company.access_token });
      const log = JSON.stringify((await call(sim, 'GET', '/_sim/requests')).json);
      assert.ok(log.includes('/expensereports/v4/'));
      for (const secret of [company.access_token, company.refresh_token, sim.credentials.clientSecret, sim.credentials.companyRequestToken])
        assert.ok(!log.includes(secret));
    });
  });

  describe('Expense v4', () => {
    it('GET report returns the documented fields and links', async () => {
      const r = await getV4(R1);
      assert.equal(r.reportId, R1);
      assert.equal(r.approvalStatusId, 'A_EXTV');
      assert.equal(r.paymentStatusId, 'P_NOTP');
      assert.deepEqual(r.reportTotal, { value: 499.5, currencyCode: 'EUR' });
      assert.equal(r.isSubmitted, true);
      assert.equal(r.isSentBack, false);
      assert.ok(Array.isArray(r.customData) && Array.isArray(r.links));
      assert.ok(r.links.some((l) => l.rel === 'self' && l.href.startsWith(sim.url)));
    });

    it('enforces the path: unknown context 400, foreign TRAVELER 404, unknown report 404', async () => {
      assert.equal((await call(sim, 'GET', v4Path(R1, 'BOSS'), { token: company.access_token })).status, 400);
      assert.equal((await call(sim, 'GET', v4Path(R1, 'TRAVELER', report(R2).ownerUserId), { token: company.access_token })).status, 404);
      const missing = await call(sim, 'GET', v4Path(R1).replace(R1, 'NOPE'), { token: company.access_token });
      assert.equal(missing.status, 404);
      assert.equal(missing.json.httpStatus, '404 NOT_FOUND');
    });

    it('GET expenses lists the report’s expenses with ids', async () => {
      const r = await call(sim, 'GET', `${v4Path(R2)}/expenses`, { token: company.access_token });
      assert.equal(r.status, 200);
      assert.equal(r.json.length, 3);
      assert.ok(r.json[0].expenseId && r.json[0].transactionAmount.value === 612);
    });

    it('exceptions: PUT at report, expense and allocation level, GET (with excludeExpenses), DELETE', async () => {
      const rep = report(R2);
      const exp = rep.expenses[0];
      const alloc = exp.allocations[1];
      const base = `/expensereports/v4/reports/${R2}`;
      const t = company.access_token;
      assert.equal((await call(sim, 'PUT', `${base}/exceptions`, { token: t, json: { exceptionCode: 'MISSREQ', exceptionVisibility: 'ALL' } })).status, 200);
      assert.equal(
        (
          await call(sim, 'PUT', `${base}/expenses/${exp.expenseId}/exceptions`, {
            token: t,
            json: { exceptionCode: 'OVRLIMIT', exceptionVisibility: 'APPROVER_PROCESSOR' },
          })
        ).status,
        200,
      );
      assert.equal(
        (
          await call(sim, 'PUT', `${base}/expenses/${exp.expenseId}/allocations/${alloc.allocationId}/exceptions`, {
            token: t,
            json: { exceptionCode: 'POLVIOL', exceptionVisibility: 'PROCESSOR' },
          })
        ).status,
        200,
      );
      const all = await call(sim, 'GET', `${base}/exceptions`, { token: t });
      assert.deepEqual(all.json.map((x) => x.exceptionCode).sort(), ['MISSREQ', 'OVRLIMIT', 'POLVIOL']);
      const pol = all.json.find((x) => x.exceptionCode === 'POLVIOL');
      assert.deepEqual([pol.expenseId, pol.allocationId, pol.exceptionVisibility], [exp.expenseId, alloc.allocationId, 'PROCESSOR']);
      assert.deepEqual(Object.keys(pol).sort(), [
        'allocationId',
        'exceptionCode',
        'exceptionVisibility',
        'expenseId',
        'isBlocking',
        'message',
        'parentExpenseId',
      ]);
      const onlyReport = await call(sim, 'GET', `${base}/exceptions?excludeExpenses=true`, { token: t });
      assert.deepEqual(
        onlyReport.json.map((x) => x.exceptionCode),
        ['MISSREQ'],
      );
      // Visible in the other API versions.
      const v3 = await call(sim, 'GET', `/api/v3.0/expense/reports/${R2}`, { token: t });
      assert.equal(v3.json.HasException, true);
      assert.equal((await call(sim, 'DELETE', `${base}/expenses/${exp.expenseId}/exceptions/OVRLIMIT`, { token: t })).status, 204);
      assert.equal((await call(sim, 'DELETE', `${base}/expenses/${exp.expenseId}/exceptions/OVRLIMIT`, { token: t })).status, 404);
      const left = await call(sim, 'GET', `${base}/exceptions`, { token: t });
      assert.deepEqual(left.json.map((x) => x.exceptionCode).sort(), ['MISSREQ', 'POLVIOL']);
    });

    it('exceptions: bad code length, unknown code, bad visibility, unknown expense are rejected without changing state', async () => {
      const base = `/expensereports/v4/reports/${R1}`;
      const t = company.access_token;
      const long = await call(sim, 'PUT', `${base}/exceptions`, { token: t, json: { exceptionCode: 'TOOLONGCODE', exceptionVisibility: 'ALL' } });
      assert.equal(long.status, 400);
      assert.equal(long.json.validationErrors[0].source, 'exceptionCode');
      assert.equal((await call(sim, 'PUT', `${base}/exceptions`, { token: t, json: { exceptionCode: 'ZZZ', exceptionVisibility: 'ALL' } })).status, 400);
      assert.equal(
        (await call(sim, 'PUT', `${base}/exceptions`, { token: t, json: { exceptionCode: 'NODATE', exceptionVisibility: 'EVERYONE' } })).status,
        400,
      );
      assert.equal(
        (await call(sim, 'PUT', `${base}/expenses/NOPE/exceptions`, { token: t, json: { exceptionCode: 'NODATE', exceptionVisibility: 'ALL' } })).status,
        404,
      );
      assert.equal(
        (await call(sim, 'PUT', `${base}/exceptions`, { token: t, body: '{not json', headers: { 'Content-Type': 'application/json' } })).status,
        400,
      );
      assert.equal(report(R1).exceptions.length, 0);
    });

    it('approve honours expectedStepCode / expectedStepSequence / expectedWorkflowStepInstanceId (409 when not there) and the change is visible in every version', async () => {
      const url = `/expensereports/v4/reports/${R1}/approve`;
      const t = company.access_token;
      const wrongCode = await call(sim, 'PATCH', url, { token: t, json: { comment: 'ok', expectedStepCode: 'MANAGER' } });
      assert.equal(wrongCode.status, 409);
      assert.match(wrongCode.json.errorMessage, /not at step MANAGER/);
      assert.equal((await call(sim, 'PATCH', url, { token: t, json: { expectedStepSequence: 1 } })).status, 409);
      assert.equal((await call(sim, 'PATCH', url, { token: t, json: { expectedWorkflowStepInstanceId: 'nope' } })).status, 409);
      assert.equal((await getV4(R1)).approvalStatusId, 'A_EXTV', 'unchanged after refusals');
      const step = report(R1).currentStep;
      const ok = await call(sim, 'PATCH', url, {
        token: t,
        json: {
          comment: 'Validated by rules engine',
          expectedStepCode: 'EXTVAL',
          expectedStepSequence: String(step.sequence),
          expectedWorkflowStepInstanceId: step.stepInstanceId,
        },
      });
      assert.equal(ok.status, 204, ok.body);
      assert.equal(ok.body, '');
      const v4 = await getV4(R1);
      assert.deepEqual([v4.approvalStatusId, v4.approvalStatus], ['A_APPR', 'Approved']);
      const v3 = await call(sim, 'GET', `/api/v3.0/expense/reports/${R1}`, { token: t });
      assert.equal(v3.json.ApprovalStatusCode, 'A_APPR');
      const v2 = xml.parse((await call(sim, 'GET', `/api/expense/expensereport/v2.0/report/${R1}`, { token: t })).body).ReportDetails;
      assert.equal(v2.ApprovalStatusCode, 'A_APPR');
      assert.equal(v2.LastComment, 'Validated by rules engine');
      const v11 = xml.parse(
        (await call(sim, 'GET', `/api/expense/expensereport/v1.1/reportfulldetails/${report(R1).reportKey}`, { token: t })).body,
      ).ReportDetails;
      assert.deepEqual([v11.ApsKey, v11.ApvStatusName, v11.ApprovalStatusName], ['A_APPR', 'Approved', 'Approved']);
      // Approving an approved report is a conflict.
      assert.equal((await call(sim, 'PATCH', url, { token: t, json: {} })).status, 409);
    });

    it('validates comment lengths and requires a comment for sendBack; sendBack changes status', async () => {
      const t = company.access_token;
      const long = await call(sim, 'PATCH', `/expensereports/v4/reports/${R1}/approve`, { token: t, json: { comment: 'x'.repeat(2001) } });
      assert.equal(long.status, 400);
      assert.equal(long.json.validationErrors[0].source, 'comment');
      assert.equal((await call(sim, 'PATCH', `/expensereports/v4/reports/${R1}/approve`, { token: t, json: { statusId: 'TOOLONG' } })).status, 400);
      const noComment = await call(sim, 'PATCH', `/expensereports/v4/reports/${R1}/sendBack`, { token: t, json: {} });
      assert.equal(noComment.status, 400);
      assert.equal((await getV4(R1)).approvalStatusId, 'A_EXTV');
      assert.equal((await call(sim, 'PATCH', `/expensereports/v4/reports/${R1}/sendBack`, { token: t, json: { comment: 'x'.repeat(2000) } })).status, 204);
      const v4 = await getV4(R1);
      assert.deepEqual([v4.approvalStatusId, v4.isSentBack, v4.isSubmitted], ['A_RESU', true, false]);
    });

    it('MANAGER context: only the assigned approver may approve; approval moves the report into EXTVAL', async () => {
      const t = company.access_token;
      const [jane, sam] = sim.credentials.users;
      const asJane = await call(sim, 'PATCH', `${v4Path(R3, 'MANAGER', jane.userId)}/approve`, { token: t, json: {} });
      assert.equal(asJane.status, 403);
      const toApprove = await call(sim, 'GET', `/expensereports/v4/users/${sam.userId}/context/MANAGER/reportsToApprove`, { token: t });
      assert.deepEqual(
        toApprove.json.map((r) => r.reportId),
        [R3],
      );
      assert.equal((await call(sim, 'PATCH', `${v4Path(R3, 'MANAGER', sam.userId)}/approve`, { token: t, json: { comment: 'ok' } })).status, 204);
      const v4 = await getV4(R3);
      assert.equal(v4.approvalStatusId, 'A_EXTV');
      assert.equal(report(R3).currentStep.stepCode, 'EXTVAL');
      const last = sim.events[sim.events.length - 1];
      assert.deepEqual([last.reportId, last.stepCode, last.currentApprovalStatus], [R3, 'EXTVAL', 'A_EXTV']);
    });

    it('a user token may only act for its own user', async () => {
      const jane = sim.credentials.users[0];
      const ut = await tokenRequest(sim, { grant_type: 'password', username: jane.loginId, password: jane.password, ...clientFields(sim) });
      assert.equal((await call(sim, 'GET', v4Path(R1), { token: ut.json.access_token })).status, 200);
      assert.equal((await call(sim, 'GET', v4Path(R2), { token: ut.json.access_token })).status, 403);
    });
  });

  describe('Expense v3', () => {
    it('lists reports filtered by approvalStatusCode and validates limit', async () => {
      const r = await call(sim, 'GET', '/api/v3.0/expense/reports?user=ALL&approvalStatusCode=A_EXTV', { token: company.access_token });
      assert.equal(r.status, 200);
      assert.deepEqual(r.json.Items.map((i) => i.ID).sort(), [R2, R1].sort());
      assert.equal(r.json.NextPage, null);
      assert.match(r.json.Items[0].WorkflowActionUrl, /\/v1\.1\/report\/.+\/WorkFlowAction$/);
      assert.equal((await call(sim, 'GET', '/api/v3.0/expense/reports?limit=0', { token: company.access_token })).status, 400);
      const paged = await call(sim, 'GET', '/api/v3.0/expense/reports?user=ALL&limit=2', { token: company.access_token });
      assert.equal(paged.json.Items.length, 2);
      assert.ok(paged.json.NextPage.includes('offset=2'));
    });
  });

  describe('legacy XML (v2.0 / v1.1)', () => {
    it('v1.1 report full details carries RptKey, WorkflowActionURL, approval status and entries with RpeKey', async () => {
      const r = await call(sim, 'GET', `/api/expense/expensereport/v1.1/reportfulldetails/${report(R2).reportKey}`, { token: company.access_token });
      assert.equal(r.status, 200);
      assert.match(r.headers['content-type'], /application\/xml/);
      assert.ok(r.headers['x-api-warn'], 'deprecation warning header');
      const d = xml.parse(r.body).ReportDetails;
      assert.equal(d.RptKey, report(R2).reportKey);
      assert.equal(d.ApvStatusName, 'Pending External Validation');
      assert.ok(d.WorkflowActionURL.endsWith(`/report/${report(R2).currentStep.workflowActionKey}/WorkFlowAction`));
      assert.ok(d.WorkflowActionURL.includes('%t8'), 'bare % kept as Concur prints it');
      assert.equal(d.Entries['@_Count'], '3');
      assert.deepEqual(
        d.Entries.ExpenseEntry.map((e) => e.RpeKey),
        report(R2).expenses.map((e) => e.rpeKey),
      );
      // The key also resolves when `$` is percent-encoded.
      const enc = await call(sim, 'GET', `/api/expense/expensereport/v1.1/reportfulldetails/${encodeURIComponent(report(R2).reportKey)}`, {
        token: company.access_token,
      });
      assert.equal(enc.status, 200);
    });

    it('v2.0 report details in the 2012/07 namespace', async () => {
      const r = await call(sim, 'GET', `/api/expense/expensereport/v2.0/report/${R1}`, { token: company.access_token });
      assert.equal(r.status, 200);
      assert.match(r.body, /<ReportDetails xmlns="http:\/\/www\.concursolutions\.com\/api\/expense\/expensereport\/2012\/07"/);
      const d = xml.parse(r.body).ReportDetails;
      assert.equal(d.ReportID, R1);
      assert.equal(d.ExpenseEntriesList.ExpenseEntry.length, 3);
    });

    it('v1.1 Exceptions POST reports per-item success and failure in exception-result', async () => {
      const rep = report(R2);
      const body = `<?xml version="1.0"?>
<Exceptions xmlns="http://www.concursolutions.com/api/expense/expensereport/2011/03">
  <Exception><Index>1</Index><ObjectType>Report</ObjectType><ObjectId/><ExceptionCode>APPRVTO</ExceptionCode></Exception>
  <Exception><Index>2</Index><ObjectType>Entry</ObjectType><ObjectId>${rep.expenses[0].rpeKey}</ObjectId><ExceptionCode>OVRLIMIT</ExceptionCode></Exception>
  <Exception><Index>3</Index><ObjectType>Allocation</ObjectType><ObjectId>${rep.expenses[0].allocations[0].allocationKey}</ObjectId><ExceptionCode>POLVIOL</ExceptionCode></Exception>
  <Exception><Index>4</Index><ObjectType>Entry</ObjectType><ObjectId>nNotAnEntry</ObjectId><ExceptionCode>NODATE</ExceptionCode></Exception>
  <Exception><Index>5</Index><ObjectType>Report</ObjectType><ObjectId/><ExceptionCode>NOSUCH</ExceptionCode></Exception>
</Exceptions>`;
      const r = await call(sim, 'POST', `/api/expense/expensereport/v1.1/report/${rep.reportKey}/Exceptions`, {
        token: company.access_token,
        body,
        headers: { 'Content-Type': 'application/xml' },
      });
      assert.equal(r.status, 200, r.body);
      const res = xml.parse(r.body)['exception-result'];
      assert.equal(res['exceptions-succeeded'], '3');
      assert.equal(res['exceptions-failed'], '2');
      assert.deepEqual(
        res.errors.error.map((e) => e.Index),
        ['4', '5'],
      );
      assert.deepEqual(
        res.ExceptionDetails.ExceptionInfo.map((i) => i.Status),
        ['SUCCESS', 'SUCCESS', 'SUCCESS', 'FAILURE', 'FAILURE'],
      );
      const v4 = await call(sim, 'GET', `/expensereports/v4/reports/${R2}/exceptions`, { token: company.access_token });
      assert.deepEqual(v4.json.map((x) => x.exceptionCode).sort(), ['APPRVTO', 'OVRLIMIT', 'POLVIOL']);
    });

    it('v1.1 Exceptions POST rejects malformed XML, DOCTYPE and a wrong root with a legacy Error', async () => {
      const url = `/api/expense/expensereport/v1.1/report/${report(R1).reportKey}/exceptions`;
      const h = { 'Content-Type': 'application/xml' };
      for (const body of ['<Exceptions><Exception>', '<!DOCTYPE x [<!ENTITY a "b">]><Exceptions/>', '<ReportExceptions/>', '']) {
        const r = await call(sim, 'POST', url, { token: company.access_token, body, headers: h });
        assert.equal(r.status, 400, body);
        assert.ok(xml.parse(r.body).Error.Message, r.body);
      }
      assert.equal(report(R1).exceptions.length, 0);
    });

    it('v1.1 WorkflowAction: FAILURE for missing send-back comment and stale keys, SUCCESS! otherwise; 404 for unknown keys', async () => {
      const key = report(R2).currentStep.workflowActionKey;
      const url = `/api/expense/expensereport/v1.1/report/${key}/workflowaction`;
      const post = (action, comment) =>
        call(sim, 'POST', url, {
          token: company.access_token,
          headers: { 'Content-Type': 'application/xml' },
          body: `<WorkflowAction xmlns="http://www.concursolutions.com/api/expense/expensereport/2011/03"><Action>${action}</Action>${comment === undefined ? '' : `<Comment>${comment}</Comment>`}</WorkflowAction>`,
        });
      const noComment = xml.parse((await post('Send Back to Employee')).body).ActionStatus;
      assert.equal(noComment.Status, 'FAILURE');
      assert.equal(report(R2).approvalStatus, 'A_EXTV');
      const bad = xml.parse((await post('Reject')).body).ActionStatus;
      assert.equal(bad.Status, 'FAILURE');
      const ok = xml.parse((await post('Send Back to Employee', 'Receipt missing for team dinner')).body).ActionStatus;
      assert.equal(ok.Status, 'SUCCESS!');
      assert.equal(report(R2).approvalStatus, 'A_RESU');
      const stale = xml.parse((await post('Approve', 'late')).body).ActionStatus;
      assert.equal(stale.Status, 'FAILURE');
      assert.match(stale.Message, /recently been changed/);
      const unknown = await call(sim, 'POST', '/api/expense/expensereport/v1.1/report/nUnknownKey/WorkFlowAction', {
        token: company.access_token,
        body: '<WorkflowAction><Action>Approve</Action></WorkflowAction>',
        headers: { 'Content-Type': 'application/xml' },
      });
      assert.equal(unknown.status, 404);
    });
  });

  describe('Notification v1.0', () => {
    it('lists failed notifications as JSON by Accept and as namespaced XML otherwise; delete by NotificationURI', async () => {
      const j = await call(sim, 'GET', '/api/platform/notifications/v1.0/notification?status=failed', {
        token: company.access_token,
        headers: { Accept: 'application/json' },
      });
      assert.equal(j.status, 200);
      assert.equal(j.json.length, 2);
      assert.deepEqual(Object.keys(j.json[0]).sort(), ['Context', 'EventDateTime', 'EventType', 'NotificationURI', 'ObjectType', 'ObjectURI']);
      assert.equal(j.json[0].ObjectURI, `${sim.url}/api/expense/expensereport/v1.1/reportfulldetails/${report(R1).reportKey}`);
      const x = await call(sim, 'GET', '/api/platform/notifications/v1.0/notification?status=FAILED', { token: company.access_token });
      assert.match(x.body, /<NotificationList xmlns="http:\/\/www\.concursolutions\.com\/api\/notification\/2012\/06"/);
      assert.match(x.body, /<Context i:nil="true"\/>/);
      assert.equal(xml.parse(x.body).NotificationList.Notification.length, 2);
      assert.equal((await call(sim, 'GET', '/api/platform/notifications/v1.0/notification', { token: company.access_token })).status, 400);
      const uri = new URL(j.json[0].NotificationURI);
      assert.equal((await call(sim, 'DELETE', uri.pathname, { token: company.access_token })).status, 200);
      assert.equal((await call(sim, 'DELETE', uri.pathname, { token: company.access_token })).status, 404);
      const after = await call(sim, 'GET', '/api/platform/notifications/v1.0/notification?status=failed', {
        token: company.access_token,
        headers: { Accept: 'application/json' },
      });
      assert.equal(after.json.length, 1);
    });
  });

  describe('ESS subscription API', () => {
    it('topics, create, update, list, get, delete', async () => {
      const app = (await appToken(sim)).access_token;
      const topics = await call(sim, 'GET', '/events/v4/topics', { token: app });
      assert.ok(topics.json.includes('public.concur.expense.report'));
      const sub = {
        id: 'nodered-approvals',
        filter: 'statusChanged',
        topic: 'public.concur.expense.report',
        webHookConfig: { endpoint: 'https://example.com/concur/ess' },
      };
      const put = await call(sim, 'PUT', '/events/v4/subscriptions/webhook', { token: app, json: sub });
      assert.equal(put.status, 200);
      assert.equal(put.json.message, "Subscription 'nodered-approvals' saved successfully");
      await call(sim, 'PUT', '/events/v4/subscriptions/webhook', { token: app, json: { ...sub, filter: '.*' } });
      const list = await call(sim, 'GET', '/events/v4/subscriptions', { token: app });
      assert.equal(list.json.length, 1);
      assert.equal(list.json[0].filter, '.*');
      assert.deepEqual(list.json[0].companyIds, [sim.credentials.companyId]);
      const one = await call(sim, 'GET', '/events/v4/subscriptions/nodered-approvals', { token: app });
      assert.equal(one.json.id, 'nodered-approvals');
      const del = await call(sim, 'DELETE', '/events/v4/subscriptions/nodered-approvals', { token: app });
      assert.equal(del.json.message, "Subscription 'nodered-approvals' marked for deletion");
      assert.equal((await call(sim, 'GET', '/events/v4/subscriptions/nodered-approvals', { token: app })).status, 404);
    });

    it('validates subscriptions and caps them at 5 per application', async () => {
      const app = (await appToken(sim)).access_token;
      const base = { filter: '.*', topic: 'public.concur.expense.report', webHookConfig: { endpoint: 'https://example.com/hook' } };
      assert.equal((await call(sim, 'PUT', '/events/v4/subscriptions/webhook', { token: app, json: { ...base, id: 'Bad Id' } })).status, 400);
      assert.equal(
        (await call(sim, 'PUT', '/events/v4/subscriptions/webhook', { token: app, json: { ...base, id: 'x', topic: 'public.secret' } })).status,
        403,
      );
      assert.equal((await call(sim, 'PUT', '/events/v4/subscriptions/webhook', { token: app, json: { ...base, id: 'x', filter: '(' } })).status, 400);
      assert.equal(
        (await call(sim, 'PUT', '/events/v4/subscriptions/webhook', { token: app, json: { ...base, id: 'x', webHookConfig: { endpoint: 'ftp://x' } } })).status,
        400,
      );
      for (let i = 1; i <= 5; i++)
        assert.equal((await call(sim, 'PUT', '/events/v4/subscriptions/webhook', { token: app, json: { ...base, id: `s${i}` } })).status, 200);
      const sixth = await call(sim, 'PUT', '/events/v4/subscriptions/webhook', { token: app, json: { ...base, id: 's6' } });
      assert.equal(sixth.status, 400);
      assert.match(sixth.json.message, /at most 5/);
    });

    it('needs scope events.topic.read, and the topic scope to see and subscribe to a topic (as documented)', async () => {
      const scoped = async (scope) => (await tokenRequest(sim, { grant_type: 'client_credentials', scope, ...clientFields(sim) })).json.access_token;
      const noEss = await scoped('expense.report.read');
      const r = await call(sim, 'GET', '/events/v4/topics', { token: noEss });
      assert.equal(r.status, 403);
      assert.match(r.json.message, /events\.topic\.read/);
      assert.equal((await call(sim, 'GET', '/events/v4/subscriptions', { token: noEss })).status, 403);
      const essOnly = await scoped('events.topic.read');
      const topics = await call(sim, 'GET', '/events/v4/topics', { token: essOnly });
      assert.equal(topics.status, 200);
      assert.ok(!topics.json.includes('public.concur.expense.report'), 'the expense topic needs expense.report.read');
      const sub = { id: 'scope-check', filter: '.*', topic: 'public.concur.expense.report', webHookConfig: { endpoint: 'https://example.com/h' } };
      assert.equal((await call(sim, 'PUT', '/events/v4/subscriptions/webhook', { token: essOnly, json: sub })).status, 403);
      const both = await scoped('events.topic.read expense.report.read');
      assert.equal((await call(sim, 'PUT', '/events/v4/subscriptions/webhook', { token: both, json: sub })).status, 200);
      const saved = (await call(sim, 'GET', '/events/v4/subscriptions/scope-check', { token: both })).json;
      assert.deepEqual([saved.scope, saved.groups], ['', []], 'read-only fields as the reference sample shows them');
      await call(sim, 'DELETE', '/events/v4/subscriptions/scope-check', { token: both });
    });

    it('optionally answers GET one as a one-element array and enforces app tokens', async () => {
      const other = await startSimulator({ port: 0, keyDir, deliverEvents: false, subscriptionGetShape: 'array', enforceTokenKinds: true });
      try {
        const app = (await appToken(other)).access_token;
        const comp = (await companyToken(other)).access_token;
        const sub = { id: 'a1', filter: '.*', topic: 'public.test', webHookConfig: { endpoint: 'https://example.com/h' } };
        assert.equal((await call(other, 'PUT', '/events/v4/subscriptions/webhook', { token: comp, json: sub })).status, 403);
        assert.equal((await call(other, 'PUT', '/events/v4/subscriptions/webhook', { token: app, json: sub })).status, 200);
        const one = await call(other, 'GET', '/events/v4/subscriptions/a1', { token: app });
        assert.ok(Array.isArray(one.json) && one.json[0].id === 'a1');
        // Company token required for system approve when kinds are enforced.
        assert.equal((await call(other, 'PATCH', `/expensereports/v4/reports/${R1}/approve`, { token: app, json: {} })).status, 403);
        assert.equal((await call(other, 'PATCH', `/expensereports/v4/reports/${R1}/approve`, { token: comp, json: {} })).status, 204);
      } finally {
        await other.stop();
      }
    });
  });

  describe('fault injection', () => {
    it('failNext: the next N matching requests fail with the status (and Retry-After), then service resumes', async () => {
      const f = await call(sim, 'POST', '/_sim/faults', { json: { failNext: [{ count: 2, status: 503, retryAfter: 7, pathPrefix: '/expensereports/' }] } });
      assert.equal(f.status, 200);
      // A request on another path is not counted.
      assert.equal((await call(sim, 'GET', `/api/v3.0/expense/reports/${R1}`, { token: company.access_token })).status, 200);
      const a = await call(sim, 'GET', v4Path(R1), { token: company.access_token });
      const b = await call(sim, 'GET', v4Path(R1), { token: company.access_token });
      const c = await call(sim, 'GET', v4Path(R1), { token: company.access_token });
      assert.deepEqual([a.status, b.status, c.status], [503, 503, 200]);
      assert.equal(a.headers['retry-after'], '7');
      assert.equal(a.json.httpStatus, '503 SERVICE_UNAVAILABLE');
      const log = sim.requests.filter((e) => e.fault);
      assert.equal(log.length, 2);
    });

    it('rate429=1 answers 429 with Retry-After; the token endpoint is spared unless asked', async () => {
      sim.setFaults({ rate429: 1, retryAfterSeconds: 3 });
      const r = await call(sim, 'GET', v4Path(R1), { token: company.access_token });
      assert.equal(r.status, 429);
      assert.equal(r.headers['retry-after'], '3');
      assert.equal((await tokenRequest(sim, { grant_type: 'client_credentials', ...clientFields(sim) })).status, 200);
      sim.setFaults({ faultTokenEndpoint: true });
      const t = await tokenRequest(sim, { grant_type: 'client_credentials', ...clientFields(sim) });
      assert.equal(t.status, 429);
      assert.equal(t.json.error, 'too_many_requests');
      await call(sim, 'DELETE', '/_sim/faults');
      assert.equal((await call(sim, 'GET', v4Path(R1), { token: company.access_token })).status, 200);
    });

    it('rate5xx=1 answers the configured 5xx', async () => {
      await call(sim, 'POST', '/_sim/faults', { json: { rate5xx: 1, status5xx: 502 } });
      const r = await call(sim, 'GET', `/api/expense/expensereport/v1.1/reportfulldetails/${report(R1).reportKey}`, { token: company.access_token });
      assert.equal(r.status, 502);
      assert.ok(xml.parse(r.body).Error);
    });

    it('latency delays every answer by at least the configured time', async () => {
      await call(sim, 'POST', '/_sim/faults', { json: { latencyMs: 150 } });
      const t0 = Date.now();
      const r = await call(sim, 'GET', v4Path(R1), { token: company.access_token });
      assert.equal(r.status, 200);
      assert.ok(Date.now() - t0 >= 140, 'answer was delayed');
    });

    it('rejects unknown or out-of-range fault settings with 400', async () => {
      assert.equal((await call(sim, 'POST', '/_sim/faults', { json: { rate5xx: 2 } })).status, 400);
      assert.equal((await call(sim, 'POST', '/_sim/faults', { json: { explode: true } })).status, 400);
      assert.equal((await call(sim, 'POST', '/_sim/faults', { json: { failNext: [{ count: 1 }] } })).status, 400);
      assert.equal(sim.api.faults.settings.rate5xx, 0);
    });

    it('random faults are reproducible from the seed', async () => {
      const run = async (seed) => {
        const s = await startSimulator({ port: 0, keyDir, deliverEvents: false, seed, faults: { rate5xx: 0.5 } });
        try {
          const t = (await companyToken(s)).access_token;
          const out = [];
          for (let i = 0; i < 16; i++) out.push((await call(s, 'GET', `/api/v3.0/expense/reports/${R1}`, { token: t })).status);
          return out.join(',');
        } finally {
          await s.stop();
        }
      };
      const a = await run(42);
      assert.equal(await run(42), a);
      assert.ok(a.includes('503') && a.includes('200'), a);
    });
  });

  describe('admin helpers', () => {
    it('submits a report into the workflow and reports state', async () => {
      const r = await call(sim, 'POST', `/_sim/reports/${R5}/submit`, { json: {} });
      assert.equal(r.status, 200, r.body);
      assert.equal(r.json.approvalStatus, 'A_PEND');
      assert.equal((await call(sim, 'POST', `/_sim/reports/${R5}/submit`, { json: {} })).status, 409);
      const toExtval = await call(sim, 'POST', `/_sim/reports/${R5}/submit`, { json: { stepCode: 'EXTVAL' } });
      assert.equal(toExtval.json.approvalStatus, 'A_EXTV');
      const st = await call(sim, 'GET', '/_sim/state');
      assert.equal(st.json.reports.find((x) => x.reportId === R5).currentStep.stepCode, 'EXTVAL');
      const n = await call(sim, 'POST', '/_sim/notifications', { json: { reportId: R5 } });
      assert.equal(n.status, 201);
      assert.equal(sim.state.notifications.length, 3);
    });

    it('answers 404 for unknown paths and 405 for wrong methods, in the family shape', async () => {
      const nf = await call(sim, 'GET', '/expensereports/v4/nothing', { token: company.access_token });
      assert.equal(nf.status, 404);
      assert.equal(nf.json.httpStatus, '404 NOT_FOUND');
      const m = await call(sim, 'DELETE', v4Path(R1), { token: company.access_token });
      assert.equal(m.status, 405);
    });
  });
});
