'use strict';
/**
 * concur/receipt-images path builders, and the API client's token-less
 * requests (pre-signed links): no Authorization header, absolute URLs only,
 * plain http only to origins the token may go to anyway.
 */
const assert = require('node:assert/strict');
const { expensesPath, spendDocumentPath, imageV1Path } = require('../../dist/concur/receipt-images');
const { ConcurApiClient } = require('../../dist/concur/api-client');

describe('concur/receipt-images (pure) and token-less requests', () => {
  it('builds the documented paths', () => {
    assert.equal(expensesPath({ reportId: 'R1', userId: 'u 1' }), '/expensereports/v4/users/u%201/context/TRAVELER/reports/R1/expenses');
    assert.equal(
      expensesPath({ reportId: 'R1', userId: 'u', context: 'MANAGER', expenseId: 'E1' }),
      '/expensereports/v4/users/u/context/MANAGER/reports/R1/expenses/E1',
    );
    assert.equal(spendDocumentPath('IMG1', 'c-1'), '/spend-documents/v4/receipts?imageId=IMG1&companyId=c-1&type=display');
    assert.equal(spendDocumentPath('IMG1', 'c-1', 'compliance'), '/spend-documents/v4/receipts?imageId=IMG1&companyId=c-1&type=compliance');
    assert.equal(imageV1Path({ reportId: 'R1' }), '/api/image/v1.0/report/R1');
    // Legacy keys keep `$` (a sub-delimiter, legal in a path segment) and their %XX escapes: the one rule of src/concur/path-segment.ts.
    assert.equal(imageV1Path({ reportId: 'R1', entryId: 'n$pX' }), '/api/image/v1.0/expenseentry/n$pX');
    assert.equal(imageV1Path({ reportId: 'R1', entryId: 'n%24pX' }), '/api/image/v1.0/expenseentry/n%24pX');
    assert.throws(() => expensesPath({ reportId: '..', userId: 'u' }), /dot segment/);
    assert.throws(() => spendDocumentPath('IMG1', ''), /company id/);
    // @ts-expect-error an unknown context on purpose: it must be refused
    assert.throws(() => expensesPath({ reportId: 'R1', userId: 'u', context: 'BOSS' }), /context must be/);
  });

  it('an anonymous request carries no token; relative or plain-http foreign URLs are refused', async () => {
    const sent = [];
    const tokens = {
      getToken: async () => ({ accessToken: 'SECRET-TOKEN', apiBase: 'https://us2.api.concursolutions.com' }),
      apiBase: () => 'https://us2.api.concursolutions.com',
      trustedOrigins: () => ['https://us2.api.concursolutions.com'],
      invalidate() {},
    };
    const send = async (x) => (sent.push(x), { status: 200, headers: { 'content-type': 'image/png' }, body: Buffer.from([1, 2, 3]) });
    // A stand-in token manager with only the four methods the client calls.
    const c = new ConcurApiClient({ tokens: /** @type {any} */ (tokens), send });
    const r = await c.request({ method: 'GET', url: 'https://images.example.com/file/abc?sig=1', anonymous: true });
    assert.deepEqual([...r.raw], [1, 2, 3]);
    assert.equal(sent[0].headers.Authorization, undefined);
    await c.request({ method: 'GET', url: '/x' });
    assert.equal(sent[1].headers.Authorization, 'Bearer SECRET-TOKEN', 'normal requests keep the token');
    await assert.rejects(c.request({ method: 'GET', url: '/relative', anonymous: true }), /absolute URL/);
    await assert.rejects(
      c.request({ method: 'GET', url: 'http://images.example.com/x', anonymous: true }),
      /** @param {import('../../dist/concur/concur-error').ConcurError} e */ (e) => e.code === 'INSECURE_URL',
    );
    assert.equal(sent.length, 2);
  });
});
