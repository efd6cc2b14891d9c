'use strict';
/**
 * The first contact with the nodes in a real editor (Debian Chromium via
 * playwright-core, a real Node-RED): what a new user meets between installing
 * the package and a first deploy.
 * - an API node whose connection lacks a credential shows "connection not
 *   configured" at deploy;
 * - importing a second example does not ask about existing nodes;
 * - a hand-written flow that leaves out numeric options opens with the defaults
 *   filled in and deploys without a warning;
 * - dialog layout: Test connection result in view, dropdowns wide enough for
 *   their options, German palette labels not broken at a hyphen, Name first in
 *   every dialog; a duplicate receiver path is flagged before deploy; a newly
 *   dropped API node picks the only connection.
 * Layout is checked with bounding boxes in the browser (a screenshot of each
 * goes to test/artifacts/ for people).
 */
const assert = require('node:assert/strict');
const path = require('node:path');
const { startRed, freePort, REPO, PACKAGE_NAME } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');
const eb = require('../helpers/editor-browser');
const { NUMBER_OPTIONS } = require('../../dist/nodes/shared/options');

const PKG = require(path.join(REPO, 'package.json'));
const TYPES = Object.keys(PKG['node-red'].nodes);
// Config nodes (the connection and the PostgreSQL store) are not in the palette.
const FLOW_TYPES = TYPES.filter((t) => t !== 'concur-config' && t !== 'concur-store');
const API_TYPES = ['concur-get-report-details', 'concur-post-exceptions', 'concur-workflow-action', 'concur-notifications'];
/** The API nodes added later; same connection handling as API_TYPES. */
const NEWER_API_TYPES = [
  'concur-api-request',
  'concur-reports-to-approve',
  'concur-user-lookup',
  'concur-report-comments',
  'concur-receipt-images',
  'concur-travel-request',
  'concur-ess-subscriptions',
];
const Z = 'fc-tab';

describe('editor (browser): first contact, from import to deploy', function () {
  this.timeout(180000);
  let red;
  let browser;
  let page;
  let deadPort;

  before(async function () {
    const reason = eb.skipReason();
    if (reason) {
      console.log(`      skipped: ${reason}`);
      this.skip();
    }
    deadPort = await freePort();
    red = await startRed();
    browser = await eb.launchEditorBrowser();
    page = browser.page;
  });
  after(async () => {
    if (browser) await browser.close();
    await teardown({ red });
  });
  afterEach(async function () {
    if (this.currentTest.state === 'failed' && page) {
      await eb.screenshot(page, `editor-first-contact-FAILED-${this.currentTest.title}`).catch(() => {});
    }
  });

  /** Deploys `flows` through the admin API and reloads the editor. */
  async function deployAndOpen(flows) {
    await red.deploy(flows);
    await eb.openEditor(page, red);
  }

  async function closeDialogs() {
    for (const id of ['#node-config-dialog-cancel', '#node-dialog-cancel']) {
      const b = page.locator(id);
      if (await b.isVisible().catch(() => false)) {
        await b.click();
        await b.waitFor({ state: 'detached' }).catch(() => {});
      }
    }
  }

  it('an API node whose connection lacks a credential shows a yellow "connection not configured" at deploy', async () => {
    await deployAndOpen([
      { id: Z, type: 'tab', label: 'first contact' },
      // refresh_token grant without a refresh token: the runtime cannot get a token.
      {
        id: 'fc-cfg',
        type: 'concur-config',
        name: 'half done',
        geolocation: 'custom',
        baseUrl: `http://127.0.0.1:${deadPort}`,
        grantType: 'refresh_token',
        credentials: { clientId: 'id', clientSecret: 'secret' },
      },
      ...API_TYPES.map((type, i) => ({ id: `fc-${type}`, type, z: Z, server: 'fc-cfg', x: 200, y: 60 + i * 60, wires: [[]] })),
    ]);
    for (const type of API_TYPES) {
      await eb.waitForStatus(page, `fc-${type}`, /^connection not configured$/);
      const shape = await page.evaluate((id) => {
        const s = document.querySelector(`g.red-ui-flow-node-group[id="${id}"] .red-ui-flow-node-status`);
        return s ? s.getAttribute('class') : '';
      }, `fc-${type}`);
      assert.match(shape, /ring-yellow/, `${type}: yellow ring (${shape})`);
    }
    await eb.screenshot(page, 'editor-connection-not-configured');
  });

  it('importing a second example (Import > Examples) adds it without asking about existing nodes', async () => {
    await deployAndOpen([{ id: Z, type: 'tab', label: 'first contact' }]);
    const files = require('node:fs')
      .readdirSync(path.join(REPO, 'examples'))
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.replace(/\.json$/, ''));
    const withConnection = files.filter((f) => require(path.join(REPO, 'examples', `${f}.json`)).some((n) => n.type === 'concur-config'));
    assert.ok(withConnection.length >= 2, 'at least two examples bring a connection');
    for (const name of withConnection.slice(0, 3)) {
      const before = await page.evaluate(() =>
        window
          .$('.red-ui-notification')
          .map((i, e) => e.id)
          .get(),
      );
      await page.evaluate(() => window.RED.actions.invoke('core:show-examples-import-dialog'));
      const dialog = page.locator('.ui-dialog:visible');
      await dialog.waitFor({ state: 'visible' });
      // Open this package's folder in the examples tree, then the example.
      const folder = dialog.locator('.red-ui-treeList-label', { hasText: PACKAGE_NAME }).first();
      await folder.waitFor({ state: 'visible' });
      if (
        !(await dialog
          .locator('.red-ui-treeList-label', { hasText: name })
          .first()
          .isVisible()
          .catch(() => false))
      )
        await folder.click();
      await dialog.locator('.red-ui-treeList-label', { hasText: name }).first().click();
      await page.locator('#red-ui-clipboard-dialog-ok').click();
      await page.locator('#red-ui-clipboard-dialog-ok').waitFor({ state: 'hidden' });
      // Importing attaches the nodes to the mouse: drop them.
      await page.mouse.move(700, 500);
      await page.mouse.click(700, 500);
      await page.waitForTimeout(300);
      const texts = await page.evaluate(
        (old) =>
          window
            .$('.red-ui-notification')
            .filter((i, e) => !old.includes(e.id))
            .map((i, e) => window.$(e).text().trim())
            .get(),
        before,
      );
      assert.ok(!texts.some((t) => /already exist/i.test(t)), `importing ${name}: ${texts.join(' | ')}`);
      const tab = require(path.join(REPO, 'examples', `${name}.json`)).find((n) => n.type === 'tab');
      // With addFlow the example's tab is added; otherwise its nodes land on the current tab.
      const present = await page.evaluate(
        (ids) => ids.filter((id) => window.RED.nodes.node(id) || window.RED.nodes.workspace(id)).length,
        require(path.join(REPO, 'examples', `${name}.json`))
          .filter((n) => n.type !== 'tab')
          .map((n) => n.id),
      );
      assert.ok(present > 0, `${name} (${tab.label}) was imported`);
    }
    const connections = await page.evaluate(() => {
      const out = [];
      window.RED.nodes.eachConfig((c) => {
        if (c.type === 'concur-config') out.push(c.id);
      });
      return out;
    });
    assert.equal(connections.length, 3, `each example brought its own connection: ${connections.join(', ')}`);
    await eb.screenshot(page, 'editor-examples-imported');
  });

  it('a hand-written flow without numeric options opens with the defaults filled in and deploys without a warning', async () => {
    await deployAndOpen([
      { id: Z, type: 'tab', label: 'hand written' },
      // Only what a person typing a flow would give.
      { id: 'hw-cfg', type: 'concur-config', geolocation: 'us2', grantType: 'client_credentials', credentials: { clientId: 'id', clientSecret: 'secret' } },
      { id: 'hw-ess', type: 'concur-ess-event-in', z: Z, path: '/hw/ess', x: 200, y: 60, wires: [[]] },
      {
        id: 'hw-legacy',
        type: 'concur-legacy-notify-in',
        z: Z,
        path: '/hw/notify',
        ackMode: 'receipt',
        x: 200,
        y: 140,
        wires: [[]],
        credentials: { username: 'hand-written-user', password: 'hand-written-password' },
      },
      { id: 'hw-get', type: 'concur-get-report-details', z: Z, server: 'hw-cfg', version: 'v4', x: 200, y: 220, wires: [[]] },
      // The newer API nodes: counts from the same option table, choices from their defaults.
      { id: 'hw-api', type: 'concur-api-request', z: Z, server: 'hw-cfg', path: '/api/v3.0/common/users', pathType: 'str', x: 200, y: 300, wires: [[]] },
      { id: 'hw-user', type: 'concur-user-lookup', z: Z, server: 'hw-cfg', x: 200, y: 380, wires: [[]] },
      { id: 'hw-rcpt', type: 'concur-receipt-images', z: Z, server: 'hw-cfg', x: 200, y: 460, wires: [[]] },
      { id: 'hw-tr', type: 'concur-travel-request', z: Z, server: 'hw-cfg', x: 200, y: 540, wires: [[]] },
    ]);
    // The runtime's defaults, from the option table it reads (src/nodes/shared/options.ts).
    /** @type {(type: keyof typeof NUMBER_OPTIONS, names: string[]) => Record<string, number>} */
    const defaults = (type, names) => Object.fromEntries(names.map((k) => [k, /** @type {any} */ (NUMBER_OPTIONS[type])[k].default]));
    const expected = {
      'hw-ess': defaults('concur-ess-event-in', ['maxBodyKiB', 'dedupeHours', 'deadLetterMax', 'completionTimeout', 'maxPending']),
      'hw-legacy': defaults('concur-legacy-notify-in', ['ackTimeout', 'maxBodyKiB']),
      'hw-api': defaults('concur-api-request', ['maxPages']),
      'hw-user': defaults('concur-user-lookup', ['cacheSeconds']),
      'hw-rcpt': defaults('concur-receipt-images', ['maxImages']),
    };
    assert.deepEqual(expected['hw-api'], { maxPages: 10 }, 'the default it always had');
    for (const id of ['hw-ess', 'hw-legacy', 'hw-get', 'hw-cfg', 'hw-api', 'hw-user', 'hw-rcpt', 'hw-tr']) {
      const st = await eb.nodeState(page, id);
      assert.equal(st.valid, true, `${id} is valid after loading: ${JSON.stringify(st.validationErrors)}`);
    }
    // Selects and check boxes left out show what the runtime does without them.
    const expectedChoices = {
      'hw-ess': {
        verifySignature: true,
        keyConcur202609: true,
        keyConcur202510: true,
        keyConcur202311: false,
        keyConcur2019: false,
        signaturePadding: 'any',
        signatureFailureStatus: '401',
        clientCertMode: 'off',
        durability: 'fsync',
        rejectOutput: false,
      },
      'hw-legacy': { testConnection: true },
      // TypedInputs left out read the msg property the runtime reads without them.
      'hw-get': { context: 'TRAVELER', href: 'payload.facts.href', hrefType: 'msg', reportIdType: 'msg' },
      'hw-api': { method: 'GET', paging: 'none', bodyFormat: 'auto', output: 'parsed' },
      'hw-user': { by: 'id', setUserId: true, user: 'userId', userType: 'msg' },
      'hw-rcpt': { api: 'spenddocs', context: 'TRAVELER', representation: 'display', output: 'each' },
      'hw-tr': { operation: 'get' },
    };
    const read = (ks) =>
      page.evaluate(
        (keys) =>
          Object.fromEntries(
            keys.map((k) => {
              const el = window.$(`#node-input-${k}`);
              return [k, el.is(':checkbox') ? el.is(':checked') : el.val()];
            }),
          ),
        ks,
      );
    for (const id of ['hw-ess', 'hw-legacy', 'hw-get', 'hw-api', 'hw-user', 'hw-rcpt', 'hw-tr']) {
      const fields = expected[id] || {};
      await eb.openEditDialog(page, id);
      const values = await read(Object.keys(fields));
      assert.deepEqual(values, Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, String(v)])), `${id} shows the defaults`);
      assert.deepEqual(await read(Object.keys(expectedChoices[id])), expectedChoices[id], `${id} shows the default choices`);
      assert.deepEqual(await eb.invalidInputs(page), [], `${id}: no field marked invalid`);
      await eb.clickDone(page);
      // Done stores the runtime's defaults, so the flow means what it meant before.
      const props = (await eb.nodeState(page, id)).props;
      for (const [k, v] of Object.entries({ ...fields, ...expectedChoices[id] })) assert.equal(String(props[k]), String(v), `${id}.${k} after Done`);
    }
    // The connection's timeouts too (config dialog opened from the API node).
    await eb.openEditDialog(page, 'hw-get');
    await page.locator('#node-input-btn-server-edit').click();
    await page.locator('#node-config-dialog-ok').waitFor({ state: 'visible' });
    await page.waitForTimeout(300);
    const cfgValues = await page.evaluate(() =>
      ['timeout', 'retries', 'retryDelay', 'retryMaxDelay', 'expirySkew'].map((k) => window.$(`#node-config-input-${k}`).val()),
    );
    assert.deepEqual(cfgValues, ['60', '3', '1000', '30000', '120']);
    const cfgChoices = await page.evaluate(() => ({
      tokenEndpoint: window.$('#node-config-input-tokenEndpoint').val(),
      credtype: window.$('#node-config-input-credtype').val(),
      followGeolocation: window.$('#node-config-input-followGeolocation').is(':checked'),
    }));
    assert.deepEqual(cfgChoices, { tokenEndpoint: 'api', credtype: 'authtoken', followGeolocation: true });
    assert.deepEqual(await eb.invalidInputs(page), []);
    await eb.clickDone(page);
    await eb.clickDone(page);
    const text = await eb.deploy(page); // throws if the editor asks to confirm invalid nodes
    assert.match(text, /Successfully deployed/);
  });

  it('the Test connection result is in view without scrolling', async () => {
    await deployAndOpen([
      { id: Z, type: 'tab', label: 'test connection' },
      // The longest form: custom base URL, custom token URL and the company request token grant (two more fields).
      {
        id: 'tc-cfg',
        type: 'concur-config',
        name: 'nowhere',
        geolocation: 'custom',
        baseUrl: `http://127.0.0.1:${deadPort}`,
        tokenEndpoint: 'custom',
        tokenUrl: `http://127.0.0.1:${deadPort}`,
        grantType: 'password',
        credtype: 'authtoken',
        credentials: { clientId: 'id', clientSecret: 'secret', username: 'company-uuid', password: 'request-token' },
      },
      { id: 'tc-get', type: 'concur-get-report-details', z: Z, server: 'tc-cfg', x: 200, y: 60, wires: [[]] },
    ]);
    await eb.openEditDialog(page, 'tc-get');
    await page.locator('#node-input-btn-server-edit').click();
    await page.locator('#node-config-test-connection').waitFor({ state: 'visible' });
    await page.waitForTimeout(300);
    const body = page.locator('.red-ui-tray').last().locator('.red-ui-tray-body');
    const scrollTop = () => body.evaluate((b) => b.scrollTop);
    assert.equal(await scrollTop(), 0);
    const button = await page.locator('#node-config-test-connection').boundingBox();
    await page.locator('#node-config-test-connection').click();
    await page.waitForFunction(() => /fail|ok|erfolg|fehl/i.test(window.$('#node-config-test-result').attr('class') || ''), null, { timeout: 20000 });
    const result = await page.locator('#node-config-test-result').boundingBox();
    const visible = await body.boundingBox();
    const viewport = page.viewportSize();
    assert.ok(result && result.height > 0, 'the result has text');
    assert.ok(
      result.y >= visible.y && result.y + result.height <= Math.min(visible.y + visible.height, viewport.height),
      `result ${JSON.stringify(result)} within the tray's visible area ${JSON.stringify(visible)} (button at ${JSON.stringify(button)})`,
    );
    assert.equal(await scrollTop(), 0, 'nothing had to scroll');
    await eb.screenshot(page, 'editor-test-connection-result');
    await closeDialogs();
  });

  /** Widest option text of each visible <select> in the open tray vs the room the select gives it. */
  async function selectFits() {
    return page.evaluate(() => {
      const out = [];
      const canvas = document.createElement('canvas');
      const ctx = canvas.getContext('2d');
      for (const sel of window.$('.red-ui-tray').last().find('select:visible').get()) {
        const cs = getComputedStyle(sel);
        ctx.font = `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
        const widest = Math.max(...[...sel.options].map((o) => ctx.measureText(o.text).width));
        // Room for text: the box less padding, border and the dropdown arrow (about 20 px).
        const room =
          sel.getBoundingClientRect().width -
          parseFloat(cs.paddingLeft) -
          parseFloat(cs.paddingRight) -
          parseFloat(cs.borderLeftWidth) -
          parseFloat(cs.borderRightWidth) -
          20;
        out.push({
          id: sel.id,
          widest: Math.ceil(widest),
          room: Math.floor(room),
          longest: [...sel.options].map((o) => o.text).sort((a, b) => b.length - a.length)[0],
        });
      }
      return out;
    });
  }

  /** The first form row of the open tray holds the Name field. */
  async function nameFirst() {
    return page.evaluate(() => {
      const row = window.$('.red-ui-tray').last().find('.red-ui-tray-body .form-row').first();
      return row.find('#node-input-name, #node-config-input-name').length === 1;
    });
  }

  for (const lang of ['en-US', 'de']) {
    it(`${lang}: every dialog has Name first and dropdowns wide enough for their longest option`, async () => {
      if (!page.url().startsWith(red.url)) await eb.openEditor(page, red); // localStorage belongs to the editor's origin
      await page.evaluate((l) => (l === 'en-US' ? localStorage.removeItem('editor-language') : localStorage.setItem('editor-language', l)), lang);
      try {
        await deployAndOpen([
          { id: Z, type: 'tab', label: 'layout' },
          {
            id: 'ly-cfg',
            type: 'concur-config',
            name: 'layout',
            geolocation: 'us2',
            grantType: 'password',
            credentials: { clientId: 'id', clientSecret: 'secret', username: 'company', password: 'request-token' },
          },
          ...FLOW_TYPES.map((type, i) => ({
            id: `ly-${type}`,
            type,
            z: Z,
            x: 200,
            y: 60 + i * 60,
            wires: [[]],
            ...(API_TYPES.includes(type) || NEWER_API_TYPES.includes(type) ? { server: 'ly-cfg' } : { path: `/layout/${i}` }),
          })),
        ]);
        const problems = [];
        for (const type of FLOW_TYPES) {
          await eb.openEditDialog(page, `ly-${type}`);
          if (!(await nameFirst())) problems.push(`${type}: Name is not the first row`);
          // Every variant of the dialog: walk the selects that show or hide rows (API version, action, operation).
          for (const sel of ['version', 'action', 'operation']) {
            const opts = await page.evaluate(
              (s) =>
                window
                  .$(`#node-input-${s}:visible option`)
                  .map((i, o) => o.value)
                  .get(),
              sel,
            );
            for (const v of opts) {
              await eb.fillInputs(page, { [`node-input-${sel}`]: v });
              for (const f of await selectFits()) if (f.widest > f.room) problems.push(`${type} ${f.id}: "${f.longest}" needs ${f.widest}px, has ${f.room}px`);
            }
          }
          for (const f of await selectFits()) if (f.widest > f.room) problems.push(`${type} ${f.id}: "${f.longest}" needs ${f.widest}px, has ${f.room}px`);
          if (API_TYPES.includes(type) && type === API_TYPES[0]) {
            await page.locator('#node-input-btn-server-edit').click();
            await page.locator('#node-config-dialog-ok').waitFor({ state: 'visible' });
            await page.waitForTimeout(300);
            if (!(await nameFirst())) problems.push('concur-config: Name is not the first row');
            for (const f of await selectFits())
              if (f.widest > f.room) problems.push(`concur-config ${f.id}: "${f.longest}" needs ${f.widest}px, has ${f.room}px`);
            await eb.screenshot(page, `editor-${lang}-concur-config-layout`);
            await page.locator('#node-config-dialog-cancel').click();
            await page.locator('#node-config-dialog-cancel').waitFor({ state: 'detached' });
          }
          await eb.screenshot(page, `editor-${lang}-${type}-layout`);
          await page.locator('#node-dialog-cancel').click();
          await page.locator('#node-dialog-cancel').waitFor({ state: 'detached' });
        }
        assert.deepEqual(problems, []);
      } finally {
        await closeDialogs().catch(() => {});
        await page.evaluate(() => localStorage.removeItem('editor-language')).catch(() => {});
      }
    });
  }

  for (const lang of ['de', 'en-US']) {
    it(`${lang}: palette labels break only between words, never at a hyphen or inside a word`, async () => {
      if (!page.url().startsWith(red.url)) await eb.openEditor(page, red); // localStorage belongs to the editor's origin
      await page.evaluate((l) => (l === 'en-US' ? localStorage.removeItem('editor-language') : localStorage.setItem('editor-language', l)), lang);
      try {
        await eb.openEditor(page, red);
        // Node-RED lays palette labels out itself (words split at spaces and ASCII hyphens,
        // a word wider than the node cut with <br>): read the lines it made.
        const labels = await page.evaluate((types) => {
          const out = {};
          for (const t of types) {
            const node = document.querySelector(`.red-ui-palette-node[data-palette-type="${t}"]`);
            const label = node && node.querySelector('.red-ui-palette-label');
            if (!label) continue;
            out[t] = {
              text: node.getAttribute('data-palette-label'),
              lines: label.innerHTML.split(/<br\s*\/?>/i).map((l) => l.replace(/&nbsp;/g, ' ').trim()),
            };
          }
          return out;
        }, FLOW_TYPES);
        assert.equal(Object.keys(labels).length, FLOW_TYPES.length, 'every node is in the palette');
        assert.equal(await page.evaluate(() => window.RED.i18n.lang()), lang === 'en-US' ? 'en-US' : 'de');
        for (const [t, { text, lines }] of Object.entries(labels)) {
          const shown = `"${lines.join(' | ')}" (label "${text}")`;
          assert.doesNotMatch(text, /-/, `${t}: an ASCII hyphen in ${shown} is a break point for Node-RED`);
          // Joined with single spaces, the lines give back the label: every break was at a space.
          assert.equal(lines.join(' ').replace(/\s+/g, ' '), text.replace(/\s+/g, ' '), `${t}: broken inside a word: ${shown}`);
        }
      } finally {
        await page.evaluate(() => localStorage.removeItem('editor-language')).catch(() => {});
      }
    });
  }

  it("the ESS dialog shows a key's fingerprint exactly as concur-sim prints it", async () => {
    const { execFileSync } = require('node:child_process');
    const os = require('node:os');
    const fs = require('node:fs');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-fp-'));
    try {
      const out = execFileSync(process.execPath, [path.join(REPO, 'bin', 'concur-sim.js'), 'keygen', '--out', dir], { encoding: 'utf8', timeout: 20000 });
      const printed = /public key SHA-256: (\S+)/.exec(out)[1];
      const pem = fs.readFileSync(path.join(dir, 'ess-signing-key.pub.pem'), 'utf8');
      await deployAndOpen([
        { id: Z, type: 'tab', label: 'fingerprint' },
        { id: 'fp-ess', type: 'concur-ess-event-in', z: Z, path: '/fp/ess', x: 200, y: 60, wires: [[]] },
      ]);
      await eb.openEditDialog(page, 'fp-ess');
      await eb.fillInputs(page, { 'node-input-extraKeys': pem });
      await page.waitForFunction(() => /SHA-256/.test(window.$('#concur-ess-event-in-extraKeys-info').text()), null, { timeout: 15000 });
      const shown = await page.evaluate(() => window.$('#concur-ess-event-in-extraKeys-info .concur-ess-event-in-fp').first().text());
      assert.equal(shown, `SHA-256 ${printed}`, 'one encoding in the dialog and the CLI');
      // The built-in keys use the same form.
      const builtIn = await page.evaluate(() => window.$('#concur-ess-event-in-fp-keyConcur202609').text());
      assert.match(builtIn, /^SHA-256 [0-9a-f]{64}$/);
      await closeDialogs();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a duplicate receiver path is flagged in the dialog before deploy', async () => {
    await deployAndOpen([
      { id: Z, type: 'tab', label: 'paths' },
      { id: 'dp-ess', type: 'concur-ess-event-in', z: Z, path: '/concur/ess', x: 200, y: 60, wires: [[]] },
      { id: 'dp-httpin', type: 'http in', z: Z, url: '/Concur/V1.0/Notify/', method: 'post', x: 200, y: 140, wires: [[]] },
    ]);
    const second = await eb.addNodeFromPalette(page, 'concur-ess-event-in', { x: 400, y: 260 });
    await eb.openEditDialog(page, second);
    assert.equal(await page.locator('#node-input-path').inputValue(), '/concur/ess');
    await eb.fillInputs(page, { 'node-input-path': '/concur/ess/' });
    assert.ok((await eb.invalidInputs(page)).includes('node-input-path'), 'same path (trailing slash) is flagged');
    await eb.fillInputs(page, { 'node-input-path': '/concur/ess-2' });
    assert.ok(!(await eb.invalidInputs(page)).includes('node-input-path'), 'a free path is fine');
    await eb.fillInputs(page, { 'node-input-path': '/CONCUR/ESS' });
    assert.ok((await eb.invalidInputs(page)).includes('node-input-path'), 'paths match case-insensitively, as Express routes them');
    await eb.clickDone(page).catch(() => {});
    await closeDialogs();
    const st = await eb.nodeState(page, second);
    assert.equal(st.valid, false);
    assert.ok(
      st.validationErrors.some((e) => /already listens on this path/.test(e)),
      JSON.stringify(st.validationErrors),
    );

    // A legacy receiver on the path of a core http in (which routes case-insensitively too).
    const legacy = await eb.addNodeFromPalette(page, 'concur-legacy-notify-in', { x: 400, y: 340 });
    const lst = await eb.nodeState(page, legacy);
    assert.equal(lst.props.path, '/concur/v1.0/notify');
    assert.ok(
      lst.validationErrors.some((e) => /already listens on this path: .*http in/.test(e)),
      `legacy receiver on the http in's path is flagged: ${JSON.stringify(lst.validationErrors)}`,
    );
    await eb.openEditDialog(page, legacy);
    await eb.fillInputs(page, { 'node-input-path': '/concur/v1.0/notify2' });
    assert.ok(!(await eb.invalidInputs(page)).includes('node-input-path'));
    await closeDialogs();
  });

  it('a newly dropped API node picks the only connection, and none when there are two', async () => {
    await deployAndOpen([
      { id: Z, type: 'tab', label: 'pick' },
      {
        id: 'pk-cfg',
        type: 'concur-config',
        name: 'the only one',
        geolocation: 'us2',
        grantType: 'client_credentials',
        credentials: { clientId: 'id', clientSecret: 'secret' },
      },
    ]);
    for (const [i, type] of [...API_TYPES, ...NEWER_API_TYPES].entries()) {
      const id = await eb.addNodeFromPalette(page, type, { x: 300 + 250 * Math.floor(i / 6), y: 100 + (i % 6) * 60 });
      const st = await eb.nodeState(page, id);
      assert.equal(st.props.server, 'pk-cfg', `${type} uses the only connection`);
      assert.equal(st.valid, true, `${type} is valid at once: ${JSON.stringify(st.validationErrors)}`);
    }
    await page.evaluate(() => {
      window.RED.nodes.add({
        id: 'pk-cfg2',
        type: 'concur-config',
        name: 'second',
        geolocation: 'eu2',
        grantType: 'client_credentials',
        _def: window.RED.nodes.getType('concur-config'),
        users: [],
      });
    });
    const id = await eb.addNodeFromPalette(page, 'concur-get-report-details', { x: 600, y: 100 });
    assert.equal((await eb.nodeState(page, id)).props.server, '', 'with two connections the user chooses');
  });
});
