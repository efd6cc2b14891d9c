'use strict';
/**
 * Comments cite the Concur facts in docs/concur-api.md (in the repository and the
 * package), never a file outside the repository: every cited anchor exists, and every
 * section of the facts file names the public SAP Concur documentation it comes from.
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const REPO = path.resolve(__dirname, '..', '..');
const DOC = path.join(REPO, 'docs', 'concur-api.md');

function files(dir, exts) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return ['node_modules', 'artifacts'].includes(e.name) ? [] : files(p, exts);
    return exts.some((x) => e.name.endsWith(x)) ? [p] : [];
  });
}

const SOURCES = ['src', 'test', 'scripts', 'bench', 'bin'].flatMap((d) => files(path.join(REPO, d), ['.ts', '.js', '.html'])).filter((f) => f !== __filename);

describe('docs/concur-api.md: the Concur facts that comments cite', () => {
  const doc = fs.readFileSync(DOC, 'utf8');
  const anchors = new Set([...doc.matchAll(/<a id="([a-z0-9-]+)"><\/a>/g)].map((m) => m[1]));

  it('every cited anchor exists (a comment may list more anchors after the file: "docs/concur-api.md#a, #b")', () => {
    const missing = [];
    let cited = 0;
    for (const f of SOURCES) {
      const text = fs.readFileSync(f, 'utf8');
      for (const m of text.matchAll(/docs\/concur-api\.md((?:#[a-z0-9-]+(?:,? (?:v\d[^#:]*: )?)?)+)/g)) {
        for (const a of m[1].matchAll(/#([a-z0-9-]+)/g)) {
          cited++;
          if (!anchors.has(a[1])) missing.push(`${path.relative(REPO, f)}: #${a[1]}`);
        }
      }
    }
    assert.deepEqual(missing, []);
    assert.ok(cited >= 20, `comments cite the facts file (${cited} anchors)`);
  });

  it('no comment cites a facts file outside the repository', () => {
    const outside = SOURCES.filter((f) => /\.\.\/shared\/concur-api|[^/]concur-api\.md §/.test(fs.readFileSync(f, 'utf8')));
    assert.deepEqual(
      outside.map((f) => path.relative(REPO, f)),
      [],
    );
  });

  it('every section names its public SAP Concur documentation page', () => {
    const sections = doc.split(/\n(?=<a id=")/).slice(1);
    assert.ok(sections.length >= 15);
    for (const s of sections) {
      const id = /<a id="([^"]+)">/.exec(s)[1];
      assert.match(s, /<https:\/\/developer\.concur\.com\/[^>]+>/, `#${id} cites developer.concur.com`);
    }
  });
});
