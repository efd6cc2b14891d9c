/**
 * Describes pasted PEM keys and certificates for the editor, so an admin sees
 * what each block is (an RSA public key of n bits, a certificate for CN x,
 * valid until y) and its SHA-256 SPKI fingerprint (as the ESS receiver
 * identifies keys), instead of a wall of base64. Nothing secret is returned:
 * a private key is reported as refused, never echoed.
 */
import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import { MIN_RSA_BITS, spkiFingerprint } from './ess-signature';

/** Largest paste the editor may send (a handful of certificates is a few KiB). */
export const MAX_KEY_TEXT_CHARS = 256 * 1024;
/** Blocks described per request; a paste with more is cut, and says so. */
export const MAX_BLOCKS = 50;

export type KeyBlockKind = 'public-key' | 'certificate' | 'base64-spki';

export interface KeyBlockInfo {
  /** 1-based position of the block in the paste. */
  index: number;
  kind: KeyBlockKind;
  /** 'rsa', 'ec', … as Node names it. */
  algorithm: string;
  bits?: number;
  /** Named curve of an EC key (e.g. prime256v1). */
  curve?: string;
  /** SHA-256 of the DER SubjectPublicKeyInfo, hex, colon-free. */
  fingerprint: string;
  /** True when the ESS receiver can verify signatures with it (RSA of at least MIN_RSA_BITS). */
  usableForEss: boolean;
  /** Why not, when usableForEss is false. */
  problem?: string;
  certificate?: { subject: string; issuer: string; commonName?: string; serial: string; validFrom: string; validTo: string; expired: boolean };
}

export interface KeyBlockError {
  index: number;
  /** 'private-key' | 'unsupported' | 'invalid' | 'not-pem' */
  code: string;
  message: string;
}

export interface KeyTextInfo {
  keys: KeyBlockInfo[];
  errors: KeyBlockError[];
  /** True when the paste held more than MAX_BLOCKS blocks. */
  truncated: boolean;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
const BEGIN_ANY = /-----BEGIN [A-Z0-9 ]+-----/;

function keyFacts(key: KeyObject): Pick<KeyBlockInfo, 'algorithm' | 'bits' | 'curve' | 'fingerprint' | 'usableForEss' | 'problem'> {
  const algorithm = key.asymmetricKeyType ?? 'unknown';
  const bits = key.asymmetricKeyDetails?.modulusLength;
  const rsa = algorithm === 'rsa' || algorithm === 'rsa-pss';
  let problem: string | undefined;
  if (!rsa) problem = `ESS signatures are RSA, this is an ${algorithm.toUpperCase()} key`;
  else if ((bits ?? 0) < MIN_RSA_BITS) problem = `${bits}-bit RSA is too short (at least ${MIN_RSA_BITS} bits)`;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return { algorithm, bits, ...(curve ? { curve } : {}), fingerprint: spkiFingerprint(key), usableForEss: !problem, ...(problem ? { problem } : {}) };
}

function commonName(dn: string): string | undefined {
  const m = /(?:^|\n|,\s*)CN=([^\n,]+)/.exec(dn);
  return m ? m[1].trim() : undefined;
}

function describeBlock(index: number, label: string, block: string, now: Date): KeyBlockInfo {
  if (label === 'CERTIFICATE' || label === 'TRUSTED CERTIFICATE') {
    const cert = new X509Certificate(block);
    return {
      index,
      kind: 'certificate',
      ...keyFacts(cert.publicKey),
      certificate: {
        subject: cert.subject,
        issuer: cert.issuer,
        commonName: commonName(cert.subject),
        serial: cert.serialNumber,
        validFrom: new Date(cert.validFrom).toISOString(),
        validTo: new Date(cert.validTo).toISOString(),
        expired: new Date(cert.validTo).getTime() < now.getTime(),
      },
    };
  }
  return { index, kind: 'public-key', ...keyFacts(createPublicKey(block)) };
}

/** Cleans Node's OpenSSL error text ("error:1E08010C:DECODER routines::unsupported") into something readable. */
function reason(err: unknown): string {
  const msg = String((err as Error)?.message ?? err).replace(/^error:[0-9A-F]+:/, '');
  return msg.length > 200 ? `${msg.slice(0, 199)}…` : msg;
}

/**
 * Describes every PEM block in `text` (or one bare base64 SPKI, as SAP's docs
 * print keys). Never throws for bad input: each problem is an entry in errors.
 */
export function describeKeyText(text: unknown, now: Date = new Date()): KeyTextInfo {
  const out: KeyTextInfo = { keys: [], errors: [], truncated: false };
  if (typeof text !== 'string' || !text.trim()) return out;
  if (text.length > MAX_KEY_TEXT_CHARS) {
    out.errors.push({ index: 0, code: 'too-large', message: `the text is longer than ${MAX_KEY_TEXT_CHARS} characters` });
    return out;
  }
  const blocks = [...text.matchAll(PEM_BLOCK)];
  if (blocks.length === 0) {
    if (BEGIN_ANY.test(text)) {
      out.errors.push({ index: 1, code: 'invalid', message: 'a PEM block is not closed (no matching -----END … line)' });
      return out;
    }
    const compact = text.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) {
      out.errors.push({ index: 1, code: 'not-pem', message: 'not a PEM key: expected -----BEGIN PUBLIC KEY----- or -----BEGIN CERTIFICATE-----' });
      return out;
    }
    try {
      out.keys.push({ index: 1, kind: 'base64-spki', ...keyFacts(createPublicKey({ key: Buffer.from(compact, 'base64'), format: 'der', type: 'spki' })) });
    } catch {
      // Plain words are valid base64 letters too, so say what was expected rather than the DER error.
      out.errors.push({
        index: 1,
        code: 'not-pem',
        message: 'not a PEM key (expected -----BEGIN PUBLIC KEY----- or -----BEGIN CERTIFICATE-----) and not a base64 public key',
      });
    }
    return out;
  }
  blocks.slice(0, MAX_BLOCKS).forEach((b, i) => {
    const index = i + 1;
    const label = b[1];
    if (/PRIVATE KEY/.test(label)) {
      out.errors.push({ index, code: 'private-key', message: 'a private key: never paste it here, paste the public key or certificate' });
      return;
    }
    if (!['CERTIFICATE', 'TRUSTED CERTIFICATE', 'PUBLIC KEY', 'RSA PUBLIC KEY'].includes(label)) {
      out.errors.push({ index, code: 'unsupported', message: `unsupported PEM block "${label}"` });
      return;
    }
    try {
      out.keys.push(describeBlock(index, label, b[0], now));
    } catch (err) {
      out.errors.push({ index, code: 'invalid', message: `${label.toLowerCase()} cannot be read: ${reason(err)}` });
    }
  });
  out.truncated = blocks.length > MAX_BLOCKS;
  return out;
}
