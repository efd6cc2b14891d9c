'use strict';
/**
 * Palette icons: Node-RED serves a module's icons only from an `icons` folder
 * next to the node's .js file (dist/nodes/<type>/icons/, not the package root), so
 * every declared node type needs src/nodes/<type>/icons/<type>.svg (the build copies
 * it): well-formed SVG in Node-RED's 40x60 convention, white on transparent.
 * No browser needed.
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { XMLParser, XMLValidator } = require('fast-xml-parser');
const { REPO } = require('../helpers/red-runtime');

const pkg = require(path.join(REPO, 'package.json'));
const types = Object.keys(pkg['node-red'].nodes);

describe('palette icons (src/nodes/<type>/icons/<type>.svg)', () => {
  it("lives next to the node files, where Node-RED looks for a module's icons", () => {
    for (const [type, js] of Object.entries(pkg['node-red'].nodes)) {
      assert.equal(js, `dist/nodes/${type}/${type}.js`, `${type}: one folder per node type in dist/`);
      assert.ok(fs.statSync(path.join(REPO, 'dist', 'nodes', type, 'icons', `${type}.svg`)).isFile(), `${type}: the build copied the icon`);
    }
    assert.ok(
      pkg.files.some((f) => /^dist\/?$/.test(f)),
      "dist/ (with each node's icons/) is in the published files",
    );
  });

  for (const type of types) {
    it(`${type}: well-formed 40x60 white-on-transparent SVG`, () => {
      const file = path.join(REPO, 'src', 'nodes', type, 'icons', `${type}.svg`);
      const text = fs.readFileSync(file, 'utf8');
      assert.equal(XMLValidator.validate(text), true, `${type}.svg is well-formed XML`);
      const svg = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(text).svg;
      assert.ok(svg, 'root element is <svg>');
      assert.equal(svg.width, '40');
      assert.equal(svg.height, '60');
      assert.match(svg.viewBox, /^0[ ,]+0[ ,]+40[ ,]+60$/);
      // Monochrome: every paint is white or none (the node colour shows through).
      const paints = [...text.matchAll(/\b(?:fill|stroke)="([^"]*)"/g)].map((m) => m[1].toLowerCase());
      assert.ok(paints.length > 0, 'draws something');
      for (const p of paints) assert.ok(['#fff', '#ffffff', 'white', 'none'].includes(p), `paint ${p} in ${type}.svg`);
      assert.ok(!/<(script|image|foreignObject)\b|href=/i.test(text), 'no scripts, images or external references');
    });
  }
});
