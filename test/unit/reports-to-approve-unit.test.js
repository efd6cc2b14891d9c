'use strict';
/** concur/reports-to-approve: the documented path and query, and input checks. */
const assert = require('node:assert/strict');
const { reportsToApprovePath } = require('../../dist/concur/reports-to-approve');

describe('concur/reports-to-approve (pure)', () => {
  it('builds the documented path with sort, order and includeDelegateApprovals', () => {
    assert.equal(reportsToApprovePath({ userId: 'u-1' }), '/expensereports/v4/users/u-1/context/MANAGER/reportsToApprove');
    assert.equal(
      reportsToApprovePath({ userId: 'u 1', sort: 'reportDate', order: 'desc', includeDelegateApprovals: true }),
      '/expensereports/v4/users/u%201/context/MANAGER/reportsToApprove?sort=reportDate&order=desc&includeDelegateApprovals=true',
    );
    assert.throws(() => reportsToApprovePath({ userId: '..' }), /dot segment/);
    assert.throws(() => reportsToApprovePath({ userId: undefined }), /is required/);
    assert.throws(() => reportsToApprovePath({ userId: 'u', sort: 'a b' }), /report field name/);
  });
});
