/**
 * Decides what to answer an ESS delivery, in the order ESS's retry rules make
 * safe (docs/concur-api.md#ess-delivery: ESS retries 5xx, 401, 403, 429 and I/O
 * errors; drops 2xx and other 4xx):
 *
 *   body unreadable / too large   -> 400 / 413
 *   client certificate rejected   -> 403 (retried: a misconfigured check loses nothing)
 *   signature missing or invalid  -> 401 by default (retried), or 400 (dropped) if configured
 *   verified, but not an event    -> 400 (not retried: it never will be one)
 *   filtered out by topic/type    -> 200, dropped and counted
 *   duplicate id within window    -> 200, not emitted again
 *   too many events pending       -> 429 (retried later)
 *   store failed                  -> 503 (retried)
 *   stored durably                -> 200, then emitted
 *
 * No Node-RED imports: the node adapter turns outcomes into HTTP answers,
 * messages and status badges.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { createHash } from 'node:crypto';
import { type EssEvent, matchesFilters, parseEssEnvelope } from './ess-envelope';
import { type SignaturePadding, type VerificationKey, spkiFingerprint, verifyEssSignature } from './ess-signature';
import { type ClientCertInfo, type ClientCertPolicy, type TlsSocketLike, checkHeaderCert, checkTlsPeer } from './client-cert';
import type { EventJournal, StoredEvent } from './event-journal';

export type ClientCertMode = 'off' | 'tls' | 'header';

export interface EssReceiverOptions {
  journal: EventJournal;
  verifySignature: boolean;
  keys: readonly VerificationKey[];
  padding?: SignaturePadding;
  /** Status for a missing/invalid signature: 401 (ESS retries) or 400 (ESS drops). */
  signatureFailureStatus?: 401 | 400;
  /** Also accept signatures made with the key of the verified client certificate. */
  acceptClientCertKey?: boolean;
  clientCertMode?: ClientCertMode;
  /** Header holding the proxy-forwarded certificate (lower or mixed case). */
  clientCertHeader?: string;
  clientCertPolicy?: ClientCertPolicy;
  topicFilter?: RegExp;
  eventTypeFilter?: RegExp;
  /** Pending (stored, not yet done) events above which deliveries get 429. */
  maxPending?: number;
  /** Seconds suggested in Retry-After for 429/503. */
  retryAfterSec?: number;
  now?: () => number;
}

export interface Delivery {
  rawBody?: Buffer;
  bodyError?: { status: number; message: string };
  headers: IncomingHttpHeaders;
  socket?: TlsSocketLike;
}

export type RejectCategory = 'body' | 'certificate' | 'signature' | 'envelope' | 'overload' | 'store';

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
}

export class EssReceiver {
  private readonly o: Required<Omit<EssReceiverOptions, 'topicFilter' | 'eventTypeFilter' | 'clientCertPolicy'>> &
    Pick<EssReceiverOptions, 'topicFilter' | 'eventTypeFilter' | 'clientCertPolicy'>;
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
      retryAfterSec: 30,
      now: Date.now,
      ...opts,
    };
    if (this.o.clientCertMode !== 'off' && !this.o.clientCertPolicy) throw new Error('a client certificate policy is required');
    this.keys = [...this.o.keys];
  }

  async handle(d: Delivery): Promise<Outcome> {
    if (d.bodyError) return reject(d.bodyError.status === 413 ? 413 : 400, 'body', d.bodyError.message);
    const raw = d.rawBody;
    if (!raw) return reject(400, 'body', 'request body could not be read');

    // 1. Transport authentication.
    let cert: ClientCertInfo | undefined;
    if (this.o.clientCertMode !== 'off') {
      const policy = this.o.clientCertPolicy as ClientCertPolicy;
      const check =
        this.o.clientCertMode === 'tls' ? checkTlsPeer(d.socket, policy) : checkHeaderCert(d.headers[this.o.clientCertHeader.toLowerCase()], policy);
      if (!check.ok) return reject(403, 'certificate', check.message);
      cert = check.info;
    }

    // 2. Signature over the exact bytes, before any parsing.
    let keyId: string | undefined;
    if (this.o.verifySignature) {
      const keys = this.keysFor(cert);
      const sig = verifyEssSignature(raw, d.headers['concur-signature'], keys, this.o.padding);
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

    // 4. Filters: verified but unwanted events are acknowledged so ESS stops sending them.
    if (!matchesFilters(event, this.o.topicFilter, this.o.eventTypeFilter)) {
      return { kind: 'filtered', status: 200, text: 'ignored by filter', id };
    }

    // 5. Dedupe (also against a concurrent delivery of the same id still being stored).
    const j = this.o.journal;
    if (j.lookup(id)) return { kind: 'duplicate', status: 200, text: 'duplicate', id };
    const inFlight = j.storing(id);
    if (inFlight) {
      try {
        await inFlight;
        return { kind: 'duplicate', status: 200, text: 'duplicate', id };
      } catch (err) {
        return reject(503, 'store', `event store unavailable: ${(err as Error).message}`, this.o.retryAfterSec);
      }
    }

    // 6. Back-pressure before taking on more work.
    if (j.pendingCount() >= this.o.maxPending) {
      return reject(429, 'overload', `more than ${this.o.maxPending} events are waiting for the flow`, this.o.retryAfterSec);
    }

    // 7. Durable store, then acknowledge.
    const headerCorrelation = d.headers['concur-correlationid'];
    const correlationId = (Array.isArray(headerCorrelation) ? headerCorrelation[0] : headerCorrelation) || event.correlationId || undefined;
    try {
      const stored = await j.accept({
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
      });
      return { kind: 'accepted', status: 200, text: 'accepted', stored, event };
    } catch (err) {
      // A concurrent delivery of the same id won the race: that one is stored or failing; answer accordingly.
      const other = j.storing(id);
      if (other) {
        try {
          await other;
          return { kind: 'duplicate', status: 200, text: 'duplicate', id };
        } catch {
          /* fall through to 503 */
        }
      } else if (j.lookup(id)) return { kind: 'duplicate', status: 200, text: 'duplicate', id };
      return reject(503, 'store', `event store unavailable: ${(err as Error).message}`, this.o.retryAfterSec);
    }
  }

  private keysFor(cert: ClientCertInfo | undefined): readonly VerificationKey[] {
    if (!this.o.acceptClientCertKey || !cert?.publicKey) return this.keys;
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
