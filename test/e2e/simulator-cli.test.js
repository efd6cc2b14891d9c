'use strict';
/**
 * The concur-sim CLI, spawned as a child process through bin/concur-sim.js
 * (every child is bounded in time and killed by PID).
 */
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { freePort, request } = require('../helpers/red-runtime');

const BIN = path.join(__dirname, '..', '..', 'bin', 'concur-sim.js');
const children = new Set();

/**
 * Runs the CLI to completion (killed after timeoutMs).
 * @param {string[]} args
 * @param {{ timeoutMs?: number, env?: Record<string, string>, cwd?: string }} [opts]
 * @returns {Promise<{ code: number, signal: string, stdout: string, stderr: string }>}
 */
function runCli(args, { timeoutMs = 20000, env = {}, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd: cwd || os.tmpdir(), env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(p);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', reject);
    p.on('exit', (code, signal) => {
      clearTimeout(t);
      children.delete(p);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/**
 * Starts `concur-sim api` and resolves once it prints its URL.
 * @param {string[]} args
 * @param {{ timeoutMs?: number, cwd?: string }} [opts]
 */
function startApi(args, { timeoutMs = 20000, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, 'api', ...args], { cwd: cwd || os.tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(p);
    let out = '';
    const exited = new Promise((r) => p.on('exit', (code, signal) => (children.delete(p), r({ code, signal }))));
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`api did not start:\n${out}`));
    }, timeoutMs);
    const onData = (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(t);
        p.stdout.off('data', onData);
        p.stdout.on('data', (x) => (out += x));
        resolve({
          url: m[1],
          proc: p,
          output: () => out,
          async stop() {
            p.kill('SIGTERM');
            const k = setTimeout(() => p.kill('SIGKILL'), 10000);
            const info = await exited;
            clearTimeout(k);
            return info;
          },
        });
      }
    };
    p.stdout.on('data', onData);
    p.stderr.on('data', (d) => (out += d));
    p.on('exit', () => {
      clearTimeout(t);
      reject(new Error(`api exited early:\n${out}`));
    });
  });
}

async function startReceiver(statuses) {
  const seen = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) });
      res.statusCode = statuses[Math.min(seen.length - 1, statuses.length - 1)];
      res.end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, seen, close: () => new Promise((r) => server.close(() => r(undefined))) };
}

describe('concur-sim CLI', function () {
  this.timeout(60000);
  let dir;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-sim-cli-'));
  });
  after(() => {
    for (const p of children) p.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('prints help for every command and fails usage errors with status 2', async () => {
    const main = await runCli(['--help']);
    assert.equal(main.code, 0);
    for (const c of ['concur-sim api', 'send ess', 'send legacy', 'keygen']) assert.ok(main.stdout.includes(c), c);
    for (const [args, needle] of /** @type {Array<[string[], string]>} */ ([
      [['api', '--help'], '--rate-429'],
      [['send', 'ess', '--help'], '--padding pss|pkcs1'],
      [['send', 'legacy', '--help'], '--password'],
      [['keygen', '--help'], '--force'],
    ])) {
      const r = await runCli(args);
      assert.equal(r.code, 0, args.join(' '));
      assert.ok(r.stdout.includes(needle), `${args.join(' ')}: ${r.stdout}`);
    }
    const unknown = await runCli(['explode']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command explode/);
    const noTo = await runCli(['send', 'ess']);
    assert.equal(noTo.code, 2);
    assert.match(noTo.stderr, /--to is required/);
    const badPadding = await runCli(['send', 'ess', '--to', 'http://127.0.0.1:9/', '--padding', 'oaep']);
    assert.equal(badPadding.code, 2);
    const badRate = await runCli(['api', '--rate-429', '3']);
    assert.equal(badRate.code, 2);
    assert.match(badRate.stderr, /--rate-429 must be a number from 0 to 1/);
  });

  it('keygen writes a key pair, prints the public key, keeps it on rerun and replaces it with --force', async () => {
    const out = path.join(dir, 'keys');
    const first = await runCli(['keygen', '--out', out]);
    assert.equal(first.code, 0, first.stderr);
    const pub = fs.readFileSync(path.join(out, 'ess-signing-key.pub.pem'), 'utf8');
    assert.ok(first.stdout.includes(pub.trim()));
    assert.ok(!first.stdout.includes('PRIVATE KEY'), 'never prints the private key');
    const again = await runCli(['keygen', '--out', out]);
    assert.match(again.stdout, /already exists/);
    assert.equal(fs.readFileSync(path.join(out, 'ess-signing-key.pub.pem'), 'utf8'), pub);
    const forced = await runCli(['keygen', '--out', out, '--force']);
    assert.equal(forced.code, 0);
    assert.notEqual(fs.readFileSync(path.join(out, 'ess-signing-key.pub.pem'), 'utf8'), pub);
  });

  it('api serves the fake Concur API with the given flags and stops cleanly on SIGTERM', async () => {
    const api = await startApi([
      '--port',
      '0',
      '--token-ttl',
      '120',
      '--expires-in',
      'number',
      '--rate-429',
      '1',
      '--retry-after',
      '5',
      '--key-dir',
      path.join(dir, 'api-keys'),
    ]);
    try {
      // The simulator's own credentials are printed in full (they only open this local fake tenant).
      for (const until = Date.now() + 10000; !api.output().includes('Press Ctrl+C') && Date.now() < until; ) await new Promise((r) => setTimeout(r, 50));
      for (const v of [
        'sim-client-0f3b9a2e',
        'sim-client-secret-7d41c8',
        'sim-company-request-token-2f9c41',
        'b5a4d2f0-8c1e-4f3a-9d6b-2e7c1a0f9b31',
        'concur-sim-connector',
        'concur-sim-connector-password',
      ]) {
        assert.ok(api.output().includes(v), `banner prints ${v}:\n${api.output()}`);
      }
      const body = new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 'sim-client-0f3b9a2e',
        client_secret: 'sim-client-secret-7d41c8',
      }).toString();
      const t = await request(`${api.url}/oauth2/v0/token`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body });
      assert.equal(t.status, 200, t.body);
      assert.equal(JSON.parse(t.body).expires_in, 120);
      const limited = await request(`${api.url}/events/v4/topics`, { headers: { Authorization: `Bearer ${JSON.parse(t.body).access_token}` } });
      assert.equal(limited.status, 429);
      assert.equal(limited.headers['retry-after'], '5');
      const faults = JSON.parse((await request(`${api.url}/_sim/faults`)).body);
      assert.equal(faults.rate429, 1);
    } finally {
      const info = await api.stop();
      assert.equal(info.code, 0);
    }
    assert.match(api.output(), /stopping simulator/);
  });

  it('api fails with status 1 when the port is taken', async () => {
    const blocker = net.createServer();
    await new Promise((r) => blocker.listen(0, '127.0.0.1', r));
    try {
      const r = await runCli(['api', '--port', String(blocker.address().port)]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /cannot listen/);
    } finally {
      blocker.close();
    }
  });

  it('send ess delivers a signed statusChanged (PKCS#1 v1.5 here) whose href points at --api, with one printed line per attempt', async () => {
    const keys = path.join(dir, 'ess-keys');
    await runCli(['keygen', '--out', keys]);
    const pub = crypto.createPublicKey(fs.readFileSync(path.join(keys, 'ess-signing-key.pub.pem')));
    const rx = await startReceiver([503, 200]);
    try {
      const r = await runCli([
        'send',
        'ess',
        '--to',
        `${rx.url}/concur/ess`,
        '--event',
        'statusChanged',
        '--report',
        '4D2E8A61B0C94F7FA311',
        '--padding',
        'pkcs1',
        '--key-dir',
        keys,
        '--initial-delay',
        '50ms',
        '--api',
        'http://127.0.0.1:8090',
      ]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /attempt 1 -> 503; retrying in 50ms/);
      assert.match(r.stdout, /attempt 2 -> 200 delivered/);
      assert.match(r.stdout, /result: delivered after 2 attempt/);
      const req = rx.seen[1];
      assert.ok(
        crypto.verify('sha256', req.body, { key: pub, padding: crypto.constants.RSA_PKCS1_PADDING }, Buffer.from(req.headers['concur-signature'], 'base64')),
      );
      const env = JSON.parse(req.body);
      assert.equal(env.facts.reportId, '4D2E8A61B0C94F7FA311');
      assert.ok(env.facts.href.startsWith('http://127.0.0.1:8090/expensereports/v4/users/'));
    } finally {
      await rx.close();
    }
  });

  it('send ess --request sends a signed public.concur.request event with the documented facts', async () => {
    const keys = path.join(dir, 'ess-keys-req');
    await runCli(['keygen', '--out', keys]);
    const rx = await startReceiver([200]);
    try {
      const r = await runCli([
        'send',
        'ess',
        '--to',
        `${rx.url}/concur/ess`,
        '--request',
        '053A479B3C9DD847B02A203C657AE26B',
        '--key-dir',
        keys,
        '--api',
        'http://127.0.0.1:8090',
      ]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /statusChange\.PENDING\.ExternalValidation for travel request 053A479B3C9DD847B02A203C657AE26B/);
      const env = JSON.parse(rx.seen[0].body);
      assert.deepEqual(
        [env.topic, env.eventType, env.facts.id, env.facts.requestId, env.facts.currentApprovalStatus, env.facts.isTest],
        ['public.concur.request', 'statusChange.PENDING.ExternalValidation', '053A479B3C9DD847B02A203C657AE26B', '3F2K', 'Q_EXTV', 'false'],
      );
      assert.equal(env.facts.href, 'http://127.0.0.1:8090/travelrequest/v4/requests/053A479B3C9DD847B02A203C657AE26B');
      const bad = await runCli(['send', 'ess', '--to', `${rx.url}/concur/ess`, '--request', 'NOPE', '--key-dir', keys]);
      assert.equal(bad.code, 2, bad.stdout + bad.stderr);
      assert.match(bad.stderr, /not a seeded travel request/);
    } finally {
      await rx.close();
    }
  });

  it('send ess exits 1 when the receiver rejects (400) or the retention runs out', async () => {
    const keys = path.join(dir, 'ess-keys2');
    const rx = await startReceiver([400]);
    try {
      const rejected = await runCli(['send', 'ess', '--to', rx.url, '--key-dir', keys]);
      assert.equal(rejected.code, 1);
      assert.match(rejected.stdout, /400 rejected, not retried/);
      assert.equal(rx.seen.length, 1);
    } finally {
      await rx.close();
    }
    const port = await freePort();
    const expired = await runCli(['send', 'ess', '--to', `http://127.0.0.1:${port}/`, '--key-dir', keys, '--retention', '300ms', '--initial-delay', '50ms']);
    assert.equal(expired.code, 1);
    assert.match(expired.stdout, /ECONNREFUSED/);
    assert.match(expired.stdout, /result: expired/);
  });

  it('send legacy posts the Notification with Basic auth, optionally tests the connection, and never prints the password', async () => {
    const rx = await startReceiver([200]);
    try {
      const r = await runCli([
        'send',
        'legacy',
        '--to',
        `${rx.url}/concur/v1.0/notify`,
        '--user',
        'concur-connector',
        '--password',
        'Very-Secret-123',
        '--report',
        'CB899F7D9F73420A8D8B',
        '--test-connection',
        '--legacy-host',
      ]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(
        rx.seen.map((s) => `${s.method} ${s.url}`),
        ['GET /system/v1.0/testconnection', 'POST /concur/v1.0/notify'],
      );
      for (const s of rx.seen) assert.equal(Buffer.from(s.headers.authorization.split(' ')[1], 'base64').toString(), 'concur-connector:Very-Secret-123');
      assert.match(
        rx.seen[1].body.toString(),
        /<ObjectURI>https:\/\/www\.concursolutions\.com\/api\/expense\/expensereport\/v1\.1\/reportfulldetails\/n6ujbuLd1Arwe45lT7As3ThJYJf2dAsrrEW<\/ObjectURI>/,
      );
      assert.ok(!(r.stdout + r.stderr).includes('Very-Secret-123'));
    } finally {
      await rx.close();
    }
    const bad = await startReceiver([401]);
    try {
      const r = await runCli(['send', 'legacy', '--to', bad.url, '--user', 'concur-connector'], { env: { CONCUR_SIM_PASSWORD: 'From-The-Env-1' } });
      assert.equal(r.code, 1);
      assert.match(r.stdout, /legacy callout -> 401/);
      assert.equal(Buffer.from(bad.seen[0].headers.authorization.split(' ')[1], 'base64').toString(), 'concur-connector:From-The-Env-1');
    } finally {
      await bad.close();
    }
  });

  it("send ess prints the receiver's reason for a 401 / 403 and, by default, gives up after 2 minutes (--retention changes it)", async () => {
    const keys = path.join(dir, 'ess-keys3');
    /** @type {Array<[number, string]>} */
    const answers = [
      [401, 'signature does not verify with any configured key'],
      [403, 'client certificate CN not allowed'],
    ];
    const seen = [];
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const [status, reason] = answers[Math.min(seen.length, answers.length - 1)];
        seen.push(status);
        res.writeHead(status, { 'Content-Type': 'text/plain' });
        res.end(reason);
      });
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${server.address().port}/concur/ess`;
    try {
      const r = await runCli(['send', 'ess', '--to', url, '--key-dir', keys, '--initial-delay', '20ms', '--max-attempts', '2']);
      assert.equal(r.code, 1);
      assert.match(r.stdout, /attempt 1 -> 401 \(signature does not verify with any configured key\); retrying in 20ms/);
      assert.match(r.stdout, /attempt 2 -> 403 \(client certificate CN not allowed\); giving up after 2 attempts/);
      assert.match(r.stdout, /for up to 2m \(--retention to change\)/);
      // A first retry 3 minutes away is past the default retention: the event expires at once
      // (with ESS's 72 h it would wait). --retention 10m makes the same retry wait (the child is killed).
      seen.length = 0;
      const t0 = Date.now();
      const expired = await runCli(['send', 'ess', '--to', url, '--key-dir', keys, '--initial-delay', '3m', '--max-delay', '3m']);
      assert.equal(expired.code, 1);
      assert.match(expired.stdout, /retention of 120s reached, event expired/);
      assert.ok(Date.now() - t0 < 15000);
      const waiting = await runCli(['send', 'ess', '--to', url, '--key-dir', keys, '--initial-delay', '3m', '--max-delay', '3m', '--retention', '10m'], {
        timeoutMs: 3000,
      });
      assert.equal(waiting.signal, 'SIGKILL', waiting.stdout);
      assert.match(waiting.stdout, /for up to 10m/);
      assert.match(waiting.stdout, /retrying in 180s/);
    } finally {
      await /** @type {Promise<void>} */ (new Promise((r) => server.close(() => r())));
    }
  });

  it('key fingerprints are printed as SHA-256 hex of the public key, the form the ESS receiver dialog shows', async () => {
    const keys = path.join(dir, 'ess-keys4');
    const k = await runCli(['keygen', '--out', keys]);
    const pub = crypto.createPublicKey(fs.readFileSync(path.join(keys, 'ess-signing-key.pub.pem')));
    const hex = crypto
      .createHash('sha256')
      .update(pub.export({ type: 'spki', format: 'der' }))
      .digest('hex');
    const { describeKeyText } = require('../../dist/concur/key-info');
    assert.equal(describeKeyText(fs.readFileSync(path.join(keys, 'ess-signing-key.pub.pem'), 'utf8')).keys[0].fingerprint, hex, "the dialog's form");
    assert.match(k.stdout, new RegExp(`public key SHA-256: ${hex}\n`));
    const port = await freePort();
    const s = await runCli(['send', 'ess', '--to', `http://127.0.0.1:${port}/`, '--key-dir', keys, '--max-attempts', '1']);
    assert.match(s.stdout, new RegExp(`public key SHA-256 ${hex}\n`));
  });

  it("send legacy uses the simulator's default connector credentials when none are given", async () => {
    const rx = await startReceiver([200]);
    try {
      const r = await runCli(['send', 'legacy', '--to', `${rx.url}/concur/v1.0/notify`]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(Buffer.from(rx.seen[0].headers.authorization.split(' ')[1], 'base64').toString(), 'concur-sim-connector:concur-sim-connector-password');
    } finally {
      await rx.close();
    }
  });
});
