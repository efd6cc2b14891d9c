'use strict';
/**
 * Legacy callout receiver (concur-legacy-notify-in, default "ack on receipt"):
 * Basic auth + <Notification> XML parse per request, against the baseline flow
 * receiving the same XML body.
 */
const fs = require('node:fs');
const path = require('node:path');
const { baselineNodes } = require('../lib/baseline-flow');
const { compare, rowsOf } = require('../lib/compare');

const USER = 'bench-connector-user';
const PASSWORD = 'bench-connector-password-0001';

module.exports = {
  id: 'legacy',
  title: 'legacy callout (Basic + XML)',
  requires: ['concur-legacy-notify-in'],
  async run(ctx) {
    await ctx.deploy([
      ...baselineNodes('base', '/bench/baseline'),
      {
        id: 'legacy-in',
        type: 'concur-legacy-notify-in',
        z: 'bench-tab',
        name: 'bench legacy',
        path: '/bench/legacy',
        credentials: { username: USER, password: PASSWORD },
        wires: [[]],
      },
    ]);
    const body = fs.readFileSync(path.join(__dirname, '..', '..', 'test', 'corpus', 'legacy', 'valid-notification.xml'));
    const headers = { 'content-type': 'application/xml', authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` };
    const r = await compare({
      name: 'legacy',
      rounds: ctx.settings.rounds,
      load: { connections: ctx.settings.connections, durationSec: ctx.settings.seconds, maxRequests: 200000 },
      baseline: () => ({ url: `${ctx.red.url}/bench/baseline`, headers, body }),
      node: () => ({ url: `${ctx.red.url}/bench/legacy`, headers, body }),
      log: ctx.log,
    });
    // Redeploy with the "ack after flow completes" receiver only (its message hooks slow every flow).
    await ctx.deploy([
      ...baselineNodes('base', '/bench/baseline'),
      {
        id: 'legacy-complete',
        type: 'concur-legacy-notify-in',
        z: 'bench-tab',
        name: 'bench legacy (ack after flow)',
        path: '/bench/legacy-complete',
        ackMode: 'complete',
        credentials: { username: USER, password: PASSWORD },
        wires: [['legacy-change']],
      },
      // One real node after the receiver, so "flow complete" means something.
      { id: 'legacy-change', type: 'change', z: 'bench-tab', name: '', rules: [{ t: 'set', p: 'handled', pt: 'msg', to: 'true', tot: 'bool' }], wires: [[]] },
    ]);
    const c = await compare({
      name: 'legacy ack after flow',
      rounds: 1,
      load: { connections: ctx.settings.connections, durationSec: ctx.settings.seconds, maxRequests: 200000 },
      baseline: () => ({ url: `${ctx.red.url}/bench/baseline`, headers, body }),
      node: () => ({ url: `${ctx.red.url}/bench/legacy-complete`, headers, body }),
      log: ctx.log,
    });
    return {
      results: [r, { ackMode: 'complete', ...c }],
      rows: [
        ...rowsOf(r, { nodeLabel: `concur-legacy-notify-in (${body.length} B XML)`, target: '≥0.9x' }),
        ...rowsOf(c, { nodeLabel: 'concur-legacy-notify-in, ack after flow completes (→ change node)', target: 'diagnostic' }),
      ],
      notes: [
        ...(ctx.floorBaseline
          ? [
              `ratio of the default receiver against the noise-floor baseline (no concur node deployed, 1 KB JSON): ${Math.round((r.node.reqPerSec / ctx.floorBaseline.reqPerSec) * 1000) / 1000}x`,
            ]
          : []),
        'default rows: ack mode "on receipt"; the baseline receives the same XML body with the same Authorization header. The "ack after flow completes" row answers only once the change node after the receiver has finished (message hooks)',
      ],
    };
  },
};
