'use strict';
/**
 * The one Node-RED launcher of this repository, shared by the tests
 * (test/helpers/red-runtime.js), the benchmark (bench/) and the demo
 * (scripts/start-demo.js). It starts a real Node-RED runtime
 * (`node node_modules/node-red/red.js`) in a child process with a userDir and a
 * settings file, so everything goes through the same express stack (editor body
 * parsers included) that users run. Every process started here is stopped by its PID.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const http = require('node:http');

const REPO = path.resolve(__dirname, '..', '..');
const PACKAGE_NAME = require(path.join(REPO, 'package.json')).name;
const live = new Set();

/** @returns {Promise<number>} a port that was free on 127.0.0.1 a moment ago */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (s.address());
      s.close(() => resolve(port));
    });
  });
}

/**
 * Minimal HTTP client for loopback tests (no keep-alive surprises). Other options
 * (ca, cert, key, rejectUnauthorized, …) go to http(s).request.
 * @param {string} url
 * @param {{ method?: string, headers?: Record<string, any>, body?: string | Buffer, timeoutMs?: number, agent?: any } & Record<string, any>} [opts]
 * @returns {Promise<{ status: number, headers: import('node:http').IncomingHttpHeaders, body: string, raw: Buffer }>}
 */
function request(url, { method = 'GET', headers = {}, body, timeoutMs = 15000, agent = false, ...tls } = {}) {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? require('node:https') : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(u, { method, headers, agent, timeout: timeoutMs, ...tls }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const buf = Buffer.concat(chunks);
        resolve({ status: res.statusCode, headers: res.headers, body: buf.toString('utf8'), raw: buf });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`request to ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function settingsSource(opts) {
  const base = {
    uiHost: '127.0.0.1',
    uiPort: opts.port,
    flowFile: 'flows.json',
    credentialSecret: opts.credentialSecret || 'test-credential-secret',
    userDir: opts.userDir,
    httpAdminRoot: '/',
    httpNodeRoot: '/',
    nodesDir: opts.nodesDir || [],
    logging: { console: { level: opts.logLevel || 'info', metrics: false, audit: false } },
    editorTheme: { tours: false, projects: { enabled: false }, palette: {} },
    diagnostics: { enabled: false, ui: false },
    telemetry: { enabled: false },
    externalModules: { palette: { allowInstall: false }, modules: { allowInstall: false } },
    functionExternalModules: false,
    ...(opts.settings || {}),
  };
  // settingsJs lets a test add values that are not JSON (e.g. an https() function).
  return `module.exports = Object.assign(${JSON.stringify(base, null, 2)}, (function(){ ${opts.settingsJs || 'return {};'} })());\n`;
}

class RedRuntime {
  /**
   * opts: userDir, port (required); settings (merged into the generated settings),
   * settingsJs; settingsSource (the whole settings.js text instead) with keepSettings
   * (leave an existing settings.js alone); args (more red.js arguments); onLog(text, 'stdout'|'stderr');
   * maxLogChars (keep only the newest output, for long runs); readyTimeoutMs; readyOnStarting
   * (ready once flows are starting, even if they wait for missing node types);
   * nodeRedDir, nodeBin, env, readyPath, scheme, clientTls, keepUserDir.
   * @param {Record<string, any>} opts
   */
  constructor(opts) {
    this.opts = opts;
    /** @type {import('node:child_process').ChildProcess | null} */
    this.proc = null;
    /** @type {{ code: number | null, signal: string | null } | null} */
    this.exitInfo = null;
    /** @type {Promise<{ code: number | null, signal: string | null }> | undefined} */
    this.exited = undefined;
    /** @type {string[]} */
    this.logs = [];
    this.startedFlows = 0; // "Started flows" lines seen, counted per line so trimming the log cannot lose one
    this.startingFlows = 0; // "Starting flows" lines (also logged when flows wait for missing node types)
  }

  get url() {
    return `${this.opts.scheme || 'http'}://127.0.0.1:${this.opts.port}`;
  }

  get pid() {
    return this.proc && this.proc.pid;
  }

  log() {
    return this.logs.join('');
  }

  async start() {
    const { userDir } = this.opts;
    const settingsFile = path.join(userDir, 'settings.js');
    if (!(this.opts.keepSettings && fs.existsSync(settingsFile))) {
      fs.writeFileSync(settingsFile, this.opts.settingsSource || settingsSource(this.opts));
    }
    // RED_NODE_RED_DIR / RED_NODE_BIN select another Node-RED and Node (the Node-RED 5 compatibility run).
    const redDir = this.opts.nodeRedDir || process.env.RED_NODE_RED_DIR || path.join(REPO, 'node_modules', 'node-red');
    const redJs = path.join(redDir, 'red.js');
    if (!fs.existsSync(redJs)) throw new Error(`${redJs} is missing: run "npm ci" first`);
    const nodeBin = this.opts.nodeBin || process.env.RED_NODE_BIN || process.execPath;
    this.exitInfo = null;
    this.logStart = this.logs.length;
    // Readiness is judged on this process's own output.
    this.readyAtStart = this.readyCount();
    const args = [redJs, '--userDir', userDir, '--settings', settingsFile, ...(this.opts.args || [])];
    this.proc = spawn(nodeBin, args, {
      cwd: userDir,
      env: { ...process.env, NODE_RED_ENABLE_TOURS: 'false', ...(this.opts.env || {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(this);
    const onData = (stream, which) => {
      let partial = '';
      stream.on('data', (d) => {
        const text = d.toString();
        this.logs.push(text);
        const lines = (partial + text).split('\n');
        partial = lines.pop() || '';
        this.startedFlows += lines.filter((l) => l.includes('Started flows')).length;
        this.startingFlows += lines.filter((l) => l.includes('Starting flows')).length;
        if (this.opts.maxLogChars) this.trimLog(this.opts.maxLogChars);
        if (this.opts.onLog) this.opts.onLog(text, which);
        if (process.env.RED_LOG) process.stderr.write(d);
      });
    };
    onData(this.proc.stdout, 'stdout');
    onData(this.proc.stderr, 'stderr');
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        live.delete(this);
        resolve(this.exitInfo);
      });
    });
    await this.waitReady();
    return this;
  }

  /** How many times the flows became ready so far (see readyOnStarting). */
  readyCount() {
    return this.opts.readyOnStarting ? this.startingFlows : this.startedFlows;
  }

  /** Drops the oldest output beyond `max` characters. */
  trimLog(max) {
    let total = this.logs.reduce((n, t) => n + t.length, 0);
    while (total > max && this.logs.length > 1) total -= this.logs.shift().length;
  }

  async waitReady(timeoutMs = this.opts.readyTimeoutMs || 60000) {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (this.exitInfo) throw new Error(`Node-RED exited early (${JSON.stringify(this.exitInfo)}):\n${this.log()}`);
      if (this.readyCount() > this.readyAtStart) {
        try {
          // readyPath: a path that answers 200 without a login when adminAuth is on (e.g. /auth/login).
          const r = await request(`${this.url}${this.opts.readyPath || '/settings'}`, { timeoutMs: 2000, ...(this.opts.clientTls || {}) });
          if (r.status === 200) return;
        } catch {
          /* not listening yet */
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`Node-RED did not start within ${timeoutMs} ms:\n${this.log()}`);
  }

  /** Full deploy through the admin API; credentials may be given inline on each node. */
  async deploy(flows) {
    const startedBefore = this.startedFlows;
    const r = await request(`${this.url}/flows`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'full', 'Node-RED-API-Version': 'v1' },
      body: JSON.stringify(flows),
      ...(this.opts.clientTls || {}),
    });
    if (r.status !== 204 && r.status !== 200) throw new Error(`deploy failed: ${r.status} ${r.body}`);
    const until = Date.now() + 20000;
    while (this.startedFlows <= startedBefore) {
      if (Date.now() > until || this.exitInfo) throw new Error(`flows did not start after deploy:\n${this.log()}`);
      await new Promise((res) => setTimeout(res, 50));
    }
    return r;
  }

  async getFlows() {
    const r = await request(`${this.url}/flows`, { headers: { 'Node-RED-API-Version': 'v1' }, ...(this.opts.clientTls || {}) });
    return JSON.parse(r.body);
  }

  /** Graceful stop (SIGTERM, then SIGKILL after 10 s). */
  async stop() {
    if (!this.proc || this.exitInfo) return this.exitInfo;
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc && !this.exitInfo && this.proc.kill('SIGKILL'), 10000);
    const info = await this.exited;
    clearTimeout(t);
    return info;
  }

  /** Hard kill, as a crash would. */
  async kill() {
    if (!this.proc || this.exitInfo) return this.exitInfo;
    this.proc.kill('SIGKILL');
    return this.exited;
  }

  async restart() {
    await this.stop();
    return this.start();
  }

  cleanup() {
    if (!this.opts.keepUserDir) fs.rmSync(this.opts.userDir, { recursive: true, force: true });
  }
}

/**
 * Installs this package into `userDir` as `npm link` would: a symlink
 * node_modules/<package> -> the repository (replaced if it points elsewhere; a
 * junction on Windows, which needs no admin rights), plus a package.json naming it.
 */
/**
 * @param {string} userDir
 * @param {{ name?: string, description?: string }} [pkg]
 */
function linkPackage(userDir, { name = 'node-red-project', description } = {}) {
  fs.mkdirSync(path.join(userDir, 'node_modules'), { recursive: true });
  const link = path.join(userDir, 'node_modules', PACKAGE_NAME);
  let linked = false;
  try {
    linked = fs.realpathSync(link) === fs.realpathSync(REPO);
  } catch {
    /* missing or dangling */
  }
  if (!linked) {
    fs.rmSync(link, { recursive: true, force: true });
    fs.symlinkSync(REPO, link, process.platform === 'win32' ? 'junction' : 'dir');
  }
  const pkg = path.join(userDir, 'package.json');
  if (!fs.existsSync(pkg)) {
    const json = { name, private: true, ...(description ? { description } : {}), dependencies: { [PACKAGE_NAME]: '*' } };
    fs.writeFileSync(pkg, `${JSON.stringify(json, null, 2)}\n`);
  }
}

/**
 * Starts Node-RED with this package installed in the userDir (a symlink, as
 * `npm link` would make; `link: false` keeps what the userDir already has, e.g. the
 * package installed from its tarball) and returns the running runtime.
 */
/**
 * @param {Record<string, any>} [opts] RedRuntime options (see its constructor) plus link
 * @returns {Promise<RedRuntime>}
 */
async function startRed(opts = {}) {
  const userDir = opts.userDir || fs.mkdtempSync(path.join(os.tmpdir(), 'concur-red-'));
  if (opts.link !== false) linkPackage(userDir);
  const port = opts.port || (await freePort());
  const rt = new RedRuntime({ ...opts, userDir, port });
  await rt.start();
  return rt;
}

/** Kills any runtime a failing test left behind. */
async function stopAll() {
  await Promise.all([...live].map((rt) => rt.stop()));
}
process.on('exit', () => {
  for (const rt of live) {
    try {
      process.kill(rt.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

module.exports = { startRed, stopAll, request, freePort, linkPackage, RedRuntime, REPO, PACKAGE_NAME };
