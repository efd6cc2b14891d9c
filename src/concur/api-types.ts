/**
 * The interface a `concur-config` node exposes as `configNode.api`; the API
 * modules depend only on this, so they can be driven by any client.
 */
import type { ApiRequest, ApiResponse } from './api-client';
import { invalidInput } from './concur-error';
import { DOT_SEGMENT } from './concur-hosts';

export interface ConcurApi {
  /** One authenticated call (retries, token refresh and host rewriting included). */
  request(req: ApiRequest): Promise<ApiResponse>;
  /** Base URL calls currently go to (the token's geolocation once known). */
  apiBase(): string;
}

/** Keeps a correlation id only if it is a sane header value (it comes from untrusted input). */
export function cleanCorrelationId(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  return /^[A-Za-z0-9._:@-]{1,128}$/.test(s) ? s : undefined;
}

/**
 * Encodes an opaque id for one URL path segment. Existing %XX escapes and the
 * sub-delimiters Concur keys use (`$` etc.) are kept as they are (legacy report
 * keys carry `%24`), everything else is escaped. An id that is a dot segment
 * (`..`, `%2e%2e`, `.`) would change the API path (`/reports/../approve`), so it
 * is refused with an INVALID_INPUT error before anything is sent.
 */
export function encodePathSegment(id: string, what = 'id'): string {
  const enc = id
    .split(/(%[0-9A-Fa-f]{2})/)
    .map((part, i) => (i % 2 === 1 ? part : encodeURIComponent(part).replace(/%(24|26|2B|2C|3B|3D|3A|40|21|27|28|29|2A)/gi, (m) => decodeURIComponent(m))))
    .join('');
  if (DOT_SEGMENT.test(enc)) throw invalidInput(`${what} "${id.slice(0, 40)}" is a dot segment (. or ..) and would change the API path; nothing was sent`);
  return enc;
}

/** A non-empty id string (numbers are accepted and stringified), or undefined. */
export function idValue(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  return s ? s : undefined;
}
