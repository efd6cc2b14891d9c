/**
 * Any Concur REST call (the `concur-api-request` node): method, a path relative
 * to the token's geolocation or a full Concur URL (the API client's host guard
 * decides whether the token may go there), query, JSON or XML body, Accept, and
 * optional paging that follows the next-page link the Concur APIs print:
 * `NextPage` (v3.0 lists, e.g. https://developer.concur.com/api-reference/expense/expense-report/v3.reports.html),
 * `nextPage` (Financial Integration v4 documents, https://developer.concur.com/api-reference/financial-integration/v4.financial-integration.html),
 * or a `links` / `operations` entry with rel `next` (Travel Request v4 lists,
 * https://developer.concur.com/api-reference/request/v4.endpoints.request-resources.html).
 */
import { ConcurError, invalidInput } from './concur-error';
import type { ApiRequest, ApiResponse, HttpMethod } from './api-client';
import type { ConcurApi } from './api-types';
import { hasDotSegment } from './concur-hosts';

export const API_METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
export const MAX_PAGES_LIMIT = 1000;

export interface GenericRequestInput {
  method?: unknown;
  /** Path (starting with /) or full URL. */
  path?: unknown;
  /** Object of parameters (arrays repeat the key) or a query string. */
  query?: unknown;
  body?: unknown;
  /** auto: objects/arrays as JSON, a string starting with `<` as XML, other strings as JSON text. */
  bodyFormat?: 'auto' | 'json' | 'xml';
  accept?: unknown;
  headers?: unknown;
  correlationId?: string;
}

const FORBIDDEN_HEADERS = new Set(['authorization', 'host', 'content-length', 'connection', 'transfer-encoding', 'cookie', 'proxy-authorization']);

export function normalizeMethod(v: unknown): HttpMethod {
  const m = typeof v === 'string' ? v.trim().toUpperCase() : '';
  if (!(API_METHODS as readonly string[]).includes(m))
    throw invalidInput(`method must be one of ${API_METHODS.join(', ')} (got ${JSON.stringify(v)?.slice(0, 40)})`);
  return m as HttpMethod;
}

/** Refuses dot segments (also percent-encoded), which URL parsing would resolve to another resource (the rule of path-segment.ts). */
function checkPath(p: string): void {
  if (hasDotSegment(p)) throw invalidInput(`path "${p.slice(0, 120)}" contains a dot segment (. or ..)`);
}

export function normalizePath(v: unknown): string {
  if (typeof v !== 'string' || !v.trim()) throw invalidInput('path is required: a path such as /expensereports/v4/… or a full Concur URL');
  const p = v.trim();
  if (/\s/.test(p)) throw invalidInput('path must not contain white space');
  if (!p.startsWith('/') && !/^https?:\/\//i.test(p)) throw invalidInput(`path "${p.slice(0, 120)}" must start with / or be a full https:// URL`);
  checkPath(p);
  // The token endpoint is concur-config's business: its answers are secrets and must not land in a message.
  if (/^(?:https?:\/\/[^/]+)?\/oauth2\//i.test(p))
    throw invalidInput('the OAuth2 token endpoint cannot be called with this node: the connection (concur-config) handles tokens');
  return p;
}

/** Appends query parameters (object or string) to a path or URL. */
export function withQuery(path: string, query: unknown): string {
  if (query === undefined || query === null || query === '') return path;
  let qs: string;
  if (typeof query === 'string') {
    qs = query.replace(/^\?/, '');
  } else if (typeof query === 'object' && !Array.isArray(query)) {
    const sp = new URLSearchParams();
    for (const [k, v] of Object.entries(query as Record<string, unknown>)) {
      if (v === undefined || v === null) continue;
      for (const one of Array.isArray(v) ? v : [v]) {
        if (one !== null && typeof one === 'object') throw invalidInput(`query parameter ${k} must be a string, number or boolean`);
        sp.append(k, String(one));
      }
    }
    qs = sp.toString();
  } else {
    throw invalidInput('query must be an object of parameters or a query string');
  }
  if (!qs) return path;
  return path + (path.includes('?') ? '&' : '?') + qs;
}

function headerMap(v: unknown): Record<string, string> {
  if (v === undefined || v === null || v === '') return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw invalidInput('headers must be an object of header names and values');
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(k)) throw invalidInput(`"${k.slice(0, 40)}" is not a valid header name`);
    // The token and framing are ours to set; a flow must not replace them.
    if (FORBIDDEN_HEADERS.has(k.toLowerCase())) throw invalidInput(`header ${k} is set by the node and cannot be given`);
    if (val === undefined || val === null) continue;
    const s = String(val);
    if (/[\r\n]/.test(s)) throw invalidInput(`header ${k} contains a line break`);
    out[k] = s;
  }
  return out;
}

/** Validates everything and returns the request (nothing is sent here). */
export function buildGenericRequest(input: GenericRequestInput): ApiRequest {
  const method = normalizeMethod(input.method ?? 'GET');
  const url = withQuery(normalizePath(input.path), input.query);
  const req: ApiRequest = { method, url, headers: headerMap(input.headers) };
  if (typeof input.accept === 'string' && input.accept.trim()) {
    if (/[\r\n]/.test(input.accept)) throw invalidInput('Accept contains a line break');
    req.accept = input.accept.trim();
  }
  if (input.correlationId) req.correlationId = input.correlationId;
  const body = input.body;
  if (body !== undefined && body !== null && body !== '' && method !== 'GET' && method !== 'DELETE') {
    const fmt = input.bodyFormat ?? 'auto';
    if (Buffer.isBuffer(body)) throw invalidInput('a Buffer body is not supported: give a JSON value or an XML string');
    if (fmt === 'xml' || (fmt === 'auto' && typeof body === 'string' && body.trimStart().startsWith('<'))) {
      if (typeof body !== 'string') throw invalidInput('an XML body must be a string');
      req.xml = body;
    } else if (typeof body === 'string' && fmt === 'auto') {
      // A string that is JSON text is sent as that JSON, not as a JSON string literal.
      try {
        req.json = JSON.parse(body);
      } catch {
        throw invalidInput('body is a string that is neither JSON nor XML');
      }
    } else {
      req.json = body;
    }
  }
  // GET and DELETE send no body (msg.payload of the triggering message is ignored for them).
  return req;
}

/** The next-page link of an answer, if any (see the header comment). */
export function nextPageLink(data: unknown): string | undefined {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return undefined;
  const d = data as Record<string, unknown>;
  for (const k of ['NextPage', 'nextPage', 'next']) {
    const v = d[k];
    if (typeof v === 'string' && v.trim()) return v.trim();
    if (v && typeof v === 'object' && typeof (v as Record<string, unknown>).href === 'string') return String((v as Record<string, unknown>).href);
  }
  for (const k of ['links', 'operations', 'Links']) {
    const list = d[k];
    if (!Array.isArray(list)) continue;
    const next = list.find(
      (l) => l && typeof l === 'object' && /^next$/i.test(String((l as Record<string, unknown>).rel ?? (l as Record<string, unknown>).Rel ?? '')),
    );
    const href = next && ((next as Record<string, unknown>).href ?? (next as Record<string, unknown>).Href);
    if (typeof href === 'string' && href.trim()) return href.trim();
  }
  return undefined;
}

/** The items of one page: the array itself, or Items / items / data / Resources / content / value. */
export function pageItems(data: unknown): unknown[] {
  if (Array.isArray(data)) return data;
  if (!data || typeof data !== 'object') return data === undefined ? [] : [data];
  const d = data as Record<string, unknown>;
  for (const k of ['Items', 'items', 'data', 'Resources', 'content', 'value']) if (Array.isArray(d[k])) return d[k] as unknown[];
  return [data];
}

export interface Page {
  index: number;
  response: ApiResponse;
  nextPage?: string;
}

export interface PagingOptions {
  /** Follow next-page links until none is left or maxPages pages were read. */
  follow: boolean;
  maxPages: number;
  onPage?: (p: Page) => void | Promise<void>;
}

export interface RequestResult {
  pages: Page[];
  /** True when maxPages stopped the paging while a next-page link was still there. */
  truncated: boolean;
}

export async function runGenericRequest(api: ConcurApi, req: ApiRequest, paging: PagingOptions): Promise<RequestResult> {
  const max = Math.max(1, Math.min(MAX_PAGES_LIMIT, Math.floor(paging.maxPages) || 1));
  const pages: Page[] = [];
  const seen = new Set<string>();
  let current: ApiRequest = req;
  for (let i = 0; ; i++) {
    const response = await api.request(current);
    // Only GET lists are paged: a link answer to a POST/PUT is no page of the same query.
    const nextPage = paging.follow && current.method === 'GET' ? nextPageLink(response.data) : undefined;
    const page: Page = { index: i, response, nextPage };
    pages.push(page);
    await paging.onPage?.(page);
    if (!nextPage) return { pages, truncated: false };
    if (pages.length >= max) return { pages, truncated: true };
    if (seen.has(nextPage) || nextPage === response.url) {
      throw new ConcurError({
        status: response.status,
        code: 'PAGING_LOOP',
        message: `page ${i + 1} links back to a page already read (${nextPage.split('?')[0]})`,
        correlationId: response.correlationId,
      });
    }
    seen.add(nextPage);
    // Later pages are plain GETs of the link Concur gave (query included), through the same host guard.
    current = { method: 'GET', url: nextPage, accept: req.accept, headers: req.headers, correlationId: req.correlationId };
  }
}
