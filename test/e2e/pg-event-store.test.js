'use strict';
/**
 * The PostgreSQL event store against a real PostgreSQL (started by the test,
 * test/helpers/postgres.js): schema creation and versioning, accept/dedupe
 * committed before it resolves, claims and take-over after a lease, SKIP LOCKED
 * claims never shared, dead letters seen from another instance, batched
 * expiry, and a database outage (rejects, then recovers by itself).
 */
const assert = require('node:assert/strict');
const { Client } = require('pg');
const { startPostgres } = require('../helpers/postgres');
const { PgDatabase, SCHEMA_VERSION } = require('../../dist/concur/pg-database');
const { PgEventStore } = require('../../dist/concur/pg-event-store');
const { EssReceiver } = require('../../dist/concur/ess-receiver');

let prefixN = 0;
const meta = { signatureVerified: true, correlationId: 'c-1' };
const ev = (id, body = `{"id":"${id}","topic":"t"}`) => ({ id, receivedAt: Date.now(), body, bodyBytes: Buffer.from(body), meta });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('PostgreSQL event store (real PostgreSQL)', function () {
  this.timeout(60000);
  let pg;
  const open = [];
  const db = (extra = {}) => {
    const d = new PgDatabase({
      host: pg.host,
      port: pg.port,
      user: pg.user,
      password: pg.password,
      database: pg.database,
      poolSize: 4,
      statementTimeoutMs: 3000,
      connectTimeoutMs: 2000,
      ...extra,
    });
    open.push(d);
    return d;
  };
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
  let prefix;
  beforeEach(() => {
    prefix = `t${++prefixN}_`;
  });

  before(async () => {
    pg = await startPostgres();
  });
  afterEach(async () => {
    for (const d of open.splice(0)) await d.close().catch(() => undefined);
  });
  after(async () => {
    if (pg) await pg.destroy();
  });

  it('creates and versions its schema once, also when two instances start together', async () => {
    const a = db({ tablePrefix: prefix, schema: 'concur_test' });
    const b = db({ tablePrefix: prefix, schema: 'concur_test' });
    await Promise.all([a.ready(), b.ready()]);
    const v = await sql(`SELECT version FROM concur_test."${prefix}schema_version" WHERE component = 'concur'`);
    assert.deepEqual(v, [{ version: SCHEMA_VERSION }]);
    const cols = await sql(
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'concur_test' AND table_name = $1 ORDER BY ordinal_position`,
      [`${prefix}ess_events`],
    );
    assert.deepEqual(
      cols.map((c) => c.column_name),
      ['stream', 'id', 'body', 'received_at', 'state', 'delivery_count', 'claim_owner', 'lease_until', 'last_error', 'finished_at', 'meta'],
    );
    assert.equal(cols.find((c) => c.column_name === 'body').data_type, 'bytea');
    // a newer schema than we know is refused, not silently used
    await sql(`UPDATE concur_test."${prefix}schema_version" SET version = 99`);
    await assert.rejects(db({ tablePrefix: prefix, schema: 'concur_test' }).ready(), /version 99/);
  });

  it('rejects table prefixes and schema names that are not plain identifiers', () => {
    assert.throws(() => db({ tablePrefix: 'x"; drop table y; --' }), /letters, digits/);
    assert.throws(() => db({ schema: '1abc' }), /letters, digits/);
  });

  it('accept commits the exact bytes before it resolves; the same id is a duplicate on every instance', async () => {
    const a = await PgEventStore.open(db({ tablePrefix: prefix }), { stream: 's1' });
    const b = await PgEventStore.open(db({ tablePrefix: prefix }), { stream: 's1' });
    const bytes = Buffer.concat([Buffer.from('{"id":"e1","x":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]); // invalid UTF-8 kept
    const r = await a.accept({ id: 'e1', receivedAt: Date.now(), body: bytes.toString('utf8'), bodyBytes: bytes, meta }, { maxPending: 100 });
    assert.equal(r.kind, 'accepted');
    assert.equal(r.stored.deliveryCount, 1);
    const rows = await sql(`SELECT body, state, delivery_count, claim_owner, meta FROM "${prefix}ess_events" WHERE stream = 's1' AND id = 'e1'`);
    assert.equal(rows.length, 1, 'committed: visible to another connection at once');
    assert.deepEqual(rows[0].body, bytes);
    assert.equal(rows[0].state, 'pending');
    assert.equal(rows[0].claim_owner, a.owner);
    assert.deepEqual(rows[0].meta, meta);
    assert.deepEqual(await b.accept(ev('e1'), { maxPending: 100 }), { kind: 'duplicate' });
    assert.deepEqual(await a.accept(ev('e1'), { maxPending: 100 }), { kind: 'duplicate' });
    // another stream (another receiver) has its own ids
    const c = await PgEventStore.open(db({ tablePrefix: prefix }), { stream: 's2' });
    assert.equal((await c.accept(ev('e1'), { maxPending: 100 })).kind, 'accepted');
    // concurrent deliveries of one id: exactly one is accepted
    const same = await Promise.all([a, b, a, b].map((s) => s.accept(ev('e2'), { maxPending: 100 })));
    assert.equal(same.filter((x) => x.kind === 'accepted').length, 1);
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it('concurrent accepts share multi-row INSERTs: each id stored once, duplicates in one group answered as duplicates, and a row the database refuses fails alone', async () => {
    const a = await PgEventStore.open(db({ tablePrefix: prefix }), { stream: 's1' });
    const ids = Array.from({ length: 150 }, (_, i) => `g${i}`);
    // Every id twice, all at once: the batcher puts both copies of many ids into one statement.
    const results = await Promise.all([...ids, ...ids].map((id) => a.accept(ev(id), { maxPending: 1000 })));
    assert.equal(results.filter((r) => r.kind === 'accepted').length, 150);
    assert.equal(results.filter((r) => r.kind === 'duplicate').length, 150);
    const [{ n }] = await sql(`SELECT count(*)::int AS n FROM "${prefix}ess_events" WHERE stream = 's1'`);
    assert.equal(n, 150);
    // PostgreSQL text cannot hold NUL: that row fails, the others gathered with it are stored.
    const mixed = await Promise.allSettled(['ok1', 'bad\u0000id', 'ok2'].map((id) => a.accept(ev(id), { maxPending: 1000 })));
    assert.deepEqual(
      mixed.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    const stored = await sql(`SELECT id FROM "${prefix}ess_events" WHERE stream = 's1' AND id IN ('ok1', 'ok2') ORDER BY id`);
    assert.deepEqual(
      stored.map((r) => r.id),
      ['ok1', 'ok2'],
    );
    // Done marks are gathered too: 150 at once end as done rows without bodies.
    await Promise.all(ids.map((id) => a.markDone(id)));
    const [{ done }] = await sql(`SELECT count(*)::int AS done FROM "${prefix}ess_events" WHERE stream = 's1' AND state = 'done' AND body IS NULL`);
    assert.equal(done, 150);
    await a.close();
  });

  it('a claimed event is not taken by another instance while the lease is renewed; after a crash it is, with deliveryCount + 1', async () => {
    const dbA = db({ tablePrefix: prefix });
    const a = await PgEventStore.open(dbA, { stream: 's', leaseMs: 1000 });
    const b = await PgEventStore.open(db({ tablePrefix: prefix }), { stream: 's', leaseMs: 1000 });
    assert.equal((await a.accept(ev('x1'), { maxPending: 100 })).kind, 'accepted');
    await sleep(1800); // longer than the lease: A's heartbeat (every lease/3) keeps it
    assert.deepEqual(await b.claimPending(10), [], 'not taken while A renews its lease');
    // A crashes: its connections go away, nothing is released
    await dbA.close();
    await sleep(1300);
    const got = await b.claimPending(10);
    assert.equal(got.length, 1);
    assert.equal(got[0].id, 'x1');
    assert.equal(got[0].deliveryCount, 2);
    assert.equal(got[0].body, '{"id":"x1","topic":"t"}');
    assert.deepEqual(got[0].meta, meta);
    assert.deepEqual(await b.claimPending(10), [], 'claimed once');
    await b.markDone('x1');
    const rows = await sql(`SELECT state, body, claim_owner FROM "${prefix}ess_events" WHERE id = 'x1'`);
    assert.deepEqual(rows, [{ state: 'done', body: null, claim_owner: null }]);
    assert.deepEqual(await b.accept(ev('x1'), { maxPending: 100 }), { kind: 'duplicate' }, 'done ids stay duplicates');
    await b.close();
  });

  it('a row committed while its answer was lost (the delivery got 503) is not held by the lease heartbeat: another instance emits it', async () => {
    const a = await PgEventStore.open(db({ tablePrefix: prefix }), { stream: 's', leaseMs: 900 });
    const b = await PgEventStore.open(db({ tablePrefix: prefix }), { stream: 's', leaseMs: 900 });
    await a.accept(ev('live'), { maxPending: 10 }); // a real in-flight event: A's heartbeat keeps renewing
    // what an INSERT by A looks like when the connection broke before the answer came back
    await sql(
      `INSERT INTO "${prefix}ess_events" (stream, id, body, received_at, state, claim_owner, lease_until, meta) VALUES ('s', 'orphan', $1, now(), 'pending', $2, now() + interval '900 milliseconds', '{"signatureVerified":true}')`,
      [Buffer.from('{"id":"orphan"}'), a.owner],
    );
    await sleep(1600);
    const got = await b.claimPending(10);
    assert.deepEqual(
      got.map((e) => [e.id, e.deliveryCount]),
      [['orphan', 2]],
      'the orphan is taken over; the live event stays with A',
    );
    await Promise.all([a.close(), b.close()]);
  });

  it('close gives the claims back at once; concurrent claimers never get the same event (SKIP LOCKED)', async () => {
    const a = await PgEventStore.open(db({ tablePrefix: prefix }), { stream: 's' });
    for (let i = 0; i < 300; i++) await a.accept(ev(`k${i}`), { maxPending: 1000 });
    await a.close();
    const stores = await Promise.all([1, 2, 3].map(() => PgEventStore.open(db({ tablePrefix: prefix, poolSize: 2 }), { stream: 's' })));
    const seen = new Map();
    await Promise.all(
      stores.map(async (s, i) => {
        for (;;) {
          const got = await s.claimPending(7);
          if (!got.length) return;
          for (const e of got) {
            assert.ok(!seen.has(e.id), `${e.id} claimed by ${seen.get(e.id)} and ${i}`);
            seen.set(e.id, i);
            assert.equal(e.deliveryCount, 2);
          }
        }
      }),
    );
    assert.equal(seen.size, 300);
    assert.ok(new Set(seen.values()).size >= 2, 'the work was shared');
    await Promise.all(stores.map((s) => s.close()));
  });

  it('dead letters are kept with body and reason and are readable from another instance', async () => {
    const a = await PgEventStore.open(db({ tablePrefix: prefix }), { stream: 's' });
    const b = await PgEventStore.open(db({ tablePrefix: prefix }), { stream: 's' });
    await a.accept(ev('d1'), { maxPending: 10 });
    await a.markFailed('d1', 'flow error: boom');
    const dl = await b.deadLetters();
    assert.equal(dl.length, 1);
    assert.equal(dl[0].id, 'd1');
    assert.equal(dl[0].reason, 'flow error: boom');
    assert.equal(dl[0].body, '{"id":"d1","topic":"t"}');
    assert.ok(dl[0].failedAt >= dl[0].receivedAt);
    assert.deepEqual(await b.counts(), { pending: 0, done: 0, dead: 1 });
    assert.deepEqual(await b.claimPending(10), [], 'a dead letter is not emitted again');
    assert.deepEqual(await b.accept(ev('d1'), { maxPending: 10 }), { kind: 'duplicate' });
    await Promise.all([a.close(), b.close()]);
  });

  it('back-pressure: overload past maxPending, but a stored id is still a duplicate', async () => {
    const a = await PgEventStore.open(db({ tablePrefix: prefix }), { stream: 's' });
    assert.equal((await a.accept(ev('p1'), { maxPending: 1 })).kind, 'accepted');
    assert.deepEqual(await a.accept(ev('p2'), { maxPending: 1 }), { kind: 'overload' });
    assert.deepEqual(await a.accept(ev('p1'), { maxPending: 1 }), { kind: 'duplicate' });
    assert.equal(a.pendingCount(), 1);
    await a.markDone('p1');
    assert.equal(a.pendingCount(), 0);
    assert.equal((await a.accept(ev('p2'), { maxPending: 1 })).kind, 'accepted');
    assert.equal((await sql(`SELECT count(*)::int AS n FROM "${prefix}ess_events"`))[0].n, 2, 'an overloaded delivery stored nothing');
    await a.close();
  });

  it('expiry deletes done ids after the dedupe window in small batches, keeps pending events and the newest dead letters', async () => {
    const a = await PgEventStore.open(db({ tablePrefix: prefix }), { stream: 's', dedupeWindowMs: 200, deadLetterMax: 2, expiryBatch: 7 });
    for (let i = 0; i < 40; i++) {
      await a.accept(ev(`o${i}`), { maxPending: 1000 });
      if (i < 30) await a.markDone(`o${i}`);
      else if (i < 35) await a.markFailed(`o${i}`, 'x');
    }
    await sleep(300);
    const n = await a.expire();
    assert.equal(n, 30 + 3);
    assert.deepEqual(await a.counts(), { pending: 5, done: 0, dead: 2 });
    assert.equal((await a.accept(ev('o0'), { maxPending: 1000 })).kind, 'accepted', 'past the window an id is new again (as with the file store)');
    await a.close();
  });

  it('two instances expiring at the same time share the work without errors', async () => {
    const a = await PgEventStore.open(db({ tablePrefix: prefix }), { stream: 's', dedupeWindowMs: 100, expiryBatch: 50 });
    const b = await PgEventStore.open(db({ tablePrefix: prefix }), { stream: 's', dedupeWindowMs: 100, expiryBatch: 50 });
    await sql(
      `INSERT INTO "${prefix}ess_events" (stream, id, received_at, state) SELECT 's', 'z' || g, now() - interval '1 hour', 'done' FROM generate_series(1, 1200) g`,
    );
    const [x, y] = await Promise.all([a.expire(), b.expire()]);
    assert.equal(x + y, 1200);
    assert.deepEqual(await a.counts(), { pending: 0, done: 0, dead: 0 });
    await Promise.all([a.close(), b.close()]);
  });

  it('the receiver answers 503 while the database is down and never 2xx for an uncommitted event; recovers by itself', async function () {
    const d = db({ tablePrefix: prefix, connectTimeoutMs: 1000 });
    const store = await PgEventStore.open(d, { stream: 's' });
    const receiver = new EssReceiver({ store, verifySignature: false, keys: [], retryAfterSec: 9 });
    const deliver = (id) =>
      receiver.handle({
        rawBody: Buffer.from(JSON.stringify({ id, topic: 'concur.expense.report', eventType: 'SubmitStatusChanged', timestamp: '2026-01-01T00:00:00Z' })),
        headers: {},
      });
    assert.equal((await deliver('u1')).status, 200);
    await store.markDone('u1');
    await pg.stop();
    try {
      const r = await deliver('u2');
      assert.equal(r.status, 503);
      assert.equal(r.retryAfterSec, 9);
      assert.equal(r.category, 'store');
      const dup = await deliver('u1');
      assert.equal(dup.status, 503, 'not even a duplicate can be confirmed without the database');
      assert.equal(store.health().ok, false);
      assert.match(store.health().message, /database unavailable/);
    } finally {
      await pg.start();
    }
    const r = await deliver('u2');
    assert.equal(r.status, 200, 'the pool reconnects by itself');
    assert.equal(r.kind, 'accepted');
    assert.equal(store.health().ok, true);
    assert.equal((await deliver('u1')).kind, 'duplicate');
    const rows = await sql(`SELECT id FROM "${prefix}ess_events" ORDER BY id`);
    assert.deepEqual(
      rows.map((x) => x.id),
      ['u1', 'u2'],
    );
    await store.close();
  });

  it('an outcome recorded while the database is down is kept (lease renewed) and written once it is back', async () => {
    const a = await PgEventStore.open(db({ tablePrefix: prefix, connectTimeoutMs: 1000 }), { stream: 's', leaseMs: 900 });
    const b = await PgEventStore.open(db({ tablePrefix: prefix }), { stream: 's', leaseMs: 900 });
    await a.accept(ev('m1'), { maxPending: 10 });
    await pg.stop();
    try {
      await assert.rejects(a.markDone('m1'));
      assert.match(a.health().message, /database unavailable|not yet recorded/);
    } finally {
      await pg.start();
    }
    await sleep(1500); // heartbeats retry the mark
    assert.deepEqual(await b.claimPending(10), [], 'never re-emitted: the outcome was recorded');
    assert.deepEqual(await sql(`SELECT state FROM "${prefix}ess_events" WHERE id = 'm1'`), [{ state: 'done' }]);
    assert.equal(a.health().ok, true);
    assert.equal(a.pendingCount(), 0);
    await Promise.all([a.close(), b.close()]);
  });
});
