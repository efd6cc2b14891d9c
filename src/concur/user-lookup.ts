/**
 * User lookup through Identity v4 (SCIM), with a small time-bounded cache:
 * by user UUID `GET /profile/identity/v4/Users/{id}`, by login id
 * `GET /profile/identity/v4/Users?filter=userName eq "…"`, by employee id
 * `…?filter=employeeNumber eq "…"`.
 * https://developer.concur.com/api-reference/profile/v4.identity.html
 * Scopes: identity.user.ids.read, identity.user.core.read (name, e-mail),
 * identity.user.enterprise.read (employee number, manager); company token only.
 */
import { ConcurError, invalidInput } from './concur-error';
import type { ConcurApi } from './api-types';
import { pathSegment, requiredId } from './path-segment';

export type LookupBy = 'id' | 'loginId' | 'employeeId';
export const LOOKUP_BY: readonly LookupBy[] = ['id', 'loginId', 'employeeId'];
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

export function lookupPath(by: LookupBy, value: unknown): string {
  if (by === 'id') return `/profile/identity/v4/Users/${pathSegment(value, 'the user id')}`;
  const v = requiredId(value, by === 'loginId' ? 'the login id' : 'the employee id');
  // The SCIM filter quotes the value; a quote or backslash would end it (Concur forbids both in user names).
  if (/["\\]/.test(v) || /[\u0000-\u001f]/.test(v))
    throw invalidInput(`${by === 'loginId' ? 'the login id' : 'the employee id'} must not contain quotes, backslashes or control characters`);
  const attr = by === 'loginId' ? 'userName' : 'employeeNumber';
  return `/profile/identity/v4/Users?${new URLSearchParams({ filter: `${attr} eq "${v}"` }).toString().replace(/\+/g, '%20')}`;
}

/** What flows need about a user, whatever the SCIM answer held. */
export interface UserSummary {
  /** User UUID: the {userId} of Expense v4 user-context calls and reportsToApprove. */
  userId: string;
  /** Login id (SCIM userName): the v3 `user` parameter. */
  loginId: string | null;
  employeeId: string | null;
  displayName: string | null;
  givenName: string | null;
  familyName: string | null;
  email: string | null;
  active: boolean | null;
  companyId: string | null;
  manager: { userId: string | null; displayName: string | null; employeeId: string | null } | null;
}

function s(v: unknown): string | null {
  return typeof v === 'string' && v ? v : typeof v === 'number' ? String(v) : null;
}

export function summarizeUser(u: Record<string, any>): UserSummary {
  const ent = (u[ENTERPRISE] && typeof u[ENTERPRISE] === 'object' ? u[ENTERPRISE] : {}) as Record<string, any>;
  const emails = Array.isArray(u.emails) ? u.emails.filter((e: any) => e && typeof e.value === 'string') : [];
  const email = emails.find((e: any) => e.primary === true) ?? emails.find((e: any) => e.type === 'work') ?? emails[0];
  const m = ent.manager && typeof ent.manager === 'object' ? ent.manager : null;
  const name = u.name && typeof u.name === 'object' ? u.name : {};
  return {
    userId: String(u.id),
    loginId: s(u.userName),
    employeeId: s(ent.employeeNumber),
    displayName: s(u.displayName) ?? (s(name.formatted) || [s(name.givenName), s(name.familyName)].filter(Boolean).join(' ') || null),
    givenName: s(name.givenName),
    familyName: s(name.familyName),
    email: email ? email.value : null,
    active: typeof u.active === 'boolean' ? u.active : null,
    companyId: s(ent.companyId),
    manager: m ? { userId: s(m.value), displayName: s(m.displayName), employeeId: s(m.employeeNumber) } : null,
  };
}

export interface LookupResult {
  user: Record<string, unknown>;
  summary: UserSummary;
  cached: boolean;
  status: number;
  correlationId?: string;
}

interface Entry {
  value: { user: Record<string, unknown>; summary: UserSummary };
  expires: number;
}

/**
 * Cache of successful lookups, bounded in time (ttlMs) and size (maxEntries,
 * oldest first out). A user found by one key is stored under all three keys.
 * Concurrent lookups of the same key share one request. Failures are not kept.
 */
export class UserCache {
  private readonly map = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<LookupResult>>();

  constructor(
    readonly ttlMs: number,
    readonly maxEntries = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  private key(by: LookupBy, value: string): string {
    return `${by}:${value.toLowerCase()}`;
  }

  get size(): number {
    return this.map.size;
  }

  clear(): void {
    this.map.clear();
  }

  private get(k: string): Entry['value'] | undefined {
    const e = this.map.get(k);
    if (!e) return undefined;
    if (e.expires <= this.now()) {
      this.map.delete(k);
      return undefined;
    }
    return e.value;
  }

  private put(value: Entry['value']): void {
    if (this.ttlMs <= 0) return;
    const expires = this.now() + this.ttlMs;
    const keys = [this.key('id', value.summary.userId)];
    if (value.summary.loginId) keys.push(this.key('loginId', value.summary.loginId));
    if (value.summary.employeeId) keys.push(this.key('employeeId', value.summary.employeeId));
    for (const k of keys) {
      this.map.delete(k);
      this.map.set(k, { value, expires });
    }
    while (this.map.size > this.maxEntries) this.map.delete(this.map.keys().next().value as string);
  }

  async lookup(api: ConcurApi, by: LookupBy, raw: unknown, correlationId?: string): Promise<LookupResult> {
    const path = lookupPath(by, raw); // validates before any cache or network use
    const k = this.key(by, requiredId(raw, 'user'));
    const hit = this.ttlMs > 0 ? this.get(k) : undefined;
    if (hit) return { ...hit, user: structuredClone(hit.user), summary: structuredClone(hit.summary), cached: true, status: 200 };
    const running = this.inflight.get(k);
    if (running) return running.then((r) => ({ ...r, user: structuredClone(r.user), summary: structuredClone(r.summary) }));
    const p = fetchUser(api, by, path, correlationId).then((r) => {
      this.put({ user: r.user, summary: r.summary });
      return r;
    });
    this.inflight.set(k, p);
    try {
      return await p;
    } finally {
      this.inflight.delete(k);
    }
  }
}

async function fetchUser(api: ConcurApi, by: LookupBy, path: string, correlationId?: string): Promise<LookupResult> {
  const r = await api.request({ method: 'GET', url: path, correlationId });
  const d = r.data as Record<string, any> | undefined;
  let user: Record<string, any> | undefined;
  if (by === 'id') user = d && typeof d === 'object' && d.id ? d : undefined;
  else {
    const list = d && Array.isArray(d.Resources) ? d.Resources : [];
    if (list.length > 1)
      throw new ConcurError({
        status: r.status,
        code: 'AMBIGUOUS_USER',
        message: `${list.length} users match that ${by === 'loginId' ? 'login id' : 'employee id'}`,
        correlationId: r.correlationId,
      });
    user = list[0];
  }
  if (!user || typeof user !== 'object' || !user.id) {
    throw new ConcurError({
      status: 404,
      code: 'USER_NOT_FOUND',
      message: `no Concur user with that ${by === 'id' ? 'id' : by === 'loginId' ? 'login id' : 'employee id'}`,
      correlationId: r.correlationId,
    });
  }
  return { user, summary: summarizeUser(user), cached: false, status: r.status, correlationId: r.correlationId };
}
