'use strict';
/**
 * Runs the built-in Concur simulator in its own process for the API benchmark,
 * so neither the Node-RED flow nor the raw fetch loop shares an event loop with
 * the server. Reports its URL, credentials and a report to fetch over IPC, and
 * answers { tokenHits } when asked; exits when the parent disconnects.
 */
const { startSimulator } = require('../../dist/simulator/index.js');

const TOKEN_LINE = 'POST /oauth2/v0/token ';

(async () => {
  let tokenHits = 0;
  let calls = 0;
  const sim = await startSimulator({
    port: 0,
    host: '127.0.0.1',
    deliverEvents: false,
    log: (line) => {
      calls++;
      if (line.startsWith(TOKEN_LINE)) tokenHits++;
    },
  });
  const [reportId, report] = [...sim.state.reports.entries()][0];
  process.send({ type: 'ready', url: sim.url, credentials: sim.credentials, reportId, userId: report.ownerUserId });
  process.on('message', (m) => {
    if (m && m.type === 'counts') process.send({ type: 'counts', tokenHits, calls });
  });
  process.on('disconnect', () => sim.stop().finally(() => process.exit(0)));
})().catch((err) => {
  process.stderr.write(`simulator failed: ${err && err.stack}\n`);
  process.exit(1);
});
