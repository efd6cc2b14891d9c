/**
 * Programmatic API of the SAP Concur simulator, for the demo script and tests:
 *
 *   const sim = await startSimulator({ port: 0 });
 *   sim.url; sim.credentials; await sim.sendEss({ to, reportId }); await sim.stop();
 */
import type { KeyObject } from 'node:crypto';
import { ApiServer, type ApiServerOptions } from './api-server';
import { EventDelivery, type DeliveryOptions, type EventLogEntry } from './event-delivery';
import { eventForReportAsIs, EXPENSE_EVENT_TYPES, travelRequestEvent, type EssEnvelope, type ExpenseEventType } from './ess-events';
import { sendEss, type EssSendOptions, type EssSendResult } from './ess-sender';
import type { ClientTls } from './http-client';
import { defaultKeyDir, loadOrCreateKeyPair, loadPrivateKey, type EssKeyPair } from './keys';
import { reportFullDetailsUrl } from './expense-legacy-xml';
import { sendLegacy, testConnection, WORKFLOW_STEP_PREFIX, DEFAULT_LEGACY_STEP, type LegacySendResult } from './legacy-sender';
import type { FaultSettings } from './faults';
import type { RequestLogEntry } from './admin';
import type { SimState } from './state';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_COMPANY_REQUEST_TOKEN } from './seed-data';

export interface SimulatorOptions extends ApiServerOptions {
  /** Directory of the ESS signing key pair (default `.concur-sim/` in the cwd, or $CONCUR_SIM_DIR). */
  keyDir?: string;
  /** Use this private key (PEM, file path or KeyObject) instead of the key directory. */
  essPrivateKey?: string | KeyObject;
  /** Deliver statusChanged events to ESS subscriptions (default true). */
  deliverEvents?: boolean;
  delivery?: DeliveryOptions;
}

/** sendEss's delivery options, with the event and key supplied by the simulator. */
export interface SimEssOptions
  extends Pick<EssSendOptions, 'to' | 'padding' | 'tls' | 'retentionMs' | 'initialDelayMs' | 'maxDelayMs' | 'maxAttempts' | 'timeoutMs' | 'log' | 'signal'> {
  /** A full envelope (object, or exact bytes as string/Buffer); default: an event built from `reportId`. */
  event?: unknown;
  eventType?: ExpenseEventType;
  reportId?: string;
}

export interface SimLegacyOptions {
  to: string;
  user: string;
  password: string;
  reportId?: string;
  reportKey?: string;
  step?: string;
  eventType?: string;
  /** Base for ObjectURI (default the simulator URL; e.g. https://www.concursolutions.com to test host rewriting). */
  objectUriBase?: string;
  /** Record a failed delivery in the Notification v1.0 failed list (default true), as Concur does. */
  recordFailure?: boolean;
  timeoutMs?: number;
  tls?: ClientTls;
  log?: (line: string) => void;
}

export interface Simulator {
  url: string;
  port: number;
  state: SimState;
  api: ApiServer;
  credentials: {
    clientId: string;
    clientSecret: string;
    companyId: string;
    companyRequestToken: string;
    users: Array<{ userId: string; loginId: string; password: string }>;
  };
  /** The ESS signing key pair (loaded or generated on first use). */
  essKeys(): EssKeyPair;
  buildEssEvent(reportId?: string, eventType?: ExpenseEventType): EssEnvelope;
  /** A public.concur.request event for a Travel Request in its current state. */
  buildRequestEvent(requestUuid: string): EssEnvelope;
  sendEss(o: SimEssOptions): Promise<EssSendResult>;
  sendLegacy(o: SimLegacyOptions): Promise<LegacySendResult>;
  testConnection(o: { to: string; user: string; password: string }): Promise<LegacySendResult>;
  setFaults(patch: Partial<FaultSettings>): FaultSettings;
  resetFaults(): void;
  expireTokens(opts?: { refresh?: boolean }): number;
  /** Every access and refresh token issued (tests only: needs recordIssuedTokens: true, else throws). */
  issuedTokens(): string[];
  /** Request log entries of the token endpoint (grant facts, status, OAuth2 error; no secrets). */
  tokenRequests(): RequestLogEntry[];
  requests: ApiServer['requestLog'];
  events: EventLogEntry[];
  /** Resolves when background ESS deliveries have finished. */
  deliveriesIdle(): Promise<void>;
  stop(): Promise<void>;
}

export const DEFAULT_REPORT_ID = 'CB899F7D9F73420A8D8B';

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const api = new ApiServer(opts);
  let keys: EssKeyPair | undefined;
  const essKeys = (): EssKeyPair => {
    if (!keys) {
      const k = opts.essPrivateKey;
      if (k && typeof k === 'object' && 'asymmetricKeyType' in k) keys = loadPrivateKey((k as KeyObject).export({ type: 'pkcs8', format: 'pem' }) as string);
      else if (k) keys = loadPrivateKey(k as string);
      else keys = loadOrCreateKeyPair(opts.keyDir ?? defaultKeyDir());
    }
    return keys;
  };
  await api.listen();
  const delivery = new EventDelivery(
    api.state,
    () => api.url,
    essKeys,
    api.eventLog as unknown as EventLogEntry[],
    opts.delivery,
    opts.log,
    opts.deliverEvents !== false,
  );

  const buildEssEvent = (reportId = DEFAULT_REPORT_ID, eventType: ExpenseEventType = 'statusChanged'): EssEnvelope => {
    if (!EXPENSE_EVENT_TYPES.includes(eventType)) throw new Error(`eventType must be one of ${EXPENSE_EVENT_TYPES.join(', ')}`);
    const report = api.state.reportById(reportId);
    if (!report) throw new Error(`report ${reportId} is not in the simulator (known: ${[...api.state.reports.keys()].join(', ')})`);
    return eventForReportAsIs(api.state, report, eventType, api.url);
  };

  return {
    get url() {
      return api.url;
    },
    get port() {
      return api.port;
    },
    state: api.state,
    api,
    credentials: {
      clientId: opts.clientId ?? DEFAULT_CLIENT_ID,
      clientSecret: opts.clientSecret ?? DEFAULT_CLIENT_SECRET,
      companyId: api.state.companyId,
      companyRequestToken: opts.companyRequestToken ?? DEFAULT_COMPANY_REQUEST_TOKEN,
      users: api.state.users.map((u) => ({ userId: u.userId, loginId: u.loginId, password: u.password })),
    },
    essKeys,
    buildEssEvent,
    buildRequestEvent: (requestUuid: string) => {
      const t = api.state.travelRequests.get(requestUuid);
      if (!t) throw new Error(`travel request ${requestUuid} is not in the simulator (known: ${[...api.state.travelRequests.keys()].join(', ')})`);
      return travelRequestEvent(t, api.state.companyId, api.url);
    },
    sendEss: (o) =>
      sendEss({
        to: o.to,
        event: o.event ?? buildEssEvent(o.reportId, o.eventType),
        privateKey: essKeys().privateKey,
        padding: o.padding,
        tls: o.tls,
        retentionMs: o.retentionMs,
        initialDelayMs: o.initialDelayMs,
        maxDelayMs: o.maxDelayMs,
        maxAttempts: o.maxAttempts,
        timeoutMs: o.timeoutMs,
        log: o.log,
        signal: o.signal,
      }),
    sendLegacy: async (o) => {
      const report = o.reportKey ? api.state.reportByKey(o.reportKey) : api.state.reportById(o.reportId ?? DEFAULT_REPORT_ID);
      const reportKey = o.reportKey ?? report?.reportKey;
      if (!reportKey) throw new Error(`report ${o.reportId} is not in the simulator`);
      const step = o.step ?? DEFAULT_LEGACY_STEP;
      const eventType = o.eventType ?? `${WORKFLOW_STEP_PREFIX}${step}`;
      const result = await sendLegacy({
        to: o.to,
        user: o.user,
        password: o.password,
        eventType,
        objectUri: reportFullDetailsUrl(o.objectUriBase ?? api.url, reportKey),
        timeoutMs: o.timeoutMs,
        tls: o.tls,
        log: o.log,
      });
      if (!result.ok && o.recordFailure !== false) {
        api.state.addFailedNotification({ eventType, objectType: 'EXPRPT', reportKey, eventDateTime: new Date().toISOString().slice(0, 19), context: null });
      }
      return result;
    },
    testConnection: (o) => testConnection(o),
    setFaults: (patch) => api.faults.update(patch as Record<string, unknown>),
    resetFaults: () => api.faults.reset(),
    expireTokens: (o = {}) => api.tokens.expireAll(o),
    issuedTokens: () => api.tokens.issuedTokenList(),
    tokenRequests: () => api.requestLog.filter((e) => e.grantType !== undefined || /^\/oauth2\/v0\/token\/?$/i.test(e.path)),
    requests: api.requestLog,
    events: api.eventLog as unknown as EventLogEntry[],
    deliveriesIdle: async () => {
      await delivery.idle();
    },
    stop: async () => {
      await delivery.stop();
      await api.close();
    },
  };
}

export { ApiServer } from './api-server';
export { SimState } from './state';
export { sendEss, signBody, isRetryableStatus, backoffDelay } from './ess-sender';
export { sendLegacy, testConnection, legacyNotificationXml, basicAuth } from './legacy-sender';
export { expenseReportEvent, eventForReportAsIs, EXPENSE_TOPIC } from './ess-events';
export { loadOrCreateKeyPair, writeKeyPair, loadPrivateKey, defaultKeyDir } from './keys';
export { FaultController, DEFAULT_FAULTS, validateFaults } from './faults';
export { tokenFingerprint } from './oauth';
export * from './seed-data';
