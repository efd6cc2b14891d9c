'use strict';
/**
 * Baseline-vs-node comparison in one runtime: rounds alternate
 * (baseline, node, baseline, node, …) so drift on a shared machine hits both
 * sides alike, and each side's rounds are merged before percentiles.
 */
const { runLoad, summarize, round } = require('./load');

/**
 * @param {object} o
 * @param {string} o.name
 * @param {number} o.rounds            rounds per side
 * @param {object} o.load              common runLoad options (connections, durationSec, maxRequests)
 * @param {() => object} o.baseline    per-round runLoad options for the baseline (url, headers, body, setupRequest)
 * @param {() => object} o.node        per-round runLoad options for the node under test
 * @param {(msg: string) => void} [o.log]
 */
async function compare(o) {
  const log = o.log || (() => undefined);
  const base = [];
  const node = [];
  // One short unmeasured round per side warms the JIT and the connection pools.
  if (o.warmup !== false) {
    await runLoad({ ...o.load, durationSec: 1, maxRequests: Math.min(2000, o.load.maxRequests), ...o.baseline(true) });
    await runLoad({ ...o.load, durationSec: 1, maxRequests: Math.min(2000, o.load.maxRequests), ...o.node(true) });
  }
  for (let i = 0; i < o.rounds; i++) {
    const b = await runLoad({ ...o.load, ...o.baseline(false) });
    base.push(b);
    log(`  ${o.name} round ${i + 1}/${o.rounds} baseline: ${rate(b)} req/s`);
    const n = await runLoad({ ...o.load, ...o.node(false) });
    node.push(n);
    log(`  ${o.name} round ${i + 1}/${o.rounds} node:     ${rate(n)} req/s ${JSON.stringify(n.statuses)}`);
  }
  const baseline = summarize(base);
  const nodeSummary = summarize(node);
  return {
    name: o.name,
    baseline,
    node: nodeSummary,
    ratio: baseline.reqPerSec ? round(nodeSummary.reqPerSec / baseline.reqPerSec, 3) : null,
  };
}

function rate(r) {
  let ok = 0;
  for (const [s, n] of Object.entries(r.statuses)) if (s >= 200 && s < 300) ok += n;
  return Math.round(ok / r.seconds);
}

module.exports = { compare };

/** Table rows (baseline, node) for one comparison. */
function rowsOf(result, { baselineLabel = 'baseline http in → http response', nodeLabel, target }) {
  const failed = (s) => s.responses - s.ok2xx + s.errors;
  return [
    { variant: `${baselineLabel}`, ...pick(result.baseline), failed: failed(result.baseline) },
    { variant: nodeLabel, ...pick(result.node), failed: failed(result.node), ratio: result.ratio, target },
  ];
}
function pick(s) {
  return { reqPerSec: s.reqPerSec, p50ms: s.p50ms, p99ms: s.p99ms, ok2xx: s.ok2xx };
}

module.exports.rowsOf = rowsOf;
