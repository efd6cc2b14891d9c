'use strict';
/**
 * Unit tests for the security hardening of issue 12 (pure modules, no Node-RED):
 * path ids, ... Each test fails on the code before its fix.
 */
const assert = require('node:assert/strict');
const { pathSegment } = require('../../dist/concur/path-segment');
/** @param {string} id @param {string} [what] */
const encodePathSegment = (id, what = 'id') => pathSegment(id, what);
const { resolveApiUrl } = require('../../dist/concur/concur-hosts');
const { locateReport } = require('../../dist/concur/report-details');
const { v4WorkflowPath } = require('../../dist/concur/workflow-action');
const { v4ExceptionPath } = require('../../dist/concur/report-exceptions');

/** @typedef {import('../../dist/concur/concur-error').ConcurError} ConcurError */
/** @typedef {Extract<import('../../dist/concur/ess-receiver').Outcome, { kind: 'rejected' }>} Rejected */

describe('hardening: ids that are dot segments never change the API path', () => {
  const DOTS = ['..', '.', '%2e%2e', '%2E%2e', '.%2e', '%2e.', '%2e'];

  it('encodePathSegment refuses every spelling of . and .. with INVALID_INPUT', () => {
    for (const id of DOTS) {
      assert.throws(
        () => encodePathSegment(id, 'msg.reportId'),
        /** @param {ConcurError} e */ (e) => e.code === 'INVALID_INPUT' && e.notSent === true && /msg\.reportId .* dot segment/.test(e.message),
        id,
      );
    }
    // Ids with dots that are not whole segments stay as they are; the rest is escaped.
    assert.equal(encodePathSegment('a..b'), 'a..b');
    assert.equal(encodePathSegment('...'), '...');
    assert.equal(encodePathSegment('a/../b'), 'a%2F..%2Fb');
    assert.equal(encodePathSegment('nAb$pZ%24xWq9'), 'nAb$pZ%24xWq9', 'legacy keys keep their escapes');
  });

  it('every path builder refuses them before building a URL', () => {
    for (const id of DOTS) {
      assert.throws(() => v4WorkflowPath({ action: 'approve' }, { reportId: id, endpoint: 'company' }), /dot segment/, `approve ${id}`);
      assert.throws(
        () => v4WorkflowPath({ action: 'recall' }, { reportId: 'R1', userId: id, endpoint: 'user' }),
        /msg\.userId .*dot segment/,
        `recall user ${id}`,
      );
      assert.throws(() => locateReport({ reportId: id }, { version: 'v3' }), /dot segment/, `v3 ${id}`);
      assert.throws(() => locateReport({ reportId: id, userId: 'u' }, { version: 'v4' }), /dot segment/, `v4 ${id}`);
      assert.throws(() => locateReport({ reportId: 'R1' }, { version: 'v4', urlTemplate: '/x/{reportId}/{userId}' }), /userId/, 'template without user id');
      assert.throws(
        () => locateReport({ reportId: id, userId: 'u' }, { version: 'v4', urlTemplate: '/x/{userId}/{reportId}' }),
        /dot segment/,
        `template ${id}`,
      );
      assert.throws(() => v4ExceptionPath(id, { index: 0, level: 'report' }), /dot segment/, `exceptions ${id}`);
      assert.throws(() => v4ExceptionPath('R1', { index: 2, level: 'expense', expenseId: id }), /exceptions\[2\] expense id .*dot segment/, `expense ${id}`);
    }
  });

  it('resolveApiUrl refuses a path or URL with a dot segment (hrefs from events, URL templates)', () => {
    const base = 'https://us2.api.concursolutions.com';
    for (const p of [
      '/expensereports/v4/reports/../approve',
      '/a/%2e%2e/b',
      '/a/./b',
      'https://us.api.concursolutions.com/expensereports/v4/reports/%2E%2E/approve',
      '/a/..\\b',
      '/a/..?x=1',
    ]) {
      assert.throws(() => resolveApiUrl(p, base), /"\." or "\.\." path segment/, p);
    }
    assert.equal(resolveApiUrl('/a/..b/c?x=../y', base).pathname, '/a/..b/c', 'dots inside a segment or in the query are fine');
  });
});

describe('hardening: a geolocation from the token endpoint is trusted only on a Concur https host when the base is a preset', function () {
  this.timeout(20000);
  const { startSimulator } = require('../../dist/simulator/index.js');
  const { TokenManager } = require('../../dist/concur/token-manager');
  const { MemoryTokenStore } = require('../../dist/concur/token-store');
  const { sendHttp } = require('../../dist/concur/http-transport');
  const ATTACKER = 'http://attacker.example:8080';
  const US2 = 'https://us2.api.concursolutions.com';
  let sim;
  let sent;
  // sim.url is the public URL it hands out (the attacker's); it listens on loopback.
  const local = () => `http://127.0.0.1:${sim.port}`;
  before(async () => {
    sim = await startSimulator({ port: 0, deliverEvents: false, refreshTokens: ['rt-geo'], publicUrl: ATTACKER });
  });
  after(() => sim.stop());
  beforeEach(() => {
    sent = [];
    sim.resetFaults();
  });
  // Only loopback is really contacted; anything else is recorded and fails like an unreachable host.
  const send = (x) => {
    sent.push(x.url.origin);
    if (x.url.hostname !== '127.0.0.1') return Promise.reject(Object.assign(new Error('not contacted in tests'), { code: 'ENOTFOUND' }));
    return sendHttp(x);
  };
  const tm = (over) =>
    new TokenManager({
      grantType: 'refresh_token',
      credentials: { clientId: sim.credentials.clientId, clientSecret: sim.credentials.clientSecret, refreshToken: 'rt-geo' },
      baseUrl: US2,
      tokenBaseUrl: local(),
      store: new MemoryTokenStore(),
      send,
      ...over,
    });

  it('preset base: an http / non-Concur geolocation in the token answer is ignored (and reported)', async () => {
    const events = [];
    const t = tm({ onEvent: (e) => events.push(e) });
    const tok = await t.getToken();
    assert.equal(tok.apiBase, US2);
    assert.ok(!t.trustedOrigins().some((o) => o.includes('attacker')), JSON.stringify(t.trustedOrigins()));
    assert.deepEqual(
      events.filter((e) => e.type === 'geolocation-refused').map((e) => e.geolocation),
      [ATTACKER],
    );
    assert.equal(t.describe().geolocation, undefined);
  });

  it('preset base: "user lives elsewhere" (code 16) naming a non-Concur host is not followed: the secret is not sent there', async () => {
    sim.setFaults({ failNext: [{ pathPrefix: '/oauth2/v0/token', geolocation: 'http://attacker.example:8080' }] });
    const t = tm();
    await assert.rejects(t.getToken(), /** @param {ConcurError} e */ (e) => e.status === 400 && /code 16/.test(e.message));
    assert.deepEqual(sent, [local()], 'only the configured token endpoint was contacted');
  });

  it('custom base (simulator, proxy): the geolocation it names is followed as before', async () => {
    const t = tm({ baseUrl: local(), tokenBaseUrl: undefined, grantType: 'client_credentials' });
    const tok = await t.getToken();
    assert.equal(tok.apiBase, ATTACKER);
  });
});

describe('hardening: one route key for registering and capturing, the way Express matches', () => {
  const { routeKey } = require('../../dist/nodes/shared/http-routes');
  it('is case-insensitive with an optional trailing slash, unless the app asks for case-sensitive / strict routing', () => {
    assert.equal(routeKey('/Concur/ESS'), routeKey('/concur/ess'));
    assert.equal(routeKey('/concur/ess/'), routeKey('/concur/ess'));
    assert.notEqual(routeKey('/concur/ess//'), routeKey('/concur/ess'), 'Express does not route a double slash either');
    assert.notEqual(routeKey('/concur/%65ss'), routeKey('/concur/ess'), 'nor a percent-encoded letter');
    assert.equal(routeKey('/'), '/');
    assert.notEqual(routeKey('/A', { caseSensitive: true }), routeKey('/a', { caseSensitive: true }));
    assert.notEqual(routeKey('/a/', { strict: true }), routeKey('/a', { strict: true }));
  });
});

describe('hardening: ESS signatures are checked with one body hash for every key and padding', function () {
  this.timeout(60000);
  const crypto = require('node:crypto');
  const { verifyEssSignature, loadVerificationKeys } = require('../../dist/concur/ess-signature');
  const C = crypto.constants;
  const keyOf = (bits) => crypto.generateKeyPairSync('rsa', { modulusLength: bits });
  const pairs = [2048, 2049, 3072].map((bits) => ({ bits, ...keyOf(bits) }));
  const vkeys = (ps) => loadVerificationKeys(ps.map((p, i) => ({ id: `k${i}-${p.bits}`, text: p.publicKey.export({ type: 'spki', format: 'pem' }) }))).keys;
  const sign = (body, p, how) =>
    crypto.sign(
      'sha256',
      body,
      how === 'pkcs1' ? { key: p.privateKey, padding: C.RSA_PKCS1_PADDING } : { key: p.privateKey, padding: C.RSA_PKCS1_PSS_PADDING, saltLength: how },
    );
  /** What Node's own verify says for the same inputs (the reference). */
  const reference = (body, sig, keys, padding) =>
    keys.some(
      (k) =>
        sig.length === k.sizeBytes &&
        ((padding !== 'pkcs1' && crypto.verify('sha256', body, { key: k.key, padding: C.RSA_PKCS1_PSS_PADDING, saltLength: C.RSA_PSS_SALTLEN_AUTO }, sig)) ||
          (padding !== 'pss' && crypto.verify('sha256', body, { key: k.key, padding: C.RSA_PKCS1_PADDING }, sig))),
    );

  it('agrees with crypto.verify on random bodies, salt lengths (0, 20, 32, max), PKCS#1 v1.5, odd modulus sizes and tampering', () => {
    const keys = vkeys(pairs);
    let checked = 0;
    let valid = 0;
    for (let round = 0; round < 40; round++) {
      const p = pairs[round % pairs.length];
      const body = crypto.randomBytes(1 + Math.floor(Math.random() * 5000));
      const how = ['pkcs1', 0, 20, 32, C.RSA_PSS_SALTLEN_MAX_SIGN][round % 5];
      const sig = sign(body, p, how);
      const variants = [
        [body, sig],
        [Buffer.concat([body, Buffer.from('x')]), sig],
        [body, Buffer.from(sig).fill(sig[7] ^ 1, 7, 8)],
        [body, Buffer.from(sig).fill(0xff, 0, 1)], // likely >= n: OpenSSL refuses it
      ];
      for (const [b, s] of variants) {
        for (const padding of /** @type {const} */ (['any', 'pss', 'pkcs1'])) {
          const want = reference(b, s, keys, padding);
          const got = verifyEssSignature(b, s.toString('base64'), keys, padding);
          assert.equal(got.ok, want, `round ${round} bits ${p.bits} ${how} ${padding}: ours ${got.ok}, crypto.verify ${want}`);
          if (got.ok) assert.equal(got.padding, how === 'pkcs1' ? 'pkcs1' : 'pss');
          checked++;
          valid += want ? 1 : 0;
        }
      }
    }
    assert.ok(valid >= 40 && checked - valid >= 300, `${valid} valid of ${checked}`);
  });

  it('hashes a 256 KiB body once for three keys and both paddings (measured against per-key verify)', () => {
    const three = [pairs[0], { bits: 2048, ...keyOf(2048) }, { bits: 2048, ...keyOf(2048) }];
    const keys = vkeys(three);
    const body = crypto.randomBytes(256 * 1024);
    const last = three[2]; // matching key last, PKCS#1: the old path hashed the body 6 times
    const sig = sign(body, last, 'pkcs1').toString('base64');
    const N = 30;
    const time = (f) => {
      const t = process.hrtime.bigint();
      for (let i = 0; i < N; i++) assert.ok(f());
      return Number(process.hrtime.bigint() - t) / 1e6 / N;
    };
    const perKey = () => reference(body, Buffer.from(sig, 'base64'), keys, 'any');
    const once = () => verifyEssSignature(body, sig, keys, 'any').ok;
    time(once);
    time(perKey); // warm up
    const a = time(perKey);
    const b = time(once);
    process.stdout.write(`      256 KiB body, 3 keys, match last with PKCS#1: crypto.verify per key/padding ${a.toFixed(2)} ms, one hash ${b.toFixed(2)} ms\n`);
    // Report only: timing assertions belong in the benchmark.
  });
});

describe('hardening: one throttled warning per reason per 10 s (both receivers)', () => {
  const { throttledWarn } = require('../../dist/nodes/shared/warn-throttle');
  it('passes the first warning of a reason, counts the rest, and reports the count with the next one after the interval', () => {
    let now = 0;
    const out = [];
    const warn = throttledWarn(
      (t) => out.push(t),
      10_000,
      () => now,
    );
    for (let i = 0; i < 300; i++) warn('401', 'rejected: 401 wrong password');
    warn('400', 'rejected: 400 not XML');
    now = 10_000;
    warn('401', 'rejected: 401 wrong password');
    assert.deepEqual(out, ['rejected: 401 wrong password', 'rejected: 400 not XML', 'rejected: 401 wrong password (299 similar suppressed)']);
  });
});

describe('hardening: a signed event older than the dedupe window is refused (400), not accepted again', () => {
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  const { EventJournal } = require('../../dist/concur/event-journal');
  const { EssReceiver } = require('../../dist/concur/ess-receiver');
  const { eventTime } = require('../../dist/concur/ess-envelope');
  const { loadVerificationKeys } = require('../../dist/concur/ess-signature');
  const { testKeyPair, essEvent, signedDelivery } = require('../helpers/ess-signer');
  const key = testKeyPair('receiver');
  const { keys } = loadVerificationKeys([{ id: 'k', text: key.publicPem }]);
  const delivery = (ev) => {
    const d = signedDelivery(ev, { privateKey: key.privateKey });
    return { rawBody: Buffer.from(d.body), headers: Object.fromEntries(Object.entries(d.headers).map(([k, v]) => [k.toLowerCase(), v])) };
  };
  let dir;
  let journal;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-stale-'));
    journal = await EventJournal.open({ file: path.join(dir, 'j.journal'), dedupeWindowMs: 72 * 3600_000 });
  });
  afterEach(async () => {
    await journal.close().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads every documented timeStamp spelling (Z, +0000, nanoseconds) and treats a zone-less time as UTC', () => {
    const t = Date.UTC(2021, 2, 18, 23, 11, 51, 34);
    assert.equal(eventTime({ timeStamp: '2021-03-18T23:11:51.034Z' }), t);
    assert.equal(eventTime({ timeStamp: '2021-03-18T23:11:51.034+0000' }), t);
    assert.equal(eventTime({ timeStamp: '2021-03-18T23:11:51.034123456Z' }), t);
    assert.equal(eventTime({ timeStamp: '2021-03-19T01:11:51.034+02:00' }), t);
    assert.equal(eventTime({ timeStamp: '2021-03-18T23:11:51.034' }), t);
    assert.equal(eventTime({ timestamp: '2021-03-18T23:11:51.034Z' }), t);
    for (const v of [undefined, null, '', 'yesterday', '2021-13-40T00:00:00Z', 12345]) assert.equal(eventTime({ timeStamp: v }), undefined, String(v));
  });

  it('window + skew: 73 h old is 400 "stale" with the age; 71 h old, no timeStamp or a non-date are accepted; 0 turns it off', async () => {
    const now = Date.UTC(2026, 5, 1, 12);
    const r = new EssReceiver({ journal, verifySignature: true, keys, now: () => now, maxEventAgeMs: 72 * 3600_000 + 600_000 });
    const old = /** @type {Rejected} */ (await r.handle(delivery(essEvent({ timeStamp: new Date(now - 73 * 3600_000).toISOString() }))));
    assert.deepEqual([old.status, old.category], [400, 'stale']);
    assert.match(old.reason, /is 73\.0 h old, older than 72\.17 h .*possible replay/);
    const years = /** @type {Rejected} */ (await r.handle(delivery(essEvent({ timeStamp: '2021-03-18T23:11:51.034+0000' }))));
    assert.match(years.reason, /days old/);
    for (const ts of [new Date(now - 71 * 3600_000).toISOString(), undefined, 'not a date', new Date(now + 3600_000).toISOString()]) {
      const ev = essEvent({ timeStamp: ts });
      if (ts === undefined) delete ev.timeStamp;
      /** @type {import('../../dist/concur/ess-receiver').Outcome & { reason?: string }} the reason, if one, goes into the failure message */
      const ok = await r.handle(delivery(ev));
      assert.equal(ok.status, 200, `${ts}: ${ok.reason}`);
    }
    const off = new EssReceiver({ journal, verifySignature: true, keys, now: () => now, maxEventAgeMs: 0 });
    assert.equal((await off.handle(delivery(essEvent({ timeStamp: '2021-03-18T23:11:51.034Z' })))).status, 200);
  });
});

describe('hardening: a 429 / 5xx from the token endpoint keeps the stored rotated refresh token', function () {
  this.timeout(30000);
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  const { startSimulator } = require('../../dist/simulator/index.js');
  const { TokenManager } = require('../../dist/concur/token-manager');
  const { FileTokenStore } = require('../../dist/concur/token-store');
  const ORIGINAL = 'configured-refresh-token-429';
  let sim;
  let dir;
  let waits;
  beforeEach(async () => {
    sim = await startSimulator({ port: 0, deliverEvents: false, refreshTokens: [ORIGINAL] });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-tok-'));
    waits = [];
  });
  afterEach(async () => {
    await sim.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  /** @param {Partial<import('../../dist/concur/token-manager').TokenManagerOptions>} [extra] */
  const manager = (extra) =>
    new TokenManager({
      grantType: 'refresh_token',
      credentials: { clientId: sim.credentials.clientId, clientSecret: sim.credentials.clientSecret, refreshToken: ORIGINAL },
      baseUrl: sim.url,
      store: new FileTokenStore(dir, 'cfg'),
      sleep: (ms) => {
        waits.push(ms);
        return new Promise((r) => setTimeout(r, Math.min(ms, 20)));
      },
      ...extra,
    });
  const file = () => path.join(dir, 'cfg.json');
  const stored = () => JSON.parse(fs.readFileSync(file(), 'utf8')).refreshToken;
  const TOKEN = '/oauth2/v0/token';

  /** First run: Concur rotates the configured token; the rotated one is stored. */
  async function rotated() {
    const t = manager();
    await t.getToken();
    const rt = stored();
    assert.notEqual(rt, ORIGINAL);
    return rt;
  }

  it('429 with Retry-After: waits as told, asks again with the STORED token, keeps the file (no fallback to the invalidated configured token)', async () => {
    const rt = await rotated();
    sim.setFaults({ failNext: [{ pathPrefix: TOKEN, status: 429, retryAfter: 2, count: 1 }] });
    const t = manager(); // a restart: the stored token is loaded
    const n = sim.tokenRequests().length;
    await t.getToken();
    const reqs = sim.tokenRequests().slice(n);
    assert.deepEqual(
      reqs.map((r) => r.status),
      [429, 200],
    );
    const { tokenFingerprint } = require('../../dist/simulator/index.js');
    assert.deepEqual(
      reqs.map((r) => r.refreshTokenSha256),
      [tokenFingerprint(rt), tokenFingerprint(rt)],
      'both with the stored token',
    );
    assert.deepEqual(waits, [2000], 'Retry-After honoured');
    assert.ok(fs.existsSync(file()));
    assert.notEqual(stored(), rt, 'the new rotated token replaced it');
  });

  it('5xx is retried with backoff; when the retries run out the error is reported and the stored token is still there', async () => {
    const rt = await rotated();
    sim.setFaults({ failNext: [{ pathPrefix: TOKEN, status: 503, count: 2 }] });
    let t = manager();
    await t.getToken();
    assert.equal(waits.length, 2);
    const rt2 = stored();
    assert.notEqual(rt2, rt);
    sim.setFaults({ failNext: [{ pathPrefix: TOKEN, status: 429, retryAfter: 1, count: 10 }] });
    t = manager();
    await assert.rejects(t.getToken(), /** @param {ConcurError} e */ (e) => e.status === 429);
    assert.equal(stored(), rt2, 'kept');
    sim.resetFaults();
    await t.getToken(); // the stored token still works once Concur answers again
    assert.notEqual(stored(), rt2);
  });

  it('invalid_grant is the only answer that stops using the stored token (then the configured one is tried once)', async () => {
    await rotated();
    sim.expireTokens({ refresh: true }); // every refresh token is now invalid_grant
    const events = [];
    const t = manager({ onEvent: (e) => events.push(e) });
    await assert.rejects(t.getToken(), /** @param {ConcurError} e */ (e) => e.oauth && e.oauth.error === 'invalid_grant');
    assert.deepEqual(
      events.filter((e) => e.type === 'refresh-rejected').map((e) => e.fallback),
      [true],
    );
    assert.ok(fs.existsSync(file()), 'the file stays until a new token is written');
  });
});
