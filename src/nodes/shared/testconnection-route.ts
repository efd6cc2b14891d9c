/**
 * `GET /system/v1.0/testconnection`, which Concur calls (with the connector's
 * Basic credentials) when an admin clicks "Test Connection" on an application
 * connector (docs/concur-api.md#legacy-connector-registration).
 *
 * The path is fixed by Concur, so several concur-legacy-notify-in nodes share
 * one route: it is registered when the first node joins, answers 200 if the
 * credentials match ANY joined node, and is removed when the last node leaves.
 */
import { registerRoute, sendText, type RedWithHttp, type RegisteredRoute, type RouteRequest, type RouteResponse } from './http-routes';
import { BASIC_REALM_CHALLENGE, type BasicAuthChecker, type BasicAuthFailure } from '../../concur/basic-auth';

export const TEST_CONNECTION_PATH = '/system/v1.0/testconnection';
const ALLOWED = 'GET, HEAD';

export interface TestConnectionMember {
  id: string;
  checker: BasicAuthChecker;
  /** Called with the outcome for this member (accepted only for the member whose credentials matched). */
  onResult(result: { ok: true } | { ok: false; status: 401 | 405; reason: string }): void;
}

interface Shared {
  route: RegisteredRoute;
  members: Map<string, TestConnectionMember>;
}

/** One registry per process (and per httpNode app), shared by every copy of this module. */
const REGISTRY = Symbol.for('node-red-contrib-sap-concur.testConnection');
type Registry = Map<unknown, Shared>;

function registry(): Registry {
  const g = globalThis as { [REGISTRY]?: Registry };
  return (g[REGISTRY] ??= new Map());
}

const FAILURE_RANK: BasicAuthFailure[] = ['mismatch', 'malformed', 'missing', 'not-configured'];

function handler(shared: Shared) {
  return (req: RouteRequest, res: RouteResponse) => {
    const method = (req.method ?? '').toUpperCase();
    const members = [...shared.members.values()];
    if (method !== 'GET' && method !== 'HEAD') {
      for (const m of members) m.onResult({ ok: false, status: 405, reason: `testconnection: method ${method} not allowed` });
      sendText(res, 405, 'method not allowed', { Allow: ALLOWED });
      return;
    }
    let matched: TestConnectionMember | undefined;
    let worst: BasicAuthFailure = 'not-configured';
    for (const m of members) {
      const r = m.checker.check(req.headers.authorization);
      if (r.ok) {
        matched ??= m;
      } else if (FAILURE_RANK.indexOf(r.reason) < FAILURE_RANK.indexOf(worst)) {
        worst = r.reason;
      }
    }
    if (matched) {
      matched.onResult({ ok: true });
      sendText(res, 200, 'OK');
      return;
    }
    for (const m of members) m.onResult({ ok: false, status: 401, reason: `testconnection: ${worst}` });
    sendText(res, 401, 'unauthorized', { 'WWW-Authenticate': BASIC_REALM_CHALLENGE });
  };
}

/** Joins the shared testconnection route; call leave() from the node's close handler. */
export function joinTestConnection(RED: RedWithHttp, member: TestConnectionMember, onError: (err: unknown) => void): { path: string; leave(): void } {
  const reg = registry();
  let shared = reg.get(RED.httpNode);
  if (!shared) {
    const s = { members: new Map<string, TestConnectionMember>() } as Shared;
    s.route = registerRoute(RED, { methods: ['GET'], path: TEST_CONNECTION_PATH, allMethods: true }, handler(s), onError);
    reg.set(RED.httpNode, s);
    shared = s;
  }
  shared.members.set(member.id, member);
  const mine = shared;
  let left = false;
  return {
    path: mine.route.fullPath,
    leave() {
      if (left) return;
      left = true;
      if (mine.members.get(member.id) === member) mine.members.delete(member.id);
      if (mine.members.size === 0) {
        mine.route.remove();
        if (reg.get(RED.httpNode) === mine) reg.delete(RED.httpNode);
      }
    },
  };
}
