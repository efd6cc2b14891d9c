/**
 * One opaque id as one URL path segment, for the request builders of the newer
 * API nodes (comments, receipts, users, travel requests, reports to approve).
 * An id that is, or decodes to, a dot segment (`.`, `..`, `%2e%2e`) is refused:
 * URL parsers resolve those, so `../../oauth2` would walk out of the intended
 * resource (RFC 3986 §5.2.4). Everything else is escaped with encodeURIComponent.
 */
import { invalidInput } from './concur-error';

function decodedForCheck(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s.replace(/%2e/gi, '.');
  }
}

/** A non-empty id (numbers accepted), trimmed; undefined when absent. */
export function optionalId(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') throw invalidInput(`${what} must be a string (got ${Array.isArray(v) ? 'an array' : typeof v})`);
  const s = v.trim();
  return s ? s : undefined;
}

export function requiredId(v: unknown, what: string): string {
  const s = optionalId(v, what);
  if (!s) throw invalidInput(`${what} is required`);
  return s;
}

/** Escapes one id for a path segment; refuses dot segments and over-long ids. */
export function pathSegment(v: unknown, what: string): string {
  const s = requiredId(v, what);
  if (s.length > 512) throw invalidInput(`${what} is ${s.length} characters long; at most 512 are accepted`);
  const d = decodedForCheck(s);
  if (d === '.' || d === '..' || /^\.+$/.test(d.trim())) throw invalidInput(`${what} "${s.slice(0, 40)}" is a dot segment, not an id`);
  return encodeURIComponent(s);
}
