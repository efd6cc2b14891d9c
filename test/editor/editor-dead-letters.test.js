'use strict';
/**
 * The ESS receiver dialog's "Dead letters" panel (src/editor/concur-dead-letters.js)
 * in a real browser (Debian Chromium via playwright-core) against a real
 * Node-RED: it lists the dead letters (id, reason, deliveries), Replay on a row
 * re-emits the event through the flow (seen at the collector with
 * deliveryCount 2 and concur.replayed), Discard removes one, Replay all,
 * Discard all asks first (Cancel keeps them), and a node not deployed yet says
 * so; plus, without a browser, the catalogue keys the panel uses in en-US and de.
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startRed, request, REPO } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');
const { startCollector } = require('../helpers/collector');
const eb = require('../helpers/editor-browser');
const { essNode, forwarder, EVENT_FIELDS } = require('../helpers/ess-flows');
const { testKeyPair, essEvent, signedDelivery } = require('../helpers/ess-signer');

const TAB = 'tab-dl';
const key = testKeyPair('dead-letter-panel');

describe('ESS dialog: dead letters panel', function () {
  this.timeout(180000);

  it('the panel script only uses keys the ESS catalogue defines, in en-US and de', () => {
    const js = fs.readFileSync(path.join(REPO, 'src', 'editor', 'concur-dead-letters.js'), 'utf8');
    // every 'deadLetters.<key>' literal (passed to t() directly or through button()), plus the column keys built in a loop
    const used = new Set([...js.matchAll(/'(deadLetters\.[A-Za-z]+)'/g)].map((m) => m[1]));
    for (const k of ['colId', 'colReason', 'colFailedAt', 'colDeliveries', 'colActions']) used.add(`deadLetters.${k}`);
    assert.ok(used.size > 20, [...used].join(', '));
    for (const lang of ['en-US', 'de']) {
      const cat = JSON.parse(fs.readFileSync(path.join(REPO, 'src', 'nodes', 'concur-ess-event-in', 'locales', lang, 'concur-ess-event-in.json'), 'utf8'))[
        'concur-ess-event-in'
      ];
      for (const k of used) {
        const v = k.split('.').reduce((o, p) => (o == null ? undefined : o[p]), cat);
        assert.equal(typeof v, 'string', `${lang}: missing ${k}`);
      }
      assert.equal(typeof cat.section.deadLetters, 'string', `${lang}: section.deadLetters`);
    }
  });

  describe('in the browser', () => {
    let red;
    let collector;
    let browser;
    before(async function () {
      const why = eb.skipReason();
      if (why) return this.skip();
      collector = await startCollector();
      red = await startRed();
      await red.deploy([
        { id: TAB, type: 'tab', label: 'dead letters' },
        essNode({ id: 'essD', z: TAB, path: '/concur/ess-dl', storeName: 'dl-panel', extraKeys: key.publicPem, wires: [['gate']] }),
        {
          id: 'gate',
          type: 'function',
          z: TAB,
          func: 'if (msg.concur.deliveryCount < 2) throw new Error("first delivery fails on purpose");\nreturn msg;',
          outputs: 1,
          wires: [['ev-fn']],
          x: 300,
          y: 100,
        },
        ...forwarder({ id: 'ev', z: TAB, url: collector.url, pathName: '/event', fields: EVENT_FIELDS }),
      ]);
      browser = await eb.launchEditorBrowser();
      await eb.openEditor(browser.page, red);
    });
    after(async () => {
      if (browser) await browser.close();
      await teardown({ red, collector });
    });

    const events = () => collector.received.filter((m) => m.path === '/event').map((m) => m.body);
    const deadIds = async () => JSON.parse((await request(`${red.url}/concur-ess-event-in/essD/dead-letters`)).body).map((d) => d.id);
    /** Posts `n` events that fail on their first delivery; resolves their ids once all are dead letters. */
    async function failing(n) {
      const ids = [];
      for (let i = 0; i < n; i++) {
        const ev = essEvent();
        const d = signedDelivery(ev, { privateKey: key.privateKey });
        const r = await request(`${red.url}/concur/ess-dl`, { method: 'POST', headers: d.headers, body: d.body });
        assert.equal(r.status, 200, r.body);
        ids.push(ev.id);
      }
      const until = Date.now() + 10000;
      for (;;) {
        const dead = await deadIds();
        if (ids.every((id) => dead.includes(id))) break;
        if (Date.now() > until) assert.fail('events did not become dead letters');
        await new Promise((r) => setTimeout(r, 50));
      }
      return ids;
    }
    const rows = () => browser.page.locator('#concur-ess-dead-letters .concur-dl-row');
    const rowIds = () => rows().evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
    async function waitRows(n) {
      await browser.page.waitForFunction((k) => window.$('#concur-ess-dead-letters .concur-dl-row').length === k, n, { timeout: 15000 });
    }
    const msg = () => txt(browser.page.locator('#concur-ess-dead-letters .concur-dl-msg'));
    /** @param {import('playwright-core').Locator} loc */
    const txt = async (loc) => (await loc.textContent()) ?? '';

    it('lists dead letters; Replay re-emits one (deliveryCount 2, replayed), Discard drops one, Replay all, Discard all after confirmation', async () => {
      const { page } = browser;
      const [a, b, c] = await failing(3);
      await eb.openEditDialog(page, 'essD');
      await waitRows(3);
      assert.deepEqual((await rowIds()).sort(), [a, b, c].sort());
      const rowA = page.locator(`#concur-ess-dead-letters .concur-dl-row[data-id="${a}"]`);
      assert.match(await txt(rowA.locator('.concur-dl-reason')), /first delivery fails on purpose/);
      assert.equal(await txt(rowA.locator('.concur-dl-count')), '1');
      assert.notEqual(await txt(rowA.locator('.concur-dl-failed')), '');
      assert.match(await msg(), /3 dead letter/);
      await page.locator('#concur-ess-dead-letters').scrollIntoViewIfNeeded();
      await eb.screenshot(page, 'ess-dead-letters-panel');

      // Replay one
      await rowA.locator('.concur-dl-replay').click();
      await waitRows(2);
      assert.match(await msg(), new RegExp(`Replayed ${a} \\(delivery 2\\)`));
      const [m] = await collector.waitFor(1, 10000, '/event');
      assert.equal(m.body.concur.id, a);
      assert.equal(m.body.concur.deliveryCount, 2);
      assert.equal(m.body.concur.replayed, true);

      // Discard one
      await page.locator(`#concur-ess-dead-letters .concur-dl-row[data-id="${b}"] .concur-dl-discard`).click();
      await waitRows(1);
      assert.deepEqual(await rowIds(), [c]);
      assert.match(await msg(), new RegExp(`Discarded ${b}`));
      assert.deepEqual(await deadIds(), [c]);

      // Replay all
      const [d] = await failing(1);
      await page.click('#concur-ess-dead-letters .concur-dl-refresh');
      await waitRows(2);
      await page.click('#concur-ess-dead-letters .concur-dl-replay-all');
      await waitRows(0);
      assert.match(await msg(), /Replayed 2 dead letter/);
      await collector.waitFor(3, 10000, '/event');
      assert.deepEqual(
        events()
          .slice(1)
          .map((e) => [e.concur.id, e.concur.replayed])
          .sort(),
        [
          [c, true],
          [d, true],
        ].sort(),
      );
      assert.match(await msg(), /Replayed 2/);

      // Discard all: asks first; Cancel keeps them
      await failing(2);
      await page.click('#concur-ess-dead-letters .concur-dl-refresh');
      await waitRows(2);
      await page.click('#concur-ess-dead-letters .concur-dl-discard-all');
      const confirm = page.locator('#concur-ess-dead-letters .concur-dl-confirm');
      await confirm.waitFor({ state: 'visible' });
      assert.match(await txt(confirm), /Discard all 2 dead letter/);
      await confirm.locator('.concur-dl-confirm-no').click();
      await confirm.waitFor({ state: 'hidden' });
      assert.equal((await deadIds()).length, 2, 'cancel discards nothing');
      await page.click('#concur-ess-dead-letters .concur-dl-discard-all');
      await confirm.locator('.concur-dl-confirm-yes').click();
      await waitRows(0);
      assert.match(await msg(), /Discarded 2 dead letter/);
      assert.deepEqual(await deadIds(), []);
      assert.equal(events().length, 3, 'discarded events are not emitted');
      await page.click('#node-dialog-cancel');
      assert.deepEqual(browser.errors, []);
    });

    it('a node not deployed yet: the panel says so, without browser errors', async () => {
      const { page } = browser;
      await page.evaluate(() => {
        const z = window.RED.workspaces.active();
        window.RED.nodes.import([{ id: 'essNotYet', type: 'concur-ess-event-in', z, name: 'new', path: '/concur/ess-new', x: 300, y: 400, wires: [[]] }], {
          generateIds: false,
        });
        window.RED.view.redraw(true);
      });
      await eb.openEditDialog(page, 'essNotYet');
      await page.waitForFunction(() => /Deploy this node/.test(window.$('#concur-ess-dead-letters .concur-dl-msg').text()), null, { timeout: 15000 });
      assert.equal(await page.locator('#concur-ess-dead-letters .concur-dl-replay-all').isDisabled(), true);
      await page.click('#node-dialog-cancel');
      assert.deepEqual(browser.errors, []);
    });
  });
});
