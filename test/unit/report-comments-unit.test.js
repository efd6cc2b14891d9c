'use strict';
/** concur/report-comments: the documented paths and the comment checks. */
const assert = require('node:assert/strict');
const { commentsPath, validateComment } = require('../../dist/concur/report-comments');

describe('concur/report-comments (pure)', () => {
  it('builds the system-user and user-context paths, report and expense level', () => {
    assert.equal(commentsPath({ reportId: 'R 1', endpoint: 'company' }), '/expensereports/v4/reports/R%201/comments');
    assert.equal(commentsPath({ reportId: 'R1', expenseId: 'E/1', endpoint: 'company' }), '/expensereports/v4/reports/R1/expenses/E%2F1/comments');
    assert.equal(
      commentsPath({ reportId: 'R1', endpoint: 'user', userId: 'u', context: 'MANAGER' }),
      '/expensereports/v4/users/u/context/MANAGER/reports/R1/comments',
    );
    assert.throws(() => commentsPath({ reportId: 'R1', endpoint: 'user' }), /user id/);
    assert.throws(() => commentsPath({ reportId: '.', endpoint: 'company' }), /dot segment/);
    // @ts-expect-error a context the comments API does not have, on purpose: it must be refused
    assert.throws(() => commentsPath({ reportId: 'R1', endpoint: 'user', userId: 'u', context: 'PROCESSOR' }), /context must be/);
  });
  it('checks the comment', () => {
    assert.equal(validateComment('ok'), 'ok');
    assert.throws(() => validateComment(''), /required/);
    assert.throws(() => validateComment(5), /required/);
    assert.throws(() => validateComment('x'.repeat(2001)), /at most 2000/);
  });
});
