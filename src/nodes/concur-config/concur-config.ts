/**
 * concur-config: the connection to the SAP Concur APIs. Holds the OAuth2
 * credentials (as Node-RED credentials, never exported) and exposes
 * `node.api = { request(req), apiBase() }` to the action nodes. Thin adapter:
 * tokens in concur/token-manager, persistence in concur/token-store, the HTTP
 * client in concur/api-client; the editor fields are read in ./settings.ts.
 */
import path from 'node:path';
import type { RED, Node } from '../shared/red-types';
import type { ConcurConfigNode } from '../shared/concur-action';
import { needsPermission } from '../shared/permissions';
import { ConcurApiClient, type ApiRequest } from '../../concur/api-client';
import { ConcurError, toConcurError } from '../../concur/concur-error';
import { TokenManager, credentialProblems, credentialSeed, tokenStateSeed, type TokenCredentials, type TokenEvent } from '../../concur/token-manager';
import { FileTokenStore, MemoryTokenStore, type SharedTokenStore, type TokenStore } from '../../concur/token-store';
import { PgTokenStore } from '../../concur/pg-token-store';
import type { PgDatabase } from '../../concur/pg-database';
import { type ConfigDef, readSettings, type Settings } from './settings';

/** A concur-store config node, as this adapter sees it (adapters never import each other). */
interface StoreConfigNode {
  database(): PgDatabase;
  release(): void;
}

type Creds = TokenCredentials;

/** Folder under the userDir that holds one token file per connection. */
const TOKEN_DIR = 'concur-tokens';
const PASSWORD_PLACEHOLDER = '__PWRD__';
/** How the "type the … again" answer names each stored secret. */
const SECRET_NAMES = { clientSecret: 'client secret', refreshToken: 'refresh token', password: 'request token / password' } as const;

function tokenManagerFor(
  s: Settings,
  credentials: Creds,
  store: TokenStore | undefined,
  onEvent?: (e: TokenEvent) => void,
  shared?: SharedTokenStore,
): TokenManager {
  return new TokenManager({
    grantType: s.grantType,
    credentials,
    credtype: s.credtype,
    scope: s.scope,
    baseUrl: s.baseUrl,
    tokenBaseUrl: s.tokenBaseUrl,
    followGeolocation: s.followGeolocation,
    store,
    shared,
    expirySkewSec: s.expirySkewSec,
    timeoutMs: s.timeoutMs,
    onEvent,
  });
}

export = function (RED: RED) {
  const tokenDir = RED.settings.userDir ? path.join(RED.settings.userDir, TOKEN_DIR) : undefined;

  function ConcurConfig(this: Node<Creds> & Partial<ConcurConfigNode> & { tokens?: TokenManager; settingsKey?: string; endpointKey?: string }, def: ConfigDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const creds: Creds = { ...(node.credentials ?? {}) };
    let client: ConcurApiClient | undefined;
    let startError: ConcurError | undefined;
    let tokenStore: TokenStore | undefined;
    let missing: string[] = [];
    let shared: SharedTokenStore | undefined;
    let storeNode: StoreConfigNode | undefined;
    try {
      const s = readSettings(def);
      // What the grant needs (refresh_token: id, secret, refresh token; password/authtoken:
      // id, secret, company UUID, request token; client_credentials: id, secret).
      missing = credentialProblems(s.grantType, creds);
      if (missing.length) node.warn(`Concur connection "${def.name || node.id}" is not configured: ${missing.join('; ')}`);
      if (def.store) {
        const n = RED.nodes.getNode(String(def.store)) as unknown as StoreConfigNode | null;
        if (!n || typeof n.database !== 'function')
          throw new ConcurError({ status: 0, code: 'CONFIG', message: 'the selected store (concur-store) is missing or not deployed', notSent: true });
        shared = new PgTokenStore(n.database(), { connection: node.id, onWriteError: (m) => node.warn(m) });
        storeNode = n;
      }
      let store: TokenStore;
      if (tokenDir) {
        const file = new FileTokenStore(tokenDir, node.id);
        adoptTestedState(
          file,
          new FileTokenStore(tokenDir, `${node.id}.tested`),
          tokenStateSeed({ grantType: s.grantType, baseUrl: s.baseUrl, tokenBaseUrl: s.tokenBaseUrl, credentials: creds }),
        );
        store = file;
      } else {
        store = new MemoryTokenStore();
        node.warn('Node-RED has no userDir: a rotated refresh token will not survive a restart');
      }
      tokenStore = store;
      const tokens = tokenManagerFor(
        s,
        creds,
        store,
        (e) => {
          // Facts only: never a token or secret.
          if (e.type === 'token')
            node.log(`access token obtained (${e.grant} grant, valid ${e.expiresInSec} s${e.geolocation ? `, geolocation ${e.geolocation}` : ''})`);
          else if (e.type === 'refresh-rotated')
            node.log(`Concur rotated the refresh token; the new one is saved in ${shared ? shared.location : store.location}`);
          else if (e.type === 'refresh-rejected')
            node.warn(`stored refresh token rejected (${e.error})${e.fallback ? '; trying the configured credentials' : ''}`);
          else if (e.type === 'store-error') node.warn(e.message);
          else if (e.type === 'geolocation-refused')
            node.warn(
              `ignored the geolocation ${e.geolocation} named by the token endpoint: ` +
                'with a Concur base URL only https://*.concursolutions.com (or .concurcdc.cn) hosts are followed',
            );
        },
        shared,
      );
      client = new ConcurApiClient({
        tokens,
        retry: s.retry,
        timeoutMs: s.timeoutMs,
        onEvent: (e) => {
          if (e.type === 'retry') node.debug(`retrying ${e.method} ${e.url} in ${e.delayMs} ms (attempt ${e.attempt}: ${e.reason})`);
          else node.debug(`${e.method} ${e.url} answered ${e.status}: requesting a fresh token once`);
        },
      });
      node.tokens = tokens;
      node.settingsKey = settingsKey(def, creds);
      node.endpointKey = endpointKey(s);
    } catch (err) {
      startError = toConcurError(err);
      node.error(`Concur connection "${def.name || node.id}" is not usable: ${startError.message}`);
    }

    node.api = {
      request(req: ApiRequest) {
        if (!client) return Promise.reject(startError ?? new ConcurError({ status: 0, code: 'CONFIG', message: 'connection is closed', notSent: true }));
        return client.request(req);
      },
      apiBase() {
        return client ? client.tokens.apiBase() : '';
      },
    };
    node.problems = () => (startError ? [startError.message] : client ? missing : ['connection is closed']);
    node.label = () => (client ? client.tokens.apiBase() : `not usable: ${startError?.message ?? 'closed'}`);

    node.on('close', (removed: boolean, done: () => void) => {
      client?.close();
      client = undefined;
      // A deleted connection must not leave its refresh token on disk.
      if (removed && tokenStore) {
        try {
          tokenStore.clear();
        } catch (err) {
          node.warn(`could not delete the stored refresh token: ${(err as Error).message}`);
        }
      }
      const dropShared = removed && shared ? shared.clear() : Promise.resolve();
      dropShared
        .catch((err) => node.warn(`could not delete the shared token state: ${(err as Error).message}`))
        .finally(() => {
          storeNode?.release();
          done();
        });
    });
  }

  /**
   * A "Test connection" with changed settings may have rotated a refresh token:
   * keep the newest state for these credentials when the node is deployed.
   */
  function adoptTestedState(main: FileTokenStore, tested: FileTokenStore, seed: string) {
    try {
      const t = tested.load();
      const m = main.load();
      if (t && t.seed === seed && (!m || m.seed !== seed || t.updatedAt > m.updatedAt)) main.save(t);
      if (t) tested.clear();
    } catch {
      /* a broken test file only means starting from the stored or configured credentials */
    }
  }

  /** Reads the deployed state (so a test can use the newest refresh token) but writes to the side file. */
  function testStore(dir: string, id: string): TokenStore {
    const main = new FileTokenStore(dir, id);
    const side = new FileTokenStore(dir, `${id}.tested`);
    return {
      location: side.location,
      load: () => side.load() ?? main.load(),
      save: (st) => side.save(st),
      clear: () => side.clear(),
    };
  }

  /** Where the secrets go and how they are used: a test elsewhere must not reuse the stored secrets. */
  function endpointKey(s: Settings): string {
    return JSON.stringify([s.baseUrl, s.tokenBaseUrl ?? null, s.grantType]);
  }

  /** Test connection sends secrets: plain http only to loopback (the simulator on this machine). */
  function insecureUrl(url: string | undefined): string | undefined {
    if (!url) return undefined;
    const u = new URL(url);
    if (u.protocol !== 'http:') return undefined;
    const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    if (host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)) return undefined;
    return u.host;
  }

  /** Identifies what a token request depends on (normalised settings + credential hashes, kept in memory only). */
  function settingsKey(def: ConfigDef, c: Creds): string {
    const s = readSettings(def);
    const hash = (v: string | undefined) => (v ? credentialSeed('client_credentials', v, {}) : '');
    return JSON.stringify([
      s.baseUrl,
      s.tokenBaseUrl ?? null,
      s.grantType,
      s.credtype,
      s.scope ?? null,
      s.followGeolocation,
      credentialSeed(s.grantType, c.clientId, c),
      hash(c.clientSecret),
      hash(c.password),
    ]);
  }

  RED.nodes.registerType('concur-config', ConcurConfig as unknown as (this: any, def: any) => void, {
    credentials: {
      clientId: { type: 'text' },
      clientSecret: { type: 'password' },
      refreshToken: { type: 'password' },
      username: { type: 'text' },
      password: { type: 'password' },
    },
  });

  // ---- "Test connection" (editor button): requests a token, answers success or the OAuth error, never the token ----
  const needs = needsPermission(RED, 'concur-config.write');
  RED.httpAdmin.post('/concur-config/:id/test', needs, (req: any, res: any) => {
    const answer = (status: number, body: Record<string, unknown>) => {
      if (!res.headersSent) res.status(status).json(body);
    };
    const run = async () => {
      const id = String(req.params?.id ?? '');
      const body = (req.body && typeof req.body === 'object' ? req.body : {}) as ConfigDef & { credentials?: Creds };
      const deployed = RED.nodes.getNode(id) as (Node<Creds> & { tokens?: TokenManager; settingsKey?: string; endpointKey?: string }) | null;
      const given = body.credentials ?? {};
      // Password fields the user did not touch come back as a placeholder: use the deployed values.
      const pick = (k: keyof Creds) => {
        const v = given[k];
        return v === undefined || v === PASSWORD_PLACEHOLDER ? deployed?.credentials?.[k] : v || undefined;
      };
      const creds: Creds = {
        clientId: pick('clientId'),
        clientSecret: pick('clientSecret'),
        refreshToken: pick('refreshToken'),
        username: pick('username'),
        password: pick('password'),
      };
      const def: ConfigDef = { ...body, id, type: 'concur-config' };
      const s = readSettings(def);
      for (const url of [s.baseUrl, s.tokenBaseUrl]) {
        const host = insecureUrl(url);
        if (host)
          return answer(400, {
            ok: false,
            status: 0,
            error: 'INSECURE_URL',
            message: `refusing to send credentials over plain http:// to ${host}: use https:// (http is allowed only for loopback, e.g. the simulator)`,
            error_description: null,
            code: null,
          });
      }
      // Stored secrets (fields left as they were) go only where the deployed connection sends them.
      const reused = (['clientSecret', 'refreshToken', 'password'] as const).filter(
        (k) => (given[k] === undefined || given[k] === PASSWORD_PLACEHOLDER) && deployed?.credentials?.[k],
      );
      if (reused.length && deployed?.endpointKey !== endpointKey(s)) {
        return answer(400, {
          ok: false,
          status: 0,
          error: 'SECRETS_REQUIRED',
          message:
            `the URL or grant differs from the deployed connection: type the ${reused.map((k) => SECRET_NAMES[k]).join(' and ')} again ` +
            '(stored secrets are only sent to the deployed endpoints)',
          error_description: null,
          code: null,
        });
      }
      let tokens: TokenManager;
      if (deployed?.tokens && deployed.settingsKey === settingsKey(def, creds)) {
        // Unchanged settings: ask the live connection, so a rotated refresh token stays in one place.
        tokens = deployed.tokens;
        if (tokens.describe().hasToken) tokens.invalidate((await tokens.getToken()).accessToken); // force a real token request
      } else {
        const store = tokenDir && /^[A-Za-z0-9_.-]{1,64}$/.test(id) ? testStore(tokenDir, id) : new MemoryTokenStore();
        tokens = tokenManagerFor(s, creds, store);
      }
      await tokens.getToken();
      const d = tokens.describe();
      answer(200, { ok: true, grantType: s.grantType, apiBase: d.apiBase, geolocation: d.geolocation ?? null, refreshExpiresAt: d.refreshExpiresAt ?? null });
    };
    run().catch((err) => {
      const e = toConcurError(err);
      answer(e.code === 'CONFIG' ? 400 : 502, {
        ok: false,
        status: e.status,
        message: e.message,
        error: e.oauth?.error ?? e.code,
        error_description: e.oauth?.error_description ?? null,
        code: e.oauth?.code ?? null,
      });
    });
  });
};
