/**
 * concur-sim command line:
 *   concur-sim api [--port 8090] [--host 127.0.0.1] [--latency 50] [--rate-429 0.1] [--rate-5xx 0.05] [--token-ttl 3600]
 *   concur-sim send ess --to URL [--event statusChanged] [--report ID | --request UUID] [--padding pss|pkcs1] [--key file]
 *                       [--cert f --cert-key f] [--retention 2m]
 *   concur-sim send legacy --to URL [--user U --password P] [--report KEY]
 *   concur-sim keygen [--out dir] [--force]
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { parseArgs, parseDuration, parseNumber, str, UsageError, type ParsedArgs } from './cli-args';
import { startSimulator, DEFAULT_REPORT_ID, type SimulatorOptions } from './index';
import { defaultKeyDir, loadOrCreateKeyPair, loadPrivateKey, writeKeyPair, PRIVATE_KEY_FILE, type EssKeyPair } from './keys';
import { SimState } from './state';
import { eventForReportAsIs, EXPENSE_EVENT_TYPES, travelRequestEvent, type ExpenseEventType } from './ess-events';
import { sendEss, type EssPadding } from './ess-sender';
import { sendLegacy, testConnection, WORKFLOW_STEP_PREFIX, DEFAULT_LEGACY_STEP } from './legacy-sender';
import { reportFullDetailsUrl } from './expense-legacy-xml';
import type { ClientTls } from './http-client';
import * as path from 'node:path';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_COMPANY_REQUEST_TOKEN, DEFAULT_LEGACY_PASSWORD, DEFAULT_LEGACY_USER } from './seed-data';

/** `send ess` gives up after this by default (ESS itself retries for 72 h; a person at a terminal waits less). */
const CLI_ESS_RETENTION = '2m';

export interface Io {
  out(line: string): void;
  err(line: string): void;
}

const defaultIo: Io = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };

const BOOLEANS = new Set([
  'help',
  'force',
  'insecure',
  'no-deliver',
  'test-connection',
  'enforce-token-kinds',
  'any-exception-code',
  'legacy-host',
  'fault-token-endpoint',
]);

const HELP: Record<string, string> = {
  main: `concur-sim: a local SAP Concur simulator

Usage:
  concur-sim api [options]            run the fake Concur API (OAuth2, Expense v1.1/v2.0/v3/v4, Notifications, ESS subscriptions)
  concur-sim send ess --to URL ...    send a signed ESS event (with ESS retry rules)
  concur-sim send legacy --to URL ... send a legacy Event Notification callout (XML + Basic auth)
  concur-sim keygen [--out dir]       create the ESS signing key pair and print the public key

Run "concur-sim <command> --help" for the options of each command.`,
  api: `concur-sim api [options]

  --port N                 port to listen on (default 8090; 0 = any free port)
  --host H                 interface (default 127.0.0.1)
  --public-url URL         base URL handed out in geolocation/hrefs (default the listening URL)
  --latency MS             delay every answer by MS milliseconds
  --rate-429 P             answer P (0..1) of requests with 429 Too Many Requests
  --retry-after S          Retry-After seconds sent with injected 429/503 (default 1)
  --rate-5xx P             answer P (0..1) of requests with a 5xx
  --status-5xx N           status for injected 5xx (default 503)
  --fault-token-endpoint   apply random faults to /oauth2/v0/token too
  --token-ttl S            access token lifetime in seconds (default 3600)
  --expires-in F           expires_in as number | string | alternate (default alternate)
  --seed N                 seed of the fault dice (default 1)
  --client-id ID           OAuth client id (default ${DEFAULT_CLIENT_ID})
  --client-secret S        OAuth client secret (default ${DEFAULT_CLIENT_SECRET})
  --company-request-token T  company request token for credtype=authtoken (default ${DEFAULT_COMPANY_REQUEST_TOKEN})
  --enforce-token-kinds    ESS management needs an app token, system endpoints a company token
  --any-exception-code     accept any exception code of valid length (not only the configured ones)
  --exception-code-max N   longest exception code accepted (default 8, the documented rule)
  --key-dir DIR            ESS signing key directory (default ./.concur-sim)
  --no-deliver             do not deliver statusChanged events to ESS subscriptions
  --delivery-retention D   retention for those deliveries (default 72h)
  --padding pss|pkcs1      signature padding for those deliveries (default pss)

Admin endpoints (simulator only): GET/POST/DELETE /_sim/faults, POST /_sim/tokens/expire,
GET /_sim/state, POST /_sim/reset, GET /_sim/requests, GET /_sim/events,
POST /_sim/reports/{id}/submit {"stepCode":"EXTVAL"}, POST /_sim/notifications {"reportId":...}`,
  ess: `concur-sim send ess --to URL [options]

  --to URL                 webhook endpoint (e.g. http://127.0.0.1:1880/concur/ess)
  --event TYPE             ${EXPENSE_EVENT_TYPES.join(' | ')} (default statusChanged)
  --report ID              seeded report the event is about (default ${DEFAULT_REPORT_ID})
  --request UUID           send a public.concur.request event about this seeded Travel Request instead
  --api URL                simulator API base used in facts.href (default http://127.0.0.1:8090)
  --body FILE              send this file's exact bytes instead of a generated event
  --correlation-id ID      Concur-Correlationid header (default the event's correlationId)
  --padding pss|pkcs1      RSA-SHA256 padding: PSS with maximum salt, or PKCS#1 v1.5 (default pss)
  --key FILE               private key PEM (default the key in --key-dir, created on first use)
  --key-dir DIR            key directory (default ./.concur-sim)
  --cert FILE --cert-key FILE   client certificate and key for mutual TLS
  --ca FILE                trust this CA for an https receiver;  --insecure  skip verification
  --retention D            stop retrying after D (default ${CLI_ESS_RETENTION}; ESS itself retries for 72h)
  --initial-delay D        first retry delay (default 1s, doubling each time)
  --max-delay D            longest retry delay (default 15m)
  --max-attempts N         hard cap on attempts (default 10000)
  --timeout D              per-attempt timeout (default 60s)

Retries on 5xx, 401, 403, 429 and network errors; stops on 2xx and other 4xx.
Each rejection is printed with the receiver's reason (the answer body).
Exit status 0 when delivered, 1 otherwise.`,
  legacy: `concur-sim send legacy --to URL [--user U --password P] [options]

  --to URL                 connector endpoint (e.g. http://127.0.0.1:1880/concur/v1.0/notify)
  --user U --password P    HTTP Basic credentials of the application connector
                           (default ${DEFAULT_LEGACY_USER} / ${DEFAULT_LEGACY_PASSWORD};
                           the password may also come from $CONCUR_SIM_PASSWORD)
  --report KEY_OR_ID       report key (RptKey) or seeded report ID (default ${DEFAULT_REPORT_ID})
  --step NAME              workflow step in EventType (default "${DEFAULT_LEGACY_STEP}")
  --event-type TEXT        full EventType text (overrides --step)
  --api URL                base of ObjectURI (default http://127.0.0.1:8090)
  --legacy-host            use https://www.concursolutions.com in ObjectURI, as Concur does
  --test-connection        first GET /system/v1.0/testconnection like Concur's "Test Connection"
  --cert/--cert-key/--ca/--insecure   TLS options as for "send ess"
  --timeout D              request timeout (default 60s)

Exit status 0 when the connector answered 200, 1 otherwise.`,
  keygen: `concur-sim keygen [--out DIR] [--force]

Writes ${PRIVATE_KEY_FILE} (mode 600) and its public key into DIR (default ./.concur-sim)
and prints the public key PEM to paste into the ESS receiver (concur-ess-event-in).
An existing key pair is kept unless --force is given.`,
};

function tlsFrom(flags: ParsedArgs['flags']): ClientTls | undefined {
  const cert = str(flags, 'cert');
  const certKey = str(flags, 'cert-key');
  const ca = str(flags, 'ca');
  if (!!cert !== !!certKey) throw new UsageError('--cert and --cert-key go together');
  if (!cert && !ca && !flags.insecure) return undefined;
  const read = (f: string, what: string) => {
    try {
      return fs.readFileSync(f);
    } catch (e) {
      throw new UsageError(`cannot read ${what} ${f}: ${(e as Error).message}`);
    }
  };
  return {
    cert: cert ? read(cert, '--cert') : undefined,
    key: certKey ? read(certKey, '--cert-key') : undefined,
    ca: ca ? read(ca, '--ca') : undefined,
    rejectUnauthorized: flags.insecure ? false : undefined,
  };
}

/** SHA-256 of the public key's SPKI DER, in hex: the same form the ESS receiver's dialog shows. */
function fingerprint(pair: EssKeyPair): string {
  return createHash('sha256')
    .update(pair.publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

function needUrl(flags: ParsedArgs['flags'], name: string): string {
  const v = str(flags, name);
  if (!v) throw new UsageError(`--${name} is required`);
  try {
    const u = new URL(v);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new UsageError(`--${name} must be an http(s) URL (got ${v})`);
  }
  return v;
}

async function cmdApi(flags: ParsedArgs['flags'], io: Io, signal?: AbortSignal): Promise<number> {
  const faults: Record<string, unknown> = {};
  const n = (name: string, min: number, max: number) => {
    const v = str(flags, name);
    return v === undefined ? undefined : parseNumber(v, name, min, max);
  };
  if (n('latency', 0, 120000) !== undefined) faults.latencyMs = n('latency', 0, 120000);
  if (n('rate-429', 0, 1) !== undefined) faults.rate429 = n('rate-429', 0, 1);
  if (n('rate-5xx', 0, 1) !== undefined) faults.rate5xx = n('rate-5xx', 0, 1);
  if (n('status-5xx', 500, 599) !== undefined) faults.status5xx = n('status-5xx', 500, 599);
  if (n('retry-after', 0, 86400) !== undefined) faults.retryAfterSeconds = n('retry-after', 0, 86400);
  if (n('token-ttl', 1, 31536000) !== undefined) faults.tokenTtlSeconds = n('token-ttl', 1, 31536000);
  if (flags['fault-token-endpoint']) faults.faultTokenEndpoint = true;
  const expiresIn = str(flags, 'expires-in');
  if (expiresIn && !['number', 'string', 'alternate'].includes(expiresIn)) throw new UsageError('--expires-in must be number, string or alternate');
  const padding = str(flags, 'padding');
  if (padding && padding !== 'pss' && padding !== 'pkcs1') throw new UsageError('--padding must be pss or pkcs1');
  const shape = str(flags, 'subscription-get-shape');
  if (shape && shape !== 'object' && shape !== 'array') throw new UsageError('--subscription-get-shape must be object or array');
  const retention = str(flags, 'delivery-retention');
  const opts: SimulatorOptions = {
    port: n('port', 0, 65535) ?? 8090,
    host: str(flags, 'host') ?? '127.0.0.1',
    publicUrl: str(flags, 'public-url'),
    seed: n('seed', 0, 2 ** 32 - 1) ?? 1,
    faults,
    clientId: str(flags, 'client-id'),
    clientSecret: str(flags, 'client-secret'),
    companyRequestToken: str(flags, 'company-request-token'),
    expiresIn: expiresIn as SimulatorOptions['expiresIn'],
    enforceTokenKinds: !!flags['enforce-token-kinds'],
    anyExceptionCode: !!flags['any-exception-code'],
    exceptionCodeMaxLength: n('exception-code-max', 1, 64),
    subscriptionGetShape: shape as SimulatorOptions['subscriptionGetShape'],
    keyDir: str(flags, 'key-dir'),
    deliverEvents: !flags['no-deliver'],
    delivery: { padding: padding as EssPadding | undefined, retentionMs: retention ? parseDuration(retention, 'delivery-retention') : undefined },
    log: (l) => io.out(l),
  };
  let sim;
  try {
    sim = await startSimulator(opts);
  } catch (e) {
    io.err(`concur-sim: cannot listen on ${opts.host}:${opts.port}: ${(e as Error).message}`);
    return 1;
  }
  const c = sim.credentials;
  io.out(`SAP Concur simulator listening on ${sim.url}`);
  io.out(`  token endpoint : POST ${sim.url}/oauth2/v0/token`);
  // The simulator's credentials in full: they only open this local fake tenant.
  io.out(`  client id      : ${c.clientId}`);
  io.out(`  client secret  : ${c.clientSecret}`);
  io.out(`  company UUID   : ${c.companyId}`);
  io.out(`  request token  : ${c.companyRequestToken}  (company request token, password grant with credtype=authtoken)`);
  io.out(`  legacy connector (send legacy): user ${DEFAULT_LEGACY_USER}, password ${DEFAULT_LEGACY_PASSWORD}`);
  io.out(`  seeded reports : ${[...sim.state.reports.values()].map((r) => `${r.reportId} (${r.approvalStatus})`).join(', ')}`);
  io.out(`  travel requests: ${[...sim.state.travelRequests.values()].map((t) => `${t.id} (${t.status}${t.stepCode ? ` at ${t.stepCode}` : ''})`).join(', ')}`);
  io.out(`  faults         : ${JSON.stringify({ ...sim.api.faults.settings, failNext: undefined })}`);
  io.out(`  admin          : ${sim.url}/_sim/state, ${sim.url}/_sim/faults`);
  io.out('Press Ctrl+C to stop.');
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    signal?.addEventListener('abort', stop, { once: true });
  });
  io.out('stopping simulator');
  await sim.stop();
  return 0;
}

function keyFrom(flags: ParsedArgs['flags']): EssKeyPair {
  const keyFile = str(flags, 'key');
  if (keyFile) {
    try {
      return loadPrivateKey(keyFile);
    } catch (e) {
      throw new UsageError(`cannot load --key ${keyFile}: ${(e as Error).message}`);
    }
  }
  return loadOrCreateKeyPair(str(flags, 'key-dir') ?? defaultKeyDir());
}

async function cmdSendEss(flags: ParsedArgs['flags'], io: Io): Promise<number> {
  const to = needUrl(flags, 'to');
  const padding = (str(flags, 'padding') ?? 'pss') as EssPadding;
  if (padding !== 'pss' && padding !== 'pkcs1') throw new UsageError('--padding must be pss or pkcs1');
  const eventType = (str(flags, 'event') ?? 'statusChanged') as ExpenseEventType;
  if (!EXPENSE_EVENT_TYPES.includes(eventType)) throw new UsageError(`--event must be one of ${EXPENSE_EVENT_TYPES.join(', ')}`);
  const apiBase = (str(flags, 'api') ?? 'http://127.0.0.1:8090').replace(/\/+$/, '');
  const bodyFile = str(flags, 'body');
  let event: unknown;
  if (bodyFile) {
    try {
      event = fs.readFileSync(bodyFile);
    } catch (e) {
      throw new UsageError(`cannot read --body ${bodyFile}: ${(e as Error).message}`);
    }
  } else if (str(flags, 'request') !== undefined) {
    const state = new SimState();
    const id = str(flags, 'request') as string;
    const t = state.travelRequests.get(id) ?? state.travelRequests.get(id.toUpperCase());
    if (!t) throw new UsageError(`--request ${id} is not a seeded travel request (known: ${[...state.travelRequests.keys()].join(', ')})`);
    event = travelRequestEvent(t, state.companyId, apiBase);
  } else {
    const state = new SimState();
    const id = str(flags, 'report') ?? DEFAULT_REPORT_ID;
    const report = state.reportById(id);
    if (!report) throw new UsageError(`--report ${id} is not a seeded report (known: ${[...state.reports.keys()].join(', ')})`);
    event = eventForReportAsIs(state, report, eventType, apiBase);
  }
  const pair = keyFrom(flags);
  const num = (name: string, min: number, max: number) => {
    const v = str(flags, name);
    return v === undefined ? undefined : parseNumber(v, name, min, max);
  };
  const dur = (name: string) => {
    const v = str(flags, name);
    return v === undefined ? undefined : parseDuration(v, name);
  };
  const tls = tlsFrom(flags);
  const ev = event as { topic?: string; eventType?: string; facts: { reportId?: string; id?: string } };
  const about = ev.topic === 'public.concur.request' ? `${ev.eventType} for travel request ${ev.facts.id}` : `${eventType} for report ${ev.facts.reportId}`;
  io.out(`sending ESS ${bodyFile ? `body from ${bodyFile}` : about} to ${to}`);
  const scheme = padding === 'pss' ? 'PSS (max salt)' : 'PKCS#1 v1.5';
  io.out(`  signature: RSA-SHA256 ${scheme}; key ${pair.privatePath ?? '(given)'}; public key SHA-256 ${fingerprint(pair)}`);
  if (tls?.cert) io.out('  mutual TLS: presenting the client certificate');
  io.out(`  retrying like ESS (5xx, 401, 403, 429, network errors) for up to ${str(flags, 'retention') ?? CLI_ESS_RETENTION} (--retention to change)`);
  const controller = new AbortController();
  const onSig = () => controller.abort();
  process.once('SIGINT', onSig);
  try {
    const r = await sendEss({
      to,
      event,
      privateKey: pair.privateKey,
      padding,
      correlationId: str(flags, 'correlation-id'),
      tls,
      retentionMs: dur('retention') ?? parseDuration(CLI_ESS_RETENTION, 'retention'),
      initialDelayMs: dur('initial-delay'),
      maxDelayMs: dur('max-delay'),
      maxAttempts: num('max-attempts', 1, 1000000),
      timeoutMs: dur('timeout'),
      log: (l) => io.out(l),
      signal: controller.signal,
    });
    io.out(`result: ${r.outcome} after ${r.attempts.length} attempt(s)${r.status !== undefined ? `, last status ${r.status}` : ''}`);
    return r.delivered ? 0 : 1;
  } finally {
    process.off('SIGINT', onSig);
  }
}

async function cmdSendLegacy(flags: ParsedArgs['flags'], io: Io): Promise<number> {
  const to = needUrl(flags, 'to');
  const user = str(flags, 'user') ?? DEFAULT_LEGACY_USER;
  const password = str(flags, 'password') ?? process.env.CONCUR_SIM_PASSWORD ?? DEFAULT_LEGACY_PASSWORD;
  const state = new SimState();
  const ref = str(flags, 'report') ?? DEFAULT_REPORT_ID;
  const report = state.reportById(ref) ?? state.reportByKey(ref);
  // An unknown value is used as a report key as is: receivers must cope with keys the simulator never issued.
  const reportKey = report?.reportKey ?? ref;
  const base = flags['legacy-host'] ? 'https://www.concursolutions.com' : (str(flags, 'api') ?? 'http://127.0.0.1:8090').replace(/\/+$/, '');
  const eventType = str(flags, 'event-type') ?? `${WORKFLOW_STEP_PREFIX}${str(flags, 'step') ?? DEFAULT_LEGACY_STEP}`;
  const tls = tlsFrom(flags);
  const timeout = str(flags, 'timeout');
  const timeoutMs = timeout ? parseDuration(timeout, 'timeout') : undefined;
  const log = (l: string) => io.out(l);
  if (flags['test-connection']) {
    const t = await testConnection({ to, user, password, tls, timeoutMs, log });
    if (!t.ok) {
      io.err('test connection failed: Concur would not verify this connector');
      return 1;
    }
  }
  io.out(`sending legacy notification (${eventType}) for report key ${reportKey} to ${to} as user ${user}`);
  const r = await sendLegacy({ to, user, password, eventType, objectUri: reportFullDetailsUrl(base, reportKey), tls, timeoutMs, log });
  if (r.body) io.out(`  response body: ${r.body.slice(0, 500)}`);
  return r.ok ? 0 : 1;
}

function cmdKeygen(flags: ParsedArgs['flags'], io: Io): number {
  const dir = path.resolve(str(flags, 'out') ?? defaultKeyDir());
  let pair: EssKeyPair;
  if (!flags.force && fs.existsSync(path.join(dir, PRIVATE_KEY_FILE))) {
    pair = loadOrCreateKeyPair(dir);
    io.out(`key pair already exists in ${dir} (use --force to replace it)`);
  } else {
    pair = writeKeyPair(dir, { force: !!flags.force });
    io.out(`wrote ${pair.privatePath} and ${pair.publicPath}`);
  }
  io.out(`public key SHA-256: ${fingerprint(pair)}`);
  io.out('Paste this public key into the ESS receiver (concur-ess-event-in):');
  io.out(pair.publicPem.trimEnd());
  return 0;
}

/** Runs the CLI; resolves with the exit status. `signal` stops a running `api` (for embedding and tests). */
export async function run(argv: string[], io: Io = defaultIo, signal?: AbortSignal): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv, BOOLEANS);
    const [cmd, sub] = args.positional;
    const help = !!args.flags.help;
    switch (cmd) {
      case undefined:
      case 'help':
        io.out(HELP.main);
        return cmd === 'help' || help ? 0 : 2;
      case 'api':
        if (help) return (io.out(HELP.api), 0);
        return await cmdApi(args.flags, io, signal);
      case 'keygen':
        if (help) return (io.out(HELP.keygen), 0);
        return cmdKeygen(args.flags, io);
      case 'send':
        if (sub === 'ess') return help ? (io.out(HELP.ess), 0) : await cmdSendEss(args.flags, io);
        if (sub === 'legacy') return help ? (io.out(HELP.legacy), 0) : await cmdSendLegacy(args.flags, io);
        if (help) return (io.out(`${HELP.ess}\n\n${HELP.legacy}`), 0);
        throw new UsageError('send needs a kind: "send ess" or "send legacy"');
      default:
        throw new UsageError(`unknown command ${cmd}`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`concur-sim: ${e.message}`);
      io.err('Run "concur-sim --help" for usage.');
      return 2;
    }
    io.err(`concur-sim: ${(e as Error).message}`);
    return 1;
  }
}

if (require.main === module) {
  run(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`concur-sim: ${(e as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
