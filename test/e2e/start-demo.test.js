'use strict';
/**
 * `npm start` (scripts/start-demo.js) as a user runs it: spawned with port and
 * directory overrides, it must print the editor URL and commands that really
 * work (the test runs the printed commands and checks the simulator state),
 * stop both processes on SIGTERM / Ctrl+C, and reuse its directory on a second
 * run (flows and their encrypted credentials kept, re-pointed to new ports).
 */
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { request, freePort, REPO } = require('../helpers/red-runtime');

const R_VIOLATIONS = '4D2E8A61B0C94F7FA311';
const R_PASSES = 'CB899F7D9F73420A8D8B';
const R_DRAFT = '0A6B4C2D9E8F41A3B7D1';
const live = new Set();

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

function startDemo(env) {
  const proc = spawn(process.execPath, [path.join(REPO, 'scripts', 'start-demo.js')], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const demo = { proc, out: '', err: '', exitInfo: undefined, redPid: undefined };
  live.add(demo);
  proc.stdout.on('data', (d) => {
    demo.out += d;
    if (process.env.RED_LOG) process.stderr.write(d);
  });
  proc.stderr.on('data', (d) => (demo.err += d));
  demo.exited = new Promise((resolve) => {
    proc.on('exit', (code, signal) => {
      demo.exitInfo = { code, signal };
      resolve(demo.exitInfo);
    });
  });
  demo.waitFor = async (re, timeoutMs = 90000) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(demo.out);
      if (m) return m;
      if (demo.exitInfo) throw new Error(`demo exited (${JSON.stringify(demo.exitInfo)}) before printing ${re}:\n${demo.out}\n${demo.err}`);
      if (Date.now() > until) throw new Error(`demo did not print ${re} within ${timeoutMs} ms:\n${demo.out}\n${demo.err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  demo.stop = async (signal) => {
    proc.kill(signal);
    const t = setTimeout(() => proc.kill('SIGKILL'), 20000);
    const info = await demo.exited;
    clearTimeout(t);
    live.delete(demo);
    return info;
  };
  return demo;
}

/** Runs a printed one-line shell command (as a user would paste it) from the repository root. */
function runPrinted(cmd, timeoutMs = 60000) {
  return new Promise((resolve, reject) => {
    const p = spawn('sh', ['-c', cmd], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', reject);
    p.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}

function portClosed(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

async function simState(simUrl) {
  const r = await request(`${simUrl}/_sim/state`);
  assert.equal(r.status, 200);
  return JSON.parse(r.body);
}

async function waitForReport(simUrl, id, status, timeoutMs = 30000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = (await simState(simUrl)).reports.find((x) => x.reportId === id);
    if (r.approvalStatus === status) return r;
    if (Date.now() > until) throw new Error(`report ${id} is ${r.approvalStatus}, expected ${status}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** What the banner says, parsed the way a user reads it. */
async function readBanner(demo) {
  const [, editor] = await demo.waitFor(/Node-RED editor\s*: (http:\/\/\S+?)\/?\n/);
  const [, simUrl] = await demo.waitFor(/Concur simulator\s*: (http:\/\/\S+)/);
  const [, essCmd] = await demo.waitFor(/^\s+(npx concur-sim send ess .+)$/m);
  const [, legacyCmd] = await demo.waitFor(/^\s+(npx concur-sim send legacy .+)$/m);
  const [, redPid] = await demo.waitFor(/Node-RED starting \(pid (\d+)\)/);
  return { editor, simUrl, essCmd, legacyCmd, redPid: Number(redPid) };
}

describe('npm start: the demo (scripts/start-demo.js)', function () {
  this.timeout(240000);
  let demoDir;
  let keyDir;

  before(() => {
    demoDir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-demo-'));
    keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-demo-keys-'));
  });
  after(async () => {
    for (const d of live) {
      await d.stop('SIGKILL');
      if (d.redPid && alive(d.redPid)) process.kill(d.redPid, 'SIGKILL');
    }
    fs.rmSync(demoDir, { recursive: true, force: true });
    fs.rmSync(keyDir, { recursive: true, force: true });
  });

  it('first run: prints working commands (ESS event → exceptions + send back, legacy callout → approve) and SIGTERM stops both processes', async () => {
    const [redPort, simPort] = [await freePort(), await freePort()];
    const demo = startDemo({ PORT: String(redPort), CONCUR_SIM_PORT: String(simPort), CONCUR_DEMO_DIR: demoDir, CONCUR_SIM_DIR: keyDir });
    const b = await readBanner(demo);
    demo.redPid = b.redPid;
    assert.equal(b.editor, `http://127.0.0.1:${redPort}`);
    assert.equal(b.simUrl, `http://127.0.0.1:${simPort}`);
    assert.match(demo.out, /demo flows deployed/);
    assert.match(demo.out, /subscribed at the simulator/);
    const editorPage = await request(`${b.editor}/`);
    assert.equal(editorPage.status, 200);
    assert.match(editorPage.body, /Node-RED/);

    const before = await simState(b.simUrl);
    assert.equal(before.reports.find((r) => r.reportId === R_VIOLATIONS).approvalStatus, 'A_EXTV');
    assert.equal(before.subscriptions.length, 1, 'the demo subscribed its ESS receiver');
    assert.equal(before.subscriptions[0].webHookConfig.endpoint, `${b.editor}/concur/ess`);

    const ess = await runPrinted(b.essCmd);
    assert.equal(ess.code, 0, ess.out);
    assert.match(ess.out, /delivered/);
    const sentBack = await waitForReport(b.simUrl, R_VIOLATIONS, 'A_RESU');
    assert.deepEqual(sentBack.exceptions.map((e) => e.exceptionCode).sort(), ['MISSREQ', 'NORCPT']);

    const legacy = await runPrinted(b.legacyCmd);
    assert.equal(legacy.code, 0, legacy.out);
    await waitForReport(b.simUrl, R_PASSES, 'A_APPR');

    // The printed "move to external validation" step: the simulator delivers the event over the subscription.
    const moved = await request(`${b.simUrl}/_sim/reports/${R_DRAFT}/submit`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ stepCode: 'EXTVAL' }),
    });
    assert.equal(moved.status, 200, moved.body);
    await waitForReport(b.simUrl, R_DRAFT, 'A_APPR');

    // Nothing secret reaches the console (the demo connector password is printed on purpose).
    for (const secret of ['sim-client-secret-7d41c8', 'sim-company-request-token-2f9c41', 'Bearer ']) {
      assert.ok(!demo.out.includes(secret) && !demo.err.includes(secret), `console shows ${secret}`);
    }
    assert.ok(!fs.readFileSync(path.join(demoDir, 'flows_cred.json'), 'utf8').includes('sim-client-secret'), 'credentials are stored encrypted');

    const info = await demo.stop('SIGTERM');
    assert.equal(info.code, 0, demo.err);
    assert.match(demo.out, /demo stopped/);
    assert.ok(!alive(b.redPid), 'Node-RED is stopped');
    assert.ok(await portClosed(simPort), 'the simulator is stopped');
    assert.ok(await portClosed(redPort), 'the editor port is closed');
  });

  it('second run reuses the demo directory: user edits and credentials kept, flows re-pointed to new ports; Ctrl+C stops both', async () => {
    // A user edit made while the demo was stopped.
    const flowsFile = path.join(demoDir, 'flows.json');
    const flows = JSON.parse(fs.readFileSync(flowsFile, 'utf8'));
    const tab = flows.find((n) => n.type === 'tab');
    flows.push({ id: 'user-edit', type: 'comment', z: tab.id, name: 'my own note', info: '', x: 900, y: 40, wires: [] });
    fs.writeFileSync(flowsFile, JSON.stringify(flows));

    const [redPort, simPort] = [await freePort(), await freePort()];
    const demo = startDemo({ PORT: String(redPort), CONCUR_SIM_PORT: String(simPort), CONCUR_DEMO_DIR: demoDir, CONCUR_SIM_DIR: keyDir });
    const b = await readBanner(demo);
    demo.redPid = b.redPid;
    assert.match(demo.out, /your flows kept/);
    assert.match(demo.out, /re-pointing the demo flows/);
    assert.doesNotMatch(demo.out, /re-emitting/, 'every ESS event of the first run was completed');
    assert.match(b.essCmd, new RegExp(`--api http://127\\.0\\.0\\.1:${simPort}`));

    const deployed = JSON.parse((await request(`${b.editor}/flows`, { headers: { 'Node-RED-API-Version': 'v1' } })).body);
    assert.ok(
      deployed.some((n) => n.id === 'user-edit'),
      'the user edit is kept',
    );
    assert.deepEqual(
      deployed.filter((n) => n.type === 'concur-config').map((n) => n.baseUrl),
      [b.simUrl, b.simUrl], // the examples' company connection and the subscription tab's app connection
    );
    const subTab = deployed.find((n) => n.type === 'tab' && Array.isArray(n.env) && n.env.some((e) => e.name === 'ESS_WEBHOOK_URL'));
    assert.equal(subTab.env.find((e) => e.name === 'ESS_WEBHOOK_URL').value, `${b.editor}/concur/ess`);

    // Credentials decrypted from the previous run still work against the new (fresh) simulator.
    const ess = await runPrinted(b.essCmd);
    assert.equal(ess.code, 0, ess.out);
    await waitForReport(b.simUrl, R_VIOLATIONS, 'A_RESU');
    const legacy = await runPrinted(b.legacyCmd);
    assert.equal(legacy.code, 0, legacy.out);
    await waitForReport(b.simUrl, R_PASSES, 'A_APPR');

    const info = await demo.stop('SIGINT');
    assert.equal(info.code, 0, demo.err);
    assert.ok(!alive(b.redPid), 'Node-RED is stopped');
    assert.ok(await portClosed(simPort));
  });

  it("CONCUR_DEMO_RESET=1 deploys the demo tabs afresh and leaves the user's own tabs, nodes and credentials alone", async () => {
    // A run without reset, in which the user adds a tab of their own (a receiver with credentials) and edits a demo tab.
    let [redPort, simPort] = [await freePort(), await freePort()];
    let demo = startDemo({ PORT: String(redPort), CONCUR_SIM_PORT: String(simPort), CONCUR_DEMO_DIR: demoDir, CONCUR_SIM_DIR: keyDir });
    let b = await readBanner(demo);
    demo.redPid = b.redPid;
    const headers = { 'Content-Type': 'application/json', 'Node-RED-API-Version': 'v1', 'Node-RED-Deployment-Type': 'full' };
    const current = JSON.parse((await request(`${b.editor}/flows`, { headers: { 'Node-RED-API-Version': 'v1' } })).body);
    const demoTab = current.find((n) => n.type === 'tab');
    const mine = [
      { id: 'my-tab', type: 'tab', label: 'my own flow' },
      { id: 'my-note', type: 'comment', z: 'my-tab', name: 'mine', info: '', x: 200, y: 40, wires: [] },
      {
        id: 'my-receiver',
        type: 'concur-legacy-notify-in',
        z: 'my-tab',
        path: '/my/notify',
        ackMode: 'receipt',
        x: 200,
        y: 100,
        wires: [[]],
        credentials: { username: 'my-connector-user', password: 'my-connector-password' },
      },
      { id: 'demo-tab-edit', type: 'comment', z: demoTab.id, name: 'edit on a demo tab', info: '', x: 900, y: 80, wires: [] },
    ];
    const put = await request(`${b.editor}/flows`, { method: 'POST', headers, body: JSON.stringify([...current, ...mine]) });
    assert.equal(put.status, 204, put.body);
    assert.equal((await demo.stop('SIGTERM')).code, 0, demo.err);

    [redPort, simPort] = [await freePort(), await freePort()];
    demo = startDemo({ PORT: String(redPort), CONCUR_SIM_PORT: String(simPort), CONCUR_DEMO_DIR: demoDir, CONCUR_SIM_DIR: keyDir, CONCUR_DEMO_RESET: '1' });
    b = await readBanner(demo);
    demo.redPid = b.redPid;
    assert.match(demo.out, /deploying the demo tabs afresh, keeping your 3 other node\(s\)/);
    const deployed = JSON.parse((await request(`${b.editor}/flows`, { headers: { 'Node-RED-API-Version': 'v1' } })).body);
    const ids = new Set(deployed.map((n) => n.id));
    for (const id of ['my-tab', 'my-note', 'my-receiver']) assert.ok(ids.has(id), `${id} is kept`);
    assert.ok(!ids.has('demo-tab-edit'), 'the edit on a demo tab is replaced by the fresh demo');
    assert.ok(!ids.has('user-edit'), 'the earlier edit on a demo tab is gone too');
    assert.equal(deployed.filter((n) => n.type === 'tab' && n.id === demoTab.id).length, 1, 'each demo tab once');
    // The demo's company connection and its app connection (ESS subscription tab), each once.
    assert.deepEqual(
      deployed
        .filter((n) => n.type === 'concur-config')
        .map((n) => n.id)
        .sort(),
      ['concur-demo.app-connection', 'concur-demo.connection'],
      'the demo connections, once each',
    );
    // The user's receiver still has its credentials (kept encrypted across the reset deploy).
    const xml =
      '<?xml version="1.0"?><Notification><EventType>SUBMIT</EventType><ObjectType>EXPRPT</ObjectType><ObjectURI>https://www.concursolutions.com/api/expense/expensereport/v2.0/report/X</ObjectURI><EventDateTime>2026-01-01</EventDateTime><Context/></Notification>';
    const auth = (u, p) => 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64');
    const ok = await request(`${b.editor}/my/notify`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/xml', Authorization: auth('my-connector-user', 'my-connector-password') },
      body: xml,
    });
    assert.equal(ok.status, 200, ok.body);
    const bad = await request(`${b.editor}/my/notify`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/xml', Authorization: auth('my-connector-user', 'wrong-password-123') },
      body: xml,
    });
    assert.equal(bad.status, 401);
    // The fresh demo works: the printed ESS command is handled.
    const ess = await runPrinted(b.essCmd);
    assert.equal(ess.code, 0, ess.out);
    await waitForReport(b.simUrl, R_VIOLATIONS, 'A_RESU');
    assert.equal((await demo.stop('SIGINT')).code, 0, demo.err);
  });

  it('an explicit port that is taken fails with a clear message and leaves nothing running', async () => {
    const blocker = net.createServer();
    await new Promise((r) => blocker.listen(0, '127.0.0.1', r));
    const taken = blocker.address().port;
    try {
      const demo = startDemo({ PORT: String(taken), CONCUR_DEMO_DIR: demoDir, CONCUR_SIM_DIR: keyDir });
      let timer;
      const info = await Promise.race([demo.exited, new Promise((r) => (timer = setTimeout(() => r('timeout'), 30000)))]);
      clearTimeout(timer); // a pending timer would keep mocha alive for 30 s (no exit: true)
      if (info === 'timeout') await demo.stop('SIGKILL');
      live.delete(demo);
      assert.equal(info.code, 1);
      assert.match(demo.err, new RegExp(`Node-RED port ${taken} \\(PORT\\) is in use`));
      assert.doesNotMatch(demo.out, /Node-RED starting/);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });
});
