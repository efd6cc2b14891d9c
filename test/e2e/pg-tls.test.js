'use strict';
/**
 * The concur-store TLS modes against a real PostgreSQL serving TLS with a
 * certificate from a throw-away CA: "off" connects in clear text, "require"
 * encrypts without checking the certificate, "verify" checks it against the
 * pasted CA (and refuses a server whose certificate another CA signed).
 */
const assert = require('node:assert/strict');
const { startPostgres } = require('../helpers/postgres');
const { makePki } = require('../helpers/certs');
const { PgDatabase } = require('../../dist/concur/pg-database');

describe('PostgreSQL store over TLS (real PostgreSQL)', function () {
  this.timeout(60000);
  let pg;
  let pki;
  let other;
  const open = [];
  before(async () => {
    pki = makePki();
    other = makePki(); // a CA that did not sign the server certificate
    pg = await startPostgres({ tls: { cert: pki.server.cert, key: pki.server.key } });
  });
  after(async () => {
    for (const d of open) await d.close().catch(() => undefined);
    if (pg) await pg.destroy();
    if (pki) pki.cleanup();
    if (other) other.cleanup();
  });
  const db = (o) => {
    const d = new PgDatabase({
      host: pg.host,
      port: pg.port,
      user: pg.user,
      password: pg.password,
      database: pg.database,
      poolSize: 1,
      connectTimeoutMs: 3000,
      ...o,
    });
    open.push(d);
    return d;
  };
  const sslInUse = async (d) => (await d.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows[0].ssl;

  it('off: a clear-text connection', async () => {
    assert.equal(await sslInUse(db({ tls: 'off' })), false);
  });

  it('require: encrypted, certificate not checked', async () => {
    assert.equal(await sslInUse(db({ tls: 'require' })), true);
  });

  it('verify: encrypted and checked against the given CA; another CA is refused', async () => {
    assert.equal(await sslInUse(db({ tls: 'verify', ca: pki.caPem })), true);
    await assert.rejects(db({ tls: 'verify', ca: other.caPem }).query('SELECT 1'), /certificate/);
    await assert.rejects(db({ tls: 'verify' }).query('SELECT 1'), /certificate/, 'a self-made CA is not among the system CAs');
  });

  it('the schema is created over TLS too', async () => {
    const d = db({ tls: 'verify', ca: pki.caPem, tablePrefix: 'tls_' });
    await d.ready();
    assert.equal((await d.query('SELECT version FROM tls_schema_version')).rows[0].version, 1);
  });
});
