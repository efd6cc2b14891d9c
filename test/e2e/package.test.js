'use strict';
/**
 * The published package is exactly the built one: `npm pack`'s file list holds
 * dist/ (one folder per node type with its .js, editor .html, en-US and de locales
 * and icon), resources/ (the shared editor code), bin/, examples/, docs/, README
 * and LICENSE, and nothing else: no sources, no tests, no build output without a
 * source (a stale file of a renamed module).
 * The packed tarball installs into a fresh Node-RED user directory without a
 * build step, a real Node-RED loads every node from it, and `npx concur-sim`
 * runs from there.
 */
const assert = require('node:assert/strict');
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startRed, request, REPO, PACKAGE_NAME } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');

const PKG = require(path.join(REPO, 'package.json'));
const TYPES = Object.keys(PKG['node-red'].nodes);
const LANGS = ['en-US', 'de'];
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const NPX = process.platform === 'win32' ? 'npx.cmd' : 'npx';

/** Every file under `dir`, relative to it, with forward slashes. */
function walk(dir, base = dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p, base) : [path.relative(base, p).split(path.sep).join('/')];
  });
}

/**
 * What the build makes of src/: .ts -> dist/ .js (and .d.ts when declarations are on),
 * src/editor/* -> resources/*, everything else copied to dist/.
 */
function expectedBuild() {
  const tsconfig = JSON.parse(fs.readFileSync(path.join(REPO, 'tsconfig.json'), 'utf8'));
  const declarations = Boolean(tsconfig.compilerOptions.declaration);
  return walk(path.join(REPO, 'src'))
    .flatMap((f) => {
      if (f.startsWith('editor/')) return [`resources/${f.slice('editor/'.length)}`];
      if (!f.endsWith('.ts')) return [`dist/${f}`];
      const stem = f.slice(0, -3);
      return declarations ? [`dist/${stem}.js`, `dist/${stem}.d.ts`] : [`dist/${stem}.js`];
    })
    .sort();
}
const built = (f) => f.startsWith('dist/') || f.startsWith('resources/');

function packList() {
  // --ignore-scripts: list the dist/ this test run built (pretest) instead of rebuilding it under other tests.
  const out = execFileSync(NPM, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO, encoding: 'utf8' });
  return JSON.parse(out)[0]
    .files.map((f) => f.path)
    .sort();
}

describe('published package (npm pack)', function () {
  this.timeout(120000);

  it('publishes exactly the built package: dist/, resources/, bin/, examples/, docs/, README, LICENSE', () => {
    const files = packList();
    const outside = files.filter((f) => !built(f));
    const examples = fs.readdirSync(path.join(REPO, 'examples')).map((f) => `examples/${f}`);
    const docs = fs.readdirSync(path.join(REPO, 'docs')).map((f) => `docs/${f}`);
    assert.deepEqual(outside, ['LICENSE', 'README.md', 'bin/concur-sim.js', ...docs, ...examples, 'package.json'].sort());
    // No stale build output: dist/ and resources/ hold what src/ builds to, file for file.
    assert.deepEqual(files.filter(built), expectedBuild());
  });

  it('has every node type: js, editor html, en-US and de help and messages, icon', () => {
    const files = new Set(packList());
    for (const type of TYPES) {
      const dir = `dist/nodes/${type}`;
      assert.equal(PKG['node-red'].nodes[type], `${dir}/${type}.js`);
      const need = [`${dir}/${type}.js`, `${dir}/${type}.html`, `${dir}/icons/${type}.svg`];
      for (const lang of LANGS) need.push(`${dir}/locales/${lang}/${type}.json`, `${dir}/locales/${lang}/${type}.html`);
      assert.deepEqual(
        need.filter((f) => !files.has(f)),
        [],
        `${type}: missing from the package`,
      );
    }
  });

  it('the build empties its output folders first (no stale file survives a rebuild)', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-build-'));
    try {
      fs.mkdirSync(path.join(out, 'dist', 'nodes', 'renamed-node'), { recursive: true });
      fs.writeFileSync(path.join(out, 'dist', 'nodes', 'renamed-node', 'renamed-node.js'), '// stale\n');
      fs.writeFileSync(path.join(out, 'dist', 'stale.js'), '// stale\n');
      fs.mkdirSync(path.join(out, 'resources'));
      fs.writeFileSync(path.join(out, 'resources', 'old-editor.js'), '// stale\n');
      execFileSync(process.execPath, [path.join(REPO, 'scripts', 'build.js'), '--out', out], { cwd: REPO, stdio: 'pipe' });
      assert.deepEqual(walk(out).sort(), expectedBuild());
      // The shared editor resource carries the runtime's rules, not the placeholder.
      const editor = fs.readFileSync(path.join(out, 'resources', 'concur-editor.js'), 'utf8');
      assert.doesNotMatch(editor, /@editor-rules/);
      assert.match(editor, /"dedupeHours":\{"min":0\.01,/);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  describe('installed from the packed tarball into a fresh user directory', () => {
    let work;
    let userDir;
    let red;
    let install;

    before(async function () {
      this.timeout(180000);
      work = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-pack-'));
      execFileSync(NPM, ['pack', '--ignore-scripts', '--pack-destination', work], { cwd: REPO, stdio: 'pipe' });
      const tgz = fs.readdirSync(work).find((f) => f.endsWith('.tgz'));
      assert.ok(tgz, 'npm pack wrote a tarball');
      userDir = path.join(work, 'user');
      fs.mkdirSync(userDir);
      fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', private: true }));
      // The dependencies come from the npm cache when they are there (the registry otherwise).
      install = spawnSync(NPM, ['install', '--prefer-offline', '--no-audit', '--no-fund', path.join(work, tgz)], {
        cwd: userDir,
        encoding: 'utf8',
        timeout: 150000,
      });
      assert.equal(install.status, 0, `npm install of the tarball failed:\n${install.stdout}\n${install.stderr}`);
      red = await startRed({ userDir, link: false });
    });
    after(async () => {
      await teardown({ red });
      if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    it('installs without a build step: the package is the built files, not a link to this repository', () => {
      const installed = path.join(userDir, 'node_modules', PACKAGE_NAME);
      assert.ok(!fs.lstatSync(installed).isSymbolicLink());
      assert.ok(!fs.existsSync(path.join(installed, 'src')), 'no sources installed');
      assert.ok(!fs.existsSync(path.join(installed, 'test')), 'no tests installed');
      for (const type of TYPES) assert.ok(fs.existsSync(path.join(installed, PKG['node-red'].nodes[type])), `${type} is built`);
      assert.doesNotMatch(`${install.stdout}\n${install.stderr}`, /prepare|tsc|typescript/i, 'no build ran on install');
    });

    it('a real Node-RED loads every node from it, with editor, help, messages and icons', async () => {
      const r = await request(`${red.url}/nodes`, { headers: { Accept: 'application/json' } });
      assert.equal(r.status, 200);
      const sets = JSON.parse(r.body).filter((s) => s.module === PACKAGE_NAME);
      assert.deepEqual(sets.flatMap((s) => s.types).sort(), [...TYPES].sort());
      for (const s of sets) {
        assert.equal(s.enabled, true, `${s.name} enabled`);
        assert.ok(!s.err, `${s.name}: ${s.err}`);
      }
      const html = await request(`${red.url}/nodes`, { headers: { Accept: 'text/html' } });
      for (const type of TYPES) {
        assert.ok(html.body.includes(`RED.nodes.registerType('${type}'`), `${type}: editor definition served`);
        assert.ok(html.body.includes(`data-help-name="${type}"`), `${type}: help served`);
        const icon = await request(`${red.url}/icons/${PACKAGE_NAME}/${type}.svg`);
        assert.equal(icon.status, 200, `${type}: icon served`);
        assert.match(icon.body, /<svg\b/);
        for (const lang of LANGS) {
          const cat = await request(`${red.url}/locales/${PACKAGE_NAME}/${type}?lng=${lang}`);
          assert.equal(cat.status, 200);
          assert.ok(JSON.parse(cat.body)[type], `${type}: ${lang} messages served`);
        }
      }
      const shared = await request(`${red.url}/resources/${PACKAGE_NAME}/concur-editor.js`);
      assert.equal(shared.status, 200, 'shared editor code served from resources/');
      assert.match(shared.body, /window\.ConcurEditor = /);
      const de = await request(`${red.url}/nodes`, { headers: { Accept: 'text/html', 'Accept-Language': 'de' } });
      assert.match(de.body, /<h3>Eigenschaften<\/h3>/, 'German help served');
      assert.doesNotMatch(red.log(), /\[error\]/);
    });

    it('npx concur-sim --help works from the user directory', () => {
      // As a user types it; npx finds the package's bin in node_modules/.bin.
      const r = spawnSync(NPX, ['concur-sim', '--help'], { cwd: userDir, encoding: 'utf8', timeout: 60000 });
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /^concur-sim: a local SAP Concur simulator/);
      assert.match(r.stdout, /concur-sim send ess --to URL/);
    });
  });
});
