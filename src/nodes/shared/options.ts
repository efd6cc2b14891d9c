/**
 * The numeric options of every node: limits, defaults and what the runtime does
 * with a value outside the limits. One table, read by the runtime (numberOption)
 * and served to the editor (editor-rules.ts), so the dialog's validation and the
 * runtime's parsing cannot drift apart.
 *
 * outOfRange: 'default' uses the default for a value outside [min, max] (a typo
 * must not silently become an extreme); 'clamp' uses the nearest limit.
 * Either way a value that is not a number (empty, text) gives the default.
 */
export interface NumberOption {
  min: number;
  max: number;
  default: number;
  outOfRange: 'default' | 'clamp';
  /** A count: the dialog accepts whole numbers only and the runtime rounds. */
  integer?: boolean;
}

const opt = (min: number, max: number, dflt: number, outOfRange: NumberOption['outOfRange']): NumberOption => ({ min, max, default: dflt, outOfRange });
const count = (min: number, max: number, dflt: number): NumberOption => ({ min, max, default: dflt, outOfRange: 'default', integer: true });

export const NUMBER_OPTIONS = {
  'concur-config': {
    /** seconds per request */
    timeout: opt(1, 600, 60, 'default'),
    retries: opt(0, 10, 3, 'default'),
    /** milliseconds */
    retryDelay: opt(1, 600_000, 1000, 'default'),
    /** milliseconds */
    retryMaxDelay: opt(1, 3_600_000, 30_000, 'default'),
    /** seconds before expiry at which a token is renewed */
    expirySkew: opt(0, 1800, 120, 'default'),
  },
  'concur-legacy-notify-in': {
    /** seconds */
    ackTimeout: opt(0.01, 600, 25, 'default'),
    maxBodyKiB: opt(1, 100 * 1024, 1024, 'default'),
  },
  'concur-ess-event-in': {
    /** ESS events are a few KB (docs/concur-api.md); 256 KiB bounds what an unverified sender can make us hold. */
    maxBodyKiB: opt(1, 64 * 1024, 256, 'clamp'),
    /** The editor has always required at least 0.01 h (36 s); the runtime clamped at 0.001 h before this table. */
    dedupeHours: opt(0.01, 24 * 365, 72, 'clamp'),
    deadLetterMax: opt(0, 100_000, 100, 'clamp'),
    /** seconds */
    completionTimeout: opt(0, 7 * 24 * 3600, 120, 'clamp'),
    maxPending: opt(1, 10_000_000, 10_000, 'clamp'),
    /** MiB of memory for the dedupe ids of the window (then 503) */
    dedupeMemoryMiB: opt(0.01, 1024 * 1024, 256, 'clamp'),
    /** MiB of event bodies waiting for the flow (then 503) */
    pendingMemoryMiB: opt(0.01, 1024 * 1024, 256, 'clamp'),
    /** MiB of dead-letter bodies kept */
    deadLetterMemoryMiB: opt(0, 1024 * 1024, 64, 'clamp'),
  },
  'concur-store': {
    port: opt(1, 65535, 5432, 'clamp'),
    poolSize: opt(1, 100, 10, 'clamp'),
    /** seconds a claimed event stays leased before another instance may take it over */
    leaseSec: opt(2, 3600, 30, 'clamp'),
    /** seconds per SQL statement (not in the dialog) */
    statementTimeoutSec: opt(1, 300, 10, 'clamp'),
  },
  'concur-api-request': {
    maxPages: count(1, 1000, 10),
  },
  'concur-user-lookup': {
    /** seconds an answer is cached (0 = no cache); at most a week */
    cacheSeconds: count(0, 7 * 24 * 3600, 600),
  },
  'concur-receipt-images': {
    maxImages: count(1, 500, 50),
  },
} as const satisfies Record<string, Record<string, NumberOption>>;

export type NumberOptionTable = typeof NUMBER_OPTIONS;

/** A number from a node property (number or numeric string), or NaN. */
export function toNumber(v: unknown): number {
  return typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
}

/** Applies one option's rule to a raw property value. */
export function parseNumber(v: unknown, o: NumberOption): number {
  const n = toNumber(v);
  if (!Number.isFinite(n)) return o.default;
  const r = n >= o.min && n <= o.max ? n : o.outOfRange === 'clamp' ? Math.min(o.max, Math.max(o.min, n)) : o.default;
  return o.integer ? Math.round(r) : r;
}

/** The value of numeric option `name` of node type `type` from its raw property. */
export function numberOption<T extends keyof NumberOptionTable>(type: T, name: keyof NumberOptionTable[T], v: unknown): number {
  return parseNumber(v, NUMBER_OPTIONS[type][name] as NumberOption);
}

/** A choice option (a select in the dialog): `v` when it is one of `allowed`, else the default the runtime has always used. */
export function choiceOption<T extends string>(allowed: readonly T[], v: unknown, dflt: T): T {
  return (allowed as readonly string[]).includes(String(v)) ? (v as T) : dflt;
}
