'use strict';
/**
 * Several Node-RED instances behind a load balancer, sharing one PostgreSQL
 * (concur-store), end to end: two real Node-RED processes (startRed twice)
 * run the same flow; signed ESS deliveries are spread across both, some sent
 * again to the other instance (as ESS retries through a load balancer).
 *
 *   - 2000 events, 20 % re-sent to the other instance: every acknowledged id
 *     is emitted exactly once, by one of the two;
 *   - PostgreSQL stopped mid-load and started again: no 2xx for an event that
 *     is not committed (every 2xx id is in the table), 503 + Retry-After
 *     meanwhile, red status and back to green by itself, nothing acked lost;
 *   - two instances sharing one rotating refresh token under load against the
 *     simulator: one token request per expiry, zero invalid_grant;
 *   - one instance SIGKILLed mid-load: every acknowledged event is emitted by
 *     the survivor (taken over after the claim lease, deliveryCount >= 2).
 */
const assert = require('node:assert/strict');
const http = require('node:http');
const { Client } = require('pg');
const { startRed } = require('../helpers/red-runtime');
const { startCollector } = require('../helpers/collector');
const { startPostgres } = require('../helpers/postgres');
const { testKeyPair, essEvent, signedDelivery } = require('../helpers/ess-signer');
const { essNode } = require('../helpers/ess-flows');
const { companyToken } = require('../helpers/simulator-client');
const { startSimulator } = require('../../dist/simulator/index.js');

const TAB = 'tab-ess';
const PREFIX = 'mi_';
const LEASE_SEC = 3;
const key = testKeyPair('multi-instance');
const R1 = 'CB899F7D9F73420A8D8B';
const JANE = 'e1a0b7c4-5d2f-4c8a-9b1e-3f6d2a8c7e10';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Keep-alive agents: a load balancer keeps connections open; a fresh TCP connection per delivery would measure the kernel.
const agents = new Map();
function post(url, body, headers, timeoutMs = 15000) {
  const u = new URL(url);
  let agent = agents.get(u.port);
  if (!agent) agents.set(u.port, (agent = new http.Agent({ keepAlive: true, maxSockets: 16 })));
  return new Promise((resolve, reject) => {
    const req = http.request(u, { method: 'POST', headers: { ...headers, 'Content-Length': Buffer.byteLength(body) }, agent, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

describe('several Node-RED instances sharing one PostgreSQL store (real Node-RED x2, real PostgreSQL)', function () {
  this.timeout(120000);
  let pg;
  let sim;
  let collector;
  const red = {};
  let firstRefresh;

  /**
   * One statement on a connection of its own; the rows as plain objects.
   * @param {string} text
   * @param {unknown[]} [values]
   * @returns {Promise<Record<string, any>[]>}
   */
  const sql = async (text, values) => {
    const c = new Client({ connectionString: pg.connectionString });
    await c.connect();
    try {
      return (await c.query(text, values)).rows;
    } finally {
      await c.end();
    }
  };

  function flows() {
    const c = sim.credentials;
    return [
      { id: TAB, type: 'tab', label: 'ess' },
      {
        id: 'pgstore',
        type: 'concur-store',
        name: 'shared',
        backend: 'postgres',
        connection: 'fields',
        host: pg.host,
        port: pg.port,
        database: pg.database,
        user: pg.user,
        tls: 'off',
        ca: '',
        poolSize: 8,
        schema: '',
        tablePrefix: PREFIX,
        leaseSec: LEASE_SEC,
        credentials: { password: pg.password },
      },
      essNode({ store: 'pgstore', extraKeys: key.publicPem, wires: [['slow']] }),
      // Acknowledged events stay in the flow for a moment, so a kill catches some mid-flow.
      {
        id: 'slow',
        type: 'delay',
        z: TAB,
        pauseType: 'delay',
        timeout: '150',
        timeoutUnits: 'milliseconds',
        rate: '1',
        nbRateUnits: '1',
        rateUnits: 'second',
        randomFirst: '1',
        randomLast: '5',
        randomUnits: 'seconds',
        drop: false,
        allowrate: false,
        outputs: 1,
        wires: [['fwd']],
        x: 300,
        y: 100,
      },
      {
        id: 'fwd',
        type: 'function',
        z: TAB,
        func: "msg.payload = { concur: msg.concur, instance: env.get('CONCUR_INSTANCE') };\nmsg.headers = { 'content-type': 'application/json' };\nreturn msg;",
        outputs: 1,
        wires: [['fwd-req']],
        x: 450,
        y: 100,
      },
      {
        id: 'fwd-req',
        type: 'http request',
        z: TAB,
        method: 'POST',
        ret: 'txt',
        url: `${collector.url}/event`,
        tls: '',
        persist: false,
        wires: [[]],
        x: 600,
        y: 100,
      },
      { id: 'st', type: 'status', z: TAB, scope: ['ess'], wires: [['st-fn']], x: 150, y: 200 },
      {
        id: 'st-fn',
        type: 'function',
        z: TAB,
        func: "msg.payload = { status: msg.status, instance: env.get('CONCUR_INSTANCE'), at: Date.now() };\nmsg.headers = { 'content-type': 'application/json' };\nreturn msg;",
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
        url: `${collector.url}/status`,
        tls: '',
        persist: false,
        wires: [[]],
        x: 450,
        y: 200,
      },
      // Tokens: one connection shared through the store; an API call per HTTP request.
      {
        id: 'cfg',
        type: 'concur-config',
        name: 'sim',
        geolocation: 'custom',
        baseUrl: sim.url,
        tokenEndpoint: 'api',
        grantType: 'refresh_token',
        followGeolocation: true,
        timeout: 10,
        retries: 0,
        retryDelay: 5,
        retryMaxDelay: 20,
        expirySkew: 1,
        store: 'pgstore',
        credentials: { clientId: c.clientId, clientSecret: c.clientSecret, refreshToken: firstRefresh },
      },
      { id: 'api-in', type: 'http in', z: TAB, url: '/api', method: 'post', upload: false, swaggerDoc: '', wires: [['api-prep']], x: 150, y: 300 },
      {
        id: 'api-prep',
        type: 'function',
        z: TAB,
        func: `msg.reportId = '${R1}';\nmsg.userId = '${JANE}';\nreturn msg;`,
        outputs: 1,
        wires: [['api-get']],
        x: 300,
        y: 300,
      },
      { id: 'api-get', type: 'concur-get-report-details', z: TAB, server: 'cfg', version: 'v4', context: 'TRAVELER', wires: [['api-ok']], x: 450, y: 300 },
      {
        id: 'api-ok',
        type: 'function',
        z: TAB,
        func: "msg.payload = 'ok';\nmsg.statusCode = 200;\nreturn msg;",
        outputs: 1,
        wires: [['api-res']],
        x: 600,
        y: 300,
      },
      { id: 'api-catch', type: 'catch', z: TAB, scope: ['api-get'], uncaught: false, wires: [['api-err']], x: 450, y: 360 },
      {
        id: 'api-err',
        type: 'function',
        z: TAB,
        func: 'msg.payload = String(msg.error && msg.error.message);\nmsg.statusCode = 502;\nreturn msg;',
        outputs: 1,
        wires: [['api-res']],
        x: 600,
        y: 360,
      },
      { id: 'api-res', type: 'http response', z: TAB, statusCode: '', headers: {}, wires: [], x: 750, y: 300 },
    ];
  }

  before(async () => {
    [pg, sim, collector] = await Promise.all([startPostgres(), startSimulator({ port: 0 }), startCollector()]);
    firstRefresh = (await companyToken(sim)).refresh_token;
    [red.A, red.B] = await Promise.all([startRed({ env: { CONCUR_INSTANCE: 'A' } }), startRed({ env: { CONCUR_INSTANCE: 'B' } })]);
    // Deploy one after the other: both create/check the schema; the second finds it current.
    await red.A.deploy(flows());
    await red.B.deploy(flows());
  });

  after(async () => {
    for (const a of agents.values()) a.destroy();
    for (const r of [red.A, red.B]) {
      if (r) {
        await r.stop();
        r.cleanup();
      }
    }
    if (collector) await collector.close();
    if (sim) await sim.stop();
    if (pg) await pg.destroy();
  });

  const deliver = async (inst, ev) => {
    const d = signedDelivery(ev, { privateKey: key.privateKey });
    for (let attempt = 0; ; attempt++) {
      try {
        return await post(`${red[inst].url}/concur/ess`, d.body, d.headers);
      } catch (err) {
        // A kept-alive socket the server closed just as we reused it: ESS retries I/O errors, so do we (twice).
        if (attempt >= 2 || !/socket hang up|ECONNRESET/.test(`${err.code} ${err.message}`)) throw err;
      }
    }
  };
  const emissions = () => collector.received.filter((m) => m.path === '/event').map((m) => ({ ...m.body.concur, instance: m.body.instance }));
  const byId = () => {
    const m = new Map();
    for (const e of emissions()) m.set(e.id, [...(m.get(e.id) || []), e]);
    return m;
  };
  async function waitEmitted(ids, ms) {
    const until = Date.now() + ms;
    for (;;) {
      const seen = byId();
      const missing = ids.filter((id) => !seen.has(id));
      if (!missing.length || Date.now() > until) return missing;
      await sleep(200);
    }
  }
  /** Runs `fn(i)` for i < count with `workers` in parallel, stopping at `deadline`. */
  async function pool(count, workers, deadline, fn) {
    let next = 0;
    const until = typeof deadline === 'function' ? deadline : () => deadline;
    await Promise.all(
      Array.from({ length: workers }, async () => {
        while (next < count && Date.now() < until()) await fn(next++);
      }),
    );
    return next;
  }

  it('2000 events spread across both, 20 % re-sent to the other instance: every acknowledged id emitted exactly once', async () => {
    collector.clear?.();
    const events = Array.from({ length: 2000 }, () => essEvent());
    const statuses = new Map();
    const dupAnswers = [];
    const sent = await pool(events.length, 16, Date.now() + 40000, async (i) => {
      const ev = events[i];
      const first = i % 2 ? 'A' : 'B';
      const other = first === 'A' ? 'B' : 'A';
      if (i % 5 === 0) {
        // re-sent to the other instance: half of them concurrently (a retry racing the first delivery), half after the answer
        const [r1, r2] = i % 10 === 0 ? await Promise.all([deliver(first, ev), deliver(other, ev)]) : [await deliver(first, ev), await deliver(other, ev)];
        statuses.set(ev.id, [r1.status, r2.status]);
        dupAnswers.push(r1.body === 'duplicate' ? r1.body : r2.body);
      } else {
        const r = await deliver(first, ev);
        statuses.set(ev.id, [r.status]);
      }
    });
    assert.equal(sent, events.length, 'all deliveries made within the time bound');
    const bad = [...statuses].filter(([, s]) => s.some((x) => x !== 200));
    assert.deepEqual(bad.slice(0, 5), [], `${bad.length} deliveries not answered 200`);
    assert.ok(
      dupAnswers.every((b) => b === 'duplicate'),
      'of two deliveries of one id, one is answered "duplicate"',
    );
    const ids = events.map((e) => e.id);
    const missing = await waitEmitted(ids, 30000);
    assert.deepEqual(missing.slice(0, 5), [], `${missing.length} acknowledged events not emitted`);
    await sleep(500);
    const seen = byId();
    const twice = ids.filter((id) => seen.get(id).length !== 1);
    assert.deepEqual(twice.slice(0, 5), [], `${twice.length} events emitted more than once`);
    for (const id of ids) assert.equal(seen.get(id)[0].deliveryCount, 1);
    const perInstance = { A: 0, B: 0 };
    for (const id of ids) perInstance[seen.get(id)[0].instance]++;
    assert.ok(perInstance.A > 500 && perInstance.B > 500, `both instances emitted: ${JSON.stringify(perInstance)}`);
    await sleep(500);
    const rows = await sql(`SELECT state, count(*)::int AS n FROM "${PREFIX}ess_events" GROUP BY state ORDER BY state`);
    assert.deepEqual(rows, [{ state: 'done', n: ids.length }], 'every event done, none pending or dead');
    // the dead-letter route answers on both instances from the shared table
    for (const inst of ['A', 'B']) {
      const r = await new Promise((resolve, reject) =>
        http
          .get(`${red[inst].url}/concur-ess-event-in/ess/dead-letters`, (res) => {
            let b = '';
            res.on('data', (c) => (b += c));
            res.on('end', () => resolve({ status: res.statusCode, body: b }));
          })
          .on('error', reject),
      );
      assert.equal(r.status, 200);
      assert.deepEqual(JSON.parse(r.body), []);
    }
  });

  it('PostgreSQL stopped mid-load and started again: 503 + Retry-After meanwhile, never a 2xx for an uncommitted event, nothing acknowledged lost, status red then green', async () => {
    const events = [];
    const answers = new Map();
    const t0 = Date.now();
    let stopped = false;
    const outage = (async () => {
      await sleep(1000);
      await pg.stop();
      stopped = true;
      await sleep(2500);
      await pg.start();
    })();
    await pool(100000, 8, t0 + 6500, async (i) => {
      const ev = essEvent();
      events.push(ev);
      const inst = i % 2 ? 'A' : 'B';
      try {
        const r = await deliver(inst, ev);
        answers.set(ev.id, r);
      } catch (err) {
        answers.set(ev.id, { status: 0, error: err.message });
      }
      if (stopped) await sleep(20); // ESS backs off too; keep the bounded loop from spinning on fast 503s
    });
    await outage;
    const statuses = [...answers.values()].map((r) => r.status);
    const acked = events.filter((e) => answers.get(e.id).status === 200).map((e) => e.id);
    const refused = events.filter((e) => answers.get(e.id).status !== 200);
    assert.ok(refused.length > 0, 'the outage was seen');
    assert.ok(acked.length > 20, `${acked.length} acknowledged`);
    assert.ok(
      statuses.every((s) => s === 200 || s === 503),
      `only 200 or 503: ${[...new Set(statuses)].join(',')}`,
    );
    for (const e of refused) assert.match(String(answers.get(e.id).headers['retry-after']), /^\d+$/);
    // every 2xx was committed: the row exists now that the database is back
    const stored = new Set((await sql(`SELECT id FROM "${PREFIX}ess_events" WHERE id = ANY($1)`, [acked])).map((r) => r.id));
    assert.deepEqual(
      acked.filter((id) => !stored.has(id)),
      [],
      'an acknowledged event is not in the table',
    );
    // ESS retries what got no 2xx
    for (const e of refused) {
      let r;
      for (let i = 0; i < 20; i++) {
        r = await deliver(i % 2 ? 'A' : 'B', e);
        if (r.status === 200) break;
        await sleep(250);
      }
      assert.equal(r.status, 200, `retry of ${e.id}: ${r.status} ${r.body}`);
    }
    const ids = events.map((e) => e.id);
    const missing = await waitEmitted(ids, 20000);
    assert.deepEqual(missing.slice(0, 5), [], `${missing.length} events not emitted`);
    const seen = byId();
    for (const id of ids) {
      const list = seen.get(id);
      assert.ok(list.filter((x) => x.deliveryCount === 1).length <= 1, `${id}: one first delivery`);
      for (const x of list.slice(1)) assert.ok(x.deliveryCount >= 2, `${id}: a repeat is flagged as a redelivery`);
    }
    // the status badge said so and recovered by itself
    const st = collector.received.filter((m) => m.path === '/status' && m.body.at >= t0).map((m) => m.body);
    assert.ok(
      st.some((s) => s.status.fill === 'red' && /store/.test(s.status.text)),
      `red store status seen: ${JSON.stringify(st.slice(-3))}`,
    );
    const until = Date.now() + 5000;
    for (const inst of ['A', 'B']) {
      for (;;) {
        const last = collector.received.filter((m) => m.path === '/status' && m.body.instance === inst).pop();
        if (last && last.body.status.fill === 'green') break;
        assert.ok(Date.now() < until, `${inst} back to green: ${JSON.stringify(last && last.body.status)}`);
        await sleep(200);
      }
    }
  });

  it('two instances sharing one rotating refresh token under load: one token request per expiry, zero invalid_grant', async () => {
    sim.setFaults({ tokenTtlSeconds: 3 });
    // The simulator keeps the last 1000 requests only: on a fast machine the API calls push token
    // requests out of its log within seconds, so they are collected while the load runs.
    const before = new Set(sim.tokenRequests());
    const seen = new Set();
    const collect = () => {
      for (const r of sim.tokenRequests()) if (!before.has(r)) seen.add(r);
    };
    const collector100 = setInterval(collect, 100);
    const results = [];
    // 7 s of load counted from the first answered call (a busy machine may take a while to answer the first), at most 25 s in all.
    const hardStop = Date.now() + 25000;
    let firstOk;
    const deadline = () => Math.min(hardStop, firstOk ? firstOk + 7000 : hardStop);
    await pool(8000, 12, deadline, async (i) => {
      const r = await post(`${red[i % 2 ? 'A' : 'B'].url}/api`, '{}', { 'Content-Type': 'application/json' });
      results.push(r.status === 200 ? 200 : `${r.status} ${r.body}`);
      if (r.status === 200 && !firstOk) firstOk = Date.now();
      await sleep(10);
    });
    clearInterval(collector100);
    collect();
    sim.setFaults({ tokenTtlSeconds: 3600 });
    const failures = results.filter((r) => r !== 200);
    assert.deepEqual(failures.slice(0, 3), [], `${failures.length} of ${results.length} API calls failed`);
    assert.ok(results.length > 100, `${results.length} API calls`);
    const reqs = [...seen].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
    assert.deepEqual(
      reqs.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.oauthError}`),
      [],
      'zero invalid_grant',
    );
    // renewing 1 s before a 3 s expiry: a request every 2 s at most, from whichever instance
    assert.ok(reqs.length >= 2 && reqs.length <= 5, `${reqs.length} token requests in 7 s`);
    const at = reqs.map((r) => Date.parse(r.at));
    for (let i = 1; i < at.length; i++) assert.ok(at[i] - at[i - 1] >= 1500, `token requests ${i - 1} and ${i} only ${at[i] - at[i - 1]} ms apart`);
    const presented = reqs.map((r) => r.refreshTokenSha256);
    assert.equal(new Set(presented).size, presented.length, 'no refresh token presented twice');
    const row = await sql(
      `SELECT refresh_token IS NOT NULL AS has_refresh, access_token IS NOT NULL AS has_access FROM "${PREFIX}oauth_tokens" WHERE connection = 'cfg'`,
    );
    assert.deepEqual(row, [{ has_refresh: true, has_access: true }]);
  });

  it('one instance SIGKILLed mid-load: every acknowledged event is emitted by the survivor', async () => {
    const before = emissions().length;
    const events = Array.from({ length: 400 }, () => essEvent());
    const ackedBy = new Map();
    let killing;
    await pool(events.length, 8, Date.now() + 20000, async (i) => {
      const ev = events[i];
      let inst = killing ? 'A' : i % 2 ? 'A' : 'B';
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          const r = await deliver(inst, ev);
          if (r.status === 200) {
            ackedBy.set(ev.id, inst);
            break;
          }
        } catch {
          /* the killed instance: ESS retries, through the load balancer, on the survivor */
        }
        inst = 'A';
      }
      if (!killing && [...ackedBy.values()].filter((x) => x === 'B').length >= 80) killing = red.B.kill();
    });
    const exit = await killing;
    assert.equal(exit.signal, 'SIGKILL');
    assert.equal(ackedBy.size, events.length, 'every event acknowledged by one of the two');
    const ids = events.map((e) => e.id);
    const missing = await waitEmitted(ids, LEASE_SEC * 1000 + 15000);
    assert.deepEqual(missing.slice(0, 5), [], `${missing.length} acknowledged events never emitted`);
    const after = emissions().slice(before);
    const seen = new Map();
    for (const e of after) seen.set(e.id, [...(seen.get(e.id) || []), e]);
    let takenOver = 0;
    for (const id of ids) {
      const list = seen.get(id);
      assert.ok(list.filter((x) => x.deliveryCount === 1).length <= 1, `${id}: one first delivery`);
      for (const x of list.slice(1)) assert.ok(x.deliveryCount >= 2 && x.instance === 'A', `${id}: a repeat is a redelivery by the survivor`);
      if (list.some((x) => x.deliveryCount >= 2)) takenOver++;
    }
    assert.ok(takenOver >= 1, 'the kill caught events of B mid-flow; A took them over');
    await sleep(1000); // the last completions are recorded
    const pending = await sql(`SELECT count(*)::int AS n FROM "${PREFIX}ess_events" WHERE state = 'pending' AND id = ANY($1)`, [ids]);
    assert.equal(pending[0].n, 0, `${pending[0].n} still pending after every event was emitted and completed`);
  });
});
