/**
 * Fault injection: latency, random 429 (with Retry-After) and 5xx answers,
 * short-lived tokens, and a deterministic queue of "the next N requests fail
 * with status X" for tests. Randomness comes from a seeded PRNG so a run can
 * be reproduced with the same --seed. Also the run-time switches for Concur
 * behaviours whose exact form is UNCONFIRMED (expired-token status, the
 * notification list's formats), so one running simulator can play each.
 */

export interface FailRule {
  /** How many matching requests still fail. */
  count: number;
  status: number;
  /** Retry-After seconds to send (429/503). */
  retryAfter?: number;
  /** Only requests whose path starts with this (case-insensitive) are counted. */
  pathPrefix?: string;
  /** Only this method (upper case). */
  method?: string;
  /** Close the connection without an answer (a network error for the client); no status. */
  drop?: boolean;
  /** Expire every access token when the request arrives, then answer it as usual (token dies mid-flow); no status. */
  expireTokens?: boolean;
  /** Error message to answer with instead of the generic one (e.g. a 403 that does not mention the token). */
  message?: string;
  /** Token endpoint: answer Concur's "user lives elsewhere" (400 invalid_request, code 16) naming this geolocation. */
  geolocation?: string;
}

export type ExpiredTokenStatus = 401 | 403;
/** negotiate: JSON by Accept, XML otherwise; xml: XML whatever the Accept; xml-406: 406 to a JSON-only Accept. */
export type NotificationListFormat = 'negotiate' | 'xml' | 'xml-406';
const NOTIFICATION_LIST_FORMATS: NotificationListFormat[] = ['negotiate', 'xml', 'xml-406'];

export interface FaultSettings {
  /** Added delay before every answer, in ms. */
  latencyMs: number;
  /** Probability (0..1) of answering 429 Too Many Requests. */
  rate429: number;
  /** Retry-After seconds sent with injected 429s. */
  retryAfterSeconds: number;
  /** Probability (0..1) of answering a 5xx. */
  rate5xx: number;
  /** Status used for injected 5xx answers. */
  status5xx: number;
  /** Access token lifetime in seconds (expires_in). */
  tokenTtlSeconds: number;
  /** Apply random faults to the token endpoint too. */
  faultTokenEndpoint: boolean;
  /** Added delay before answering the token endpoint only, in ms (lets concurrent callers pile up on one grant). */
  tokenLatencyMs: number;
  /** Status for an expired access token: 403 as the docs say, or 401 (with WWW-Authenticate invalid_token) as some APIs do. */
  expiredTokenStatus: ExpiredTokenStatus;
  /** How GET /api/platform/notifications/v1.0/notification answers (which formats Concur serves is UNCONFIRMED). */
  notificationListFormat: NotificationListFormat;
  failNext: FailRule[];
}

export const DEFAULT_FAULTS: FaultSettings = {
  latencyMs: 0,
  rate429: 0,
  retryAfterSeconds: 1,
  rate5xx: 0,
  status5xx: 503,
  tokenTtlSeconds: 3600,
  faultTokenEndpoint: false,
  tokenLatencyMs: 0,
  expiredTokenStatus: 403,
  notificationListFormat: 'negotiate',
  failNext: [],
};

export interface InjectedFault {
  /** 0 for rules that do not answer themselves (drop, expireTokens). */
  status: number;
  retryAfter?: number;
  reason: string;
  drop?: boolean;
  expireTokens?: boolean;
  message?: string;
  geolocation?: string;
}

/** mulberry32: tiny, fast, good enough for fault dice. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function num(v: unknown, name: string, min: number, max: number): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max) {
    throw new RangeError(`${name} must be a number between ${min} and ${max} (got ${JSON.stringify(v)})`);
  }
  return n;
}

function failRule(r: unknown, i: number): FailRule {
  if (!r || typeof r !== 'object') throw new RangeError(`failNext[${i}] must be an object`);
  const o = r as Record<string, unknown>;
  for (const flag of ['drop', 'expireTokens'] as const) {
    if (o[flag] !== undefined && typeof o[flag] !== 'boolean') throw new RangeError(`failNext[${i}].${flag} must be true or false`);
  }
  const count = num(o.count ?? 1, `failNext[${i}].count`, 1, 100000);
  // drop and expireTokens do not answer themselves, so a status would be meaningless.
  if (o.drop === true || o.expireTokens === true) {
    if (o.drop === true && o.expireTokens === true) throw new RangeError(`failNext[${i}]: drop and expireTokens exclude each other`);
    for (const k of ['status', 'retryAfter', 'message', 'geolocation']) {
      if (o[k] !== undefined) throw new RangeError(`failNext[${i}].${k} cannot be combined with ${o.drop === true ? 'drop' : 'expireTokens'}`);
    }
  }
  const answers = o.drop !== true && o.expireTokens !== true;
  const rule: FailRule = { count, status: answers ? num(o.status ?? (o.geolocation !== undefined ? 400 : undefined), `failNext[${i}].status`, 100, 599) : 0 };
  if (o.drop === true) rule.drop = true;
  if (o.expireTokens === true) rule.expireTokens = true;
  if (o.retryAfter !== undefined) rule.retryAfter = num(o.retryAfter, `failNext[${i}].retryAfter`, 0, 86400);
  if (o.pathPrefix !== undefined) rule.pathPrefix = String(o.pathPrefix);
  if (o.method !== undefined) rule.method = String(o.method).toUpperCase();
  if (o.message !== undefined) {
    if (typeof o.message !== 'string' || !o.message || o.message.length > 2000)
      throw new RangeError(`failNext[${i}].message must be a non-empty string of at most 2000 characters`);
    rule.message = o.message;
  }
  if (o.geolocation !== undefined) {
    if (typeof o.geolocation !== 'string' || !/^https?:\/\/[^/\s]+\/?$/i.test(o.geolocation))
      throw new RangeError(`failNext[${i}].geolocation must be a base URL such as https://us2.api.concursolutions.com`);
    rule.geolocation = o.geolocation.replace(/\/+$/, '');
  }
  return rule;
}

/** Validates a partial settings object (from CLI flags, options or the admin endpoint). */
export function validateFaults(input: Record<string, unknown>): Partial<FaultSettings> {
  const out: Partial<FaultSettings> = {};
  for (const [k, v] of Object.entries(input)) {
    switch (k) {
      case 'latencyMs':
        out.latencyMs = num(v, k, 0, 120000);
        break;
      case 'rate429':
      case 'rate5xx':
        out[k] = num(v, k, 0, 1);
        break;
      case 'retryAfterSeconds':
        out.retryAfterSeconds = num(v, k, 0, 86400);
        break;
      case 'status5xx':
        out.status5xx = num(v, k, 500, 599);
        break;
      case 'tokenTtlSeconds':
        out.tokenTtlSeconds = num(v, k, 1, 31536000);
        break;
      case 'faultTokenEndpoint':
        if (typeof v !== 'boolean') throw new RangeError('faultTokenEndpoint must be true or false');
        out.faultTokenEndpoint = v;
        break;
      case 'tokenLatencyMs':
        out.tokenLatencyMs = num(v, k, 0, 120000);
        break;
      case 'expiredTokenStatus': {
        const n = num(v, k, 401, 403);
        if (n !== 401 && n !== 403) throw new RangeError(`expiredTokenStatus must be 401 or 403 (got ${JSON.stringify(v)})`);
        out.expiredTokenStatus = n;
        break;
      }
      case 'notificationListFormat':
        if (!NOTIFICATION_LIST_FORMATS.includes(v as NotificationListFormat)) {
          throw new RangeError(`notificationListFormat must be one of ${NOTIFICATION_LIST_FORMATS.join(', ')} (got ${JSON.stringify(v)})`);
        }
        out.notificationListFormat = v as NotificationListFormat;
        break;
      case 'failNext': {
        if (!Array.isArray(v))
          throw new RangeError(
            'failNext must be an array of { count, status, retryAfter?, pathPrefix?, method?, drop?, expireTokens?, message?, geolocation? }',
          );
        out.failNext = v.map((r, i) => failRule(r, i));
        break;
      }
      default:
        throw new RangeError(`unknown fault setting "${k}" (known: ${Object.keys(DEFAULT_FAULTS).join(', ')})`);
    }
  }
  return out;
}

export class FaultController {
  settings: FaultSettings;
  /** Counts of injected faults by status, for the admin view. */
  readonly injected: Record<string, number> = {};
  private random: () => number;

  constructor(initial: Partial<FaultSettings> = {}, seed = 1) {
    this.settings = { ...DEFAULT_FAULTS, ...validateFaults(initial as Record<string, unknown>) };
    this.random = seededRandom(seed);
  }

  /** Merges new settings; `failNext` rules are appended to the queue. */
  update(patch: Record<string, unknown>): FaultSettings {
    const valid = validateFaults(patch);
    const { failNext, ...rest } = valid;
    this.settings = { ...this.settings, ...rest, failNext: [...this.settings.failNext, ...(failNext ?? [])] };
    return this.settings;
  }

  reset(): void {
    this.settings = { ...DEFAULT_FAULTS, failNext: [] };
  }

  /** Decides whether this request fails; consumes a failNext rule when one matches. */
  decide(method: string, path: string, isTokenEndpoint: boolean): InjectedFault | undefined {
    const s = this.settings;
    const lower = path.toLowerCase();
    const i = s.failNext.findIndex((r) => (!r.pathPrefix || lower.startsWith(r.pathPrefix.toLowerCase())) && (!r.method || r.method === method));
    if (i >= 0) {
      const rule = s.failNext[i];
      rule.count--;
      if (rule.count <= 0) s.failNext.splice(i, 1);
      const f: InjectedFault = {
        status: rule.status,
        retryAfter: rule.retryAfter ?? (rule.status === 429 ? s.retryAfterSeconds : undefined),
        reason: 'failNext rule',
      };
      if (rule.drop) f.drop = true;
      if (rule.expireTokens) f.expireTokens = true;
      if (rule.message) f.message = rule.message;
      if (rule.geolocation) f.geolocation = rule.geolocation;
      return f.status ? this.count(f) : f;
    }
    if (isTokenEndpoint && !s.faultTokenEndpoint) return undefined;
    // Always draw both numbers so one setting does not shift the other's sequence.
    const r429 = this.random();
    const r5xx = this.random();
    if (s.rate429 > 0 && r429 < s.rate429) return this.count({ status: 429, retryAfter: s.retryAfterSeconds, reason: 'rate429' });
    if (s.rate5xx > 0 && r5xx < s.rate5xx)
      return this.count({ status: s.status5xx, retryAfter: s.status5xx === 503 ? s.retryAfterSeconds : undefined, reason: 'rate5xx' });
    return undefined;
  }

  private count(f: InjectedFault): InjectedFault {
    this.injected[f.status] = (this.injected[f.status] ?? 0) + 1;
    return f;
  }
}
