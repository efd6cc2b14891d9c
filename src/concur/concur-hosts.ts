/**
 * SAP Concur base URIs (docs/concur-api.md#base-uris) and the rules for which
 * host a call goes to: legacy pre-2017 hosts are rewritten to the token's
 * geolocation ("JWT calls are not compatible with the legacy base URIs"), and
 * a Bearer token is only ever sent to a Concur host or the configured base.
 */
import { DOT_SEGMENT } from './path-segment';

/** Presets offered in the editor; `custom` means "use the URL the user typed". */
export const GEOLOCATION_PRESETS: Readonly<Record<string, string>> = Object.freeze({
  us2: 'https://us2.api.concursolutions.com',
  eu2: 'https://eu2.api.concursolutions.com',
  apj1: 'https://apj1.api.concursolutions.com',
  usg: 'https://usg.api.concursolutions.com',
  us: 'https://us.api.concursolutions.com',
  emea: 'https://emea.api.concursolutions.com',
  'us-impl': 'https://us-impl.api.concursolutions.com',
  'emea-impl': 'https://emea-impl.api.concursolutions.com',
  glz: 'https://glz.api.concursolutions.com',
});

export const GLZ_BASE = GEOLOCATION_PRESETS.glz;

/** Pre-2017 hosts that must not receive JWT calls; their paths are kept, the origin is replaced. */
export const LEGACY_HOSTS: ReadonlySet<string> = new Set([
  'www.concursolutions.com',
  'concursolutions.com',
  'eu1.concursolutions.com',
  'implementation.concursolutions.com',
  'eu1imp.concursolutions.com',
]);

/** Domains whose hosts may receive our Bearer token (besides the configured base and the token's geolocation). */
const CONCUR_DOMAINS = ['.concursolutions.com', '.concurcdc.cn'];

/** True when the path part of `s` (a path or an absolute URL) has a "." or ".." segment. */
export function hasDotSegment(s: string): boolean {
  const p = s.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/\\?#]*/i, '').split(/[?#]/)[0];
  return p.split(/[/\\]/).some((seg) => DOT_SEGMENT.test(seg));
}

export class ConcurUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConcurUrlError';
  }
}

/** Validates and normalises a base URL: http(s), no credentials/query/fragment, no trailing slash. */
export function normaliseBaseUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(String(raw).trim());
  } catch {
    throw new ConcurUrlError(`"${String(raw).slice(0, 80)}" is not a valid URL`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new ConcurUrlError(`base URL must be http(s), got ${u.protocol}`);
  if (u.username || u.password) throw new ConcurUrlError('base URL must not contain a user name or password');
  if (u.search || u.hash) throw new ConcurUrlError('base URL must not contain a query or fragment');
  return (u.origin + u.pathname).replace(/\/+$/, '');
}

/** Resolves a preset name (`us2`, …) or `custom` + URL to a base URL. */
export function resolveBaseUrl(preset: string | undefined, customUrl: string | undefined): string {
  const p = (preset ?? '').trim();
  if (p && p !== 'custom') {
    const base = GEOLOCATION_PRESETS[p];
    if (!base) throw new ConcurUrlError(`unknown geolocation "${p}"`);
    return base;
  }
  if (!customUrl || !String(customUrl).trim()) throw new ConcurUrlError('custom base URL is empty');
  return normaliseBaseUrl(customUrl);
}

/**
 * Makes an absolute URL from a path (relative to `base`) or checks an absolute
 * URL, replacing a legacy host's origin with `base`.
 */
export function resolveApiUrl(urlOrPath: string, base: string): URL {
  const s = String(urlOrPath ?? '').trim();
  if (!s) throw new ConcurUrlError('URL is empty');
  // The URL parser would resolve them silently (/reports/../approve -> /approve): refuse instead.
  if (hasDotSegment(s)) throw new ConcurUrlError(`"${s.slice(0, 120)}" has a "." or ".." path segment`);
  let u: URL;
  if (/^[a-z][a-z0-9+.-]*:/i.test(s)) {
    try {
      u = new URL(s);
    } catch {
      throw new ConcurUrlError(`"${s.slice(0, 120)}" is not a valid URL`);
    }
  } else {
    if (!s.startsWith('/')) throw new ConcurUrlError(`"${s.slice(0, 120)}" is neither an absolute URL nor a path starting with /`);
    u = new URL(base.replace(/\/+$/, '') + s);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new ConcurUrlError(`unsupported URL scheme ${u.protocol}`);
  if (u.username || u.password) throw new ConcurUrlError('URL must not contain a user name or password');
  if (LEGACY_HOSTS.has(u.hostname.toLowerCase())) {
    const b = new URL(base);
    const prefix = b.pathname.replace(/\/+$/, '');
    u = new URL(b.origin + prefix + u.pathname + u.search);
  }
  return u;
}

/** True for an https URL on a Concur domain (what a preset base URL is, and what its geolocation must be). */
export function isConcurHttpsUrl(raw: string): boolean {
  try {
    const u = new URL(raw);
    const host = u.hostname.toLowerCase();
    return u.protocol === 'https:' && !u.port && CONCUR_DOMAINS.some((d) => host.endsWith(d));
  } catch {
    return false;
  }
}

/** True when a Bearer token may be sent to this URL's host. */
export function isTrustedHost(u: URL, trustedOrigins: Iterable<string>): boolean {
  for (const o of trustedOrigins) {
    try {
      if (new URL(o).origin === u.origin) return true;
    } catch {
      /* ignore malformed entries */
    }
  }
  if (u.protocol !== 'https:') return false;
  const host = u.hostname.toLowerCase();
  return CONCUR_DOMAINS.some((d) => host.endsWith(d));
}
