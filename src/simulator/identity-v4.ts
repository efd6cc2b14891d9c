/**
 * Identity v4 (SCIM) user reads: GET /profile/identity/v4/Users/{id} and
 * GET /profile/identity/v4/Users?filter=userName|employeeNumber|externalId eq "…"
 * with startIndex/count paging (ListResponse), as documented in
 * https://developer.concur.com/api-reference/profile/v4.identity.html
 */
import { ApiError, type Reply } from './api-error';
import { safeDecode } from './http-util';
import type { SimUser } from './model';
import type { RequestContext, Route } from './routes';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

export function identityUserJson(ctx: RequestContext, u: SimUser): Record<string, unknown> {
  const base = ctx.sim.baseUrl();
  const manager = u.managerUserId ? ctx.sim.state.user(u.managerUserId) : undefined;
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE],
    id: u.userId,
    userName: u.loginId,
    displayName: `${u.firstName} ${u.lastName}`,
    name: { givenName: u.firstName, familyName: u.lastName, formatted: `${u.firstName} ${u.lastName}` },
    active: true,
    emails: u.email ? [{ type: 'work', value: u.email, verified: true, notifications: true }] : [],
    externalId: u.employeeId ? `ext-${u.employeeId}` : null,
    preferredLanguage: 'en-US',
    timezone: 'Europe/Berlin',
    meta: {
      resourceType: 'User',
      created: '2024-01-02T09:00:00.000Z',
      lastModified: '2026-01-05T09:00:00.000Z',
      version: 3,
      location: `${base}/profile/identity/v4/Users/${u.userId}`,
    },
    [ENTERPRISE]: {
      companyId: ctx.sim.state.companyId,
      employeeNumber: u.employeeId ?? null,
      manager: manager
        ? {
            value: manager.userId,
            displayName: `${manager.firstName} ${manager.lastName}`,
            employeeNumber: manager.employeeId ?? null,
            $ref: `${base}/profile/identity/v4/Users/${manager.userId}`,
          }
        : null,
      costCenter: null,
      startDate: '2024-01-02T00:00:00.000',
      terminationDate: null,
    },
  };
}

function getOne(ctx: RequestContext): Reply {
  const id = safeDecode(ctx.params[0]);
  const u = ctx.sim.state.user(id);
  if (!u) throw new ApiError(404, `User ${id} not found`);
  return { status: 200, body: identityUserJson(ctx, u) };
}

function list(ctx: RequestContext): Reply {
  let users = [...ctx.sim.state.users];
  const filter = ctx.query.get('filter');
  if (filter !== null) {
    const m = /^\s*(userName|employeeNumber|externalId)\s+eq\s+"([^"]*)"\s*$/i.exec(filter);
    if (!m) throw new ApiError(400, `unsupported filter ${filter.slice(0, 80)}: supported are userName, employeeNumber and externalId with eq "value"`);
    const attr = m[1].toLowerCase();
    const v = m[2].toLowerCase();
    users = users.filter(
      (u) =>
        (attr === 'username' ? u.loginId : attr === 'employeenumber' ? (u.employeeId ?? '') : u.employeeId ? `ext-${u.employeeId}` : '').toLowerCase() === v,
    );
  }
  const count = Number(ctx.query.get('count') ?? 10);
  const start = Number(ctx.query.get('startIndex') ?? 1);
  if (!Number.isInteger(count) || count < 1 || count > 100) throw new ApiError(400, 'count must be an integer from 1 to 100');
  if (!Number.isInteger(start) || start < 1) throw new ApiError(400, 'startIndex must be an integer from 1');
  const page = users.slice(start - 1, start - 1 + count);
  return {
    status: 200,
    body: {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
      totalResults: users.length,
      startIndex: start,
      itemsPerPage: page.length,
      Resources: page.map((u) => identityUserJson(ctx, u)),
    },
  };
}

export function identityRoutes(): Route[] {
  return [
    { method: 'GET', pattern: /^\/profile\/identity\/v4\/Users\/?$/, family: 'scim', auth: true, handler: list },
    { method: 'GET', pattern: /^\/profile\/identity\/v4\/Users\/([^/]+)$/, family: 'scim', auth: true, handler: getOne },
  ];
}
