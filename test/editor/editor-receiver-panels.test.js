'use strict';
/**
 * The receivers' operations panels in a real browser (Debian Chromium via
 * playwright-core) against a real Node-RED and the simulator:
 * - the ESS dialog lists the application's subscriptions through the selected
 *   (deployed) concur-config, marks the one pointing at this receiver's public
 *   URL, creates one and deletes one (checked in the simulator's state);
 * - both receivers' dialogs show live counters that follow real deliveries;
 * plus, without a browser: the catalogue keys the shared panel script uses, and
 * the admin routes' permissions under adminAuth (read may list, only write may change).
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startRed, request, REPO } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');
const eb = require('../helpers/editor-browser');
const { startSimulator } = require('../../dist/simulator/index.js');
const { essNode } = require('../helpers/ess-flows');
const { testKeyPair, essEvent, signedDelivery } = require('../helpers/ess-signer');

const TAB = 'tab-panels';
const USER = 'concur-connector-user';
const PASS = 'Pa55word:for-concur!';
const AUTH = 'Basic ' + Buffer.from(`${USER}:${PASS}`).toString('base64');
const XML = `<?xml version="1.0" encoding="UTF-8"?><Notification><EventType>Report Entered Expense Report Workflow Step - SUBMIT</EventType><ObjectType>EXPRPT</ObjectType><ObjectURI>https://www.concursolutions.com/api/expense/expensereport/v1.1/reportfulldetails/abc</ObjectURI><EventDateTime>2012-05-01</EventDateTime><Context/></Notification>`;
// bcrypt of ADMIN_PASSWORD (cost 8), as in editor-key-info.test.js.
const ADMIN_PASSWORD = 'key-info-admin-pass';
const ADMIN_HASH = '$2b$08$.6Uv/bWDcx/3mTosCMNes.6BxOxuDkNVVtORi4tjCdKS7sfccf8Hy';
const key = testKeyPair('panels');

function appConfig(sim) {
  const c = sim.credentials;
  return {
    id: 'cfg-app',
    type: 'concur-config',
    name: 'app',
    geolocation: 'custom',
    baseUrl: sim.url,
    tokenEndpoint: 'api',
    grantType: 'client_credentials',
    followGeolocation: true,
    timeout: 10,
    retries: 1,
    retryDelay: 5,
    retryMaxDelay: 20,
    expirySkew: 60,
    credentials: { clientId: c.clientId, clientSecret: c.clientSecret },
  };
}

describe('receiver dialogs: subscription and counters panels', function () {
  this.timeout(180000);

  it("the shared panel script only uses keys both receivers' catalogues define, in en-US and de", () => {
    const js = fs.readFileSync(path.join(REPO, 'src', 'editor', 'concur-receiver-panels.js'), 'utf8');
    const used = new Set([...js.matchAll(/\bt\(\s*'([^']+)'/g)].map((m) => m[1]));
    for (const m of js.matchAll(/\bt\(\s*'([^']+\.)'\s*\+/g)) used.add(m[1]);
    assert.ok(used.size > 20, [...used].join(', '));
    const flat = (o, p = '', out = {}) => {
      for (const [k, v] of Object.entries(o)) typeof v === 'object' ? flat(v, `${p}${k}.`, out) : (out[`${p}${k}`] = v);
      return out;
    };
    for (const lang of ['en-US', 'de']) {
      for (const type of ['concur-ess-event-in', 'concur-legacy-notify-in']) {
        const cat = flat(JSON.parse(fs.readFileSync(path.join(REPO, 'src', 'nodes', type, 'locales', lang, `${type}.json`), 'utf8'))[type]);
        for (const k of used) {
          if (type === 'concur-legacy-notify-in' && k.startsWith('subscription.')) continue; // ESS only
          if (k.endsWith('.'))
            assert.ok(
              Object.keys(cat).some((c) => c.startsWith(k)),
              `${lang}/${type}: no keys under ${k}`,
            );
          else assert.ok(k in cat, `${lang}/${type}: missing ${k}`);
        }
        for (const row of [
          'health',
          'healthState.ok',
          'healthState.degraded',
          'healthState.error',
          'healthState.unknown',
          'received',
          'accepted',
          'duplicates',
          'filtered',
          'rejectedTotal',
          'failed',
          'pending',
          'dead',
          'lastEventAt',
        ])
          assert.ok(`counters.${row}` in cat, `${lang}/${type}: counters.${row}`);
      }
    }
  });

  describe('in the browser', () => {
    let sim;
    let red;
    let browser;
    let keyDir;
    before(async function () {
      const why = eb.skipReason();
      if (why) return this.skip();
      keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-sim-keys-'));
      sim = await startSimulator({ port: 0, keyDir, enforceTokenKinds: true, deliverEvents: false });
      red = await startRed();
      const webhook = `${red.url}/concur/ess`;
      await red.deploy([
        { id: TAB, type: 'tab', label: 'panels' },
        appConfig(sim),
        essNode({
          id: 'essP',
          z: TAB,
          extraKeys: key.publicPem,
          server: 'cfg-app',
          publicUrl: webhook,
          subscriptionId: '',
          subscriptionTopic: 'public.concur.expense.report',
          subscriptionFilter: '.*',
          registerOnDeploy: false,
          unregisterOnRemove: false,
          wires: [['sink']],
        }),
        { id: 'sink', type: 'function', z: TAB, func: 'return null;', outputs: 1, wires: [[]], x: 400, y: 100 },
        {
          id: 'legP',
          type: 'concur-legacy-notify-in',
          z: TAB,
          name: '',
          path: '/concur/v1.0/notify',
          ackMode: 'receipt',
          ackTimeout: 25,
          maxBodyKiB: 1024,
          testConnection: false,
          credentials: { username: USER, password: PASS },
          wires: [['sink']],
          x: 150,
          y: 250,
        },
      ]);
      // Subscriptions made elsewhere: one at this receiver, one at another endpoint.
      const app = await appTokenOf(sim);
      for (const [id, endpoint] of [
        ['pre-made', webhook],
        ['elsewhere', 'https://other.example.com/hook'],
      ]) {
        const r = await request(`${sim.url}/events/v4/subscriptions/webhook`, {
          method: 'PUT',
          headers: { Authorization: `Bearer ${app}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ id, filter: '.*', topic: 'public.concur.expense.report', webHookConfig: { endpoint } }),
        });
        assert.equal(r.status, 200, r.body);
      }
      browser = await eb.launchEditorBrowser();
      await eb.openEditor(browser.page, red);
    });
    after(async () => {
      if (browser) await browser.close();
      await teardown({ red, sim });
      if (keyDir) fs.rmSync(keyDir, { recursive: true, force: true });
    });

    async function appTokenOf(s) {
      const r = await request(`${s.url}/oauth2/v0/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: s.credentials.clientId,
          client_secret: s.credentials.clientSecret,
        }).toString(),
      });
      return JSON.parse(r.body).access_token;
    }
    // biome-ignore lint/performance/useDomNodeTextContent: Playwright's Locator.innerText, the text as rendered (what the user reads), not a DOM property
    const text = (sel) => browser.page.locator(sel).first().innerText();
    async function waitText(sel, re) {
      await browser.page.waitForFunction(([s, src]) => new RegExp(src).test(window.$(s).first().text()), [sel, re.source], { timeout: 15000 });
    }

    it("ESS dialog: lists subscriptions, marks this receiver's, creates and deletes one; live counters", async () => {
      const { page } = browser;
      // One accepted event and one bad signature before the dialog opens, one more while it is open.
      const post = (d) => request(`${red.url}/concur/ess`, { method: 'POST', headers: d.headers, body: d.body });
      assert.equal((await post(signedDelivery(essEvent(), { privateKey: key.privateKey }))).status, 200);
      assert.equal((await post(signedDelivery(essEvent(), { privateKey: testKeyPair('panels-other').privateKey }))).status, 401);

      await eb.openEditDialog(page, 'essP');
      await page.locator('.concur-subs-row[data-id="pre-made"]').waitFor({ state: 'visible' });
      assert.deepEqual(await page.locator('.concur-subs-row.concur-subs-mine').evaluateAll((els) => els.map((e) => e.getAttribute('data-id'))), ['pre-made']);
      assert.match(await text('.concur-subs-msg'), /Subscription of this receiver: pre-made/);
      assert.match(await text('.concur-subs-row[data-id="pre-made"]'), /topic public\.concur\.expense\.report · filter \.\* · groups – · active/);
      assert.match(await text('#concur-ess-subscription-panel'), /no test event/i);

      await waitText('#concur-ess-counters tr[data-counter="accepted"] .concur-counter-value', /^1$/);
      await waitText('#concur-ess-counters tr[data-counter="rejected.signature"] .concur-counter-value', /^1$/);
      assert.equal(await text('#concur-ess-counters tr[data-counter="received"] .concur-counter-value'), '2');
      assert.match(await text('#concur-ess-counters tr[data-counter="health"] .concur-counter-value'), /^degraded · 401 signature/);
      assert.equal((await post(signedDelivery(essEvent(), { privateKey: key.privateKey }))).status, 200);
      await waitText('#concur-ess-counters tr[data-counter="accepted"] .concur-counter-value', /^2$/); // refreshed while open

      // Create: the id field is empty, so the default id (node-red-<node id>) shown as placeholder is used.
      await page.fill('#node-input-subscriptionFilter', 'statusChanged');
      await page.click('.concur-subs-save');
      const defaultId = `node-red-${'essP'.toLowerCase()}`;
      await page.locator(`.concur-subs-row.concur-subs-mine[data-id="${defaultId}"]`).waitFor({ state: 'visible' });
      const made = sim.state.subscriptions.get(defaultId);
      assert.deepEqual([made.filter, made.webHookConfig.endpoint], ['statusChanged', `${red.url}/concur/ess`]);

      // Clicking a row takes its id; Delete removes it at Concur.
      await page.click('.concur-subs-row[data-id="pre-made"]');
      assert.equal(await page.inputValue('#node-input-subscriptionId'), 'pre-made');
      await page.click('.concur-subs-delete');
      await page.locator('.concur-subs-row[data-id="pre-made"]').waitFor({ state: 'detached' });
      assert.ok(!sim.state.subscriptions.has('pre-made'));
      assert.ok(sim.state.subscriptions.has('elsewhere'), "the other endpoint's subscription is untouched");

      // Register on deploy needs the public URL.
      await page.fill('#node-input-publicUrl', '');
      await page.check('#node-input-registerOnDeploy');
      assert.ok(await page.locator('#node-input-publicUrl.input-error').count(), 'public URL marked invalid');
      await page.click('.concur-subs-save');
      assert.match(await text('.concur-subs-msg'), /public URL/);
      await eb.screenshot(page, 'ess-subscription-panel');
      await page.click('#node-dialog-cancel');
      assert.deepEqual(browser.errors, []);
    });

    it('a node and a connection not deployed yet: the panels say so, without browser errors', async () => {
      const { page } = browser;
      await page.evaluate(() => {
        const z = window.RED.workspaces.active();
        // RED.nodes.import adds them in place (RED.view.importNodes would attach them to the mouse).
        window.RED.nodes.import(
          [
            { id: 'cfgNew', type: 'concur-config', name: 'not deployed', geolocation: 'us2', grantType: 'client_credentials' },
            {
              id: 'essNew',
              type: 'concur-ess-event-in',
              z,
              name: 'new receiver',
              path: '/concur/ess-new',
              server: 'cfgNew',
              publicUrl: 'https://nodered.example.com/concur/ess-new',
              x: 300,
              y: 400,
              wires: [[]],
            },
          ],
          { generateIds: false },
        );
        window.RED.view.redraw(true);
      });
      await eb.openEditDialog(page, 'essNew');
      await waitText('#concur-ess-counters .concur-counters-note', /Deploy this node/);
      await waitText('.concur-subs-msg', /deploy the connection first/);
      await page.click('#node-dialog-cancel');
      assert.deepEqual(browser.errors, []);
    });

    it('legacy dialog: live counters', async () => {
      const { page } = browser;
      const post = (headers) =>
        request(`${red.url}/concur/v1.0/notify`, { method: 'POST', headers: { 'Content-Type': 'application/xml', ...headers }, body: XML });
      assert.equal((await post({ Authorization: AUTH })).status, 200);
      assert.equal((await post({})).status, 401);
      await eb.openEditDialog(page, 'legP');
      await waitText('#concur-legacy-counters tr[data-counter="accepted"] .concur-counter-value', /^1$/);
      assert.equal(await text('#concur-legacy-counters tr[data-counter="rejected.auth"] .concur-counter-value'), '1');
      assert.doesNotMatch(await text('#concur-legacy-counters tr[data-counter="lastEventAt"]'), /never/);
      await page.click('#node-dialog-cancel');
      assert.deepEqual(browser.errors, []);
    });
  });

  describe('admin route permissions (adminAuth)', () => {
    let red;
    let sim;
    let keyDir;
    before(async () => {
      keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-sim-keys-'));
      sim = await startSimulator({ port: 0, keyDir, deliverEvents: false });
      red = await startRed({
        readyPath: '/auth/login',
        settings: {
          adminAuth: {
            type: 'credentials',
            users: [
              { username: 'admin', password: ADMIN_HASH, permissions: '*' },
              { username: 'viewer', password: ADMIN_HASH, permissions: 'read' },
            ],
          },
        },
      });
    });
    after(async () => {
      await teardown({ red, sim });
      if (keyDir) fs.rmSync(keyDir, { recursive: true, force: true });
    });
    async function token(username, scope) {
      const r = await request(`${red.url}/auth/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ client_id: 'node-red-admin', grant_type: 'password', scope, username, password: ADMIN_PASSWORD }),
      });
      return JSON.parse(r.body).access_token;
    }

    it('read may list subscriptions and counters; only write may save or delete; nobody without a token', async () => {
      const admin = { Authorization: `Bearer ${await token('admin', '*')}` };
      const viewer = { Authorization: `Bearer ${await token('viewer', 'read')}` };
      const flows = [{ id: TAB, type: 'tab', label: 'perm' }, appConfig(sim), essNode({ id: 'essQ', z: TAB, extraKeys: key.publicPem, wires: [[]] })];
      const d = await request(`${red.url}/flows`, {
        method: 'POST',
        headers: { ...admin, 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
        body: JSON.stringify(flows),
      });
      assert.equal(d.status, 204, d.body);
      const save = (h) =>
        request(`${red.url}/concur-ess-event-in/subscriptions`, {
          method: 'POST',
          headers: { ...h, 'Content-Type': 'application/json' },
          body: JSON.stringify({
            config: 'cfg-app',
            subscription: { id: 'perm-test', topic: 'public.concur.expense.report', webHookConfig: { endpoint: 'https://x.example.com/h' } },
          }),
        });
      assert.equal((await request(`${red.url}/concur-ess-event-in/essQ/counters`)).status, 401);
      assert.equal((await request(`${red.url}/concur-ess-event-in/subscriptions?config=cfg-app`)).status, 401);
      let c;
      for (let i = 0; i < 50 && (c = await request(`${red.url}/concur-ess-event-in/essQ/counters`, { headers: viewer })).status === 404; i++)
        await new Promise((r) => setTimeout(r, 100)); // the node is starting
      assert.equal(c.status, 200, c.body);
      assert.equal((await request(`${red.url}/concur-ess-event-in/subscriptions?config=cfg-app`, { headers: viewer })).status, 200);
      assert.equal((await save(viewer)).status, 401);
      assert.equal((await request(`${red.url}/concur-ess-event-in/subscriptions/perm-test?config=cfg-app`, { method: 'DELETE', headers: viewer })).status, 401);
      assert.ok(!sim.state.subscriptions.has('perm-test'));
      assert.equal((await save(admin)).status, 200);
      assert.ok(sim.state.subscriptions.has('perm-test'));
      assert.equal((await request(`${red.url}/concur-ess-event-in/subscriptions/perm-test?config=cfg-app`, { method: 'DELETE', headers: admin })).status, 200);
    });
  });
});
