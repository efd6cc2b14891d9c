/**
 * Verification of the ESS `Concur-Signature` header.
 *
 * Facts (docs/concur-api.md#ess-signature): the header is standard base64 of one raw
 * RSA-2048 SHA-256 signature over the exact request body. The one real 2019
 * signature examined was RSASSA-PSS with maximum salt; the padding ESS uses
 * today is UNCONFIRMED, so by default either PSS (any salt length) or PKCS#1
 * v1.5 is accepted, against any configured key. Keys are parsed once into
 * KeyObjects when a node starts; verification never parses PEM.
 */
import { X509Certificate, constants, createHash, createPublicKey, publicDecrypt, verify, type KeyObject } from 'node:crypto';

export type SignaturePadding = 'any' | 'pss' | 'pkcs1';

export interface VerificationKey {
  id: string;
  key: KeyObject;
  /** Modulus size in bytes (256 for RSA-2048); a signature of another length cannot match. */
  sizeBytes: number;
  /** SHA-256 of the DER SubjectPublicKeyInfo, hex; identifies a key without printing it. */
  fingerprint: string;
}

export interface KeySource {
  id: string;
  /** PEM public key, PEM certificate, or bare base64 of a DER SubjectPublicKeyInfo. */
  text: string;
}

export interface KeyLoadError {
  id: string;
  message: string;
}

/** Smallest RSA modulus accepted (bits). Concur's keys are 2048-bit. */
export const MIN_RSA_BITS = 2048;

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

export function spkiFingerprint(key: KeyObject): string {
  return createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

function toVerificationKey(id: string, key: KeyObject): VerificationKey {
  if (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'rsa-pss') {
    throw new Error(`is a ${key.asymmetricKeyType ?? 'non-RSA'} key; ESS signatures are RSA`);
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) throw new Error(`is a ${bits}-bit RSA key; at least ${MIN_RSA_BITS} bits are required`);
  return { id, key, sizeBytes: Math.ceil(bits / 8), fingerprint: spkiFingerprint(key) };
}

/** Parses one PEM block (public key or certificate). Private keys are refused: they do not belong in a flow. */
function keyFromPemBlock(label: string, block: string): KeyObject {
  if (/PRIVATE KEY/.test(label)) throw new Error('is a private key; paste the public key or certificate instead');
  if (label === 'CERTIFICATE' || label === 'TRUSTED CERTIFICATE') return new X509Certificate(block).publicKey;
  if (label === 'PUBLIC KEY' || label === 'RSA PUBLIC KEY') return createPublicKey(block);
  throw new Error(`has an unsupported PEM block "${label}"`);
}

/**
 * Parses key sources into KeyObjects. A source may hold several PEM blocks
 * (each becomes its own key, id suffixed #2, #3 …). Errors are returned per
 * source, never thrown, so one bad paste does not disable the other keys.
 */
export function loadVerificationKeys(sources: readonly KeySource[]): { keys: VerificationKey[]; errors: KeyLoadError[] } {
  const keys: VerificationKey[] = [];
  const errors: KeyLoadError[] = [];
  const seen = new Set<string>();
  for (const src of sources) {
    const text = (src.text ?? '').trim();
    if (!text) continue;
    const blocks = [...text.matchAll(PEM_BLOCK)];
    const parsed: KeyObject[] = [];
    try {
      if (blocks.length === 0) {
        // Bare base64 SPKI, as the docs print it on one line.
        const compact = text.replace(/\s+/g, '');
        if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) throw new Error('is neither PEM nor base64');
        parsed.push(createPublicKey({ key: Buffer.from(compact, 'base64'), format: 'der', type: 'spki' }));
      } else {
        for (const b of blocks) parsed.push(keyFromPemBlock(b[1], b[0]));
      }
      parsed.forEach((k, i) => {
        const vk = toVerificationKey(i === 0 ? src.id : `${src.id}#${i + 1}`, k);
        if (seen.has(vk.fingerprint)) return; // same key configured twice: keep the first id
        seen.add(vk.fingerprint);
        keys.push(vk);
      });
    } catch (err) {
      errors.push({ id: src.id, message: `key "${src.id}" ${(err as Error).message.replace(/^error:\S+:/, '')}` });
    }
  }
  return { keys, errors };
}

export type SignatureFailure = 'missing' | 'malformed' | 'mismatch' | 'no-keys';

export type SignatureResult = { ok: true; keyId: string; padding: 'pss' | 'pkcs1' } | { ok: false; reason: SignatureFailure; message: string };

const STD_B64 = /^[A-Za-z0-9+/]+={0,2}$/;
const URL_B64 = /^[A-Za-z0-9_-]+={0,2}$/;
/** Optional algorithm prefixes some gateways add ("sha256=…"); ESS itself sends none. */
const PREFIX = /^(?:sha256|rsa-sha256|rsa|v1)[=:]/i;
const MAX_HEADER_CHARS = 8192;

/**
 * Decodes the header into candidate signatures. Accepts standard base64 (what ESS
 * sends), base64url, an optional "sha256=" style prefix, and a comma-separated
 * list (during a key rotation a sender may send several).
 */
export function decodeSignatureHeader(
  value: string | string[] | undefined,
): { ok: true; signatures: Buffer[] } | { ok: false; reason: SignatureFailure; message: string } {
  const raw = Array.isArray(value) ? value.join(',') : value;
  if (raw === undefined || raw.trim() === '') return { ok: false, reason: 'missing', message: 'Concur-Signature header is missing' };
  if (raw.length > MAX_HEADER_CHARS) return { ok: false, reason: 'malformed', message: 'Concur-Signature header is too long' };
  const signatures: Buffer[] = [];
  for (const part of raw.split(',').slice(0, 4)) {
    const s = part.trim().replace(PREFIX, '').replace(/\s+/g, '');
    if (!s) continue;
    let buf: Buffer | undefined;
    if (STD_B64.test(s) && s.replace(/=+$/, '').length % 4 !== 1) buf = Buffer.from(s, 'base64');
    else if (URL_B64.test(s) && s.replace(/=+$/, '').length % 4 !== 1) buf = Buffer.from(s, 'base64url');
    if (buf && buf.length >= 64) signatures.push(buf);
  }
  if (signatures.length === 0) return { ok: false, reason: 'malformed', message: 'Concur-Signature header is not a base64 RSA signature' };
  return { ok: true, signatures };
}

/**
 * Verifies `rawBody` against the header with every key. Reports the key that
 * matched. PSS is checked with an automatic salt length, which accepts the
 * maximum salt length seen on real ESS signatures as well as digest-length salts.
 *
 * The body is hashed ONCE for all keys and both paddings. Node's verify() hashes
 * its input every time and has no pre-hashed mode for RSA (verify(null, digest)
 * hashes the digest again), so for plain RSA keys the signature is opened with one
 * raw public-key operation per key (publicDecrypt, RSA_NO_PADDING) and the
 * encoded message is checked against the digest in JS: EMSA-PKCS1-v1_5 and
 * EMSA-PSS-VERIFY with MGF1-SHA256 (RFC 8017 §9.1.2, §9.2,
 * https://www.rfc-editor.org/rfc/rfc8017). test/unit/hardening-units.test.js checks
 * this against crypto.verify on random keys, salts and tampered inputs.
 */
export function verifyEssSignature(
  rawBody: Buffer,
  header: string | string[] | undefined,
  keys: readonly VerificationKey[],
  padding: SignaturePadding = 'any',
): SignatureResult {
  const decoded = decodeSignatureHeader(header);
  if (!decoded.ok) return decoded;
  return verifySignatures(rawBody, decoded.signatures, keys, padding);
}

/** verifyEssSignature for a header already decoded (decodeSignatureHeader): the receiver checks the header before the body arrives. */
export function verifySignatures(
  rawBody: Buffer,
  signatures: readonly Buffer[],
  keys: readonly VerificationKey[],
  padding: SignaturePadding = 'any',
): SignatureResult {
  if (keys.length === 0) return { ok: false, reason: 'no-keys', message: 'no verification key is configured' };
  let sizeMatched = false;
  let digest: Buffer | undefined;
  for (const sig of signatures) {
    for (const k of keys) {
      if (sig.length !== k.sizeBytes) continue;
      sizeMatched = true;
      if (k.key.asymmetricKeyType === 'rsa') {
        digest ??= createHash('sha256').update(rawBody).digest();
        const em = openSignature(sig, k.key);
        if (!em) continue;
        if (padding !== 'pkcs1' && pssMatches(em, digest, k.key.asymmetricKeyDetails?.modulusLength ?? k.sizeBytes * 8))
          return { ok: true, keyId: k.id, padding: 'pss' };
        if (padding !== 'pss' && pkcs1Matches(em, digest)) return { ok: true, keyId: k.id, padding: 'pkcs1' };
        continue;
      }
      // rsa-pss keys (no raw operation allowed): Node's verify, which hashes again.
      if (
        padding !== 'pkcs1' &&
        safeVerify(rawBody, { key: k.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, sig)
      ) {
        return { ok: true, keyId: k.id, padding: 'pss' };
      }
      if (padding !== 'pss' && safeVerify(rawBody, { key: k.key, padding: constants.RSA_PKCS1_PADDING }, sig)) {
        return { ok: true, keyId: k.id, padding: 'pkcs1' };
      }
    }
  }
  return {
    ok: false,
    reason: 'mismatch',
    message: sizeMatched
      ? 'Concur-Signature does not match the body with any configured key'
      : 'Concur-Signature has the wrong length for every configured key',
  };
}

function safeVerify(data: Buffer, key: Parameters<typeof verify>[2], sig: Buffer): boolean {
  try {
    return verify('sha256', data, key, sig);
  } catch {
    return false; // OpenSSL throws on some malformed encodings instead of returning false
  }
}

/** s^e mod n as k bytes, or undefined when s >= n (OpenSSL refuses it). */
function openSignature(sig: Buffer, key: KeyObject): Buffer | undefined {
  try {
    return publicDecrypt({ key, padding: constants.RSA_NO_PADDING }, sig);
  } catch {
    return undefined;
  }
}

/** DER DigestInfo prefix for SHA-256 (RFC 8017 §9.2 note 1). */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');
const H_LEN = 32;

/** EMSA-PKCS1-v1_5: EM = 0x00 0x01 FF…FF 0x00 DigestInfo H, compared as a whole. */
export function pkcs1Matches(em: Buffer, digest: Buffer): boolean {
  const tLen = SHA256_DIGEST_INFO.length + digest.length;
  const k = em.length;
  if (k < tLen + 11 || em[0] !== 0x00 || em[1] !== 0x01) return false;
  const sep = k - tLen - 1;
  for (let i = 2; i < sep; i++) if (em[i] !== 0xff) return false;
  return (
    em[sep] === 0x00 && em.subarray(sep + 1, sep + 1 + SHA256_DIGEST_INFO.length).equals(SHA256_DIGEST_INFO) && em.subarray(k - digest.length).equals(digest)
  );
}

function sha256(...parts: Buffer[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** EMSA-PSS-VERIFY with SHA-256, MGF1-SHA256 and any salt length (RFC 8017 §9.1.2). `m` is the k-byte raw result. */
export function pssMatches(m: Buffer, mHash: Buffer, modBits: number): boolean {
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  for (let i = 0; i < m.length - emLen; i++) if (m[i] !== 0) return false; // k > emLen when modBits - 1 is a multiple of 8
  const em = m.subarray(m.length - emLen);
  if (emLen < H_LEN + 2 || em[emLen - 1] !== 0xbc) return false;
  const dbLen = emLen - H_LEN - 1;
  const h = em.subarray(dbLen, dbLen + H_LEN);
  const topMask = 0xff >> (8 * emLen - emBits); // bits of the first octet that belong to the encoding
  if ((em[0] & ~topMask & 0xff) !== 0) return false;
  const db = Buffer.allocUnsafe(dbLen);
  const counter = Buffer.alloc(4);
  for (let off = 0, c = 0; off < dbLen; c++, off += H_LEN) {
    counter.writeUInt32BE(c);
    const mask = sha256(h, counter);
    for (let j = 0; j < H_LEN && off + j < dbLen; j++) db[off + j] = em[off + j] ^ mask[j];
  }
  db[0] &= topMask;
  let i = 0;
  while (i < dbLen && db[i] === 0) i++;
  if (i >= dbLen || db[i] !== 0x01) return false;
  return sha256(Buffer.alloc(8), mHash, db.subarray(i + 1)).equals(h);
}
