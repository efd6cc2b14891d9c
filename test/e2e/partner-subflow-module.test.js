'use strict';
/**
 * Partner packaging: partner-subflow-example/ is a Node-RED subflow module
 * (https://nodered.org/docs/creating-nodes/subflow-modules) whose subflow wraps
 * concur-validate with a partner's rules and depends on this package. This
 * test packs both with `npm pack`, installs the two tarballs into a fresh
 * Node-RED user directory, starts a real Node-RED from it, checks the partner
 * node is in the palette as its own type, and runs reports through it against
 * the simulator: get report (v1.1 callout URI) -> partner node -> post
 * exceptions, with the exceptions checked in the simulator. Two instances with
 * different subflow properties show the settings reach the rules.
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { startRed, request, REPO, PACKAGE_NAME } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');
const { startCollector, collectorNodes } = require('../helpers/collector');
const { startSimulator } = require('../../dist/simulator/index.js');

const PARTNER_DIR = path.join(REPO, 'partner-subflow-example');
const PARTNER = require(path.join(PARTNER_DIR, 'package.json'));
const PARTNER_TYPE = 'acme-expense-policy';
const Z = 'tab-partner';
const R2 = '4D2E8A61B0C94F7FA311'; // dinner 612 USD without receipt; Walgreens 35 USD without purpose
const EXP_DINNER = 'C4A2E0B8D6F44A1C9E7B5D3F1A9C7E5B';
const EXP_NO_PURPOSE = 'A0E8C6B4D2F04A8E6C4B2D0F8E6A4C2B';
const REFRESH = 'configured-refresh-token-ORIGINAL';

function npm(args, cwd, timeout = 180000) {
  return execFileSync('npm', args, {
    cwd,
    encoding: 'utf8',
    timeout,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' },
  });
}

describe('partner subflow module: packed, installed next to ours in a fresh Node-RED, run against the simulator', function () {
  this.timeout(300000);
  let work;
  let red;
  let collector;
  let sim;

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-partner-'));
    const packs = path.join(work, 'packs');
    fs.mkdirSync(packs);
    // Ours as published (compiled output, no build on pack) and the partner's module.
    const ours = npm(['pack', '--ignore-scripts', '--pack-destination', packs], REPO).trim().split('\n').pop();
    const theirs = npm(['pack', '--pack-destination', packs], PARTNER_DIR).trim().split('\n').pop();
    const userDir = path.join(work, 'userdir');
    fs.mkdirSync(userDir);
    fs.writeFileSync(
      path.join(userDir, 'package.json'),
      JSON.stringify(
        {
          name: 'node-red-project',
          private: true,
          dependencies: { [PACKAGE_NAME]: `file:${path.join(packs, ours)}`, [PARTNER.name]: `file:${path.join(packs, theirs)}` },
        },
        null,
        2,
      ),
    );
    npm(['install', '--prefer-offline', '--ignore-scripts', '--no-package-lock', '--omit=dev'], userDir);
    assert.ok(fs.existsSync(path.join(userDir, 'node_modules', PARTNER.name, 'subflow.json')), 'the partner module is installed');
    assert.ok(!fs.lstatSync(path.join(userDir, 'node_modules', PACKAGE_NAME)).isSymbolicLink(), 'ours is installed from its tarball, not linked');

    sim = await startSimulator({ port: 0, deliverEvents: false, refreshTokens: [REFRESH] });
    collector = await startCollector();
    red = await startRed({ userDir });
  });
  after(async () => {
    await teardown({ red, collector, sim });
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('the partner module loads as its own palette type, with ours as its dependency', async () => {
    const r = await request(`${red.url}/nodes`, { headers: { Accept: 'application/json' } });
    const sets = JSON.parse(r.body);
    const partner = sets.find((s) => s.module === PARTNER.name);
    assert.ok(partner, `partner module listed: ${sets.map((s) => s.module).join(', ')}`);
    assert.equal(partner.err, undefined, partner.err);
    assert.deepEqual(partner.types, [PARTNER_TYPE]);
    const validate = sets.find((s) => s.module === PACKAGE_NAME && s.types.includes('concur-validate'));
    assert.ok(validate && !validate.err, 'concur-validate loaded from the installed tarball');
    assert.doesNotMatch(red.log(), /missing dependencies/);
  });

  it('runs the v1.1 report of a callout through the partner node and posts its exceptions; subflow properties reach the rules', async () => {
    const c = sim.credentials;
    const out = (name) =>
      collectorNodes({
        idPrefix: name,
        z: Z,
        url: collector.url,
        pathName: `/${name}`,
        fields: ['tag', 'payload', 'exceptions', 'validation', 'comment', 'error'],
      });
    const passed = out('passed');
    const posted = out('posted');
    const flagged = out('flagged');
    const err = out('err');
    // A subflow-module instance carries every subflow property as a node property (as the editor saves it;
    // Node-RED 4.1 fails to start an instance that lacks one).
    const chain = (name, props) => [
      { id: `in-${name}`, type: 'http in', z: Z, url: `/t/${name}`, method: 'post', wires: [[`res-${name}`, `get-${name}`]] },
      { id: `res-${name}`, type: 'http response', z: Z, statusCode: '200', wires: [] },
      { id: `get-${name}`, type: 'concur-get-report-details', z: Z, server: 'cfg', version: 'v1.1', wires: [[`pol-${name}`]] },
      { id: `pol-${name}`, type: PARTNER_TYPE, z: Z, ...props, wires: [[passed.inputId], [flagged.inputId, `post-${name}`]] },
      { id: `post-${name}`, type: 'concur-post-exceptions', z: Z, server: 'cfg', version: 'v1.1', wires: [[posted.inputId]] },
    ];
    const flows = [
      { id: Z, type: 'tab', label: 'partner' },
      {
        id: 'cfg',
        type: 'concur-config',
        geolocation: 'custom',
        baseUrl: sim.url,
        tokenEndpoint: 'api',
        grantType: 'refresh_token',
        timeout: 10,
        retries: 1,
        credentials: { clientId: c.clientId, clientSecret: c.clientSecret, refreshToken: REFRESH },
      },
      ...chain('default', { RECEIPT_LIMIT: 75, HOTEL_LIMIT: 300 }),
      ...chain('lenient', { RECEIPT_LIMIT: 1000, HOTEL_LIMIT: 300 }),
      { id: 'catch', type: 'catch', z: Z, scope: null, uncaught: false, wires: [[err.inputId]] },
      ...passed.nodes,
      ...posted.nodes,
      ...flagged.nodes,
      ...err.nodes,
    ].map((n, i) => (n.z && n.x === undefined ? { x: 100 + (i % 5) * 150, y: 40 + Math.floor(i / 5) * 40, ...n } : n));
    await red.deploy(flows);
    const report = sim.state.reportById(R2);
    const objectURI = `${sim.url}/api/expense/expensereport/v1.1/reportfulldetails/${report.reportKey}`;
    const exceptionsNow = () =>
      sim.state
        .reportById(R2)
        .exceptions.filter((x) => x.source === 'v1.1')
        .map((x) => `${x.exceptionCode}@${x.expenseId}`)
        .sort();

    const fire = async (name) => {
      collector.clear();
      const r = await request(`${red.url}/t/${name}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ objectURI }) });
      assert.equal(r.status, 200);
      await collector.waitFor(1, 30000, '/posted').catch((e) => {
        throw new Error(`${e.message}: ${JSON.stringify(collector.received)}\n${red.log().split('\n').slice(-40).join('\n')}`);
      });
      const all = await collector.settle(300);
      assert.deepEqual(
        all.filter((m) => m.path === '/err').map((m) => m.body.error),
        [],
      );
      return all;
    };

    let got = await fire('default');
    const f = got.find((m) => m.path === '/flagged').body;
    assert.match(f.comment, /^Returned by ACME policy: receipt missing for The Capital Grille \(612 USD\); business purpose missing for Walgreens/);
    assert.deepEqual(exceptionsNow(), [`MISSREQ@${EXP_NO_PURPOSE}`, `NORCPT@${EXP_DINNER}`]);

    sim.state.reset();
    got = await fire('lenient'); // receipts only over 1000: the dinner passes that rule
    assert.deepEqual(exceptionsNow(), [`MISSREQ@${EXP_NO_PURPOSE}`]);
    assert.deepEqual(
      got.find((m) => m.path === '/flagged').body.exceptions.map((x) => x.exceptionCode),
      ['MISSREQ'],
    );
  });
});
