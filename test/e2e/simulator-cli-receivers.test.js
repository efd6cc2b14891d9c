'use strict';
/**
 * `concur-sim send` against this package's receivers in a REAL Node-RED, as a
 * user runs it from a terminal: a rejected ESS delivery prints the receiver's
 * own reason with each attempt (so "why 401?" is answered without the Node-RED
 * log), and `send legacy` works without --user/--password against a receiver
 * configured with the simulator's default connector credentials.
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { startRed } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');

const BIN = path.join(__dirname, '..', '..', 'bin', 'concur-sim.js');
const Z = 'tab-cli';

function runCli(args, { timeoutMs = 30000 } = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd: os.tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', reject);
    p.on('exit', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe('concur-sim send against the package receivers in a real Node-RED', function () {
  this.timeout(90000);
  let red;
  let keyDir;
  let pubPem;

  before(async () => {
    keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-cli-rx-'));
    const k = await runCli(['keygen', '--out', keyDir]);
    assert.equal(k.code, 0, k.stderr);
    pubPem = fs.readFileSync(path.join(keyDir, 'ess-signing-key.pub.pem'), 'utf8').trim();
    red = await startRed();
    await red.deploy([
      { id: Z, type: 'tab', label: 'cli' },
      // Only Concur's published keys: the simulator's signature does not verify (401, ESS retries).
      { id: 'ess-concur-only', type: 'concur-ess-event-in', z: Z, path: '/cli/ess-strict', x: 200, y: 40, wires: [[]] },
      // The simulator's key added: delivered.
      { id: 'ess-sim', type: 'concur-ess-event-in', z: Z, path: '/cli/ess', extraKeys: pubPem, x: 200, y: 100, wires: [[]] },
      // The simulator's default connector credentials (README, "Concur simulator").
      {
        id: 'legacy-default',
        type: 'concur-legacy-notify-in',
        z: Z,
        path: '/cli/notify',
        ackMode: 'receipt',
        x: 200,
        y: 160,
        wires: [[]],
        credentials: { username: 'concur-sim-connector', password: 'concur-sim-connector-password' },
      },
      {
        id: 'legacy-other',
        type: 'concur-legacy-notify-in',
        z: Z,
        path: '/cli/notify-other',
        ackMode: 'receipt',
        x: 200,
        y: 220,
        wires: [[]],
        credentials: { username: 'someone-else-user', password: 'someone-else-password' },
      },
    ]);
  });
  after(async () => {
    await teardown({ red });
    if (keyDir) fs.rmSync(keyDir, { recursive: true, force: true });
  });

  it("send ess prints the receiver's reason for a 401 with each retry, and delivers once the key is known", async () => {
    const r = await runCli(['send', 'ess', '--to', `${red.url}/cli/ess-strict`, '--key-dir', keyDir, '--initial-delay', '20ms', '--max-attempts', '2']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const lines = r.stdout.split('\n').filter((l) => /ESS attempt/.test(l));
    assert.equal(lines.length, 2, r.stdout);
    for (const l of lines) assert.match(l, /-> 401 \((.*signature.*)\)/i, l);
    const ok = await runCli(['send', 'ess', '--to', `${red.url}/cli/ess`, '--key-dir', keyDir]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /attempt 1 -> 200 delivered/);
  });

  it('send legacy without --user/--password uses the simulator defaults; a receiver with other credentials answers 401, shown with its body', async () => {
    const ok = await runCli(['send', 'legacy', '--to', `${red.url}/cli/notify`, '--test-connection']);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /legacy callout -> 200 accepted/);
    const no = await runCli(['send', 'legacy', '--to', `${red.url}/cli/notify-other`]);
    assert.equal(no.code, 1);
    assert.match(no.stdout, /legacy callout -> 401/);
  });
});
