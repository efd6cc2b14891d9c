'use strict';
/**
 * Unit tests of nodes/lib/flow-completion (the one completion tracker both
 * receivers use) against a fake hooks registry that behaves like Node-RED's
 * (ids "<hook>.<label>", split on the first dot; hook callbacks called with the
 * event object, the same object for onReceive and postReceive). Done-less node
 * detection is also checked against the real Node class of Node-RED 4 (and 5,
 * when .tmp/nr5 holds it). End-to-end behaviour in a real runtime is covered in
 * legacy-notify-in.test.js, ess-event-in.test.js and completion-core-nodes.test.js.
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { FlowCompletionTracker, handlerCallsDone, errorText } = require('../../dist/nodes/shared/flow-completion');

function fakeHooks() {
  const hooks = new Map();
  return {
    hooks,
    add(id, fn) {
      const [name, label] = id.split('.');
      assert.ok(label, 'labelled hook');
      assert.ok(['preDeliver', 'onReceive', 'postReceive', 'onComplete'].includes(name), `hook ${name} is one Node-RED knows`);
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

// Node objects as Node-RED 4/5 build them: _expectedDoneCount counts 3-argument input handlers.
const doneNode = (id) => ({ id, _expectedDoneCount: 1, _inputCallback: (msg, send, done) => done() });
const doneLessNode = (id) => ({ id, _expectedDoneCount: 0, _inputCallback: (msg) => msg });

const turn = () => new Promise((r) => setImmediate(r));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const deliver = (h, msgid, from, to) => h.fire('preDeliver', { msg: { _msgid: msgid }, source: { id: from }, destination: { id: to } });
/** onReceive (handler runs in `during`) then postReceive, with one event object, as Node._emitInput does. */
function receive(h, msgid, node, during = () => undefined) {
  const ev = { msg: { _msgid: msgid }, destination: { id: node.id, node } };
  h.fire('onReceive', ev);
  during();
  h.fire('postReceive', ev);
}
const complete = (h, msgid, nodeId, error) => h.fire('onComplete', { msg: { _msgid: msgid }, node: { id: nodeId }, error });

/** Records the outcome of a watch without awaiting it. */
function watching(t, msgid, timeoutMs = 5000) {
  const box = { outcome: undefined };
  box.promise = t.watch(msgid, timeoutMs).then((o) => (box.outcome = o));
  return box;
}
async function waitOutcome(box, ms = 2000) {
  const until = Date.now() + ms;
  while (box.outcome === undefined && Date.now() < until) await sleep(2);
  return box.outcome;
}

describe('FlowCompletionTracker', () => {
  it('all trackers share one set of four hooks, registered only while a message is watched (dot-free label)', async () => {
    const h = fakeHooks();
    const a = new FlowCompletionTracker(h, 'node.with.dots', { settleMs: 0, hooksIdleMs: 30 });
    const b = new FlowCompletionTracker(h, 'other', { settleMs: 0, hooksIdleMs: 30 });
    assert.equal(h.hooks.size, 0, 'no hooks while nothing is watched: other flows pay nothing');
    assert.equal(a.hookLabel, b.hookLabel, 'one label per runtime');
    assert.ok(!a.hookLabel.includes('.'));
    const boxA = watching(a, 'ma');
    const boxB = watching(b, 'mb');
    assert.equal(h.hooks.size, 4, 'one set for both trackers');
    assert.ok([...h.hooks.keys()].every((k) => k.endsWith(`.${a.hookLabel}`)));
    // Each tracker sees only its own message through the shared hooks.
    deliver(h, 'ma', 'rx', 'A');
    deliver(h, 'mb', 'rx', 'B');
    a.sent('ma');
    b.sent('mb');
    receive(h, 'ma', doneNode('A'));
    complete(h, 'ma', 'A');
    assert.deepEqual(await waitOutcome(boxA), { ok: true });
    for (let i = 0; i < 5; i++) await turn();
    assert.equal(boxB.outcome, undefined, 'B still holds mb');
    receive(h, 'mb', doneNode('B'));
    complete(h, 'mb', 'B', new Error('b failed'));
    assert.equal((await waitOutcome(boxB)).message, 'b failed');
    assert.equal(h.hooks.size, 4, 'kept for the idle delay (no add/remove churn per message)');
    await sleep(80);
    assert.equal(h.hooks.size, 0, 'removed once nothing was watched for hooksIdleMs');
    assert.equal(a.hooksActive, false);
    // Registered again on the next watch; closing the last waiting tracker removes them at once.
    const box2 = watching(a, 'm2');
    assert.equal(h.hooks.size, 4);
    b.close();
    assert.equal(h.hooks.size, 4, 'a still waits on m2');
    a.close();
    assert.deepEqual(await box2.promise, { ok: false, reason: 'closed' });
    assert.equal(h.hooks.size, 0);
  });

  it('completes only when every delivery in a chain has called done, not at the first done', async () => {
    const h = fakeHooks();
    const t = new FlowCompletionTracker(h, 'n1', { settleMs: 0 });
    const box = watching(t, 'm1');
    deliver(h, 'm1', 'rx', 'A');
    t.sent('m1');
    receive(h, 'm1', doneNode('A'), () => deliver(h, 'm1', 'A', 'B')); // A passes it on …
    complete(h, 'm1', 'A'); // … and is done: the flow is not
    for (let i = 0; i < 5; i++) await turn();
    assert.equal(box.outcome, undefined, 'B has not finished yet');
    receive(h, 'm1', doneNode('B'));
    complete(h, 'm1', 'B');
    assert.deepEqual(await waitOutcome(box), { ok: true });
    assert.equal(t.pendingCount, 0);
    t.close();
  });

  it('counts hand-overs without a send (link in, catch, complete nodes)', async () => {
    const h = fakeHooks();
    const t = new FlowCompletionTracker(h, 'n2', { settleMs: 0 });
    const box = watching(t, 'm2');
    deliver(h, 'm2', 'rx', 'linkout');
    t.sent('m2');
    // link out calls the link in node's receive() from inside its handler
    receive(h, 'm2', doneNode('linkout'), () => receive(h, 'm2', doneNode('linkin')));
    complete(h, 'm2', 'linkout');
    for (let i = 0; i < 5; i++) await turn();
    assert.equal(box.outcome, undefined);
    complete(h, 'm2', 'linkin');
    assert.deepEqual(await waitOutcome(box), { ok: true });
    t.close();
  });

  it('a hand-over while another delivery is in transit does not let the count reach zero early', async () => {
    const h = fakeHooks();
    const t = new FlowCompletionTracker(h, 'n2b', { settleMs: 0 });
    const box = watching(t, 'm');
    deliver(h, 'm', 'rx', 'A');
    deliver(h, 'm', 'rx', 'X'); // fan-out: X's delivery is still queued
    t.sent('m');
    receive(h, 'm', doneNode('A'), () => receive(h, 'm', doneNode('catch')));
    complete(h, 'm', 'A');
    complete(h, 'm', 'catch');
    for (let i = 0; i < 5; i++) await turn();
    assert.equal(box.outcome, undefined, 'X has not even received it');
    receive(h, 'm', doneNode('X'));
    complete(h, 'm', 'X');
    assert.deepEqual(await waitOutcome(box), { ok: true });
    t.close();
  });

  it('completes when the flow fans out and one branch drops the message', async () => {
    const h = fakeHooks();
    const t = new FlowCompletionTracker(h, 'n2c', { settleMs: 0 });
    const box = watching(t, 'm');
    deliver(h, 'm', 'rx', 'keep');
    deliver(h, 'm', 'rx', 'drop');
    t.sent('m');
    receive(h, 'm', doneNode('drop'));
    complete(h, 'm', 'drop'); // return null: done, nothing sent
    receive(h, 'm', doneNode('keep'));
    complete(h, 'm', 'keep');
    assert.deepEqual(await waitOutcome(box), { ok: true });
    t.close();
  });

  it('fails on the first done(err) with a readable message (also for errors from another realm), ignoring other messages', async () => {
    const h = fakeHooks();
    const t = new FlowCompletionTracker(h, 'n3');
    const failed = t.watch('m3', 5000);
    deliver(h, 'm3', 'rx', 'A');
    t.sent('m3');
    complete(h, 'other-msg', 'A', new Error('not ours'));
    receive(h, 'm3', doneNode('A'));
    const err = { message: 'from another realm' }; // the Function node's sandbox errors are not instanceof Error
    complete(h, 'm3', 'A', err);
    assert.deepEqual(await failed, { ok: false, reason: 'error', error: err, message: 'from another realm', nodeId: 'A' });
    complete(h, 'm3', 'A'); // late events for a finished message are ignored
    assert.equal(t.pendingCount, 0);
    t.close();
  });

  it('completes at once when nothing is wired, and after close every watch answers "closed"', async () => {
    const h = fakeHooks();
    const t = new FlowCompletionTracker(h, 'n4');
    const unwired = t.watch('m4', 5000);
    t.sent('m4');
    assert.deepEqual(await unwired, { ok: true });
    const pending = t.watch('m6', 60000);
    deliver(h, 'm6', 'rx', 'A');
    t.sent('m6');
    t.close();
    assert.deepEqual(await pending, { ok: false, reason: 'closed' });
    assert.deepEqual(await t.watch('m7', 60000), { ok: false, reason: 'closed' }, 'watching after close never hangs');
  });

  it('times out when a node never calls done(); timeout 0 means no timeout', async () => {
    const h = fakeHooks();
    const t = new FlowCompletionTracker(h, 'n5');
    const slow = t.watch('m5', 20);
    deliver(h, 'm5', 'rx', 'A');
    t.sent('m5');
    receive(h, 'm5', doneNode('A'));
    assert.deepEqual(await slow, { ok: false, reason: 'timeout' });

    const box = watching(t, 'forever', 0);
    deliver(h, 'forever', 'rx', 'A');
    t.sent('forever');
    receive(h, 'forever', doneNode('A'));
    await sleep(60);
    assert.equal(box.outcome, undefined, 'still waiting');
    complete(h, 'forever', 'A');
    assert.deepEqual(await waitOutcome(box), { ok: true });
    t.close();
  });

  it('answers "closed" to an earlier watch of the same message id instead of leaving it hanging', async () => {
    const h = fakeHooks();
    const t = new FlowCompletionTracker(h, 'n6');
    const first = t.watch('dup', 60000);
    const second = t.watch('dup', 60000);
    assert.deepEqual(await first, { ok: false, reason: 'closed' });
    t.sent('dup');
    assert.deepEqual(await second, { ok: true });
    t.close();
  });

  it('waits settleMs of quiet before declaring completion, and restarts the wait on new activity', async () => {
    const h = fakeHooks();
    const t = new FlowCompletionTracker(h, 'n7', { settleMs: 80 });
    const box = watching(t, 'm');
    deliver(h, 'm', 'rx', 'A');
    t.sent('m');
    receive(h, 'm', doneNode('A'));
    complete(h, 'm', 'A');
    await sleep(30);
    assert.equal(box.outcome, undefined, 'inside the settle time');
    // A node sends it on shortly after its done() (e.g. from a timer): counted again.
    deliver(h, 'm', 'A', 'B');
    await sleep(120);
    assert.equal(box.outcome, undefined, 'B holds it');
    receive(h, 'm', doneNode('B'));
    complete(h, 'm', 'B');
    assert.deepEqual(await waitOutcome(box), { ok: true });
    t.close();
  });

  it('hook callbacks never throw and never return false (which would halt every flow)', () => {
    const errors = [];
    const h = fakeHooks();
    const t = new FlowCompletionTracker(h, 'n8', { onHookError: (e) => errors.push(e) });
    t.watch('m8', 1000);
    const odd = [
      undefined,
      null,
      42,
      'x',
      {},
      { msg: null },
      { msg: { _msgid: 'm8' } },
      { msg: { _msgid: 'm8' }, destination: null, source: 7 },
      [null, { msg: { _msgid: 'm8' } }],
    ];
    for (const ev of odd) {
      for (const name of ['preDeliver', 'onReceive', 'postReceive', 'onComplete']) {
        for (const r of h.fire(name, ev)) assert.equal(r, undefined);
      }
    }
    t.close();
  });

  describe('nodes whose input handler does not take done (core switch, rbe)', () => {
    it('a done-less node that passes the message on synchronously is finished when its handler returns', async () => {
      const h = fakeHooks();
      const t = new FlowCompletionTracker(h, 'nd1', { settleMs: 0, lateSendGraceMs: 60000 });
      const box = watching(t, 'm');
      deliver(h, 'm', 'rx', 'switch');
      t.sent('m');
      receive(h, 'm', doneLessNode('switch'), () => deliver(h, 'm', 'switch', 'fn'));
      for (let i = 0; i < 5; i++) await turn();
      assert.equal(box.outcome, undefined, 'the function node after the switch still has it');
      receive(h, 'm', doneNode('fn'));
      complete(h, 'm', 'fn');
      assert.deepEqual(await waitOutcome(box, 1000), { ok: true }, 'no wait for the late-send grace: the switch sent it');
      t.close();
    });

    it('a failure after a done-less node fails the message', async () => {
      const h = fakeHooks();
      const t = new FlowCompletionTracker(h, 'nd2');
      const box = watching(t, 'm');
      deliver(h, 'm', 'rx', 'switch');
      t.sent('m');
      receive(h, 'm', doneLessNode('switch'), () => deliver(h, 'm', 'switch', 'fn'));
      receive(h, 'm', doneNode('fn'));
      complete(h, 'm', 'fn', new Error('thrown'));
      const o = await waitOutcome(box);
      assert.deepEqual([o.ok, o.reason, o.message, o.nodeId], [false, 'error', 'thrown', 'fn']);
      t.close();
    });

    it('a done-less node that drops the message is finished after the late-send grace', async () => {
      const h = fakeHooks();
      const t = new FlowCompletionTracker(h, 'nd3', { settleMs: 0, lateSendGraceMs: 80 });
      const box = watching(t, 'm');
      deliver(h, 'm', 'rx', 'switch');
      t.sent('m');
      receive(h, 'm', doneLessNode('switch')); // no rule matched
      await sleep(30);
      assert.equal(box.outcome, undefined, 'it might still send (busy queue, async rule)');
      assert.deepEqual(await waitOutcome(box), { ok: true });
      t.close();
    });

    it('a done-less node that sends the message later (queued while busy) hands it on to the next node', async () => {
      const h = fakeHooks();
      const t = new FlowCompletionTracker(h, 'nd4', { settleMs: 0, lateSendGraceMs: 200 });
      const box = watching(t, 'm');
      deliver(h, 'm', 'rx', 'switch');
      t.sent('m');
      receive(h, 'm', doneLessNode('switch')); // queued behind another message
      await sleep(20);
      deliver(h, 'm', 'switch', 'fn'); // the switch's queue reaches it
      await sleep(300);
      assert.equal(box.outcome, undefined, 'the grace ended with the send; fn still has it');
      receive(h, 'm', doneNode('fn'));
      complete(h, 'm', 'fn');
      assert.deepEqual(await waitOutcome(box), { ok: true });
      t.close();
    });

    it('nodes of an unknown runtime shape are assumed to call done (a timeout beats finishing early)', async () => {
      const h = fakeHooks();
      const t = new FlowCompletionTracker(h, 'nd5', { settleMs: 0 });
      const box = watching(t, 'm', 100);
      deliver(h, 'm', 'rx', 'odd');
      t.sent('m');
      receive(h, 'm', { id: 'odd' });
      assert.deepEqual(await waitOutcome(box), { ok: false, reason: 'timeout' });
      t.close();
    });

    it("handlerCallsDone reads _expectedDoneCount, else the handlers' parameter counts", () => {
      assert.equal(handlerCallsDone(doneNode('a')), true);
      assert.equal(handlerCallsDone(doneLessNode('b')), false);
      assert.equal(handlerCallsDone({ _inputCallback: (m) => m }), false);
      assert.equal(handlerCallsDone({ _inputCallbacks: [(m) => m, (m, s, d) => d()] }), true);
      assert.equal(handlerCallsDone({ _inputCallbacks: [(m) => m, (m, s) => s(m)] }), false);
      assert.equal(handlerCallsDone({}), undefined);
      assert.equal(handlerCallsDone(undefined), undefined);
    });

    const runtimes = [
      ['Node-RED 4 (node_modules)', path.join(__dirname, '..', '..', 'node_modules')],
      ['Node-RED 5 (.tmp/nr5)', path.join(__dirname, '..', '..', '.tmp', 'nr5', 'node_modules')],
    ];
    for (const [label, dir] of runtimes) {
      it(`agrees with the real Node class of ${label}`, function () {
        const file = path.join(dir, '@node-red', 'runtime', 'lib', 'nodes', 'Node.js');
        if (!fs.existsSync(file)) this.skip();
        const Node = require(file);
        const make = (...handlers) => {
          const n = new Node({ id: `n${Math.random()}`, type: 'test' });
          for (const fn of handlers) n.on('input', fn);
          return n;
        };
        assert.equal(
          handlerCallsDone(
            make(function (msg) {
              return msg;
            }),
          ),
          false,
          'switch-style handler',
        );
        assert.equal(
          handlerCallsDone(
            make(function (msg, send, done) {
              done();
            }),
          ),
          true,
        );
        assert.equal(handlerCallsDone(make()), false, 'no input handler: never completes either');
        assert.equal(
          handlerCallsDone(
            make(
              (m) => m,
              (m, s, d) => d(),
            ),
          ),
          true,
          'Node-RED completes once the done-taking handlers are done',
        );
        // The switch node of this very runtime still registers a one-argument handler.
        const sw = fs.readFileSync(path.join(dir, '@node-red', 'nodes', 'core', 'function', '10-switch.js'), 'utf8');
        assert.match(sw, /this\.on\('input', function\(msg\) \{/);
      });
    }
  });

  it('errorText gives a readable reason for any done(err) value', () => {
    assert.equal(errorText(new Error('x')), 'x');
    assert.equal(errorText('plain'), 'plain');
    assert.equal(errorText({ code: 1 }), '{"code":1}');
    const cyclic = {};
    cyclic.self = cyclic;
    assert.equal(errorText(cyclic), '[object Object]');
  });
});
