'use strict';
/** StatementBatcher (src/concur/pg-batcher.ts): gathering, limits, and a failing item that must not fail the others. */
const assert = require('node:assert/strict');
const { StatementBatcher } = require('../../dist/concur/pg-batcher');

describe('pg-batcher: concurrent requests as few statements', () => {
  it('runs the first request alone, then gathers what arrived meanwhile, at most maxInFlight statements at a time', async () => {
    /** @type {number[][]} */
    const groups = [];
    let running = 0;
    let maxRunning = 0;
    const b = new StatementBatcher(
      async (/** @type {number[]} */ items) => {
        groups.push(items);
        maxRunning = Math.max(maxRunning, ++running);
        await new Promise((r) => setTimeout(r, 20));
        running--;
        return items.map((i) => i * 10);
      },
      { maxBatch: 5, maxInFlight: 2 },
    );
    const all = await Promise.all(Array.from({ length: 23 }, (_, i) => b.run(i)));
    assert.deepEqual(
      all,
      Array.from({ length: 23 }, (_, i) => i * 10),
      'each caller gets its own result',
    );
    assert.ok(
      groups.every((g) => g.length <= 5),
      'maxBatch',
    );
    assert.equal(maxRunning, 2, 'maxInFlight');
    assert.ok(groups.length < 23, `gathered into ${groups.length} statements`);
    assert.deepEqual(
      groups.flat().sort((x, y) => x - y),
      Array.from({ length: 23 }, (_, i) => i),
      'every item exactly once',
    );
  });

  it('a group that fails is retried item by item: only the bad item fails', async () => {
    const b = new StatementBatcher(
      async (/** @type {string[]} */ items) => {
        if (items.includes('bad')) throw new Error('invalid byte sequence');
        return items.map((s) => s.toUpperCase());
      },
      { maxBatch: 10, maxInFlight: 1 },
    );
    const results = await Promise.allSettled(['a', 'bad', 'c'].map((s) => b.run(s)));
    assert.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? r.value : `rejected: ${/** @type {PromiseRejectedResult} */ (r).reason.message}`)),
      ['A', 'rejected: invalid byte sequence', 'C'],
    );
  });
});
