'use strict';
// Adds up mocha's closing counts from the given log files and prints one plain
// closing line ("tests: N passed, N failed, N skipped") for CI to read.
const fs = require('node:fs');

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of process.argv.slice(2)) {
  const text = fs.readFileSync(file, 'utf8').replace(/\x1b\[[0-9;]*m/g, '');
  const count = (word) => {
    const m = [...text.matchAll(new RegExp(`^\\s*(\\d+) ${word}\\b`, 'gm'))];
    return m.length ? Number(m[m.length - 1][1]) : 0;
  };
  passed += count('passing');
  failed += count('failing');
  skipped += count('pending');
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
