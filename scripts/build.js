#!/usr/bin/env node
'use strict';
/**
 * Builds the package from a clean slate: a renamed or deleted source must never
 * leave a stale file that tests load or `npm pack` publishes.
 *   1. empty dist/ and resources/
 *   2. tsc (src/**\/*.ts -> dist/**\/*.js, rootDir src)
 *   3. copy every other file under src/ (node editor .html, locales, icons) to the
 *      same place under dist/, because Node-RED looks for <type>.html,
 *      locales/<lang>/<type>.{html,json} and icons/ beside each node's .js
 *   4. write resources/concur-editor.js (Node-RED serves a package's resources/ folder
 *      to the editor) from src/editor/concur-editor.js, with the rules the runtime
 *      uses (dist/nodes/shared/editor-rules.js) filled in
 * Usage: node scripts/build.js [--out <dir>]   (--out: write dist/ and resources/ under <dir>
 * instead of the repository, e.g. to test the build itself)
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const SRC = path.join(ROOT, 'src');
/** Browser code: goes to resources/, not dist/. */
const EDITOR_SRC = path.join(SRC, 'editor');
const outAt = process.argv.indexOf('--out');
const OUT = outAt > 0 ? path.resolve(process.argv[outAt + 1] || '') : ROOT;
const DIST = path.join(OUT, 'dist');
const RESOURCES = path.join(OUT, 'resources');
const RULES_MARKER = '/* @editor-rules */ null';

function copyAssets(from, to) {
  let n = 0;
  for (const ent of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, ent.name);
    const dst = path.join(to, ent.name);
    if (src === EDITOR_SRC) continue;
    if (ent.isDirectory()) n += copyAssets(src, dst);
    else if (ent.isFile() && !ent.name.endsWith('.ts')) {
      fs.mkdirSync(to, { recursive: true });
      fs.copyFileSync(src, dst);
      n++;
    }
  }
  return n;
}

function writeEditorResources() {
  const { editorRules } = require(path.join(DIST, 'nodes', 'shared', 'editor-rules.js'));
  fs.mkdirSync(RESOURCES, { recursive: true });
  let n = 0;
  for (const name of fs.readdirSync(EDITOR_SRC)) {
    let text = fs.readFileSync(path.join(EDITOR_SRC, name), 'utf8');
    if (text.includes(RULES_MARKER)) text = text.replace(RULES_MARKER, JSON.stringify(editorRules()));
    fs.writeFileSync(path.join(RESOURCES, name), text);
    n++;
  }
  return n;
}

function build() {
  fs.rmSync(DIST, { recursive: true, force: true });
  fs.rmSync(RESOURCES, { recursive: true, force: true });
  const tsc = path.join(path.dirname(require.resolve('typescript/package.json', { paths: [ROOT] })), 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.json'), '--outDir', DIST], { cwd: ROOT, stdio: 'inherit' });
  const assets = copyAssets(SRC, DIST);
  const editor = writeEditorResources();
  const where = path.relative(ROOT, OUT) || '.';
  process.stdout.write(`build: ${where}/dist compiled, ${assets} editor/locale/icon files copied; ${editor} file(s) in ${where}/resources\n`);
}

try {
  build();
} catch (err) {
  // tsc already printed its diagnostics; exit non-zero without a stack trace.
  if (err && typeof err.status === 'number') process.exit(err.status);
  process.stderr.write(`build: ${err && err.message ? err.message : err}\n`);
  process.exit(1);
}
