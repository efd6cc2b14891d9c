/**
 * Minimal XML writing and namespace-agnostic reading for the legacy Concur
 * formats. Writing is hand-rolled so namespaces and element order match the
 * Concur examples exactly; reading uses fast-xml-parser with prefixes stripped.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

/** A child is [name, value]; value null renders `<name i:nil="true"/>` when nil is allowed, else `<name/>`. */
export type XmlValue = string | number | null | undefined | XmlNode[];
export type XmlNode = [name: string, value: XmlValue, attrs?: Record<string, string>];

export function renderNodes(nodes: XmlNode[], indent = '  ', depth = 1, nilAttr = false): string {
  const pad = indent.repeat(depth);
  let out = '';
  for (const [name, value, attrs] of nodes) {
    const a = attrs
      ? Object.entries(attrs)
          .map(([k, v]) => ` ${k}="${escapeXml(v)}"`)
          .join('')
      : '';
    if (value === null || value === undefined) {
      out += `${pad}<${name}${a}${nilAttr && value === null ? ' i:nil="true"' : ''}/>\n`;
    } else if (Array.isArray(value)) {
      out += value.length === 0 ? `${pad}<${name}${a}/>\n` : `${pad}<${name}${a}>\n${renderNodes(value, indent, depth + 1, nilAttr)}${pad}</${name}>\n`;
    } else {
      const text = String(value);
      out += text === '' ? `${pad}<${name}${a}/>\n` : `${pad}<${name}${a}>${escapeXml(text)}</${name}>\n`;
    }
  }
  return out;
}

/** Renders a document with a root element; `attrs` carries the xmlns declarations. */
export function renderDocument(root: string, attrs: Record<string, string>, children: XmlNode[], opts: { nil?: boolean; declaration?: boolean } = {}): string {
  const a = Object.entries(attrs)
    .map(([k, v]) => ` ${k}="${escapeXml(v)}"`)
    .join('');
  const decl = opts.declaration === false ? '' : '<?xml version="1.0" encoding="UTF-8"?>\n';
  return `${decl}<${root}${a}>\n${renderNodes(children, '  ', 1, !!opts.nil)}</${root}>\n`;
}

export class XmlInputError extends Error {}

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  processEntities: true,
  ignoreDeclaration: true,
});

/**
 * Parses an XML request body into plain objects keyed by local names.
 * DOCTYPE is refused outright: Concur never sends one and it is the door to
 * entity-expansion attacks.
 */
export function parseXml(text: string): Record<string, unknown> {
  if (!text.trim()) throw new XmlInputError('the request body is empty; an XML document was expected');
  if (/<!DOCTYPE/i.test(text)) throw new XmlInputError('DOCTYPE declarations are not accepted');
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new XmlInputError(`malformed XML: ${valid.err.msg} (line ${valid.err.line})`);
  const doc = parser.parse(text) as Record<string, unknown>;
  return doc;
}

/** Text of a parsed element: '' for empty elements, undefined when missing. */
export function textOf(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'object' && '#text' in (v as object)) return String((v as Record<string, unknown>)['#text']);
  return '';
}

export function asArray(v: unknown): unknown[] {
  if (v === undefined || v === null || v === '') return [];
  return Array.isArray(v) ? v : [v];
}
