/**
 * Client-certificate checks for ESS deliveries (docs/concur-api.md#ess-delivery):
 * ESS always connects with mutual TLS presenting a certificate whose subject CN
 * is `webhook.api.concursolutions.com`, and SAP recommends authenticating on the
 * CN (serials change with every yearly renewal).
 *
 * Two sources: the TLS socket, when Node-RED itself terminates TLS with
 * `requestCert`; or a header set by a reverse proxy that terminated TLS. Proxies
 * disagree on the header format, so the parser accepts every common one:
 * Envoy/Istio `X-Forwarded-Client-Cert` (XFCC: `Hash=…;Cert="<url-encoded PEM>";…`),
 * URL-encoded PEM (nginx `$ssl_client_escaped_cert`, AWS ALB), PEM with its line
 * breaks folded into spaces or tabs (nginx `$ssl_client_cert`), and bare base64
 * DER (Azure `X-ARR-ClientCert`, Traefik).
 */
import { X509Certificate, type KeyObject } from 'node:crypto';

export interface ClientCertInfo {
  /** Subject as "CN=…, O=…, …" (no secrets: certificates are public). */
  subject: string;
  /** Every CN in the subject (a subject may carry several). */
  cn: string[];
  /** Serial number, upper-case hex without separators or leading zeros. */
  serial: string;
  validFrom?: Date;
  validTo?: Date;
  publicKey?: KeyObject;
  /** SHA-256 fingerprint (colon-separated hex, as Node prints it). */
  fingerprint256?: string;
}

export interface ClientCertPolicy {
  /** Accepted subject CNs (case-insensitive, exact). Empty = any CN. */
  allowedCNs: readonly string[];
  /** Accepted serial numbers (any format: colons, case, leading zeros ignored). Empty = any serial. */
  allowedSerials: readonly string[];
  /** For header certificates only: if set, the certificate must be issued and signed by one of these. */
  trustedIssuers?: readonly X509Certificate[];
}

export type CertCheck = { ok: true; info: ClientCertInfo } | { ok: false; message: string; info?: ClientCertInfo };

/** Splits a user-entered list on commas, semicolons and line breaks. */
export function parseList(text: string | undefined): string[] {
  return (text ?? '')
    .split(/[\n\r,;]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export function normalizeSerial(serial: string): string {
  const s = serial
    .replace(/[\s:]/g, '')
    .toUpperCase()
    .replace(/^0+(?=.)/, '');
  return s;
}

function subjectPairs(subject: string): Array<[string, string]> {
  // X509Certificate.subject is one "KEY=value" per line.
  return subject
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const i = l.indexOf('=');
      return [l.slice(0, i), l.slice(i + 1)] as [string, string];
    });
}

export function infoFromX509(cert: X509Certificate): ClientCertInfo {
  const pairs = subjectPairs(cert.subject);
  return {
    subject: pairs
      .slice()
      .reverse()
      .map(([k, v]) => `${k}=${v}`)
      .join(', '),
    cn: pairs.filter(([k]) => k === 'CN').map(([, v]) => v),
    serial: normalizeSerial(cert.serialNumber),
    validFrom: new Date(cert.validFrom),
    validTo: new Date(cert.validTo),
    publicKey: cert.publicKey,
    fingerprint256: cert.fingerprint256,
  };
}

/** The shape of tls.TLSSocket#getPeerCertificate() that we read. */
export interface PeerCertificateLike {
  subject?: Record<string, string | string[]>;
  serialNumber?: string;
  raw?: Buffer;
  valid_from?: string;
  valid_to?: string;
  fingerprint256?: string;
}

export function infoFromPeerCertificate(pc: PeerCertificateLike | undefined | null): ClientCertInfo | undefined {
  // An empty object means "no certificate presented".
  if (!pc || (!pc.raw && !pc.subject && !pc.serialNumber)) return undefined;
  if (pc.raw && pc.raw.length > 0) {
    try {
      return infoFromX509(new X509Certificate(pc.raw));
    } catch {
      /* fall back to the decoded fields */
    }
  }
  const subj = pc.subject ?? {};
  const order = ['CN', 'OU', 'O', 'L', 'ST', 'C'];
  const keys = [...order.filter((k) => k in subj), ...Object.keys(subj).filter((k) => !order.includes(k))];
  const flat = (v: string | string[]) => (Array.isArray(v) ? v : [v]);
  return {
    subject: keys.flatMap((k) => flat(subj[k]).map((v) => `${k}=${v}`)).join(', '),
    cn: subj.CN === undefined ? [] : flat(subj.CN),
    serial: normalizeSerial(pc.serialNumber ?? ''),
    validFrom: pc.valid_from ? new Date(pc.valid_from) : undefined,
    validTo: pc.valid_to ? new Date(pc.valid_to) : undefined,
    fingerprint256: pc.fingerprint256,
  };
}

/** Splits on `sep` outside double quotes (XFCC values such as Subject="CN=a,O=b" contain commas). */
function splitOutsideQuotes(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && quoted && i + 1 < s.length) {
      cur += c + s[++i];
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === sep && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function unquote(v: string): string {
  const t = v.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).replace(/\\(.)/g, '$1') : t;
}

/**
 * Returns the leaf certificate text from an XFCC value, or undefined if it is not XFCC.
 * Only the LAST element counts: in Envoy's APPEND_FORWARD mode every proxy appends
 * the certificate of its own client, so earlier elements may come from the caller
 * itself (https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_conn_man/headers#x-forwarded-client-cert).
 */
function fromXfcc(value: string): string | undefined {
  if (!/(?:^|[;,])\s*(?:cert|chain)\s*=/i.test(value)) return undefined;
  const elements = splitOutsideQuotes(value, ',');
  const fields = new Map<string, string>();
  for (const pair of splitOutsideQuotes(elements[elements.length - 1], ';')) {
    const i = pair.indexOf('=');
    if (i > 0) fields.set(pair.slice(0, i).trim().toLowerCase(), unquote(pair.slice(i + 1)));
  }
  // Chain="…" holds the leaf first (Envoy's forward_client_cert_details chain option).
  return fields.get('cert') ?? fields.get('chain') ?? '';
}

function safeDecodeUri(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const MAX_HEADER_CHARS = 32768;

/** Parses a client certificate forwarded in a header by a TLS-terminating proxy. */
export function parseCertificateHeader(value: string | string[] | undefined): { ok: true; cert: X509Certificate } | { ok: false; message: string } {
  // Two header lines: which one did the proxy set? Refuse rather than guess.
  if (Array.isArray(value) && value.length > 1) return { ok: false, message: 'client certificate header is repeated' };
  let v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return { ok: false, message: 'no client certificate header' };
  if (v.length > MAX_HEADER_CHARS) return { ok: false, message: 'client certificate header is too long' };
  v = fromXfcc(v) ?? v;
  if (!v) return { ok: false, message: 'the last X-Forwarded-Client-Cert element has no Cert' };
  if (/%[0-9A-Fa-f]{2}/.test(v)) v = safeDecodeUri(v);
  try {
    const pem = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(v);
    if (pem) {
      // Rebuild the PEM: proxies fold its line breaks into spaces or tabs.
      const b64 = pem[1].replace(/\s+/g, '');
      return { ok: true, cert: new X509Certificate(Buffer.from(b64, 'base64')) };
    }
    const first = v.split(',')[0].replace(/\s+/g, '');
    if (/^[A-Za-z0-9+/]+={0,2}$/.test(first)) return { ok: true, cert: new X509Certificate(Buffer.from(first, 'base64')) };
    if (/^[A-Za-z0-9_-]+={0,2}$/.test(first)) return { ok: true, cert: new X509Certificate(Buffer.from(first, 'base64url')) };
    return { ok: false, message: 'client certificate header is not PEM, URL-encoded PEM, XFCC or base64 DER' };
  } catch (err) {
    return { ok: false, message: `client certificate header does not hold a certificate (${(err as Error).message})` };
  }
}

/** Applies the CN and serial allow-lists (and, if given, the validity period). */
export function checkCertPolicy(info: ClientCertInfo, policy: ClientCertPolicy, now: Date = new Date()): CertCheck {
  if (policy.allowedCNs.length > 0) {
    const allowed = new Set(policy.allowedCNs.map((c) => c.toLowerCase()));
    if (!info.cn.some((c) => allowed.has(c.toLowerCase()))) {
      return { ok: false, message: `client certificate CN ${info.cn.length ? `"${info.cn.join('", "')}"` : '(none)'} is not allowed`, info };
    }
  }
  if (policy.allowedSerials.length > 0) {
    const allowed = new Set(policy.allowedSerials.map(normalizeSerial));
    if (!allowed.has(info.serial)) return { ok: false, message: `client certificate serial ${info.serial} is not allowed`, info };
  }
  if (info.validFrom && now < info.validFrom) return { ok: false, message: 'client certificate is not yet valid', info };
  if (info.validTo && now > info.validTo) return { ok: false, message: 'client certificate has expired', info };
  return { ok: true, info };
}

/** The TLS socket fields we read (tls.TLSSocket). */
export interface TlsSocketLike {
  encrypted?: boolean;
  authorized?: boolean;
  authorizationError?: Error | string | null;
  getPeerCertificate?: (detailed?: boolean) => PeerCertificateLike;
}

/**
 * Checks the certificate the peer presented on this TLS connection. Requires the
 * chain to have been verified by Node (`socket.authorized`) against the `ca`
 * configured in Node-RED's https settings, then applies the policy.
 */
export function checkTlsPeer(socket: TlsSocketLike | undefined, policy: ClientCertPolicy, now?: Date): CertCheck {
  if (!socket || !socket.encrypted || typeof socket.getPeerCertificate !== 'function') {
    return { ok: false, message: 'connection is not TLS; Node-RED must terminate TLS with requestCert to check client certificates' };
  }
  const info = infoFromPeerCertificate(socket.getPeerCertificate(false));
  if (!info) return { ok: false, message: 'no client certificate presented' };
  if (!socket.authorized) {
    const why = socket.authorizationError ? String((socket.authorizationError as Error).message ?? socket.authorizationError) : 'not verified';
    return { ok: false, message: `client certificate not trusted (${why})`, info };
  }
  return checkCertPolicy(info, policy, now);
}

/** A request in header mode: who sent it, and the certificate header as received. */
export interface ForwardedCert {
  /** TCP peer address of the request (the proxy, when it came through one). */
  peer: string | undefined;
  /** The header's values, one per header line (from IncomingMessage#rawHeaders). */
  lines: readonly string[];
}

/** Collects every line of one header from Node's rawHeaders (name matched case-insensitively). */
export function headerLines(rawHeaders: readonly string[] | undefined, name: string, fallback?: string | string[]): string[] {
  if (!rawHeaders) return fallback === undefined ? [] : Array.isArray(fallback) ? fallback : [fallback];
  const want = name.toLowerCase();
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) if (rawHeaders[i].toLowerCase() === want) out.push(rawHeaders[i + 1]);
  return out;
}

/**
 * Header mode: the certificate header is believed only when the TCP peer is a
 * trusted proxy (anyone else can write any header), and only when it came as one
 * header line (Node joins repeated lines with ", ", which would let a caller's own
 * line ride along with the proxy's).
 */
export function checkProxiedCert(
  fwd: ForwardedCert,
  policy: ClientCertPolicy,
  proxies: { has(address: string | undefined): boolean; entries: readonly string[] } | undefined,
  now?: Date,
): CertCheck {
  if (!proxies || proxies.entries.length === 0) return { ok: false, message: 'header mode has no trusted proxy configured' };
  if (!proxies.has(fwd.peer)) return { ok: false, message: `request did not come through a trusted proxy (peer ${fwd.peer ?? 'unknown'})` };
  if (fwd.lines.length > 1) return { ok: false, message: 'client certificate header is repeated' };
  return checkHeaderCert(fwd.lines[0], policy, now);
}

/** Checks a certificate forwarded in a header (after checkProxiedCert established who set it). */
export function checkHeaderCert(value: string | string[] | undefined, policy: ClientCertPolicy, now?: Date): CertCheck {
  const parsed = parseCertificateHeader(value);
  if (!parsed.ok) return { ok: false, message: parsed.message };
  const info = infoFromX509(parsed.cert);
  if (policy.trustedIssuers && policy.trustedIssuers.length > 0) {
    const issued = policy.trustedIssuers.some((ca) => {
      try {
        return parsed.cert.checkIssued(ca) && parsed.cert.verify(ca.publicKey);
      } catch {
        return false;
      }
    });
    if (!issued) return { ok: false, message: 'client certificate is not issued by a trusted issuer', info };
  }
  return checkCertPolicy(info, policy, now);
}

/** Parses PEM certificates (e.g. the issuers trusted for header certificates); throws with a clear message. */
export function parseCertificates(text: string | undefined, what: string): X509Certificate[] {
  const blocks = (text ?? '').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if ((text ?? '').trim() && blocks.length === 0) throw new Error(`${what}: no PEM certificate found`);
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (err) {
      throw new Error(`${what}: certificate #${i + 1} does not parse (${(err as Error).message})`);
    }
  });
}
