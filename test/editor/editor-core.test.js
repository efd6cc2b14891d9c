'use strict';
/**
 * Proves the browser helper end to end on Node-RED's own nodes: a real editor in
 * Chromium, palette drag, dialog fill, wire, Deploy, and the deployed endpoint
 * answering over HTTP with what was typed into the dialog.
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { startRed, request } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');
const eb = require('../helpers/editor-browser');

describe('editor (browser): helper on core nodes', function () {
  this.timeout(120000);
  let red;
  let browser;
  let page;

  before(async function () {
    const reason = eb.skipReason();
    if (reason) {
      console.log(`      skipped: ${reason}`);
      this.skip();
    }
    red = await startRed();
    browser = await eb.launchEditorBrowser();
    page = browser.page;
  });
  after(async () => {
    if (browser) await browser.close();
    await teardown({ red });
  });
  afterEach(async function () {
    // A screenshot of every failure, for the CI artifacts.
    if (this.currentTest.state === 'failed' && page) {
      await eb.screenshot(page, `editor-core-FAILED-${this.currentTest.title}`).catch(() => {});
    }
  });

  it('loads the editor with nothing blocking the workspace (no tour, telemetry or update prompt)', async () => {
    const { dismissed } = await eb.openEditor(page, red);
    assert.deepEqual(dismissed, [], `dialogs had to be dismissed: ${dismissed.join('; ')}`);
    assert.deepEqual(await eb.blockingOverlays(page), []);
    const settings = await page.evaluate(() => ({
      tours: window.RED.settings.theme('tours'),
      telemetry: window.RED.settings.telemetryEnabled,
      palette: window.$('#red-ui-palette-container .red-ui-palette-node').length,
    }));
    assert.equal(settings.tours, false);
    assert.notEqual(settings.telemetry, true, 'telemetry must not be on in tests');
    assert.ok(settings.palette > 10, `palette populated (${settings.palette} nodes)`);
    const entry = await eb.paletteEntry(page, 'http in');
    assert.equal(entry.containerId, 'red-ui-palette-container-network');
    assert.equal(entry.label, 'http in');
    assert.match(entry.icon, /globe/);
    if (browser.errors.length) console.log(`      page errors (not from core nodes): ${browser.errors.join(' | ')}`);
    const shot = await eb.screenshot(page, 'editor-core-loaded');
    assert.ok(fs.statSync(shot).size > 10000, 'screenshot has content');
  });

  it('adds http in + http response + debug from the palette, fills the dialogs, wires and deploys; the endpoint answers', async () => {
    const url = `/editor-core-${Date.now().toString(36)}`;
    const httpIn = await eb.addNodeFromPalette(page, 'http in', { x: 180, y: 120 });
    await eb.openEditDialog(page, httpIn);
    await eb.fillInputs(page, { 'node-input-method': 'post', 'node-input-url': url, 'node-input-name': 'browser in' });
    await eb.screenshot(page, 'editor-core-http-in-dialog');
    await eb.clickDone(page);

    const httpRes = await eb.addNodeFromPalette(page, 'http response', { x: 460, y: 120 });
    await eb.openEditDialog(page, httpRes);
    await eb.fillInputs(page, { 'node-input-statusCode': '202' });
    await eb.clickDone(page);

    const debug = await eb.addNodeFromPalette(page, 'debug', { x: 460, y: 220 });
    await eb.openEditDialog(page, debug);
    await eb.fillInputs(page, { 'node-input-tostatus': true, 'node-input-console': false });
    await eb.clickDone(page);

    await eb.connect(page, httpIn, httpRes);
    await eb.connect(page, httpIn, debug);
    assert.equal((await eb.nodeState(page, httpIn)).valid, true);
    const note = await eb.deploy(page);
    assert.match(note, /Successfully deployed/);

    // What the runtime received is what was typed into the dialogs.
    const flows = await red.getFlows();
    const deployedIn = flows.find((n) => n.id === httpIn);
    assert.equal(deployedIn.url, url);
    assert.equal(deployedIn.method, 'post');
    assert.deepEqual(deployedIn.wires[0].sort(), [httpRes, debug].sort());
    assert.equal(flows.find((n) => n.id === httpRes).statusCode, '202');

    const r = await request(`${red.url}${url}`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'from-the-test' });
    assert.equal(r.status, 202, r.body);
    assert.equal(r.body, 'from-the-test');
    const wrongMethod = await request(`${red.url}${url}`);
    assert.equal(wrongMethod.status, 404, 'only the configured method is routed');

    // The debug node's status badge shows the payload in the browser.
    assert.equal(await eb.waitForStatus(page, debug, /from-the-test/), 'from-the-test');
    await eb.screenshot(page, 'editor-core-deployed');
  });

  it('refuses to report success when the editor flags a node as invalid', async () => {
    const bad = await eb.addNodeFromPalette(page, 'http in', { x: 180, y: 320 });
    await eb.openEditDialog(page, bad);
    await eb.fillInputs(page, { 'node-input-url': '' });
    assert.ok((await eb.invalidInputs(page)).includes('node-input-url'), 'empty URL is marked invalid in the dialog');
    await eb.clickDone(page);
    assert.equal((await eb.nodeState(page, bad)).valid, false);
    await assert.rejects(eb.deploy(page), /refused a clean deploy.*improperly configured|refused a clean deploy/);
    await eb.screenshot(page, 'editor-core-invalid');
    assert.deepEqual(await eb.blockingOverlays(page), [], 'the confirm prompt was cancelled');
  });
});
