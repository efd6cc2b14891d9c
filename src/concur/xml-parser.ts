/**
 * The one XML parser configuration for everything Concur sends us (callout
 * bodies, legacy API responses), and the DTD check that runs before it.
 */
import { XMLParser } from 'fast-xml-parser';

export const XML_ATTR_PREFIX = '@_';
export const XML_TEXT = '#text';

export const concurXmlParser = new XMLParser({
  removeNSPrefix: true, // namespace-agnostic: Concur mixes prefixed (ns:), default and no namespaces
  ignoreAttributes: false, // keep i:nil (seen on Context in the v1.0 list API)
  attributeNamePrefix: XML_ATTR_PREFIX,
  textNodeName: XML_TEXT,
  parseTagValue: false, // keys like "0012", dates and amounts stay strings, exactly as sent
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true, // predefined entities; declared ones cannot exist (DTDs are refused)
  htmlEntities: true, // numeric character references (&#x2013;) need this in fast-xml-parser
  ignoreDeclaration: true,
  ignorePiTags: true,
});

/**
 * The kind of DTD declaration in `text`, if any. Concur never sends one, and
 * they are how entity-expansion bombs and external entities get in, so callers
 * refuse such documents before parsing.
 */
export function dtdDeclaration(text: string): 'DOCTYPE' | 'ENTITY' | undefined {
  if (/<!\s*DOCTYPE/i.test(text)) return 'DOCTYPE';
  if (/<!\s*ENTITY/i.test(text)) return 'ENTITY';
  return undefined;
}
