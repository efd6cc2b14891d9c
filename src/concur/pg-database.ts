/**
 * The PostgreSQL connection shared by the ESS receivers and connections that
 * use one `concur-store` config node: a `pg` pool (it reconnects by itself once
 * the database is back), the table names, and the schema, created and
 * versioned at start with no manual step.
 *
 * Schema (version 1; see README "Running several instances"):
 *   <prefix>schema_version  component text PK, version int, updated_at
 *   <prefix>ess_events      stream text, id text, PK (stream, id); body bytea (exact received bytes,
 *                           NULL once done), received_at, state pending|done|dead, delivery_count,
 *                           claim_owner, lease_until, last_error, finished_at, meta jsonb
 *   <prefix>oauth_tokens    connection text PK, seed, refresh_token, refresh_expires_at,
 *                           geolocation, access_token, access_api_base, access_renew_at, updated_at
 * Two instances starting together both run the migration; it runs inside one
 * transaction holding a transaction-scoped advisory lock, so the second waits
 * and then finds the version already current.
 *
 * No Node-RED imports.
 */
import crypto from 'node:crypto';
import { Pool, type PoolClient, type PoolConfig, type QueryResult, type QueryResultRow } from 'pg';

export const SCHEMA_VERSION = 1;

export type PgTlsMode = 'off' | 'require' | 'verify';

export interface PgOptions {
  /** postgres://user:password@host:port/database?…; when set, host/port/database/user/password are ignored. */
  connectionString?: string;
  host?: string;
  port?: number;
  database?: string;
  user?: string;
  password?: string;
  /** off: no TLS; require: TLS without checking the certificate; verify: TLS, certificate checked (against `ca` when given). */
  tls?: PgTlsMode;
  /** PEM of the CA that signed the server certificate (verify). */
  ca?: string;
  /** Connections per Node-RED instance (default 10). */
  poolSize?: number;
  /** Schema holding the tables (default: the connection's search_path, usually public). */
  schema?: string;
  /** Prefix of every table name (default "concur_"). */
  tablePrefix?: string;
  /** A statement running longer fails (the receiver answers 503). Default 10 s. */
  statementTimeoutMs?: number;
  /** Giving up on connecting (database down or unreachable). Default 5 s. */
  connectTimeoutMs?: number;
  /** Name reported to the server (pg_stat_activity). */
  applicationName?: string;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,40}$/;

export function checkIdentifier(what: string, v: string): string {
  if (!IDENT.test(v)) throw new Error(`${what} "${v}" must be letters, digits and _ (not starting with a digit, at most 41 characters)`);
  return v;
}

const quote = (id: string) => `"${id}"`;

/** A description without secrets, for logs and status. */
export function describePg(o: PgOptions): string {
  if (o.connectionString) {
    try {
      const u = new URL(o.connectionString);
      return `${u.hostname}${u.port ? ':' + u.port : ''}${u.pathname || ''}`;
    } catch {
      return '(connection string)';
    }
  }
  return `${o.host || 'localhost'}:${o.port || 5432}/${o.database || o.user || 'postgres'}`;
}

export function poolConfig(o: PgOptions): PoolConfig {
  const tls = o.tls ?? 'off';
  const statementTimeout = o.statementTimeoutMs ?? 10_000;
  const cfg: PoolConfig = {
    max: Math.max(1, Math.min(100, Math.round(o.poolSize ?? 10))),
    connectionTimeoutMillis: o.connectTimeoutMs ?? 5000,
    idleTimeoutMillis: 30_000,
    // Server side: a slow statement is cancelled; client side: a database that stopped answering is given up on.
    statement_timeout: statementTimeout,
    query_timeout: statementTimeout + 2000,
    application_name: o.applicationName ?? 'node-red-contrib-sap-concur',
    keepAlive: true,
  };
  if (o.connectionString) cfg.connectionString = o.connectionString;
  else {
    cfg.host = o.host || 'localhost';
    cfg.port = o.port || 5432;
    cfg.database = o.database || undefined;
    cfg.user = o.user || undefined;
    cfg.password = o.password ?? undefined;
  }
  if (tls === 'require') cfg.ssl = { rejectUnauthorized: false };
  else if (tls === 'verify') cfg.ssl = o.ca && o.ca.trim() ? { rejectUnauthorized: true, ca: o.ca } : { rejectUnauthorized: true };
  else if (!o.connectionString) cfg.ssl = false;
  return cfg;
}

/** Two 32-bit keys for pg_advisory_xact_lock(int, int), from a name. */
export function advisoryKeys(name: string): [number, number] {
  const h = crypto.createHash('sha256').update(name).digest();
  return [h.readInt32BE(0), h.readInt32BE(4)];
}

export interface PgTables {
  version: string;
  events: string;
  tokens: string;
  /** Unquoted prefix-qualified base for index names. */
  indexBase: string;
}

export class PgDatabase {
  readonly pool: Pool;
  readonly tables: PgTables;
  readonly location: string;
  private readonly schema: string | undefined;
  private readonly prefix: string;
  private migrated: Promise<void> | undefined;
  private lastError: string | undefined;
  private closed = false;

  constructor(readonly options: PgOptions) {
    this.schema = options.schema ? checkIdentifier('schema', options.schema) : undefined;
    this.prefix = checkIdentifier('table prefix', options.tablePrefix ?? 'concur_');
    const q = (t: string) => (this.schema ? `${quote(this.schema)}.${quote(this.prefix + t)}` : quote(this.prefix + t));
    this.tables = { version: q('schema_version'), events: q('ess_events'), tokens: q('oauth_tokens'), indexBase: this.prefix };
    this.location = `${describePg(options)} (${this.schema ? this.schema + '.' : ''}${this.prefix}*)`;
    this.pool = new Pool(poolConfig(options));
    // An idle connection dropped by the server (restart, failover) emits here;
    // unhandled it would crash Node-RED. The pool replaces it on the next query.
    this.pool.on('error', (err) => {
      this.lastError = err.message;
    });
  }

  /** Runs a statement; records health. */
  async query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>> {
    if (this.closed) throw new Error('the database connection is closed');
    try {
      const r = await this.pool.query<R>(text, values as unknown[]);
      this.lastError = undefined;
      return r;
    } catch (err) {
      this.lastError = (err as Error).message;
      throw err;
    }
  }

  /** Runs `fn` inside one transaction on one connection. */
  async transaction<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('the database connection is closed');
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      this.lastError = (err as Error).message;
      throw err;
    }
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const r = await fn(client);
      await client.query('COMMIT');
      this.lastError = undefined;
      return r;
    } catch (err) {
      broken = err as Error;
      this.lastError = broken.message;
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      // A connection whose transaction failed mid-way may be unusable: do not return it to the pool.
      client.release(broken);
    }
  }

  health(): { ok: boolean; message?: string } {
    return this.lastError ? { ok: false, message: this.lastError } : { ok: true };
  }

  /** Creates or upgrades the schema once per process (retried on the next call after a failure). */
  ready(): Promise<void> {
    if (!this.migrated) {
      this.migrated = this.migrate().catch((err) => {
        this.migrated = undefined;
        throw err;
      });
    }
    return this.migrated;
  }

  private async migrate(): Promise<void> {
    const t = this.tables;
    const ib = (n: string) => quote(`${t.indexBase}${n}`);
    const [k1, k2] = advisoryKeys(`node-red-contrib-sap-concur schema ${this.schema ?? ''}.${this.prefix}`);
    await this.transaction(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1::int, $2::int)', [k1, k2]);
      if (this.schema) await c.query(`CREATE SCHEMA IF NOT EXISTS ${quote(this.schema)}`);
      await c.query(
        `CREATE TABLE IF NOT EXISTS ${t.version} (component text PRIMARY KEY, version integer NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`,
      );
      const r = await c.query<{ version: number }>(`SELECT version FROM ${t.version} WHERE component = 'concur'`);
      const have = r.rows[0]?.version ?? 0;
      if (have > SCHEMA_VERSION)
        throw new Error(`the database schema is version ${have}, newer than this node package understands (${SCHEMA_VERSION}): update the package`);
      if (have < 1) {
        await c.query(`CREATE TABLE IF NOT EXISTS ${t.events} (
          stream text NOT NULL,
          id text NOT NULL,
          body bytea,
          received_at timestamptz NOT NULL,
          state text NOT NULL CHECK (state IN ('pending', 'done', 'dead')),
          delivery_count integer NOT NULL DEFAULT 1,
          claim_owner text,
          lease_until timestamptz,
          last_error text,
          finished_at timestamptz,
          meta jsonb NOT NULL DEFAULT '{}'::jsonb,
          PRIMARY KEY (stream, id))`);
        await c.query(`CREATE INDEX IF NOT EXISTS ${ib('ess_events_pending')} ON ${t.events} (stream, received_at) WHERE state = 'pending'`);
        await c.query(`CREATE INDEX IF NOT EXISTS ${ib('ess_events_finished')} ON ${t.events} (stream, state, received_at) WHERE state <> 'pending'`);
        await c.query(`CREATE TABLE IF NOT EXISTS ${t.tokens} (
          connection text PRIMARY KEY,
          seed text NOT NULL,
          refresh_token text,
          refresh_expires_at bigint,
          geolocation text,
          access_token text,
          access_api_base text,
          access_renew_at bigint,
          updated_at timestamptz NOT NULL DEFAULT now())`);
      }
      if (have !== SCHEMA_VERSION) {
        await c.query(
          `INSERT INTO ${t.version} (component, version) VALUES ('concur', $1)
             ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version, updated_at = now()`,
          [SCHEMA_VERSION],
        );
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
