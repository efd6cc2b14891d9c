'use strict';
/**
 * Runs the Flow Library scorecard (`node-red-dev validate`) on a package
 * directory with no network: its catalogue and npm registry look-ups are served
 * from test/fixtures/scorecard/ by a loopback server (see
 * scorecard-network-stub.js). Returns the JSON scorecard plus every reason the
 * package would not get a clean scorecard.
 *
 * CLI: `node test/helpers/flow-library-scorecard.js [packageDir]` prints the report.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const REPO = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(REPO, 'test', 'fixtures', 'scorecard');
const STUB = path.join(__dirname, 'scorecard-network-stub.js');
const CLI = path.join(path.dirname(require.resolve('node-red-dev/package.json', { paths: [REPO] })), 'bin', 'run');

/** The checks node-red-dev 0.1.6 records in its JSON (P02 is disabled upstream). */
const EXPECTED_CHECKS = ['P01', 'P03', 'P04', 'P05', 'P06', 'P07', 'P08', 'N01', 'N02', 'D01', 'D02', 'D03'];

/**
 * Warnings that node-red-dev prints although its own JSON records the check as
 * passed, and which do not apply to this package. Kept deliberately narrow.
 */
const ADVISORY = [
  {
    code: 'P04',
    re: /^P04 New Packages should use a scoped name$/,
    why: 'node-red-dev 0.1.6 prints this for every unscoped name, then records P04 as passed because node-red-contrib-* is an accepted unscoped name',
  },
];

/** Finds the installed package.json of `name` in the tree under `roots` (hoisted or one level nested). */
function installedManifest(name, roots) {
  for (const root of roots) {
    const direct = path.join(root, 'node_modules', name, 'package.json');
    if (fs.existsSync(direct)) return JSON.parse(fs.readFileSync(direct, 'utf8'));
  }
  for (const root of roots) {
    const nm = path.join(root, 'node_modules');
    if (!fs.existsSync(nm)) continue;
    for (const d of fs.readdirSync(nm)) {
      const scoped = d.startsWith('@') ? fs.readdirSync(path.join(nm, d)).map((s) => `${d}/${s}`) : [d];
      for (const s of scoped) {
        const nested = path.join(nm, s, 'node_modules', name, 'package.json');
        if (fs.existsSync(nested)) return JSON.parse(fs.readFileSync(nested, 'utf8'));
      }
    }
  }
  return null;
}

/**
 * A packument for `name`: a committed fixture (registry/<name, / as __>.json)
 * if there is one, else synthesised from the installed (lockfile) version, so
 * the dependency checks walk the real dependency tree offline.
 */
function packument(name, registryDir, roots) {
  const file = path.join(registryDir, `${name.replace('/', '__')}.json`);
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8'));
  const m = installedManifest(name, roots);
  if (!m) return null;
  const version = {
    name: m.name,
    version: m.version,
    dependencies: m.dependencies || {},
    optionalDependencies: m.optionalDependencies || {},
    description: m.description,
    homepage: m.homepage,
    repository: m.repository,
  };
  return { name: m.name, 'dist-tags': { latest: m.version }, versions: { [m.version]: version }, _synthesisedFrom: 'installed node_modules' };
}

function startFixtureServer({ catalogue, registryDir, roots }) {
  const requests = [];
  const server = http.createServer((req, res) => {
    const [, host, ...rest] = (req.url || '/').split('/');
    /** @type {{ host: string, path: string, status: number | string }} */
    const rec = { host, path: `/${rest.join('/')}`, status: 0 };
    requests.push(rec);
    const send = (status, body) => {
      rec.status = status;
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    if (host === '__blocked__') {
      rec.host = rest[0];
      rec.path = `/${rest.slice(1).join('/')}`;
      rec.status = 'blocked';
      req.socket.destroy(); // the client sees a network error, as with no route to the host
      return;
    }
    if (host === 'catalogue.nodered.org' && rec.path === '/catalogue.json') return send(200, catalogue);
    if (host === 'registry.npmjs.org') {
      const name = decodeURIComponent(rest.join('/')).replace(/^%40/, '@');
      const doc = packument(name, registryDir, roots);
      return doc ? send(200, doc) : send(404, { error: 'Not found' });
    }
    return send(404, { error: 'no fixture' });
  });
  return new Promise((resolve) => {
    const port = () => /** @type {import('node:net').AddressInfo} */ (server.address()).port;
    server.listen(0, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${port()}`, requests, close: () => new Promise((r) => server.close(() => r(undefined))) }),
    );
  });
}

/** Environment for the child: no npm auth or registry settings leak in; HOME is a throwaway dir. */
function childEnv(home) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, HOME: home, npm_config_registry: 'https://registry.npmjs.org/', NO_UPDATE_NOTIFIER: '1', FORCE_COLOR: '0' };
}

/**
 * Runs `node-red-dev validate -p <pkgDir> -o <json>` with the network stubbed.
 * Options: catalogue (object) or catalogueFile; registryDir; timeoutMs.
 */
async function runScorecard(pkgDir, opts = {}) {
  const catalogue = opts.catalogue || JSON.parse(fs.readFileSync(opts.catalogueFile || path.join(FIXTURES, 'catalogue.json'), 'utf8'));
  const registryDir = opts.registryDir || path.join(FIXTURES, 'registry');
  const server = await startFixtureServer({ catalogue, registryDir, roots: [pkgDir, REPO] });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-scorecard-'));
  const out = path.join(tmp, 'scorecard.json');
  const timeoutMs = opts.timeoutMs || 120000;
  try {
    const child = spawn(process.execPath, ['-r', STUB, CLI, 'validate', '-p', pkgDir, '-o', out], {
      cwd: tmp,
      env: { ...childEnv(tmp), SCORECARD_STUB_URL: server.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const exitCode = await new Promise((resolve) => child.on('exit', (code, signal) => resolve(code === null ? signal : code)));
    clearTimeout(timer);
    const scorecard = fs.existsSync(out) ? JSON.parse(fs.readFileSync(out, 'utf8')) : null;
    return analyse({ scorecard, stdout, stderr, exitCode, timedOut, timeoutMs, requests: server.requests });
  } finally {
    await server.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Turns the CLI's JSON + output into a list of checks and a list of problems. */
function analyse({ scorecard, stdout, stderr, exitCode, timedOut, timeoutMs, requests }) {
  const problems = [];
  // oclif prints cli.warn() as " ›   Warning: <text>" on stderr, wrapping long
  // texts onto following " ›   " lines.
  const warnings = [];
  for (const line of stderr.split('\n')) {
    const m = /^\s*›\s+(Warning:\s*)?(.*)$/.exec(line);
    if (!m) continue;
    if (m[1]) warnings.push(m[2].trim());
    else if (warnings.length) warnings[warnings.length - 1] = `${warnings[warnings.length - 1]} ${m[2].trim()}`;
  }
  const unparsed = stdout
    .split('\n')
    .map((l) => /^Unable to parse\s+(.*)$/.exec(l.trim()))
    .filter(Boolean)
    .map((m) => m[1].trim());
  const checks = [];
  if (timedOut) problems.push(`node-red-dev did not finish within ${timeoutMs} ms`);
  if (exitCode !== 0) problems.push(`node-red-dev exited with ${exitCode}: ${stderr.trim().split('\n').slice(-3).join(' / ')}`);
  if (!scorecard) problems.push('node-red-dev wrote no scorecard JSON');
  else {
    for (const code of EXPECTED_CHECKS) {
      const c = scorecard[code];
      if (!c) {
        problems.push(`${code} missing from the scorecard (the check did not run)`);
        continue;
      }
      const { test, ...detail } = c;
      checks.push({ code, pass: test === true, detail });
      if (test !== true) problems.push(`${code} failed${Object.keys(detail).length ? `: ${JSON.stringify(detail)}` : ''}`);
    }
  }
  const advisories = [];
  for (const w of warnings) {
    const adv = ADVISORY.find((a) => a.re.test(w) && scorecard && scorecard[a.code] && scorecard[a.code].test === true);
    if (adv) advisories.push(`${w} (advisory: ${adv.why})`);
    else problems.push(`warning: ${w}`);
  }
  for (const n of unparsed) problems.push(`node-red-dev could not parse the editor file of ${n} (its node was not validated)`);
  for (const r of requests) {
    if (r.status === 'blocked') problems.push(`tried to reach ${r.host}${r.path} (not stubbed)`);
    else if (r.status === 404) problems.push(`looked up ${r.host}${r.path} but no fixture exists`);
  }
  return { scorecard, checks, warnings, advisories, unparsed, problems, requests, stdout, stderr, exitCode };
}

/** Human-readable report (what the test prints). */
function formatReport(result) {
  const lines = [];
  for (const c of result.checks)
    lines.push(`  ${c.pass ? 'pass' : 'FAIL'} ${c.code} ${Object.keys(c.detail).length ? JSON.stringify(c.detail) : ''}`.trimEnd());
  for (const a of result.advisories) lines.push(`  note ${a}`);
  for (const p of result.problems) lines.push(`  PROBLEM ${p}`);
  lines.push(`  look-ups served offline: ${result.requests.map((r) => `${r.host}${r.path} → ${r.status}`).join(', ') || '(none)'}`);
  return lines.join('\n');
}

module.exports = { runScorecard, formatReport, analyse, startFixtureServer, EXPECTED_CHECKS, ADVISORY, FIXTURES, STUB };

if (require.main === module) {
  const dir = path.resolve(process.argv[2] || REPO);
  runScorecard(dir).then(
    (r) => {
      console.log(`Flow Library scorecard for ${dir}\n${formatReport(r)}`);
      process.exitCode = r.problems.length ? 1 : 0;
    },
    (err) => {
      console.error(err);
      process.exitCode = 2;
    },
  );
}
