#!/usr/bin/env node
'use strict';
/**
 * `npm run bench`: throughput and latency of this package's receivers and API
 * nodes, each measured IN THE SAME Node-RED runtime and the same run as a
 * baseline core flow (`http in → http response`), with rounds alternating
 * baseline/node to even out drift. Loopback only; every load run is bounded by
 * duration and request count; the whole run has a hard deadline.
 *
 * Prints a table and writes bench/results.json. Not part of `npm test`, and it
 * asserts nothing: the targets are reported next to the figures.
 *
 * Options: --quick (short rounds, for a smoke run), --only=ess,ess-pg,legacy,api,floor,journal,validate
 * Env: BENCH_ROUNDS, BENCH_SECONDS, RED_LOG=1 (echo Node-RED's log).
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startRed, request } = require('../scripts/lib/red-launcher');
const { table } = require('./lib/table');

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const ONLY = (args.find((a) => a.startsWith('--only=')) || '').slice(7).split(',').filter(Boolean);
// The original four scenarios fit in 5 minutes on 2 cores; the store, file-store and validate
// rows added since need about 3 more, so the whole run is bounded at 9 minutes.
const DEADLINE_MS = 540_000;
const SCENARIO_CUTOFF_MS = 480_000; // do not start a scenario after this
const RESULTS = path.join(__dirname, 'results.json');

const settings = {
  rounds: Number(process.env.BENCH_ROUNDS) || (QUICK ? 1 : 2),
  seconds: Number(process.env.BENCH_SECONDS) || (QUICK ? 2 : 5),
  connections: 24, // ESS's documented delivery concurrency (24 threads)
};

const SCENARIOS = [
  require('./scenarios/floor'),
  require('./scenarios/ess'),
  require('./scenarios/legacy'),
  require('./scenarios/api'),
  require('./scenarios/ess-pg'),
  require('./scenarios/journal'),
  require('./scenarios/validate'),
];

const t0 = Date.now();
const log = (m) => process.stderr.write(`[bench +${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}\n`);

async function registeredTypes(red) {
  const r = await request(`${red.url}/nodes`, { headers: { Accept: 'application/json' } });
  const types = new Set();
  for (const set of JSON.parse(r.body)) if (set.enabled !== false && !set.err) for (const t of set.types || []) types.add(t);
  return types;
}

async function main() {
  let red;
  const cleanup = [];
  const hard = setTimeout(() => {
    log(`hard deadline of ${DEADLINE_MS / 1000}s reached; stopping`);
    if (red) red.kill().finally(() => process.exit(2));
    else process.exit(2);
  }, DEADLINE_MS);
  hard.unref();
  const results = {
    generatedAt: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0] && os.cpus()[0].model,
      loadAvgAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
      node: process.version,
      nodeRed: require('node-red/package.json').version,
      autocannon: require('autocannon/package.json').version,
    },
    note: 'autocannon (the load generator) runs in this process and shares the same CPU cores with Node-RED; figures are relative (node vs baseline in the same runtime and run), not absolute capacity.',
    settings,
    scenarios: [],
  };
  try {
    red = await startRed({ env: { NODE_ENV: 'production' } });
    log(
      `Node-RED ${results.machine.nodeRed} pid ${red.pid} at ${red.url}; load: ${settings.connections} connections, ${settings.rounds} round(s) x ${settings.seconds}s per side`,
    );
    const types = await registeredTypes(red);
    const ctx = { red, log, settings, types, cleanup, deploy: (nodes) => deployAll(red, nodes) };
    for (const sc of SCENARIOS) {
      if (ONLY.length && !ONLY.includes(sc.id)) continue;
      const missing = (sc.requires || []).filter((t) => !types.has(t));
      if (missing.length) {
        log(`skip ${sc.id}: node type(s) not registered: ${missing.join(', ')}`);
        results.scenarios.push({ id: sc.id, title: sc.title, skipped: `node type(s) not registered: ${missing.join(', ')}` });
        continue;
      }
      if (Date.now() - t0 > SCENARIO_CUTOFF_MS) {
        results.scenarios.push({ id: sc.id, title: sc.title, skipped: 'time budget used up' });
        continue;
      }
      log(`== ${sc.title}`);
      try {
        const out = await sc.run(ctx);
        results.scenarios.push({ id: sc.id, title: sc.title, ...out });
      } catch (err) {
        log(`scenario ${sc.id} failed: ${err && err.stack}`);
        results.scenarios.push({ id: sc.id, title: sc.title, error: String((err && err.message) || err) });
      }
    }
  } finally {
    for (const fn of cleanup.reverse())
      await Promise.resolve()
        .then(fn)
        .catch((e) => log(`cleanup: ${e.message}`));
    if (red) {
      results.redLogTail = red
        .log()
        .split('\n')
        .filter((l) => /\[(warn|error)\]/.test(l))
        .slice(-20);
      await red.stop();
      red.cleanup();
    }
    clearTimeout(hard);
  }
  results.totalSeconds = Math.round((Date.now() - t0) / 100) / 10;
  fs.writeFileSync(RESULTS, JSON.stringify(results, null, 2) + '\n');
  print(results);
}

async function deployAll(red, nodes) {
  await red.deploy([{ id: 'bench-tab', type: 'tab', label: 'bench' }, ...nodes]);
}

function print(results) {
  const rows = [];
  for (const s of results.scenarios) {
    if (s.skipped || s.error) {
      rows.push({ scenario: s.title, variant: s.skipped ? `skipped: ${s.skipped}` : `ERROR: ${s.error}` });
      continue;
    }
    for (const r of s.rows) rows.push({ scenario: s.title, ...r });
  }
  const cols = [
    { key: 'scenario', title: 'scenario' },
    { key: 'variant', title: 'variant' },
    { key: 'reqPerSec', title: 'req/s', right: true },
    { key: 'p50ms', title: 'p50 ms', right: true },
    { key: 'p99ms', title: 'p99 ms', right: true },
    { key: 'ok2xx', title: 'ok', right: true },
    { key: 'failed', title: 'failed', right: true },
    { key: 'ratio', title: 'ratio', right: true },
    { key: 'target', title: 'target' },
  ];
  process.stdout.write(`\n${table(cols, rows)}\n\n`);
  for (const s of results.scenarios) for (const n of s.notes || []) process.stdout.write(`- ${s.title}: ${n}\n`);
  process.stdout.write(
    `- ${results.note}\n- machine: ${results.machine.cpus} x ${results.machine.cpuModel}, Node ${results.machine.node}, Node-RED ${results.machine.nodeRed}; total ${results.totalSeconds}s\n`,
  );
  process.stdout.write(`results written to ${path.relative(process.cwd(), RESULTS)}\n`);
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err && err.stack}\n`);
  process.exit(1);
});
