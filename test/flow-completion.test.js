'use strict';
/**
 * Unit tests of nodes/lib/flow-completion against a fake hooks registry that
 * behaves like Node-RED's (ids "<hook>.<label>", split on the first dot). The
 * end-to-end behaviour in a real runtime is covered in legacy-notify-in.test.js.
 */
const assert = require('node:assert/strict');
const { FlowCompletionTracker } = require('../nodes/lib/flow-completion');

function fakeHooks() {
  const hooks = new Map();
  return {
    hooks,
    add(id, fn) {
      const [name, label] = id.split('.');
      assert.ok(label, 'labelled hook');
      if (hooks.has(id)) throw new Error(`Hook ${id} already registered`);
      hooks.set(id, { name, fn });
    },
    remove(id) {
      hooks.delete(id);
    },
    fire(name, ev) {
      const results = [];
      for (const h of hooks.values()) if (h.name === name) results.push(h.fn(ev));
      return results;
    },
  };
}

const turn = () => new Promise((r) => setImmediate(r));
const send = (h, msgid, dest) => h.fire('onSend', [{ msg: { _msgid: msgid }, source: { id: 'src' }, destination: { id: dest } }]);
const receive = (h, msgid, dest) => h.fire('onReceive', { msg: { _msgid: msgid }, destination: { id: dest } });
const complete = (h, msgid, node, error) => h.fire('onComplete', { msg: { _msgid: msgid }, node: { id: node }, error });

describe('FlowCompletionTracker', () => {
  it('uses a dot-free, unique label and removes exactly its three hooks on close', () => {
    const h = fakeHooks();
    const a = new FlowCompletionTracker(h, 'node.with.dots');
    const b = new FlowCompletionTracker(h, 'node.with.dots');
    assert.ok(!a.hookLabel.includes('.'));
    assert.notEqual(a.hookLabel, b.hookLabel);
    assert.equal(h.hooks.size, 6);
    a.close();
    assert.equal(h.hooks.size, 3);
    assert.ok([...h.hooks.keys()].every((k) => k.endsWith(b.hookLabel)));
    b.close();
    assert.equal(h.hooks.size, 0);
  });

  it('completes only when every delivery in a chain has called done', async () => {
    const h = fakeHooks();
    const t = new FlowCompletionTracker(h, 'n1');
    let outcome;
    t.watch('m1', 5000).then((o) => (outcome = o));
    send(h, 'm1', 'A');
    t.sent('m1');
    receive(h, 'm1', 'A');
    send(h, 'm1', 'B'); // A passes it on …
    complete(h, 'm1', 'A'); // … and is done: the flow is not
    await turn();
    await turn();
    await turn();
    assert.equal(outcome, undefined, 'B has not finished yet');
    receive(h, 'm1', 'B');
    complete(h, 'm1', 'B');
    for (let i = 0; i < 5 && !outcome; i++) await turn();
    assert.deepEqual(outcome, { ok: true });
    assert.equal(t.pendingCount, 0);
    t.close();
  });

  it('counts deliveries without a send (link in, catch, complete nodes)', async () => {
    const h = fakeHooks();
    const t = new FlowCompletionTracker(h, 'n2');
    let outcome;
    t.watch('m2', 5000).then((o) => (outcome = o));
    send(h, 'm2', 'linkout');
    t.sent('m2');
    receive(h, 'm2', 'linkout');
    receive(h, 'm2', 'linkin'); // emitted straight into the link in node
    complete(h, 'm2', 'linkout');
    for (let i = 0; i < 5; i++) await turn();
    assert.equal(outcome, undefined);
    complete(h, 'm2', 'linkin');
    for (let i = 0; i < 5 && !outcome; i++) await turn();
    assert.deepEqual(outcome, { ok: true });
    t.close();
  });

  it('fails on the first done(err), ignores other messages, and completes at once with no wires', async () => {
    const h = fakeHooks();
    const t = new FlowCompletionTracker(h, 'n3');
    const failed = t.watch('m3', 5000);
    send(h, 'm3', 'A');
    t.sent('m3');
    complete(h, 'other-msg', 'A', new Error('not ours'));
    receive(h, 'm3', 'A');
    const err = new Error('boom');
    complete(h, 'm3', 'A', err);
    assert.deepEqual(await failed, { ok: false, reason: 'error', error: err, nodeId: 'A' });

    const unwired = t.watch('m4', 5000);
    t.sent('m4');
    assert.deepEqual(await unwired, { ok: true });
    t.close();
  });

  it('times out, and close() answers pending watches with "closed"', async () => {
    const h = fakeHooks();
    const t = new FlowCompletionTracker(h, 'n4');
    const slow = t.watch('m5', 20);
    send(h, 'm5', 'A');
    t.sent('m5');
    assert.deepEqual(await slow, { ok: false, reason: 'timeout' });
    const pending = t.watch('m6', 60000);
    send(h, 'm6', 'A');
    t.sent('m6');
    t.close();
    assert.deepEqual(await pending, { ok: false, reason: 'closed' });
    assert.deepEqual(await t.watch('m7', 60000), { ok: false, reason: 'closed' }, 'watching after close never hangs');
  });

  it('hook callbacks never throw and never return false (which would halt every flow)', () => {
    const errors = [];
    const h = fakeHooks();
    const t = new FlowCompletionTracker(h, 'n5', (e) => errors.push(e));
    t.watch('m8', 1000);
    for (const ev of [undefined, null, 42, 'x', {}, { msg: null }, { msg: { _msgid: 'm8' } }, [null, { msg: { _msgid: 'm8' } }]]) {
      for (const name of ['onSend', 'onReceive', 'onComplete']) {
        for (const r of h.fire(name, ev)) assert.equal(r, undefined);
      }
    }
    t.close();
  });
});
