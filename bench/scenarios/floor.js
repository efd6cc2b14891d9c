'use strict';
/**
 * Noise floor: the baseline flow against an identical second copy of itself.
 * A ratio far from 1.0 here means the machine is too noisy for the other
 * ratios to mean much.
 */
const { baselineNodes } = require('../lib/baseline-flow');
const { compare, rowsOf } = require('../lib/compare');

module.exports = {
  id: 'floor',
  title: 'noise floor (1 KB JSON)',
  requires: [],
  async run(ctx) {
    await ctx.deploy([...baselineNodes('base', '/bench/baseline'), ...baselineNodes('twin', '/bench/twin')]);
    const body = JSON.stringify({ id: 'floor', pad: 'x'.repeat(1000) });
    const headers = { 'content-type': 'application/json' };
    const r = await compare({
      name: 'floor',
      rounds: ctx.settings.rounds,
      load: { connections: ctx.settings.connections, durationSec: Math.max(1, Math.round(ctx.settings.seconds / 2)), maxRequests: 100000 },
      baseline: () => ({ url: `${ctx.red.url}/bench/baseline`, headers, body }),
      node: () => ({ url: `${ctx.red.url}/bench/twin`, headers, body }),
      log: ctx.log,
    });
    ctx.floorBaseline = r.baseline; // reference for "ratio without any concur node in the runtime"
    return { results: [r], rows: rowsOf(r, { nodeLabel: 'identical second baseline', target: '≈1.0 (noise)' }) };
  },
};
