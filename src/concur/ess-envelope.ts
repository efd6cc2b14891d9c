/**
 * Parses and checks the JSON envelope of an ESS v4 event (docs/concur-api.md#ess-envelope).
 *
 * Every sample has `id`, `correlationId`, `eventType`, `topic`, `timeStamp` and
 * `facts`. Only `id` is required here: it is the dedupe key, and without it the
 * receiver cannot promise exactly-once emission. The other fields are checked
 * for type when present, but not required, because rejecting answers 400 and
 * ESS does not retry a 400 (the event would be lost for a doc quirk).
 */

export interface EssEvent {
  id: string;
  correlationId?: string;
  eventType?: string;
  topic?: string;
  subtopic?: string;
  timeStamp?: string;
  facts?: Record<string, unknown>;
  data?: unknown;
  [key: string]: unknown;
}

export type EnvelopeResult = { ok: true; event: EssEvent; id: string } | { ok: false; message: string };

/** Longest id accepted: ESS ids are UUIDs; the limit only stops abuse of the dedupe index. */
export const MAX_EVENT_ID_LENGTH = 256;

// ignoreBOM keeps a BOM in the text (it is stripped only for parsing), so the stored text is exactly what was received.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes the exact body bytes (UTF-8, optional BOM) and validates the envelope. */
export function parseEssEnvelope(raw: Buffer): (EnvelopeResult & { ok: true; text: string }) | (EnvelopeResult & { ok: false }) {
  if (raw.length === 0) return { ok: false, message: 'body is empty' };
  let text: string;
  try {
    text = decoder.decode(raw);
  } catch {
    return { ok: false, message: 'body is not valid UTF-8' };
  }
  let value: unknown;
  try {
    value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    return { ok: false, message: `body is not JSON (${(err as Error).message})` };
  }
  const result = validateEssEvent(value);
  // The decoded text (BOM included) goes along, so the receiver does not decode the body twice.
  return result.ok ? { ...result, text } : result;
}

export function validateEssEvent(value: unknown): EnvelopeResult {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, message: `body is JSON but not an event object (got ${Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value})` };
  }
  const ev = value as Record<string, unknown>;
  const id = typeof ev.id === 'number' && Number.isFinite(ev.id) ? String(ev.id) : ev.id;
  if (typeof id !== 'string' || id.trim() === '') return { ok: false, message: 'event has no "id" (string)' };
  if (id.length > MAX_EVENT_ID_LENGTH) return { ok: false, message: `event "id" is longer than ${MAX_EVENT_ID_LENGTH} characters` };
  for (const f of ['correlationId', 'eventType', 'topic', 'timeStamp'] as const) {
    if (ev[f] !== undefined && ev[f] !== null && typeof ev[f] !== 'string') return { ok: false, message: `event "${f}" is not a string` };
  }
  if (ev.facts !== undefined && ev.facts !== null && (typeof ev.facts !== 'object' || Array.isArray(ev.facts))) {
    return { ok: false, message: 'event "facts" is not an object' };
  }
  return { ok: true, event: ev as EssEvent, id };
}

/** Compiles an optional filter pattern; an empty pattern matches everything. */
export function compileFilter(pattern: string | undefined, what: string): RegExp | undefined {
  const p = (pattern ?? '').trim();
  if (!p) return undefined;
  try {
    return new RegExp(p);
  } catch (err) {
    throw new Error(`${what} filter is not a valid regular expression: ${(err as Error).message}`);
  }
}

/** True when the event passes both filters (a missing field is matched as the empty string). */
export function matchesFilters(event: EssEvent, topic?: RegExp, eventType?: RegExp): boolean {
  if (topic && !topic.test(event.topic ?? '')) return false;
  if (eventType && !eventType.test(event.eventType ?? '')) return false;
  return true;
}

const EVENT_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Epoch ms of an event's `timeStamp`, or undefined when it is missing or not a
 * date. The topic samples use RFC 3339 UTC (`2021-03-18T23:11:51.034Z`), some
 * `+0000` instead of `Z`, one has nanosecond digits
 * (https://developer.concur.com/event-topics/); a time without a zone is UTC.
 * Both spellings of the field are read (`timeStamp` as documented, `timestamp`).
 */
export function eventTime(event: Record<string, unknown>): number | undefined {
  const raw = typeof event.timeStamp === 'string' ? event.timeStamp : typeof event.timestamp === 'string' ? event.timestamp : undefined;
  const m = raw ? EVENT_TIME.exec(raw.trim()) : null;
  if (!m) return undefined;
  const [, y, mo, d, h, mi, se, frac, zone] = m;
  const ms = frac ? Number((frac + '00').slice(0, 3)) : 0;
  let t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(se), ms);
  if (zone && zone !== 'Z' && zone !== 'z') {
    const z = zone.replace(':', '');
    const off = (Number(z.slice(1, 3)) * 60 + Number(z.slice(3, 5) || '0')) * 60_000;
    t -= z[0] === '+' ? off : -off;
  }
  return Number.isFinite(t) && Number(mo) >= 1 && Number(mo) <= 12 && Number(d) >= 1 && Number(d) <= 31 ? t : undefined;
}
