'use strict';
/**
 * Dead-letter replay and discard through a REAL Node-RED (issue 16 item 4):
 * a flow that fails on the first delivery makes the event a dead letter; the
 * admin route replays it through the same flow with deliveryCount 2 and
 * msg.concur.replayed; it completes and leaves the list; discard drops one and
 * keeps its id a duplicate; ids with any characters; a replayed event that the
 * flow has not finished is emitted again after a restart; and with adminAuth a
 * read-only user cannot replay or discard.
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startRed, request } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');
const { startCollector } = require('../helpers/collector');
const { startPostgres } = require('../helpers/postgres');
const { Client } = require('pg');
const { testKeyPair, essEvent, signedDelivery } = require('../helpers/ess-signer');
const { forwarder, essNode, EVENT_FIELDS } = require('../helpers/ess-flows');

const TAB = 'tab-ess';
const key = testKeyPair('replay');
/** The admin path of one event id: encodeURIComponent, and dots escaped so ".." stays a segment. */
const seg = (id) => encodeURIComponent(id).replace(/\./g, '%2E');

for (const backend of ['file', 'postgres']) {
  describe(`dead-letter replay and discard (real Node-RED, ${backend} store)`, function () {
    this.timeout(120000);
    let red;
    let collector;
    let pg;
    const file = backend === 'file';
    /** One statement on its own connection (the PostgreSQL backend). */
    /** @type {(text: string, values?: unknown[]) => Promise<Record<string, any>[]>} */
    const sql = async (text, values) => {
      const c = new Client({ connectionString: pg.connectionString });
      await c.connect();
      try {
        return (await c.query(text, values)).rows;
      } finally {
        await c.end();
      }
    };

    const flows = () => [
      { id: TAB, type: 'tab', label: 'replay' },
      ...(file
        ? []
        : [
            {
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
              schema: 'concur_replay_test',
              tablePrefix: 'r_',
              leaseSec: 3,
              credentials: { password: pg.password },
            },
          ]),
      essNode({
        id: 'essR',
        path: '/concur/ess-replay',
        storeName: 'replay',
        store: file ? '' : 'pgstore',
        extraKeys: key.publicPem,
        completionTimeout: 10,
        wires: [['gate']],
      }),
      // Fails every first delivery; a "hold" event is held (never completes) on its replay.
      {
        id: 'gate',
        type: 'function',
        z: TAB,
        name: 'fail first',
        func: [
          'if (msg.concur.deliveryCount < 2) throw new Error("first delivery fails on purpose");',
          '// held: forwarded, but node.done is never called, so the message stays in flight',
          'const hold = Boolean(msg.payload.facts && msg.payload.facts.hold);',
          'node.send(msg);',
          'if (!hold) node.done();',
          'return null;',
        ].join('\n'),
        outputs: 1,
        wires: [['ev-fn']],
        x: 300,
        y: 100,
      },
      ...forwarder({ id: 'ev', z: TAB, url: collector.url, pathName: '/event', fields: EVENT_FIELDS }),
    ];
    const events = () => collector.received.filter((m) => m.path === '/event').map((m) => m.body);
    const admin = (p, method = 'GET', json) =>
      request(`${red.url}/concur-ess-event-in/essR/dead-letters${p}`, {
        method,
        headers: json ? { 'Content-Type': 'application/json' } : {},
        body: json ? JSON.stringify(json) : undefined,
      });
    const list = async () => {
      const r = await admin('');
      assert.equal(r.status, 200, r.body);
      return JSON.parse(r.body);
    };
    async function until(pred, what, ms = 10000) {
      const end = Date.now() + ms;
      for (;;) {
        const v = await pred();
        if (v) return v;
        if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    /** Posts an event and waits until it is a dead letter. */
    async function deadLetter(over = {}) {
      const ev = essEvent(over);
      const d = signedDelivery(ev, { privateKey: key.privateKey });
      const r = await request(`${red.url}/concur/ess-replay`, { method: 'POST', headers: d.headers, body: d.body });
      assert.equal(r.status, 200, r.body);
      await until(async () => (await list()).some((x) => x.id === ev.id), `${ev.id} in the dead letters`);
      return { ev, d };
    }

    before(async () => {
      if (!file) pg = await startPostgres();
      collector = await startCollector();
      red = await startRed();
      await red.deploy(flows());
    });
    after(async () => {
      await teardown({ red, collector });
      if (pg) await pg.destroy();
    });

    it('replays a dead letter through the same flow with deliveryCount 2 and msg.concur.replayed, then it leaves the list', async () => {
      const { ev } = await deadLetter();
      const [dead] = (await list()).filter((x) => x.id === ev.id);
      assert.equal(dead.deliveryCount, 1);
      assert.match(dead.reason, /first delivery fails on purpose/);
      assert.equal(events().length, 0, 'the first delivery failed');

      const r = await admin(`/${seg(ev.id)}/replay`, 'POST');
      assert.equal(r.status, 200, r.body);
      assert.deepEqual(JSON.parse(r.body), { replayed: ev.id, deliveryCount: 2 });
      const [m] = await collector.waitFor(1, 10000, '/event');
      assert.equal(m.body.concur.id, ev.id);
      assert.equal(m.body.concur.deliveryCount, 2);
      assert.equal(m.body.concur.replayed, true);
      assert.deepEqual(m.body.payload, ev);
      // completed: not a dead letter, not pending, and the journal says done
      await until(async () => (await list()).length === 0, 'an empty dead-letter list');
      if (file) {
        const journal = () => fs.readFileSync(path.join(red.opts.userDir, 'concur-ess', 'replay.journal'), 'utf8');
        await until(() => journal().includes(`"t":"d","id":"${ev.id}"`), 'a done record');
        assert.match(journal(), new RegExp(`"t":"p","id":"${ev.id}".*"n":2`));
      } else
        await until(async () => (await sql('SELECT state FROM concur_replay_test.r_ess_events WHERE id = $1', [ev.id]))[0]?.state === 'done', 'state done');
      // a second replay of the same id: not a dead letter any more
      const again = await admin(`/${seg(ev.id)}/replay`, 'POST');
      assert.equal(again.status, 404, again.body);
    });

    it('discards a dead letter: gone from the list, and a redelivery by ESS is a duplicate (not emitted)', async () => {
      const { ev, d } = await deadLetter();
      const before = events().length;
      const r = await admin(`/${seg(ev.id)}/discard`, 'POST');
      assert.equal(r.status, 200, r.body);
      assert.deepEqual(JSON.parse(r.body), { discarded: ev.id });
      assert.deepEqual(
        (await list()).map((x) => x.id),
        [],
      );
      const dup = await request(`${red.url}/concur/ess-replay`, { method: 'POST', headers: d.headers, body: d.body });
      assert.equal(dup.status, 200);
      await collector.settle(300);
      assert.equal(events().length, before);
      assert.equal((await admin(`/${seg(ev.id)}/discard`, 'POST')).status, 404);
      assert.equal((await admin(`/${seg(ev.id)}/replay`, 'POST')).status, 404);
      assert.equal((await request(`${red.url}/concur-ess-event-in/nope/dead-letters/x/replay`, { method: 'POST' })).status, 404);
    });

    it('event ids with any characters (slash, percent, dots, spaces, case) are addressed exactly', async () => {
      const a = await deadLetter({ id: 'Evt/..%2F x?#&.' });
      const b = await deadLetter({ id: '..' });
      const c = await deadLetter({ id: 'evt/..%2f x?#&.' }); // differs from a only in case
      const dc = await admin(`/${seg(c.ev.id)}/discard`, 'POST');
      assert.equal(dc.status, 200, dc.body);
      assert.deepEqual((await list()).map((x) => x.id).sort(), [a.ev.id, b.ev.id].sort());
      const n = events().length;
      // ".." cannot be a path segment (URL parsers collapse it): the JSON body form takes any id
      const rb = await admin('/replay', 'POST', { id: b.ev.id });
      assert.equal(rb.status, 200, rb.body);
      const ra = await admin(`/${seg(a.ev.id)}/replay`, 'POST');
      assert.equal(ra.status, 200, ra.body);
      assert.equal((await admin('/replay', 'POST', {})).status, 400);
      await collector.waitFor(n + 2, 10000, '/event');
      assert.deepEqual(
        events()
          .slice(n)
          .map((m) => m.concur.id)
          .sort(),
        [a.ev.id, b.ev.id].sort(),
      );
      await until(async () => (await list()).length === 0, 'an empty list');
    });

    it('replay-all and discard-all', async () => {
      const n = events().length;
      const x = await deadLetter();
      const y = await deadLetter();
      const r = await admin('/replay-all', 'POST');
      assert.equal(r.status, 200, r.body);
      const body = JSON.parse(r.body);
      assert.equal(body.replayed, 2);
      assert.deepEqual(body.ids.sort(), [x.ev.id, y.ev.id].sort());
      await collector.waitFor(n + 2, 10000, '/event');
      for (const m of events().slice(n)) {
        assert.equal(m.concur.replayed, true);
        assert.equal(m.concur.deliveryCount, 2);
      }
      await until(async () => (await list()).length === 0, 'an empty list after replay-all');
      await deadLetter();
      await deadLetter();
      const dr = await admin('/discard-all', 'POST');
      assert.equal(dr.status, 200, dr.body);
      assert.deepEqual(JSON.parse(dr.body), { discarded: 2 });
      assert.deepEqual(await list(), []);
      assert.deepEqual(JSON.parse((await admin('/replay-all', 'POST')).body), { replayed: 0, ids: [] });
    });

    it('a replayed event the flow has not finished is emitted again after a crash (SIGKILL) and restart: it is pending, not dead', async () => {
      const { ev } = await deadLetter({ facts: { hold: true } });
      assert.equal((await admin(`/${seg(ev.id)}/replay`, 'POST')).status, 200);
      const mine = () => events().filter((m) => m.concur.id === ev.id);
      await until(() => mine().length === 1, 'the replayed (held) event');
      assert.equal(mine()[0].concur.deliveryCount, 2);
      assert.deepEqual(await list(), [], 'held: neither done nor a dead letter');
      await red.kill(); // a crash (SIGKILL) while the replayed event is in the flow
      await red.start();
      // handed to the flow again after the restart, as any event stored but not finished (PostgreSQL: once the lease has run out)
      await until(() => mine().length === 2, 'the re-emission after the restart', 20000);
      assert.equal(mine()[1].concur.deliveryCount, 3);
      assert.deepEqual(await list(), []);
    });
  });
}

describe('dead-letter replay and discard need write permission (adminAuth)', function () {
  this.timeout(60000);
  // bcrypt of PASSWORD (cost 8), for Node-RED's adminAuth.
  const PASSWORD = 'key-info-admin-pass';
  const HASH = '$2b$08$.6Uv/bWDcx/3mTosCMNes.6BxOxuDkNVVtORi4tjCdKS7sfccf8Hy';
  let red;
  before(async () => {
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-red-'));
    fs.writeFileSync(
      path.join(userDir, 'flows.json'),
      JSON.stringify([{ id: TAB, type: 'tab', label: 'dl' }, essNode({ id: 'essDl', path: '/concur/ess-dl', storeName: 'dl', extraKeys: key.publicPem })]),
    );
    red = await startRed({
      userDir,
      readyPath: '/auth/login',
      settings: {
        adminAuth: {
          type: 'credentials',
          users: [
            { username: 'admin', password: HASH, permissions: '*' },
            { username: 'viewer', password: HASH, permissions: 'read' },
          ],
        },
      },
    });
  });
  after(() => teardown({ red }));

  async function token(username, scope) {
    const r = await request(`${red.url}/auth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ client_id: 'node-red-admin', grant_type: 'password', scope, username, password: PASSWORD }),
    });
    assert.equal(r.status, 200, r.body);
    return JSON.parse(r.body).access_token;
  }

  it('a read-only user gets 401 on every POST; an admin gets through (404: no such dead letter, or the counts)', async () => {
    const base = `${red.url}/concur-ess-event-in/essDl/dead-letters`;
    const viewer = { Authorization: `Bearer ${await token('viewer', 'read')}` };
    const adminH = { Authorization: `Bearer ${await token('admin', '*')}` };
    for (const p of ['/x/replay', '/x/discard', '/replay-all', '/discard-all']) {
      assert.equal((await request(base + p, { method: 'POST' })).status, 401, `${p} without a token`);
      const v = await request(base + p, { method: 'POST', headers: viewer });
      assert.ok(v.status === 401 || v.status === 403, `${p} read-only: ${v.status} ${v.body}`);
    }
    assert.equal((await request(`${base}/x/replay`, { method: 'POST', headers: adminH })).status, 404);
    assert.equal((await request(`${base}/x/discard`, { method: 'POST', headers: adminH })).status, 404);
    const all = await request(`${base}/replay-all`, { method: 'POST', headers: adminH });
    assert.equal(all.status, 200, all.body);
    assert.deepEqual(JSON.parse(all.body), { replayed: 0, ids: [] });
    const dall = await request(`${base}/discard-all`, { method: 'POST', headers: adminH });
    assert.deepEqual(JSON.parse(dall.body), { discarded: 0 });
  });
});
