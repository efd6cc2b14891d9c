/**
 * concur-store: a PostgreSQL database shared by several Node-RED instances.
 * Selected as "Store" by concur-ess-event-in (accepted events, dedupe, dead
 * letters) and concur-config (the access token and the rotated refresh token).
 * Thin adapter: the pool and schema live in ../concur/pg-database.ts.
 *
 * Users call `database()` and give their use back with `release()` when they
 * close; on redeploy this node waits (briefly) for them before ending the pool,
 * so they can still record outcomes and give their claims back.
 */
import type { RED, Node, NodeDef } from '../shared/red-types';
import { numberOption } from '../shared/options';
import { needsPermission } from '../shared/permissions';
import { PgDatabase, checkIdentifier, describePg, type PgOptions, type PgTlsMode } from '../../concur/pg-database';

interface StoreDef extends NodeDef {
  backend?: string;
  connection?: 'fields' | 'url';
  host?: string;
  port?: number | string;
  database?: string;
  user?: string;
  tls?: string;
  ca?: string;
  poolSize?: number | string;
  schema?: string;
  tablePrefix?: string;
  leaseSec?: number | string;
  statementTimeoutSec?: number | string;
}

interface Creds {
  password?: string;
  connectionString?: string;
}

const PASSWORD_PLACEHOLDER = '__PWRD__';
const RELEASE_WAIT_MS = 5000;

/** Editor fields + credentials -> pool options. Throws a readable error for a bad value. */
function storeOptions(def: StoreDef, creds: Creds, appName: string): PgOptions {
  const backend = def.backend || 'postgres';
  if (backend !== 'postgres') throw new Error(`unknown store backend "${backend}"`);
  const tls: PgTlsMode = def.tls === 'require' || def.tls === 'verify' ? def.tls : 'off';
  const o: PgOptions = {
    tls,
    ca: tls === 'verify' && def.ca && String(def.ca).trim() ? String(def.ca) : undefined,
    poolSize: Math.round(numberOption('concur-store', 'poolSize', def.poolSize)),
    schema: String(def.schema ?? '').trim() || undefined,
    tablePrefix: String(def.tablePrefix ?? '').trim() || undefined,
    statementTimeoutMs: Math.round(numberOption('concur-store', 'statementTimeoutSec', def.statementTimeoutSec) * 1000),
    applicationName: appName,
  };
  if (def.connection === 'url') {
    const cs = String(creds.connectionString ?? '').trim();
    if (!cs) throw new Error('the connection string is not set');
    if (!/^postgres(ql)?:\/\//i.test(cs)) throw new Error('the connection string must start with postgres:// or postgresql://');
    o.connectionString = cs;
  } else {
    const host = String(def.host ?? '').trim();
    if (!host) throw new Error('the host is not set');
    o.host = host;
    o.port = Math.round(numberOption('concur-store', 'port', def.port));
    o.database = String(def.database ?? '').trim() || undefined;
    o.user = String(def.user ?? '').trim() || undefined;
    o.password = creds.password || undefined;
  }
  if (o.schema) checkIdentifier('schema', o.schema);
  if (o.tablePrefix) checkIdentifier('table prefix', o.tablePrefix);
  if (tls === 'verify' && o.ca && !/-----BEGIN CERTIFICATE-----/.test(o.ca)) throw new Error('the CA must be a PEM certificate (-----BEGIN CERTIFICATE-----)');
  return o;
}

export = function (RED: RED) {
  function ConcurStore(this: Node<Creds> & { database?: () => PgDatabase; release?: () => void; leaseMs?: number; storeError?: string }, def: StoreDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    let db: PgDatabase | undefined;
    let options: PgOptions | undefined;
    let users = 0;
    let onIdle: (() => void) | undefined;
    try {
      options = storeOptions(def, node.credentials ?? {}, `node-red-contrib-sap-concur ${def.name || node.id}`);
      db = new PgDatabase(options);
      node.log(`PostgreSQL store ${db.location}`);
      // Create or upgrade the schema at once, so a configuration error shows at deploy; users also wait for it.
      db.ready().catch((err) => node.warn(`PostgreSQL store ${db?.location}: schema not ready yet (${(err as Error).message}); retried on first use`));
    } catch (err) {
      node.storeError = (err as Error).message;
      node.error(`store "${def.name || node.id}" is not usable: ${node.storeError}`);
    }
    node.leaseMs = Math.round(numberOption('concur-store', 'leaseSec', def.leaseSec) * 1000);
    node.database = () => {
      if (!db) throw new Error(`the store is not usable: ${node.storeError ?? 'closed'}`);
      users++;
      return db;
    };
    node.release = () => {
      users = Math.max(0, users - 1);
      if (users === 0) onIdle?.();
    };

    node.on('close', (done: () => void) => {
      const d = db;
      db = undefined;
      if (!d) return done();
      const end = () => {
        clearTimeout(t);
        onIdle = undefined;
        d.close()
          .catch((err) => node.warn(`closing the PostgreSQL pool: ${(err as Error).message}`))
          .finally(() => done());
      };
      const t = setTimeout(end, users ? RELEASE_WAIT_MS : 0);
      onIdle = end;
    });
  }

  RED.nodes.registerType('concur-store', ConcurStore as unknown as (this: any, def: any) => void, {
    credentials: {
      password: { type: 'password' },
      connectionString: { type: 'password' },
    },
  });

  // ---- "Test connection": connects with the dialog's settings, reports the server version and the schema state (never a secret).
  RED.httpAdmin.post('/concur-store/:id/test', needsPermission(RED, 'concur-store.write'), (req: any, res: any) => {
    const answer = (status: number, body: Record<string, unknown>) => {
      if (!res.headersSent) res.status(status).json(body);
    };
    const run = async () => {
      const id = String(req.params?.id ?? '');
      const body = (req.body && typeof req.body === 'object' ? req.body : {}) as StoreDef & { credentials?: Creds };
      const deployed = RED.nodes.getNode(id) as Node<Creds> | null;
      const given = body.credentials ?? {};
      const pick = (k: keyof Creds) => {
        const v = given[k];
        return v === undefined || v === PASSWORD_PLACEHOLDER ? deployed?.credentials?.[k] : v || undefined;
      };
      let opts: PgOptions;
      try {
        opts = storeOptions(
          { ...body, id, type: 'concur-store' },
          { password: pick('password'), connectionString: pick('connectionString') },
          'node-red-contrib-sap-concur test',
        );
      } catch (err) {
        return answer(400, { ok: false, message: (err as Error).message });
      }
      const db = new PgDatabase({ ...opts, poolSize: 1, connectTimeoutMs: 5000 });
      try {
        const v = await db.query<{ v: string }>('SELECT version() AS v');
        let schemaVersion: number | null = null;
        try {
          const r = await db.query<{ version: number }>(`SELECT version FROM ${db.tables.version} WHERE component = 'concur'`);
          schemaVersion = r.rows[0]?.version ?? null;
        } catch {
          schemaVersion = null; // not created yet: the first deploy creates it
        }
        answer(200, { ok: true, server: String(v.rows[0]?.v ?? '').split(',')[0], location: describePg(opts), schemaVersion });
      } finally {
        await db.close().catch(() => undefined);
      }
    };
    run().catch((err) => answer(502, { ok: false, message: (err as Error).message }));
  });
};
