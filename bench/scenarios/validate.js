'use strict';
/**
 * concur-validate: 500 rules against a v4 report of 200 expenses (target: under
 * 50 ms, rules compiled once per deploy). Two measurements, each bounded in
 * count and time:
 * - engine: validateReport() on the compiled rule set in the bench process
 *   (the node's own work per message, without HTTP);
 * - node: the same report POSTed through `http in → concur-validate → http response`
 *   versus `http in → http response` with the same body, one request at a time;
 *   the p50 difference is what the node adds per message in Node-RED.
 */
const { request } = require('../../scripts/lib/red-launcher');
const { percentile, round: roundTo } = require('../lib/load');

const round = (x) => roundTo(x, 2);
const workload = require('../lib/validate-workload');
const { compileRulesOrThrow, validateReport } = require('../../dist/concur/validation-rules');
const { toReportView } = require('../../dist/concur/report-view');

const ENGINE_RUNS = 40;
const HTTP_RUNS = 30;
const MAX_MS = 45000;

module.exports = {
  id: 'validate',
  title: 'validate (500 rules x 200 entries)',
  requires: ['concur-validate'],
  async run(ctx) {
    const rules = workload.rules(500);
    const { report, expenses } = workload.report(200);
    const t0 = Date.now();

    // Engine, in this process.
    const c0 = process.hrtime.bigint();
    const compiled = compileRulesOrThrow(rules);
    const compileMs = Number(process.hrtime.bigint() - c0) / 1e6;
    const view = toReportView(report, { expenses });
    const engine = [];
    const engineCpu = []; // CPU time of this process: less sensitive than wall time to other load on the cores
    let findings = 0;
    for (let i = 0; i < ENGINE_RUNS + 5 && Date.now() - t0 < MAX_MS; i++) {
      if (global.gc) global.gc();
      const cpu0 = process.cpuUsage();
      const s = process.hrtime.bigint();
      const res = await validateReport(compiled, view);
      const ms = Number(process.hrtime.bigint() - s) / 1e6;
      const cpu = process.cpuUsage(cpu0);
      findings = res.findings.length;
      if (i >= 5) {
        engine.push(ms); // 5 warm-up runs
        engineCpu.push((cpu.user + cpu.system) / 1000);
      }
    }

    // Through Node-RED, one request at a time.
    await ctx.deploy([
      { id: 'val-in', type: 'http in', z: 'bench-tab', url: '/bench/validate', method: 'post', x: 100, y: 40, wires: [['val-node']] },
      { id: 'val-node', type: 'concur-validate', z: 'bench-tab', rulesFrom: 'node', rules, x: 300, y: 40, wires: [['val-out'], ['val-out']] },
      { id: 'val-out', type: 'http response', z: 'bench-tab', statusCode: '200', x: 500, y: 40, wires: [] },
      { id: 'val-base-in', type: 'http in', z: 'bench-tab', url: '/bench/validate-base', method: 'post', x: 100, y: 100, wires: [['val-base-out']] },
      { id: 'val-base-out', type: 'http response', z: 'bench-tab', statusCode: '200', x: 300, y: 100, wires: [] },
    ]);
    const body = JSON.stringify({ ...report, expenses });
    const headers = { 'Content-Type': 'application/json' };
    const time = async (url) => {
      const out = [];
      let failed = 0;
      for (let i = 0; i < HTTP_RUNS + 3 && Date.now() - t0 < MAX_MS * 2; i++) {
        const s = process.hrtime.bigint();
        const r = await request(url, { method: 'POST', headers, body });
        const ms = Number(process.hrtime.bigint() - s) / 1e6;
        if (r.status !== 200) failed++;
        else if (i >= 3) out.push(ms);
      }
      return { out, failed };
    };
    // The payload carries no msg.expenses: the node sees a v4 report without expenses unless the body has them.
    const node = await time(`${ctx.red.url}/bench/validate`);
    const base = await time(`${ctx.red.url}/bench/validate-base`);
    const p = (a, q) =>
      round(
        percentile(
          a.slice().sort((x, y) => x - y),
          q,
        ),
      );
    const added = round(p(node.out, 50) - p(base.out, 50));
    return {
      engine: { runs: engine.length, compileMs: round(compileMs), findings },
      rows: [
        {
          variant: `engine: validateReport, wall (${engine.length} runs)`,
          p50ms: p(engine, 50),
          p99ms: p(engine, 99),
          ok2xx: engine.length,
          failed: 0,
          target: '< 50 ms',
        },
        {
          variant: 'engine: validateReport, CPU time',
          p50ms: p(engineCpu, 50),
          p99ms: p(engineCpu, 99),
          ok2xx: engineCpu.length,
          failed: 0,
          target: '< 50 ms',
        },
        {
          variant: 'node: http in → validate → response',
          p50ms: p(node.out, 50),
          p99ms: p(node.out, 99),
          ok2xx: node.out.length,
          failed: node.failed,
          ratio: round(p(node.out, 50) / p(base.out, 50)),
          target: `adds ${added} ms (p50)`,
        },
        { variant: 'baseline: http in → response (same body)', p50ms: p(base.out, 50), p99ms: p(base.out, 99), ok2xx: base.out.length, failed: base.failed },
      ],
      notes: [
        `rules compiled once in ${round(compileMs)} ms; ${findings} findings per run; the duplicate-expense rule (n² comparisons) is in the set once`,
        `load average at the end: ${require('node:os')
          .loadavg()
          .map((x) => x.toFixed(1))
          .join(' ')} on ${require('node:os').cpus().length} cores (wall times stretch with it; CPU time much less)`,
      ],
    };
  },
};
