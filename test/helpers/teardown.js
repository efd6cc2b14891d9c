'use strict';
/**
 * The end of every end-to-end suite: stops what its `before` started. Node-RED
 * first (its flows call the collector and the simulator), then the collector,
 * then the simulator. Any of them may be missing (a `before` that failed early).
 */
/** @param {{ red?: any, collector?: any, sim?: any }} [started] */
async function teardown({ red, collector, sim } = {}) {
  if (red) {
    await red.stop();
    red.cleanup();
  }
  if (collector) await collector.close();
  if (sim) await sim.stop();
}

module.exports = { teardown };
