'use strict';
/**
 * API nodes: report fetches per second through `inject → concur-get-report-details`
 * (a concur-config with the company-token grant) against the built-in simulator,
 * versus a raw `fetch` loop to the same simulator endpoint with one token, both
 * with the same concurrency. Also counts token-endpoint hits per 1000 calls
 * (target: 1 while the token is valid).
 *
 * The flow keeps CONCURRENCY messages in flight: a driver function node emits
 * the first batch on the inject, and each result (or caught error) coming back
 * releases the next call until N calls are done or the time bound passes; the
 * driver then posts its figures to a loopback collector.
 */
const { fork } = require('node:child_process');
const path = require('node:path');
const http = require('node:http');
const { startCollector, collectorNodes } = require('../../test/helpers/collector');
const { request } = require('../../scripts/lib/red-launcher');
const { percentile, round } = require('../lib/load');

const CONCURRENCY = 16; // the API client's keep-alive agent allows 16 sockets per host
const TOKEN_PATH = '/oauth2/v0/token';

function driverFunc(reportId, userId, n, c, maxMs) {
  // Runs inside Node-RED. Keeps `c` calls in flight; bounded by count and time.
  return `
const R = ${JSON.stringify(reportId)}, U = ${JSON.stringify(userId)};
let st = context.get('st');
const next = () => ({ reportId: R, userId: U, _t: Date.now() });
if (msg.start) {
  st = { n: ${n}, sent: 0, done: 0, failed: 0, t0: Date.now(), lat: [], fin: false };
  context.set('st', st);
  const out = [];
  for (let i = 0; i < Math.min(${c}, st.n); i++) { st.sent++; out.push(next()); }
  return [out, null];
}
if (!st || st.fin) return null;
st.done++;
if (msg.concurError || msg.error) st.failed++;
else if (msg._t) st.lat.push(Date.now() - msg._t);
const timeUp = Date.now() - st.t0 > ${maxMs};
if (st.sent < st.n && !timeUp) { st.sent++; return [next(), null]; }
if (st.done === st.sent) {
  st.fin = true;
  return [null, { payload: { done: st.done, failed: st.failed, ms: Date.now() - st.t0, lat: st.lat } }];
}
return null;`;
}

/** One GET with node:http and a keep-alive agent (what the package's own transport uses). */
function httpGet(url, token, agent) {
  return new Promise((resolve) => {
    const req = http.get(url, { agent, headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, timeout: 10000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode >= 200 && res.statusCode < 300));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
  });
}

async function rawFetchLoop(url, token, n, c, maxMs, mode = 'fetch') {
  const agent = mode === 'http' ? new http.Agent({ keepAlive: true, maxSockets: c }) : undefined;
  const t0 = Date.now();
  let sent = 0;
  let failed = 0;
  const lat = [];
  const worker = async () => {
    while (sent < n && Date.now() - t0 < maxMs) {
      sent++;
      const t = Date.now();
      let ok = false;
      try {
        if (agent) ok = await httpGet(url, token, agent);
        else {
          const r = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, signal: AbortSignal.timeout(10000) });
          await r.arrayBuffer();
          ok = r.ok;
        }
      } catch {
        ok = false;
      }
      if (ok) lat.push(Date.now() - t);
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: c }, worker));
  agent?.destroy();
  return { done: sent, failed, ms: Date.now() - t0, lat };
}

/** Starts bench/lib/sim-child.js; resolves with its coordinates and a counts() query. */
function startSimChild() {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, '..', 'lib', 'sim-child.js'), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('simulator did not start within 20 s'));
    }, 20000);
    const waiters = [];
    child.on('message', (m) => {
      if (m.type === 'ready') {
        clearTimeout(t);
        resolve({
          ...m,
          counts: () => new Promise((r) => (waiters.push(r), child.send({ type: 'counts' }))),
          stop: () => new Promise((r) => (child.exitCode !== null ? r() : (child.once('exit', () => r()), child.disconnect()))),
        });
      } else if (m.type === 'counts') waiters.shift()?.(m);
    });
    child.on('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`simulator exited (${code})`));
    });
  });
}

function summary(label, r) {
  const ok = r.done - r.failed;
  const lat = [...r.lat].sort((a, b) => a - b);
  return {
    variant: label,
    reqPerSec: round(ok / (r.ms / 1000), 1),
    p50ms: round(percentile(lat, 50), 2),
    p99ms: round(percentile(lat, 99), 2),
    ok2xx: ok,
    failed: r.failed,
  };
}

module.exports = {
  id: 'api',
  title: 'API: get-report-details vs raw fetch',
  requires: ['concur-config', 'concur-get-report-details'],
  async run(ctx) {
    const sim = await startSimChild();
    ctx.cleanup.push(() => sim.stop());
    const tokenHits = async () => (await sim.counts()).tokenHits;
    const collector = await startCollector();
    ctx.cleanup.push(() => collector.close());
    const c = sim.credentials;
    const { reportId, userId } = sim;
    const n = ctx.settings.seconds >= 5 ? 40000 : 3000;
    const maxMs = ctx.settings.seconds * 1000;
    const col = collectorNodes({ idPrefix: 'apicol', z: 'bench-tab', url: collector.url, pathName: '/api', fields: ['payload'] });
    await ctx.deploy([
      {
        id: 'api-conf',
        type: 'concur-config',
        name: 'simulator',
        geolocation: 'custom',
        baseUrl: sim.url,
        tokenEndpoint: 'api',
        grantType: 'password',
        credtype: 'authtoken',
        credentials: { clientId: c.clientId, clientSecret: c.clientSecret, username: c.companyId, password: c.companyRequestToken },
      },
      {
        id: 'api-inject',
        type: 'inject',
        z: 'bench-tab',
        name: 'start',
        props: [{ p: 'start', v: 'true', vt: 'bool' }],
        repeat: '',
        once: false,
        wires: [['api-driver']],
      },
      {
        id: 'api-driver',
        type: 'function',
        z: 'bench-tab',
        name: 'driver',
        func: driverFunc(reportId, userId, n, CONCURRENCY, maxMs),
        outputs: 2,
        wires: [['api-get'], [col.inputId]],
      },
      {
        id: 'api-get',
        type: 'concur-get-report-details',
        z: 'bench-tab',
        name: 'get report',
        server: 'api-conf',
        version: 'v4',
        context: 'TRAVELER',
        wires: [['api-driver']],
      },
      // A failed call still releases the next one (and is counted as failed).
      { id: 'api-catch', type: 'catch', z: 'bench-tab', name: '', scope: ['api-get'], uncaught: false, wires: [['api-driver']] },
      ...col.nodes,
    ]);
    const url = `${sim.url}/expensereports/v4/users/${encodeURIComponent(userId)}/context/TRAVELER/reports/${encodeURIComponent(reportId)}`;
    const node = [];
    const raw = [];
    let tokensDuringNode = 0;
    let tokensDuringRaw = 0;
    let nodeCallsAll = 0;
    const runNode = async () => {
      collector.clear();
      const before = await tokenHits();
      const r = await request(`${ctx.red.url}/inject/api-inject`, { method: 'POST' });
      if (r.status !== 200) throw new Error(`inject failed: ${r.status} ${r.body}`);
      const [m] = await collector.waitFor(1, maxMs + 20000, '/api');
      tokensDuringNode += (await tokenHits()) - before;
      nodeCallsAll += m.body.payload.done;
      return m.body.payload;
    };
    const runRaw = async (mode) => {
      const before = await tokenHits();
      const tok = await fetch(`${sim.url}${TOKEN_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'password',
          credtype: 'authtoken',
          username: c.companyId,
          password: c.companyRequestToken,
          client_id: c.clientId,
          client_secret: c.clientSecret,
        }),
      }).then((r) => r.json());
      const r = await rawFetchLoop(url, tok.access_token, n, CONCURRENCY, maxMs, mode);
      tokensDuringRaw += (await tokenHits()) - before;
      return r;
    };
    // Warm-up (unmeasured for speed; counted for tokens): the node's first call obtains the token.
    await runNode();
    const firstTokenRequests = tokensDuringNode;
    await runRaw('fetch');
    await runRaw('http');
    const rawHttp = [];
    for (let i = 0; i < ctx.settings.rounds; i++) {
      raw.push(await runRaw('fetch'));
      ctx.log(`  api round ${i + 1}/${ctx.settings.rounds} raw fetch: ${raw[i].done} calls in ${raw[i].ms} ms`);
      rawHttp.push(await runRaw('http'));
      ctx.log(`  api round ${i + 1}/${ctx.settings.rounds} raw http:  ${rawHttp[i].done} calls in ${rawHttp[i].ms} ms`);
      node.push(await runNode());
      ctx.log(`  api round ${i + 1}/${ctx.settings.rounds} node:      ${node[i].done} calls in ${node[i].ms} ms (${node[i].failed} failed)`);
    }
    const merge = (rs) =>
      rs.reduce((a, r) => ({ done: a.done + r.done, failed: a.failed + r.failed, ms: a.ms + r.ms, lat: a.lat.concat(r.lat) }), {
        done: 0,
        failed: 0,
        ms: 0,
        lat: [],
      });
    const rawS = summary(`raw fetch loop (${CONCURRENCY} in flight)`, merge(raw));
    const rawHttpS = summary(`raw http.request keep-alive loop (${CONCURRENCY} in flight)`, merge(rawHttp));
    const nodeM = merge(node);
    const nodeS = summary(`inject → concur-get-report-details (${CONCURRENCY} in flight)`, nodeM);
    const per1000 = nodeCallsAll ? round((tokensDuringNode / nodeCallsAll) * 1000, 3) : null;
    nodeS.ratio = rawS.reqPerSec ? round(nodeS.reqPerSec / rawS.reqPerSec, 3) : null;
    nodeS.target = 'ratio vs raw fetch';
    const vsHttp = rawHttpS.reqPerSec ? round(nodeS.reqPerSec / rawHttpS.reqPerSec, 3) : null;
    const tokenRow = {
      variant: `token-endpoint requests: ${tokensDuringNode} in ${nodeCallsAll} node calls = ${per1000} per 1000`,
      target: '1 while token valid',
    };
    return {
      results: [
        {
          raw: rawS,
          rawHttp: rawHttpS,
          node: nodeS,
          nodeVsRawHttpRatio: vsHttp,
          nodeCalls: nodeCallsAll,
          tokenRequests: tokensDuringNode,
          tokenRequestsPer1000Calls: per1000,
          tokenRequestsOnFirstRun: firstTokenRequests,
          rawLoopTokenRequests: tokensDuringRaw,
        },
      ],
      rows: [rawS, rawHttpS, nodeS, tokenRow],
      notes: [
        `token-endpoint requests made by concur-config: ${tokensDuringNode} over ${nodeCallsAll} calls (warm-up + measured), ${firstTokenRequests} of them in the warm-up run that obtained the token; the raw loop made ${tokensDuringRaw} (one per run, by design)`,
        'the simulator runs in its own process; the raw fetch loop runs in the bench process, the node path in Node-RED; all share the 2 cores',
        `node vs the raw http.request keep-alive loop: ${vsHttp}x (undici fetch is the slower client here)`,
        'latency columns for the API rows are per call (ms), measured inside the flow / the fetch loop',
      ],
    };
  },
};
