'use strict';
/**
 * Loads the importable example flows (examples/*.json) and points them at the
 * built-in SAP Concur simulator. `npm start` deploys these flows, and the
 * examples test runs every example through the same function, so the demo and
 * the tests exercise exactly what users import from Import > Examples.
 *
 * Credentials are added inline (`node.credentials`), the way the editor sends
 * them on deploy: Node-RED encrypts them into flows_cred.json and never exports them.
 */
const fs = require('node:fs');
const path = require('node:path');

const EXAMPLES_DIR = path.join(__dirname, '..', 'examples');

/** The examples `npm start` deploys, one tab each. */
const DEMO_EXAMPLES = [
  '01 ESS approval flow.json',
  '02 Legacy external validation flow.json',
  '03 Replay failed legacy notifications.json',
  '04 ESS subscription setup.json',
];

/** Ids the demo script drives (the subscription tab's "subscribe" inject node). */
const SUBSCRIBE_INJECT_ID = 'ess-subscription.subscribe';

function exampleFiles() {
  return fs
    .readdirSync(EXAMPLES_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort();
}

function loadExample(file) {
  const full = path.join(EXAMPLES_DIR, file);
  let flows;
  try {
    flows = JSON.parse(fs.readFileSync(full, 'utf8'));
  } catch (err) {
    throw new Error(`example ${file} cannot be read as JSON: ${err.message}`);
  }
  if (!Array.isArray(flows)) throw new Error(`example ${file} is not a flow (a JSON array of nodes)`);
  return flows;
}

function checkOptions(o) {
  const need = (v, what) => {
    if (typeof v !== 'string' || !v) throw new Error(`connectToSimulator: ${what} is required`);
  };
  need(o.simUrl, 'simUrl');
  need(o.credentials && o.credentials.clientId, 'credentials.clientId');
  need(o.credentials && o.credentials.clientSecret, 'credentials.clientSecret');
  need(o.credentials && o.credentials.companyId, 'credentials.companyId');
  need(o.credentials && o.credentials.companyRequestToken, 'credentials.companyRequestToken');
}

/**
 * Returns a copy of `flows` wired to the simulator:
 * - every concur-config: custom base URL = the simulator, password grant with the
 *   simulator's company request token (a company token, as the Notification API needs);
 * - every concur-ess-event-in: also trusts the simulator's ESS signing key;
 * - every concur-legacy-notify-in: the given Basic credentials;
 * - an app connection (client_credentials grant, for the ESS subscription API): the
 *   simulator URL and client id/secret, grant kept;
 * - a tab with the subscription-setup environment variables: the webhook URL (and,
 *   where a tab still has them, simulator URL and client id/secret).
 *
 * opts: { simUrl, credentials: {clientId, clientSecret, companyId, companyRequestToken},
 *         essPublicKeyPem?, legacy?: {user, password}, essWebhookUrl? }
 */
function connectToSimulator(flows, opts) {
  checkOptions(opts);
  const c = opts.credentials;
  return structuredClone(flows).map((n) => {
    switch (n.type) {
      case 'concur-config':
        // An app connection (client credentials, as the ESS subscription API needs) keeps its grant.
        if (n.grantType === 'client_credentials') {
          return {
            ...n,
            geolocation: 'custom',
            baseUrl: opts.simUrl,
            tokenEndpoint: 'api',
            tokenUrl: '',
            credentials: { clientId: c.clientId, clientSecret: c.clientSecret },
          };
        }
        return {
          ...n,
          geolocation: 'custom',
          baseUrl: opts.simUrl,
          tokenEndpoint: 'api',
          tokenUrl: '',
          grantType: 'password',
          credtype: 'authtoken',
          credentials: { clientId: c.clientId, clientSecret: c.clientSecret, username: c.companyId, password: c.companyRequestToken },
        };
      case 'concur-ess-event-in':
        return opts.essPublicKeyPem ? { ...n, extraKeys: opts.essPublicKeyPem.trim() } : n;
      case 'concur-legacy-notify-in':
        return opts.legacy ? { ...n, credentials: { username: opts.legacy.user, password: opts.legacy.password } } : n;
      case 'tab': {
        if (!Array.isArray(n.env) || !n.env.some((e) => e.name === 'CONCUR_API_BASE' || e.name === 'ESS_WEBHOOK_URL')) return n;
        const values = { CONCUR_API_BASE: opts.simUrl, CONCUR_CLIENT_ID: c.clientId };
        if (opts.essWebhookUrl) values.ESS_WEBHOOK_URL = opts.essWebhookUrl;
        const env = n.env.map((e) => (e.name in values ? { ...e, value: values[e.name] } : e));
        const secretEnv = n.env.some((e) => e.name === 'CONCUR_CLIENT_SECRET');
        return secretEnv ? { ...n, env, credentials: { CONCUR_CLIENT_SECRET: c.clientSecret } } : { ...n, env };
      }
      default:
        return n;
    }
  });
}

/** The company connection the demo's tabs share (each example file brings its own). */
const DEMO_CONNECTION_ID = 'concur-demo.connection';
/** The app connection (client credentials grant) of the subscription tab: the ESS subscription API needs an app token. */
const DEMO_APP_CONNECTION_ID = 'concur-demo.app-connection';

/**
 * The demo flow: the examples in DEMO_EXAMPLES on one canvas (one tab each),
 * their company connections folded into one demo connection and their app
 * connections into one demo app connection, wired to the simulator.
 */
function demoFlows(opts) {
  const seen = new Set();
  const merged = [];
  const connections = new Map();
  for (const file of DEMO_EXAMPLES) {
    const flows = loadExample(file);
    const own = new Map();
    for (const n of flows) {
      if (n.type !== 'concur-config') continue;
      const app = n.grantType === 'client_credentials';
      const id = app ? DEMO_APP_CONNECTION_ID : DEMO_CONNECTION_ID;
      own.set(n.id, id);
      if (!connections.has(id)) connections.set(id, { ...n, id, name: app ? 'SAP Concur app (demo simulator)' : 'SAP Concur (demo simulator)' });
    }
    for (const n of flows) {
      if (n.type === 'concur-config') continue;
      if (seen.has(n.id)) throw new Error(`node id ${n.id} appears in two demo examples`);
      seen.add(n.id);
      merged.push(own.has(n.server) ? { ...n, server: own.get(n.server) } : n);
    }
  }
  merged.push(...connections.values());
  return connectToSimulator(merged, opts);
}

/**
 * The demo's own nodes in a deployed flow: its tabs, everything on them, and
 * the demo connections. CONCUR_DEMO_RESET replaces just these.
 */
function isDemoNode(n, demoTabIds) {
  return demoTabIds.has(n.id) || demoTabIds.has(n.z) || n.id === DEMO_CONNECTION_ID || n.id === DEMO_APP_CONNECTION_ID;
}
/** The connection id demos before 0.1.x deployed (shared by all example files then). */
const OLD_DEMO_CONNECTION_ID = 'concur-example-connection';

/**
 * `deployed` with the demo's own nodes replaced by `demo` (a fresh demoFlows()
 * result); the user's tabs, nodes and connections are kept as they are and in
 * their order. The user's nodes that use the demo connection keep using it (same id).
 */
function replaceDemoNodes(deployed, demo) {
  const demoTabIds = new Set(demo.filter((n) => n.type === 'tab').map((n) => n.id));
  let kept = deployed.filter((n) => !isDemoNode(n, demoTabIds));
  // An older demo's connection goes too, unless one of the user's nodes uses it.
  if (!kept.some((n) => n.server === OLD_DEMO_CONNECTION_ID)) kept = kept.filter((n) => n.id !== OLD_DEMO_CONNECTION_ID);
  const keptIds = new Set(kept.map((n) => n.id));
  const clash = demo.find((n) => keptIds.has(n.id));
  if (clash) throw new Error(`node id ${clash.id} is used by one of your own nodes and by the demo`);
  // Demo tabs first (where a fresh demo puts them), then the user's tabs and nodes.
  return [...demo.filter((n) => n.type === 'tab'), ...kept, ...demo.filter((n) => n.type !== 'tab')];
}

module.exports = {
  EXAMPLES_DIR,
  DEMO_EXAMPLES,
  DEMO_CONNECTION_ID,
  DEMO_APP_CONNECTION_ID,
  SUBSCRIBE_INJECT_ID,
  exampleFiles,
  loadExample,
  connectToSimulator,
  demoFlows,
  replaceDemoNodes,
};
