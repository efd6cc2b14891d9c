'use strict';
/**
 * Memory of the file store's dedupe set, measured in a child process started
 * with --expose-gc (so the figure is not disturbed by this mocha process): a
 * journal with 1 M finished ids in the 72 h window (9 in 10 UUIDs, 1 in 10
 * other ids) is opened, and the V8 heap plus memory outside it must grow by
 * at most 48 bytes per id (the Map it replaced took ~250). Also unit tests of
 * the compact set itself.
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { DedupeSet, seenLineKey, seenLineWriter } = require('../../dist/concur/dedupe-set');

const CHILD = path.join(__dirname, '..', 'helpers', 'journal-load-child.js');
const H = 3600_000;

describe('dedupe set: compact ids in time buckets', () => {
  it('1 M ids in the window cost at most 48 bytes each (heap + external, after GC), and every sampled id is found', function () {
    this.timeout(60_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-dedupe-mem-'));
    try {
      const r = spawnSync(process.execPath, ['--expose-gc', CHILD, dir, '1000000'], { encoding: 'utf8', timeout: 50_000 });
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout.trim().split('\n').pop());
      console.log(
        `      1 M ids: ${out.bytesPerId.toFixed(1)} B/id (heap + external; ${out.heapBytesPerId.toFixed(1)} on the V8 heap; ` +
          `${out.bytesPerIdCountingArrayBuffersTwice.toFixed(1)} if arrayBuffers, already inside external, is added again), ` +
          `set ${(out.dedupeBytes / 1048576).toFixed(1)} MiB, open ${out.openMs.toFixed(0)} ms, first accept after ${out.firstAcceptMs.toFixed(0)} ms`,
      );
      assert.equal(out.tracked, 1_000_000);
      assert.deepEqual(out.sampleMissing, []);
      assert.ok(out.bytesPerId <= 48, `${out.bytesPerId.toFixed(1)} bytes per id`);
      assert.ok(out.dedupeBytes / out.ids <= 48, 'the set reports its own size');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('UUIDs are held as their 16 bytes and print back exactly; other ids (and upper-case UUIDs) as a 128-bit hash', () => {
    const s = new DedupeSet(72 * H);
    const t = Date.UTC(2026, 10, 1);
    const ids = ['0f8fad5b-d9cb-469f-a165-70867728950e', 'not-a-uuid', '0F8FAD5B-D9CB-469F-A165-70867728950E', '', 'ü'.repeat(300)];
    ids.forEach((id, i) => s.add(id, t + i, i % 2 ? 'done' : 'seen'));
    ids.forEach((id, i) => assert.equal(s.lookup(id, t), i % 2 ? 'done' : 'seen', JSON.stringify(id)));
    assert.equal(s.lookup('0f8fad5b-d9cb-469f-a165-70867728950f', t), undefined);
    assert.equal(s.lookup('not-a-uuiD', t), undefined);
    const lines = seenLineWriter(s.view(t))()
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(lines[0], { t: 's', id: ids[0], at: t });
    assert.deepEqual(
      lines.slice(1).map((l) => l.id),
      [undefined, undefined, undefined, undefined],
    );
    assert.deepEqual(
      lines.map((l) => l.h ?? l.id),
      ids.map((id) => {
        const k = seenLineKey(id);
        return k.h ?? k.id;
      }),
    );
    assert.ok(lines.slice(1).every((l) => /^[0-9a-f]{32}$/.test(l.h)));
  });

  it('expires each id at its own time, and drops whole buckets once all their ids are out of the window', () => {
    const w = 72 * H;
    const s = new DedupeSet(w);
    assert.equal(s.span, 3 * H, 'one bucket per 3 hours for a 72 h window');
    const t0 = Date.UTC(2026, 10, 1);
    for (let i = 0; i < 5000; i++) s.add(`id-${i}`, t0 + i * 60_000, 'done'); // one a minute, ~83 h
    assert.equal(s.size, 5000);
    const now = t0 + 4999 * 60_000;
    const cutoff = now - w;
    const bytes = s.bytes();
    // Ids just before and at the cutoff (same bucket): the exact time decides.
    const k = Math.ceil((cutoff - t0) / 60_000);
    assert.equal(s.lookup(`id-${k - 1}`, cutoff), undefined);
    assert.equal(s.lookup(`id-${k}`, cutoff), 'done');
    const dropped = s.prune(cutoff);
    assert.ok(dropped > 0 && dropped <= k, `dropped ${dropped}`);
    assert.equal(s.size, 5000 - dropped);
    assert.ok(s.bytes() < bytes, 'memory is given back');
    assert.equal(s.lookup(`id-${k}`, cutoff), 'done');
    assert.equal(s.lookup('id-4999', cutoff), 'done');
    // Nothing left after the window has passed entirely.
    s.prune(now + H);
    assert.equal(s.size, 0);
    assert.equal(s.bytes(), 0);
    assert.equal(s.lookup('id-4999', now + 1), undefined);
  });

  it('a time slot with more ids than one bucket can address gets more buckets, all found and all expired together', () => {
    const s = new DedupeSet(72 * H, { bucketMax: 1000 });
    const t0 = Date.UTC(2026, 10, 1);
    for (let i = 0; i < 3500; i++) s.add(`many-${i}`, t0 + i, 'done');
    for (let i = 0; i < 3500; i += 7) assert.equal(s.lookup(`many-${i}`, t0), 'done', `many-${i}`);
    assert.equal(s.lookup('many-3500', t0), undefined);
    const lines = [];
    const next = seenLineWriter(s.view(t0));
    for (let b = next(); b; b = next()) lines.push(...b.toString().trim().split('\n'));
    assert.equal(lines.length, 3500);
    assert.equal(s.prune(t0 + 4 * H), 3500);
    assert.equal(s.bytes(), 0);
  });

  it('pruning 300 k ids is a bucket drop, not a walk over every id', () => {
    const s = new DedupeSet(72 * H);
    const t0 = Date.UTC(2026, 10, 1);
    for (let i = 0; i < 300_000; i++) s.add(`p-${i}`, t0 + (i % 60) * 60_000, 'done'); // all in one hour
    const t = process.hrtime.bigint();
    assert.equal(s.prune(t0 + 3 * H), 300_000);
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    assert.ok(ms < 5, `prune took ${ms.toFixed(2)} ms`);
  });

  it('a view taken for a compaction is not changed by ids added or buckets dropped after it', () => {
    const s = new DedupeSet(72 * H);
    const t0 = Date.UTC(2026, 10, 1);
    s.add('a', t0, 'done');
    s.add('b', t0 + 2 * H, 'done');
    const next = seenLineWriter(s.view(t0));
    s.add('c', t0 + 2 * H, 'done');
    s.prune(t0 + H + 1);
    const lines = next()
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).h);
    assert.deepEqual(lines, [seenLineKey('a').h, seenLineKey('b').h]);
  });
});
