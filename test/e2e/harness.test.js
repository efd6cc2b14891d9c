'use strict';
/**
 * Proves the end-to-end harness: a real red.js process, route registration on
 * the node HTTP server, redeploy without duplicate routes, and the raw-body trap
 * (the editor's JSON parser consumes bodies before a naive node route).
 */
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const path = require('node:path');
const { startRed, request } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');
const { startCollector, collectorNodes } = require('../helpers/collector');

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'harness-nodes');
const sha = (s) => crypto.createHash('sha256').update(s).digest('hex');

describe('harness: real Node-RED runtime', function () {
  this.timeout(60000);
  let red;
  let collector;

  before(async () => {
    collector = await startCollector();
    red = await startRed({ nodesDir: [FIXTURES] });
  });
  after(() => teardown({ red, collector }));

  function flows(extra = []) {
    const c = collectorNodes({ idPrefix: 'col', z: 'tab1', url: collector.url });
    return [
      { id: 'tab1', type: 'tab', label: 'harness' },
      { id: 'echo', type: 'test-raw-echo', z: 'tab1', path: '/raw', limit: 64, wires: [[c.inputId]] },
      { id: 'naive', type: 'test-naive-route', z: 'tab1', path: '/naive', wires: [] },
      ...c.nodes,
      ...extra,
    ];
  }

  it('loads this package into the runtime and serves the editor', async () => {
    const r = await request(`${red.url}/nodes`, { headers: { Accept: 'application/json' } });
    assert.equal(r.status, 200);
    const sets = JSON.parse(r.body);
    const modules = sets.map((n) => n.module);
    assert.ok(modules.includes('test-harness-nodes'), 'fixture nodes loaded');
    assert.ok(modules.includes('node-red-contrib-sap-concur'), `our package is listed: ${[...new Set(modules)].join(', ')}`);
    // Every node set of ours loaded without error, and every type in package.json is registered.
    const ours = sets.filter((n) => n.module === 'node-red-contrib-sap-concur');
    for (const set of ours) assert.ok(set.enabled && !set.err, `${set.name}: ${set.err || 'disabled'}`);
    const types = ours.flatMap((n) => n.types);
    assert.deepEqual(types.sort(), Object.keys(require('../../package.json')['node-red'].nodes).sort());
  });

  it('reproduces the trap: a naive route behind the editor JSON parser never sees the signed bytes', async () => {
    await red.deploy(flows());
    const body = '{ "id" :  "a",\n  "n": 1.50 }';
    const r = await request(`${red.url}/naive`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    assert.equal(r.status, 200);
    const seen = JSON.parse(r.body);
    assert.equal(seen.bodyType, 'object', 'the editor body parser already parsed it');
    assert.equal(seen.streamLength, 0, 'stream already consumed');
    assert.notEqual(seen.sha256, sha(body));
  });

  it('captures the exact raw bytes of a JSON body through registerRoute, and emits into the flow', async () => {
    collector.clear();
    const body = '{ "id" :  "a",\n  "n": 1.50 }';
    const r = await request(`${red.url}/raw`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(JSON.parse(r.body), { sha256: sha(body), length: Buffer.byteLength(body) });
    const [m] = await collector.waitFor(1);
    assert.equal(m.body.payload, body);
  });

  it('answers 413 past the byte limit without passing the body on', async () => {
    collector.clear();
    const r = await request(`${red.url}/raw`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ x: 'y'.repeat(100) }),
    });
    assert.equal(r.status, 413);
    assert.equal((await collector.settle(300)).length, 0);
  });

  it('removes routes on redeploy: two redeploys leave exactly one route that answers once', async () => {
    for (let i = 0; i < 2; i++) await red.deploy(flows([{ id: `c${i}`, type: 'comment', z: 'tab1', name: `rev ${i}` }]));
    collector.clear();
    const r = await request(`${red.url}/raw`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'x' });
    assert.equal(r.status, 200);
    await collector.waitFor(1);
    assert.equal((await collector.settle(300)).length, 1, 'one message per request');
    // And after removing the node, the route is gone.
    await red.deploy([{ id: 'tab1', type: 'tab', label: 'harness' }]);
    const gone = await request(`${red.url}/raw`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'x' });
    assert.equal(gone.status, 404);
  });
});
