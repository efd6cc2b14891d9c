'use strict';
/**
 * The simulator acting as Concur: ESS events signed over the exact body bytes
 * (PSS max salt and PKCS#1 v1.5, verified here with node:crypto), the ESS
 * retry policy against scripted loopback receivers, mutual TLS, the legacy
 * callout with Basic auth, and event delivery to ESS subscriptions.
 */
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { XMLParser } = require('fast-xml-parser');
const sim$ = require('../../dist/simulator/index.js');
const { freePort } = require('../helpers/red-runtime');
const { companyToken, appToken, call } = require('../helpers/simulator-client');

const xml = new XMLParser({ removeNSPrefix: true, parseTagValue: false });

/**
 * A loopback receiver that answers with scripted statuses (the last one repeats) and records every request.
 * @param {number[]} [statuses]
 * @param {{ headers?: Record<string, string>, tls?: Record<string, any> }} [opts]
 */
async function startReceiver(statuses = [200], { headers = {}, tls } = {}) {
  const seen = [];
  const handler = (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const peer = req.socket.getPeerCertificate ? req.socket.getPeerCertificate() : undefined;
      seen.push({
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks),
        peerCN: peer && peer.subject ? peer.subject.CN : undefined,
      });
      const status = statuses[Math.min(seen.length - 1, statuses.length - 1)];
      res.writeHead(status, headers);
      res.end(status === 200 ? 'ok' : `status ${status}`);
    });
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  return {
    url,
    seen,
    async waitFor(n, ms = 10000) {
      const until = Date.now() + ms;
      while (seen.length < n) {
        if (Date.now() > until) throw new Error(`receiver: expected ${n} requests, got ${seen.length}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return seen;
    },
    close: () => new Promise((r) => server.close(() => r(undefined))),
  };
}

function verifies(publicKey, body, sigB64, padding, saltLength) {
  const key =
    padding === 'pss'
      ? { key: publicKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength }
      : { key: publicKey, padding: crypto.constants.RSA_PKCS1_PADDING };
  return crypto.verify('sha256', body, key, Buffer.from(sigB64, 'base64'));
}

describe('simulator as Concur: event senders', function () {
  this.timeout(30000);
  let sim;
  let keyDir;
  const receivers = [];
  const receiver = async (...a) => {
    const r = await startReceiver(...a);
    receivers.push(r);
    return r;
  };

  before(async () => {
    keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-sim-keys-'));
    sim = await sim$.startSimulator({ port: 0, keyDir, delivery: { initialDelayMs: 20, retentionMs: 3000 } });
  });
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });
  after(async () => {
    if (sim) await sim.stop();
    fs.rmSync(keyDir, { recursive: true, force: true });
  });

  describe('ESS signing key', () => {
    it('is generated once into the key dir (private key mode 600) and reused', () => {
      const a = sim$.loadOrCreateKeyPair(keyDir);
      const b = sim$.loadOrCreateKeyPair(keyDir);
      assert.equal(a.publicPem, b.publicPem);
      assert.equal(b.created, false);
      assert.equal(fs.statSync(path.join(keyDir, 'ess-signing-key.pem')).mode & 0o777, 0o600);
      assert.equal(fs.readFileSync(path.join(keyDir, 'ess-signing-key.pub.pem'), 'utf8'), a.publicPem);
      assert.equal(sim.essKeys().publicPem, a.publicPem);
      assert.equal(a.publicKey.asymmetricKeyDetails.modulusLength, 2048);
    });
  });

  describe('ESS delivery', () => {
    for (const padding of ['pss', 'pkcs1']) {
      it(`signs the exact body bytes with RSA-SHA256 ${padding} and sends the documented headers and envelope`, async () => {
        const rx = await receiver([200]);
        const res = await sim.sendEss({ to: `${rx.url}/concur/ess`, padding });
        assert.equal(res.outcome, 'delivered');
        const [req] = rx.seen;
        assert.equal(req.method, 'POST');
        assert.equal(req.url, '/concur/ess');
        assert.equal(req.headers['content-type'], 'application/json');
        const sig = req.headers['concur-signature'];
        assert.match(sig, /^[A-Za-z0-9+/]+={0,2}$/, 'standard base64');
        assert.equal(Buffer.from(sig, 'base64').length, 256, 'one raw RSA-2048 signature');
        assert.ok(req.body.equals(res.body), 'bytes on the wire are the bytes signed');
        const pub = sim.essKeys().publicKey;
        if (padding === 'pss') {
          assert.ok(verifies(pub, req.body, sig, 'pss', crypto.constants.RSA_PSS_SALTLEN_AUTO));
          assert.ok(verifies(pub, req.body, sig, 'pss', 222), 'maximum salt (222 bytes for RSA-2048/SHA-256)');
          assert.ok(!verifies(pub, req.body, sig, 'pkcs1'));
        } else {
          assert.ok(verifies(pub, req.body, sig, 'pkcs1'));
          assert.ok(!verifies(pub, req.body, sig, 'pss', crypto.constants.RSA_PSS_SALTLEN_AUTO));
        }
        // One changed byte breaks it.
        const tampered = Buffer.from(req.body);
        tampered[10] ^= 1;
        assert.ok(!verifies(pub, tampered, sig, padding, crypto.constants.RSA_PSS_SALTLEN_AUTO));
        const env = JSON.parse(req.body.toString('utf8'));
        assert.equal(req.headers['concur-correlationid'], env.correlationId);
        assert.deepEqual(Object.keys(env).sort(), ['correlationId', 'data', 'eventType', 'facts', 'id', 'route', 'subtopic', 'timeStamp', 'topic']);
        assert.equal(env.topic, 'public.concur.expense.report');
        assert.equal(env.eventType, 'statusChanged');
        assert.match(env.timeStamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        assert.equal(env.facts.companyId, sim.credentials.companyId);
        assert.deepEqual(
          [env.facts.reportId, env.facts.currentApprovalStatus, env.facts.previousApprovalStatus, env.facts.stepCode],
          ['CB899F7D9F73420A8D8B', 'A_EXTV', 'A_PEND', 'EXTVAL'],
        );
        assert.equal(env.facts.startingStep.stepInstances[0].id, sim.state.reportById('CB899F7D9F73420A8D8B').currentStep.stepInstanceId);
        // facts.href points back at the simulator and fetches the report.
        const t = (await companyToken(sim)).access_token;
        const got = await call(sim, 'GET', new URL(env.facts.href).pathname, { token: t });
        assert.equal(got.status, 200);
        assert.equal(got.json.reportId, env.facts.reportId);
      });
    }

    it('retries 503, 503 then delivers on 200 with exponential backoff, resending identical bytes and signature', async () => {
      const rx = await receiver([503, 503, 200]);
      const lines = [];
      const res = await sim.sendEss({ to: rx.url, initialDelayMs: 20, log: (l) => lines.push(l) });
      assert.equal(res.outcome, 'delivered');
      assert.deepEqual(
        res.attempts.map((a) => a.status),
        [503, 503, 200],
      );
      assert.deepEqual(
        res.attempts.map((a) => a.nextDelayMs),
        [20, 40, undefined],
      );
      assert.equal(rx.seen.length, 3);
      assert.ok(rx.seen.every((s) => s.body.equals(rx.seen[0].body) && s.headers['concur-signature'] === rx.seen[0].headers['concur-signature']));
      assert.equal(lines.length, 3, 'one line per attempt');
      assert.match(lines[0], /attempt 1 -> 503 \(status 503\); retrying in 20ms/);
      assert.match(lines[2], /attempt 3 -> 200 delivered/);
    });

    it('stops at once on 400 (and any 4xx other than 401/403/429)', async () => {
      for (const status of [400, 404, 422]) {
        const rx = await receiver([status, 200]);
        const res = await sim.sendEss({ to: rx.url, initialDelayMs: 10 });
        assert.equal(res.outcome, 'rejected', String(status));
        assert.equal(res.attempts.length, 1);
        assert.equal(rx.seen.length, 1);
      }
    });

    it('retries 401, 403 and 429, honouring Retry-After', async () => {
      const rx = await receiver([401, 403, 429, 200], { headers: { 'Retry-After': '1' } });
      const res = await sim.sendEss({ to: rx.url, initialDelayMs: 10 });
      assert.equal(res.outcome, 'delivered');
      assert.deepEqual(
        res.attempts.map((a) => a.status),
        [401, 403, 429, 200],
      );
      assert.equal(res.attempts[2].nextDelayMs, 1000, 'Retry-After of 1 s beats the 40 ms backoff');
    });

    it('retries network errors until the retention limit, then gives up', async () => {
      const port = await freePort(); // nothing listens there
      const lines = [];
      const res = await sim.sendEss({ to: `http://127.0.0.1:${port}/x`, initialDelayMs: 20, retentionMs: 150, log: (l) => lines.push(l) });
      assert.equal(res.outcome, 'expired');
      assert.ok(res.attempts.length >= 2 && res.attempts.length <= 4, `${res.attempts.length} attempts`);
      assert.match(res.attempts[0].error, /ECONNREFUSED/);
      assert.match(lines[lines.length - 1], /retention of 150ms reached, event expired/);
    });

    it('is bounded by maxAttempts and can be aborted', async () => {
      const rx = await receiver([500]);
      const res = await sim.sendEss({ to: rx.url, initialDelayMs: 5, maxAttempts: 3 });
      assert.deepEqual([res.outcome, res.attempts.length], ['max-attempts', 3]);
      const ac = new AbortController();
      const p = sim.sendEss({ to: rx.url, initialDelayMs: 60000, signal: ac.signal });
      await rx.waitFor(4);
      ac.abort();
      assert.equal((await p).outcome, 'aborted');
    });

    it('presents a client certificate for mutual TLS', async function () {
      let dir;
      try {
        execFileSync('openssl', ['version'], { stdio: 'ignore' });
      } catch {
        this.skip();
      }
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-sim-tls-'));
      try {
        const mk = (name, subj, ext) =>
          execFileSync(
            'openssl',
            [
              'req',
              '-x509',
              '-newkey',
              'rsa:2048',
              '-nodes',
              '-days',
              '2',
              '-subj',
              subj,
              '-keyout',
              path.join(dir, `${name}.key`),
              '-out',
              path.join(dir, `${name}.crt`),
              ...(ext ? ['-addext', ext] : []),
            ],
            { stdio: 'ignore', timeout: 20000 },
          );
        mk('server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1');
        mk('client', '/C=DE/O=SAP SE/CN=webhook.api.concursolutions.com');
        const read = (f) => fs.readFileSync(path.join(dir, f));
        const rx = await receiver([200], {
          tls: { key: read('server.key'), cert: read('server.crt'), requestCert: true, rejectUnauthorized: true, ca: read('client.crt') },
        });
        const res = await sim.sendEss({ to: rx.url, tls: { cert: read('client.crt'), key: read('client.key'), ca: read('server.crt') } });
        assert.equal(res.outcome, 'delivered');
        assert.equal(rx.seen[0].peerCN, 'webhook.api.concursolutions.com');
        // Without the client certificate the handshake fails: a network error, retried until retention ends.
        const noCert = await sim.sendEss({ to: rx.url, tls: { ca: read('server.crt') }, initialDelayMs: 20, retentionMs: 100 });
        assert.equal(noCert.outcome, 'expired');
        assert.ok(noCert.attempts[0].error);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('legacy callout', () => {
    it('POSTs a namespace-less Notification XML with HTTP Basic auth', async () => {
      const rx = await receiver([200]);
      const res = await sim.sendLegacy({ to: `${rx.url}/concur/v1.0/notify`, user: 'concur-connector', password: 'S3cret-Passw0rd!' });
      assert.equal(res.ok, true);
      assert.equal(res.status, 200);
      const [req] = rx.seen;
      assert.equal(req.method, 'POST');
      assert.equal(req.headers['content-type'], 'application/xml');
      const [scheme, b64] = req.headers.authorization.split(' ');
      assert.equal(scheme, 'Basic');
      assert.equal(Buffer.from(b64, 'base64').toString(), 'concur-connector:S3cret-Passw0rd!');
      const text = req.body.toString('utf8');
      assert.match(text, /<Notification>/, 'no namespace on the root');
      const n = xml.parse(text).Notification;
      assert.deepEqual(Object.keys(n), ['EventType', 'ObjectType', 'ObjectURI', 'EventDateTime', 'Context'], 'documented element order');
      assert.equal(n.EventType, 'Report Entered Expense Report Workflow Step - EXTERNAL VALIDATION - SUBMIT');
      assert.equal(n.ObjectType, 'EXPRPT');
      assert.equal(n.ObjectURI, `${sim.url}/api/expense/expensereport/v1.1/reportfulldetails/${sim.state.reportById('CB899F7D9F73420A8D8B').reportKey}`);
      assert.match(n.EventDateTime, /^\d{4}-\d\d-\d\d$/);
      // The ObjectURI resolves on the simulator.
      const t = (await companyToken(sim)).access_token;
      assert.equal((await call(sim, 'GET', new URL(n.ObjectURI).pathname, { token: t })).status, 200);
    });

    it('a non-200 answer or network error fails and lands in the Notification v1.0 failed list', async () => {
      const before = sim.state.notifications.length;
      const rx = await receiver([500]);
      const res = await sim.sendLegacy({
        to: rx.url,
        user: 'concur-connector',
        password: 'S3cret-Passw0rd!',
        reportId: '4D2E8A61B0C94F7FA311',
        step: 'EXTERNAL VALIDATION - PRE-EXTRACT',
      });
      assert.deepEqual([res.ok, res.status], [false, 500]);
      const port = await freePort();
      const down = await sim.sendLegacy({ to: `http://127.0.0.1:${port}/`, user: 'concur-connector', password: 'S3cret-Passw0rd!', timeoutMs: 2000 });
      assert.equal(down.ok, false);
      assert.match(down.error, /ECONNREFUSED/);
      assert.equal(sim.state.notifications.length, before + 2);
      const t = (await companyToken(sim)).access_token;
      const list = await call(sim, 'GET', '/api/platform/notifications/v1.0/notification?status=failed', { token: t, headers: { Accept: 'application/json' } });
      assert.ok(list.json.some((x) => x.EventType.endsWith('PRE-EXTRACT') && x.ObjectURI.endsWith(sim.state.reportById('4D2E8A61B0C94F7FA311').reportKey)));
    });

    it('Test Connection GETs /system/v1.0/testconnection with the same credentials', async () => {
      const rx = await receiver([200]);
      const res = await sim.testConnection({ to: `${rx.url}/concur/v1.0/notify`, user: 'concur-connector', password: 'S3cret-Passw0rd!' });
      assert.equal(res.ok, true);
      assert.equal(rx.seen[0].method, 'GET');
      assert.equal(rx.seen[0].url, '/system/v1.0/testconnection');
      assert.equal(rx.seen[0].headers.authorization, `Basic ${Buffer.from('concur-connector:S3cret-Passw0rd!').toString('base64')}`);
    });

    it('refuses empty credentials with a clear error', async () => {
      await assert.rejects(sim.sendLegacy({ to: 'http://127.0.0.1:1/', user: '', password: 'x' }), /user and password are required/);
    });
  });

  describe('ESS subscriptions receive state changes', () => {
    it('an approval via the API is delivered, signed, to each matching subscription only', async () => {
      sim.state.reset();
      const hit = await receiver([200]);
      const miss = await receiver([200]);
      const app = (await appToken(sim)).access_token;
      const put = (id, filter, endpoint) =>
        call(sim, 'PUT', '/events/v4/subscriptions/webhook', {
          token: app,
          json: { id, filter, topic: 'public.concur.expense.report', webHookConfig: { endpoint } },
        });
      assert.equal((await put('approvals', 'statusChanged', `${hit.url}/ess`)).status, 200);
      assert.equal((await put('creates-only', 'reportCreated', `${miss.url}/ess`)).status, 200);
      const t = (await companyToken(sim)).access_token;
      assert.equal((await call(sim, 'PATCH', '/expensereports/v4/reports/CB899F7D9F73420A8D8B/approve', { token: t, json: { comment: 'ok' } })).status, 204);
      const [req] = await hit.waitFor(1);
      await sim.deliveriesIdle();
      const env = JSON.parse(req.body.toString('utf8'));
      assert.deepEqual(
        [env.eventType, env.facts.reportId, env.facts.previousApprovalStatus, env.facts.currentApprovalStatus],
        ['statusChanged', 'CB899F7D9F73420A8D8B', 'A_EXTV', 'A_APPR'],
      );
      assert.ok(verifies(sim.essKeys().publicKey, req.body, req.headers['concur-signature'], 'pss', crypto.constants.RSA_PSS_SALTLEN_AUTO));
      assert.equal(miss.seen.length, 0);
      const logged = sim.events.find((e) => e.id === env.id);
      assert.deepEqual(
        logged.deliveries.map((d) => [d.subscriptionId, d.outcome]),
        [['approvals', 'delivered']],
      );
    });
  });
});
