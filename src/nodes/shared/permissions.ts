/**
 * Admin-route permission middleware: `RED.auth.needsPermission('<type>.read')`
 * (or `.write`) as Node-RED documents for node admin endpoints
 * (https://nodered.org/docs/creating-nodes/), or a pass-through when the
 * runtime offers no auth API (so routes still register in minimal hosts).
 */
import type { RED } from './red-types';

type Middleware = (req: unknown, res: unknown, next: () => void) => void;

const pass: Middleware = (_req, _res, next) => next();

export function needsPermission(RED: Pick<RED, 'auth'>, permission: `${string}.${'read' | 'write'}`): Middleware {
  return (RED.auth?.needsPermission?.(permission) as Middleware | undefined) ?? pass;
}
