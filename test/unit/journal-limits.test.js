'use strict';
/**
 * The file store's memory limits and its behaviour on a full disk:
 * - dedupe memory limit: accept() refuses new events (JournalFullError, the
 *   receiver answers 503 with Retry-After) instead of growing without bound,
 *   and takes them again once old ids leave the window;
 * - pending-event byte limit and dead-letter byte limit;
 * - ENOSPC, injected through the journal's file-system hook: open needs no
 *   free space for an existing journal, a compaction that runs out of space
 *   deletes its temp file and leaves the journal complete, appends fail
 *   (so the receiver answers 503) and work again once space is back.
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { EventJournal, JournalFullError } = require('../../dist/concur/event-journal');
const { EssReceiver } = require('../../dist/concur/ess-receiver');

const H = 3600_000;
const MiB = 1024 * 1024;

/** fs.promises with a switch: while `full` is on, every write to a file handle fails with ENOSPC. */
function diskFullFs() {
  const state = { full: false, writesRefused: 0, failOpenOf: undefined };
  const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
  const wrap = (fh) =>
    new Proxy(fh, {
      get(target, prop) {
        const v = Reflect.get(target, prop);
        if ((prop === 'write' || prop === 'writev') && typeof v === 'function') {
          return (...args) => {
            if (state.full) {
              state.writesRefused++;
              return Promise.reject(enospc());
            }
            return v.apply(target, args);
          };
        }
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  const api = {
    state,
    async open(p, ...rest) {
      if (state.failOpenOf && state.failOpenOf(String(p))) throw Object.assign(new Error(`ENOSPC: no space left on device, open '${p}'`), { code: 'ENOSPC' });
      return wrap(await fs.promises.open(p, ...rest));
    },
    mkdir: (/** @type {Parameters<typeof fs.promises.mkdir>} */ ...a) => fs.promises.mkdir(...a),
    rm: (/** @type {Parameters<typeof fs.promises.rm>} */ ...a) => fs.promises.rm(...a),
    rename: (/** @type {Parameters<typeof fs.promises.rename>} */ ...a) => fs.promises.rename(...a),
    truncate: (/** @type {Parameters<typeof fs.promises.truncate>} */ ...a) => fs.promises.truncate(...a),
  };
  return api;
}

describe('event journal: memory limits and a full disk', () => {
  let dir;
  let file;
  let clock;
  const open = (o = {}) => EventJournal.open({ file, now: () => clock, ...o });
  const ev = (id, body = `{"id":"${id}"}`) => ({ id, receivedAt: clock, body, meta: { signatureVerified: true } });
  const uuid = (i) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-jlimits-'));
    file = path.join(dir, 'node.journal');
    clock = Date.UTC(2026, 10, 1);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('refuses new events once the dedupe memory limit is reached, still dedupes, and takes events again after old ids expire', async () => {
    const j = await open({ dedupeWindowMs: 10 * H, dedupeMemoryBytes: 0.1 * MiB, sync: false });
    let i = 0;
    let refused;
    for (; i < 20_000 && !refused; i++) {
      try {
        await j.accept(ev(uuid(i)));
        j.markDone(uuid(i));
      } catch (err) {
        refused = err;
      }
    }
    assert.ok(refused instanceof JournalFullError, String(refused));
    assert.equal(refused.code, 'ESTORE_FULL');
    assert.equal(refused.limit, 'dedupe-memory');
    assert.match(refused.message, /dedupe memory limit reached/);
    const m = j.memory();
    assert.ok(m.dedupe >= 0.1 * MiB && m.dedupe < 0.2 * MiB, `held ${m.dedupe}`);
    assert.equal(j.lookup(uuid(0)), 'done', 'ids already held still dedupe');
    assert.equal(j.lookup(uuid(i - 1)), undefined, 'the refused id was not recorded');
    // The receiver turns it into a 503 with Retry-After (ESS retries), category "capacity".
    clock += 11 * H;
    j.prune();
    assert.ok(j.memory().dedupe < 0.1 * MiB);
    await j.accept(ev('after-expiry'));
    await j.close();
  });

  it('the receiver answers 503 with Retry-After when the store is full', async () => {
    const j = await open({ pendingMaxBytes: 100 });
    await j.accept(ev('a', JSON.stringify({ id: 'a', pad: 'x'.repeat(200) }))); // one event always fits
    const r = new EssReceiver({ journal: j, verifySignature: false, keys: [] });
    const body = Buffer.from(
      JSON.stringify({
        id: '5b0f3b3a-1111-4222-8333-944445555666',
        topic: 'public.concur.spend.expense.report',
        eventType: 'StatusChanged',
        timestamp: new Date().toISOString(),
        facts: {},
      }),
    );
    const out = await r.handle({ rawBody: body, headers: {} });
    assert.equal(out.status, 503);
    assert.equal(out.category, 'capacity');
    assert.equal(out.retryAfterSec, 30);
    assert.match(out.reason, /pending-event memory limit reached/);
    j.markDone('a');
    assert.equal((await r.handle({ rawBody: body, headers: {} })).status, 200, 'taken once the flow has caught up');
    await j.close();
  });

  it('bounds pending events by body bytes, counting accepts still being written', async () => {
    const j = await open({ pendingMaxBytes: 1000 });
    const big = (id) => ev(id, JSON.stringify({ id, pad: 'x'.repeat(400) }));
    const results = await Promise.allSettled([j.accept(big('a')), j.accept(big('b')), j.accept(big('c'))]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled', 'rejected'],
    );
    assert.equal(/** @type {PromiseRejectedResult} */ (results[2]).reason.limit, 'pending-memory');
    assert.ok(j.memory().pending > 800 && j.memory().pending <= 1000);
    j.markFailed('a', 'x'); // a dead letter no longer counts as pending
    await j.accept(big('c'));
    await j.close();
  });

  it('bounds dead letters by body bytes: the oldest shrink to dedupe entries, the newest is kept', async () => {
    let j = await open({ deadLetterMaxBytes: 1000 });
    for (const id of ['d1', 'd2', 'd3', 'd4']) {
      await j.accept(ev(id, JSON.stringify({ id, pad: 'y'.repeat(400) })));
      j.markFailed(id, 'boom');
    }
    assert.deepEqual(
      j.deadLetters().map((d) => d.id),
      ['d3', 'd4'],
    );
    assert.equal(j.lookup('d1'), 'seen');
    assert.ok(j.memory().deadLetters <= 1000);
    await j.close();
    j = await open({ deadLetterMaxBytes: 1000 });
    assert.deepEqual(
      j.deadLetters().map((d) => d.id),
      ['d3', 'd4'],
      'same after replay',
    );
    await j.close();
    j = await open({ deadLetterMaxBytes: 10 });
    assert.deepEqual(
      j.deadLetters().map((d) => d.id),
      ['d4'],
      'one dead letter is always kept',
    );
    await j.close();
  });

  describe('ENOSPC (injected through the file-system hook)', () => {
    it('opens an existing journal on a full disk: no rewrite, no temp file', async () => {
      let j = await open();
      await j.accept(ev('a'));
      j.markDone('a');
      await j.accept(ev('b'));
      await j.close();
      const disk = diskFullFs();
      disk.state.full = true;
      j = await open({ fs: disk });
      assert.equal(disk.state.writesRefused, 0, 'open wrote nothing');
      assert.deepEqual(
        j.pendingEvents().map((e) => e.id),
        ['b'],
      );
      assert.equal(j.lookup('a'), 'done');
      await assert.rejects(j.accept(ev('c')), /ENOSPC/, 'an accept fails (the receiver answers 503)');
      assert.equal(j.lookup('c'), undefined);
      disk.state.full = false; // space is back
      await j.accept(ev('d'));
      await j.close();
      j = await open();
      assert.deepEqual(
        j.pendingEvents().map((e) => e.id),
        ['b', 'd'],
      );
      await j.close();
      assert.equal(fs.existsSync(`${file}.compact-tmp`), false);
    });

    it('a compaction that runs out of space deletes its temp file and leaves the journal complete and writable', async () => {
      const disk = diskFullFs();
      const j = await open({ fs: disk });
      for (let i = 0; i < 50; i++) {
        await j.accept(ev(`e${i}`));
        if (i % 2) j.markDone(`e${i}`);
      }
      disk.state.failOpenOf = undefined;
      // Only the temp file's writes fail: the journal itself still has room.
      const realOpen = disk.open;
      disk.open = async (p, ...rest) => {
        const fh = await realOpen(p, ...rest);
        if (String(p).endsWith('.compact-tmp')) {
          return new Proxy(fh, {
            get: (t, prop) =>
              prop === 'write' || prop === 'writev'
                ? () => Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }))
                : Reflect.get(t, prop),
          });
        }
        return fh;
      };
      await j.compact();
      assert.equal(j.getStats().compactions, 0, 'the compaction failed');
      assert.equal(fs.existsSync(`${file}.compact-tmp`), false, 'temp file deleted');
      await j.accept(ev('after'));
      disk.open = realOpen;
      await j.compact();
      assert.equal(j.getStats().compactions, 1, 'the next one works');
      await j.close();
      const j2 = await open();
      assert.equal(j2.pendingEvents().length, 26);
      assert.equal(j2.lookup('e1'), 'seen');
      await j2.close();
    });

    it('a new journal whose header cannot be written fails to open, leaves nothing behind, and opens once space is back', async () => {
      const disk = diskFullFs();
      disk.state.full = true;
      await assert.rejects(open({ fs: disk }), /ENOSPC/);
      assert.equal(fs.existsSync(`${file}.compact-tmp`), false);
      disk.state.full = false;
      const j = await open({ fs: disk });
      await j.accept(ev('a'));
      await j.close();
    });
  });
});
