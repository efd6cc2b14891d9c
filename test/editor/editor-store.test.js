'use strict';
/**
 * The concur-store dialog in a real browser (Debian Chromium) against a real
 * Node-RED and a real PostgreSQL: added through the "+" next to the ESS
 * receiver's Store select, fields shown for the chosen way of connecting and
 * TLS mode, validation messages, "Test connection" (success with the server
 * version, the database's error for a wrong password, no password echoed),
 * deploy (the tables are created, the password is not in the exported flow).
 */
const assert = require('node:assert/strict');
const { Client } = require('pg');
const { startRed } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');
const { startPostgres } = require('../helpers/postgres');
const eb = require('../helpers/editor-browser');

const P = 'node-config-input-';

async function shown(page, id) {
  return page.evaluate((i) => window.$(document.getElementById(i)).is(':visible'), id);
}

/** Clicks "Test connection" and returns the result line once it says Connected or Failed. */
async function testConnection(page) {
  await page.evaluate(() => window.$('#node-config-store-test-result').text(''));
  await page.locator('#node-config-store-test').click();
  const h = await page.waitForFunction(
    () => {
      const t = window.$('#node-config-store-test-result').text();
      return /^(Connected|Failed)/.test(t) ? t : false;
    },
    null,
    { timeout: 20000, polling: 100 },
  );
  return h.jsonValue();
}

describe('editor (browser): concur-store dialog', function () {
  this.timeout(180000);
  let red;
  let pg;
  let browser;
  let page;

  before(async function () {
    const reason = eb.skipReason();
    if (reason) {
      console.log(`      skipped: ${reason}`);
      this.skip();
    }
    [pg, red] = await Promise.all([startPostgres(), startRed()]);
    browser = await eb.launchEditorBrowser();
    page = browser.page;
    await eb.openEditor(page, red);
  });
  after(async () => {
    if (browser) await browser.close();
    await teardown({ red });
    if (pg) await pg.destroy();
  });

  it("is added as the ESS receiver's Store, validates, tests the connection and deploys the schema without exporting the password", async () => {
    await eb.clearWorkspace(page);
    const essId = await eb.addNodeFromPalette(page, 'concur-ess-event-in', { x: 250, y: 140 });
    await eb.openEditDialog(page, essId);
    await eb.openAddConfigDialog(page, 'store');
    const tray = await page.evaluate(() => window.$('.red-ui-tray').last().text().replace(/\s+/g, ' '));
    assert.match(tray, /Connect with/);
    assert.doesNotMatch(tray, /concur-store\.(label|placeholder)\./, 'labels are translated');

    // host/port/… or a connection string; the CA only when the certificate is verified
    assert.equal(await shown(page, `${P}host`), true);
    assert.equal(await shown(page, `${P}connectionString`), false);
    await eb.fillInputs(page, { [`${P}connection`]: 'url' });
    assert.equal(await shown(page, `${P}host`), false);
    assert.equal(await shown(page, `${P}connectionString`), true);
    await eb.fillInputs(page, { [`${P}connection`]: 'fields' });
    assert.equal(await shown(page, `${P}ca`), false);
    await eb.fillInputs(page, { [`${P}tls`]: 'verify', [`${P}ca`]: 'not a certificate' });
    assert.equal(await shown(page, `${P}ca`), true);
    await page.waitForFunction((i) => window.$(document.getElementById(i)).hasClass('input-error'), `${P}ca`, { timeout: 5000 });
    await eb.fillInputs(page, { [`${P}ca`]: '', [`${P}tls`]: 'off' });
    await eb.fillInputs(page, { [`${P}tablePrefix`]: 'bad-prefix' });
    await page.waitForFunction((i) => window.$(document.getElementById(i)).hasClass('input-error'), `${P}tablePrefix`, { timeout: 5000 });
    await eb.fillInputs(page, { [`${P}poolSize`]: '0' });
    await page.waitForFunction((i) => window.$(document.getElementById(i)).hasClass('input-error'), `${P}poolSize`, { timeout: 5000 });

    await eb.fillInputs(page, {
      [`${P}name`]: 'shared db',
      [`${P}host`]: pg.host,
      [`${P}port`]: String(pg.port),
      [`${P}database`]: pg.database,
      [`${P}user`]: pg.user,
      [`${P}password`]: 'Wrong-Password-For-The-Test',
      [`${P}poolSize`]: '5',
      [`${P}tablePrefix`]: 'browser_',
    });
    assert.deepEqual(await eb.invalidInputs(page), []);
    const bad = await testConnection(page);
    assert.match(bad, /^Failed: .*password authentication failed/);
    assert.ok(!bad.includes('Wrong-Password-For-The-Test'));
    await eb.fillInputs(page, { [`${P}password`]: pg.password });
    const ok = await testConnection(page);
    assert.match(ok, /^Connected: PostgreSQL \d+/);
    assert.match(ok, new RegExp(`127\\.0\\.0\\.1:${pg.port}/${pg.database}`));
    assert.match(ok, /created on deploy/, 'no schema yet');
    assert.ok(!ok.includes(pg.password));
    await eb.screenshot(page, 'editor-concur-store-test-connection');
    await eb.clickDone(page); // config tray
    // the ESS receiver needs a key to be valid with signature checking on: the defaults have the published keys
    await eb.clickDone(page);
    const storeId = (await eb.nodeState(page, essId)).props.store;
    assert.ok(storeId, 'the receiver references the new store');
    assert.equal(await page.evaluate((id) => window.RED.utils.getNodeLabel(window.RED.nodes.node(id)), storeId), 'shared db');
    assert.match(await eb.deploy(page), /Successfully deployed/);
    const flows = await red.getFlows();
    assert.ok(flows.some((n) => n.id === storeId && n.type === 'concur-store'));
    assert.ok(!JSON.stringify(flows).includes(pg.password), 'the password is not in the exported flow');
    // deploying created the tables
    const c = new Client({ connectionString: pg.connectionString });
    await c.connect();
    try {
      let version;
      for (let i = 0; i < 50 && !version; i++) {
        version = await c.query(`SELECT version FROM browser_schema_version`).then(
          (r) => r.rows[0] && r.rows[0].version,
          () => undefined,
        );
        if (!version) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(version, 1);
    } finally {
      await c.end();
    }
  });
});
