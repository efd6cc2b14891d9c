'use strict';
/**
 * Drives the real Node-RED editor in Debian's Chromium through playwright-core,
 * the way an admin would: palette filter → drag into the workspace → double-click
 * → fill the dialog → Done → Deploy. Never downloads a browser; every wait is
 * bounded; close() always ends the browser and removes its profile.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.resolve(__dirname, '..', 'artifacts');
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
/** Default bound for a single UI step (a dialog opening, a deploy finishing). */
const STEP_MS = 15000;

function chromiumAvailable() {
  try {
    fs.accessSync(CHROMIUM, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Reason string for this.skip() when the browser tests cannot run here. */
function skipReason() {
  if (!chromiumAvailable()) return `${CHROMIUM} not found (Debian package "chromium"); editor browser tests skipped`;
  try {
    require.resolve('playwright-core');
  } catch {
    return 'playwright-core is not installed; editor browser tests skipped';
  }
  return null;
}

/**
 * Launches Chromium with a fresh profile. Returns { context, page, errors, close }.
 * `errors` collects uncaught page errors and console errors, so a test can assert
 * the editor ran its node definitions without throwing.
 */
async function launchEditorBrowser({ viewport = { width: 1400, height: 900 } } = {}) {
  const { chromium } = require('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-chromium-'));
  let context;
  try {
    // launchPersistentContext is how playwright takes --user-data-dir (it rejects it in args).
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      chromiumSandbox: false,
      args: CHROMIUM_ARGS,
      viewport,
      timeout: 30000,
      acceptDownloads: false,
    });
  } catch (err) {
    fs.rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  context.setDefaultTimeout(STEP_MS);
  const page = context.pages()[0] || (await context.newPage());
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  let closed = false;
  return {
    context,
    page,
    errors,
    profile,
    async close() {
      if (closed) return;
      closed = true;
      // Bounded: a wedged browser must not hang the suite (playwright kills it at exit).
      let timer;
      await Promise.race([context.close().catch(() => {}), new Promise((r) => (timer = setTimeout(r, 10000)))]);
      clearTimeout(timer); // a pending timer would keep mocha alive (no exit: true)
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Opens the editor of a startRed() runtime and waits until palette and workspace are usable. */
async function openEditor(page, red, { timeoutMs = 45000 } = {}) {
  await page.goto(`${red.url}/`, { waitUntil: 'domcontentloaded', timeout: timeoutMs });
  await page.waitForFunction(
    () => {
      const R = window.RED;
      if (!R || !R.nodes || !R.view || !window.$) return false;
      const $ = window.$;
      return (
        $('#red-ui-palette-container .red-ui-palette-node').length > 0 &&
        $('#red-ui-workspace-chart svg').length > 0 &&
        $('#red-ui-loading-progress:visible').length === 0 &&
        R.workspaces.active() !== 0 &&
        !!R.workspaces.active()
      );
    },
    null,
    { timeout: timeoutMs, polling: 100 },
  );
  const dismissed = await dismissDialogs(page);
  return { dismissed };
}

/**
 * Closes anything that would block the workspace: tour guide, telemetry/update
 * prompts, modal notifications, jQuery UI dialogs. Returns what it found (the
 * test settings disable tours and telemetry, so normally nothing).
 */
async function dismissDialogs(page) {
  const found = await page.evaluate(() => {
    const $ = window.$;
    const out = [];
    if ($('.red-ui-tourGuide-shade:visible, .red-ui-tourGuide-popover:visible').length) {
      out.push('tour');
      try {
        window.RED.tourGuide.reset && window.RED.tourGuide.reset();
      } catch {
        /* fall through to the button click below */
      }
    }
    $('.red-ui-notification:visible').each(function () {
      out.push(`notification: ${$(this).text().trim().slice(0, 120)}`);
    });
    $('.ui-dialog:visible').each(function () {
      out.push(`dialog: ${$(this).find('.ui-dialog-title').text().trim()}`);
    });
    return out;
  });
  // Close via the UI controls a user would press; each bounded.
  for (let i = 0; i < 5; i++) {
    const closer = page
      .locator(
        [
          '.red-ui-tourGuide-popover button:has-text("Close")',
          '.red-ui-tourGuide-popover .red-ui-tourGuide-popover-close',
          '.red-ui-notification:visible button:has-text("Close")',
          '.red-ui-notification:visible button:has-text("No thanks")',
          '.red-ui-notification:visible button:has-text("Cancel")',
          '.ui-dialog:visible .ui-dialog-titlebar-close',
        ].join(', '),
      )
      .first();
    if (!(await closer.isVisible().catch(() => false))) break;
    await closer.click({ timeout: 3000 }).catch(() => {});
    await page.waitForTimeout(200);
  }
  // Plain success/info toasts are not blocking; let them fade or close them.
  await page.evaluate(() => {
    window.$('.red-ui-notification:visible').each(function () {
      const n = window.$(this);
      if (n.find('button').length === 0 && typeof this.close === 'function') this.close();
    });
  });
  return found;
}

/** Is anything modal covering the workspace right now? */
async function blockingOverlays(page) {
  return page.evaluate(() => {
    const $ = window.$;
    const out = [];
    if ($('.red-ui-tourGuide-shade:visible').length) out.push('tour shade');
    if ($('.ui-widget-overlay:visible').length) out.push('modal overlay');
    if ($('#red-ui-full-shade:visible').length) out.push('full shade');
    if ($('.red-ui-notification:visible').filter((i, e) => $(e).find('button').length > 0).length) out.push('notification with buttons');
    if ($('.red-ui-editor .red-ui-tray:visible').length) out.push('edit tray');
    return out;
  });
}

/** The palette entry of a node type: category container, label, icon, colour. */
async function paletteEntry(page, type) {
  return page.evaluate((t) => {
    const $ = window.$;
    const el = $(`.red-ui-palette-node[data-palette-type="${t}"]`);
    if (!el.length) return null;
    const container = el.closest('.red-ui-palette-category');
    const iconEl = el.find('.red-ui-palette-icon-container');
    const iconImg = el.find('.red-ui-palette-icon');
    return {
      label: el.find('.red-ui-palette-label').text().replace(/\s+/g, ' ').trim(),
      containerId: container.attr('id') || null,
      categoryHeader: container.find('.red-ui-palette-header').first().text().trim(),
      icon: iconEl.attr('data-palette-icon') || null,
      iconBackground: iconImg.css('background-image') || iconImg.css('mask-image') || iconImg.css('-webkit-mask-image') || null,
      color: el.css('background-color'),
      category: window.RED.nodes.getType(t) && window.RED.nodes.getType(t).category,
    };
  }, type);
}

/** Loads an icon URL the editor uses and returns { status, contentType }. */
async function fetchFromEditor(page, url) {
  return page.evaluate(async (u) => {
    const r = await fetch(u);
    return { status: r.status, contentType: r.headers.get('content-type'), body: (await r.text()).slice(0, 2000) };
  }, url);
}

/**
 * Types `type` into the palette filter, then drags that palette node into the
 * workspace at (x, y) (workspace-relative pixels). Returns the new node's id.
 * @param {any} page
 * @param {string} type
 * @param {{ x?: number, y?: number, filter?: string }} [at]
 */
async function addNodeFromPalette(page, type, { x = 300, y = 160, filter } = {}) {
  const before = await nodeIdsOfType(page, type);
  // A synthetic drag is occasionally dropped by jQuery UI under load (seen once on
  // Node-RED 5 in CI): try the gesture up to three times; each must add exactly one node.
  for (let attempt = 1; ; attempt++) {
    await dragFromPalette(page, type, { x, y, filter });
    const until = Date.now() + (attempt < 3 ? Math.min(STEP_MS, 4000) : STEP_MS);
    for (;;) {
      const after = await nodeIdsOfType(page, type);
      const added = after.filter((id) => !before.includes(id));
      if (added.length === 1) return added[0];
      if (added.length > 1) throw new Error(`dragging ${type} added ${added.length} nodes`);
      if (Date.now() > until) break;
      await page.waitForTimeout(100);
    }
    if (attempt >= 3) throw new Error(`dragging ${type} from the palette added no node (3 attempts)`);
    await page.keyboard.press('Escape');
  }
}

async function dragFromPalette(page, type, { x, y, filter }) {
  const search = page.locator('#red-ui-palette-search input');
  await search.fill('');
  await search.fill(filter || type);
  const entry = page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
  await entry.waitFor({ state: 'visible' });
  await entry.scrollIntoViewIfNeeded();
  const src = await entry.boundingBox();
  const chart = await page.locator('#red-ui-workspace-chart').boundingBox();
  if (!src || !chart) throw new Error(`palette node ${type} or workspace not visible`);
  // Node-RED 5 lays its left sidebar (explorer + palette) over the chart: x counts from the visible edge.
  const sidebarRight = await page.evaluate(() => {
    const s = document.querySelector('#red-ui-sidebar-left');
    const r = s && s.getBoundingClientRect();
    return r && r.width > 0 && r.height > 0 ? r.right : 0;
  });
  const to = { x: Math.max(chart.x, sidebarRight) + x, y: chart.y + y };
  // jQuery UI draggable needs real mouse events with intermediate moves.
  await page.mouse.move(src.x + src.width / 2, src.y + src.height / 2);
  await page.mouse.down();
  await page.mouse.move(src.x + src.width / 2 + 20, src.y + src.height / 2 + 5, { steps: 4 });
  await page.mouse.move(to.x, to.y, { steps: 15 });
  await page.mouse.up();
  await search.fill('');
}

function nodeIdsOfType(page, type) {
  return page.evaluate((t) => window.RED.nodes.filterNodes({ type: t }).map((n) => n.id), type);
}

/** Double-clicks a node in the workspace and waits for its edit tray to be ready. */
async function openEditDialog(page, nodeId) {
  const node = page.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${nodeId}"] rect.red-ui-flow-node`);
  await node.waitFor({ state: 'visible' });
  await node.dblclick();
  await page.locator('#node-dialog-ok').waitFor({ state: 'visible' });
  // The tray animates in and oneditprepare runs after the form is built.
  await page.waitForFunction(() => window.$('.red-ui-tray:visible').length > 0 && !window.$('.red-ui-tray').is(':animated'), null, { timeout: STEP_MS });
  await page.waitForTimeout(300);
}

/** Ids of every form control in the open edit tray(s) with the given prefix. */
async function dialogInputIds(page, prefix = 'node-input-') {
  return page.evaluate(
    (p) =>
      window
        .$(`.red-ui-tray [id^="${p}"]`)
        .map((i, e) => e.id)
        .get(),
    prefix,
  );
}

/**
 * Fills controls of the open dialog by id. Values: string (text, textarea,
 * select option value), boolean (checkbox), or { type, value } for a typedInput.
 * Hidden controls that back a typedInput or a custom widget are set through
 * jQuery (then 'change' is triggered), as their widget would.
 */
async function fillInputs(page, values) {
  for (const [id, value] of Object.entries(values)) {
    const info = await page.evaluate((i) => {
      const el = document.getElementById(i);
      if (!el) return null;
      const $el = window.$(el);
      return {
        tag: el.tagName.toLowerCase(),
        type: (el.getAttribute('type') || '').toLowerCase(),
        visible: $el.is(':visible'),
        typed: !!$el.data('noderedTypedInput'),
      };
    }, id);
    if (!info) {
      const ids = await dialogInputIds(page, id.startsWith('node-config-input-') ? 'node-config-input-' : 'node-input-');
      throw new Error(`dialog has no #${id}; it has: ${ids.join(', ') || '(none)'}`);
    }
    const loc = page.locator(`[id="${id}"]`);
    if (info.typed || (value && typeof value === 'object')) {
      await page.evaluate(
        ({ i, v }) => {
          const $el = window.$(document.getElementById(i));
          if ($el.data('noderedTypedInput')) {
            if (v && typeof v === 'object') {
              $el.typedInput('type', v.type);
              $el.typedInput('value', v.value);
            } else $el.typedInput('value', v);
          } else $el.val(v && typeof v === 'object' ? v.value : v);
          $el.trigger('change');
        },
        { i: id, v: value },
      );
    } else if (info.type === 'checkbox') {
      if (info.visible) await loc.setChecked(Boolean(value));
      else await page.evaluate(({ i, v }) => window.$(document.getElementById(i)).prop('checked', v).trigger('change'), { i: id, v: Boolean(value) });
    } else if (info.tag === 'select') {
      await loc.selectOption(String(value));
    } else if (info.visible) {
      await loc.fill(String(value));
      await loc.dispatchEvent('change');
    } else {
      await page.evaluate(({ i, v }) => window.$(document.getElementById(i)).val(v).trigger('change'), { i: id, v: String(value) });
    }
  }
}

/** Ids of the controls the editor marks invalid in the open dialog(s). */
async function invalidInputs(page) {
  return page.evaluate(() =>
    window
      .$('.red-ui-tray .input-error')
      .map((i, e) => e.id || window.$(e).closest('[id]').attr('id'))
      .get(),
  );
}

/** Clicks Done on the topmost edit tray (config node tray first) and waits for it to close. */
async function clickDone(page) {
  const configOk = page.locator('#node-config-dialog-ok');
  const isConfig = await configOk.isVisible().catch(() => false);
  const button = isConfig ? configOk : page.locator('#node-dialog-ok');
  await button.click();
  await button.waitFor({ state: 'detached', timeout: STEP_MS }).catch(async () => {
    if (await button.isVisible())
      throw new Error(`Done did not close the ${isConfig ? 'config ' : ''}dialog (invalid: ${(await invalidInputs(page)).join(', ')})`);
  });
  await page.waitForTimeout(200);
}

/**
 * In an open node dialog, presses the "+" next to a config-node select
 * (node-input-<prop>) and waits for the config node's tray.
 */
async function openAddConfigDialog(page, prop) {
  await page.locator(`#node-input-btn-${prop}-add`).click();
  await page.locator('#node-config-dialog-ok').waitFor({ state: 'visible' });
  await page.waitForFunction(() => !window.$('.red-ui-tray').is(':animated'), null, { timeout: STEP_MS });
  await page.waitForTimeout(300);
}

/** The editor's view of a node: valid flag, validation errors, changed props. */
async function nodeState(page, nodeId) {
  return page.evaluate((id) => {
    const n = window.RED.nodes.node(id);
    if (!n) return null;
    const out = { id: n.id, type: n.type, valid: n.valid, validationErrors: n.validationErrors || [], props: {} };
    for (const k of Object.keys(n._def.defaults || {})) out.props[k] = n[k];
    return out;
  }, nodeId);
}

/**
 * Clicks Deploy and waits for "Successfully deployed". If the editor asks for
 * confirmation (invalid or unknown nodes), throws with its text unless
 * confirmWarnings is set. Returns the notification text.
 */
async function deploy(page, { confirmWarnings = false, timeoutMs = 30000 } = {}) {
  // Only notifications raised by this click count (an earlier "Successfully deployed" may still show).
  const earlier = await page.evaluate(() =>
    window
      .$('.red-ui-notification')
      .map((i, e) => e.id)
      .get(),
  );
  await page.locator('#red-ui-header-button-deploy').click();
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const state = await page.evaluate((old) => {
      const $ = window.$;
      const texts = $('.red-ui-notification:visible')
        .filter((i, e) => !old.includes(e.id))
        .map((i, e) => $(e).text().trim())
        .get();
      return { texts, confirm: $('#red-ui-deploy-dialog-confirm-deploy-deploy:visible').length > 0 };
    }, earlier);
    const ok = state.texts.find((t) => /Successfully deployed/.test(t));
    if (ok) {
      // The editor shades header/palette/workspace while the deploy is in flight.
      await page.waitForFunction(() => window.$('#red-ui-header-shade:visible, #red-ui-editor-shade:visible').length === 0, null, {
        timeout: STEP_MS,
      });
      return ok.replace(/\s+/g, ' ');
    }
    const failed = state.texts.find((t) => /Deploy failed|Error/i.test(t));
    if (failed) throw new Error(`deploy failed in the editor: ${failed}`);
    if (state.confirm) {
      const text = state.texts.join(' | ');
      if (!confirmWarnings) {
        await page
          .locator('.red-ui-notification:visible button:has-text("Cancel")')
          .first()
          .click()
          .catch(() => {});
        await page
          .locator('#red-ui-deploy-dialog-confirm-deploy-deploy')
          .waitFor({ state: 'hidden' })
          .catch(() => {});
        throw new Error(`editor refused a clean deploy: ${text}`);
      }
      await page.locator('#red-ui-deploy-dialog-confirm-deploy-deploy').click();
    }
    await page.waitForTimeout(100);
  }
  throw new Error(`no "Successfully deployed" notification within ${timeoutMs} ms`);
}

/** Status text under a node in the workspace ('' when it has none). */
async function nodeStatusText(page, nodeId) {
  return page.evaluate((id) => {
    const g = document.querySelector(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${id}"]`);
    const label = g && g.querySelector('.red-ui-flow-node-status-label');
    return label ? label.textContent.trim() : '';
  }, nodeId);
}

/** Waits until the node's status text matches `re` (bounded). */
async function waitForStatus(page, nodeId, re, timeoutMs = STEP_MS) {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    last = await nodeStatusText(page, nodeId);
    if (re.test(last)) return last;
    await page.waitForTimeout(100);
  }
  throw new Error(`status of ${nodeId} did not match ${re} within ${timeoutMs} ms (last: "${last}")`);
}

/** Draws a wire from the output port of one node to the input port of another. */
async function connect(page, fromId, toId, port = 0) {
  const out = page.locator(`g.red-ui-flow-node-group[id="${fromId}"] g.red-ui-flow-port-output`).nth(port);
  const inp = page.locator(`g.red-ui-flow-node-group[id="${toId}"] g.red-ui-flow-port-input`).first();
  const a = await out.boundingBox();
  const b = await inp.boundingBox();
  if (!a || !b) throw new Error(`ports of ${fromId} → ${toId} not visible`);
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 10 });
  await page.mouse.up();
  const wired = await page.evaluate(({ f, t, p }) => window.RED.nodes.filterLinks({ source: { id: f }, sourcePort: p, target: { id: t } }).length === 1, {
    f: fromId,
    t: toId,
    p: port,
  });
  if (!wired) throw new Error(`dragging a wire ${fromId} → ${toId} made no link`);
}

/**
 * Empties the editor's flows the way a user would (select all + delete via the
 * editor's own actions), then removes config nodes, so each test deploys only
 * what it adds. Nothing is deployed until deploy() is called.
 */
async function clearWorkspace(page) {
  await page.evaluate(() => {
    const R = window.RED;
    R.view.focus();
    R.actions.invoke('core:select-all-nodes');
    R.actions.invoke('core:delete-selection');
    const configs = [];
    R.nodes.eachConfig((n) => {
      configs.push(n.id);
    });
    for (const id of configs) R.nodes.remove(id);
    R.nodes.dirty(true);
    R.view.redraw(true);
  });
  const left = await page.evaluate(() => {
    let n = 0;
    window.RED.nodes.eachNode(() => {
      n++;
    });
    window.RED.nodes.eachConfig(() => {
      n++;
    });
    return n;
  });
  if (left) throw new Error(`clearWorkspace left ${left} nodes`);
}

/** Saves a full-page PNG to test/artifacts/<name>.png and returns its path. */
async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name.replace(/[^\w.-]+/g, '_')}.png`);
  await page.screenshot({ path: file, fullPage: false, timeout: STEP_MS });
  return file;
}

module.exports = {
  CHROMIUM,
  CHROMIUM_ARGS,
  ARTIFACTS,
  chromiumAvailable,
  skipReason,
  launchEditorBrowser,
  openEditor,
  dismissDialogs,
  blockingOverlays,
  paletteEntry,
  fetchFromEditor,
  addNodeFromPalette,
  openEditDialog,
  dialogInputIds,
  fillInputs,
  invalidInputs,
  clickDone,
  openAddConfigDialog,
  nodeState,
  deploy,
  nodeStatusText,
  waitForStatus,
  connect,
  clearWorkspace,
  screenshot,
};
