/**
 * The one rule for ids the API nodes read from messages and put into a URL
 * path (every request builder uses it: report details, exceptions, workflow
 * actions, comments, receipts, users, travel requests, reports to approve,
 * subscriptions).
 *
 * An id that is a dot segment (`.`, `..`, `%2e%2e`, ...) is refused: URL
 * parsers resolve those, so `../../oauth2` would walk out of the intended
 * resource (RFC 3986 §5.2.4, https://url.spec.whatwg.org/#double-dot-path-segment).
 * Everything else is escaped for one segment, except existing %XX escapes and
 * the sub-delimiters Concur keys use (`$` etc.), which stay as they are: legacy
 * report keys carry `%24`, and escaping them again would name another report.
 */
import { invalidInput } from './concur-error';

/** A path segment URL parsers resolve as "." or ".." (WHATWG URL treats %2e as a dot). */
export const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;

/** Longest id accepted in a path (Concur's ids are UUIDs, numbers or keys of a few dozen characters). */
const MAX_ID_LENGTH = 512;

/** A non-empty id string (numbers are accepted and stringified), trimmed; undefined for anything else. */
export function idValue(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  return s ? s : undefined;
}

/** Like idValue, but a value of the wrong type is an error (absent or empty is undefined). */
export function optionalId(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string' && !(typeof v === 'number' && Number.isFinite(v)))
    throw invalidInput(`${what} must be a string (got ${Array.isArray(v) ? 'an array' : typeof v})`);
  return idValue(v);
}

export function requiredId(v: unknown, what: string): string {
  const s = optionalId(v, what);
  if (!s) throw invalidInput(`${what} is required`);
  return s;
}

/** One id as one URL path segment; refuses a missing id, a dot segment and an over-long id with INVALID_INPUT (nothing is sent). */
export function pathSegment(v: unknown, what: string): string {
  const s = requiredId(v, what);
  if (s.length > MAX_ID_LENGTH) throw invalidInput(`${what} is ${s.length} characters long; at most ${MAX_ID_LENGTH} are accepted`);
  const enc = s
    .split(/(%[0-9A-Fa-f]{2})/)
    .map((part, i) => (i % 2 === 1 ? part : encodeURIComponent(part).replace(/%(24|26|2B|2C|3B|3D|3A|40|21|27|28|29|2A)/gi, (m) => decodeURIComponent(m))))
    .join('');
  if (DOT_SEGMENT.test(enc)) throw invalidInput(`${what} "${s.slice(0, 40)}" is a dot segment (. or ..) and would change the API path; nothing was sent`);
  return enc;
}
