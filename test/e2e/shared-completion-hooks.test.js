'use strict';
/**
 * The receivers' message hooks in a REAL Node-RED: every hook runs on every
 * delivery of every flow in the runtime, so all completion trackers share ONE
 * set of four hooks, and it is registered only while some receiver is waiting
 * for a flow to finish (plus a 1 s idle delay), never merely because a receiver
 * is deployed. The runtime's hooks registry is wrapped in settings.js so the
 * test sees every add/remove, and exposed to a probe flow through the global
 * context.
 */
const assert = require('node:assert/strict');
const path = require('node:path');
const { startRed, request } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');
const { startCollector } = require('../helpers/collector');
const { testKeyPair, essEvent, signedDelivery } = require('../helpers/ess-signer');
const { forwarder, essNode } = require('../helpers/ess-flows');

const TAB = 'tab-hooks';
const USER = 'concur-connector-user';
const PASS = 'Pa55word:for-concur!';
const AUTH = 'Basic ' + Buffer.from(`${USER}:${PASS}`).toString('base64');
const XML = `<Notification><EventType>Report Entered Expense Report Workflow Step - EXTERNAL VALIDATION - SUBMIT</EventType><ObjectType>EXPRPT</ObjectType><ObjectURI>https://www.concursolutions.com/api/expense/expensereport/v1.1/reportfulldetails/KEY1</ObjectURI><EventDateTime>2012-05-01</EventDateTime></Notification>`;
const key = testKeyPair('shared-hooks');
// The @node-red/util instance of the runtime under test (Node-RED 5 in the compatibility run).
const RED_DIR = process.env.RED_NODE_RED_DIR || path.join(__dirname, '..', '..', 'node_modules', 'node-red');
const UTIL = JSON.stringify(require.resolve('@node-red/util', { paths: [RED_DIR] }));

// Wraps the runtime's hooks registry (the same module instance RED.hooks is) to log add/remove.
const SETTINGS_JS = `
  const hooks = require(${UTIL}).hooks;
  const log = [];
  const add = hooks.add, remove = hooks.remove;
  hooks.add = function (id, cb) { log.push('+' + id); return add.call(this, id, cb); };
  hooks.remove = function (id) { log.push('-' + id); return remove.call(this, id); };
  return { functionGlobalContext: { hookLog: log, hooks: hooks } };
`;

describe('completion hooks: one shared set per runtime, none while nobody waits (real Node-RED)', function () {
  this.timeout(90000);
  let red;
  let collector;

  before(async () => {
    collector = await startCollector();
    red = await startRed({ settingsJs: SETTINGS_JS });
    /** @type {Record<string, any>[]} */
    const nodes = [{ id: TAB, type: 'tab', label: 'hooks' }];
    for (const name of ['essA', 'essB']) {
      const fwd = forwarder({ id: `${name}-out`, z: TAB, url: collector.url, pathName: `/got/${name}`, fields: ['payload'] });
      nodes.push(essNode({ id: name, z: TAB, path: `/ess/${name}`, extraKeys: key.publicPem, wires: [[fwd[0].id]] }), ...fwd);
    }
    const lfwd = forwarder({ id: 'legacy-out', z: TAB, url: collector.url, pathName: '/got/legacy', fields: ['payload'] });
    nodes.push(
      {
        id: 'legacy',
        type: 'concur-legacy-notify-in',
        z: TAB,
        name: '',
        path: '/legacy/hooks',
        ackMode: 'complete',
        ackTimeout: 10,
        maxBodyKiB: 1024,
        credentials: { username: USER, password: PASS },
        wires: [[lfwd[0].id]],
      },
      ...lfwd,
      // The probe: what the hooks registry looks like right now.
      { id: 'probe-in', type: 'http in', z: TAB, name: '', url: '/probe', method: 'get', upload: false, swaggerDoc: '', wires: [['probe-fn']] },
      {
        id: 'probe-fn',
        type: 'function',
        z: TAB,
        name: 'probe',
        func: "const h = global.get('hooks');\nmsg.payload = { names: ['preDeliver', 'onReceive', 'postReceive', 'onComplete'].filter((n) => h.has(n)), log: global.get('hookLog').slice() };\nreturn msg;",
        outputs: 1,
        wires: [['probe-out']],
      },
      { id: 'probe-out', type: 'http response', z: TAB, name: '', statusCode: '', headers: {}, wires: [] },
    );
    await red.deploy(nodes);
  });
  after(() => teardown({ red, collector }));

  const probe = async () => JSON.parse((await request(`${red.url}/probe`)).body);
  const concurHookLog = (log) => log.filter((e) => /concurFlowCompletion/.test(e));

  it('registers no hooks while the receivers are deployed but idle', async () => {
    const p = await probe();
    assert.deepEqual(p.names, [], 'no message hook slows other flows');
    assert.deepEqual(concurHookLog(p.log), []);
  });

  it('three receivers waiting on their flows at once share one set of four hooks, and every flow completes', async () => {
    const sends = [];
    for (const name of ['essA', 'essB']) {
      for (let i = 0; i < 3; i++) {
        const d = signedDelivery(essEvent(), { privateKey: key.privateKey });
        sends.push(request(`${red.url}/ess/${name}`, { method: 'POST', headers: d.headers, body: d.body }));
      }
    }
    for (let i = 0; i < 3; i++)
      sends.push(request(`${red.url}/legacy/hooks`, { method: 'POST', headers: { authorization: AUTH, 'content-type': 'application/xml' }, body: XML }));
    const answers = await Promise.all(sends);
    assert.deepEqual(
      answers.map((r) => r.status),
      Array(9).fill(200),
      answers.map((r) => r.body).join(' | '),
    );
    await collector.waitFor(9, 10000);
    const p = await probe();
    const added = concurHookLog(p.log).filter((e) => e.startsWith('+'));
    assert.equal(added.length, 4, `one set: ${added.join(', ')}`);
    assert.deepEqual(added.map((e) => e.slice(1).split('.')[0]).sort(), ['onComplete', 'onReceive', 'postReceive', 'preDeliver']);
    assert.equal(new Set(added.map((e) => e.split('.')[1])).size, 1, 'one label');
  });

  it('removes them once no receiver has waited for a while (idle delay 1 s)', async () => {
    const until = Date.now() + 8000;
    let p = await probe();
    while (p.names.length && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 200));
      p = await probe();
    }
    assert.deepEqual(p.names, []);
    const log = concurHookLog(p.log);
    assert.equal(log.filter((e) => e.startsWith('-')).length, 4);
    assert.equal(log.filter((e) => e.startsWith('+')).length, 4, 'not re-registered per message');
  });
});
