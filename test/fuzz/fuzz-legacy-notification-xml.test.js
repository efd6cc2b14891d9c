'use strict';
/**
 * Property tests (fast-check) for the legacy callout XML parser
 * (concur/legacy-notification-xml.js). The contract: for ANY bytes it either
 * returns a notification or throws NotificationXmlError with a known code;
 * nothing else escapes (a TypeError or RangeError here would surface as a 500
 * or, on an unguarded path, a dead Node-RED). Well-formed notifications with
 * arbitrary (escaped) field text parse back to exactly that text.
 */
const assert = require('node:assert/strict');
const fc = require('fast-check');
const { parseLegacyNotification, parseLegacyNotificationText, NotificationXmlError } = require('../../dist/concur/legacy-notification-xml');

const CODES = new Set(['empty', 'encoding', 'doctype', 'not-xml', 'wrong-root', 'missing-element', 'invalid-element']);
const SEED = Number(process.env.FUZZ_SEED) || 0x5eed;
const RUNS = Number(process.env.FUZZ_RUNS) || 300;
const opts = (numRuns = RUNS) => ({ numRuns, seed: SEED, endOnFailure: true });

const VALID = Buffer.from(
  '<?xml version="1.0" encoding="UTF-8" ?>\n<Notification>\n' +
    '  <EventType>Report Entered Expense Report Workflow Step - SUBMIT</EventType>\n' +
    '  <ObjectType>EXPRPT</ObjectType>\n' +
    '  <ObjectURI>https://www.concursolutions.com/api/expense/expensereport/v1.1/reportfulldetails/nAd$pGR%24pSF</ObjectURI>\n' +
    '  <EventDateTime>2012-05-01</EventDateTime>\n  <Context/>\n</Notification>\n',
);

/** Runs the parser; returns the result or the typed error, fails on anything else. */
function parseOrTypedError(buf, contentType) {
  try {
    const r = parseLegacyNotification(Buffer.from(buf), contentType);
    for (const k of ['eventType', 'objectType', 'objectURI', 'eventDateTime']) assert.equal(typeof r.notification[k], 'string', k);
    assert.ok(r.notification.context === null || typeof r.notification.context === 'string');
    return r;
  } catch (err) {
    if (!(err instanceof NotificationXmlError)) throw new Error(`untyped error escaped: ${err && err.stack}`);
    assert.ok(CODES.has(err.code), `unknown code ${err.code}`);
    assert.ok(typeof err.message === 'string' && err.message.length > 0 && err.message.length <= 200, 'short message');
    return err;
  }
}

function escapeXml(s) {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

// Characters XML 1.0 allows in text, minus CR (XML normalises CR/CRLF to LF).
const xmlTextChar = fc.oneof(
  fc.constantFrom('\t', '\n', ' ', '&', '<', '>', '"', "'", ';', '#', '$', '%', ']', '/'),
  fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0xa0, max: 0xd7ff }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0x10000, max: 0x10ffff }).map((c) => String.fromCodePoint(c)),
);
const fieldText = fc
  .array(xmlTextChar, { minLength: 1, maxLength: 40 })
  .map((a) => a.join(''))
  .filter((s) => s.trim() !== '');

/** Byte-level edits of a valid body: the parser sees near-misses, not just noise. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip'), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('delete'), at: fc.nat(), len: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ kind: fc.constant('insert'), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 20 }) }),
  fc.record({ kind: fc.constant('truncate'), at: fc.nat() }),
);
function mutate(buf, ms) {
  let b = Buffer.from(buf);
  for (const m of ms) {
    const at = b.length ? m.at % (b.length + 1) : 0;
    if (m.kind === 'flip' && b.length) b[at % b.length] = m.byte;
    else if (m.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len)]);
    else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
    else if (m.kind === 'truncate') b = b.subarray(0, at);
  }
  return b;
}

describe('fuzz: legacy notification XML parser', function () {
  this.timeout(20000);

  it('sanity: the valid body parses and the generator reaches every error path', () => {
    const ok = parseOrTypedError(VALID);
    // @ts-expect-error reads the variant (or the caught error) that the assertions pin down
    assert.equal(ok.notification.objectType, 'EXPRPT');
    const seen = new Set();
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (ms) => {
        const r = parseOrTypedError(mutate(VALID, ms));
        seen.add(r instanceof NotificationXmlError ? r.code : 'ok');
      }),
      opts(600),
    );
    // If the mutator only ever hit one branch the other properties would prove little.
    for (const c of ['ok', 'not-xml']) assert.ok(seen.has(c), `mutations reached "${c}" (saw ${[...seen]})`);
  });

  it('arbitrary bytes: a notification or a NotificationXmlError, nothing else', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 512 }),
        fc.constantFrom(undefined, 'application/xml', 'text/xml; charset=utf-8', 'application/xml; charset=latin1', 'text/xml; charset=bogus-9'),
        (bytes, ct) => {
          parseOrTypedError(bytes, ct);
        },
      ),
      opts(),
    );
  });

  it('arbitrary Unicode text (as UTF-8 and UTF-16) never escapes untyped', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => {
        parseOrTypedError(Buffer.from(s, 'utf8'));
        parseOrTypedError(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s, 'utf16le')]));
        try {
          parseLegacyNotificationText(s);
        } catch (err) {
          assert.ok(err instanceof NotificationXmlError, String(err && err.stack));
        }
      }),
      opts(),
    );
  });

  it('byte mutations of a valid notification never escape untyped', () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), (ms) => {
        parseOrTypedError(mutate(VALID, ms));
      }),
      opts(),
    );
  });

  it('a DOCTYPE or ENTITY declaration anywhere is refused with code "doctype"', () => {
    const decl = fc.constantFrom(
      '<!DOCTYPE Notification>',
      '<!DOCTYPE Notification [ <!ENTITY a "b"> ]>',
      '<!doctype Notification SYSTEM "http://127.0.0.1:9/x.dtd">',
      '<!ENTITY % p SYSTEM "file:///etc/passwd">',
      '<! DOCTYPE x>',
    );
    const xml = VALID.toString('utf8');
    fc.assert(
      fc.property(decl, fc.nat(), (d, at) => {
        const i = at % (xml.length + 1);
        const r = parseOrTypedError(Buffer.from(xml.slice(0, i) + d + xml.slice(i)));
        // @ts-expect-error reads the variant (or the caught error) that the assertions pin down
        assert.ok(r instanceof NotificationXmlError && r.code === 'doctype', `accepted or misclassified: ${r.code || 'ok'}`);
      }),
      opts(),
    );
  });

  it('well-formed notifications with arbitrary escaped text parse back to that text (trimmed)', () => {
    fc.assert(
      fc.property(
        fc.record({
          EventType: fieldText,
          ObjectType: fieldText,
          ObjectURI: fieldText,
          EventDateTime: fieldText,
          Context: fc.option(fieldText, { nil: null }),
        }),
        fc.boolean(),
        fc.boolean(),
        (f, withNs, shuffled) => {
          const names = ['EventType', 'ObjectType', 'ObjectURI', 'EventDateTime', 'Context'];
          if (shuffled) names.reverse();
          const kids = names.map((n) => (f[n] === null ? `<${n}/>` : `<${n}>${escapeXml(f[n])}</${n}>`)).join('\n  ');
          const ns = withNs ? ' xmlns="http://www.concursolutions.com/api/notification/2012/06"' : '';
          const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Notification${ns}>\n  ${kids}\n</Notification>`;
          const r = parseOrTypedError(Buffer.from(xml));
          // @ts-expect-error reads the variant (or the caught error) that the assertions pin down
          assert.ok(!(r instanceof NotificationXmlError), `rejected a well-formed notification: ${r.message}\n${xml}`);
          const n = r.notification;
          assert.equal(n.eventType, f.EventType.trim());
          assert.equal(n.objectType, f.ObjectType.trim());
          assert.equal(n.objectURI, f.ObjectURI.trim());
          assert.equal(n.eventDateTime, f.EventDateTime.trim());
          assert.equal(n.context, f.Context === null ? null : f.Context.trim());
        },
      ),
      opts(),
    );
  });

  it('deep nesting and long inputs end in a typed error, not a stack overflow', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20000 }), fc.constantFrom('a', 'Context', 'x:y'), (depth, tag) => {
        const xml = `<Notification><Context>${`<${tag}>`.repeat(depth)}v${`</${tag}>`.repeat(depth)}</Context></Notification>`;
        parseOrTypedError(Buffer.from(xml));
      }),
      opts(40),
    );
  });
});
