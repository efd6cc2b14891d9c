/**
 * HTTP Basic authentication for inbound Concur callouts (RFC 7617).
 *
 * Concur authenticates every callout (and the connector's Test Connection) with
 * the user name and password an admin typed into "Manage Application
 * Connectors". We compare SHA-256 digests with crypto.timingSafeEqual so neither
 * the content nor the length of the stored credentials leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export interface BasicCredentials {
  username: string;
  password: string;
}

/** Value of the WWW-Authenticate header on every 401. */
export const BASIC_REALM_CHALLENGE = 'Basic realm="Concur"';

/** Concur's connector registration accepts 10–50 characters for each field. */
export const CONCUR_CREDENTIAL_MIN = 10;
export const CONCUR_CREDENTIAL_MAX = 50;

/** Longest Authorization value we bother decoding (Concur's is < 200 bytes). */
const MAX_HEADER_CHARS = 4096;

export type BasicAuthFailure = 'missing' | 'malformed' | 'mismatch' | 'not-configured';

export type BasicAuthResult = { ok: true } | { ok: false; reason: BasicAuthFailure };

/** Short, secret-free texts for status badges, logs and 401 bodies. */
export const BASIC_AUTH_FAILURE_TEXT: Record<BasicAuthFailure, string> = {
  missing: 'missing Basic credentials',
  malformed: 'malformed Authorization header',
  mismatch: 'wrong user name or password',
  'not-configured': 'receiver has no credentials configured',
};

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Decodes `Authorization: Basic <base64(user:password)>`.
 * Returns 'missing' when there is no header, 'malformed' when it is not a
 * well-formed Basic credential.
 */
export function parseBasicAuthorization(header: string | string[] | undefined): BasicCredentials | 'missing' | 'malformed' {
  if (header === undefined) return 'missing';
  if (Array.isArray(header)) return header.length === 0 ? 'missing' : 'malformed';
  const value = header.trim();
  if (value === '') return 'missing';
  if (value.length > MAX_HEADER_CHARS) return 'malformed';
  const m = /^basic[ \t]+(\S+)$/i.exec(value);
  if (!m) return 'malformed';
  const token = m[1];
  if (!BASE64.test(token) || token.length % 4 !== 0) return 'malformed';
  let decoded: string;
  try {
    // RFC 7617: the charset is UTF-8; reject bytes that are not valid UTF-8.
    decoded = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(token, 'base64'));
  } catch {
    return 'malformed';
  }
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'malformed';
  // The user name cannot contain a colon; the password may.
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Holds the expected credentials only as digests, computed once. */
export class BasicAuthChecker {
  private readonly userDigest: Buffer | undefined;
  private readonly passDigest: Buffer | undefined;

  constructor(expected: Partial<BasicCredentials> | undefined) {
    const u = expected?.username ?? '';
    const p = expected?.password ?? '';
    // Never accept "empty matches empty": a receiver without credentials refuses everyone.
    if (u !== '' && p !== '') {
      this.userDigest = digest(u);
      this.passDigest = digest(p);
    }
  }

  get configured(): boolean {
    return this.userDigest !== undefined;
  }

  /** Constant-time comparison of already decoded credentials. */
  matches(given: BasicCredentials): boolean {
    if (!this.userDigest || !this.passDigest) return false;
    // Compare both fields every time (no short-circuit) so timing does not tell which one was wrong.
    const userOk = timingSafeEqual(digest(given.username), this.userDigest);
    const passOk = timingSafeEqual(digest(given.password), this.passDigest);
    return userOk && passOk;
  }

  check(header: string | string[] | undefined): BasicAuthResult {
    if (!this.configured) return { ok: false, reason: 'not-configured' };
    const given = parseBasicAuthorization(header);
    if (given === 'missing' || given === 'malformed') return { ok: false, reason: given };
    return this.matches(given) ? { ok: true } : { ok: false, reason: 'mismatch' };
  }
}

/**
 * Problems with credentials Concur would refuse at registration (10–50
 * characters each). Counts Unicode code points, as a user would.
 */
export function concurCredentialProblems(c: Partial<BasicCredentials> | undefined): string[] {
  const problems: string[] = [];
  for (const [field, label] of [
    ['username', 'user name'],
    ['password', 'password'],
  ] as const) {
    const v = c?.[field] ?? '';
    const n = [...v].length;
    if (n === 0) problems.push(`${label} is not set`);
    else if (n < CONCUR_CREDENTIAL_MIN || n > CONCUR_CREDENTIAL_MAX)
      problems.push(`${label} has ${n} characters; Concur requires ${CONCUR_CREDENTIAL_MIN}–${CONCUR_CREDENTIAL_MAX}`);
  }
  return problems;
}
