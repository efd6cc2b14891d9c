'use strict';
/**
 * The Flow Library scorecard (`node-red-dev validate`) must pass every check
 * for this package with no warning. node-red-dev exits 0 even on warnings, so
 * the test reads its JSON scorecard and its warnings. Its look-ups of
 * catalogue.nodered.org and registry.npmjs.org are served offline from
 * test/fixtures/scorecard/ (see helpers/scorecard-network-stub.js).
 */
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');
const { REPO } = require('../helpers/red-runtime');
const sc = require('../helpers/flow-library-scorecard');

const BAD = path.join(sc.FIXTURES, 'bad-package');

describe('Flow Library scorecard (node-red-dev validate, offline)', function () {
  this.timeout(150000);

  describe('the runner', () => {
    it('joins wrapped warnings and only excuses the documented P04 advisory when P04 passed', () => {
      const stderr = ' ›   Warning: P04 New Packages should use a scoped name\n ›   Warning: P07 Minimum Node version is not\n ›    compatible\n';
      const base = { stdout: '', stderr, exitCode: 0, timedOut: false, timeoutMs: 1, requests: [] };
      const passing = Object.fromEntries(sc.EXPECTED_CHECKS.map((c) => [c, { test: true }]));
      const r = sc.analyse({ ...base, scorecard: passing });
      assert.deepEqual(r.warnings, ['P04 New Packages should use a scoped name', 'P07 Minimum Node version is not compatible']);
      assert.equal(r.advisories.length, 1);
      assert.deepEqual(r.problems, ['warning: P07 Minimum Node version is not compatible']);
      const p04Failed = sc.analyse({ ...base, scorecard: { ...passing, P04: { test: false } } });
      assert.ok(p04Failed.problems.includes('P04 failed'));
      assert.ok(p04Failed.problems.includes('warning: P04 New Packages should use a scoped name'), 'no excuse when P04 itself failed');
      const missing = sc.analyse({ ...base, stderr: '', scorecard: { P01: { test: true } } });
      assert.ok(missing.problems.includes('D03 missing from the scorecard (the check did not run)'));
      assert.ok(sc.analyse({ ...base, stderr: '', scorecard: null, exitCode: 2 }).problems.some((p) => /wrote no scorecard/.test(p)));
    });

    it('the network stub re-targets the stubbed hosts and blocks every other host', async () => {
      const server = await sc.startFixtureServer({ catalogue: { modules: [] }, registryDir: path.join(sc.FIXTURES, 'registry'), roots: [REPO] });
      try {
        const script = `
          const https = require('https');
          const get = (u) => new Promise((res) => https.get(u, (r) => { let b=''; r.on('data', (c) => b += c); r.on('end', () => res(r.statusCode + ' ' + b.length)); }).on('error', (e) => res('error ' + e.code)));
          (async () => {
            console.log(await get('https://catalogue.nodered.org/catalogue.json'));
            console.log(await get('https://registry.npmjs.org/node-red'));
            console.log(await get('https://example.com/leak'));
          })();`;
        const child = spawn(process.execPath, ['-r', sc.STUB, '-e', script], {
          env: { ...process.env, SCORECARD_STUB_URL: server.url },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
        await new Promise((r) => child.on('exit', r));
        clearTimeout(timer);
        const [cat, reg, leak] = out.trim().split('\n');
        assert.match(cat, /^200 \d+$/);
        assert.match(reg, /^200 \d+$/);
        assert.match(leak, /^error /, 'a non-stubbed host gets a network error');
        assert.deepEqual(
          server.requests.map((r) => `${r.host}${r.path} ${r.status}`),
          ['catalogue.nodered.org/catalogue.json 200', 'registry.npmjs.org/node-red 200', 'example.com/leak blocked'],
        );
      } finally {
        await server.close();
      }
    });

    it('reports every failing check and warning of a deliberately non-compliant package', async () => {
      const catalogue = { modules: [{ id: 'node-red-contrib-someone-else', types: ['dup-type'] }] };
      const r = await sc.runScorecard(BAD, { catalogue });
      console.log(`      bad fixture:\n${sc.formatReport(r).replace(/^/gm, '      ')}`);
      const failed = r.checks.filter((c) => !c.pass).map((c) => c.code);
      assert.deepEqual(failed, ['P03', 'P04', 'P06', 'P07', 'N01', 'N02']);
      assert.deepEqual(r.scorecard.N01.nodes, ['node-red-contrib-someone-else']);
      // P05 is recorded as passed by node-red-dev even when it warns: only the warning catches it.
      assert.equal(r.scorecard.P05.test, true);
      assert.ok(r.problems.includes('warning: P05 Package.json keywords MUST contain node-red'), r.problems.join('\n'));
      assert.ok(!r.problems.some((p) => /tried to reach|no fixture/.test(p)), 'every look-up was served offline');
    });
  });

  it('this package passes every scorecard check with no warnings', async () => {
    const r = await sc.runScorecard(REPO);
    console.log(`      ${require(path.join(REPO, 'package.json')).name}:\n${sc.formatReport(r).replace(/^/gm, '      ')}`);
    const looked = r.requests.map((q) => `${q.host}${q.path}`);
    assert.ok(looked.includes('catalogue.nodered.org/catalogue.json'), 'N01/P08 used the catalogue fixture');
    assert.ok(looked.includes('registry.npmjs.org/node-red'), 'P06/P07 used the registry fixture');
    assert.ok(looked.includes('registry.npmjs.org/fast-xml-parser'), 'D02/D03 walked the real dependency tree');
    assert.deepEqual(r.problems, [], `scorecard problems:\n  ${r.problems.join('\n  ')}`);
  });
});
