'use strict';
/**
 * Tokens shared by several instances through PostgreSQL (real PostgreSQL,
 * real simulator over loopback HTTP; the simulator rotates refresh tokens and
 * answers invalid_grant to a rotated-out one). Each "instance" is a
 * TokenManager with its own pool, as separate Node-RED processes would have.
 */
const assert = require('node:assert/strict');
const { startPostgres } = require('../helpers/postgres');
const { companyToken } = require('../helpers/simulator-client');
const { startSimulator } = require('../../dist/simulator/index.js');
const { PgDatabase } = require('../../dist/concur/pg-database');
const { PgTokenStore } = require('../../dist/concur/pg-token-store');
const { TokenManager } = require('../../dist/concur/token-manager');
const { MemoryTokenStore } = require('../../dist/concur/token-store');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('shared OAuth tokens in PostgreSQL (real PostgreSQL + simulator)', function () {
  this.timeout(60000);
  let pg;
  let sim;
  const dbs = [];
  before(async () => {
    [pg, sim] = await Promise.all([startPostgres(), startSimulator({ port: 0 })]);
  });
  after(async () => {
    for (const d of dbs) await d.close().catch(() => undefined);
    if (sim) await sim.stop();
    if (pg) await pg.destroy();
  });

  let n = 0;
  /** N instances of one connection; `shared` false gives each only its own memory (today's behaviour without a store). */
  async function instances(count, { shared = true, ttl = 3 } = {}) {
    sim.setFaults({ tokenTtlSeconds: ttl });
    const first = (await companyToken(sim)).refresh_token;
    const connection = `conn-${++n}`;
    const out = [];
    for (let i = 0; i < count; i++) {
      const db = new PgDatabase({
        host: pg.host,
        port: pg.port,
        user: pg.user,
        password: pg.password,
        database: pg.database,
        poolSize: 3,
        connectTimeoutMs: 1000,
      });
      dbs.push(db);
      out.push(
        new TokenManager({
          grantType: 'refresh_token',
          credentials: { clientId: sim.credentials.clientId, clientSecret: sim.credentials.clientSecret, refreshToken: first },
          baseUrl: sim.url,
          store: new MemoryTokenStore(),
          shared: shared ? new PgTokenStore(db, { connection }) : undefined,
          expirySkewSec: 1,
          timeoutMs: 5000,
        }),
      );
    }
    return out;
  }

  /** Every instance asks for a token all the time, for `ms`; returns the errors. */
  async function load(managers, ms) {
    const until = Date.now() + ms;
    const errors = [];
    await Promise.all(
      managers.flatMap((m) =>
        Array.from({ length: 8 }, async () => {
          for (let i = 0; i < 2000 && Date.now() < until; i++) {
            await m.getToken().catch((e) => errors.push(e.message));
            await sleep(15);
          }
        }),
      ),
    );
    return errors;
  }

  it('four instances under load make one token request per expiry and never present a rotated-out refresh token', async () => {
    const managers = await instances(4);
    const t0 = sim.tokenRequests().length;
    const errors = await load(managers, 7000);
    const reqs = sim.tokenRequests().slice(t0);
    assert.deepEqual(errors, []);
    assert.deepEqual(
      reqs.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.oauthError}`),
      [],
      'zero invalid_grant',
    );
    assert.ok(reqs.every((r) => r.grantType === 'refresh_token'));
    // renew 1 s before a 3 s expiry: one request per 2 s, whichever instance makes it
    assert.ok(reqs.length >= 3 && reqs.length <= 5, `${reqs.length} token requests in 7 s`);
    const at = reqs.map((r) => Date.parse(r.at));
    for (let i = 1; i < at.length; i++) assert.ok(at[i] - at[i - 1] >= 1500, `requests ${i - 1} and ${i} only ${at[i] - at[i - 1]} ms apart`);
    const presented = reqs.map((r) => r.refreshTokenSha256);
    assert.equal(new Set(presented).size, presented.length, 'each refresh token presented once');
    const total = managers.reduce((s, m) => s + m.requests, 0);
    assert.equal(total, reqs.length, 'the requests were counted by the instances that made them');
    assert.ok(managers.filter((m) => m.requests > 0).length >= 1);
    // every instance holds the same, current access token
    const tokens = await Promise.all(managers.map((m) => m.getToken()));
    assert.equal(new Set(tokens.map((t) => t.accessToken)).size, 1);
  });

  it('without the shared store the same load makes instances present rotated-out refresh tokens (what the store prevents)', async () => {
    const managers = await instances(3, { shared: false });
    const t0 = sim.tokenRequests().length;
    await load(managers, 2600);
    const reqs = sim.tokenRequests().slice(t0);
    assert.ok(
      reqs.some((r) => r.oauthError === 'invalid_grant'),
      `expected invalid_grant among ${reqs.map((r) => r.status).join(',')}`,
    );
  });

  it('a 401 on one instance makes exactly one new token request; the others adopt the new token', async () => {
    const managers = await instances(3, { ttl: 3600 });
    const first = await managers[0].getToken();
    for (const m of managers.slice(1)) assert.equal((await m.getToken()).accessToken, first.accessToken);
    const t0 = sim.tokenRequests().length;
    managers[1].invalidate(first.accessToken);
    const next = await managers[1].getToken();
    assert.notEqual(next.accessToken, first.accessToken);
    assert.equal(sim.tokenRequests().length - t0, 1);
    managers[2].invalidate(first.accessToken);
    assert.equal((await managers[2].getToken()).accessToken, next.accessToken, 'adopted from the store, no request');
    assert.equal(sim.tokenRequests().length - t0, 1);
  });

  it('while the database is down no token request is made; afterwards it recovers by itself', async () => {
    const managers = await instances(2, { ttl: 2 });
    await managers[0].getToken();
    await sleep(1200); // past renewAt (2 s - 1 s skew)
    const t0 = sim.tokenRequests().length;
    await pg.stop();
    try {
      await assert.rejects(managers[1].getToken());
      await assert.rejects(managers[0].getToken());
      assert.equal(sim.tokenRequests().length, t0, 'no refresh with a refresh token that may be rotated out');
    } finally {
      await pg.start();
    }
    const t = await managers[1].getToken();
    assert.ok(t.accessToken);
    assert.equal((await managers[0].getToken()).accessToken, t.accessToken);
    const reqs = sim.tokenRequests().slice(t0);
    assert.deepEqual(
      reqs.map((r) => r.status),
      [200],
    );
  });
});
