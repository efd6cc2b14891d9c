#!/usr/bin/env node
'use strict';
// Launcher for the SAP Concur simulator CLI (compiled from src/simulator/cli.ts into dist/).
let cli;
try {
  cli = require('../dist/simulator/cli.js');
} catch (e) {
  if (e && e.code === 'MODULE_NOT_FOUND' && /simulator[\\/]cli/.test(String(e.message))) {
    process.stderr.write('concur-sim: the simulator is not built yet; run "npm run build" in the package first.\n');
    process.exit(1);
  }
  throw e;
}
cli.run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`concur-sim: ${err && err.message ? err.message : err}\n`);
    process.exitCode = 1;
  },
);
