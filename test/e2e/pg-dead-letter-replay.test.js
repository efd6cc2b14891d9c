'use strict';
/**
 * Dead-letter replay and discard in the PostgreSQL event store, against a real
 * PostgreSQL (test/helpers/postgres.js), with two stores (two Node-RED
 * instances) on one table: a replayed dead letter is claimed by exactly one of
 * them, deliveryCount + 1, pending and leased (another instance takes it over
 * only after a crash); replay-all from both splits the dead letters; discard
 * drops the body and keeps the id a duplicate.
 */
const assert = require('node:assert/strict');
const { Client } = require('pg');
const { startPostgres } = require('../helpers/postgres');
const { PgDatabase } = require('../../dist/concur/pg-database');
const { PgEventStore } = require('../../dist/concur/pg-event-store');

let prefixN = 0;
const meta = { signatureVerified: true, correlationId: 'c-1' };
const ev = (id) => {
  const body = `{"id":"${id}","topic":"t"}`;
  return { id, receivedAt: Date.now(), body, bodyBytes: Buffer.from(body), meta };
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('PostgreSQL event store: dead-letter replay and discard (real PostgreSQL)', function () {
  this.timeout(60000);
  let pg;
  let prefix;
  const open = [];
  const db = () => {
    const d = new PgDatabase({
      host: pg.host,
      port: pg.port,
      user: pg.user,
      password: pg.password,
      database: pg.database,
      tablePrefix: prefix,
      poolSize: 3,
      statementTimeoutMs: 3000,
      connectTimeoutMs: 2000,
    });
    open.push(d);
    return d;
  };
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
  /** Two instances on one table; `ids` accepted by the first and failed. */
  async function twoWithDead(ids, o = {}) {
    const a = await PgEventStore.open(db(), { stream: 's', ...o });
    const b = await PgEventStore.open(db(), { stream: 's', ...o });
    for (const id of ids) {
      assert.equal((await a.accept(ev(id), { maxPending: 1000 })).kind, 'accepted');
      await a.markFailed(id, `boom ${id}`);
    }
    return { a, b };
  }

  before(async () => {
    pg = await startPostgres();
  });
  beforeEach(() => {
    prefix = `r${++prefixN}_`;
  });
  afterEach(async () => {
    for (const d of open.splice(0)) await d.close().catch(() => undefined);
  });
  after(async () => {
    if (pg) await pg.destroy();
  });

  it('a dead letter replayed on two instances at once is emitted by exactly one, pending and claimed with deliveryCount 2', async () => {
    const { a, b } = await twoWithDead(['d1', 'd2', 'd3']);
    for (const id of ['d1', 'd2', 'd3']) {
      const got = await Promise.all([a.replayDeadLetter(id), b.replayDeadLetter(id), a.replayDeadLetter(id), b.replayDeadLetter(id)]);
      const winners = got.filter(Boolean);
      assert.equal(winners.length, 1, `${id}: ${JSON.stringify(got)}`);
      assert.equal(winners[0].deliveryCount, 2);
      assert.equal(winners[0].body, `{"id":"${id}","topic":"t"}`);
      assert.deepEqual(winners[0].meta, meta);
    }
    const rows = await sql(`SELECT id, state, delivery_count, claim_owner IS NOT NULL AS claimed, last_error FROM "${prefix}ess_events" ORDER BY id`);
    assert.deepEqual(
      rows.map((r) => [r.id, r.state, r.delivery_count, r.claimed, r.last_error]),
      [
        ['d1', 'pending', 2, true, null],
        ['d2', 'pending', 2, true, null],
        ['d3', 'pending', 2, true, null],
      ],
    );
    assert.deepEqual(await a.deadLetters(), []);
    // claimed by the replayer: the other instance's poll does not take it
    assert.deepEqual(await a.claimPending(10), []);
    assert.deepEqual(await b.claimPending(10), []);
    assert.equal(await a.replayDeadLetter('d1'), undefined, 'pending, not dead');
    assert.equal(await a.replayDeadLetter('nope'), undefined, 'unknown');
    await Promise.all([a.close(), b.close()]);
  });

  it('a replayed event whose instance crashes is taken over by another after the lease (deliveryCount 3); done ends it', async () => {
    const dbA = db();
    const a = await PgEventStore.open(dbA, { stream: 's', leaseMs: 900 });
    const b = await PgEventStore.open(db(), { stream: 's', leaseMs: 900 });
    await a.accept(ev('x'), { maxPending: 10 });
    await a.markFailed('x', 'boom');
    assert.equal((await a.replayDeadLetter('x'))?.deliveryCount, 2);
    await sleep(1300);
    assert.deepEqual(await b.claimPending(10), [], 'A renews the lease of the replayed event while it runs');
    await dbA.close(); // A crashes
    await sleep(1200);
    const got = await b.claimPending(10);
    assert.deepEqual(
      got.map((e) => [e.id, e.deliveryCount]),
      [['x', 3]],
    );
    await b.markDone('x');
    assert.deepEqual(await b.deadLetters(), []);
    assert.deepEqual(await b.counts(), { pending: 0, done: 1, dead: 0 });
    await b.close();
  });

  it('replay-all on two instances at once: every dead letter replayed exactly once', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `e${i}`);
    const { a, b } = await twoWithDead(ids);
    const [ra, rb] = await Promise.all([a.replayDeadLetters(1000), b.replayDeadLetters(1000)]);
    const all = [...ra, ...rb].map((e) => e.id).sort();
    assert.deepEqual(all, [...ids].sort(), 'each once');
    for (const e of [...ra, ...rb]) assert.equal(e.deliveryCount, 2);
    assert.deepEqual(await a.replayDeadLetters(1000), []);
    // the limit bounds one call
    for (const id of ['l1', 'l2', 'l3']) {
      await a.accept(ev(id), { maxPending: 1000 });
      await a.markFailed(id, 'boom');
    }
    assert.equal((await b.replayDeadLetters(2)).length, 2);
    assert.equal((await a.deadLetters()).length, 1);
    await Promise.all([a.close(), b.close()]);
  });

  it('discard drops the body, keeps the id a duplicate, and is not replayable; discard-all empties the list', async () => {
    const { a, b } = await twoWithDead(['k1', 'k2', 'k3']);
    assert.equal(await b.discardDeadLetter('k1'), true);
    assert.equal(await a.discardDeadLetter('k1'), false);
    assert.equal(await a.replayDeadLetter('k1'), undefined);
    const [row] = await sql(`SELECT state, body FROM "${prefix}ess_events" WHERE id = 'k1'`);
    assert.deepEqual(row, { state: 'done', body: null });
    assert.deepEqual(await a.accept(ev('k1'), { maxPending: 10 }), { kind: 'duplicate' });
    assert.deepEqual((await a.deadLetters()).map((d) => d.id).sort(), ['k2', 'k3']);
    assert.equal(await a.discardDeadLetters(), 2);
    assert.deepEqual(await b.deadLetters(), []);
    assert.deepEqual(await b.counts(), { pending: 0, done: 3, dead: 0 });
    assert.equal(await a.discardDeadLetter('never-stored'), false);
    await Promise.all([a.close(), b.close()]);
  });
});
