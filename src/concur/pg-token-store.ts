/**
 * One connection's OAuth state in PostgreSQL, shared by every Node-RED
 * instance running the flow (table <prefix>oauth_tokens, see ./pg-database.ts).
 *
 * Concur rotates refresh tokens (https://developer.concur.com/api-reference/authentication/apidoc.html):
 * once one instance has refreshed, the refresh token the others hold is dead.
 * So a token request runs inside a transaction holding
 * `pg_advisory_xact_lock` for the connection; the state is read after the lock
 * is granted (the previous holder may have just refreshed) and the new access
 * token and rotated refresh token are written before the commit releases it.
 *
 * The access token and refresh token are stored in the table as they are: the
 * database must be protected like the Node-RED credentials file.
 *
 * No Node-RED imports.
 */
import type { PoolClient } from 'pg';
import { advisoryKeys, type PgDatabase } from './pg-database';
import type { SharedTokenState, SharedTokenStore } from './token-store';

export interface PgTokenStoreOptions {
  /** The connection (config node id: the same on every instance). */
  connection: string;
  /** Longest a token request may hold the lock (others wait this long at most). Default 75 s. */
  lockWaitMs?: number;
  /** A new token was obtained but could not be written (reported, the token is still used here). */
  onWriteError?: (message: string) => void;
}

interface Row {
  seed: string;
  refresh_token: string | null;
  refresh_expires_at: string | null;
  geolocation: string | null;
  access_token: string | null;
  access_api_base: string | null;
  access_renew_at: string | null;
  updated_at: Date;
}

export class PgTokenStore implements SharedTokenStore {
  private readonly keys: [number, number];
  private readonly lockWaitMs: number;

  constructor(
    private readonly db: PgDatabase,
    private readonly o: PgTokenStoreOptions,
  ) {
    this.keys = advisoryKeys(`node-red-contrib-sap-concur token ${o.connection}`);
    this.lockWaitMs = o.lockWaitMs ?? 75_000;
  }

  get location(): string {
    return `${this.db.location} connection ${this.o.connection}`;
  }

  private get t(): string {
    return this.db.tables.tokens;
  }

  async read(): Promise<SharedTokenState | undefined> {
    await this.db.ready();
    const r = await this.db.query<Row>(`SELECT * FROM ${this.t} WHERE connection = $1`, [this.o.connection]);
    return fromRow(r.rows[0]);
  }

  async withLock<T>(fn: (s: SharedTokenState | undefined) => Promise<{ result?: T; error?: unknown; write?: SharedTokenState | null }>): Promise<T> {
    await this.db.ready();
    let outcome: { result?: T; error?: unknown; write?: SharedTokenState | null } | undefined;
    try {
      await this.db.transaction(async (c) => {
        // The lock may be held through another instance's token request: wait longer than a statement normally may.
        await c.query(`SET LOCAL statement_timeout = ${Math.round(this.lockWaitMs)}`);
        await c.query({ text: 'SELECT pg_advisory_xact_lock($1::int, $2::int)', values: this.keys, query_timeout: this.lockWaitMs + 2000 } as never);
        const r = await c.query<Row>(`SELECT * FROM ${this.t} WHERE connection = $1`, [this.o.connection]);
        outcome = await fn(fromRow(r.rows[0]));
        if (outcome.write === null) await c.query(`DELETE FROM ${this.t} WHERE connection = $1`, [this.o.connection]);
        else if (outcome.write) await this.upsert(c, outcome.write);
      });
    } catch (err) {
      // The token request succeeded but its result could not be committed: use it here, and say so.
      if (!outcome || outcome.error !== undefined || outcome.result === undefined) throw err;
      this.o.onWriteError?.(`could not store the new token in ${this.db.location}: ${(err as Error).message}`);
    }
    if (outcome?.error !== undefined) throw outcome.error;
    return outcome?.result as T;
  }

  private async upsert(c: PoolClient, s: SharedTokenState): Promise<void> {
    await c.query(
      `INSERT INTO ${this.t} (connection, seed, refresh_token, refresh_expires_at, geolocation, access_token, access_api_base, access_renew_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())
       ON CONFLICT (connection) DO UPDATE SET seed = EXCLUDED.seed, refresh_token = EXCLUDED.refresh_token,
         refresh_expires_at = EXCLUDED.refresh_expires_at, geolocation = EXCLUDED.geolocation, access_token = EXCLUDED.access_token,
         access_api_base = EXCLUDED.access_api_base, access_renew_at = EXCLUDED.access_renew_at, updated_at = now()`,
      [
        this.o.connection,
        s.seed,
        s.refreshToken || null,
        s.refreshExpiresAt ?? null,
        s.geolocation ?? null,
        s.accessToken ?? null,
        s.accessApiBase ?? null,
        s.accessRenewAt ?? null,
      ],
    );
  }

  async clear(): Promise<void> {
    await this.db.query(`DELETE FROM ${this.t} WHERE connection = $1`, [this.o.connection]);
  }
}

function fromRow(r: Row | undefined): SharedTokenState | undefined {
  if (!r) return undefined;
  return {
    seed: r.seed,
    refreshToken: r.refresh_token ?? '',
    refreshExpiresAt: r.refresh_expires_at === null ? undefined : Number(r.refresh_expires_at),
    geolocation: r.geolocation ?? undefined,
    updatedAt: r.updated_at instanceof Date ? r.updated_at.toISOString() : String(r.updated_at),
    accessToken: r.access_token ?? undefined,
    accessApiBase: r.access_api_base ?? undefined,
    accessRenewAt: r.access_renew_at === null ? undefined : Number(r.access_renew_at),
  };
}
