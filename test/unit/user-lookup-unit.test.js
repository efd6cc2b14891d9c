'use strict';
/** concur/user-lookup: request paths, the summary, and the cache (keys, expiry, bound, shared in-flight lookups). */
const assert = require('node:assert/strict');
const { lookupPath, summarizeUser, UserCache } = require('../../dist/concur/user-lookup');

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const user = (id, login, emp) => ({
  id,
  userName: login,
  name: { givenName: 'A', familyName: 'B' },
  emails: [
    { type: 'home', value: 'h@x' },
    { type: 'work', value: 'w@x' },
  ],
  [ENT]: { employeeNumber: emp, manager: { value: 'm-1', displayName: 'M' } },
});

describe('concur/user-lookup (pure)', () => {
  it('builds the documented Identity v4 requests and refuses unsafe values', () => {
    assert.equal(lookupPath('id', 'a b'), '/profile/identity/v4/Users/a%20b');
    assert.equal(lookupPath('loginId', 'j@x.com'), '/profile/identity/v4/Users?filter=userName%20eq%20%22j%40x.com%22');
    assert.equal(lookupPath('employeeId', '12 3'), '/profile/identity/v4/Users?filter=employeeNumber%20eq%20%2212%203%22');
    assert.throws(() => lookupPath('loginId', 'a"b'), /quotes/);
    assert.throws(() => lookupPath('id', '%2e%2e'), /dot segment/);
  });

  it('summarizes a SCIM user (work e-mail, manager, employee number)', () => {
    const s = summarizeUser(user('u-1', 'l@x', 'E9'));
    assert.deepEqual([s.userId, s.loginId, s.employeeId, s.displayName, s.email, s.manager.userId], ['u-1', 'l@x', 'E9', 'A B', 'w@x', 'm-1']);
  });

  it('caches under every key, expires, stays bounded, shares in-flight lookups, keeps no failures', async () => {
    let now = 0;
    let calls = 0;
    let fail = false;
    const api = {
      apiBase: () => 'x',
      request: async (r) => {
        calls++;
        await new Promise((res) => setTimeout(res, 5));
        if (fail) throw Object.assign(new Error('boom'), { code: 'HTTP_503' });
        const id = decodeURIComponent(r.url.split('/').pop());
        return {
          status: 200,
          url: r.url,
          data: r.url.includes('filter') ? { Resources: [user('u-1', 'l@x', 'E9')] } : user(id, `${id}@x`, `E-${id}`),
          headers: {},
          text: '',
          attempts: 1,
        };
      },
    };
    const c = new UserCache(1000, 3, () => now);
    const [a, b] = await Promise.all([c.lookup(api, 'loginId', 'L@X'), c.lookup(api, 'loginId', 'l@x')]);
    assert.equal(calls, 1, 'one request for two concurrent lookups');
    assert.deepEqual([a.cached, b.summary.userId], [false, 'u-1']);
    assert.equal((await c.lookup(api, 'id', 'u-1')).cached, true, 'found by login id, cached by id too');
    assert.equal((await c.lookup(api, 'employeeId', 'e9')).cached, true);
    now = 1001;
    assert.equal((await c.lookup(api, 'id', 'u-1')).cached, false, 'expired');
    for (const id of ['p', 'q', 'r']) await c.lookup(api, 'id', id);
    assert.ok(c.size <= 3, `bounded (${c.size})`);
    fail = true;
    await assert.rejects(c.lookup(api, 'id', 'zz'));
    fail = false;
    const n = calls;
    assert.equal((await c.lookup(api, 'id', 'zz')).cached, false, 'the failure was not cached');
    assert.equal(calls, n + 1);
    const off = new UserCache(0);
    await off.lookup(api, 'id', 'k');
    assert.equal((await off.lookup(api, 'id', 'k')).cached, false, 'ttl 0: no cache');
  });
});
