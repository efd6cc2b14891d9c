/**
 * The one rule for the paths our receivers listen on, used by registerRoute
 * (so every route is checked), by both receiver nodes, and served to the editor
 * (editor-rules.ts) so the dialog checks exactly what the runtime checks.
 *
 * A path is literal: letters, digits and `. _ ~ - / %` only, so nothing Express
 * would read as a pattern (`:id`, `*`, `(`, `?`) can slip in. Paths are
 * normalised to one leading slash, no repeated or trailing slash. Express
 * matches paths case-insensitively, so two paths that differ only in case are
 * the same route (routeKey).
 */

/** Characters allowed in a configured path, as a regular-expression source (shared with the editor). */
export const RECEIVER_PATH_PATTERN = '^/[A-Za-z0-9._~\\-/%]*$';
const PATH_OK = new RegExp(RECEIVER_PATH_PATTERN);

/** Thrown by registerRoute for a path it cannot serve literally. */
export class InvalidPathError extends Error {
  constructor(readonly path: string) {
    super(`invalid path "${path}": use letters, digits and . _ ~ - / % only`);
    this.name = 'InvalidPathError';
  }
}

/** One leading slash, no repeated slashes, no trailing slash (except the root itself). */
export function normalizePath(p: string): string {
  const s = `/${p}`.replace(/\/{2,}/g, '/');
  return s.length > 1 ? s.replace(/\/$/, '') : s;
}

/** The configured value, trimmed and normalised; `fallback` when it is empty. */
export function configuredPath(raw: unknown, fallback: string): string {
  return normalizePath(String(raw ?? '').trim() || fallback);
}

/** True when a (normalised) path contains only the allowed characters. */
export function isValidPath(path: string): boolean {
  return PATH_OK.test(path);
}

/** How the express app matches paths ('case sensitive routing' / 'strict routing', both off by default). */
export interface RoutingOptions {
  caseSensitive?: boolean;
  strict?: boolean;
}

/**
 * The one key under which a route is registered (claims, raw-body capture) and a
 * request is looked up, matching the way Express routes: case-insensitive and
 * with an optional trailing slash unless the app enables 'case sensitive
 * routing' / 'strict routing' (https://expressjs.com/en/api.html#app.settings.table).
 * A body capture keyed more strictly than Express routes would let a request to
 * /Concur/ESS reach the handler without its body.
 */
export function routeKey(pathname: string, o: RoutingOptions = {}): string {
  let p = pathname || '/';
  if (!o.strict && p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  return o.caseSensitive ? p : p.toLowerCase();
}
