'use strict';
/**
 * Unit tests of the durable ESS event journal (concur/event-journal.js):
 * acknowledged events survive reopen, done/failed states, dedupe window,
 * torn tails, compaction, group commit and the bounded dead-letter record.
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { EventJournal } = require('../../dist/concur/event-journal');
const { seenLineKey } = require('../../dist/concur/dedupe-set');

const H = 3600_000;

describe('event-journal', () => {
  let dir;
  let file;
  let clock;
  const open = (o = {}) => EventJournal.open({ file, now: () => clock, ...o });
  const ev = (id, body = `{"id":"${id}"}`) => ({ id, receivedAt: clock, body, meta: { signatureVerified: true, keyId: 'k', correlationId: `c-${id}` } });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-journal-'));
    file = path.join(dir, 'sub', 'node.journal');
    clock = Date.UTC(2026, 10, 1);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keeps accepted events across reopen, with body, metadata and delivery count', async () => {
    let j = await open();
    const s = await j.accept(ev('a', '{ "id" : "a",\n "x": 1.50 }'));
    assert.equal(s.deliveryCount, 1);
    await j.accept(ev('b'));
    assert.equal(j.lookup('a'), 'pending');
    assert.equal(j.pendingCount(), 2);
    await j.close();
    j = await open();
    const pending = j.pendingEvents();
    assert.deepEqual(
      pending.map((p) => p.id),
      ['a', 'b'],
    );
    assert.equal(pending[0].body, '{ "id" : "a",\n "x": 1.50 }', 'exact body text');
    assert.deepEqual(pending[0].meta, { signatureVerified: true, keyId: 'k', correlationId: 'c-a' });
    assert.equal(j.redelivered('a'), 2);
    await j.close();
    j = await open();
    assert.equal(j.pendingEvents()[0].deliveryCount, 2, 'redelivery count persisted');
    await j.close();
  });

  it('done and failed events are not pending after reopen, but remain duplicates within the window', async () => {
    let j = await open({ dedupeWindowMs: 10 * H });
    await j.accept(ev('a'));
    await j.accept(ev('b'));
    await j.accept(ev('c'));
    j.markDone('a');
    j.markFailed('b', 'boom');
    await j.close();
    j = await open({ dedupeWindowMs: 10 * H });
    assert.deepEqual(
      j.pendingEvents().map((p) => p.id),
      ['c'],
    );
    assert.equal(j.lookup('a'), 'done');
    assert.equal(j.lookup('b'), 'failed');
    assert.deepEqual(
      j.deadLetters().map((d) => [d.id, d.reason, d.body]),
      [['b', 'boom', '{"id":"b"}']],
    );
    // Past the window, done ids are forgotten; pending ones never are.
    clock += 11 * H;
    assert.equal(j.lookup('a'), undefined);
    assert.equal(j.lookup('c'), 'pending');
    assert.equal(j.lookup('b'), 'failed', 'a kept dead letter still dedupes');
    j.prune();
    await j.compact();
    await j.close();
    j = await open({ dedupeWindowMs: 10 * H });
    assert.equal(j.lookup('a'), undefined);
    assert.equal(j.lookup('c'), 'pending');
    await j.close();
  });

  it('bounds the dead-letter record: old dead letters shrink to dedupe entries', async () => {
    const j = await open({ deadLetterMax: 3 });
    for (let i = 0; i < 6; i++) {
      await j.accept(ev(`e${i}`));
      j.markFailed(`e${i}`, `r${i}`);
    }
    assert.deepEqual(
      j.deadLetters().map((d) => d.id),
      ['e3', 'e4', 'e5'],
    );
    assert.equal(j.lookup('e0'), 'seen');
    await j.close();
    const j2 = await open({ deadLetterMax: 3 });
    assert.deepEqual(
      j2.deadLetters().map((d) => d.id),
      ['e3', 'e4', 'e5'],
    );
    assert.equal(j2.lookup('e0'), 'seen');
    await j2.close();
  });

  it('cuts a torn last line (crash mid-write) and skips corrupt lines, keeping every complete record', async () => {
    const j = await open();
    await j.accept(ev('a'));
    await j.accept(ev('b'));
    await j.close();
    fs.appendFileSync(file, 'garbage that is not json\n{"t":"a","id":"torn","at":1,"b":"{\\"id');
    const j2 = await open();
    assert.deepEqual(
      j2.pendingEvents().map((p) => p.id),
      ['a', 'b'],
    );
    const st = j2.getStats();
    assert.equal(st.corruptLines, 1);
    assert.ok(st.tornTailBytes > 10);
    await j2.accept(ev('c'));
    await j2.close();
    const j3 = await open();
    assert.deepEqual(
      j3.pendingEvents().map((p) => p.id),
      ['a', 'b', 'c'],
    );
    assert.equal(j3.getStats().corruptLines, 0, 'reopen after compaction is clean');
    await j3.close();
  });

  it('a later accept of an id re-used after its window wins over the old done record', async () => {
    const j = await open({ dedupeWindowMs: 1 * H });
    await j.accept(ev('x'));
    j.markDone('x');
    clock += 2 * H;
    assert.equal(j.lookup('x'), undefined);
    await j.accept(ev('x', '{"id":"x","v":2}'));
    await j.close();
    // Replay the raw append log (no compaction in between) to check record order handling.
    const j2 = await open({ dedupeWindowMs: 1 * H });
    assert.deepEqual(
      j2.pendingEvents().map((p) => p.body),
      ['{"id":"x","v":2}'],
    );
    await j2.close();
  });

  it('group commit: many concurrent accepts share few fdatasyncs, all durable', async () => {
    const j = await open();
    const n = 200;
    await Promise.all(Array.from({ length: n }, (_, i) => j.accept(ev(`g${i}`))));
    const st = j.getStats();
    assert.equal(st.pending, n);
    assert.ok(st.syncs >= 1 && st.syncs < n / 4, `syncs=${st.syncs} for ${n} accepts`);
    await j.close();
    const j2 = await open();
    assert.equal(j2.pendingEvents().length, n);
    await j2.close();
  });

  it('refuses a second accept of an id that is pending or being stored, and exposes the in-flight store', async () => {
    const j = await open();
    const p = j.accept(ev('a'));
    assert.ok(j.storing('a'), 'in flight');
    await assert.rejects(j.accept(ev('a')), /already stored/);
    await p;
    assert.equal(j.storing('a'), undefined);
    await assert.rejects(j.accept(ev('a')), /already stored/);
    await j.close();
    await assert.rejects(j.accept(ev('b')), /closed/);
  });

  it('compaction keeps the file bounded while preserving live state', async () => {
    const j = await open({ compactAboveBytes: 64 * 1024 });
    const big = 'x'.repeat(2000);
    for (let i = 0; i < 200; i++) {
      await j.accept(ev(`c${i}`, JSON.stringify({ id: `c${i}`, big })));
      if (i < 190) j.markDone(`c${i}`);
      await j.maybeCompact();
    }
    await j.close();
    const size = fs.statSync(file).size;
    assert.ok(size < 200 * 1024, `journal is ${size} bytes after compaction`);
    assert.ok(j.getStats().compactions >= 1);
    const j2 = await open();
    assert.deepEqual(
      j2.pendingEvents().map((p) => p.id),
      Array.from({ length: 10 }, (_, i) => `c${190 + i}`),
    );
    for (let i = 0; i < 190; i++) assert.ok(['done', 'seen'].includes(j2.lookup(`c${i}`)), `c${i} still deduped`);
    await j2.close();
  });

  describe('seen lines written from the compact dedupe set', () => {
    const seenLines = () =>
      fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
        .filter((r) => r.t === 's');
    /** An id as its seen line names it: a UUID as itself, any other id by its 128-bit key (`h`). */
    const lineKey = (r) => r.id ?? `h:${r.h}`;
    const keyOf = (id) => {
      const k = seenLineKey(id);
      return k.id ?? `h:${k.h}`;
    };

    it('ids finished between several compactions all stay duplicates after reopen, each written once', async () => {
      let j = await open({ dedupeWindowMs: 10 * H });
      for (let round = 0; round < 4; round++) {
        for (let i = 0; i < 50; i++) {
          await j.accept(ev(`r${round}-${i}`));
          if (i % 10 !== 9) j.markDone(`r${round}-${i}`);
        }
        await j.compact();
        clock += 1000;
      }
      await j.close();
      const ids = seenLines().map(lineKey);
      assert.equal(ids.length, 4 * 45, 'one seen line per finished id');
      assert.equal(new Set(ids).size, ids.length, 'no id written twice');
      j = await open({ dedupeWindowMs: 10 * H });
      for (let round = 0; round < 4; round++) {
        for (let i = 0; i < 50; i++) assert.equal(j.lookup(`r${round}-${i}`), i % 10 === 9 ? 'pending' : 'seen', `r${round}-${i}`);
      }
      await j.close();
    });

    it('drops the lines of ids that left the window, and an id finished twice dedupes by its later time', async () => {
      let j = await open({ dedupeWindowMs: 10 * H });
      await j.accept(ev('old'));
      j.markDone('old');
      clock += 6 * H;
      await j.accept(ev('twice'));
      j.markDone('twice');
      await j.compact(); // seals "old" (t0) and "twice" (t0+6h) into one chunk
      clock += 5 * H; // "old" is out of the window, "twice" is not: the chunk stays, with a stale "old" line
      clock += 6 * H; // now "twice" is out too (17 h after t0, 11 h after its first time)
      assert.equal(j.lookup('twice'), undefined);
      await j.accept(ev('twice')); // accepted again after its window, finished again
      j.markDone('twice');
      await j.compact();
      await j.close();
      assert.deepEqual(seenLines().map(lineKey), [keyOf('twice')], 'expired ids are not written');
      j = await open({ dedupeWindowMs: 10 * H });
      assert.equal(j.lookup('twice'), 'seen', 'deduped by its later finish');
      assert.equal(j.lookup('old'), undefined);
      await j.close();
    });

    it('an id finished twice dedupes by its later finish after reopen; its expired first finish is not written', async () => {
      let j = await open({ dedupeWindowMs: 10 * H });
      await j.accept(ev('x'));
      j.markDone('x');
      clock += 8 * H;
      await j.accept(ev('keeps-chunk'));
      j.markDone('keeps-chunk');
      clock += 3 * H; // x (t0) expired; keeps-chunk (t0+8h) not
      await j.accept(ev('x'));
      j.markDone('x');
      await j.compact(); // x@t0 has expired: only keeps-chunk@8h and x@11h are written
      await j.close();
      assert.deepEqual(seenLines().map(lineKey), [keyOf('keeps-chunk'), keyOf('x')]);
      j = await open({ dedupeWindowMs: 10 * H });
      clock += 8 * H; // 19 h after t0: x's first finish is long gone, its second (11 h) is 8 h old
      assert.equal(j.lookup('x'), 'seen', 'the later seen line wins over the earlier one');
      await j.close();
    });

    it('rebuilds the lines from memory when most of them are stale', async () => {
      const j = await open({ dedupeWindowMs: 1000, sync: false });
      for (let i = 0; i < 12000; i++) {
        await j.accept(ev(`s${i}`));
        if (i % 100 === 0)
          clock = Date.UTC(2026, 10, 1) + 500; // every 100th id is younger: each chunk keeps one
        else clock = Date.UTC(2026, 10, 1);
      }
      for (let i = 0; i < 12000; i++) j.markDone(`s${i}`);
      await j.compact();
      assert.equal(seenLines().length, 12000);
      clock = Date.UTC(2026, 10, 1) + 1200; // only the younger ids are inside the window
      await j.compact();
      await j.close();
      const left = seenLines();
      assert.equal(left.length, 120, 'only the 120 ids inside the window are written');
      assert.ok(left.every((r) => r.at === Date.UTC(2026, 10, 1) + 500));
    });
  });

  describe('compaction in the background', () => {
    /** Holds the next compaction at the point where it opens its temp file, until released. */
    function holdCompaction() {
      const realOpen = fs.promises.open;
      let release;
      const released = new Promise((r) => (release = r));
      let reached;
      const atTemp = new Promise((r) => (reached = r));
      fs.promises.open = async function (p, ...rest) {
        if (String(p) === `${file}.compact-tmp`) {
          reached();
          await released;
        }
        return realOpen.call(this, p, ...rest);
      };
      return { atTemp, release: () => ((fs.promises.open = realOpen), release()) };
    }
    const within = (p, ms) => Promise.race([p.then(() => true), new Promise((r) => setTimeout(() => r(false), ms))]);

    it('accepts are acknowledged while a compaction is writing its snapshot, and land in the new file', async () => {
      let j = await open({ dedupeWindowMs: 10 * H });
      await j.accept(ev('before-pending'));
      await j.accept(ev('before-done'));
      const hold = holdCompaction();
      let compacted;
      try {
        compacted = j.compact();
        await hold.atTemp;
        // Appends go on: durable (fdatasync'd) and answered while the snapshot waits.
        assert.equal(await within(j.accept(ev('during')), 2000), true, 'accept acknowledged during the compaction');
        j.markDone('before-done');
        j.markFailed('before-pending', 'flow error');
        await j.accept(ev('during-2'));
      } finally {
        hold.release();
      }
      await compacted;
      assert.equal(j.getStats().compactions, 1, 'this one (open does not rewrite)');
      await j.accept(ev('after'));
      await j.close();
      j = await open({ dedupeWindowMs: 10 * H });
      assert.deepEqual(
        j.pendingEvents().map((e) => e.id),
        ['during', 'during-2', 'after'],
      );
      assert.ok(['done', 'seen'].includes(j.lookup('before-done')), 'done mark copied after the snapshot');
      assert.deepEqual(
        j.deadLetters().map((d) => [d.id, d.reason]),
        [['before-pending', 'flow error']],
      );
      assert.equal(j.getStats().corruptLines, 0);
      await j.close();
    });

    it('a crash while the snapshot is being written leaves a complete journal (every acknowledged event is read back)', async () => {
      const j = await open();
      for (let i = 0; i < 5; i++) await j.accept(ev(`k${i}`));
      j.markDone('k0');
      const hold = holdCompaction();
      let compacted;
      try {
        compacted = j.compact();
        await hold.atTemp;
        await j.accept(ev('mid'));
        // "Restart" now: read the file as a new process would, while the first one is stuck mid-compaction.
        const copy = path.join(dir, 'copy.journal');
        fs.copyFileSync(file, copy);
        const j2 = await EventJournal.open({ file: copy, now: () => clock });
        assert.deepEqual(
          j2.pendingEvents().map((e) => e.id),
          ['k1', 'k2', 'k3', 'k4', 'mid'],
        );
        assert.equal(j2.lookup('k0'), 'done');
        await j2.close();
      } finally {
        hold.release();
      }
      await compacted;
      await j.close();
    });

    it('compact() during a running compaction waits for a second one that includes the newer records', async () => {
      const j = await open();
      await j.accept(ev('a'));
      const hold = holdCompaction();
      let first;
      let second;
      try {
        first = j.compact();
        await hold.atTemp;
        await j.accept(ev('b'));
        second = j.compact();
      } finally {
        hold.release();
      }
      await Promise.all([first, second]);
      assert.equal(j.getStats().compactions, 2, 'two (open does not rewrite)');
      await j.close();
      const lines = fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
      assert.deepEqual(
        lines.filter((r) => r.t === 'a').map((r) => r.id),
        ['a', 'b'],
      );
    });
  });

  it('an acknowledged accept survives a rewrite that starts right after it (no lost-ack race)', async () => {
    const j = await open();
    const p = j.accept(ev('r1'));
    const c = j.compact(); // queued behind the write
    await Promise.all([p, c]);
    await j.close();
    const j2 = await open();
    assert.deepEqual(
      j2.pendingEvents().map((e) => e.id),
      ['r1'],
    );
    await j2.close();
  });

  it('a failed compaction (rename refused) leaves the journal writable and complete', async () => {
    const j = await open();
    await j.accept(ev('a'));
    const realRename = fs.promises.rename;
    fs.promises.rename = async () => {
      throw Object.assign(new Error('EPERM: rename refused'), { code: 'EPERM' });
    };
    try {
      await j.compact(); // swallowed: compaction is an optimisation
    } finally {
      fs.promises.rename = realRename;
    }
    await j.accept(ev('b'));
    await j.close();
    assert.equal(fs.existsSync(`${file}.compact-tmp`), false, 'temp file removed');
    const j2 = await open();
    assert.deepEqual(
      j2.pendingEvents().map((p) => p.id),
      ['a', 'b'],
    );
    await j2.close();
  });

  describe('record format (version 2: body bytes as base64)', () => {
    const lines = () =>
      fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));

    it('stores the exact received bytes as base64 with their length, one JSON object per line, and reads them back', async () => {
      const text = '{"id":"u","note":"tab\there, quote \" backslash \\\\ newline \n ünïcödé €"}';
      let j = await open();
      await j.accept({ ...ev('u', text), bodyBytes: Buffer.from(text, 'utf8') });
      await j.accept(ev('v')); // without bodyBytes: encoded from the text
      await j.close();
      const recs = lines();
      assert.equal(recs[0].t, 'h');
      assert.equal(recs[0].v, 3);
      const a = recs.find((r) => r.t === 'a' && r.id === 'u');
      assert.equal(a.b, undefined, 'no JSON-escaped copy of the body');
      assert.equal(Buffer.from(a.b64, 'base64').toString('utf8'), text);
      assert.equal(a.len, Buffer.byteLength(text));
      assert.deepEqual(a.m, { signatureVerified: true, keyId: 'k', correlationId: 'c-u' });
      j = await open();
      assert.deepEqual(
        j.pendingEvents().map((p) => [p.id, p.body]),
        [
          ['u', text],
          ['v', '{"id":"v"}'],
        ],
      );
      await j.close();
    });

    it('appended records (not only compacted ones) use the new format and survive reopen without compaction', async () => {
      const j = await open();
      await j.accept({ ...ev('w'), bodyBytes: Buffer.from('{"id":"w"}') });
      // Read the file as written by the append path (open() compacts, so look before any reopen).
      const appended = lines().find((r) => r.t === 'a' && r.id === 'w');
      assert.equal(Buffer.from(appended.b64, 'base64').toString(), '{"id":"w"}');
      await j.close();
    });

    it('keeps invalid UTF-8 bytes exactly (the old text format could not)', async () => {
      const bytes = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
      const j = await open();
      await j.accept({ ...ev('bin', bytes.toString('utf8')), bodyBytes: bytes });
      await j.close();
      const a = lines().find((r) => r.t === 'a');
      assert.deepEqual(Buffer.from(a.b64, 'base64'), bytes);
    });

    it('reads journals written by version 1 (body as JSON text), including redelivery, done and failed records', async () => {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const v1 = [
        { t: 'h', v: 1 },
        { t: 'a', id: 'old1', at: clock - 1000, b: '{"id":"old1","s":"a\\"b"}', m: { signatureVerified: true, keyId: 'k1' }, n: 1 },
        { t: 'a', id: 'old2', at: clock - 900, b: '{"id":"old2"}', m: { signatureVerified: false }, n: 1 },
        { t: 'a', id: 'old3', at: clock - 800, b: '{"id":"old3"}', m: { signatureVerified: true }, n: 1 },
        { t: 'r', id: 'old1', n: 3 },
        { t: 'd', id: 'old2', at: clock - 500 },
        { t: 'f', id: 'old3', at: clock - 400, r: 'boom' },
        { t: 's', id: 'old0', at: clock - 2000 },
      ];
      fs.writeFileSync(file, v1.map((r) => JSON.stringify(r)).join('\n') + '\n');
      let j = await open();
      const pending = j.pendingEvents();
      assert.deepEqual(
        pending.map((p) => [p.id, p.body, p.deliveryCount, p.meta.keyId]),
        [['old1', '{"id":"old1","s":"a\\"b"}', 3, 'k1']],
      );
      assert.equal(j.lookup('old2'), 'done');
      assert.equal(j.lookup('old0'), 'seen');
      assert.deepEqual(
        j.deadLetters().map((d) => [d.id, d.reason, d.body]),
        [['old3', 'boom', '{"id":"old3"}']],
      );
      // Mixed file: new records appended after old ones.
      await j.accept(ev('new1'));
      assert.equal(lines().filter((r) => r.t === 'a' && typeof r.b === 'string').length, 3, 'open reads the old records where they are (no rewrite)');
      await j.compact();
      await j.close();
      assert.ok(
        lines()
          .filter((r) => r.t === 'a')
          .every((r) => typeof r.b64 === 'string'),
        'rewritten in the new format by a compaction',
      );
      j = await open();
      assert.deepEqual(
        j.pendingEvents().map((p) => p.id),
        ['old1', 'new1'],
      );
      assert.equal(j.pendingEvents()[0].body, '{"id":"old1","s":"a\\"b"}');
      await j.close();
    });

    it('a torn new-format record (cut inside its base64) is dropped; a parseable record whose length does not match counts as corrupt', async () => {
      let j = await open();
      await j.accept(ev('a'));
      await j.close();
      const big = JSON.stringify({ id: 'torn', pad: 'y'.repeat(5000) });
      const whole = Buffer.concat([
        Buffer.from(JSON.stringify({ t: 'a', id: 'torn', at: clock, m: { signatureVerified: true }, n: 1, len: big.length }).slice(0, -1) + ',"b64":"'),
        Buffer.from(Buffer.from(big).toString('base64')),
        Buffer.from('"}\n'),
      ]);
      const damaged = JSON.stringify({ t: 'a', id: 'short', at: clock, m: {}, n: 1, len: 999, b64: Buffer.from('{"id":"short"}').toString('base64') });
      fs.appendFileSync(file, damaged + '\n');
      fs.appendFileSync(file, whole.subarray(0, 3000)); // crash mid-write
      j = await open();
      assert.deepEqual(
        j.pendingEvents().map((p) => p.id),
        ['a'],
      );
      const st = j.getStats();
      assert.equal(st.tornTailBytes, 3000);
      assert.equal(st.corruptLines, 1, 'the length mismatch');
      assert.equal(j.lookup('short'), undefined);
      await j.accept(ev('b'));
      await j.close();
      j = await open();
      assert.deepEqual(
        j.pendingEvents().map((p) => p.id),
        ['a', 'b'],
      );
      assert.equal(j.getStats().tornTailBytes, 0);
      await j.close();
    });
  });

  it('compacts under sustained load (the queue never empties) and keeps every acknowledged event', async () => {
    const j = await open({ compactAboveBytes: 32 * 1024 });
    const big = 'z'.repeat(3000);
    let next = 0;
    const acked = [];
    // 8 writers that always have an accept queued: the writer loop never sees an empty queue.
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < 400) {
          const id = `s${next++}`;
          await j.accept(ev(id, JSON.stringify({ id, big })));
          acked.push(id);
          if (Number(id.slice(1)) % 10 !== 0) j.markDone(id);
        }
      }),
    );
    const st = j.getStats();
    assert.ok(st.compactions >= 2, `compactions=${st.compactions}`);
    // ~2.2 MB were appended (400 records of ~5.5 KB); the rule allows up to 2x the live size (40 pending events) + 64 KiB.
    assert.ok(fs.statSync(file).size < 1024 * 1024, `journal is ${fs.statSync(file).size} bytes`);
    await j.close();
    const j2 = await open();
    const expectPending = acked.filter((id) => Number(id.slice(1)) % 10 === 0).sort();
    assert.deepEqual(
      j2
        .pendingEvents()
        .map((p) => p.id)
        .sort(),
      expectPending,
    );
    for (const id of acked) assert.ok(j2.lookup(id), `${id} still deduped`);
    await j2.close();
  });

  it('pipelined group commit: a failed fdatasync rejects its batch and the batch written meanwhile; later writes work again', async () => {
    const j = await open();
    await j.accept(ev('before'));
    // @ts-expect-error reaches the private file handle on purpose: a failing fdatasync is injected
    const realSync = j.fh.datasync;
    let fail = true;
    // @ts-expect-error (as above)
    j.fh.datasync = async function () {
      if (fail) {
        fail = false;
        await new Promise((r) => setTimeout(r, 20)); // keep it in flight while the next batch is written
        throw Object.assign(new Error('EIO: sync failed'), { code: 'EIO' });
      }
      return realSync.call(this);
    };
    const first = j.accept(ev('x1'));
    await new Promise((r) => setImmediate(r));
    const second = j.accept(ev('x2')); // written while x1's sync is in flight
    const results = await Promise.allSettled([first, second]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
    assert.match(/** @type {PromiseRejectedResult} */ (results[0]).reason.message, /EIO/);
    assert.match(/** @type {PromiseRejectedResult} */ (results[1]).reason.message, /sync failed/);
    assert.equal(j.lookup('x1'), undefined, 'not recorded: the receiver answered 503 and ESS retries');
    assert.equal(j.lookup('x2'), undefined);
    await j.accept(ev('after'));
    assert.equal(j.lookup('after'), 'pending');
    await j.close();
  });

  it('write failures reject the accept (so the receiver answers 503) and do not record the id', async () => {
    const j = await open();
    await j.accept(ev('ok'));
    // Simulate a broken disk: close the underlying handle behind the journal's back.
    // @ts-expect-error reaches the private file handle on purpose
    await j.fh.close();
    await assert.rejects(j.accept(ev('lost')));
    assert.equal(j.lookup('lost'), undefined);
    assert.equal(j.pendingCount(), 1);
  });

  describe('open without a rewrite (a restart needs no free space and little time)', () => {
    it('cuts a torn tail in place, deletes a temp file left by a crashed compaction, and appends to the same file', async () => {
      let j = await open();
      await j.accept(ev('a'));
      await j.close();
      const ino = fs.statSync(file).ino;
      const good = fs.statSync(file).size;
      const torn = '{"t":"a","id":"torn","at":1,"b64":"eyJp';
      fs.appendFileSync(file, torn);
      fs.writeFileSync(`${file}.compact-tmp`, 'half a snapshot');
      j = await open();
      assert.equal(j.getStats().tornTailBytes, torn.length);
      assert.equal(fs.statSync(file).size, good, 'torn tail truncated');
      assert.equal(fs.statSync(file).ino, ino, 'the same file (not a rewritten copy)');
      assert.equal(fs.existsSync(`${file}.compact-tmp`), false);
      assert.equal(j.getStats().compactions, 0);
      await j.accept(ev('b'));
      await j.close();
      j = await open();
      assert.deepEqual(
        j.pendingEvents().map((p) => p.id),
        ['a', 'b'],
      );
      assert.equal(j.getStats().corruptLines, 0);
      await j.close();
    });

    it('reads seen lines written in any key order or spacing (slow path) the same as its own (fast path)', async () => {
      const u = '0f8fad5b-d9cb-469f-a165-70867728950e';
      const u2 = '1f8fad5b-d9cb-469f-a165-70867728950e';
      const h = seenLineKey('plain-id').h;
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(
        file,
        [
          '{"t":"h","v":3}',
          `{"t":"s","id":"${u}","at":${clock - 10}}`,
          `{"at":${clock - 5}, "id":"${u2}", "t":"s"}`,
          `{"t":"s","h":"${h}","at":${clock}}`,
          `{"t":"s","id":"${u.toUpperCase()}","at":${clock}}`,
          `{"t":"s","h":"not-hex","at":${clock}}`,
        ].join('\n') + '\n',
      );
      const j = await open();
      assert.equal(j.lookup(u), 'seen');
      assert.equal(j.lookup(u2), 'seen');
      assert.equal(j.lookup('plain-id'), 'seen');
      assert.equal(j.lookup(u.toUpperCase()), 'seen');
      assert.equal(j.lookup('other'), undefined);
      assert.equal(j.getStats().corruptLines, 1, 'a seen line with a bad key');
      await j.close();
    });
  });
});
