'use strict';
/**
 * Per-node editor tests in a real browser (Debian Chromium via playwright-core)
 * against a real Node-RED: each of our node types appears in the palette under
 * "SAP Concur" with its label and icon, its dialog opens and can be filled,
 * the flow deploys cleanly, receivers answer on their endpoint, and the
 * concur-config dialog's "Test connection" button works. A screenshot of each
 * goes to test/artifacts/. Adding a node is one entry in NODES below; a node
 * whose files do not exist yet is skipped with the reason.
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startRed, request, REPO } = require('./helpers/red-runtime');
const eb = require('./helpers/editor-browser');

const PKG = require(path.join(REPO, 'package.json'));
const CATEGORY_CONTAINER = 'red-ui-palette-container-SAP_Concur'; // "SAP Concur" as the editor escapes it
const RUN = Date.now().toString(36);

// Credentials typed into the dialogs (10–50 characters, as Concur requires for Basic auth).
const LEGACY_USER = 'concur-connector-user';
const LEGACY_PASSWORD = 'browser-test-password-42';

const NOTIFICATION_XML = `<?xml version="1.0" encoding="UTF-8"?>
<Notification>
  <EventType>Report Entered Expense Report Workflow Step - SUBMIT</EventType>
  <ObjectType>EXPRPT</ObjectType>
  <ObjectURI>https://www.concursolutions.com/api/expense/expensereport/v1.1/reportfulldetails/nxxKgLlnROz3zHJBCRksaas$pY7JJtcYaNaQ%wlAMyvFeW</ObjectURI>
  <EventDateTime>2012-05-01</EventDateTime>
  <Context/>
</Notification>`;

/**
 * Field specs are [candidate property names, value]: the first candidate the
 * dialog has (node-input-<prop> / node-config-input-<prop>) is filled; a spec
 * marked optional is skipped when none exists, otherwise the test fails and
 * lists the dialog's ids. Values: string, boolean (checkbox), or { type, value }.
 */
const NODES = [
  {
    type: 'concur-config',
    config: true,
    fill: (ctx) => [
      [['name'], 'browser test tenant'],
      [['geolocation', 'region', 'preset', 'datacenter'], 'custom', { optional: true }],
      [['baseUrl', 'baseURL', 'customUrl', 'url', 'apiUrl', 'host'], ctx.sim ? ctx.sim.url : 'http://127.0.0.1:9'],
      [['grantType', 'grant'], 'client_credentials', { optional: true }],
      [['clientId', 'client_id'], ctx.sim ? ctx.sim.credentials.clientId : 'browser-client-id'],
      [['clientSecret', 'client_secret'], ctx.sim ? ctx.sim.credentials.clientSecret : 'browser-client-secret'],
    ],
    // The secret typed into the dialog must never come back in the exported flow.
    secretProps: ['clientSecret', 'client_secret'],
    testConnection: { button: /test\s*connection/i, ok: /success|succeeded|connected|token (obtained|received|ok)/i, fail: /invalid_client|error|fail/i },
  },
  {
    type: 'concur-legacy-notify-in',
    label: /notify/i,
    fill: () => [
      [['name'], 'browser legacy in'],
      [['path'], `/browser-${RUN}/legacy`],
      [['username'], LEGACY_USER],
      [['password'], LEGACY_PASSWORD],
    ],
    async probe({ red }) {
      const url = `${red.url}/browser-${RUN}/legacy`;
      const noAuth = await request(url, { method: 'POST', headers: { 'Content-Type': 'application/xml' }, body: NOTIFICATION_XML });
      assert.equal(noAuth.status, 401, noAuth.body);
      assert.match(String(noAuth.headers['www-authenticate']), /^Basic /);
      // The credentials typed into the browser reached the runtime.
      const auth = `Basic ${Buffer.from(`${LEGACY_USER}:${LEGACY_PASSWORD}`).toString('base64')}`;
      const ok = await request(url, { method: 'POST', headers: { 'Content-Type': 'application/xml', Authorization: auth }, body: NOTIFICATION_XML });
      assert.equal(ok.status, 200, ok.body);
    },
    // After the probe: one notification accepted (the 401 is counted separately).
    status: /\b1 received/,
  },
  {
    type: 'concur-ess-event-in',
    label: /ess|event/i,
    fill: () => [
      [['name'], 'browser ess in'],
      [['path'], `/browser-${RUN}/ess`],
    ],
    async probe({ red }) {
      const body = JSON.stringify({ id: `browser-${RUN}`, topic: 'public.concur.expense.report', event: 'statusChanged' });
      const r = await request(`${red.url}/browser-${RUN}/ess`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
      assert.equal(r.status, 401, `unsigned delivery must be refused: ${r.status} ${r.body}`);
    },
  },
  { type: 'concur-get-report-details', label: /report/i, fill: () => [[['name'], 'browser report details']] },
  { type: 'concur-post-exceptions', label: /exception/i, fill: () => [[['name'], 'browser exceptions']] },
  { type: 'concur-workflow-action', label: /workflow|approve|action/i, fill: () => [[['name'], 'browser workflow action']] },
  { type: 'concur-notifications', label: /notification/i, fill: () => [[['name'], 'browser notifications']] },
];

/** Why a node type cannot be tested yet (null when its files are all there). */
function missingFiles(type) {
  const js = PKG['node-red'] && PKG['node-red'].nodes && PKG['node-red'].nodes[type];
  if (!js) return `${type} is not declared in package.json "node-red".nodes`;
  const need = [js, js.replace(/\.js$/, '.html')].filter((f) => !fs.existsSync(path.join(REPO, f)));
  return need.length ? `${type} not built yet (missing ${need.join(', ')})` : null;
}

/** Fills a dialog from [candidates, value, opts] specs; returns what it filled. */
async function fillSpecs(page, prefix, specs) {
  const ids = await eb.dialogInputIds(page, prefix);
  const values = {};
  for (const [candidates, value, opts = {}] of specs) {
    const prop = candidates.find((c) => ids.includes(prefix + c));
    if (!prop) {
      if (opts.optional) continue;
      throw new Error(`dialog has none of ${candidates.map((c) => prefix + c).join(' / ')}; it has: ${ids.join(', ')}`);
    }
    values[prefix + prop] = value;
  }
  await eb.fillInputs(page, values);
  return values;
}

/** The property of `type` that references a concur-config node, if any. */
function configProperty(page, type) {
  return page.evaluate((t) => {
    const def = window.RED.nodes.getType(t);
    return Object.keys(def.defaults || {}).find((k) => def.defaults[k].type === 'concur-config') || null;
  }, type);
}

/**
 * Clicks a dialog's "Test connection" button and returns the text the dialog
 * added or changed in response (watched with a MutationObserver, so static
 * labels never count), once it matches the success or the failure pattern.
 */
async function pressTestConnection(page, button, { ok, fail }, timeoutMs = 20000) {
  await page.evaluate(() => {
    const tray = window.$('.red-ui-tray').last()[0];
    window.__concurSeen = [];
    if (window.__concurObserver) window.__concurObserver.disconnect();
    window.__concurObserver = new MutationObserver((records) => {
      for (const r of records) {
        const el = r.type === 'characterData' ? r.target.parentElement : r.target;
        if (el && el.textContent && el.textContent.trim()) window.__concurSeen.push(el.textContent.replace(/\s+/g, ' ').trim());
        for (const n of r.addedNodes || []) if (n.textContent && n.textContent.trim()) window.__concurSeen.push(n.textContent.replace(/\s+/g, ' ').trim());
      }
    });
    window.__concurObserver.observe(tray, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['style', 'class'] });
  });
  await button.click();
  const handle = await page.waitForFunction(
    ({ okRe, failRe }) => {
      const hit = (window.__concurSeen || []).filter((t) => t.length < 2000).reverse().find((t) => new RegExp(okRe, 'i').test(t) || new RegExp(failRe, 'i').test(t));
      return hit || false;
    },
    { okRe: ok.source, failRe: fail.source },
    { timeout: timeoutMs, polling: 100 },
  );
  const text = await handle.jsonValue();
  await page.evaluate(() => window.__concurObserver && window.__concurObserver.disconnect());
  return text;
}

/** Loads the simulator (compiled) as the token endpoint for Test connection, if it is built. */
async function maybeStartSimulator() {
  try {
    const { startSimulator } = require(path.join(REPO, 'simulator'));
    const keyDir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'concur-sim-keys-'));
    const sim = await startSimulator({ port: 0, host: '127.0.0.1', keyDir, deliverEvents: false });
    return { sim, keyDir };
  } catch (err) {
    return { sim: null, reason: `simulator not available (${err.message.split('\n')[0]})` };
  }
}

describe('editor (browser): SAP Concur nodes', function () {
  this.timeout(180000);
  let red;
  let browser;
  let page;
  let sim;
  let simKeyDir;
  let simReason;

  before(async function () {
    const reason = eb.skipReason();
    if (reason) {
      console.log(`      skipped: ${reason}`);
      this.skip();
    }
    ({ sim, keyDir: simKeyDir, reason: simReason } = await maybeStartSimulator());
    red = await startRed();
    browser = await eb.launchEditorBrowser();
    page = browser.page;
    await eb.openEditor(page, red);
  });
  after(async () => {
    if (browser) await browser.close();
    if (red) {
      await red.stop();
      red.cleanup();
    }
    if (sim) await sim.stop().catch(() => {});
    if (simKeyDir) fs.rmSync(simKeyDir, { recursive: true, force: true });
  });
  afterEach(async function () {
    if (this.currentTest.state === 'failed' && page) {
      await eb.screenshot(page, `editor-nodes-FAILED-${this.currentTest.title}`).catch(() => {});
    }
  });

  it('loads our package into the editor without script errors', async function () {
    const ours = NODES.filter((n) => !missingFiles(n.type));
    if (!ours.length) this.skip();
    const registered = await page.evaluate((types) => types.filter((t) => !window.RED.nodes.getType(t)), ours.map((n) => n.type));
    assert.deepEqual(registered, [], 'node types with files but not registered in the editor');
    assert.deepEqual(browser.errors, [], `editor errors: ${browser.errors.join(' | ')}`);
  });

  for (const entry of NODES) {
    describe(entry.type, () => {
      before(function () {
        const why = missingFiles(entry.type);
        if (why) {
          console.log(`      skipped: ${why}`);
          this.skip();
        }
      });

      if (entry.config) {
        it('is a config node: not in the palette, has help text', async () => {
          const def = await page.evaluate((t) => window.RED.nodes.getType(t) && window.RED.nodes.getType(t).category, entry.type);
          assert.equal(def, 'config');
          assert.equal(await eb.paletteEntry(page, entry.type), null);
          const help = await page.evaluate((t) => window.RED.nodes.getNodeHelp(t) || '', entry.type);
          assert.ok(help.replace(/<[^>]+>/g, '').trim().length > 100, `help sidebar text for ${entry.type}`);
        });

        it('its dialog opens from a node that uses it, is filled, tests the connection, and deploys', async function () {
          const hostTypes = [];
          for (const n of NODES) if (!n.config && !missingFiles(n.type) && (await configProperty(page, n.type))) hostTypes.push(n.type);
          if (!hostTypes.length) {
            console.log(`      skipped: no built node references ${entry.type} yet`);
            this.skip();
          }
          const hostType = hostTypes[0];
          await eb.clearWorkspace(page);
          const nodeId = await eb.addNodeFromPalette(page, hostType, { x: 220, y: 140 });
          await eb.openEditDialog(page, nodeId);
          const prop = await configProperty(page, hostType);
          await eb.openAddConfigDialog(page, prop);
          const ctx = { red, sim };
          await fillSpecs(page, 'node-config-input-', entry.fill(ctx));
          await eb.screenshot(page, `editor-${entry.type}-dialog`);

          const button = page.locator('.red-ui-tray button, .red-ui-tray a.red-ui-button').filter({ hasText: entry.testConnection.button });
          if ((await button.count()) === 0) {
            console.log(`      note: no "Test connection" button in the ${entry.type} dialog yet`);
          } else if (!sim) {
            console.log(`      note: Test connection not exercised: ${simReason}`);
          } else {
            const tc = entry.testConnection;
            const ok = await pressTestConnection(page, button.first(), tc);
            assert.match(ok, tc.ok, `Test connection shows success in the dialog (it showed: "${ok}")`);
            await eb.screenshot(page, `editor-${entry.type}-test-connection`);
            // A wrong secret shows the OAuth error instead; then the right one is put back.
            const secretSpec = entry.fill(ctx).find(([c]) => c.some((p) => (entry.secretProps || []).includes(p)));
            const good = await fillSpecs(page, 'node-config-input-', [secretSpec]);
            await eb.fillInputs(page, Object.fromEntries(Object.keys(good).map((id) => [id, 'wrong-secret-for-the-test'])));
            const bad = await pressTestConnection(page, button.first(), tc);
            assert.match(bad, tc.fail, `Test connection shows the OAuth error (it showed: "${bad}")`);
            assert.doesNotMatch(bad, tc.ok);
            await eb.screenshot(page, `editor-${entry.type}-test-connection-error`);
            await eb.fillInputs(page, good);
          }
          await eb.clickDone(page); // config tray
          await eb.clickDone(page); // host node tray
          const configId = (await eb.nodeState(page, nodeId)).props[prop];
          assert.ok(configId, `${hostType}.${prop} references the new ${entry.type}`);
          assert.equal((await eb.nodeState(page, configId)).valid, true, JSON.stringify(await eb.nodeState(page, configId)));
          assert.match(await eb.deploy(page), /Successfully deployed/);
          const flows = await red.getFlows();
          const cfg = flows.find((n) => n.id === configId);
          assert.ok(cfg && cfg.type === entry.type, 'config node deployed');
          const exported = JSON.stringify(flows);
          const secrets = entry.fill(ctx).filter(([c]) => c.some((p) => (entry.secretProps || []).includes(p))).map(([, v]) => v);
          for (const s of secrets) assert.ok(!exported.includes(s), 'the secret typed into the dialog is not in the exported flow');
          await eb.screenshot(page, `editor-${entry.type}-deployed`);
        });
        return;
      }

      it('appears in the palette under "SAP Concur" with its label and icon, and has help text', async () => {
        const p = await eb.paletteEntry(page, entry.type);
        assert.ok(p, `${entry.type} is in the palette`);
        assert.equal(p.category, 'SAP Concur');
        assert.equal(p.containerId, CATEGORY_CONTAINER);
        assert.ok(p.label && p.label !== entry.type, `a readable palette label (got "${p.label}")`);
        if (entry.label) assert.match(p.label, entry.label);
        assert.ok(p.icon && p.icon.endsWith(`/${entry.type}.svg`), `palette icon is icons/${entry.type}.svg (got ${p.icon})`);
        const icon = await eb.fetchFromEditor(page, p.icon);
        assert.equal(icon.status, 200, `icon ${p.icon} is served`);
        assert.match(String(icon.contentType), /svg/);
        const help = await page.evaluate((t) => window.RED.nodes.getNodeHelp(t) || '', entry.type);
        assert.ok(help.replace(/<[^>]+>/g, '').trim().length > 100, `help sidebar text for ${entry.type}`);
      });

      it('is added from the palette, its dialog is filled, and it deploys cleanly', async () => {
        await eb.clearWorkspace(page);
        const nodeId = await eb.addNodeFromPalette(page, entry.type, { x: 220, y: 140 });
        await eb.openEditDialog(page, nodeId);
        const ctx = { red, sim };
        const prop = await configProperty(page, entry.type);
        if (prop) {
          // A new connection through the "+" next to the config select, as an admin would.
          const cfg = NODES.find((n) => n.config);
          await eb.openAddConfigDialog(page, prop);
          await fillSpecs(page, 'node-config-input-', cfg.fill(ctx));
          await eb.clickDone(page);
        }
        const filled = await fillSpecs(page, 'node-input-', entry.fill(ctx));
        await eb.screenshot(page, `editor-${entry.type}-dialog`);
        await eb.clickDone(page);
        const state = await eb.nodeState(page, nodeId);
        assert.equal(state.valid, true, `node valid after filling: ${JSON.stringify(state)}`);
        assert.match(await eb.deploy(page), /Successfully deployed/);
        const deployed = (await red.getFlows()).find((n) => n.id === nodeId);
        assert.ok(deployed, 'node is in the deployed flow');
        for (const [id, v] of Object.entries(filled)) {
          const key = id.slice('node-input-'.length);
          if (key in deployed && typeof v !== 'object') assert.equal(String(deployed[key]), String(v), `${key} deployed as typed`);
        }
        if (entry.probe) await entry.probe({ red, page, nodeId });
        // Every node of ours shows a status badge once running (listening / ready / token state).
        if (entry.probe) {
          const status = await eb.waitForStatus(page, nodeId, entry.status || /\S/);
          console.log(`      status badge in the browser: "${status}"`);
        }
        await eb.screenshot(page, `editor-${entry.type}-deployed`);
      });
    });
  }
});
