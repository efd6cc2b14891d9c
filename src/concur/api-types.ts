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
