/** A plain JSON-like object (not null, not an array): the shape checks of msg fields and parsed documents. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
