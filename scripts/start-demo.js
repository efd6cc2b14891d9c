#!/usr/bin/env node
'use strict';
/**
 * `npm start`: the SAP Concur approval demo on this machine, no tenant needed.
 *
 * 1. starts the built-in Concur simulator (in this process) on 127.0.0.1:8090;
 * 2. prepares a Node-RED user directory (.demo/, git-ignored) with this package linked in;
 * 3. starts Node-RED (`node node_modules/node-red/red.js --userDir .demo`) on 127.0.0.1:1880;
 * 4. on the first run deploys the demo flows (the ESS approval, legacy external
 *    validation, replay and subscription-setup examples, wired to the simulator);
 *    later runs keep the user's edits and only re-point them if a port or key changed;
 * 5. subscribes the ESS receiver at the simulator, prints the editor URL and
 *    one-line commands that send test events;
 * 6. on Ctrl+C / SIGTERM stops Node-RED (by PID) and the simulator.
 *
 * Environment: PORT (editor port, default 1880), CONCUR_SIM_PORT (default 8090),
 * CONCUR_DEMO_DIR (default .demo), CONCUR_SIM_DIR (ESS signing keys, default
 * .concur-sim), CONCUR_DEMO_RESET=1 (deploy the demo's own tabs afresh; other tabs are kept).
 * A port given explicitly must be free; the defaults fall back to a free port.
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
// The same launcher the tests and the benchmark use.
const { RedRuntime, freePort, linkPackage, request, REPO } = require('./lib/red-launcher');

const HOST = '127.0.0.1';
const STATE_FILE = 'concur-demo.json';
const LEGACY_USER = 'concur-connector';
// Fixed so the demo's encrypted flows_cred.json keeps working across runs. Local demo only.
const DEMO_CREDENTIAL_SECRET = 'concur-demo-local-only-credential-secret';
const READY_TIMEOUT_MS = 90000;
const R_VIOLATIONS = '4D2E8A61B0C94F7FA311';
const R_PASSES = 'CB899F7D9F73420A8D8B';
const R_DRAFT = '0A6B4C2D9E8F41A3B7D1';

const say = (line = '') => process.stdout.write(`${line}\n`);
const warn = (line) => process.stderr.write(`${line}\n`);

class DemoError extends Error {}

function requireBuilt(rel) {
  const file = path.join(REPO, rel);
  if (!fs.existsSync(file)) throw new DemoError(`${rel} is missing: the package is not built. Run "npm ci" (or "npm run build") first.`);
  return require(file);
}

// ---------------------------------------------------------------- ports

function portFrom(envName) {
  const raw = process.env[envName];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new DemoError(`${envName} must be a port number between 1 and 65535 (got "${raw}")`);
  return n;
}

function isFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, HOST, () => s.close(() => resolve(true)));
  });
}

/** The explicit port (must be free) or the preferred one, falling back to any free port. */
async function choosePort(envName, preferred, what) {
  const explicit = portFrom(envName);
  if (explicit !== undefined) {
    if (!(await isFree(explicit)))
      throw new DemoError(`${what} port ${explicit} (${envName}) is in use; choose another one, e.g. ${envName}=${explicit + 1} npm start`);
    return explicit;
  }
  if (await isFree(preferred)) return preferred;
  const port = await freePort();
  say(`${what}: port ${preferred} is in use, using ${port} instead (set ${envName} to choose one)`);
  return port;
}

async function startSimulatorOn(startSimulator, keyDir) {
  const explicit = portFrom('CONCUR_SIM_PORT');
  const opts = { host: HOST, keyDir, log: (l) => say(`[concur-sim] ${l}`) };
  try {
    return await startSimulator({ ...opts, port: explicit ?? 8090 });
  } catch (err) {
    if (err.code !== 'EADDRINUSE') throw err;
    if (explicit !== undefined) throw new DemoError(`simulator port ${explicit} (CONCUR_SIM_PORT) is in use; choose another one`);
    const sim = await startSimulator({ ...opts, port: 0 });
    say(`simulator: port 8090 is in use, using ${sim.port} instead (set CONCUR_SIM_PORT to choose one)`);
    return sim;
  }
}

// ---------------------------------------------------------------- user directory

function settingsSource() {
  return `// Node-RED settings of the SAP Concur demo, written by scripts/start-demo.js
// (delete this file to get it rewritten). The port comes from the --port argument.
module.exports = {
  uiHost: ${JSON.stringify(HOST)},
  flowFile: 'flows.json',
  // Fixed so the demo's encrypted credentials survive restarts: local demo only, never reuse it.
  credentialSecret: ${JSON.stringify(DEMO_CREDENTIAL_SECRET)},
  httpAdminRoot: '/',
  httpNodeRoot: '/',
  logging: { console: { level: 'info', metrics: false, audit: false } },
  editorTheme: { tours: false, projects: { enabled: false } },
  diagnostics: { enabled: false, ui: false },
  telemetry: { enabled: false, updateNotification: false },
  functionExternalModules: false,
};
`;
}

/** Creates the demo userDir (once) and links this package into its node_modules. */
function prepareUserDir(dir) {
  linkPackage(dir, { name: 'concur-demo', description: 'Node-RED user directory of the SAP Concur demo (npm start)' });
  // Tokens (and the geolocation they name) belong to the previous run's in-memory
  // simulator, maybe on another port: the connection starts from its credentials again.
  fs.rmSync(path.join(dir, 'concur-tokens'), { recursive: true, force: true });
}

function readState(dir) {
  try {
    const s = JSON.parse(fs.readFileSync(path.join(dir, STATE_FILE), 'utf8'));
    return s && typeof s === 'object' && typeof s.legacyPassword === 'string' ? s : undefined;
  } catch {
    return undefined;
  }
}

function writeState(dir, state) {
  // Holds the demo connector password: readable by the owner only.
  fs.writeFileSync(path.join(dir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

// ---------------------------------------------------------------- Node-RED child process

/** Node-RED on `port` with the demo's settings.js (written once; the user may edit it), its output relayed line by line. */
function nodeRed(userDir, port) {
  const partial = { stdout: '', stderr: '' };
  return new RedRuntime({
    userDir,
    port,
    args: ['--port', String(port)],
    settingsSource: settingsSource(),
    keepSettings: true,
    readyTimeoutMs: READY_TIMEOUT_MS,
    readyOnStarting: true, // a user's flow waiting for a missing node type still gets the editor
    maxLogChars: 20000,
    onLog: (text, which) => {
      const lines = (partial[which] + text).split('\n');
      partial[which] = lines.pop();
      for (const l of lines) (which === 'stderr' ? process.stderr : process.stdout).write(`[node-red] ${l}\n`);
    },
  });
}

async function getFlows(rt) {
  const r = await request(`${rt.url}/flows`, { headers: { 'Node-RED-API-Version': 'v1' } });
  if (r.status !== 200) throw new DemoError(`reading the deployed flows failed: ${r.status}`);
  return JSON.parse(r.body);
}

async function deploy(rt, flows) {
  try {
    await rt.deploy(flows);
  } catch (err) {
    throw new DemoError(`deploying the demo flows failed: ${String(err.message).split('\n')[0].slice(0, 300)}; see the Node-RED log above`);
  }
}

/** Replaces every occurrence of `from` by `to` in the string properties of the flow (credentials are not in the flow). */
function replaceEverywhere(value, from, to) {
  if (typeof value === 'string') return value.split(from).join(to);
  if (Array.isArray(value)) return value.map((v) => replaceEverywhere(v, from, to));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceEverywhere(v, from, to)]));
  return value;
}

/**
 * A second run keeps the user's flows and only re-points what the demo itself
 * put there (simulator URL, editor URL, simulator public key) if they changed.
 */
function repoint(flows, previous, current) {
  let out = flows;
  for (const k of ['simUrl', 'nodeRedUrl', 'essPublicKeyPem']) {
    const from = previous[k] && previous[k].trim();
    const to = current[k] && current[k].trim();
    if (from && to && from !== to) out = replaceEverywhere(out, from, to);
  }
  return out;
}

async function subscribe(rt, sim, webhook, subscribeInjectId) {
  const r = await request(`${rt.url}/inject/${encodeURIComponent(subscribeInjectId)}`, { method: 'POST' });
  if (r.status !== 200) return `the "subscribe" inject node is gone (${r.status}); use the simulator's subscription API yourself`;
  const until = Date.now() + 10000;
  while (Date.now() < until) {
    if ([...sim.state.subscriptions.values()].some((s) => s.webHookConfig.endpoint === webhook)) return undefined;
    await new Promise((res) => setTimeout(res, 100));
  }
  return 'the "ESS subscription setup" flow did not create the subscription; see the Node-RED log and debug sidebar';
}

// ---------------------------------------------------------------- output

function shellQuote(s) {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function shownPath(p) {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

function banner({ rt, sim, keyDir, legacyPassword, subscriptionProblem, fresh, userDir }) {
  const ess = `${rt.url}/concur/ess`;
  const legacy = `${rt.url}/concur/v1.0/notify`;
  // The CLI builds facts.href / ObjectURI from --api (default http://127.0.0.1:8090).
  const api = sim.url === 'http://127.0.0.1:8090' ? [] : ['--api', sim.url];
  const essCmd = ['npx', 'concur-sim', 'send', 'ess', '--to', ess, '--report', R_VIOLATIONS, '--key-dir', shownPath(keyDir), ...api].map(shellQuote).join(' ');
  const legacyCmd = ['npx', 'concur-sim', 'send', 'legacy', '--to', legacy, '--user', LEGACY_USER, '--password', legacyPassword, '--report', R_PASSES, ...api]
    .map(shellQuote)
    .join(' ');
  const submitCmd = `curl -X POST ${sim.url}/_sim/reports/${R_DRAFT}/submit -H 'Content-Type: application/json' -d '{"stepCode":"EXTVAL"}'`;
  const lines = [
    '',
    '================================================================================',
    ' SAP Concur demo is running',
    '================================================================================',
    ` Node-RED editor   : ${rt.url}/`,
    ` Concur simulator  : ${sim.url}   (state: ${sim.url}/_sim/state)`,
    ` ESS webhook       : ${ess}${subscriptionProblem ? '' : '   (subscribed at the simulator)'}`,
    ` Legacy callout    : ${legacy}   (user ${LEGACY_USER})`,
    ` Demo directory    : ${shownPath(userDir)}${fresh ? '   (demo flows deployed)' : '   (your flows kept)'}`,
    '',
    ' Send an ESS event for a report with violations (posts exceptions and sends it back):',
    `   ${essCmd}`,
    ' Send a legacy callout for a report that passes the rules (approves it):',
    `   ${legacyCmd}`,
    ' Move a draft report to external validation (the simulator sends the ESS event itself):',
    `   ${submitCmd}`,
    ' The simulator keeps its state in memory: restart npm start for fresh reports.',
    ' Press Ctrl+C to stop.',
    '================================================================================',
    '',
  ];
  if (subscriptionProblem) lines.splice(9, 0, ` WARNING: ${subscriptionProblem}`);
  for (const l of lines) say(l);
}

// ---------------------------------------------------------------- main

async function main() {
  const { startSimulator } = requireBuilt('dist/simulator/index.js');
  requireBuilt('dist/nodes/concur-config/concur-config.js');
  const { demoFlows, replaceDemoNodes, SUBSCRIBE_INJECT_ID } = require('./demo-flows');

  const userDir = path.resolve(process.env.CONCUR_DEMO_DIR || path.join(REPO, '.demo'));
  const keyDir = path.resolve(process.env.CONCUR_SIM_DIR || path.join(REPO, '.concur-sim'));
  const redPort = await choosePort('PORT', 1880, 'Node-RED');
  prepareUserDir(userDir);
  const previous = readState(userDir);
  const fresh = !previous || process.env.CONCUR_DEMO_RESET === '1';

  let sim;
  let rt;
  let stopping;
  const stop = (code, why) => {
    if (!stopping) {
      stopping = (async () => {
        if (why) say(why);
        if (rt) await rt.stop(); // SIGTERM, SIGKILL after 10 s
        if (sim) await sim.stop();
        say('demo stopped');
        process.exit(code);
      })().catch((err) => {
        warn(`error while stopping: ${err.message}`);
        process.exit(1);
      });
    }
    return stopping;
  };
  process.on('SIGINT', () => stop(0, 'stopping the demo (Ctrl+C)'));
  process.on('SIGTERM', () => stop(0, 'stopping the demo (SIGTERM)'));

  try {
    sim = await startSimulatorOn(startSimulator, keyDir);
    const keys = sim.essKeys();
    rt = nodeRed(userDir, redPort);
    const ready = rt.start();
    if (rt.proc) {
      say(`Node-RED starting (pid ${rt.pid}) with user directory ${shownPath(userDir)}`);
      rt.exited.then((info) => {
        if (!stopping) stop(1, `Node-RED exited unexpectedly (${JSON.stringify(info)}); stopping the simulator`);
      });
    }
    await ready.catch((err) => {
      if (!rt.proc) throw new DemoError(err.message); // never started (e.g. node_modules/node-red missing)
      if (rt.exitInfo) throw new DemoError(`Node-RED exited while starting (${JSON.stringify(rt.exitInfo)}); see its log above`);
      throw new DemoError(`Node-RED did not start within ${READY_TIMEOUT_MS / 1000} s`);
    });

    const current = {
      simUrl: sim.url,
      nodeRedUrl: rt.url,
      essPublicKeyPem: keys.publicPem,
      legacyPassword: previous && !fresh ? previous.legacyPassword : crypto.randomBytes(12).toString('base64url'),
    };
    const webhook = `${rt.url}/concur/ess`;
    if (fresh) {
      const flows = demoFlows({
        simUrl: sim.url,
        credentials: sim.credentials,
        essPublicKeyPem: keys.publicPem,
        legacy: { user: LEGACY_USER, password: current.legacyPassword },
        essWebhookUrl: webhook,
      });
      if (previous) {
        // CONCUR_DEMO_RESET: the demo's own tabs (and its connection) are deployed afresh;
        // the user's tabs, nodes and their credentials stay as they are.
        const deployed = await getFlows(rt);
        const nodes = Array.isArray(deployed) ? deployed : deployed.flows;
        let merged;
        try {
          merged = replaceDemoNodes(nodes, flows);
        } catch (err) {
          throw new DemoError(`CONCUR_DEMO_RESET: ${err.message}`);
        }
        const own = merged.length - flows.length;
        say(`CONCUR_DEMO_RESET: deploying the demo tabs afresh${own > 0 ? `, keeping your ${own} other node(s)` : ''}`);
        await deploy(rt, merged);
      } else {
        await deploy(rt, flows);
      }
    } else {
      const deployed = await getFlows(rt);
      const nodes = Array.isArray(deployed) ? deployed : deployed.flows;
      const updated = repoint(nodes, previous, current);
      if (JSON.stringify(updated) !== JSON.stringify(nodes)) {
        say('re-pointing the demo flows at the new simulator / editor address');
        await deploy(rt, updated);
      }
    }
    writeState(userDir, { ...current, updatedAt: new Date().toISOString() });
    const subscriptionProblem = await subscribe(rt, sim, webhook, SUBSCRIBE_INJECT_ID);
    banner({ rt, sim, keyDir, legacyPassword: current.legacyPassword, subscriptionProblem, fresh, userDir });
  } catch (err) {
    warn(`npm start: ${err instanceof DemoError ? err.message : err.stack || err.message}`);
    await stop(1);
  }
}

main().catch((err) => {
  warn(`npm start: ${err instanceof DemoError ? err.message : err.stack || err.message}`);
  process.exit(1);
});
