'use strict';
/**
 * One bounded autocannon run against loopback. Bounded twice: by wall-clock
 * duration (autocannon's own timer plus a hard stop) and by request count
 * (maxOverallRequests). Latencies are recorded per response so several rounds
 * can be merged into one distribution before taking percentiles.
 */
const autocannon = require('autocannon');
const v8 = require('node:v8');
const vm = require('node:vm');

// A full GC of the load generator before every run: autocannon shares the cores
// with Node-RED, and garbage left by the previous step (a discarded pool of
// pre-signed events is ~300 MB at 50 KB) must not be collected inside one
// side's measured window. Without this, the side measured right after a new
// pool was signed paid for collecting the old one.
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc');

/**
 * @param {object} o
 * @param {string} o.url            full URL (127.0.0.1 only)
 * @param {number} o.connections
 * @param {number} o.durationSec    upper bound on the run's length
 * @param {number} o.maxRequests    upper bound on requests sent
 * @param {string} [o.method]
 * @param {object} [o.headers]
 * @param {string|Buffer} [o.body]
 * @param {(req: object) => object} [o.setupRequest]  mutate each request (e.g. next pre-signed event)
 * @param {number} [o.overallRate]  fixed request rate instead of as fast as possible
 */
function runLoad(o) {
  const u = new URL(o.url);
  if (u.hostname !== '127.0.0.1') throw new Error(`bench: loopback only, got ${u.hostname}`);
  const latencies = [];
  const statuses = {};
  collectGarbage();
  return new Promise((resolve, reject) => {
    const request = { method: o.method || 'POST', path: u.pathname + u.search, headers: o.headers || {} };
    if (o.body !== undefined) request.body = o.body;
    if (o.setupRequest) request.setupRequest = o.setupRequest;
    const started = process.hrtime.bigint();
    let hardStop;
    let lastAt = 0n;
    const inst = autocannon(
      {
        url: `${u.protocol}//${u.host}`,
        connections: o.connections,
        duration: o.durationSec,
        maxOverallRequests: o.maxRequests,
        // Fixed offered load (req/s over all connections) for latency at a realistic rate, not at saturation.
        ...(o.overallRate ? { overallRate: o.overallRate } : {}),
        timeout: 10,
        requests: [request],
      },
      (err, result) => {
        clearTimeout(hardStop);
        if (err) return reject(err);
        // Up to the last response, not the callback: autocannon notices a count-capped run
        // is over only on its next 1-second tick, which would round every run up.
        const seconds = Number((lastAt || process.hrtime.bigint()) - started) / 1e9;
        resolve({
          seconds,
          responses: latencies.length,
          statuses,
          errors: result.errors,
          timeouts: result.timeouts,
          non2xx: result.non2xx,
          latencies,
        });
      },
    );
    inst.on('response', (_client, statusCode, _bytes, responseTime) => {
      lastAt = process.hrtime.bigint();
      latencies.push(responseTime);
      statuses[statusCode] = (statuses[statusCode] || 0) + 1;
    });
    // autocannon's duration timer is the normal bound; this one catches a wedged run.
    hardStop = setTimeout(() => inst.stop(), (o.durationSec + 15) * 1000);
  });
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** Merges rounds into one summary: req/s over the summed time, percentiles over all latencies. */
function summarize(rounds) {
  const all = [];
  let seconds = 0;
  let ok = 0;
  let errors = 0;
  const statuses = {};
  for (const r of rounds) {
    for (const l of r.latencies) all.push(l);
    seconds += r.seconds;
    errors += r.errors + r.timeouts;
    for (const [s, n] of Object.entries(r.statuses)) {
      statuses[s] = (statuses[s] || 0) + n;
      if (s >= 200 && s < 300) ok += n;
    }
  }
  all.sort((a, b) => a - b);
  return {
    rounds: rounds.length,
    seconds: round(seconds, 2),
    responses: all.length,
    ok2xx: ok,
    errors,
    statuses,
    reqPerSec: round(ok / seconds, 1),
    p50ms: round(percentile(all, 50), 2),
    p99ms: round(percentile(all, 99), 2),
    maxMs: round(all.length ? all[all.length - 1] : NaN, 2),
  };
}

function round(x, d) {
  if (!Number.isFinite(x)) return null;
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

module.exports = { runLoad, summarize, percentile, round };
