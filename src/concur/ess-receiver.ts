/**
 * Decides what to answer an ESS delivery, in the order ESS's retry rules make
 * safe (docs/concur-api.md#ess-delivery: ESS retries 5xx, 401, 403, 429 and I/O
 * errors; drops 2xx and other 4xx):
 *
 *   client certificate rejected   -> 403 (retried: a misconfigured check loses nothing)
 *   signature header missing      -> 401 by default (retried), or 400 (dropped) if configured;
 *                                    decided on the headers, before the body is read
 *   body too large                -> 413
 *   body busy / slow / unreadable -> 503 + Retry-After (retried; never 400 for what could be accepted)
 *   signature invalid             -> 401 by default (retried), or 400 (dropped) if configured
 *   verified, but not an event    -> 400 (not retried: it never will be one)
 *   timeStamp older than the dedupe window + clock skew
 *                                 -> 400 (a replay the dedupe index has forgotten; ESS stops retrying
 *                                    after 72 h anyway). No timeStamp, or one that is not a date: accepted
 *   filtered out by topic/type    -> 200, dropped and counted
 *   duplicate id within window    -> 200, not emitted again
 *   too many events pending       -> 429 (retried later)
 *   store memory limit reached    -> 503 (retried; an operator must act, or old ids must expire)
 *   store failed or unreachable   -> 503 (retried)
 *   stored durably                -> 200, then emitted
 *
 * No Node-RED imports: the node adapter turns outcomes into HTTP answers,
 * messages and status badges.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { createHash } from 'node:crypto';
import { type EssEvent, eventTime, matchesFilters, parseEssEnvelope } from './ess-envelope';
import { type SignaturePadding, type VerificationKey, decodeSignatureHeader, spkiFingerprint, verifySignatures } from './ess-signature';
import { type ClientCertInfo, type ClientCertPolicy, type TlsSocketLike, checkProxiedCert, checkTlsPeer, headerLines } from './client-cert';
import type { TrustedProxies } from './trusted-proxies';
import type { EventJournal, StoredEvent } from './event-journal';
import { FileEventStore, type AcceptResult, type EventStore } from './event-store';

export type ClientCertMode = 'off' | 'tls' | 'header';

export interface EssReceiverOptions {
  /** Where accepted events are stored (deduped, durably) before the 2xx. */
  store?: EventStore;
  /** The journal file of one Node-RED (wrapped in a FileEventStore); used when `store` is not given. */
  journal?: EventJournal;
  verifySignature: boolean;
  keys: readonly VerificationKey[];
  padding?: SignaturePadding;
  /** Status for a missing/invalid signature: 401 (ESS retries) or 400 (ESS drops). */
  signatureFailureStatus?: 401 | 400;
  /**
   * Also accept signatures made with the key of the verified client certificate.
   * TLS mode only: in header mode the certificate is public (SAP's webhook
   * certificate can be copied), so its key proves nothing about the sender.
   */
  acceptClientCertKey?: boolean;
  clientCertMode?: ClientCertMode;
  /** Header holding the proxy-forwarded certificate (lower or mixed case). */
  clientCertHeader?: string;
  clientCertPolicy?: ClientCertPolicy;
  /** Header mode: the proxies whose header is believed (the TCP peer must be one). */
  trustedProxies?: TrustedProxies;
  topicFilter?: RegExp;
  eventTypeFilter?: RegExp;
  /** Pending (stored, not yet done) events above which deliveries get 429. */
  maxPending?: number;
  /**
   * Events whose timeStamp is older than this (ms) are refused with 400: past the
   * dedupe window a signed event would otherwise be accepted again. 0 = no check.
   * The node passes its dedupe window plus a clock-skew allowance.
   */
  maxEventAgeMs?: number;
  /** Seconds suggested in Retry-After for 429/503. */
  retryAfterSec?: number;
  now?: () => number;
}

export interface Delivery {
  rawBody?: Buffer;
  /** Reading the body failed: 413 too large, or a retryable problem (busy, too slow, aborted). */
  bodyError?: { status: number; message: string; kind?: string; retryAfterSec?: number };
  headers: IncomingHttpHeaders;
  /** IncomingMessage#rawHeaders: tells repeated header lines apart (Node joins them in `headers`). */
  rawHeaders?: string[];
  /** TCP peer address (IncomingMessage#socket.remoteAddress). */
  remoteAddress?: string;
  socket?: TlsSocketLike;
}

export type RejectCategory = 'body' | 'certificate' | 'signature' | 'envelope' | 'stale' | 'overload' | 'store' | 'capacity';

export type Outcome =
  | { kind: 'accepted'; status: 200; text: string; stored: StoredEvent; event: EssEvent }
  | { kind: 'duplicate' | 'filtered'; status: 200; text: string; id: string }
  | { kind: 'rejected'; status: number; text: string; category: RejectCategory; reason: string; retryAfterSec?: number };

/** The msg.concur block (exact shape promised in the help). */
export interface ConcurMeta {
  id: string;
  correlationId: string | undefined;
  signatureVerified: boolean;
  keyId: string | undefined;
  clientCert: { subject: string; serial: string } | undefined;
  receivedAt: string;
  deliveryCount: number;
  /** True when an operator replayed this event from the dead letters (admin route or the dialog). */
  replayed?: boolean;
}

export class EssReceiver {
  private readonly o: Required<Omit<EssReceiverOptions, 'topicFilter' | 'eventTypeFilter' | 'clientCertPolicy' | 'trustedProxies' | 'store' | 'journal'>> &
    Pick<EssReceiverOptions, 'topicFilter' | 'eventTypeFilter' | 'clientCertPolicy' | 'trustedProxies'>;
  private readonly store: EventStore;
  /** Client-certificate keys parsed once per certificate, by SPKI fingerprint. */
  private readonly certKeys = new Map<string, VerificationKey>();
  /** Configured keys, the one that matched last first (ESS signs with one key at a time). */
  private keys: readonly VerificationKey[];

  constructor(opts: EssReceiverOptions) {
    this.o = {
      padding: 'any',
      signatureFailureStatus: 401,
      acceptClientCertKey: false,
      clientCertMode: 'off',
      clientCertHeader: 'x-forwarded-client-cert',
      maxPending: 10000,
      maxEventAgeMs: 0,
      retryAfterSec: 30,
      now: Date.now,
      ...opts,
    };
    if (this.o.clientCertMode !== 'off' && !this.o.clientCertPolicy) throw new Error('a client certificate policy is required');
    const store = opts.store ?? (opts.journal ? new FileEventStore(opts.journal) : undefined);
    if (!store) throw new Error('an event store is required');
    this.store = store;
    this.keys = [...this.o.keys];
  }

  /**
   * Header-only pre-check: false when the delivery will be refused whatever its
   * body (no usable Concur-Signature while verification is on), so the body need
   * not be read. With verification off there is nothing to check before the body.
   */
  shouldReadBody(headers: IncomingHttpHeaders): boolean {
    return !this.o.verifySignature || decodeSignatureHeader(headers['concur-signature']).ok;
  }

  async handle(d: Delivery): Promise<Outcome> {
    // 1. Transport authentication.
    let cert: ClientCertInfo | undefined;
    if (this.o.clientCertMode !== 'off') {
      const policy = this.o.clientCertPolicy as ClientCertPolicy;
      const name = this.o.clientCertHeader.toLowerCase();
      const check =
        this.o.clientCertMode === 'tls'
          ? checkTlsPeer(d.socket, policy)
          : checkProxiedCert({ peer: d.remoteAddress, lines: headerLines(d.rawHeaders, name, d.headers[name]) }, policy, this.o.trustedProxies);
      if (!check.ok) return reject(403, 'certificate', check.message);
      cert = check.info;
    }

    // 2a. A missing or unusable signature header is refused on the headers alone (the body may not have been read).
    let signatures: Buffer[] = [];
    if (this.o.verifySignature) {
      const h = decodeSignatureHeader(d.headers['concur-signature']);
      if (!h.ok) return reject(this.o.signatureFailureStatus, 'signature', h.message);
      signatures = h.signatures;
    }

    // Body: 413 is final; anything else (busy, too slow, aborted, missing) may succeed later, so ESS must retry it.
    if (d.bodyError) {
      if (d.bodyError.status === 413) return reject(413, 'body', d.bodyError.message);
      return reject(503, d.bodyError.kind === 'busy' ? 'overload' : 'body', d.bodyError.message, d.bodyError.retryAfterSec ?? this.o.retryAfterSec);
    }
    const raw = d.rawBody;
    if (!raw) return reject(503, 'body', 'request body was not captured', this.o.retryAfterSec);

    // 2b. Signature over the exact bytes, before any parsing.
    let keyId: string | undefined;
    if (this.o.verifySignature) {
      const keys = this.keysFor(cert);
      const sig = verifySignatures(raw, signatures, keys, this.o.padding); // the header decoded in 2a
      if (!sig.ok) return reject(this.o.signatureFailureStatus, 'signature', sig.message);
      keyId = sig.keyId;
      if (this.keys[0]?.id !== keyId) {
        const hit = this.keys.find((k) => k.id === keyId);
        if (hit) this.keys = [hit, ...this.keys.filter((k) => k !== hit)];
      }
    }

    // 3. Envelope.
    const env = parseEssEnvelope(raw);
    if (!env.ok) return reject(400, 'envelope', env.message);
    const { event, id } = env;

    // 3b. Freshness: a signed event replayed after the dedupe window would be emitted again.
    if (this.o.maxEventAgeMs > 0) {
      const t = eventTime(event);
      if (t !== undefined && this.o.now() - t > this.o.maxEventAgeMs) {
        const ageH = (this.o.now() - t) / 3600_000;
        const age = ageH < 14 * 24 ? `${ageH.toFixed(1)} h` : `${Math.round(ageH / 24)} days`;
        return reject(
          400,
          'stale',
          `event timeStamp ${String(event.timeStamp ?? event.timestamp).slice(0, 40)} is ${age} old, older than ${fmtHours(this.o.maxEventAgeMs)} ` +
            "(the dedupe window, at least ESS's 72 h retry period, plus clock-skew allowance): refused as a possible replay",
        );
      }
    }

    // 4. Filters: verified but unwanted events are acknowledged so ESS stops sending them.
    if (!matchesFilters(event, this.o.topicFilter, this.o.eventTypeFilter)) {
      return { kind: 'filtered', status: 200, text: 'ignored by filter', id };
    }

    // 5-7. Dedupe (a duplicate answers 200 even when the store is full), back-pressure, durable store; then acknowledge.
    const headerCorrelation = d.headers['concur-correlationid'];
    const correlationId = (Array.isArray(headerCorrelation) ? headerCorrelation[0] : headerCorrelation) || event.correlationId || undefined;
    let r: AcceptResult;
    try {
      r = await this.store.accept(
        {
          id,
          receivedAt: this.o.now(),
          body: env.text, // decoded once, by the envelope parser
          bodyBytes: raw, // stored as received: no re-encoding of the text
          meta: {
            correlationId,
            signatureVerified: this.o.verifySignature,
            keyId,
            clientCert: cert ? { subject: cert.subject, serial: cert.serial } : undefined,
          },
        },
        { maxPending: this.o.maxPending },
      );
    } catch (err) {
      // A memory limit of the store (JournalFullError): nothing was written; ESS retries a 503.
      if ((err as { code?: unknown }).code === 'ESTORE_FULL')
        return reject(503, 'capacity', `event store full: ${(err as Error).message}`, this.o.retryAfterSec);
      return reject(503, 'store', `event store unavailable: ${(err as Error).message}`, this.o.retryAfterSec);
    }
    if (r.kind === 'duplicate') return { kind: 'duplicate', status: 200, text: 'duplicate', id };
    if (r.kind === 'overload') {
      return reject(429, 'overload', `more than ${this.o.maxPending} events are waiting for the flow`, this.o.retryAfterSec);
    }
    return { kind: 'accepted', status: 200, text: 'accepted', stored: r.stored, event };
  }

  private keysFor(cert: ClientCertInfo | undefined): readonly VerificationKey[] {
    if (!this.o.acceptClientCertKey || this.o.clientCertMode !== 'tls' || !cert?.publicKey) return this.keys;
    const fp = spkiFingerprint(cert.publicKey);
    let k = this.certKeys.get(fp);
    if (!k) {
      const bits = cert.publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
      if (cert.publicKey.asymmetricKeyType !== 'rsa' || bits < 2048) return this.keys;
      k = { id: `client-cert:${cert.serial}`, key: cert.publicKey, sizeBytes: Math.ceil(bits / 8), fingerprint: fp };
      if (this.certKeys.size >= 16) this.certKeys.clear(); // ESS rotates yearly; a tiny cache is plenty
      this.certKeys.set(fp, k);
    }
    return [...this.keys, k];
  }
}

function fmtHours(ms: number): string {
  const h = ms / 3600_000;
  return h >= 1 ? `${Number(h.toFixed(2))} h` : `${Math.round(ms / 60_000)} min`;
}

function reject(status: number, category: RejectCategory, reason: string, retryAfterSec?: number): Outcome {
  return { kind: 'rejected', status, text: reason, category, reason, retryAfterSec };
}

/** Builds the message fields for a stored event (first emission or redelivery). */
export function eventMessage(
  stored: StoredEvent,
  parsed?: EssEvent,
): { payload: EssEvent; topic: string | undefined; eventType: string | undefined; concur: ConcurMeta } {
  const payload = parsed ?? (JSON.parse(stored.body.charCodeAt(0) === 0xfeff ? stored.body.slice(1) : stored.body) as EssEvent);
  const m = stored.meta;
  return {
    payload,
    topic: typeof payload.topic === 'string' ? payload.topic : undefined,
    eventType: typeof payload.eventType === 'string' ? payload.eventType : undefined,
    concur: {
      id: stored.id,
      correlationId: m.correlationId,
      signatureVerified: m.signatureVerified,
      keyId: m.keyId,
      clientCert: m.clientCert,
      receivedAt: new Date(stored.receivedAt).toISOString(),
      deliveryCount: stored.deliveryCount,
    },
  };
}

/** Header names whose values are never copied into messages or logs. */
const SECRET_HEADER = /authorization|cookie|token|secret|password|api-?key|session/i;
export const REJECTED_BODY_MAX = 4096;

/** The payload of a message on the "rejected" output: enough to diagnose, nothing secret. */
export function rejectedPayload(d: Delivery, outcome: Extract<Outcome, { kind: 'rejected' }>, receivedAt: number) {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(d.headers)) {
    if (v === undefined) continue;
    headers[k] = SECRET_HEADER.test(k) ? '[redacted]' : v;
  }
  const raw = d.rawBody ?? Buffer.alloc(0);
  return {
    statusCode: outcome.status,
    reason: outcome.reason,
    category: outcome.category,
    headers,
    rawBody: raw.subarray(0, REJECTED_BODY_MAX).toString('utf8'),
    rawBodyBytes: raw.length,
    rawBodyTruncated: raw.length > REJECTED_BODY_MAX,
    rawBodySha256: raw.length ? createHash('sha256').update(raw).digest('hex') : undefined,
    receivedAt: new Date(receivedAt).toISOString(),
  };
}
