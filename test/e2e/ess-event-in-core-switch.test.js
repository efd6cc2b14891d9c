'use strict';
/**
 * Regression test: concur-ess-event-in marks an event done only when every
 * node has finished with it. The core `switch` node (and `rbe`) registers a
 * one-argument input handler, so Node-RED never fires onComplete for it; before
 * src/nodes/shared/flow-completion.ts counted such nodes as finished when their
 * handler returns, an event routed through a switch stayed "pending", became a
 * dead letter after completionTimeout and was re-emitted after a restart.
 * A switch is the most common way to route ESS events, so this test expects
 * the event to be marked done.
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startRed } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');
const { startCollector, collectorNodes } = require('../helpers/collector');
const { startSimulator } = require('../../dist/simulator/index.js');

describe('concur-ess-event-in: an event routed through a core switch node is completed', function () {
  this.timeout(60000);
  let sim;
  let red;
  let collector;
  let keyDir;

  before(async () => {
    keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-switch-keys-'));
    sim = await startSimulator({ port: 0, keyDir });
    collector = await startCollector();
    red = await startRed();
  });
  after(async () => {
    await teardown({ red, collector, sim });
    fs.rmSync(keyDir, { recursive: true, force: true });
  });

  it('marks the event done (not a dead letter) once the switch has passed it on and the flow ended', async () => {
    const c = collectorNodes({ idPrefix: 'col', z: 'tab', url: collector.url, fields: ['payload'] });
    await red.deploy([
      { id: 'tab', type: 'tab', label: 'switch' },
      {
        id: 'ess',
        type: 'concur-ess-event-in',
        z: 'tab',
        path: '/concur/ess',
        extraKeys: sim.essKeys().publicPem,
        keyConcur202609: false,
        keyConcur202510: false,
        completionTimeout: 2,
        x: 100,
        y: 100,
        wires: [['sw']],
      },
      {
        id: 'sw',
        type: 'switch',
        z: 'tab',
        property: 'payload.eventType',
        propertyType: 'msg',
        rules: [{ t: 'eq', v: 'statusChanged', vt: 'str' }],
        checkall: 'true',
        repair: false,
        outputs: 1,
        x: 300,
        y: 100,
        wires: [[c.inputId]],
      },
      ...c.nodes,
    ]);
    const sent = await sim.sendEss({ to: `${red.url}/concur/ess`, reportId: 'CB899F7D9F73420A8D8B', maxAttempts: 1 });
    assert.ok(sent.delivered);
    await collector.waitFor(1);
    // Past the 2 s completion timeout: the journal says how the event ended.
    await new Promise((r) => setTimeout(r, 3500));
    const journal = fs.readFileSync(path.join(red.opts.userDir, 'concur-ess', 'ess.journal'), 'utf8');
    const records = journal
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const [accepted] = records.filter((r) => r.t === 'a');
    const outcome = records.filter((r) => r.id === accepted.id && (r.t === 'd' || r.t === 'f')).map((r) => (r.t === 'f' ? `failed: ${r.r}` : 'done'));
    assert.deepEqual(outcome, ['done'], 'the event routed through a switch is marked done');
  });
});
