'use strict';
/**
 * Unit tests of the legacy <Notification> parser (concur/legacy-notification-xml):
 * namespace-agnostic, any child order, DTD refusal, and a typed error for each
 * class of bad input.
 */
const assert = require('node:assert/strict');
const {
  parseLegacyNotification,
  parseLegacyNotificationText,
  NotificationXmlError,
  decodeXmlBytes,
  charsetOf,
} = require('../../dist/concur/legacy-notification-xml');

const EVENT = 'Report Entered Expense Report Workflow Step - SUBMIT';
const URI = 'https://www.concursolutions.com/api/expense/expensereport/v1.1/reportfulldetails/nAb$pZ%24Key';

// The documented example (docs/concur-api.md#legacy-notification-request), byte for byte apart from the URI.
const DOC_EXAMPLE = `<?xml version="1.0" encoding="UTF-8" ?>
<Notification>
  <EventType>${EVENT}</EventType>
  <ObjectType>EXPRPT</ObjectType>
  <ObjectURI>${URI}</ObjectURI>
  <EventDateTime>2012-05-01</EventDateTime>
  <Context/>
</Notification>`;

const EXPECTED = { eventType: EVENT, objectType: 'EXPRPT', objectURI: URI, eventDateTime: '2012-05-01', context: null };

function rejects(body, code, re) {
  const input = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  let caught;
  try {
    parseLegacyNotification(input);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught, `expected a ${code} error for ${JSON.stringify(String(body).slice(0, 80))}`);
  assert.ok(caught instanceof NotificationXmlError, `typed error, got ${caught && caught.stack}`);
  assert.equal(caught.code, code, caught.message);
  if (re) assert.match(caught.message, re);
  assert.ok(caught.message.length <= 160, 'reason is short');
  return caught;
}

describe('legacy notification XML parser', () => {
  describe('accepts', () => {
    it('the documented example without a namespace', () => {
      const r = parseLegacyNotification(Buffer.from(DOC_EXAMPLE));
      assert.deepEqual(r.notification, EXPECTED);
      assert.equal(r.xml, DOC_EXAMPLE, 'the decoded text is returned unchanged');
    });

    it('a default namespace (as in the v1.0 NotificationList) with shuffled children', () => {
      const xml = `<Notification xmlns="http://www.concursolutions.com/api/notification/2012/06" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
        <Context i:nil="true"/><EventDateTime>2012-11-14T19:45:25</EventDateTime><ObjectURI>${URI}</ObjectURI>
        <EventType>${EVENT}</EventType><ObjectType>EXPRPT</ObjectType></Notification>`;
      assert.deepEqual(parseLegacyNotificationText(xml), { ...EXPECTED, eventDateTime: '2012-11-14T19:45:25' });
    });

    it('prefixed elements (any prefix) and unknown extra elements', () => {
      const xml = `<?xml version="1.0"?><!-- from a proxy --><c:Notification xmlns:c="urn:anything">
        <c:ObjectType>TRAVELREQ</c:ObjectType><c:Extra><c:Deep>ignored</c:Deep></c:Extra>
        <c:ObjectURI>https://www.concursolutions.com/api/travelrequest/v1.0/requests/ABC$123</c:ObjectURI>
        <c:EventType>Request Entered Workflow Step - PRE-EXTRACT</c:EventType><c:EventDateTime>2012-05-01</c:EventDateTime>
        <c:Context>batch 7</c:Context></c:Notification>`;
      assert.deepEqual(parseLegacyNotificationText(xml), {
        eventType: 'Request Entered Workflow Step - PRE-EXTRACT',
        objectType: 'TRAVELREQ',
        objectURI: 'https://www.concursolutions.com/api/travelrequest/v1.0/requests/ABC$123',
        eventDateTime: '2012-05-01',
        context: 'batch 7',
      });
    });

    it('a missing Context as null; entities and CDATA decoded; values kept as strings', () => {
      const xml = `<Notification><EventType>A &amp; B &#x2013; &#8212;x<![CDATA[<raw>]]></EventType><ObjectType>EXPRPT</ObjectType>
        <ObjectURI>  ${URI}  </ObjectURI><EventDateTime>0012</EventDateTime></Notification>`;
      const n = parseLegacyNotificationText(xml);
      assert.equal(n.eventType, 'A & B \u2013 \u2014x<raw>');
      assert.equal(n.objectURI, URI, 'surrounding whitespace trimmed');
      assert.equal(n.eventDateTime, '0012', 'not turned into a number');
      assert.equal(n.context, null);
    });

    it('UTF-8 with BOM, UTF-16LE with BOM, and ISO-8859-1 when declared', () => {
      const withE = DOC_EXAMPLE.replace('SUBMIT', 'SUBMIT é');
      const bom8 = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(withE, 'utf8')]);
      assert.match(parseLegacyNotification(bom8).notification.eventType, /é$/);
      const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(withE.replace('UTF-8', 'UTF-16'), 'utf16le')]);
      assert.match(parseLegacyNotification(utf16).notification.eventType, /é$/);
      const latin1 = Buffer.from(withE.replace('UTF-8', 'ISO-8859-1'), 'latin1');
      assert.match(parseLegacyNotification(latin1).notification.eventType, /é$/);
      // The Content-Type charset wins over the declaration (RFC 7303).
      const declaredWrong = Buffer.from(withE.replace('UTF-8', 'UTF-8'), 'latin1');
      assert.match(parseLegacyNotification(declaredWrong, 'application/xml; charset=ISO-8859-1').notification.eventType, /é$/);
    });
  });

  describe('rejects with a typed, short reason', () => {
    it('an empty or blank body', () => {
      rejects('', 'empty');
      rejects('  \n ', 'empty');
    });

    it('non-XML: JSON, plain text, HTML-ish garbage, truncated XML', () => {
      rejects('{"EventType":"x"}', 'not-xml', /not well-formed/);
      rejects('hello', 'not-xml');
      rejects('<Notification><EventType>x</Notification>', 'not-xml');
      rejects(DOC_EXAMPLE.slice(0, DOC_EXAMPLE.length - 5), 'not-xml');
      rejects('<Notification a=1></Notification>', 'not-xml');
    });

    it('a wrong root, several roots, or a root with the right local name twice', () => {
      rejects(DOC_EXAMPLE.replace(/Notification>/g, 'NotificationList>'), 'wrong-root', /<NotificationList>/);
      rejects('<a/><b/>', 'wrong-root');
      rejects('<Notification/><Notification/>', 'wrong-root');
      rejects(`<NotificationList><Notification>${DOC_EXAMPLE.split('<Notification>')[1]}</NotificationList>`, 'wrong-root');
    });

    for (const name of ['EventType', 'ObjectType', 'ObjectURI', 'EventDateTime']) {
      it(`a missing or empty <${name}>`, () => {
        const re = new RegExp(`<${name}>`);
        rejects(DOC_EXAMPLE.replace(new RegExp(`<${name}>[^<]*</${name}>`), ''), 'missing-element', re);
        rejects(DOC_EXAMPLE.replace(new RegExp(`<${name}>[^<]*</${name}>`), `<${name}>  </${name}>`), 'missing-element', re);
        rejects(DOC_EXAMPLE.replace(new RegExp(`<${name}>[^<]*</${name}>`), `<${name}/>`), 'missing-element', re);
      });
    }

    it('a <Notification/> without children lists every missing element', () => {
      const e = rejects('<Notification/>', 'missing-element');
      for (const n of ['EventType', 'ObjectType', 'ObjectURI', 'EventDateTime']) assert.ok(e.message.includes(`<${n}>`), e.message);
    });

    it('a repeated or nested required element', () => {
      rejects(
        DOC_EXAMPLE.replace('<ObjectType>EXPRPT</ObjectType>', '<ObjectType>EXPRPT</ObjectType><ObjectType>TRAVELREQ</ObjectType>'),
        'invalid-element',
        /more than once/,
      );
      rejects(DOC_EXAMPLE.replace('<ObjectType>EXPRPT</ObjectType>', '<ObjectType><b>EXPRPT</b></ObjectType>'), 'invalid-element', /text/);
    });

    it('DOCTYPE and ENTITY declarations: entity bombs, external entities, even harmless DTDs', () => {
      const bomb = `<?xml version="1.0"?><!DOCTYPE Notification [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>
        <Notification><EventType>&c;</EventType><ObjectType>EXPRPT</ObjectType><ObjectURI>u</ObjectURI><EventDateTime>d</EventDateTime></Notification>`;
      rejects(bomb, 'doctype', /DOCTYPE/);
      const xxe = `<?xml version="1.0"?><!DOCTYPE Notification [<!ENTITY x SYSTEM "file:///etc/passwd">]><Notification><EventType>&x;</EventType></Notification>`;
      rejects(xxe, 'doctype');
      rejects(`<!doctype Notification SYSTEM "http://127.0.0.1:1/evil.dtd">${DOC_EXAMPLE.split('?>')[1]}`, 'doctype');
      rejects(`<Notification><!ENTITY x "y"></Notification>`, 'doctype', /ENTITY/);
      // In UTF-16 too (the check runs on decoded text).
      rejects(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(xxe, 'utf16le')]), 'doctype');
    });

    it('undecodable bytes and unknown encodings', () => {
      rejects(
        Buffer.concat([Buffer.from('<Notification><EventType>'), Buffer.from([0xc3, 0x28]), Buffer.from('</EventType></Notification>')]),
        'encoding',
        /UTF-8/i,
      );
      rejects(Buffer.from('<?xml version="1.0" encoding="x-no-such-charset"?><Notification/>'), 'encoding', /unsupported/);
    });

    it('absurd nesting ends in a typed error, not a crash', () => {
      const deep = '<Notification>' + '<a>'.repeat(50000) + '</a>'.repeat(50000) + '</Notification>';
      assert.throws(() => parseLegacyNotification(Buffer.from(deep)), NotificationXmlError);
    });
  });

  describe('helpers', () => {
    it('charsetOf reads the charset parameter', () => {
      assert.equal(charsetOf('application/xml; charset="ISO-8859-1"'), 'ISO-8859-1');
      assert.equal(charsetOf('text/xml;charset=utf-8'), 'utf-8');
      assert.equal(charsetOf('application/xml'), undefined);
      assert.equal(charsetOf(undefined), undefined);
    });

    it('decodeXmlBytes detects UTF-16BE without a BOM', () => {
      const be = Buffer.from('<a/>', 'utf16le').swap16();
      assert.equal(decodeXmlBytes(be), '<a/>');
    });
  });
});
