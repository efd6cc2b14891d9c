'use strict';
/**
 * End to end (real Node-RED over loopback): the receiver-side items of the
 * security review (issue 12). Bodies are refused on their headers before they
 * are read, bounded in time and in bytes in flight; receiver paths match the way
 * Express matches them (case-insensitive, optional trailing slash).
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { startRed, request } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');
const { startCollector } = require('../helpers/collector');
const { slowPost } = require('../helpers/slow-post');
const { testKeyPair, essEvent, signedDelivery } = require('../helpers/ess-signer');
const { forwarder, essNode, EVENT_FIELDS } = require('../helpers/ess-flows');

const TAB = 'tab-ess';
const USER = 'hardening-connector-user';
const PASS = 'hardening-connector-password';
const BASIC = `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}`;
const READ_TIMEOUT_SEC = 2;

function rssKb(pid) {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

describe('hardening: receivers in a real Node-RED', function () {
  this.timeout(120000);
  let red;
  let collector;
  const key = testKeyPair('hardening');

  before(async () => {
    collector = await startCollector();
    red = await startRed({ settings: { concurReceiverLimits: { bodyReadTimeoutSec: READ_TIMEOUT_SEC } } });
    await red.deploy([
      { id: TAB, type: 'tab', label: 'hardening' },
      essNode({ extraKeys: key.publicPem, wires: [['ev-fn']] }),
      // Large limits: only the header pre-check and the byte budget stand between these and 1 MiB bodies.
      essNode({ id: 'essBig', path: '/concur/ess-big', maxBodyKiB: 8192, extraKeys: key.publicPem, storeName: 'big', wires: [['ev-fn']] }),
      essNode({ id: 'essOpen', path: '/concur/ess-open', verifySignature: false, storeName: 'open', wires: [['ev-fn']] }),
      essNode({ id: 'essNoStale', path: '/concur/ess-nostale', rejectStale: false, extraKeys: key.publicPem, storeName: 'nostale', wires: [['ev-fn']] }),
      essNode({ id: 'essShortWindow', path: '/concur/ess-1h', dedupeHours: 1, extraKeys: key.publicPem, storeName: 'short', wires: [['ev-fn']] }),
      {
        id: 'legacy',
        type: 'concur-legacy-notify-in',
        z: TAB,
        path: '/concur/v1.0/notify',
        maxBodyKiB: 1024,
        x: 100,
        y: 300,
        credentials: { username: USER, password: PASS },
        wires: [['ev-fn']],
      },
      ...forwarder({ id: 'ev', z: TAB, url: collector.url, pathName: '/event', fields: EVENT_FIELDS }),
    ]);
  });
  after(() => teardown({ red, collector }));
  beforeEach(() => collector.clear());

  const notification = (key2 = 'nKey$1') =>
    `<?xml version="1.0" encoding="UTF-8"?><Notification><EventType>SUBMIT</EventType><ObjectType>EXPRPT</ObjectType><ObjectURI>https://www.concursolutions.com/api/expense/expensereport/v1.1/reportfulldetails/${key2}</ObjectURI><EventDateTime>2026-01-01T00:00:00</EventDateTime><Context>EXTVAL</Context></Notification>`;

  describe('item 9: paths match the way Express matches them', () => {
    it('a signed event to /Concur/ESS, /CONCUR/ess/ is stored and emitted (not "400 request body could not be read")', async () => {
      for (const p of ['/Concur/ESS', '/CONCUR/ess/', '/concur/ess/']) {
        const ev = essEvent();
        const d = signedDelivery(ev, { privateKey: key.privateKey });
        const r = await request(`${red.url}${p}`, { method: 'POST', headers: d.headers, body: d.body });
        assert.equal(r.status, 200, `${p}: ${r.status} ${r.body}`);
        const got = await collector.waitFor(1, 10000, '/event');
        assert.equal(got.at(-1).body.concur.id, ev.id);
        collector.clear();
      }
    });

    it('a callout to /CONCUR/v1.0/Notify/ is parsed and emitted', async () => {
      const r = await request(`${red.url}/CONCUR/v1.0/Notify/`, {
        method: 'POST',
        headers: { Authorization: BASIC, 'Content-Type': 'application/xml' },
        body: notification(),
      });
      assert.equal(r.status, 200, r.body);
      const got = await collector.waitFor(1, 10000, '/event');
      assert.equal(got[0].body.payload.reportKey, 'nKey$1');
    });
  });

  describe('item 3: bodies are refused on their headers, bounded in time and in bytes', () => {
    it('ESS without Concur-Signature: 401 before the body is read (1 KiB of a declared 1 MiB sent)', async () => {
      const r = await slowPost(red.url, {
        path: '/concur/ess-big',
        headers: { 'Content-Type': 'application/json' },
        length: 1 << 20,
        sendBytes: 1024,
        deadlineMs: 5000,
      });
      assert.equal(r.status, 401, JSON.stringify(r));
      assert.equal(r.bodySentWhenAnswered, 1024);
      assert.match(r.body, /Concur-Signature header is missing/);
      assert.match(r.head, /connection: close/, 'the client is told not to reuse the connection');
    });

    it('legacy without or with wrong Basic credentials: 401 with WWW-Authenticate before the body is read', async () => {
      for (const auth of [undefined, `Basic ${Buffer.from(`${USER}:wrong-password-000`).toString('base64')}`]) {
        const headers = { 'Content-Type': 'application/xml', ...(auth ? { Authorization: auth } : {}) };
        const r = await slowPost(red.url, { path: '/concur/v1.0/notify', headers, length: 1 << 20, sendBytes: 1024, deadlineMs: 5000 });
        assert.equal(r.status, 401, JSON.stringify(r));
        assert.match(r.head, /www-authenticate: basic realm="concur"/);
      }
    });

    it('ESS with signature verification OFF: nothing to pre-check, the body is read (control)', async () => {
      const ev = essEvent();
      const r = await request(`${red.url}/concur/ess-open`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(ev) });
      assert.equal(r.status, 200, r.body);
    });

    it(`a body that does not arrive within the read timeout: 503 + Retry-After (ESS and legacy), never 408`, async () => {
      const ev = JSON.stringify(essEvent());
      const d = signedDelivery(null, { privateKey: key.privateKey, body: ev });
      const t0 = Date.now();
      const [ess, legacy] = await Promise.all([
        slowPost(red.url, { path: '/concur/ess', headers: d.headers, length: Buffer.byteLength(ev), sendBytes: 10, deadlineMs: 15000 }),
        slowPost(red.url, {
          path: '/concur/v1.0/notify',
          headers: { Authorization: BASIC, 'Content-Type': 'application/xml' },
          length: 5000,
          sendBytes: 100,
          deadlineMs: 15000,
        }),
      ]);
      const took = Date.now() - t0;
      for (const r of [ess, legacy]) {
        assert.equal(r.status, 503, JSON.stringify(r));
        assert.match(r.head, /retry-after: \d+/);
        assert.match(r.body, /not received within 2 s/);
      }
      assert.ok(took >= READ_TIMEOUT_SEC * 1000 - 100 && took < READ_TIMEOUT_SEC * 1000 + 5000, `answered after ${took} ms`);
    });

    it('bodies in flight past the per-type budget (8 MiB): 503 + Retry-After at once; once they are gone, deliveries work again', async () => {
      // A well-formed-looking but unverifiable 8 MiB delivery takes the whole ESS budget while it trickles in.
      const junk = { 'Content-Type': 'application/json', 'Concur-Signature': 'A'.repeat(344) };
      const holders = [0].map(() => slowPost(red.url, { path: '/concur/ess-big', headers: junk, length: 8 << 20, sendBytes: 4096, deadlineMs: 15000 }));
      await new Promise((r) => setTimeout(r, 300));
      const ev = essEvent();
      const d = signedDelivery(ev, { privateKey: key.privateKey });
      const busy = await slowPost(red.url, { path: '/concur/ess', headers: d.headers, length: Buffer.byteLength(d.body), sendBytes: 0, deadlineMs: 5000 });
      assert.equal(busy.status, 503, JSON.stringify(busy));
      assert.match(busy.head, /retry-after: \d+/);
      assert.match(busy.body, /too many request bodies in flight/);
      // The holder times out (503) and releases the budget: the same delivery is accepted.
      for (const h of await Promise.all(holders)) assert.equal(h.status, 503, JSON.stringify(h));
      const ok = await request(`${red.url}/concur/ess`, { method: 'POST', headers: d.headers, body: d.body });
      assert.equal(ok.status, 200, ok.body);
    });

    it('200 unauthenticated clients each sending 1 MiB slowly: Node-RED RSS grows by less than 64 MiB', async () => {
      await request(`${red.url}/settings`);
      const pid = red.pid;
      const before = rssKb(pid);
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, rssKb(pid))), 50);
      const kinds = [
        { path: '/concur/ess-big', headers: { 'Content-Type': 'application/json' } }, // no signature
        { path: '/concur/v1.0/notify', headers: { 'Content-Type': 'application/xml' } }, // no Basic
        { path: '/concur/v1.0/notify', headers: { 'Content-Type': 'application/xml', Authorization: 'Basic d3Jvbmc6d3Jvbmc=' } }, // wrong Basic
        { path: '/concur/ess-big', headers: { 'Content-Type': 'application/json', 'Concur-Signature': 'A'.repeat(344) } }, // junk signature: read within the budget
      ];
      const t0 = Date.now();
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          slowPost(red.url, {
            ...kinds[process.env.ONLY ? Number(process.env.ONLY) : i % kinds.length],
            length: 1 << 20,
            chunk: 64 * 1024,
            intervalMs: 100,
            deadlineMs: 20000,
          }),
        ),
      );
      clearInterval(sampler);
      peak = Math.max(peak, rssKb(pid));
      const growthMb = (peak - before) / 1024;
      const byStatus = {};
      results.forEach((r, i) => {
        const k = `${i % kinds.length === 3 ? 'junk-signed' : 'unauthenticated'} ${r.status}`;
        byStatus[k] = (byStatus[k] || 0) + 1;
      });
      process.stdout.write(
        `      200 slow 1 MiB clients in ${Date.now() - t0} ms: answers ${JSON.stringify(byStatus)}; VmRSS ${Math.round(before / 1024)} MB -> peak ${Math.round(peak / 1024)} MB (+${growthMb.toFixed(1)} MB)\n`,
      );
      assert.ok(growthMb < 64, `RSS grew by ${growthMb.toFixed(1)} MB`);
      assert.equal(byStatus['unauthenticated 401'], 150, JSON.stringify(byStatus));
      // Junk signatures are read (within the budget) and then fail verification, or are turned away busy.
      assert.equal((byStatus['junk-signed 401'] || 0) + (byStatus['junk-signed 503'] || 0), 50, JSON.stringify(byStatus));
      assert.equal(red.exitInfo, null);
      assert.equal((await request(`${red.url}/settings`)).status, 200);
    });
  });

  describe('item 8: a signed event older than the dedupe window is not accepted again', () => {
    it('73 h old (window 72 h): 400 with the reason, not emitted; the same event 1 h old is accepted; "refuse" off accepts it', async () => {
      const hoursAgo = (h) => new Date(Date.now() - h * 3600_000).toISOString();
      const stale = signedDelivery(essEvent({ timeStamp: hoursAgo(73) }), { privateKey: key.privateKey });
      let r = await request(`${red.url}/concur/ess`, { method: 'POST', headers: stale.headers, body: stale.body });
      assert.equal(r.status, 400, r.body);
      assert.match(
        r.body,
        /is 73\.0 h old, older than 72\.17 h \(the dedupe window, at least ESS's 72 h retry period, plus clock-skew allowance\): refused as a possible replay/,
      );
      const fresh = essEvent({ timeStamp: hoursAgo(1) });
      const d = signedDelivery(fresh, { privateKey: key.privateKey });
      r = await request(`${red.url}/concur/ess`, { method: 'POST', headers: d.headers, body: d.body });
      assert.equal(r.status, 200, r.body);
      r = await request(`${red.url}/concur/ess-nostale`, { method: 'POST', headers: stale.headers, body: stale.body });
      assert.equal(r.status, 200, r.body);
      const got = await collector.waitFor(2, 10000, '/event');
      await collector.settle(300);
      assert.equal(collector.received.length, 2, 'the stale delivery to /concur/ess was not emitted');
      assert.deepEqual(got.map((m) => m.body.concur.id).sort(), [fresh.id, JSON.parse(/** @type {string} */ (stale.body)).id].sort());
    });
  });

  describe('item 8 with a dedupe window shorter than ESS retries (1 h)', () => {
    it('an event 5 h old may be a first delivery ESS is still retrying: 200 and emitted, never 400; 73 h old: 400', async () => {
      collector.clear();
      const hoursAgo = (h) => new Date(Date.now() - h * 3600_000).toISOString();
      const late = essEvent({ timeStamp: hoursAgo(5) });
      const d = signedDelivery(late, { privateKey: key.privateKey });
      let r = await request(`${red.url}/concur/ess-1h`, { method: 'POST', headers: d.headers, body: d.body });
      assert.equal(r.status, 200, r.body);
      const [m] = await collector.waitFor(1, 10000, '/event');
      assert.equal(m.body.concur.id, late.id);
      const stale = signedDelivery(essEvent({ timeStamp: hoursAgo(73) }), { privateKey: key.privateKey });
      r = await request(`${red.url}/concur/ess-1h`, { method: 'POST', headers: stale.headers, body: stale.body });
      assert.equal(r.status, 400, r.body);
      assert.match(r.body, /older than 72\.17 h/);
    });
  });

  describe('item 10: rejected requests are logged once per reason per 10 s', () => {
    it('300 bad-auth callouts give one warning, not 300; the status still counts them all', async () => {
      const from = red.log().length;
      const wrong = `Basic ${Buffer.from(`${USER}:not-the-password-000`).toString('base64')}`;
      for (let i = 0; i < 300; i += 30) {
        const batch = Array.from({ length: 30 }, () =>
          request(`${red.url}/concur/v1.0/notify`, {
            method: 'POST',
            headers: { Authorization: wrong, 'Content-Type': 'application/xml' },
            body: notification(),
          }),
        );
        for (const r of await Promise.all(batch)) assert.equal(r.status, 401);
      }
      await new Promise((r) => setTimeout(r, 300));
      const warnings =
        red
          .log()
          .slice(from)
          .match(/rejected a callout request: 401/g) || [];
      // 0 when an earlier test's 401 warning is less than 10 s old.
      assert.ok(warnings.length <= 2, `${warnings.length} warnings for 300 rejections`);
      const all = red.log().match(/rejected a callout request: 401/g) || [];
      assert.ok(all.length >= 1 && all.length <= 6, `${all.length} 401 warnings in the whole run (hundreds of 401s sent)`);
    });
  });
});

describe('hardening (item 12): the dead-letter admin route needs write permission', function () {
  this.timeout(60000);
  const path = require('node:path');
  const os = require('node:os');
  // bcrypt of PASSWORD (cost 8), for Node-RED's adminAuth.
  const PASSWORD = 'key-info-admin-pass';
  const HASH = '$2b$08$.6Uv/bWDcx/3mTosCMNes.6BxOxuDkNVVtORi4tjCdKS7sfccf8Hy';
  let red;
  before(async () => {
    // adminAuth also guards the deploy API: the flow is written before the start.
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-red-'));
    fs.writeFileSync(
      path.join(userDir, 'flows.json'),
      JSON.stringify([
        { id: TAB, type: 'tab', label: 'dl' },
        essNode({ id: 'essDl', path: '/concur/ess-dl', storeName: 'dl', extraKeys: testKeyPair('hardening').publicPem }),
      ]),
    );
    red = await startRed({
      userDir,
      readyPath: '/auth/login',
      settings: {
        adminAuth: {
          type: 'credentials',
          users: [
            { username: 'admin', password: HASH, permissions: '*' },
            { username: 'viewer', password: HASH, permissions: 'read' },
          ],
        },
      },
    });
  });
  after(() => teardown({ red }));

  async function token(username, scope) {
    const r = await request(`${red.url}/auth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ client_id: 'node-red-admin', grant_type: 'password', scope, username, password: PASSWORD }),
    });
    assert.equal(r.status, 200, r.body);
    return JSON.parse(r.body).access_token;
  }

  it('a read-only editor user gets 401, an admin gets the dead letters', async () => {
    const url = `${red.url}/concur-ess-event-in/essDl/dead-letters`;
    assert.equal((await request(url)).status, 401, 'no token');
    const viewer = await request(url, { headers: { Authorization: `Bearer ${await token('viewer', 'read')}` } });
    assert.equal(viewer.status, 401, `read-only user: ${viewer.status} ${viewer.body}`);
    const admin = await request(url, { headers: { Authorization: `Bearer ${await token('admin', '*')}` } });
    assert.equal(admin.status, 200, admin.body);
    assert.deepEqual(JSON.parse(admin.body), []);
  });
});

describe('hardening (item 3): with httpNodeAuth { user, pass }, a request without Basic credentials is refused unread', function () {
  this.timeout(60000);
  // bcrypt of 'key-info-admin-pass' (cost 8).
  const HASH = '$2b$08$.6Uv/bWDcx/3mTosCMNes.6BxOxuDkNVVtORi4tjCdKS7sfccf8Hy';
  let red;
  before(async () => {
    red = await startRed({ settings: { httpNodeAuth: { user: 'node-user', pass: HASH } } });
    await red.deploy([
      { id: TAB, type: 'tab', label: 'node-auth' },
      essNode({ id: 'essNa', path: '/concur/ess', maxBodyKiB: 8192, verifySignature: false, storeName: 'na', wires: [[]] }),
      {
        id: 'legacyNa',
        type: 'concur-legacy-notify-in',
        z: TAB,
        path: '/concur/v1.0/notify',
        maxBodyKiB: 8192,
        x: 100,
        y: 300,
        credentials: { username: USER, password: PASS },
        wires: [[]],
      },
    ]);
  });
  after(() => teardown({ red }));

  it('Node-RED answers 401 before the body is read (ESS with verification off, legacy with its own Basic)', async () => {
    for (const p of ['/concur/ess', '/concur/v1.0/notify']) {
      const r = await slowPost(red.url, { path: p, headers: { 'Content-Type': 'application/json' }, length: 4 << 20, sendBytes: 1024, deadlineMs: 5000 });
      assert.equal(r.status, 401, `${p}: ${JSON.stringify(r)}`);
      assert.equal(r.bodySentWhenAnswered, 1024);
    }
  });
});
