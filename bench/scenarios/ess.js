'use strict';
/**
 * ESS receiver (concur-ess-event-in) with its defaults: signature verification
 * on (test key configured as a user key, next to the enabled published Concur
 * keys), dedupe on, durable journal with fdatasync before the ack. Each node
 * round gets a freshly pre-signed pool of events with unique ids, so dedupe
 * never short-cuts the work. The baseline receives the same signed bodies.
 */
const { makeKeyPair, signedPool } = require('../../test/helpers/signed-events');
const { baselineNodes } = require('../lib/baseline-flow');
const { compare, rowsOf } = require('../lib/compare');

const SIZES = [
  { label: '1 KB', bytes: 1024, maxRequests: 20000, target: '≥0.9x, p99 <15 ms' },
  { label: '50 KB', bytes: 50 * 1024, maxRequests: 6000, target: '≥0.9x' },
];

/** setupRequest that walks a pool: every request gets the next event. */
function cycle(pool) {
  let i = 0;
  return (req) => {
    const ev = pool[i++ % pool.length];
    req.body = ev.body;
    req.headers = { ...req.headers, 'concur-signature': ev.signature };
    return req;
  };
}

module.exports = {
  id: 'ess',
  title: 'ESS webhook (signed, dedupe, fsync)',
  requires: ['concur-ess-event-in'],
  async run(ctx) {
    const key = makeKeyPair();
    await ctx.deploy([
      ...baselineNodes('base', '/bench/baseline'),
      { id: 'ess-in', type: 'concur-ess-event-in', z: 'bench-tab', name: 'bench ess', path: '/bench/ess', extraKeys: key.publicPem, storeName: 'bench', wires: [[]] },
    ]);
    const rows = [];
    const results = [];
    const notes = [];
    for (const size of SIZES) {
      const load = { connections: ctx.settings.connections, durationSec: ctx.settings.seconds, maxRequests: size.maxRequests };
      // A new pool per round (signed outside the measured window); the baseline reuses the last one.
      let last = null;
      const fresh = (warm) => {
        const t = Date.now();
        last = signedPool(warm ? 500 : size.maxRequests, key.privateKey, { size: size.bytes, prefix: warm ? 'warm' : 'ev' });
        if (!warm) ctx.log(`  signed ${last.length} x ${size.label} events in ${Date.now() - t} ms`);
        return last;
      };
      const headers = { 'content-type': 'application/json' };
      const r = await compare({
        name: `ess ${size.label}`,
        rounds: ctx.settings.rounds,
        load,
        baseline: () => ({ url: `${ctx.red.url}/bench/baseline`, headers, setupRequest: cycle(last || fresh(true)) }),
        node: (warm) => ({ url: `${ctx.red.url}/bench/ess`, headers, setupRequest: cycle(fresh(warm)) }),
        log: ctx.log,
      });
      const bodyBytes = last[0].body.length;
      results.push({ size: size.label, bodyBytes, ...r });
      rows.push(...rowsOf(r, { baselineLabel: `baseline (${size.label} signed body)`, nodeLabel: `concur-ess-event-in ${size.label}`, target: size.target }));
      if (r.node.responses >= size.maxRequests * ctx.settings.rounds) notes.push(`${size.label}: node rounds hit the ${size.maxRequests}-request cap before the time limit`);
    }
    notes.push('each node request carries a new event id (pool pre-signed with RSA-2048 PSS before the round); the published Concur keys stay enabled (default), the test key is an extra key');
    return { results, rows, notes };
  },
};
