'use strict';
/**
 * ESS receiver (concur-ess-event-in) with its defaults: signature verification
 * on (the test key configured as the node's extra key; the published Concur
 * keys off, so the signing key is the one tried, as in production), dedupe on,
 * durable journal with fdatasync before the ack. Diagnostic rows switch one
 * thing at a time to show where the time goes. Each node
 * round gets a freshly pre-signed pool of events with unique ids, so dedupe
 * never short-cuts the work. The baseline receives the same signed bodies.
 */
const { makeKeyPair, signedPool } = require('../../test/helpers/signed-events');
const { baselineNodes } = require('../lib/baseline-flow');
const { compare, rowsOf } = require('../lib/compare');

/** Only the test key: as in production, where the one key that signed is the first one tried. */
const ONLY_TEST_KEY = { keyConcur202609: false, keyConcur202510: false, keyConcur202311: false, keyConcur2019: false };

const VARIANTS = [
  { key: 'default', label: '1 KB', bytes: 1024, maxRequests: 20000, target: '≥0.9x, p99 <15 ms', node: ONLY_TEST_KEY },
  { key: 'default', label: '50 KB', bytes: 50 * 1024, maxRequests: 6000, target: '≥0.9x', node: ONLY_TEST_KEY },
  // Ack latency at a capped offered load (autocannon releases each second's quota in a burst over the 24 connections).
  { key: 'default', label: '1 KB, 1000 req/s offered', bytes: 1024, maxRequests: 5000, overallRate: 1000, target: 'p99 <15 ms', node: ONLY_TEST_KEY },
  // Diagnostics (one round each): where the cost goes. Not the shipped defaults.
  {
    key: 'nofsync',
    label: '1 KB, durability "write" (no fsync)',
    bytes: 1024,
    maxRequests: 20000,
    rounds: 1,
    target: 'diagnostic',
    node: { ...ONLY_TEST_KEY, durability: 'write' },
  },
  { key: 'nosig', label: '1 KB, signature check off', bytes: 1024, maxRequests: 20000, rounds: 1, target: 'diagnostic', node: { verifySignature: false } },
  {
    key: 'allkeys',
    label: '1 KB, 2 published keys enabled + test key (tried last)',
    bytes: 1024,
    maxRequests: 20000,
    rounds: 1,
    target: 'diagnostic',
    node: {},
  },
  {
    key: 'nofsync',
    label: '50 KB, durability "write" (no fsync)',
    bytes: 50 * 1024,
    maxRequests: 6000,
    rounds: 1,
    target: 'diagnostic',
    node: { ...ONLY_TEST_KEY, durability: 'write' },
  },
  { key: 'nosig', label: '50 KB, signature check off', bytes: 50 * 1024, maxRequests: 6000, rounds: 1, target: 'diagnostic', node: { verifySignature: false } },
];

/** setupRequest that walks a pool: every request gets the next event. */
function cycle(pool) {
  let i = 0;
  return (req) => {
    const ev = pool[i++ % pool.length];
    req.body = ev.body;
    // Mutated in place (cheaper than a copy per request; the load generator shares the cores).
    req.headers['concur-signature'] = ev.signature;
    return req;
  };
}

module.exports = {
  id: 'ess',
  title: 'ESS webhook (signed, dedupe, fsync)',
  requires: ['concur-ess-event-in'],
  async run(ctx) {
    const key = makeKeyPair();
    // Only the node being measured is deployed next to the baseline: every ESS node adds
    // message hooks, which every flow in the runtime (the baseline too) then pays for.
    let deployed = null;
    const deployFor = async (v) => {
      if (deployed === v.key) return;
      await ctx.deploy([
        ...baselineNodes('base', '/bench/baseline'),
        {
          id: `ess-${v.key}`,
          type: 'concur-ess-event-in',
          z: 'bench-tab',
          name: `bench ess ${v.key}`,
          path: `/bench/ess-${v.key}`,
          extraKeys: key.publicPem,
          storeName: `bench-${v.key}`,
          ...v.node,
          wires: [[]],
        },
      ]);
      deployed = v.key;
    };
    const rows = [];
    const results = [];
    const notes = [];
    for (const size of VARIANTS) {
      await deployFor(size);
      const load = { connections: ctx.settings.connections, durationSec: ctx.settings.seconds, maxRequests: size.maxRequests, overallRate: size.overallRate };
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
        rounds: Math.min(size.rounds || ctx.settings.rounds, ctx.settings.rounds),
        load,
        baseline: () => ({ url: `${ctx.red.url}/bench/baseline`, headers, setupRequest: cycle(last || fresh(true)) }),
        node: (warm) => ({ url: `${ctx.red.url}/bench/ess-${size.key}`, headers, setupRequest: cycle(fresh(warm)) }),
        log: ctx.log,
      });
      if (ctx.floorBaseline && !size.overallRate)
        r.ratioVsBaselineWithoutConcurNodes = Math.round((r.node.reqPerSec / ctx.floorBaseline.reqPerSec) * 1000) / 1000;
      const bodyBytes = last[0].body.length;
      results.push({ size: size.label, bodyBytes, ...r });
      rows.push(...rowsOf(r, { baselineLabel: `baseline (${size.label} signed body)`, nodeLabel: `concur-ess-event-in ${size.label}`, target: size.target }));
      if (r.node.responses >= size.maxRequests * r.node.rounds && !size.overallRate)
        notes.push(`${size.label}: node rounds hit the ${size.maxRequests}-request cap before the time limit`);
    }
    notes.push(
      '"diagnostic" rows run one round per side: indicative only on a shared machine (compare them with the noise-floor row); "1000 req/s offered" uses autocannon\'s rate cap, which sends each second\'s quota in a burst, so its latencies show the fsync tail at a modest average rate, not an idle receiver',
    );
    notes.push(
      'each node request carries a new event id (pool pre-signed with RSA-2048 PSS, max salt, before the round); the test key is the node\'s extra key and the published Concur keys are switched off, except in the "published keys enabled" row, where every request first fails PSS and PKCS#1 against both published keys (5 RSA verifications instead of 1)',
    );
    if (ctx.floorBaseline) {
      notes.push(
        `ratios against the noise-floor baseline (no concur node deployed, so no message hooks; ${ctx.floorBaseline.reqPerSec} req/s, measured earlier in this run): ` +
          results
            .filter((x) => x.ratioVsBaselineWithoutConcurNodes)
            .map((x) => `${x.size} ${x.ratioVsBaselineWithoutConcurNodes}x`)
            .join(', ') +
          ' (the 50 KB figure compares different body sizes)',
      );
    }
    return { results, rows, notes };
  },
};
