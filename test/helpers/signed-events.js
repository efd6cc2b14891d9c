'use strict';
/**
 * Builds ESS-style events and signs them the way Concur does (RSA-2048,
 * SHA-256 over the exact body bytes, base64 in Concur-Signature; PSS with the
 * maximum salt by default, PKCS#1 v1.5 on request; see docs/concur-api.md#ess-signature).
 * Shared by the benchmarks, the crash test, the fuzz tests and the corpus test.
 */
const crypto = require('node:crypto');

function makeKeyPair() {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
  return { privateKey, publicKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }) };
}

/** Base64 Concur-Signature over `body` (Buffer or string). */
function signBody(body, privateKey, padding = 'pss') {
  const opts =
    padding === 'pss'
      ? { key: privateKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: crypto.constants.RSA_PSS_SALTLEN_MAX_SIGN }
      : { key: privateKey, padding: crypto.constants.RSA_PKCS1_PADDING };
  return crypto.sign('sha256', Buffer.isBuffer(body) ? body : Buffer.from(body), opts).toString('base64');
}

/**
 * A statusChanged expense event (the shape in docs/concur-api.md#ess-expense-topic), compact
 * JSON, padded with a facts field to roughly `size` bytes when given.
 */
function essEvent(id, { size = 0, eventType = 'statusChanged', facts = {} } = {}) {
  /** @type {{ facts: Record<string, any> } & Record<string, any>} */
  const ev = {
    id,
    correlationId: crypto.randomUUID(),
    route: 'stable',
    eventType,
    topic: 'public.concur.expense.report',
    timeStamp: new Date().toISOString(),
    facts: {
      companyId: '3f1c2a9e-0000-4000-8000-000000000001',
      reportId: 'CB899F7D9F73420A8D8B',
      reportType: 'Regular',
      userId: '9a8b7c6d-0000-4000-8000-000000000002',
      actingUserId: null,
      previousApprovalStatus: 'A_RESU',
      currentApprovalStatus: 'A_EXTV',
      previousPaymentStatus: 'P_NOTP',
      currentPaymentStatus: 'P_NOTP',
      stepCode: 'EXTVAL',
      lastModifiedDate: '2023-04-07T22:10:57.817Z',
      href: 'https://us.api.concursolutions.com/expensereports/v4/users/9a8b7c6d-0000-4000-8000-000000000002/context/TRAVELER/reports/CB899F7D9F73420A8D8B',
      ...facts,
    },
    data: null,
  };
  let s = JSON.stringify(ev);
  if (size > s.length) {
    ev.facts.comment = 'x'.repeat(Math.max(0, size - s.length - 13));
    s = JSON.stringify(ev);
  }
  return s;
}

/** Pre-signed pool: [{ id, body: Buffer, signature }] with unique ids. */
function signedPool(count, privateKey, { size = 0, prefix = 'ev', padding = 'pss' } = {}) {
  const run = crypto.randomBytes(4).toString('hex');
  const out = new Array(count);
  for (let i = 0; i < count; i++) {
    const id = `${prefix}-${run}-${String(i).padStart(7, '0')}`;
    const body = Buffer.from(essEvent(id, { size }));
    out[i] = { id, body, signature: signBody(body, privateKey, padding) };
  }
  return out;
}

module.exports = { makeKeyPair, signBody, essEvent, signedPool };
