/**
 * XML for the legacy Expense v1.1 / v2.0 and Notification v1.0 APIs
 * (docs/concur-api.md#notification-api, #report-details, #legacy-exceptions, #legacy-workflow-action): parsing responses to plain JSON with
 * namespace prefixes dropped, and building the two request bodies we send.
 */
import { concurXmlParser as parser, dtdDeclaration } from './xml-parser';

/** Namespace of the v1.1 request bodies (Exceptions, WorkflowAction). */
export const EXPENSE_2011_NS = 'http://www.concursolutions.com/api/expense/expensereport/2011/03';

export class LegacyXmlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LegacyXmlError';
  }
}

/** Drops xmlns attributes, maps i:nil="true" to null and collapses text-only elements to strings. */
function simplify(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(simplify);
  if (!v || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  if (o['@_nil'] === 'true') return null;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(o)) {
    if (k.startsWith('@_')) {
      const name = k.slice(2);
      if (name === 'xmlns' || name.startsWith('xmlns:') || name === 'nil') continue;
      out[k] = val;
    } else out[k] = simplify(val);
  }
  const keys = Object.keys(out);
  if (keys.length === 1 && keys[0] === '#text') return out['#text'];
  if (keys.length === 0) return '';
  return out;
}

/**
 * Parses an XML document to `{ root: <name>, value }`. DOCTYPE/ENTITY
 * declarations are refused: Concur never sends them and they are how entity
 * expansion attacks get in.
 */
export function parseLegacyXml(text: string): { root: string; value: any } {
  const s = text.replace(/^\uFEFF/, '');
  if (dtdDeclaration(s)) throw new LegacyXmlError('XML with a DOCTYPE or ENTITY declaration is refused');
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(s, true) as Record<string, unknown>;
  } catch (err) {
    throw new LegacyXmlError(
      `response is not well-formed XML: ${String((err as Error)?.message ?? err)
        .split('\n')[0]
        .slice(0, 160)}`,
    );
  }
  const roots = Object.keys(doc).filter((k) => !k.startsWith('?') && !k.startsWith('#'));
  if (roots.length !== 1) throw new LegacyXmlError('response XML has no single root element');
  return { root: roots[0], value: simplify(doc[roots[0]]) };
}

/** Always an array (fast-xml-parser returns a single object for one child). */
export function asArray<T>(v: T | T[] | undefined | null | ''): T[] {
  if (v === undefined || v === null || v === '') return [];
  return Array.isArray(v) ? v : [v];
}

export function escapeXml(s: string): string {
  // Control characters other than tab/CR/LF are not allowed in XML 1.0 at all.
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '');
  return clean.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

export interface LegacyExceptionItem {
  objectType: 'Report' | 'Entry' | 'Allocation';
  objectId: string;
  exceptionCode: string;
}

/** `<Exceptions>` body of "Post Expense Report Exceptions" v1.1 (docs/concur-api.md#legacy-exceptions); Index is 1-based. */
export function buildExceptionsXml(items: LegacyExceptionItem[]): string {
  const rows = items.map(
    (e, i) =>
      `<Exception><Index>${i + 1}</Index><ObjectType>${escapeXml(e.objectType)}</ObjectType>` +
      (e.objectId ? `<ObjectId>${escapeXml(e.objectId)}</ObjectId>` : '<ObjectId/>') +
      `<ExceptionCode>${escapeXml(e.exceptionCode)}</ExceptionCode></Exception>`,
  );
  return `<?xml version="1.0" encoding="utf-8"?>\n<Exceptions xmlns="${EXPENSE_2011_NS}">${rows.join('')}</Exceptions>`;
}

/** `<WorkflowAction>` body of "Post Report Workflow Action" v1.1 (docs/concur-api.md#legacy-workflow-action). */
export function buildWorkflowActionXml(action: string, comment: string | undefined): string {
  return (
    `<?xml version="1.0" encoding="utf-8"?>\n<WorkflowAction xmlns="${EXPENSE_2011_NS}">` +
    `<Action>${escapeXml(action)}</Action>` +
    (comment ? `<Comment>${escapeXml(comment)}</Comment>` : '') +
    `</WorkflowAction>`
  );
}

/** True when a Content-Type (or a body sniff) says XML. */
export function looksLikeXml(contentType: string | undefined, body: string): boolean {
  if (contentType && /[/+]xml\b/i.test(contentType)) return true;
  if (contentType && /json/i.test(contentType)) return false;
  return /^\s*(\uFEFF)?</.test(body);
}
