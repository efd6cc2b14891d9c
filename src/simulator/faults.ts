/**
 * Fault injection: latency, random 429 (with Retry-After) and 5xx answers,
 * short-lived tokens, and a deterministic queue of "the next N requests fail
 * with status X" for tests. Randomness comes from a seeded PRNG so a run can
 * be reproduced with the same --seed.
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
}

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
  failNext: [],
};

export interface InjectedFault {
  status: number;
  retryAfter?: number;
  reason: string;
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
      case 'failNext': {
        if (!Array.isArray(v)) throw new RangeError('failNext must be an array of { count, status, retryAfter?, pathPrefix?, method? }');
        out.failNext = v.map((r, i) => {
          if (!r || typeof r !== 'object') throw new RangeError(`failNext[${i}] must be an object`);
          const o = r as Record<string, unknown>;
          const rule: FailRule = { count: num(o.count ?? 1, `failNext[${i}].count`, 1, 100000), status: num(o.status, `failNext[${i}].status`, 100, 599) };
          if (o.retryAfter !== undefined) rule.retryAfter = num(o.retryAfter, `failNext[${i}].retryAfter`, 0, 86400);
          if (o.pathPrefix !== undefined) rule.pathPrefix = String(o.pathPrefix);
          if (o.method !== undefined) rule.method = String(o.method).toUpperCase();
          return rule;
        });
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
      return this.count({ status: rule.status, retryAfter: rule.retryAfter ?? (rule.status === 429 ? s.retryAfterSeconds : undefined), reason: 'failNext rule' });
    }
    if (isTokenEndpoint && !s.faultTokenEndpoint) return undefined;
    // Always draw both numbers so one setting does not shift the other's sequence.
    const r429 = this.random();
    const r5xx = this.random();
    if (s.rate429 > 0 && r429 < s.rate429) return this.count({ status: 429, retryAfter: s.retryAfterSeconds, reason: 'rate429' });
    if (s.rate5xx > 0 && r5xx < s.rate5xx) return this.count({ status: s.status5xx, retryAfter: s.status5xx === 503 ? s.retryAfterSeconds : undefined, reason: 'rate5xx' });
    return undefined;
  }

  private count(f: InjectedFault): InjectedFault {
    this.injected[f.status] = (this.injected[f.status] ?? 0) + 1;
    return f;
  }
}
