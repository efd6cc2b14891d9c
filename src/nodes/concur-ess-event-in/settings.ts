/**
 * concur-ess-event-in: the node's settings from its properties (pure: no
 * Node-RED API). A configuration error is returned, not thrown, so the adapter
 * can show it (red status) and answer 503 while the route still exists.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { parseCertificates, parseList, type ClientCertPolicy } from '../../concur/client-cert';
import { compileFilter } from '../../concur/ess-envelope';
import { CONCUR_PUBLISHED_KEYS, CONCUR_WEBHOOK_CN } from '../../concur/ess-keys';
import type { ClientCertMode, EssReceiverOptions } from '../../concur/ess-receiver';
import { type KeySource, loadVerificationKeys, type SignaturePadding } from '../../concur/ess-signature';
import { parseTrustedProxies } from '../../concur/trusted-proxies';
import { numberOption } from '../shared/options';
import type { NodeDef } from '../shared/red-types';

export const TYPE = 'concur-ess-event-in';
export const DEFAULT_PATH = '/concur/ess';
/** Allowance for the sender's and our clock disagreeing, on top of the dedupe window. */
export const CLOCK_SKEW_MS = 10 * 60_000;
/**
 * ESS retries a delivery for 72 hours (docs/concur-api.md): an event younger than
 * that may be a first delivery that failed until now, so it is never refused as
 * stale (400 is dropped by ESS), even when the dedupe window is shorter.
 */
export const ESS_RETRY_MS = 72 * 3600_000;
const MiB = 1024 * 1024;

export interface EssInDef extends NodeDef {
  path?: string;
  maxBodyKiB?: number | string;
  verifySignature?: boolean;
  signaturePadding?: SignaturePadding;
  signatureFailureStatus?: number | string;
  extraKeys?: string;
  acceptClientCertKey?: boolean;
  clientCertMode?: ClientCertMode;
  clientCertHeader?: string;
  allowedCNs?: string;
  allowedSerials?: string;
  headerCertIssuers?: string;
  trustedProxies?: string;
  topicFilter?: string;
  eventTypeFilter?: string;
  dedupeHours?: number | string;
  durability?: 'fsync' | 'write';
  storeName?: string;
  /** id of a concur-store config node (PostgreSQL); empty = the journal file. */
  store?: string;
  deadLetterMax?: number | string;
  dedupeMemoryMiB?: number | string;
  pendingMemoryMiB?: number | string;
  deadLetterMemoryMiB?: number | string;
  completionTimeout?: number | string;
  maxPending?: number | string;
  rejectOutput?: boolean;
  rejectStale?: boolean;
  [key: string]: unknown;
}

/** What the receiver needs besides its store (set once the store is open). */
export type ReceiverConfig = Omit<EssReceiverOptions, 'store' | 'journal'>;

export interface EssSettings {
  routePath: string;
  verifySignature: boolean;
  emitRejected: boolean;
  completionTimeoutMs: number;
  dedupeWindowMs: number;
  /** Ids are kept for the clock-skew allowance too, so no replay falls between forgetting an id and refusing it as stale. */
  keepIdsMs: number;
  maxBodyBytes: number;
  deadLetterMax: number;
  /** Undefined when the configuration is wrong (see configError). */
  receiver?: ReceiverConfig;
  configError?: string;
}

export function essSettings(def: EssInDef): EssSettings {
  const verifySignature = def.verifySignature !== false;
  let routePath = String(def.path ?? '').trim() || DEFAULT_PATH;
  if (!routePath.startsWith('/')) routePath = `/${routePath}`;
  const dedupeWindowMs = numberOption(TYPE, 'dedupeHours', def.dedupeHours) * 3600_000;
  const out: EssSettings = {
    routePath,
    verifySignature,
    emitRejected: def.rejectOutput === true,
    completionTimeoutMs: numberOption(TYPE, 'completionTimeout', def.completionTimeout) * 1000,
    dedupeWindowMs,
    keepIdsMs: dedupeWindowMs + CLOCK_SKEW_MS,
    maxBodyBytes: Math.round(numberOption(TYPE, 'maxBodyKiB', def.maxBodyKiB) * 1024),
    deadLetterMax: Math.round(numberOption(TYPE, 'deadLetterMax', def.deadLetterMax)),
  };
  try {
    out.receiver = receiverConfig(def, verifySignature, dedupeWindowMs);
  } catch (err) {
    out.configError = (err as Error).message;
  }
  return out;
}

/** Keys, client-certificate policy, filters and limits; throws with a readable message. */
function receiverConfig(def: EssInDef, verifySignature: boolean, dedupeWindowMs: number): ReceiverConfig {
  const sources: KeySource[] = [];
  for (const k of CONCUR_PUBLISHED_KEYS) {
    const on = def[k.property];
    if (on === true || (on === undefined && k.enabledByDefault)) sources.push({ id: k.id, text: k.pem });
  }
  const extra = String(def.extraKeys ?? '');
  if (extra.trim()) sources.push({ id: 'user', text: extra });
  const { keys, errors } = loadVerificationKeys(sources);
  if (errors.length) throw new Error(errors.map((e) => e.message).join('; '));
  const acceptClientCertKey = def.acceptClientCertKey === true;
  const mode: ClientCertMode = def.clientCertMode === 'tls' || def.clientCertMode === 'header' ? def.clientCertMode : 'off';
  // The certificate's own key only counts where the certificate is proven (TLS): a header certificate is public.
  if (verifySignature && keys.length === 0 && !(acceptClientCertKey && mode === 'tls')) {
    throw new Error(
      acceptClientCertKey && mode === 'header'
        ? "signature verification is on but no key is enabled (the client certificate's key is not used in header mode)"
        : 'signature verification is on but no key is enabled',
    );
  }
  const trustedProxies = mode === 'header' ? parseTrustedProxies(def.trustedProxies) : undefined;
  if (trustedProxies && trustedProxies.entries.length === 0) {
    throw new Error('client certificate header mode needs the addresses of the trusted proxies');
  }
  const policy: ClientCertPolicy = {
    allowedCNs: def.allowedCNs === undefined ? [CONCUR_WEBHOOK_CN] : parseList(def.allowedCNs),
    allowedSerials: parseList(def.allowedSerials),
    trustedIssuers: mode === 'header' ? parseCertificates(def.headerCertIssuers, 'trusted issuers') : undefined,
  };
  const header =
    String(def.clientCertHeader ?? '')
      .trim()
      .toLowerCase() || 'x-forwarded-client-cert';
  if (mode === 'header' && !/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(header)) throw new Error(`"${header}" is not a valid header name`);
  return {
    verifySignature,
    keys,
    padding: def.signaturePadding === 'pss' || def.signaturePadding === 'pkcs1' ? def.signaturePadding : 'any',
    signatureFailureStatus: Number(def.signatureFailureStatus) === 400 ? 400 : 401,
    acceptClientCertKey,
    clientCertMode: mode,
    clientCertHeader: header,
    clientCertPolicy: policy,
    trustedProxies,
    topicFilter: compileFilter(def.topicFilter, 'topic'),
    eventTypeFilter: compileFilter(def.eventTypeFilter, 'event type'),
    maxPending: Math.round(numberOption(TYPE, 'maxPending', def.maxPending)),
    // Older events than the dedupe window (+ clock skew) would be emitted again: refused (400),
    // but never one ESS may still be retrying for the first time (see ESS_RETRY_MS).
    maxEventAgeMs: def.rejectStale === false ? 0 : Math.max(dedupeWindowMs, ESS_RETRY_MS) + CLOCK_SKEW_MS,
  };
}

/** The journal file of the file store: <userDir>/concur-ess/<store name or node id>.journal. */
export function storeFile(userDir: string | undefined, nodeId: string, def: EssInDef): string {
  const base = userDir || path.join(os.homedir(), '.node-red');
  const name =
    String(def.storeName ?? '')
      .trim()
      .replace(/[^A-Za-z0-9._-]/g, '_') || nodeId.replace(/[^A-Za-z0-9._-]/g, '_');
  return path.join(base, 'concur-ess', `${name}.journal`);
}

/** The file store's memory limits (bytes). */
export function fileStoreLimits(def: EssInDef): { dedupeMemoryBytes: number; pendingMaxBytes: number; deadLetterMaxBytes: number } {
  return {
    dedupeMemoryBytes: Math.round(numberOption(TYPE, 'dedupeMemoryMiB', def.dedupeMemoryMiB) * MiB),
    pendingMaxBytes: Math.round(numberOption(TYPE, 'pendingMemoryMiB', def.pendingMemoryMiB) * MiB),
    deadLetterMaxBytes: Math.round(numberOption(TYPE, 'deadLetterMemoryMiB', def.deadLetterMemoryMiB) * MiB),
  };
}
