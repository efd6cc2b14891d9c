/**
 * Parser for the legacy Event Notification callout body (docs/concur-api.md#legacy-notification-request):
 *
 *   <Notification>
 *     <EventType>…</EventType> <ObjectType>EXPRPT</ObjectType> <ObjectURI>…</ObjectURI>
 *     <EventDateTime>2012-05-01</EventDateTime> <Context/>
 *   </Notification>
 *
 * The documented callout has no namespace, while the v1.0 list API puts the
 * same element in `http://www.concursolutions.com/api/notification/2012/06`, so
 * we match local names only and accept any child order. DOCTYPE and ENTITY
 * declarations are refused before any parsing: Concur never sends them, and
 * they are how XML bombs and external-entity attacks get in.
 */
import { XMLValidator } from 'fast-xml-parser';
import { concurXmlParser as parser, dtdDeclaration, XML_ATTR_PREFIX, XML_TEXT } from './xml-parser';
import type { LegacyNotification } from './notification-fields';
import { isObject } from './objects';

export type NotificationXmlErrorCode = 'empty' | 'encoding' | 'doctype' | 'not-xml' | 'wrong-root' | 'missing-element' | 'invalid-element';

/** A rejected body; `message` is short, safe to show to the sender and in a status badge. */
export class NotificationXmlError extends Error {
  constructor(
    readonly code: NotificationXmlErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'NotificationXmlError';
  }
}

export interface ParsedLegacyNotification {
  notification: LegacyNotification;
  /** The body as decoded text (what msg.concur.rawBody carries). */
  xml: string;
}

export const NOTIFICATION_ROOT = 'Notification';
const REQUIRED = ['EventType', 'ObjectType', 'ObjectURI', 'EventDateTime'] as const;
const ATTR = XML_ATTR_PREFIX;
const TEXT = XML_TEXT;
const MAX_REASON = 160;

function clip(s: string): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > MAX_REASON ? one.slice(0, MAX_REASON - 1) + '…' : one;
}

/** Encoding named in the XML declaration, read from the ASCII-compatible prefix. */
function declaredEncoding(buf: Buffer): string | undefined {
  const head = buf.subarray(0, 200).toString('latin1');
  const m = /^\s*<\?xml\s[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']/.exec(head);
  return m?.[1];
}

/**
 * Bytes → text. Precedence: byte-order mark, then the Content-Type charset
 * (RFC 7303 lets it override the declaration), then the XML declaration, then UTF-8.
 */
export function decodeXmlBytes(buf: Buffer, contentTypeCharset?: string): string {
  let label: string | undefined;
  let start = 0;
  if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
    label = 'utf-8';
    start = 3;
  } else if (buf[0] === 0xff && buf[1] === 0xfe) {
    label = 'utf-16le';
    start = 2;
  } else if (buf[0] === 0xfe && buf[1] === 0xff) {
    label = 'utf-16be';
    start = 2;
  } else if (buf[0] === 0x3c && buf[1] === 0x00) {
    label = 'utf-16le';
  } else if (buf[0] === 0x00 && buf[1] === 0x3c) {
    label = 'utf-16be';
  } else {
    label = contentTypeCharset?.trim() || declaredEncoding(buf) || 'utf-8';
  }
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(label, { fatal: true });
  } catch {
    throw new NotificationXmlError('encoding', `unsupported character encoding "${clip(label)}"`);
  }
  try {
    return decoder.decode(buf.subarray(start));
  } catch {
    throw new NotificationXmlError('encoding', `body is not valid ${decoder.encoding}`);
  }
}

/** The charset parameter of a Content-Type header, if any. */
export function charsetOf(contentType: string | undefined): string | undefined {
  const m = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '');
  return m?.[1];
}

/** Refuses DTDs outright (XML bombs, external entities); never expanded, never fetched. */
export function assertNoDtd(xml: string): void {
  const dtd = dtdDeclaration(xml);
  if (dtd) throw new NotificationXmlError('doctype', `${dtd} declarations are not allowed`);
}

type Node = string | Record<string, unknown> | unknown[];

/** Text of a leaf element; null for <X/> or xsi:nil; throws for nested elements or repeats. */
function leafText(name: string, v: Node | undefined): string | null | undefined {
  if (v === undefined) return undefined;
  if (Array.isArray(v)) throw new NotificationXmlError('invalid-element', `<${name}> appears more than once`);
  if (typeof v === 'string') return v === '' ? null : v;
  if (isObject(v)) {
    const children = Object.keys(v).filter((k) => k !== TEXT && !k.startsWith(ATTR));
    if (children.length > 0) throw new NotificationXmlError('invalid-element', `<${name}> must contain text, not elements`);
    if (String(v[`${ATTR}nil`]).toLowerCase() === 'true') return null;
    const t = v[TEXT];
    return t === undefined || t === '' ? null : String(t);
  }
  return String(v);
}

/** Parses the decoded XML text of one notification. */
export function parseLegacyNotificationText(xml: string): LegacyNotification {
  if (xml.trim() === '') throw new NotificationXmlError('empty', 'empty body (expected <Notification> XML)');
  assertNoDtd(xml);
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    const e = valid.err;
    throw new NotificationXmlError('not-xml', clip(`not well-formed XML: ${e.msg} (line ${e.line}, column ${e.col})`));
  }
  let doc: unknown;
  try {
    doc = parser.parse(xml);
  } catch (err) {
    // e.g. RangeError from absurd nesting depth: still just a bad body.
    throw new NotificationXmlError('not-xml', clip(`not parseable XML: ${(err as Error).message}`));
  }
  if (!isObject(doc)) throw new NotificationXmlError('not-xml', 'not parseable XML');
  const roots = Object.keys(doc);
  if (roots.length !== 1 || Array.isArray(doc[roots[0]])) {
    throw new NotificationXmlError('wrong-root', 'expected exactly one root element <Notification>');
  }
  if (roots[0] !== NOTIFICATION_ROOT) {
    throw new NotificationXmlError('wrong-root', clip(`root element is <${roots[0]}>, expected <Notification>`));
  }
  const rootValue = doc[roots[0]];
  const body: Record<string, unknown> = isObject(rootValue) ? rootValue : {};

  const values: Partial<Record<(typeof REQUIRED)[number] | 'Context', string | null>> = {};
  const missing: string[] = [];
  for (const name of REQUIRED) {
    const t = leafText(name, body[name] as Node | undefined);
    if (t === undefined || t === null) missing.push(name);
    else values[name] = t;
  }
  if (missing.length > 0) {
    throw new NotificationXmlError('missing-element', `missing or empty: ${missing.map((m) => `<${m}>`).join(', ')}`);
  }
  const context = leafText('Context', body.Context as Node | undefined);
  return {
    eventType: values.EventType as string,
    objectType: values.ObjectType as string,
    objectURI: values.ObjectURI as string,
    eventDateTime: values.EventDateTime as string,
    // <Context/> and a missing Context both become null, as in the v1.0 API's JSON ("Context":null).
    context: context ?? null,
  };
}

/** Bytes of a callout body → notification. Throws NotificationXmlError for any bad input. */
export function parseLegacyNotification(body: Buffer, contentType?: string): ParsedLegacyNotification {
  if (body.length === 0) throw new NotificationXmlError('empty', 'empty body (expected <Notification> XML)');
  const xml = decodeXmlBytes(body, charsetOf(contentType));
  return { notification: parseLegacyNotificationText(xml), xml };
}
