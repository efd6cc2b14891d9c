'use strict';
/**
 * Dead-letter replay and discard in the journal file store
 * (dist/concur/event-journal.js "p" records, dist/concur/event-store.js):
 * a replayed dead letter is pending again with its delivery count + 1 and
 * stays so across reopen and compaction (a crash before its flow finishes
 * emits it again); a discarded one keeps its id a duplicate; only dead
 * letters can be replayed or discarded.
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { EventJournal } = require('../../dist/concur/event-journal');
const { FileEventStore } = require('../../dist/concur/event-store');

const H = 3600_000;

describe('dead-letter replay (journal file store)', () => {
  let dir;
  let file;
  let clock;
  const open = (o = {}) => EventJournal.open({ file, now: () => clock, dedupeWindowMs: 10 * H, ...o });
  const ev = (id) => ({ id, receivedAt: clock, body: `{"id":"${id}"}`, meta: { signatureVerified: true } });
  /** A journal holding dead letter `id` (delivered once, failed). */
  const withDead = async (...ids) => {
    const j = await open();
    for (const id of ids) {
      await j.accept(ev(id));
      j.markFailed(id, `boom ${id}`);
    }
    return j;
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-replay-'));
    file = path.join(dir, 'node.journal');
    clock = Date.UTC(2026, 10, 1);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('replay makes a dead letter pending with deliveryCount + 1, durably: it is pending again after reopen', async () => {
    let j = await withDead('a', 'b');
    const got = await j.replay('a');
    assert.equal(got?.id, 'a');
    assert.equal(got?.deliveryCount, 2);
    assert.equal(got?.body, '{"id":"a"}');
    assert.equal(j.lookup('a'), 'pending');
    assert.deepEqual(
      j.deadLetters().map((d) => d.id),
      ['b'],
    );
    assert.equal(j.getStats().pending, 1);
    // the "p" record was synced before replay() resolved: a crash now (no close) keeps it
    const raw = fs.readFileSync(file, 'utf8');
    assert.match(raw, /"t":"p","id":"a"/);
    const crashed = j;
    j = await open();
    assert.deepEqual(
      j.pendingEvents().map((e) => [e.id, e.deliveryCount]),
      [['a', 2]],
    );
    assert.deepEqual(
      j.deadLetters().map((d) => d.id),
      ['b'],
    );
    await crashed.close();
    // it can fail again and be replayed again
    j.markFailed('a', 'again');
    assert.equal((await j.replay('a'))?.deliveryCount, 3);
    await j.close();
  });

  it('a replayed event stays pending through compaction, and is done for good once the flow completes', async () => {
    let j = await withDead('a', 'b');
    await j.replay('a');
    await j.compact();
    assert.equal(j.getStats().compactions, 1);
    assert.doesNotMatch(fs.readFileSync(file, 'utf8'), /"t":"p"/, 'the snapshot holds it as a pending accept');
    await j.close();
    j = await open();
    assert.deepEqual(
      j.pendingEvents().map((e) => [e.id, e.deliveryCount]),
      [['a', 2]],
    );
    assert.deepEqual(
      j.deadLetters().map((d) => d.id),
      ['b'],
    );
    j.markDone('a');
    await j.close();
    j = await open();
    assert.equal(j.pendingEvents().length, 0);
    assert.equal(j.lookup('a'), 'done');
    await j.close();
  });

  it('a replay or discard racing a compaction is kept either way (the record lands in the snapshot or is copied after it)', async () => {
    let j = await open();
    for (let i = 0; i < 2000; i++) {
      await j.accept(ev(`done-${i}`)); // finished ids: the snapshot has lines to write
      j.markDone(`done-${i}`);
    }
    for (let round = 0; round < 6; round++) {
      const r = `r${round}`;
      const x = `x${round}`;
      for (const id of [r, x]) {
        await j.accept(ev(id));
        j.markFailed(id, 'boom');
      }
      // started in both orders, and with the compaction a turn ahead
      const ops = [() => j.compact(), () => j.replay(r), async () => j.discard(x)];
      if (round % 2) ops.reverse();
      const running = [];
      for (const op of ops) {
        running.push(op());
        if (round >= 3) await new Promise((res) => setImmediate(res));
      }
      await Promise.all(running);
      assert.equal(j.getStats().compactions, 1, `round ${round}: compacted`);
      await j.close();
      j = await open();
      assert.equal(j.lookup(r), 'pending', `round ${round}: replayed`);
      assert.ok(j.lookup(x) && j.lookup(x) !== 'failed', `round ${round}: discarded, still a duplicate`);
      j.markDone(r);
    }
    await j.close();
  });

  it('refuses to replay or discard what is not a dead letter', async () => {
    const j = await withDead('dead');
    await j.accept(ev('pending'));
    await j.accept(ev('done'));
    j.markDone('done');
    for (const id of ['pending', 'done', 'unknown']) {
      assert.equal(await j.replay(id), undefined, id);
      assert.equal(j.discard(id), false, id);
    }
    assert.equal(j.lookup('pending'), 'pending');
    // two concurrent replays of one dead letter: one event to emit
    const both = await Promise.all([j.replay('dead'), j.replay('dead')]);
    assert.equal(both.filter(Boolean).length, 1);
    assert.equal(await j.replay('dead'), undefined, 'already pending');
    await j.close();
  });

  it('discard drops the body and keeps the id a duplicate, across reopen and compaction', async () => {
    let j = await withDead('a', 'b', 'c');
    assert.equal(j.discard('a'), true);
    assert.equal(j.discard('a'), false);
    assert.deepEqual(
      j.deadLetters().map((d) => d.id),
      ['b', 'c'],
    );
    assert.ok(j.lookup('a'), 'still a duplicate');
    assert.notEqual(j.lookup('a'), 'failed');
    await j.close();
    j = await open();
    assert.deepEqual(
      j.deadLetters().map((d) => d.id),
      ['b', 'c'],
    );
    assert.ok(j.lookup('a'));
    await j.compact();
    await j.close();
    j = await open();
    assert.ok(j.lookup('a'), 'a duplicate after compaction');
    assert.equal(j.getStats().failed, 2);
    // past the window it is forgotten like any finished id
    clock += 11 * H;
    j.prune();
    assert.equal(j.lookup('a'), undefined);
    await j.close();
  });

  it('replayed and discarded ids no longer count toward the dead-letter limit', async () => {
    const j = await open({ deadLetterMax: 2 });
    for (const id of ['a', 'b']) {
      await j.accept(ev(id));
      j.markFailed(id, 'x');
    }
    assert.equal(j.discard('b'), true);
    await j.replay('a');
    j.markFailed('a', 'y'); // failed again: one entry, not two
    await j.accept(ev('c'));
    j.markFailed('c', 'z');
    assert.deepEqual(
      j.deadLetters().map((d) => d.id),
      ['a', 'c'],
      'both kept: the limit is 2 live dead letters',
    );
    await j.close();
  });

  it('FileEventStore: replay-all and discard-all, and accept() answers duplicate for a discarded id', async () => {
    const store = new FileEventStore(await withDead('a', 'b', 'c'));
    const replayed = await store.replayDeadLetters(2);
    assert.deepEqual(
      replayed.map((e) => [e.id, e.deliveryCount]),
      [
        ['a', 2],
        ['b', 2],
      ],
    );
    assert.equal(await store.replayDeadLetter('a'), undefined);
    assert.equal(await store.discardDeadLetters(), 1);
    assert.deepEqual(await store.deadLetters(), []);
    assert.deepEqual(await store.counts(), { pending: 2, done: 1, dead: 0 });
    const again = await store.accept({ ...ev('c'), body: '{}' }, { maxPending: 10 });
    assert.equal(again.kind, 'duplicate');
    await store.close();
  });
});
