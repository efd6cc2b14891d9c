'use strict';
/**
 * concur-store in a real Node-RED against a real PostgreSQL: the "Test
 * connection" admin route (success, wrong password, bad input; never a secret
 * in the answer), the ESS receiver with the store when the database is down at
 * deploy (503 + Retry-After, red status, recovers by itself once it is up),
 * dead letters through the admin route, and no password in the exported flow
 * or the log.
 */
const assert = require('node:assert/strict');
const { startRed, request } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');
const { startCollector } = require('../helpers/collector');
const { startPostgres } = require('../helpers/postgres');
const { testKeyPair, essEvent, signedDelivery } = require('../helpers/ess-signer');
const { essNode } = require('../helpers/ess-flows');

const TAB = 'tab-ess';
const key = testKeyPair('concur-store-node');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('concur-store (real Node-RED, real PostgreSQL)', function () {
  this.timeout(90000);
  let red;
  let pg;
  let collector;

  before(async () => {
    [pg, collector, red] = await Promise.all([startPostgres(), startCollector(), startRed()]);
  });
  after(async () => {
    await teardown({ red, collector });
    if (pg) await pg.destroy();
  });

  const storeNode = (over = {}) => ({
    id: 'pgstore',
    type: 'concur-store',
    name: 'db',
    backend: 'postgres',
    connection: 'fields',
    host: pg.host,
    port: pg.port,
    database: pg.database,
    user: pg.user,
    tls: 'off',
    ca: '',
    poolSize: 4,
    schema: 'concur_node_test',
    tablePrefix: 'n_',
    leaseSec: 3,
    credentials: { password: pg.password },
    ...over,
  });
  const flows = (over = {}) => [
    { id: TAB, type: 'tab', label: 'ess' },
    storeNode(over),
    essNode({ store: 'pgstore', extraKeys: key.publicPem, completionTimeout: 60, wires: [['fail']] }),
    // Events whose facts.fail is set fail in the flow (done(err)): dead letters.
    {
      id: 'fail',
      type: 'function',
      z: TAB,
      func: "if (msg.payload.facts && msg.payload.facts.fail) throw new Error('rule failed');\nreturn msg;",
      outputs: 1,
      wires: [['st-fn']],
      x: 300,
      y: 100,
    },
    { id: 'st', type: 'status', z: TAB, scope: ['ess'], wires: [['st-fn']], x: 150, y: 200 },
    {
      id: 'st-fn',
      type: 'function',
      z: TAB,
      func: "msg.payload = { status: msg.status, concur: msg.concur };\nmsg.headers = { 'content-type': 'application/json' };\nreturn msg;",
      outputs: 1,
      wires: [['st-req']],
      x: 300,
      y: 200,
    },
    {
      id: 'st-req',
      type: 'http request',
      z: TAB,
      method: 'POST',
      ret: 'txt',
      url: `${collector.url}/out`,
      tls: '',
      persist: false,
      wires: [[]],
      x: 450,
      y: 200,
    },
  ];
  const post = (ev) => {
    const d = signedDelivery(ev, { privateKey: key.privateKey });
    return request(`${red.url}/concur/ess`, { method: 'POST', headers: d.headers, body: d.body, timeoutMs: 20000 });
  };
  const test = (body) =>
    request(`${red.url}/concur-store/pgstore/test`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const lastStatus = () =>
    collector.received
      .filter((m) => m.path === '/out' && m.body.status)
      .map((m) => m.body.status)
      .pop();

  it('Test connection reports the server and schema version, or the error, and never a password', async () => {
    await red.deploy(flows());
    const fields = {
      backend: 'postgres',
      connection: 'fields',
      host: pg.host,
      port: String(pg.port),
      database: pg.database,
      user: pg.user,
      tls: 'off',
      schema: 'concur_node_test',
      tablePrefix: 'n_',
    };
    // untouched password field: the deployed credential is used
    let r;
    let j;
    for (let i = 0; i < 50; i++) {
      r = await test({ ...fields, credentials: { password: '__PWRD__' } });
      j = JSON.parse(r.body);
      if (j.schemaVersion) break; // the deployed node creates the schema in the background
      await sleep(100);
    }
    assert.equal(r.status, 200, r.body);
    assert.equal(j.ok, true);
    assert.match(j.server, /^PostgreSQL \d+/);
    assert.equal(j.location, `127.0.0.1:${pg.port}/${pg.database}`);
    assert.equal(j.schemaVersion, 1, 'the deployed node created the schema');
    r = await test({ ...fields, credentials: { password: 'Wrong-Password-123' } });
    assert.equal(r.status, 502);
    j = JSON.parse(r.body);
    assert.equal(j.ok, false);
    assert.match(j.message, /password authentication failed/);
    assert.ok(!r.body.includes('Wrong-Password-123') && !r.body.includes(pg.password));
    r = await test({ ...fields, connection: 'url', credentials: { connectionString: `mysql://u:${pg.password}@x/y` } });
    assert.equal(r.status, 400);
    assert.match(JSON.parse(r.body).message, /postgres:\/\//);
    assert.ok(!r.body.includes(pg.password));
    r = await test({ ...fields, connection: 'url', credentials: { connectionString: pg.connectionString } });
    assert.equal(JSON.parse(r.body).ok, true, r.body);
    r = await test({ ...fields, tablePrefix: 'x"; drop table y; --', credentials: { password: '__PWRD__' } });
    assert.equal(r.status, 400);
    // the password is a credential: not in the exported flow, not in the log
    const exported = await request(`${red.url}/flows`);
    assert.ok(!exported.body.includes(pg.password), 'password not in the exported flow');
    assert.ok(!red.log().includes(pg.password), 'password not in the log');
  });

  it('dead letters of the shared store are served by the admin route', async () => {
    const bad = essEvent({ facts: { fail: true } });
    const good = essEvent();
    assert.equal((await post(bad)).status, 200);
    assert.equal((await post(good)).status, 200);
    let list = [];
    for (let i = 0; i < 50 && list.length === 0; i++) {
      await sleep(100);
      list = JSON.parse((await request(`${red.url}/concur-ess-event-in/ess/dead-letters`)).body);
    }
    assert.equal(list.length, 1);
    assert.equal(list[0].id, bad.id);
    assert.match(list[0].reason, /rule failed/);
    assert.deepEqual(JSON.parse(list[0].body), bad);
  });

  it('database down at deploy: 503 with Retry-After and a red status, then it recovers by itself', async () => {
    await pg.stop();
    let started = false;
    try {
      await red.deploy(flows({ tablePrefix: 'down_' }));
      const t0 = Date.now();
      const r = await post(essEvent());
      assert.equal(r.status, 503, r.body);
      assert.ok(Date.now() - t0 < 10000, 'answered without waiting for the database');
      assert.match(String(r.headers['retry-after']), /^\d+$/);
      const until = Date.now() + 5000;
      while (!(lastStatus() && lastStatus().fill === 'red') && Date.now() < until) await sleep(100);
      assert.equal(lastStatus().fill, 'red');
      assert.match(lastStatus().text, /store/);
      await pg.start();
      started = true;
      const ev = essEvent();
      let ok;
      for (let i = 0; i < 40; i++) {
        ok = await post(ev);
        if (ok.status === 200) break;
        await sleep(500);
      }
      assert.equal(ok.status, 200, 'accepted once the database is back, with no redeploy');
      const until2 = Date.now() + 5000;
      while (!(lastStatus() && lastStatus().fill === 'green') && Date.now() < until2) await sleep(100);
      assert.equal(lastStatus().fill, 'green');
    } finally {
      if (!started) await pg.start();
    }
  });
});
