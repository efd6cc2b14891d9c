'use strict';
/** Pure parts of concur/api-request and concur/path-segment: request building, next-page links, page items, id segments. */
const assert = require('node:assert/strict');
const { buildGenericRequest, nextPageLink, pageItems, withQuery, runGenericRequest } = require('../../dist/concur/api-request');
const { pathSegment } = require('../../dist/concur/path-segment');

describe('concur/api-request (pure)', () => {
  it('builds a request: method, path, query object or string, Accept, JSON / XML / JSON-text bodies', () => {
    assert.deepEqual(buildGenericRequest({ method: 'get', path: '/a/b', query: { x: 'a b', y: [1, 2], z: null } }), {
      method: 'GET',
      url: '/a/b?x=a+b&y=1&y=2',
      headers: {},
    });
    assert.equal(buildGenericRequest({ path: '/a?k=1', query: '?m=2' }).url, '/a?k=1&m=2');
    assert.deepEqual(buildGenericRequest({ method: 'POST', path: '/a', body: { c: 1 } }).json, { c: 1 });
    assert.deepEqual(buildGenericRequest({ method: 'POST', path: '/a', body: '{"c":2}' }).json, { c: 2 });
    assert.equal(buildGenericRequest({ method: 'POST', path: '/a', body: '  <X/>' }).xml, '  <X/>');
    assert.equal(buildGenericRequest({ method: 'PUT', path: '/a', body: '<X/>', bodyFormat: 'json' }).json, '<X/>');
    assert.equal(buildGenericRequest({ method: 'GET', path: '/a', body: { ignored: true } }).json, undefined, 'GET sends no body');
    assert.equal(buildGenericRequest({ path: '/a', accept: 'application/xml' }).accept, 'application/xml');
  });

  it('refuses bad input before anything is sent', () => {
    /** @type {Array<[any, RegExp]>} bad inputs on purpose (some of the wrong type) */
    const bad = [
      [{ method: 'TRACE', path: '/a' }, /method must be one of/],
      [{ path: '' }, /path is required/],
      [{ path: 'a/b' }, /must start with \//],
      [{ path: '/a b' }, /white space/],
      [{ path: '/a/../b' }, /dot segment/],
      [{ path: '/a/%2E%2e/b' }, /dot segment/],
      [{ path: 'https://x.concursolutions.com/./b' }, /dot segment/],
      [{ path: '/a', query: 5 }, /query must be/],
      [{ path: '/a', query: { k: { deep: 1 } } }, /query parameter k/],
      [{ method: 'POST', path: '/a', body: 'plain words' }, /neither JSON nor XML/],
      [{ method: 'POST', path: '/a', body: { a: 1 }, bodyFormat: 'xml' }, /XML body must be a string/],
      [{ path: '/a', headers: { Authorization: 'Bearer x' } }, /set by the node/],
      [{ path: '/a', headers: { 'X-A': 'a\r\nb' } }, /line break/],
      [{ method: 'POST', path: '/oauth2/v0/token' }, /token endpoint/],
      [{ method: 'POST', path: 'https://us2.api.concursolutions.com/OAuth2/v0/token' }, /token endpoint/],
    ];
    for (const [input, re] of bad)
      assert.throws(
        () => buildGenericRequest(input),
        /** @param {import('../../dist/concur/concur-error').ConcurError} e */ (e) => e.code === 'INVALID_INPUT' && re.test(e.message),
        JSON.stringify(input),
      );
  });

  it('finds next-page links (NextPage, nextPage, links/operations rel=next) and page items', () => {
    assert.equal(nextPageLink({ Items: [], NextPage: 'https://h/api/v3.0/x?offset=2' }), 'https://h/api/v3.0/x?offset=2');
    assert.equal(nextPageLink({ nextPage: { href: '/n' } }), '/n');
    assert.equal(
      nextPageLink({
        data: [],
        operations: [
          { rel: 'first', href: '/f' },
          { rel: 'next', href: '/n2' },
        ],
      }),
      '/n2',
    );
    assert.equal(nextPageLink({ NextPage: null }), undefined);
    assert.equal(nextPageLink([1, 2]), undefined);
    assert.deepEqual(pageItems({ Items: [1], NextPage: 'x' }), [1]);
    assert.deepEqual(pageItems({ Resources: [2] }), [2]);
    assert.deepEqual(pageItems([3]), [3]);
    assert.deepEqual(pageItems({ one: 1 }), [{ one: 1 }]);
    assert.equal(withQuery('/a', ''), '/a');
  });

  it('pages through an API until no link is left, stops at the limit, and refuses a loop', async () => {
    const pages = { '/l': { Items: [1], NextPage: '/l?o=1' }, '/l?o=1': { Items: [2], NextPage: '/l?o=2' }, '/l?o=2': { Items: [3], NextPage: null } };
    const seen = [];
    const api = {
      apiBase: () => 'http://x',
      request: async (r) => (
        seen.push(`${r.method} ${r.url}`), { status: 200, url: `http://x${r.url}`, data: pages[r.url], headers: {}, text: '', attempts: 1 }
      ),
    };
    let r = await runGenericRequest(api, { method: 'GET', url: '/l' }, { follow: true, maxPages: 10 });
    assert.deepEqual(
      r.pages.flatMap((p) => /** @type {{ Items: number[] }} */ (p.response.data).Items),
      [1, 2, 3],
    );
    assert.equal(r.truncated, false);
    r = await runGenericRequest(api, { method: 'GET', url: '/l' }, { follow: true, maxPages: 2 });
    assert.deepEqual([r.pages.length, r.truncated], [2, true]);
    r = await runGenericRequest(api, { method: 'POST', url: '/l' }, { follow: true, maxPages: 10 });
    assert.equal(r.pages.length, 1, 'POST answers are not paged');
    pages['/l?o=2'].NextPage = '/l?o=1';
    await assert.rejects(runGenericRequest(api, { method: 'GET', url: '/l' }, { follow: true, maxPages: 10 }), /PAGING_LOOP|links back/);
  });
});

describe('concur/path-segment', () => {
  it('escapes ids with encodeURIComponent and refuses dot segments', () => {
    // One rule for every node (src/concur/path-segment.ts): existing %XX escapes and Concur's sub-delimiters stay.
    assert.equal(pathSegment('a/b c$%', 'id'), 'a%2Fb%20c$%25');
    assert.equal(pathSegment('nAb$pZ%24xWq9', 'report key'), 'nAb$pZ%24xWq9');
    assert.equal(pathSegment('...', 'id'), '...', 'not a dot segment (RFC 3986 §5.2.4)');
    assert.equal(pathSegment(42, 'id'), '42');
    for (const bad of ['.', '..', '%2e%2e', '%2E.', ' .. ', '.%2e']) assert.throws(() => pathSegment(bad, 'report id'), /dot segment/, bad);
    assert.throws(() => pathSegment('', 'report id'), /report id is required/);
    assert.throws(() => pathSegment({}, 'report id'), /must be a string/);
  });
});
