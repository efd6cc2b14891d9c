'use strict';
/**
 * ESS receiver with the shared PostgreSQL store (concur-store): the same signed
 * 1 KB deliveries as the ESS scenario, but every acknowledgement waits for an
 * `INSERT … ON CONFLICT DO NOTHING` committed in PostgreSQL (and every completed
 * event costs an UPDATE), instead of the journal's group-committed fdatasync.
 * PostgreSQL is a throwaway server on loopback (test/helpers/postgres.js) with
 * fsync ON, so a commit is as durable as the file store's ack; it shares the
 * machine's cores with Node-RED and the load generator.
 */
const { makeKeyPair, signedPool } = require('../../test/helpers/signed-events');
const { startPostgres } = require('../../test/helpers/postgres');
const { baselineNodes } = require('../lib/baseline-flow');
const { compare, rowsOf } = require('../lib/compare');

const ONLY_TEST_KEY = { keyConcur202609: false, keyConcur202510: false, keyConcur202311: false, keyConcur2019: false };
const VARIANTS = [{ key: 'pg', label: '1 KB, PostgreSQL store', bytes: 1024, maxRequests: 20000, target: '≥0.6x, p99 <30 ms' }];

function cycle(pool) {
  let i = 0;
  return (req) => {
    const ev = pool[i++ % pool.length];
    req.body = ev.body;
    req.headers['concur-signature'] = ev.signature;
    return req;
  };
}

module.exports = {
  id: 'ess-pg',
  title: 'ESS webhook with the PostgreSQL store (signed, dedupe + commit before the ack)',
  requires: ['concur-ess-event-in', 'concur-store'],
  async run(ctx) {
    const pg = await startPostgres({ fsync: true });
    ctx.cleanup.push(() => pg.destroy());
    ctx.log(`  PostgreSQL pid ${pg.pid} on port ${pg.port} (fsync on)`);
    const key = makeKeyPair();
    await ctx.deploy([
      ...baselineNodes('base', '/bench/baseline'),
      {
        id: 'bench-pg',
        type: 'concur-store',
        name: 'bench',
        backend: 'postgres',
        connection: 'fields',
        host: pg.host,
        port: pg.port,
        database: pg.database,
        user: pg.user,
        tls: 'off',
        poolSize: 10,
        tablePrefix: 'bench_',
        leaseSec: 30,
        credentials: { password: pg.password },
      },
      {
        id: 'ess-pg',
        type: 'concur-ess-event-in',
        z: 'bench-tab',
        name: 'bench ess pg',
        path: '/bench/ess-pg',
        extraKeys: key.publicPem,
        store: 'bench-pg',
        ...ONLY_TEST_KEY,
        wires: [[]],
      },
    ]);
    const rows = [];
    const results = [];
    for (const v of VARIANTS) {
      const load = { connections: ctx.settings.connections, durationSec: ctx.settings.seconds, maxRequests: v.maxRequests };
      let last = null;
      const fresh = (warm) => {
        last = signedPool(warm ? 500 : v.maxRequests, key.privateKey, { size: v.bytes, prefix: warm ? 'warm' : 'ev' });
        return last;
      };
      const headers = { 'content-type': 'application/json' };
      const r = await compare({
        name: `ess ${v.label}`,
        rounds: ctx.settings.rounds,
        load,
        baseline: () => ({ url: `${ctx.red.url}/bench/baseline`, headers, setupRequest: cycle(last || fresh(true)) }),
        node: (warm) => ({ url: `${ctx.red.url}/bench/ess-pg`, headers, setupRequest: cycle(fresh(warm)) }),
        log: ctx.log,
      });
      results.push({ size: v.label, ...r });
      rows.push(...rowsOf(r, { baselineLabel: `baseline (${v.label} signed body)`, nodeLabel: `concur-ess-event-in ${v.label}`, target: v.target }));
    }
    return {
      results,
      rows,
      notes: [
        'PostgreSQL (fsync on) runs on the same 2 cores as Node-RED and autocannon: a database on its own host leaves Node-RED more CPU; every request carries a new event id',
      ],
    };
  },
};
