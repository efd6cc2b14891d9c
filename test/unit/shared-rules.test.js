'use strict';
/**
 * One module per shared rule (src/nodes/shared/): the receiver path rule that
 * registerRoute enforces for every route, the numeric option table read by the
 * runtime and served to the editor, the throttled status badge, the admin
 * permission middleware. The editor side of the same rules is checked in
 * test/editor/ (and the served resource in test/e2e/package.test.js).
 */
const assert = require('node:assert/strict');
const http = require('node:http');
const express = require('express');
const { registerRoute, RouteConflictError, InvalidPathError } = require('../../dist/nodes/shared/http-routes');
const { normalizePath, configuredPath, isValidPath, routeKey, RECEIVER_PATH_PATTERN } = require('../../dist/nodes/shared/receiver-path');
const { NUMBER_OPTIONS, numberOption, parseNumber, choiceOption } = require('../../dist/nodes/shared/options');
const { ThrottledStatus } = require('../../dist/nodes/shared/status');
const { needsPermission } = require('../../dist/nodes/shared/permissions');
const { editorRules } = require('../../dist/nodes/shared/editor-rules');
const { DEFAULT_RETRY, DEFAULT_TIMEOUT_MS } = require('../../dist/concur/api-client');
const { request } = require('../helpers/red-runtime');

const noop = (_req, res) => res.end('x');
const onError = () => undefined;

describe('receiver paths (shared/receiver-path, enforced by registerRoute)', () => {
  it('normalises: one leading slash, no repeated or trailing slash; empty means the default', () => {
    assert.equal(normalizePath('concur//ess/'), '/concur/ess');
    assert.equal(normalizePath('/'), '/');
    assert.equal(configuredPath('  ', '/concur/ess'), '/concur/ess');
    assert.equal(configuredPath(' x/y// ', '/d'), '/x/y');
    assert.equal(configuredPath(undefined, '/d'), '/d');
  });

  it('accepts literal paths only: no Express patterns, spaces or queries', () => {
    for (const ok of ['/concur/ess', '/a-b_c.d~e/%20', '/']) assert.ok(isValidPath(ok), ok);
    for (const bad of ['/concur/:id', '/a*', '/a(b)', '/a?b', '/a b', '/a+b', '/ä', 'relative']) assert.ok(!isValidPath(bad), bad);
    assert.equal(editorRules().receiverPath.pattern, RECEIVER_PATH_PATTERN, 'the editor gets the same rule');
  });

  it('registerRoute refuses a path that is not literal, for every receiver, and registers nothing', () => {
    const app = express();
    assert.throws(
      () => registerRoute({ httpNode: app }, { methods: ['POST'], path: '/concur/:tenant' }, noop, onError),
      (err) => err instanceof InvalidPathError && /invalid path "\/concur\/:tenant"/.test(err.message),
    );
    registerRoute({ httpNode: app }, { methods: ['POST'], path: '/concur/:tenant'.replace(':', '') }, noop, onError).remove();
  });

  it('compares paths as Express routes them (case-insensitively): a second node on /CONCUR/ess conflicts', () => {
    assert.equal(routeKey('/Concur/ESS/'), '/concur/ess');
    const RED = { httpNode: express() };
    const a = registerRoute(RED, { methods: ['POST'], path: '/concur/ess', owner: { id: 'first' } }, noop, onError);
    assert.throws(() => registerRoute(RED, { methods: ['POST'], path: '/CONCUR/ess', owner: { id: 'second' } }, noop, onError), RouteConflictError);
    a.remove();
    registerRoute(RED, { methods: ['POST'], path: '/CONCUR/ess', owner: { id: 'second' } }, noop, onError).remove();
  });

  it('captures the raw body whatever the case of the request path (Express routes it there anyway)', async () => {
    const app = express();
    app.use(express.json()); // the editor's parser, which would consume the body first
    let seen;
    const route = registerRoute(
      { httpNode: app },
      { methods: ['POST'], path: '/Concur/Ess', captureBody: { methods: ['POST'], limitBytes: 1024 } },
      (req, res) => {
        seen = req.concurRawBody;
        res.end('ok');
      },
      onError,
    );
    const server = http.createServer(app);
    await new Promise((r) => server.listen(0, '127.0.0.1', () => r(undefined)));
    const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
    try {
      const body = '{ "a" : 1 }';
      const r = await request(`http://127.0.0.1:${port}/concur/ESS`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
      assert.equal(r.body, 'ok');
      assert.ok(Buffer.isBuffer(seen), 'raw bytes captured');
      assert.equal(seen.toString(), body);
    } finally {
      route.remove();
      await new Promise((r) => server.close(() => r(undefined)));
    }
  });
});

describe('numeric options (shared/options): one table for runtime and editor', () => {
  it('every option has min <= default <= max', () => {
    for (const [type, opts] of Object.entries(NUMBER_OPTIONS)) {
      for (const [name, o] of Object.entries(opts)) {
        assert.ok(o.min <= o.default && o.default <= o.max, `${type}.${name}`);
        assert.ok(['default', 'clamp'].includes(o.outOfRange), `${type}.${name}`);
      }
    }
  });

  it('the connection defaults are the API client defaults', () => {
    const c = NUMBER_OPTIONS['concur-config'];
    assert.equal(c.timeout.default * 1000, DEFAULT_TIMEOUT_MS);
    assert.equal(c.retries.default, DEFAULT_RETRY.maxRetries);
    assert.equal(c.retryDelay.default, DEFAULT_RETRY.baseDelayMs);
    assert.equal(c.retryMaxDelay.default, DEFAULT_RETRY.maxDelayMs);
  });

  it('parses numbers and numeric strings; not a number gives the default; out of range per the option', () => {
    /** @type {import('../../dist/nodes/shared/options').NumberOption} */
    const o = { min: 1, max: 10, default: 5, outOfRange: 'default' };
    assert.equal(parseNumber('7', o), 7);
    assert.equal(parseNumber(2.5, o), 2.5);
    for (const bad of ['', ' ', 'x', null, undefined, Number.NaN, {}, '1e400']) assert.equal(parseNumber(bad, o), 5, String(bad));
    assert.equal(parseNumber(11, o), 5);
    assert.equal(parseNumber(0, { ...o, outOfRange: 'clamp' }), 1);
    assert.equal(parseNumber('99', { ...o, outOfRange: 'clamp' }), 10);
  });

  it("keeps each node's behaviour: the legacy receiver and the connection fall back, the ESS receiver clamps", () => {
    assert.equal(numberOption('concur-legacy-notify-in', 'ackTimeout', 0.001), 25);
    assert.equal(numberOption('concur-legacy-notify-in', 'maxBodyKiB', '2048'), 2048);
    assert.equal(numberOption('concur-config', 'retries', 11), 3);
    assert.equal(numberOption('concur-ess-event-in', 'maxBodyKiB', 1e9), 64 * 1024);
    assert.equal(numberOption('concur-ess-event-in', 'completionTimeout', -1), 0);
    // The editor has always refused less than 0.01 h; the runtime now uses the same minimum.
    assert.equal(numberOption('concur-ess-event-in', 'dedupeHours', 0.001), 0.01);
  });

  it('has the rows of the store and the newer API nodes, with the limits and defaults they always used', () => {
    // The store clamps (as it did before the table).
    assert.equal(numberOption('concur-store', 'port', undefined), 5432);
    assert.equal(numberOption('concur-store', 'port', '70000'), 65535);
    assert.equal(numberOption('concur-store', 'poolSize', 0), 1);
    assert.equal(numberOption('concur-store', 'leaseSec', ''), 30);
    assert.equal(numberOption('concur-store', 'statementTimeoutSec', 999), 300);
    // Counts: out of range gives the default; a fraction is rounded (the dialog accepts whole numbers only).
    assert.equal(numberOption('concur-api-request', 'maxPages', 1001), 10);
    assert.equal(numberOption('concur-api-request', 'maxPages', '3'), 3);
    assert.equal(numberOption('concur-api-request', 'maxPages', 2.6), 3);
    assert.equal(numberOption('concur-user-lookup', 'cacheSeconds', 0), 0);
    assert.equal(numberOption('concur-user-lookup', 'cacheSeconds', 7 * 24 * 3600 + 1), 600);
    assert.equal(numberOption('concur-receipt-images', 'maxImages', undefined), 50);
    assert.equal(numberOption('concur-receipt-images', 'maxImages', 500), 500);
    for (const type of ['concur-api-request', 'concur-user-lookup', 'concur-receipt-images'])
      for (const o of Object.values(NUMBER_OPTIONS[type])) assert.equal(o.integer, true, type);
  });

  it('choice options: a listed value, else the default (a flow saved without the select, or a typo)', () => {
    const CONTEXTS = /** @type {const} */ (['TRAVELER', 'MANAGER']);
    assert.equal(choiceOption(CONTEXTS, 'MANAGER', 'TRAVELER'), 'MANAGER');
    for (const v of [undefined, '', 'manager', 42, null]) assert.equal(choiceOption(CONTEXTS, v, 'TRAVELER'), 'TRAVELER', String(v));
  });

  it('is what the editor gets', () => {
    assert.deepEqual(editorRules().numberOptions, NUMBER_OPTIONS);
  });

  it('the editor gets the runtime subscription id rule (both ESS dialogs check ids with it)', () => {
    const { SUBSCRIPTION_ID_RE, DEFAULT_TOPIC } = require('../../dist/concur/ess-subscriptions-api');
    const rule = editorRules().essSubscription;
    assert.equal(rule.idPattern, SUBSCRIPTION_ID_RE.source);
    assert.equal(rule.defaultTopic, DEFAULT_TOPIC);
    assert.ok(new RegExp(rule.idPattern).test('a'.repeat(255)) && !new RegExp(rule.idPattern).test('Node-Red'));
  });
});

describe('status badge (shared/status): one throttle for every node', () => {
  const wait = (ms) => new Promise((r) => setTimeout(r, ms));

  it('paints the first update at once and folds a burst into one trailing paint of the latest state', async () => {
    const painted = [];
    let n = 0;
    const s = new ThrottledStatus({ status: (b) => painted.push(b.text) }, () => ({ fill: 'green', shape: 'dot', text: String(n) }), { intervalMs: 40 });
    n = 1;
    s.update();
    assert.deepEqual(painted, ['1']);
    for (n = 2; n <= 50; n++) s.update();
    assert.deepEqual(painted, ['1'], 'nothing more within the interval');
    await wait(80);
    assert.deepEqual(painted, ['1', '51']);
    s.close();
  });

  it('without leading, even the first update waits the interval (a badge set while flows start reaches later Status nodes)', async () => {
    const painted = [];
    const s = new ThrottledStatus({ status: (b) => painted.push(b.text) }, () => ({ text: 'late' }), { intervalMs: 30, leading: false });
    s.update();
    s.update();
    assert.deepEqual(painted, []);
    await wait(60);
    assert.deepEqual(painted, ['late']);
    s.close();
  });

  it('paints nothing after close, and render() may leave the badge as it is', async () => {
    const painted = [];
    const s = new ThrottledStatus({ status: (b) => painted.push(b) }, () => undefined, { intervalMs: 10 });
    s.update();
    assert.deepEqual(painted, []);
    const t = new ThrottledStatus({ status: (b) => painted.push(b) }, () => ({ text: 'x' }), { intervalMs: 30 });
    t.update();
    t.update();
    t.close();
    await wait(50);
    t.update();
    t.paint();
    assert.deepEqual(painted, [{ text: 'x' }]);
  });
});

describe('admin permissions (shared/permissions)', () => {
  it('uses RED.auth.needsPermission when the runtime has it, else lets the request through', () => {
    const asked = [];
    const mw = () => undefined;
    assert.equal(needsPermission({ auth: { needsPermission: (p) => (asked.push(p), mw) } }, 'concur-config.write'), mw);
    assert.deepEqual(asked, ['concur-config.write']);
    let passed = false;
    needsPermission({}, 'concur-ess-event-in.read')({}, {}, () => (passed = true));
    assert.ok(passed);
  });
});
