'use strict';
/**
 * Unit tests of the pure API modules in concur/ (no Node-RED): token manager,
 * retrying client, host rules, legacy XML, input validation. Network tests run
 * against the SAP Concur simulator (src/simulator) on loopback, one per test.
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startSimulator } = require('../../dist/simulator/index.js');
const { failNext, requestsTo, fingerprint } = require('../helpers/simulator-client');
const { TokenManager, parseRefreshExpiry } = require('../../dist/concur/token-manager');
const { FileTokenStore, MemoryTokenStore } = require('../../dist/concur/token-store');
const { ConcurApiClient } = require('../../dist/concur/api-client');
const { ConcurError } = require('../../dist/concur/concur-error');
const { resolveApiUrl, isTrustedHost, resolveBaseUrl } = require('../../dist/concur/concur-hosts');
const { parseLegacyXml, buildExceptionsXml, buildWorkflowActionXml } = require('../../dist/concur/legacy-xml');
const { normalizeExceptions, v4ExceptionPath, legacyExceptionResults } = require('../../dist/concur/report-exceptions');
const { validateWorkflowAction, v4WorkflowPath } = require('../../dist/concur/workflow-action');
const { locateReport, summarizeReport } = require('../../dist/concur/report-details');
const { normalizeNotifications, deleteNotification } = require('../../dist/concur/notifications-api');
const { pathSegment } = require('../../dist/concur/path-segment');

const FAST = { maxRetries: 3, baseDelayMs: 5, maxDelayMs: 20 };
/** A refresh token the simulator accepts from the start (as if issued before it started). */
const REFRESH = 'configured-refresh-token-ORIGINAL';
const R1 = 'CB899F7D9F73420A8D8B'; // seeded report at EXTVAL, owner Jane
const JANE = 'e1a0b7c4-5d2f-4c8a-9b1e-3f6d2a8c7e10';
const R1_V4 = `/expensereports/v4/users/${JANE}/context/TRAVELER/reports/${R1}`;

const startSim = (opts = {}) => startSimulator({ port: 0, deliverEvents: false, refreshTokens: [REFRESH], ...opts });

function manager(sim, over = {}) {
  return new TokenManager({
    grantType: 'refresh_token',
    credentials: { clientId: sim.credentials.clientId, clientSecret: sim.credentials.clientSecret, refreshToken: REFRESH },
    baseUrl: sim.url,
    store: new MemoryTokenStore(),
    ...over,
  });
}

describe('concur API client (pure modules)', function () {
  this.timeout(20000);
  let sim;
  beforeEach(async () => {
    sim = await startSim();
  });
  afterEach(async () => {
    await sim.stop();
  });

  describe('TokenManager', () => {
    it('shares one token request between concurrent callers and caches the token', async () => {
      sim.setFaults({ tokenLatencyMs: 100 });
      const tm = manager(sim);
      const tokens = await Promise.all(Array.from({ length: 10 }, () => tm.getToken()));
      assert.equal(sim.tokenRequests().length, 1);
      assert.equal(new Set(tokens.map((t) => t.accessToken)).size, 1);
      await tm.getToken();
      assert.equal(sim.tokenRequests().length, 1, 'cached');
    });

    it('renews shortly before expires_in (given as a string) using a fake clock', async () => {
      let now = Date.now();
      await sim.stop();
      sim = await startSim({ expiresIn: 'string' });
      const tm = manager(sim, { now: () => now, expirySkewSec: 120 });
      const a = await tm.getToken();
      now += (3600 - 121) * 1000;
      assert.equal((await tm.getToken()).accessToken, a.accessToken, 'still valid 121 s before expiry');
      now += 2000;
      const b = await tm.getToken();
      assert.notEqual(b.accessToken, a.accessToken, 'renewed inside the skew window');
      assert.equal(sim.tokenRequests().length, 2);
    });

    it('keeps the rotated refresh token in the store and uses it after a "restart"', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-tok-'));
      try {
        const store = new FileTokenStore(dir, 'cfg1');
        const tm1 = manager(sim, { store });
        await tm1.getToken();
        const saved = JSON.parse(fs.readFileSync(store.location, 'utf8'));
        assert.match(saved.refreshToken, /^[0-9a-f-]{36}$/, 'the rotated refresh token the simulator issued');
        assert.notEqual(saved.refreshToken, REFRESH);
        assert.ok(saved.refreshExpiresAt > Date.now() / 1000 + 86400, 'absolute epoch seconds');
        assert.equal(saved.geolocation, sim.url);
        assert.equal(fs.statSync(store.location).mode & 0o777, 0o600);
        assert.ok(!fs.readFileSync(store.location, 'utf8').includes(sim.credentials.clientSecret), 'no client secret on disk');
        assert.equal(fs.readdirSync(dir).length, 1, 'no temp files left behind');
        // The original refresh token is now invalid at the simulator; a new manager must use the stored one.
        const tm2 = manager(sim, { store: new FileTokenStore(dir, 'cfg1') });
        await tm2.getToken();
        const reqs = sim.tokenRequests();
        assert.deepEqual(
          reqs.map((r) => [r.refreshTokenSha256, r.status]),
          [
            [fingerprint(REFRESH), 200],
            [fingerprint(saved.refreshToken), 200],
          ],
        );
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('ignores a stored refresh token that belongs to other configured credentials', async () => {
      const store = new MemoryTokenStore();
      store.save({ seed: 'something-else', refreshToken: 'stale', updatedAt: '' });
      const tm = manager(sim, { store });
      await tm.getToken();
      assert.equal(sim.tokenRequests()[0].refreshTokenSha256, fingerprint(REFRESH));
    });

    it('starts over from the configured credentials when the connection is pointed at another Concur', async () => {
      const store = new MemoryTokenStore();
      const other = await startSim();
      try {
        // State (rotated refresh token + geolocation) earned against the first server...
        await manager(sim, { store }).getToken();
        assert.equal(store.load().geolocation, sim.url);
        // ...must not send the second server's token requests to the first one.
        const tm = manager(other, {
          store,
          credentials: { clientId: sim.credentials.clientId, clientSecret: sim.credentials.clientSecret, refreshToken: REFRESH },
        });
        await tm.getToken();
        assert.equal(sim.tokenRequests().length, 1, 'no request went to the old server');
        assert.equal(other.tokenRequests().length, 1);
        assert.equal(other.tokenRequests()[0].refreshTokenSha256, fingerprint(REFRESH));
        assert.equal(tm.apiBase(), other.url);
      } finally {
        await other.stop();
      }
    });

    it('company token: password grant with credtype authtoken, then refresh; falls back to the request token when the refresh token is rejected', async () => {
      let now = Date.now();
      const c = sim.credentials;
      const tm = new TokenManager({
        grantType: 'password',
        credentials: { clientId: c.clientId, clientSecret: c.clientSecret, username: c.companyId, password: c.companyRequestToken },
        baseUrl: sim.url,
        store: new MemoryTokenStore(),
        now: () => now,
      });
      await tm.getToken();
      assert.deepEqual(
        sim.tokenRequests().map((r) => [r.grantType, r.credtype, r.username, r.status]),
        [['password', 'authtoken', c.companyId, 200]],
      );
      now += 3600 * 1000;
      await tm.getToken();
      assert.deepEqual([sim.tokenRequests()[1].grantType, sim.tokenRequests()[1].status], ['refresh_token', 200]);
      assert.ok(sim.expireTokens({ refresh: true }) >= 1); // revoked (refresh tokens too)
      now += 3600 * 1000;
      await tm.getToken();
      assert.deepEqual(
        sim
          .tokenRequests()
          .slice(2)
          .map((r) => [r.grantType, r.status, r.oauthCode]),
        [
          ['refresh_token', 400, 108],
          ['password', 200, undefined],
        ],
      );
    });

    it('surfaces OAuth errors with error, error_description and code', async () => {
      const tm = manager(sim, { credentials: { clientId: sim.credentials.clientId, clientSecret: sim.credentials.clientSecret, refreshToken: 'wrong' } });
      await assert.rejects(tm.getToken(), (e) => {
        assert.ok(e instanceof ConcurError);
        assert.equal(e.status, 400);
        assert.equal(e.code, 'invalid_grant');
        assert.deepEqual(
          { ...e.oauth, geolocation: undefined },
          { error: 'invalid_grant', error_description: 'refresh token is invalid, expired or already used', code: 108, geolocation: undefined },
        );
        assert.match(e.message, /invalid_grant \(code 108\)/);
        assert.ok(!e.message.includes('wrong'), 'no token in the message');
        return true;
      });
    });

    it('follows a returned geolocation and retries once at it for "user lives elsewhere" (code 16)', async () => {
      const other = await startSim();
      try {
        failNext(sim, { pathPrefix: '/oauth2/v0/token', geolocation: other.url }); // "user lives elsewhere": 400, code 16
        const tm = new TokenManager({
          grantType: 'client_credentials',
          credentials: { clientId: sim.credentials.clientId, clientSecret: sim.credentials.clientSecret },
          baseUrl: sim.url,
        });
        const t = await tm.getToken();
        assert.deepEqual(
          sim.tokenRequests().map((r) => [r.status, r.oauthError, r.oauthCode]),
          [[400, 'invalid_request', 16]],
        );
        assert.equal(other.tokenRequests().length, 1, 'retried at the named geolocation');
        assert.equal(t.apiBase, other.url);
      } finally {
        await other.stop();
      }
    });

    it('refuses to start a grant with missing credentials without sending anything', async () => {
      const tm = manager(sim, { credentials: { clientId: 'x' } });
      await assert.rejects(tm.getToken(), /client secret is not set; refresh token is not set/);
      assert.equal(sim.requests.length, 0);
    });

    it('reads refresh_expires_in as absolute epoch seconds (and a small value as a duration)', () => {
      assert.equal(parseRefreshExpiry(1647802571, 0), 1647802571);
      assert.equal(parseRefreshExpiry('1647802571', 0), 1647802571);
      assert.equal(parseRefreshExpiry(100, 1000000), 1100);
      assert.equal(parseRefreshExpiry('soon', 0), undefined);
    });
  });

  describe('ConcurApiClient', () => {
    const client = (over = {}, tmOver = {}) => {
      const events = [];
      const c = new ConcurApiClient({ tokens: manager(sim, tmOver), retry: FAST, onEvent: (e) => events.push(e), ...over });
      return { c, events };
    };

    it('honours Retry-After on 429 and then succeeds', async () => {
      const { c, events } = client();
      failNext(sim, { method: 'GET', pathPrefix: R1_V4, status: 429, retryAfter: 1 });
      const r = await c.request({ method: 'GET', url: R1_V4 });
      assert.equal(r.status, 200);
      assert.equal(r.attempts, 2);
      assert.deepEqual(
        events.map((e) => [e.type, e.reason, e.delayMs]),
        [['retry', 'HTTP 429', 1000]],
      );
    });

    it('retries 503 then succeeds for GET, but never repeats a POST after a 503', async () => {
      const { c } = client();
      failNext(sim, { method: 'GET', pathPrefix: R1_V4, status: 503, count: 2 });
      const r = await c.request({ method: 'GET', url: R1_V4 });
      assert.equal(r.attempts, 3);
      assert.deepEqual(
        requestsTo(sim, /reports\/CB899F7D9F73420A8D8B$/).map((x) => x.status),
        [503, 503, 200],
      );
      failNext(sim, { method: 'POST', pathPrefix: '/api/expense/expensereport/v1.1/report/K/Exceptions', status: 503 });
      await assert.rejects(
        c.request({ method: 'POST', url: '/api/expense/expensereport/v1.1/report/K/Exceptions', xml: '<x/>' }),
        /** @param {ConcurError} e */ (e) => e.status === 503 && e.code === 'HTTP_503',
      );
      assert.equal(requestsTo(sim, /Exceptions$/).length, 1);
    });

    it('gives up after maxRetries with the last error', async () => {
      const { c } = client();
      failNext(sim, { method: 'GET', pathPrefix: R1_V4, status: 500, count: 10 });
      // @ts-expect-error reads a field of a caught error / parsed document the test knows the shape of
      await assert.rejects(c.request({ method: 'GET', url: R1_V4 }), (e) => e.status === 500 && /after 4 attempts/.test(e.message));
      assert.equal(requestsTo(sim, /reports\/CB899F7D9F73420A8D8B$/).length, 4);
    });

    it('retries network errors for idempotent calls', async () => {
      const { c } = client();
      failNext(sim, { method: 'GET', pathPrefix: R1_V4, drop: true });
      const r = await c.request({ method: 'GET', url: R1_V4 });
      assert.equal(r.status, 200);
      assert.deepEqual(
        requestsTo(sim, /reports\/CB899F7D9F73420A8D8B$/).map((x) => x.status),
        [0, 200],
        'the first attempt was dropped',
      );
    });

    it('on 401 gets a fresh token once and repeats the call; concurrent 401s share one refresh', async () => {
      sim.setFaults({ expiredTokenStatus: 401 });
      const { c } = client();
      await c.tokens.getToken();
      sim.expireTokens();
      const rs = await Promise.all([1, 2, 3].map(() => c.request({ method: 'GET', url: R1_V4 })));
      assert.ok(rs.every((r) => r.status === 200));
      assert.deepEqual(
        requestsTo(sim, /reports\/CB899F7D9F73420A8D8B$/)
          .map((x) => x.status)
          .sort(),
        [200, 200, 200, 401, 401, 401],
      );
      assert.equal(sim.tokenRequests().length, 2, 'initial + one refresh');
    });

    it('treats a 403 "token expired" like a 401, but not a plain 403', async () => {
      // 403 is what the docs say Concur answers for an expired token (the simulator's default).
      const { c } = client();
      await c.tokens.getToken();
      sim.expireTokens();
      assert.equal((await c.request({ method: 'GET', url: R1_V4 })).status, 200);
      assert.deepEqual(
        requestsTo(sim, /reports\/CB899F7D9F73420A8D8B$/).map((x) => x.status),
        [403, 200],
      );
      failNext(sim, { method: 'GET', pathPrefix: R1_V4, status: 403, message: 'Forbidden Request' });
      // @ts-expect-error reads a field of a caught error / parsed document the test knows the shape of
      await assert.rejects(c.request({ method: 'GET', url: R1_V4 }), (e) => e.status === 403 && e.message.includes('Forbidden Request'));
      assert.equal(sim.tokenRequests().length, 2);
    });

    it('passes Concur-Correlationid through and returns the v4 error message', async () => {
      const { c } = client();
      await assert.rejects(
        c.request({ method: 'GET', url: `/expensereports/v4/users/${JANE}/context/TRAVELER/reports/NOPE`, correlationId: 'corr-123' }),
        (e) => {
          // @ts-expect-error reads a field of a caught error / parsed document the test knows the shape of
          assert.equal(e.status, 404);
          // @ts-expect-error reads a field of a caught error / parsed document the test knows the shape of
          assert.equal(e.correlationId, 'corr-123');
          // @ts-expect-error reads a field of a caught error / parsed document the test knows the shape of
          assert.match(e.message, /report NOPE was not found/);
          return true;
        },
      );
      assert.equal(sim.requests.at(-1).correlationId, 'corr-123');
    });

    it('rewrites www.concursolutions.com to the token geolocation and refuses untrusted hosts without sending the token', async () => {
      const { c } = client();
      const r = await c.request({
        method: 'GET',
        url: `https://www.concursolutions.com/api/expense/expensereport/v2.0/report/${R1}`,
        accept: 'application/xml',
      });
      assert.equal(r.xmlRoot, 'ReportDetails');
      // @ts-expect-error reads a field of a caught error / parsed document the test knows the shape of
      assert.equal(r.data.ReportID, R1);
      assert.deepEqual([sim.requests.at(-1).path, sim.requests.at(-1).accept], [`/api/expense/expensereport/v2.0/report/${R1}`, 'application/xml']);
      const before = sim.requests.length;
      // @ts-expect-error reads a field of a caught error / parsed document the test knows the shape of
      await assert.rejects(c.request({ method: 'GET', url: 'https://evil.example.com/steal' }), (e) => e.code === 'UNTRUSTED_HOST' && e.notSent);
      await assert.rejects(
        c.request({ method: 'GET', url: 'http://us2.api.concursolutions.com/x' }),
        /** @param {ConcurError} e */ (e) => e.code === 'UNTRUSTED_HOST',
        'Concur hosts only over https',
      );
      assert.equal(sim.requests.length, before);
    });

    it('close() ends a pending backoff with a CLOSED error', async () => {
      // @ts-expect-error the test builds the client through a constructor-style factory
      const { c } = new (function () {
        return client({ retry: { maxRetries: 3, baseDelayMs: 60000, maxDelayMs: 60000 } });
      })();
      failNext(sim, { method: 'GET', pathPrefix: R1_V4, status: 503 });
      const p = c.request({ method: 'GET', url: R1_V4 });
      const until = Date.now() + 5000;
      while (!requestsTo(sim, /reports\/CB899F7D9F73420A8D8B$/).length && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      c.close();
      // @ts-expect-error reads a field of a caught error / parsed document the test knows the shape of
      await assert.rejects(p, (e) => e.code === 'CLOSED');
    });
  });

  describe('hosts, XML and input validation', () => {
    it('resolves presets and rewrites every legacy host, keeping path and query', () => {
      // @ts-expect-error called without the optional argument, as JavaScript callers do
      assert.equal(resolveBaseUrl('us2'), 'https://us2.api.concursolutions.com');
      assert.equal(resolveBaseUrl('custom', 'http://127.0.0.1:9/'), 'http://127.0.0.1:9');
      // @ts-expect-error called without the optional argument, as JavaScript callers do
      assert.throws(() => resolveBaseUrl('mars'), /unknown geolocation/);
      const u = resolveApiUrl('https://eu1.concursolutions.com/api/x/y?z=1', 'https://eu2.api.concursolutions.com');
      assert.equal(u.toString(), 'https://eu2.api.concursolutions.com/api/x/y?z=1');
      assert.ok(isTrustedHost(new URL('https://us.api.concursolutions.com/a'), []));
      assert.ok(!isTrustedHost(new URL('https://concursolutions.com.evil.io/a'), []));
    });

    it('parses legacy XML namespace-agnostically, maps i:nil to null, and refuses DOCTYPE', () => {
      const x = parseLegacyXml('<a:R xmlns:a="urn:x" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><a:K>00$12</a:K><a:C i:nil="true"/></a:R>');
      assert.deepEqual(x, { root: 'R', value: { K: '00$12', C: null } });
      assert.throws(() => parseLegacyXml('<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'), /DOCTYPE/);
      assert.throws(() => parseLegacyXml('<x><y></x>'), /not well-formed/);
      assert.throws(() => parseLegacyXml('<!ENTITY a "b"><x/>'), /DOCTYPE or ENTITY/);
      // Character references in report text (e.g. an en dash in a report name) are decoded.
      assert.deepEqual(parseLegacyXml('<R><Name>Berlin &#x2013; Q3 &amp; &#8212;</Name></R>'), { root: 'R', value: { Name: 'Berlin – Q3 & —' } });
    });

    it('builds the v1.1 Exceptions and WorkflowAction bodies with escaping', () => {
      const ex = buildExceptionsXml([
        { objectType: 'Report', objectId: '', exceptionCode: 'A<B' },
        { objectType: 'Entry', objectId: 'E&1', exceptionCode: 'NODATE' },
      ]);
      assert.match(
        ex,
        /<Exceptions xmlns="http:\/\/www.concursolutions.com\/api\/expense\/expensereport\/2011\/03"><Exception><Index>1<\/Index><ObjectType>Report<\/ObjectType><ObjectId\/><ExceptionCode>A&lt;B<\/ExceptionCode><\/Exception><Exception><Index>2<\/Index>/,
      );
      assert.match(ex, /<ObjectId>E&amp;1<\/ObjectId>/);
      const wa = buildWorkflowActionXml('Send Back to Employee', 'fix </Comment> it\u0001');
      assert.match(wa, /<Action>Send Back to Employee<\/Action><Comment>fix &lt;\/Comment&gt; it<\/Comment>/);
      assert.deepEqual(parseLegacyXml(wa).value, { Action: 'Send Back to Employee', Comment: 'fix </Comment> it' });
    });

    it('validates exceptions before anything is sent', () => {
      assert.throws(() => normalizeExceptions('x'), /must be an array/);
      assert.throws(() => normalizeExceptions([]), /empty/);
      assert.throws(() => normalizeExceptions([{ exceptionCode: 'TOOLONGCODE' }]), /\[0\]\.exceptionCode .* longer than 8/);
      assert.throws(
        () => normalizeExceptions([{ exceptionCode: 'A' }, { exceptionCode: 'B', objectType: 'Entry' }]),
        /\[1\]: an Entry exception needs objectId/,
      );
      assert.throws(() => normalizeExceptions([{ exceptionCode: 'A', visibility: 'EVERYONE' }]), /visibility must be one of/);
      const [r, e, a] = normalizeExceptions([
        { exceptionCode: 'R1' },
        { exceptionCode: 'E1', objectId: 'X' },
        { exceptionCode: 'A1', objectType: 'allocation', expenseId: 'X', allocationId: 'Y', visibility: 'processor' },
      ]);
      assert.equal(v4ExceptionPath('RID', r), '/expensereports/v4/reports/RID/exceptions');
      assert.equal(v4ExceptionPath('RID', e), '/expensereports/v4/reports/RID/expenses/X/exceptions');
      assert.equal(v4ExceptionPath('RID', a), '/expensereports/v4/reports/RID/expenses/X/allocations/Y/exceptions');
      assert.equal(a.visibility, 'PROCESSOR');
    });

    it('maps an exception-result onto the posted list, including "failed but not said which"', () => {
      const list = normalizeExceptions([{ exceptionCode: 'A' }, { exceptionCode: 'B' }]);
      const r = legacyExceptionResults(list, { 'exceptions-failed': '1', errors: { error: { Index: '2', message: 'bad' } } }, 200, 'exception-result');
      assert.deepEqual(
        r.map((x) => [x.ok, x.message]),
        [
          [true, undefined],
          [false, 'bad'],
        ],
      );
      const u = legacyExceptionResults(list, { 'exceptions-failed': '1' }, 200, 'exception-result');
      assert.ok(u.every((x) => !x.ok && x.code === 'EXCEPTION_UNKNOWN'));
    });

    it('validates workflow actions (send back needs a comment ≤ 2000 chars; recall needs the user endpoint)', () => {
      assert.throws(() => validateWorkflowAction({ action: 'sendBack' }), /comment is required/);
      assert.throws(() => validateWorkflowAction({ action: 'approve', comment: 'x'.repeat(2001) }), /2001 characters; Concur allows at most 2000/);
      assert.throws(() => validateWorkflowAction({ action: 'delete' }), /approve, sendBack or recall/);
      const a = validateWorkflowAction({ action: 'send back', comment: 'x'.repeat(2000), expectedStepSequence: '2' });
      assert.equal(a.action, 'sendBack');
      assert.equal(a.expectedStepSequence, 2);
      assert.equal(v4WorkflowPath(a, { reportId: 'R', endpoint: 'company' }), '/expensereports/v4/reports/R/sendBack');
      assert.throws(() => v4WorkflowPath({ action: 'recall' }, { reportId: 'R', endpoint: 'company' }), /msg.userId is required for recall/);
      assert.equal(
        v4WorkflowPath({ action: 'recall' }, { reportId: 'R', userId: 'U', endpoint: 'company' }),
        '/expensereports/v4/users/U/context/TRAVELER/reports/R/recall',
      );
    });

    it('locates reports from facts.href, objectURI, ids or a template', () => {
      assert.equal(
        locateReport({ factsHref: 'https://us.api.concursolutions.com/expensereports/v4/users/U/context/TRAVELER/reports/R' }, { version: 'v3' }).version,
        'v4',
      );
      const legacy = locateReport(
        { objectURI: 'https://www.concursolutions.com/api/expense/expensereport/v1.1/reportfulldetails/ab$c%2Fd' },
        { version: 'v4' },
      );
      assert.deepEqual([legacy.version, legacy.accept], ['v1.1', 'application/xml']);
      assert.throws(() => locateReport({ reportId: 'R' }, { version: 'v4' }), /needs msg.userId/);
      assert.throws(() => locateReport({}, { version: 'v4' }), /no report to fetch/);
      assert.equal(locateReport({ reportId: 'a b' }, { version: 'v2.0' }).url, '/api/expense/expensereport/v2.0/report/a%20b');
      assert.equal(
        locateReport({ reportId: 'R', userId: 'U' }, { version: 'v4', context: 'MANAGER', urlTemplate: '/x/{userId}/{context}/{reportId}' }).url,
        '/x/U/MANAGER/R',
      );
      assert.equal(pathSegment('ab$c%2Fd/e', 'id'), 'ab$c%2Fd%2Fe');
      assert.deepEqual(summarizeReport({ RptKey: 'K', WorkflowActionURL: 'W' }), {
        reportId: 'K',
        reportKey: 'K',
        userId: undefined,
        workflowActionUrl: 'W',
        approvalStatus: undefined,
        name: undefined,
      });
    });

    it('normalises notification lists (JSON array or XML), skipping unusable entries', async () => {
      const r = normalizeNotifications([
        { Context: null, EventDateTime: 'd', EventType: 't', NotificationURI: 'n', ObjectType: 'EXPRPT', ObjectURI: 'o' },
        { EventType: 't' },
        5,
      ]);
      assert.deepEqual(r.notifications, [{ eventType: 't', objectType: 'EXPRPT', objectURI: 'o', eventDateTime: 'd', context: null, notificationURI: 'n' }]);
      assert.deepEqual(
        r.skipped.map((s) => s.index),
        [1, 2],
      );
      const api = { request: async () => assert.fail('must not be sent'), apiBase: () => '' };
      await assert.rejects(
        deleteNotification(api, 'https://www.concursolutions.com/api/expense/expensereport/v1.1/report/K'),
        /not a Notification v1.0 resource/,
      );
      await assert.rejects(deleteNotification(api, undefined), /msg.notificationURI is required/);
    });
  });
});
