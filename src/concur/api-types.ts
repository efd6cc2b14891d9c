/**
 * The interface a `concur-config` node exposes as `configNode.api`; the API
 * modules depend only on this, so they can be driven by any client.
 */
import type { ApiRequest, ApiResponse } from './api-client';

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
 * sub-delimiters Concur keys use (`$` etc.) are kept as they are, everything else is escaped.
 */
export function encodePathSegment(id: string): string {
  return id
    .split(/(%[0-9A-Fa-f]{2})/)
    .map((part, i) => (i % 2 === 1 ? part : encodeURIComponent(part).replace(/%(24|26|2B|2C|3B|3D|3A|40|21|27|28|29|2A)/gi, (m) => decodeURIComponent(m))))
    .join('');
}

/** A non-empty id string (numbers are accepted and stringified), or undefined. */
export function idValue(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  return s ? s : undefined;
}
