'use strict';
/**
 * A real Node-RED with two connections to the simulator (`cfg`: refresh token,
 * `cfg2`: company request token) and, per node under test, an `http in`
 * trigger at /t/<name> whose JSON body `{ tag, msg, payload }` becomes the
 * message; outputs go to the collector's /ok, a Catch node's to /err.
 * Used by the end-to-end suites of the newer API nodes.
 */
const assert = require('node:assert/strict');
const { startRed, request } = require('./red-runtime');
const { teardown } = require('./teardown');
const { startCollector, collectorNodes } = require('./collector');
const { startSimulator } = require('../../dist/simulator/index.js');

const REFRESH = 'configured-refresh-token-ORIGINAL';

/**
 * @param {{ z?: string, fields?: string[], simOptions?: import('../../dist/simulator/index.js').SimulatorOptions, redOptions?: Record<string, any> }} [options]
 *   fields: more msg fields the /ok collector keeps
 */
async function startApiHarness({ z = 'tab-api2', fields, simOptions = {}, redOptions = {} } = {}) {
  const sim = await startSimulator({ port: 0, deliverEvents: false, refreshTokens: [REFRESH], recordIssuedTokens: true, ...simOptions });
  const collector = await startCollector();
  const red = await startRed({ logLevel: 'trace', ...redOptions });
  const okFields = ['tag', 'payload', 'concur', 'statusCode', 'headers', ...(fields || [])];

  function trigger(name, firstNodeId) {
    return [
      { id: `in-${name}`, type: 'http in', z, url: `/t/${name}`, method: 'post', upload: false, swaggerDoc: '', wires: [[`res-${name}`, `prep-${name}`]] },
      { id: `res-${name}`, type: 'http response', z, statusCode: '200', headers: {}, wires: [] },
      {
        id: `prep-${name}`,
        type: 'function',
        z,
        func: 'const b = msg.payload || {};\nObject.assign(msg, b.msg || {});\nmsg.payload = b.payload;\nmsg.tag = b.tag;\ndelete msg.req; delete msg.res;\nreturn msg;',
        outputs: 1,
        wires: [[firstNodeId]],
      },
    ];
  }

  /**
   * nodes: [{ name, type, ...props }]: each gets a trigger, server 'cfg' unless given, output to /ok.
   * extra: more flow nodes (e.g. a second stage).
   */
  function flows(nodes, extra = []) {
    const ok = collectorNodes({ idPrefix: 'ok', z, url: collector.url, pathName: '/ok', fields: okFields });
    const err = collectorNodes({ idPrefix: 'err', z, url: collector.url, pathName: '/err', fields: ['tag', 'payload', 'concurError', 'error'] });
    const cfgCommon = {
      geolocation: 'custom',
      baseUrl: sim.url,
      tokenEndpoint: 'api',
      followGeolocation: true,
      timeout: 10,
      retries: 3,
      retryDelay: 5,
      retryMaxDelay: 20,
      expirySkew: 60,
    };
    const c = sim.credentials;
    /** @type {Record<string, any>[]} flow JSON */
    const list = [
      { id: z, type: 'tab', label: 'api2' },
      {
        id: 'cfg',
        type: 'concur-config',
        name: 'simulator',
        ...cfgCommon,
        grantType: 'refresh_token',
        credentials: { clientId: c.clientId, clientSecret: c.clientSecret, refreshToken: REFRESH },
      },
      {
        id: 'cfg2',
        type: 'concur-config',
        name: 'company',
        ...cfgCommon,
        grantType: 'password',
        credtype: 'authtoken',
        credentials: { clientId: c.clientId, clientSecret: c.clientSecret, username: c.companyId, password: c.companyRequestToken },
      },
    ];
    for (const n of nodes) {
      const { name, next, ...props } = n;
      list.push(...trigger(name, name), { id: name, z, server: 'cfg', wires: [[next || ok.inputId]], ...props });
    }
    list.push(...extra.map((n) => ({ z, ...n, wires: (n.wires || []).map((port) => port.map((to) => (to === '$ok' ? ok.inputId : to))) })));
    list.push({ id: 'catch-all', type: 'catch', z, scope: null, uncaught: false, wires: [[err.inputId]] }, ...ok.nodes, ...err.nodes);
    return list.map((n, i) => (n.z && n.x === undefined ? { x: 100 + (i % 5) * 150, y: 40 + Math.floor(i / 5) * 40, ...n } : n));
  }

  async function fire(name, body) {
    const r = await request(`${red.url}/t/${name}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(r.status, 200, r.body);
  }

  async function expectOk(name, body, count = 1) {
    collector.clear();
    await fire(name, { tag: name, ...body });
    const got = await collector.waitFor(count, 15000);
    const errs = got.filter((m) => m.path === '/err');
    if (errs.length) assert.fail(`flow failed: ${JSON.stringify(errs[0].body.concurError)}`);
    const oks = (await collector.settle(150)).filter((m) => m.path === '/ok' && m.body.tag === name).map((m) => m.body);
    assert.equal(oks.length, count, `expected ${count} message(s) on the output, got ${oks.length}`);
    return count === 1 ? oks[0] : oks;
  }

  async function expectErr(name, body) {
    collector.clear();
    await fire(name, { tag: name, ...body });
    const got = await collector.waitFor(1, 15000, '/err');
    const e = got.find((m) => m.body.tag === name);
    assert.ok(e, 'an error reached the Catch node');
    assert.equal((await collector.settle(200)).filter((m) => m.path === '/ok').length, 0, 'nothing on the output');
    return e.body;
  }

  return {
    sim,
    red,
    collector,
    flows,
    fire,
    expectOk,
    expectErr,
    deploy: (nodes, extra) => red.deploy(flows(nodes, extra)),
    stop: () => teardown({ red, collector, sim }),
  };
}

module.exports = { startApiHarness, REFRESH };
