'use strict';
/**
 * Property tests (fast-check) for the ESS Concur-Signature verifier
 * (concur/ess-signature.js): it never throws on any header or body, a valid
 * signature over body B verifies B (PSS with maximum salt, and PKCS#1 v1.5), and
 * it NEVER verifies a body that differs from B by one byte, nor the
 * pretty-printed re-serialization JSON.stringify(JSON.parse(B), null, 2), nor a
 * signature made with another key or the wrong padding when one is required.
 */
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fc = require('fast-check');
const { loadVerificationKeys, verifyEssSignature, decodeSignatureHeader } = require('../../dist/concur/ess-signature');
const { makeKeyPair, signBody, essEvent } = require('../helpers/signed-events');

const SEED = Number(process.env.FUZZ_SEED) || 0x5eed;
const RUNS = Number(process.env.FUZZ_RUNS) || 300;
const opts = (numRuns = RUNS) => ({ numRuns, seed: SEED, endOnFailure: true });
const REASONS = new Set(['missing', 'malformed', 'mismatch', 'no-keys']);

/** Bodies: realistic compact ESS events (with arbitrary field text) and arbitrary bytes. */
const eventBody = fc
  .record({ id: fc.uuid(), comment: fc.string({ unit: 'binary', maxLength: 60 }), size: fc.constantFrom(0, 1024) })
  .map(({ id, comment, size }) => Buffer.from(essEvent(id, { size, facts: { comment } })));
const anyBody = fc.oneof(
  eventBody,
  fc.uint8Array({ minLength: 1, maxLength: 300 }).map((a) => Buffer.from(a)),
);

/** One-byte edits: replace a byte with a different value, delete one, or insert one. */
const oneByteEdit = fc.record({ kind: fc.constantFrom('replace', 'delete', 'insert'), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) });
function applyEdit(body, e) {
  const at = e.at % (body.length + (e.kind === 'insert' ? 1 : 0));
  if (e.kind === 'replace') {
    const b = Buffer.from(body);
    b[at] = b[at] === e.byte ? (e.byte + 1) % 256 : e.byte;
    return b;
  }
  if (e.kind === 'delete') return Buffer.concat([body.subarray(0, at), body.subarray(at + 1)]);
  return Buffer.concat([body.subarray(0, at), Buffer.from([e.byte]), body.subarray(at)]);
}

function check(body, header, keys, padding) {
  let r;
  try {
    r = verifyEssSignature(body, header, keys, padding);
  } catch (err) {
    throw new Error(`verifier threw: ${err && err.stack}`);
  }
  assert.equal(typeof r.ok, 'boolean');
  if (!r.ok) assert.ok(REASONS.has(r.reason), `unknown reason ${r.reason}`);
  return r;
}

describe('fuzz: ESS signature verifier', function () {
  this.timeout(20000);
  let signer;
  let other;
  let keys;

  before(() => {
    signer = makeKeyPair();
    other = makeKeyPair();
    const loaded = loadVerificationKeys([{ id: 'test', text: signer.publicPem }]);
    assert.deepEqual(loaded.errors, []);
    keys = loaded.keys;
  });

  it('a valid signature (PSS max salt, and PKCS#1 v1.5) over B verifies B', () => {
    fc.assert(
      fc.property(anyBody, fc.constantFrom('pss', 'pkcs1'), (body, padding) => {
        const r = check(body, signBody(body, signer.privateKey, padding), keys);
        assert.ok(r.ok, `valid ${padding} signature rejected: ${r.message}`);
        assert.equal(r.padding, padding);
      }),
      opts(),
    );
  });

  it('never accepts a body that differs by one byte', () => {
    fc.assert(
      fc.property(anyBody, oneByteEdit, fc.constantFrom('pss', 'pkcs1'), fc.constantFrom('any', 'pss', 'pkcs1'), (body, edit, padding, mode) => {
        const sig = signBody(body, signer.privateKey, padding);
        const changed = applyEdit(body, edit);
        fc.pre(!changed.equals(body));
        const r = check(changed, sig, keys, mode);
        assert.equal(r.ok, false, `accepted a body with a one-byte ${edit.kind} at ${edit.at}`);
      }),
      opts(),
    );
  });

  it('never accepts the pretty-printed re-serialization of a JSON body', () => {
    fc.assert(
      fc.property(eventBody, fc.constantFrom(2, 4, '\t'), fc.constantFrom('pss', 'pkcs1'), (body, indent, padding) => {
        const pretty = Buffer.from(JSON.stringify(JSON.parse(body.toString('utf8')), null, indent));
        fc.pre(!pretty.equals(body));
        const sig = signBody(body, signer.privateKey, padding);
        assert.equal(check(pretty, sig, keys).ok, false, 'pretty-printed body accepted');
        // Also the other direction: a signature over the pretty form does not cover the compact bytes.
        assert.equal(check(body, signBody(pretty, signer.privateKey, padding), keys).ok, false);
      }),
      opts(),
    );
  });

  it('rejects signatures made with another key, and the wrong padding when one is required', () => {
    fc.assert(
      fc.property(anyBody, (body) => {
        assert.equal(check(body, signBody(body, other.privateKey, 'pss'), keys).reason, 'mismatch');
        assert.equal(check(body, signBody(body, other.privateKey, 'pkcs1'), keys).reason, 'mismatch');
        assert.equal(check(body, signBody(body, signer.privateKey, 'pkcs1'), keys, 'pss').ok, false, 'pkcs1 accepted in pss-only mode');
        assert.equal(check(body, signBody(body, signer.privateKey, 'pss'), keys, 'pkcs1').ok, false, 'pss accepted in pkcs1-only mode');
        assert.equal(check(body, signBody(body, signer.privateKey), [], 'any').reason, 'no-keys');
      }),
      opts(60),
    );
  });

  it('random 256-byte signatures and bit flips of a real signature never verify', () => {
    fc.assert(
      fc.property(eventBody, fc.uint8Array({ minLength: 256, maxLength: 256 }), fc.nat({ max: 256 * 8 - 1 }), (body, rnd, bit) => {
        assert.equal(check(body, Buffer.from(rnd).toString('base64'), keys).ok, false, 'random signature accepted');
        const sig = Buffer.from(signBody(body, signer.privateKey), 'base64');
        sig[bit >> 3] ^= 1 << (bit & 7);
        assert.equal(check(body, sig.toString('base64'), keys).ok, false, `signature with bit ${bit} flipped accepted`);
      }),
      opts(),
    );
  });

  it('any header value (strings, arrays, junk base64) returns a typed result and never throws', () => {
    const header = fc.oneof(
      fc.constant(undefined),
      fc.string({ unit: 'binary', maxLength: 400 }),
      fc.base64String({ maxLength: 700 }),
      fc.array(fc.base64String({ maxLength: 400 }), { maxLength: 5 }),
      fc.string({ maxLength: 10000 }).map((s) => `sha256=${s}`),
      fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a).toString('base64url')),
    );
    fc.assert(
      fc.property(anyBody, header, fc.constantFrom('any', 'pss', 'pkcs1'), (body, h, mode) => {
        const d = decodeSignatureHeader(h);
        assert.equal(typeof d.ok, 'boolean');
        assert.equal(check(body, h, keys, mode).ok, false, `accepted header ${String(JSON.stringify(h)).slice(0, 80)}`);
      }),
      opts(300),
    );
  });

  it('sanity: the verifier is not "always false" and a key check is not skipped for odd inputs', () => {
    const body = Buffer.from(essEvent(crypto.randomUUID()));
    const sig = signBody(body, signer.privateKey);
    assert.ok(check(body, sig, keys).ok);
    assert.ok(check(body, ` ${sig} `, keys).ok, 'surrounding whitespace is tolerated');
    assert.equal(check(body, sig.slice(0, -4), keys).ok, false);
    assert.equal(check(Buffer.alloc(0), sig, keys).ok, false);
  });
});
