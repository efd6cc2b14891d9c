'use strict';
/**
 * Unit tests for the security hardening of issue 12 (pure modules, no Node-RED):
 * path ids, ... Each test fails on the code before its fix.
 */
const assert = require('node:assert/strict');
const { encodePathSegment } = require('../concur/api-types');
const { resolveApiUrl } = require('../concur/concur-hosts');
const { locateReport } = require('../concur/report-details');
const { v4WorkflowPath } = require('../concur/workflow-action');
const { v4ExceptionPath } = require('../concur/report-exceptions');

describe('hardening: ids that are dot segments never change the API path', () => {
  const DOTS = ['..', '.', '%2e%2e', '%2E%2e', '.%2e', '%2e.', '%2e'];

  it('encodePathSegment refuses every spelling of . and .. with INVALID_INPUT', () => {
    for (const id of DOTS) {
      assert.throws(() => encodePathSegment(id, 'msg.reportId'), (e) => e.code === 'INVALID_INPUT' && e.notSent === true && /msg\.reportId .* dot segment/.test(e.message), id);
    }
    // Ids with dots that are not whole segments stay as they are; the rest is escaped.
    assert.equal(encodePathSegment('a..b'), 'a..b');
    assert.equal(encodePathSegment('...'), '...');
    assert.equal(encodePathSegment('a/../b'), 'a%2F..%2Fb');
    assert.equal(encodePathSegment('nAb$pZ%24xWq9'), 'nAb$pZ%24xWq9', 'legacy keys keep their escapes');
  });

  it('every path builder refuses them before building a URL', () => {
    for (const id of DOTS) {
      assert.throws(() => v4WorkflowPath({ action: 'approve' }, { reportId: id, endpoint: 'company' }), /dot segment/, `approve ${id}`);
      assert.throws(() => v4WorkflowPath({ action: 'recall' }, { reportId: 'R1', userId: id, endpoint: 'user' }), /msg\.userId .*dot segment/, `recall user ${id}`);
      assert.throws(() => locateReport({ reportId: id }, { version: 'v3' }), /dot segment/, `v3 ${id}`);
      assert.throws(() => locateReport({ reportId: id, userId: 'u' }, { version: 'v4' }), /dot segment/, `v4 ${id}`);
      assert.throws(() => locateReport({ reportId: 'R1' }, { version: 'v4', urlTemplate: '/x/{reportId}/{userId}' }), /userId/, 'template without user id');
      assert.throws(() => locateReport({ reportId: id, userId: 'u' }, { version: 'v4', urlTemplate: '/x/{userId}/{reportId}' }), /dot segment/, `template ${id}`);
      assert.throws(() => v4ExceptionPath(id, { index: 0, level: 'report' }), /dot segment/, `exceptions ${id}`);
      assert.throws(() => v4ExceptionPath('R1', { index: 2, level: 'expense', expenseId: id }), /exceptions\[2\] expense id .*dot segment/, `expense ${id}`);
    }
  });

  it('resolveApiUrl refuses a path or URL with a dot segment (hrefs from events, URL templates)', () => {
    const base = 'https://us2.api.concursolutions.com';
    for (const p of ['/expensereports/v4/reports/../approve', '/a/%2e%2e/b', '/a/./b', 'https://us.api.concursolutions.com/expensereports/v4/reports/%2E%2E/approve', '/a/..\\b', '/a/..?x=1']) {
      assert.throws(() => resolveApiUrl(p, base), /"\." or "\.\." path segment/, p);
    }
    assert.equal(resolveApiUrl('/a/..b/c?x=../y', base).pathname, '/a/..b/c', 'dots inside a segment or in the query are fine');
  });
});
