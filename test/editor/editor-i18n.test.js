'use strict';
/**
 * Static checks of the editor's message catalogues and help texts (no browser):
 * every node has en-US and de catalogues with the same keys and placeholders,
 * every key the editor file uses exists, no user-visible English is left
 * hard-coded in an edit template, and the help texts exist in both languages
 * in Node-RED's layout. The browser test (editor-nodes.test.js) shows them
 * rendered; this one catches a missing key before anyone opens the editor.
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const REPO = path.resolve(__dirname, '..', '..');
const PKG = require(path.join(REPO, 'package.json'));
const TYPES = Object.keys(PKG['node-red'].nodes);
const LANGS = ['en-US', 'de'];

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** { 'a.b.c': 'text' } from nested objects. */
function flatten(obj, prefix = '', out = {}) {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object') flatten(v, key, out);
    else out[key] = v;
  }
  return out;
}

/** The catalogue keys an editor file refers to with a literal string. */
function keysUsed(type, html) {
  const keys = new Set();
  for (const m of html.matchAll(/data-i18n="([^"]+)"/g)) {
    for (const part of m[1].split(';')) keys.add(part.replace(/^\[[^\]]+\]/, ''));
  }
  for (const m of html.matchAll(/\bthis\._\(\s*'([^']+)'\s*[,)]/g)) keys.add(m[1]);
  // t('x') is the file's own helper: RED._('<module>/<type>:<type>.' + x).
  for (const m of html.matchAll(/\bt\(\s*'([^']+)'\s*[,)]/g)) keys.add(`${type}.${m[1]}`);
  return keys;
}

/** Keys built at run time from a literal prefix, e.g. t('label.' + k): the prefix must name a group. */
function prefixesUsed(type, html) {
  const out = new Set();
  for (const m of html.matchAll(/\bt\(\s*'([^']+\.)'\s*\+/g)) out.add(`${type}.${m[1]}`);
  for (const m of html.matchAll(/\bthis\._\(\s*'([^']+\.)'\s*\+/g)) out.add(m[1]);
  return out;
}

const placeholders = (s) => [...String(s).matchAll(/__(\w+)__/g)].map((m) => m[1]).sort();

/** Text an admin would read in the edit template that does not come from a catalogue. */
function hardCodedText(template) {
  return template
    .replace(/<style[\s\S]*?<\/style>/g, ' ')
    .replace(/<([a-z0-9]+)\b[^>]*\bdata-i18n="[^"]*"[^>]*>[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<option value="([^"]*)">\1<\/option>/g, ' ') // enum values shown as they are sent (TRAVELER, ALL, …)
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

describe('editor message catalogues and help texts', () => {
  for (const type of TYPES) {
    describe(type, () => {
      const htmlFile = path.join(REPO, 'src', 'nodes', type, `${type}.html`);
      const html = fs.readFileSync(htmlFile, 'utf8');
      const catalogue = {};
      for (const lang of LANGS) {
        const f = path.join(REPO, 'src', 'nodes', type, 'locales', lang, `${type}.json`);
        catalogue[lang] = fs.existsSync(f) ? readJson(f) : null;
      }

      it('has en-US and de catalogues with the same keys and placeholders', () => {
        for (const lang of LANGS) {
          assert.ok(catalogue[lang], `src/nodes/${type}/locales/${lang}/${type}.json exists`);
          assert.deepEqual(Object.keys(catalogue[lang]), [type], `${lang}: everything under the "${type}" key`);
        }
        const en = flatten(catalogue['en-US']);
        const de = flatten(catalogue.de);
        assert.deepEqual(Object.keys(de).sort(), Object.keys(en).sort(), 'de has exactly the en-US keys');
        for (const [k, v] of Object.entries(en)) {
          assert.equal(typeof v, 'string', `${k} is a string`);
          assert.ok(v.trim() && String(de[k]).trim(), `${k} is not empty`);
          assert.deepEqual(placeholders(de[k]), placeholders(v), `${k}: de uses the same __placeholders__`);
        }
        // Keys with a dot inside a segment would be split by i18next (e.g. "v2.0"): only the separator dots are allowed.
        for (const k of Object.keys(en)) assert.doesNotMatch(k, /\.\d/, `${k}: no version numbers in key names`);
      });

      it('defines every key its editor file uses', () => {
        const en = flatten(catalogue['en-US'] || {});
        const missing = [...keysUsed(type, html)].filter((k) => !(k in en));
        assert.deepEqual(missing, [], `keys used in src/nodes/${type}/${type}.html but missing from en-US/${type}.json`);
        for (const p of prefixesUsed(type, html))
          assert.ok(
            Object.keys(en).some((k) => k.startsWith(p)),
            `a key group ${p}… exists`,
          );
        assert.ok(keysUsed(type, html).size >= 5, 'the editor file takes its strings from the catalogue');
      });

      it('has no hard-coded English in its edit template and no inline help', () => {
        const m = /<script type="text\/html" data-template-name="([^"]+)">([\s\S]*?)<\/script>/.exec(html);
        assert.ok(m && m[1] === type, 'one edit template for the type');
        assert.equal(hardCodedText(m[2]), '', 'every visible text in the template has data-i18n');
        assert.doesNotMatch(html, /data-help-name=/, 'help lives in locales/<lang>/<type>.html, not inline');
        // Palette and node labels come from the catalogue too.
        assert.doesNotMatch(html, /paletteLabel:\s*'/, 'paletteLabel is translated');
        // node-red-dev (the Flow Library scorecard) only reads registerType calls with a literal type and definition.
        assert.ok(html.includes(`RED.nodes.registerType('${type}', {`), 'registerType names the type literally');
      });

      it("has help text in en-US and de, in Node-RED's layout", () => {
        const sections = {};
        for (const lang of LANGS) {
          const f = path.join(REPO, 'src', 'nodes', type, 'locales', lang, `${type}.html`);
          assert.ok(fs.existsSync(f), `src/nodes/${type}/locales/${lang}/${type}.html exists`);
          const help = fs.readFileSync(f, 'utf8');
          assert.match(help, new RegExp(`^<script type="text/html" data-help-name="${type}">`), `${lang}: one help script for ${type}`);
          assert.ok(help.replace(/<[^>]+>/g, '').trim().length > 400, `${lang}: more than a sentence`);
          assert.match(help, /href="https:\/\/developer\.concur\.com\//, `${lang}: links the SAP Concur documentation`);
          sections[lang] = [...help.matchAll(/<h3>([^<]+)<\/h3>/g)].map((x) => x[1]);
        }
        const en = sections['en-US'];
        assert.ok(en.includes('Details') && en.includes('References'), `en-US sections: ${en.join(', ')}`);
        assert.ok(
          en.some((s) => /^(Inputs|Outputs|Properties)$/.test(s)),
          `en-US describes inputs, outputs or properties: ${en.join(', ')}`,
        );
        assert.equal(sections.de.length, en.length, `de has the same sections (${sections.de.join(', ')} / ${en.join(', ')})`);
        const DE = {
          Inputs: 'Eingaben',
          Outputs: 'Ausgaben',
          Properties: 'Eigenschaften',
          Details: 'Details',
          References: 'Referenzen',
          Counters: 'Zähler',
          'ESS subscription': 'ESS-Abonnement',
          'Dead letters: replay and discard': 'Dead Letters: erneut senden und verwerfen',
        };
        assert.deepEqual(
          sections.de,
          en.map((s) => DE[s] || s),
          'de section titles are the German ones',
        );
      });
    });
  }
});
