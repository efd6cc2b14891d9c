#!/usr/bin/env node
'use strict';
/**
 * Builds the package into dist/ from a clean slate: a renamed or deleted source
 * must never leave a stale .js that tests load or `npm pack` publishes.
 *   1. empty dist/
 *   2. tsc (src/**\/*.ts -> dist/**\/*.js, rootDir src)
 *   3. copy every non-TypeScript file under src/ (node editor .html, locales, icons)
 *      to the same place under dist/, because Node-RED looks for <type>.html,
 *      locales/<lang>/<type>.{html,json} and icons/ beside each node's .js.
 * Usage: node scripts/build.js [--out <dir>]   (--out: build elsewhere, e.g. to test the build itself)
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const SRC = path.join(ROOT, 'src');
const outAt = process.argv.indexOf('--out');
const DIST = outAt > 0 ? path.resolve(process.argv[outAt + 1] || '') : path.join(ROOT, 'dist');

function copyAssets(from, to) {
  let n = 0;
  for (const ent of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, ent.name);
    const dst = path.join(to, ent.name);
    if (ent.isDirectory()) n += copyAssets(src, dst);
    else if (ent.isFile() && !ent.name.endsWith('.ts')) {
      fs.mkdirSync(to, { recursive: true });
      fs.copyFileSync(src, dst);
      n++;
    }
  }
  return n;
}

function build() {
  if (DIST === path.parse(DIST).root || !path.relative(DIST, ROOT).startsWith('..') || !path.relative(DIST, SRC).startsWith('..')) {
    throw new Error(`refusing to empty ${DIST}: it holds the repository or its sources`);
  }
  fs.rmSync(DIST, { recursive: true, force: true });
  const tsc = path.join(path.dirname(require.resolve('typescript/package.json', { paths: [ROOT] })), 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.json'), '--outDir', DIST], { cwd: ROOT, stdio: 'inherit' });
  const n = copyAssets(SRC, DIST);
  process.stdout.write(`build: ${path.relative(ROOT, DIST) || DIST} compiled, ${n} editor/locale/icon files copied\n`);
}

try {
  build();
} catch (err) {
  // tsc already printed its diagnostics; exit non-zero without a stack trace.
  if (err && typeof err.status === 'number') process.exit(err.status);
  process.stderr.write(`build: ${err && err.message ? err.message : err}\n`);
  process.exit(1);
}
