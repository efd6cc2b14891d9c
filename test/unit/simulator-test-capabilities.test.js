'use strict';
/**
 * The simulator's test capabilities (what the node tests need to play Concur's
 * failure modes and to look inside without seeing secrets): failNext rules that
 * drop the connection, expire tokens mid-flow, carry a message or answer
 * "user lives elsewhere"; token-endpoint latency; 401 or 403 for an expired
 * token; the notification list's format variants and per-entry URI base or
 * missing fields; seeded refresh tokens; the request log's non-secret facts;
 * and the opt-in list of issued tokens.
 */
const assert = require('node:assert/strict');
const { XMLParser } = require('fast-xml-parser');
const { startSimulator, validateFaults, tokenFingerprint } = require('../../dist/simulator/index.js');
const { tokenRequest, companyToken, call, clientFields, failNext, requestsTo } = require('../helpers/simulator-client');

const R1 = 'CB899F7D9F73420A8D8B';
const JANE = 'e1a0b7c4-5d2f-4c8a-9b1e-3f6d2a8c7e10';
const R1_V4 = `/expensereports/v4/users/${JANE}/context/TRAVELER/reports/${R1}`;
const SEEDED = 'seeded-refresh-token-for-tests';
const xml = new XMLParser({ removeNSPrefix: true, ignoreAttributes: false, parseTagValue: false });

describe('simulator test capabilities', function () {
  this.timeout(20000);
  let sim;
  let company;

  before(async () => {
    sim = await startSimulator({ port: 0, deliverEvents: false, refreshTokens: [SEEDED], recordIssuedTokens: true });
  });
  after(async () => {
    if (sim) await sim.stop();
  });
  beforeEach(async () => {
    sim.state.reset();
    sim.resetFaults();
    sim.requests.length = 0;
    company = await companyToken(sim);
  });

  describe('failNext rules', () => {
    it('drop: closes the connection without an answer, logged with status 0; the next request is served', async () => {
      failNext(sim, { method: 'GET', pathPrefix: R1_V4, drop: true });
      await assert.rejects(call(sim, 'GET', R1_V4, { token: company.access_token }), /socket hang up|ECONNRESET/);
      assert.equal((await call(sim, 'GET', R1_V4, { token: company.access_token })).status, 200);
      assert.deepEqual(
        requestsTo(sim, /reports\//).map((r) => [r.status, r.fault]),
        [
          [0, 'failNext rule (drop)'],
          [200, undefined],
        ],
      );
    });

    it('expireTokens: the token dies as the request arrives (403 expired), a fresh token works again', async () => {
      failNext(sim, { method: 'PUT', pathPrefix: `/expensereports/v4/reports/${R1}/exceptions`, expireTokens: true });
      assert.equal((await call(sim, 'GET', R1_V4, { token: company.access_token })).status, 200, 'other requests do not trigger it');
      const put = await call(sim, 'PUT', `/expensereports/v4/reports/${R1}/exceptions`, {
        token: company.access_token,
        json: { exceptionCode: 'NODATE', exceptionVisibility: 'ALL' },
      });
      assert.equal(put.status, 403);
      assert.match(put.json.errorMessage, /expired/);
      assert.equal(sim.state.reportById(R1).exceptions.length, 0, 'nothing stored');
      assert.equal((await call(sim, 'GET', R1_V4, { token: company.access_token })).status, 403, 'the token stays dead');
      const fresh = await companyToken(sim);
      assert.equal((await call(sim, 'GET', R1_V4, { token: fresh.access_token })).status, 200);
    });

    it('message: answers the status with the given message in the family shape', async () => {
      failNext(sim, { pathPrefix: R1_V4, status: 403, message: 'Forbidden Request' });
      const r = await call(sim, 'GET', R1_V4, { token: company.access_token });
      assert.equal(r.status, 403);
      assert.equal(r.json.errorMessage, 'Forbidden Request');
      assert.equal(r.json.httpStatus, '403 FORBIDDEN');
    });

    it('geolocation: the token endpoint answers "user lives elsewhere" (400 invalid_request, code 16) naming it', async () => {
      failNext(sim, { pathPrefix: '/oauth2/v0/token', geolocation: 'https://eu2.api.concursolutions.com/' });
      const r = await tokenRequest(sim, { grant_type: 'client_credentials', ...clientFields(sim) });
      assert.equal(r.status, 400);
      assert.deepEqual(
        { ...r.json, error_description: undefined },
        { error: 'invalid_request', error_description: undefined, code: 16, geolocation: 'https://eu2.api.concursolutions.com' },
      );
      assert.equal((await tokenRequest(sim, { grant_type: 'client_credentials', ...clientFields(sim) })).status, 200, 'consumed');
    });

    it('validates the new rule fields', () => {
      assert.deepEqual(validateFaults({ failNext: [{ drop: true }] }).failNext, [{ count: 1, status: 0, drop: true }]);
      assert.deepEqual(validateFaults({ failNext: [{ geolocation: 'https://x.example' }] }).failNext, [
        { count: 1, status: 400, geolocation: 'https://x.example' },
      ]);
      assert.throws(() => validateFaults({ failNext: [{ drop: true, status: 500 }] }), /status cannot be combined with drop/);
      assert.throws(() => validateFaults({ failNext: [{ drop: true, expireTokens: true }] }), /exclude each other/);
      assert.throws(() => validateFaults({ failNext: [{ drop: 'yes' }] }), /drop must be true or false/);
      assert.throws(() => validateFaults({ failNext: [{ status: 400, geolocation: 'ftp://x' }] }), /geolocation must be a base URL/);
      assert.throws(() => validateFaults({ failNext: [{ status: 400, message: '' }] }), /message must be a non-empty string/);
      assert.throws(() => validateFaults({ expiredTokenStatus: 402 }), /401 or 403/);
      assert.throws(() => validateFaults({ notificationListFormat: 'yaml' }), /negotiate, xml, xml-406/);
      assert.throws(() => validateFaults({ tokenLatencyMs: -1 }), RangeError);
    });
  });

  describe('settings', () => {
    it('expiredTokenStatus 401: an expired token gets 401 with WWW-Authenticate invalid_token (an unknown one stays 403)', async () => {
      sim.setFaults({ expiredTokenStatus: 401 });
      sim.expireTokens();
      const r = await call(sim, 'GET', R1_V4, { token: company.access_token });
      assert.equal(r.status, 401);
      assert.match(r.headers['www-authenticate'], /^Bearer error="invalid_token"/);
      assert.match(r.json.errorMessage, /expired/);
      assert.equal((await call(sim, 'GET', R1_V4, { token: 'unknown-token' })).status, 403);
      sim.resetFaults();
      assert.equal((await call(sim, 'GET', R1_V4, { token: company.access_token })).status, 403, 'back to the documented 403');
    });

    it('tokenLatencyMs delays answers of the token endpoint', async () => {
      sim.setFaults({ tokenLatencyMs: 200 });
      const t0 = Date.now();
      assert.equal((await tokenRequest(sim, { grant_type: 'client_credentials', ...clientFields(sim) })).status, 200);
      assert.ok(Date.now() - t0 >= 190, 'token answer was delayed');
      assert.ok(sim.tokenRequests().at(-1).ms >= 190, 'the log shows the wait');
    });

    it('notificationListFormat: negotiate (JSON by Accept), xml (XML whatever is asked), xml-406 (406 to a JSON-only Accept)', async () => {
      const list = (accept) =>
        call(sim, 'GET', '/api/platform/notifications/v1.0/notification?status=failed', { token: company.access_token, headers: { Accept: accept } });
      assert.ok(Array.isArray((await list('application/json')).json));
      sim.setFaults({ notificationListFormat: 'xml' });
      let r = await list('application/json');
      assert.equal(r.status, 200);
      assert.match(r.headers['content-type'], /application\/xml/);
      assert.equal(xml.parse(r.body).NotificationList.Notification.length, 2);
      sim.setFaults({ notificationListFormat: 'xml-406' });
      r = await list('application/json');
      assert.equal(r.status, 406);
      assert.match(r.json.Error.Message, /application\/xml only/);
      r = await list('application/xml');
      assert.equal(r.status, 200);
      assert.ok(xml.parse(r.body).NotificationList);
      assert.equal((await list('application/json, application/xml;q=0.9')).status, 200, 'a JSON Accept that also takes XML is served XML');
    });
  });

  describe('notifications', () => {
    it('uriBase prints the URIs on another host; omitFields leaves fields out of the listed entry (JSON and XML)', async () => {
      sim.state.notifications.length = 0;
      const key = sim.state.reportById(R1).reportKey;
      sim.state.addFailedNotification({
        id: 'N1',
        eventType: 'E',
        objectType: 'EXPRPT',
        reportKey: key,
        eventDateTime: '2026-11-20T10:00:00',
        context: null,
        uriBase: 'https://www.concursolutions.com',
      });
      sim.state.addFailedNotification({
        id: 'N2',
        eventType: 'E',
        objectType: 'EXPRPT',
        reportKey: key,
        eventDateTime: '2026-11-20T10:00:00',
        context: null,
        omitFields: ['NotificationURI', 'Context'],
      });
      const j = await call(sim, 'GET', '/api/platform/notifications/v1.0/notification?status=failed', {
        token: company.access_token,
        headers: { Accept: 'application/json' },
      });
      assert.equal(j.json[0].NotificationURI, 'https://www.concursolutions.com/api/platform/notifications/v1.0/notification/N1');
      assert.equal(j.json[0].ObjectURI, `https://www.concursolutions.com/api/expense/expensereport/v1.1/reportfulldetails/${key}`);
      assert.deepEqual(Object.keys(j.json[1]), ['EventDateTime', 'EventType', 'ObjectType', 'ObjectURI']);
      assert.equal(j.json[1].ObjectURI, `${sim.url}/api/expense/expensereport/v1.1/reportfulldetails/${key}`);
      const x = await call(sim, 'GET', '/api/platform/notifications/v1.0/notification?status=failed', {
        token: company.access_token,
        headers: { Accept: 'application/xml' },
      });
      const [a, b] = xml.parse(x.body).NotificationList.Notification;
      assert.equal(a.Context['@_i:nil'] ?? a.Context['@_nil'], 'true');
      assert.deepEqual(Object.keys(b), ['EventDateTime', 'EventType', 'ObjectType', 'ObjectURI']);
    });

    it('POST /_sim/notifications takes a uriBase (and refuses a bad one)', async () => {
      const ok = await call(sim, 'POST', '/_sim/notifications', { json: { reportId: R1, uriBase: 'https://www.concursolutions.com/' } });
      assert.equal(ok.status, 201, ok.body);
      assert.equal(sim.state.notifications.find((n) => n.id === ok.json.id).uriBase, 'https://www.concursolutions.com');
      assert.equal((await call(sim, 'POST', '/_sim/notifications', { json: { reportId: R1, uriBase: 'javascript:alert(1)' } })).status, 400);
    });
  });

  describe('tokens and the request log', () => {
    it('a seeded refresh token works once and then is rotated away (code 108)', async () => {
      // This sim's seeded token may have been used by nothing else in this file.
      const a = await tokenRequest(sim, { grant_type: 'refresh_token', refresh_token: SEEDED, ...clientFields(sim) });
      assert.equal(a.status, 200, a.body);
      assert.ok(a.json.refresh_token && a.json.refresh_token !== SEEDED);
      assert.equal((await call(sim, 'GET', R1_V4, { token: a.json.access_token })).status, 200, 'a company token');
      const b = await tokenRequest(sim, { grant_type: 'refresh_token', refresh_token: SEEDED, ...clientFields(sim) });
      assert.deepEqual([b.status, b.json.code], [400, 108]);
    });

    it('logs token-request facts (grant, credtype, username, refresh-token fingerprint, OAuth error) but never a secret', async () => {
      sim.requests.length = 0;
      const c = sim.credentials;
      await tokenRequest(sim, { grant_type: 'password', credtype: 'authtoken', username: c.companyId, password: c.companyRequestToken, ...clientFields(sim) });
      await tokenRequest(sim, { grant_type: 'refresh_token', refresh_token: 'no-such-token', ...clientFields(sim) });
      await tokenRequest(sim, { grant_type: 'client_credentials', client_id: c.clientId, client_secret: 'wrong-secret' });
      const log = sim.tokenRequests();
      assert.deepEqual(
        log.map((e) => [e.grantType, e.credtype, e.username, e.refreshTokenSha256, e.status, e.oauthError, e.oauthCode]),
        [
          ['password', 'authtoken', c.companyId, undefined, 200, undefined, undefined],
          ['refresh_token', undefined, undefined, tokenFingerprint('no-such-token'), 400, 'invalid_grant', 108],
          ['client_credentials', undefined, undefined, undefined, 401, 'invalid_client', 4],
        ],
      );
      const text = JSON.stringify((await call(sim, 'GET', '/_sim/requests')).json);
      for (const secret of [c.companyRequestToken, c.clientSecret, 'no-such-token', 'wrong-secret', ...sim.issuedTokens()])
        assert.ok(!text.includes(secret), 'no secret in /_sim/requests');
    });

    it('logs the query, the Accept header and the caller’s correlation id (only when it sent a usable one)', async () => {
      sim.requests.length = 0;
      await call(sim, 'GET', '/api/platform/notifications/v1.0/notification?status=failed', {
        token: company.access_token,
        headers: { Accept: 'application/xml', 'Concur-Correlationid': 'corr-1' },
      });
      await call(sim, 'GET', R1_V4, { token: company.access_token, headers: { 'Concur-Correlationid': 'bad id with spaces' } });
      await call(sim, 'GET', R1_V4, { token: company.access_token });
      assert.deepEqual(
        sim.requests.map((e) => [e.query, e.accept, e.correlationId, e.tokenKind]),
        [
          ['status=failed', 'application/xml', 'corr-1', 'company'],
          [undefined, undefined, undefined, 'company'],
          [undefined, undefined, undefined, 'company'],
        ],
      );
    });

    it('issuedTokens() lists every access and refresh token when asked for at start, and refuses otherwise', async () => {
      const t = await companyToken(sim);
      const issued = sim.issuedTokens();
      assert.ok(issued.includes(t.access_token) && issued.includes(t.refresh_token));
      const plain = await startSimulator({ port: 0, deliverEvents: false });
      try {
        await companyToken(plain);
        assert.throws(() => plain.issuedTokens(), /recordIssuedTokens/);
      } finally {
        await plain.stop();
      }
    });
  });
});
