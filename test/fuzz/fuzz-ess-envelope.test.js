'use strict';
/**
 * Property tests (fast-check) for the ESS envelope parser
 * (concur/ess-envelope.js): for ANY bytes it returns { ok, … } and never
 * throws; it accepts exactly the JSON objects with a usable string id (or a
 * finite number); it never pollutes prototypes; valid events come back with the
 * same id and fields.
 */
const assert = require('node:assert/strict');
const fc = require('fast-check');
const { parseEssEnvelope, validateEssEvent, MAX_EVENT_ID_LENGTH } = require('../../dist/concur/ess-envelope');
const { essEvent } = require('../helpers/signed-events');

const SEED = Number(process.env.FUZZ_SEED) || 0x5eed;
const RUNS = Number(process.env.FUZZ_RUNS) || 400;
const opts = (numRuns = RUNS) => ({ numRuns, seed: SEED, endOnFailure: true });

function parse(buf) {
  let r;
  try {
    r = parseEssEnvelope(Buffer.from(buf));
  } catch (err) {
    throw new Error(`parser threw: ${err && err.stack}`);
  }
  assert.equal(typeof r.ok, 'boolean');
  if (r.ok) {
    assert.equal(typeof r.id, 'string');
    assert.ok(r.id.trim().length > 0 && r.id.length <= MAX_EVENT_ID_LENGTH);
    assert.equal(typeof r.event, 'object');
  } else {
    assert.ok(typeof r.message === 'string' && r.message.length > 0 && r.message.length < 400, 'short message');
  }
  return r;
}

/** The acceptance rule, written independently of the implementation. */
function shouldAccept(v) {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const id = typeof v.id === 'number' && Number.isFinite(v.id) ? String(v.id) : v.id;
  if (typeof id !== 'string' || id.trim() === '' || id.length > MAX_EVENT_ID_LENGTH) return false;
  for (const f of ['correlationId', 'eventType', 'topic', 'timeStamp']) if (v[f] !== undefined && v[f] !== null && typeof v[f] !== 'string') return false;
  if (v.facts !== undefined && v.facts !== null && (typeof v.facts !== 'object' || Array.isArray(v.facts))) return false;
  return true;
}

describe('fuzz: ESS envelope parser', function () {
  this.timeout(20000);

  it('arbitrary bytes: a result object, never a throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        parse(bytes);
      }),
      opts(),
    );
  });

  it('arbitrary JSON values: accepted exactly when they are event objects with a usable id', () => {
    const idish = fc.oneof(
      fc.uuid(),
      fc.string({ maxLength: 300 }),
      fc.integer(),
      fc.double(),
      fc.constant(null),
      fc.boolean(),
      fc.array(fc.string(), { maxLength: 2 }),
    );
    const candidate = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.record(
        {
          id: idish,
          eventType: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
          topic: fc.oneof(fc.string(), fc.constant(null), fc.array(fc.string(), { maxLength: 1 })),
          facts: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 })), fc.array(fc.integer(), { maxLength: 2 }), fc.string(), fc.constant(null)),
        },
        { requiredKeys: [] },
      ),
    );
    fc.assert(
      fc.property(candidate, (v) => {
        const r = parse(Buffer.from(JSON.stringify(v) ?? 'null'));
        const json = JSON.parse(JSON.stringify(v) ?? 'null'); // what the parser actually sees
        assert.equal(r.ok, shouldAccept(json), `ok=${r.ok} for ${JSON.stringify(v).slice(0, 200)}`);
        if (r.ok) assert.equal(r.id, typeof json.id === 'number' ? String(json.id) : json.id);
        assert.equal(validateEssEvent(json).ok, r.ok);
      }),
      opts(),
    );
  });

  it('real-shaped events parse back with the same id and fields (with and without a BOM, compact or pretty)', () => {
    fc.assert(
      fc.property(fc.uuid(), fc.string({ unit: 'binary', maxLength: 80 }), fc.boolean(), fc.boolean(), (id, comment, bom, pretty) => {
        const compact = essEvent(id, { facts: { comment } });
        const text = pretty ? JSON.stringify(JSON.parse(compact), null, 2) : compact;
        const buf = Buffer.concat([bom ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0), Buffer.from(text)]);
        const r = parse(buf);
        assert.ok(r.ok, r.message);
        assert.equal(r.id, id);
        assert.deepEqual(r.event, JSON.parse(compact));
      }),
      opts(),
    );
  });

  it('byte mutations of a valid event never throw; invalid UTF-8 is refused', () => {
    const base = Buffer.from(essEvent('0490b3fb-5c4e-4b47-9a3a-2f3c1d1e0001'));
    fc.assert(
      fc.property(fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 5 }), (edits) => {
        const b = Buffer.from(base);
        for (const e of edits) b[e.at % b.length] = e.byte;
        const r = parse(b);
        let utf8 = true;
        try {
          new TextDecoder('utf-8', { fatal: true }).decode(b);
        } catch {
          utf8 = false;
        }
        if (!utf8) assert.equal(r.ok, false, 'accepted invalid UTF-8');
      }),
      opts(),
    );
  });

  it('__proto__ / constructor keys never pollute Object.prototype', () => {
    fc.assert(
      fc.property(fc.uuid(), fc.constantFrom('__proto__', 'constructor', 'prototype'), fc.jsonValue({ maxDepth: 2 }), (id, key, val) => {
        const text = `{"${key}":{"polluted":${JSON.stringify(val)},"prototype":{"polluted":1}},"id":"${id}"}`;
        const r = parse(Buffer.from(text));
        assert.ok(r.ok);
        assert.equal({}.polluted, undefined, 'Object.prototype polluted');
        // biome-ignore lint/suspicious/noPrototypeBuiltins: checks Object.prototype itself for pollution
        assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
      }),
      opts(100),
    );
  });

  it('deeply nested JSON ends in a result, not a stack overflow', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100000 }), fc.constantFrom('[', '{"a":'), (depth, open) => {
        const close = open === '[' ? ']' : '}';
        parse(Buffer.from(`{"id":"x","facts":{"n":${open.repeat(depth)}1${close.repeat(depth)}}}`));
      }),
      opts(20),
    );
  });
});
