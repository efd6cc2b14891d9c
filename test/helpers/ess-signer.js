'use strict';
/**
 * Signs ESS test deliveries the way Concur does (docs/concur-api.md#ess-signature):
 * standard base64 of an RSA-2048 SHA-256 signature over the exact body bytes,
 * RSA-PSS with maximum salt (what the one real 2019 signature used) or PKCS#1 v1.5.
 */
const crypto = require('node:crypto');

const cache = new Map();

/** A fresh RSA-2048 key pair (cached per name so a test file pays for keygen once). */
function testKeyPair(name = 'default') {
  if (!cache.has(name)) {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    cache.set(name, { privateKey, publicKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }) });
  }
  return cache.get(name);
}

function sign(body, privateKey, padding = 'pss') {
  const opts =
    padding === 'pss'
      ? { key: privateKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: crypto.constants.RSA_PSS_SALTLEN_MAX_SIGN }
      : padding === 'pss-digest'
        ? { key: privateKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
        : { key: privateKey, padding: crypto.constants.RSA_PKCS1_PADDING };
  return crypto.sign('sha256', Buffer.isBuffer(body) ? body : Buffer.from(body), opts).toString('base64');
}

let seq = 0;
/**
 * An ESS-shaped expense event; `over` replaces or adds top-level fields.
 * @param {Record<string, any>} [over]
 * @returns {Record<string, any>}
 */
function essEvent(over = {}) {
  seq++;
  return {
    id: crypto.randomUUID(),
    correlationId: crypto.randomUUID(),
    route: 'stable',
    eventType: 'statusChanged',
    topic: 'public.concur.expense.report',
    timeStamp: new Date().toISOString(),
    facts: {
      companyId: 'c0ffee00-0000-4000-8000-000000000001',
      reportId: `R${String(seq).padStart(6, '0')}`,
      currentApprovalStatus: 'A_PEND',
      stepCode: 'EXTVAL',
    },
    data: null,
    ...over,
  };
}

/**
 * Headers + body for one signed delivery.
 * @param {any} event
 * @param {{ privateKey?: import('node:crypto').KeyObject, padding?: string, body?: string | Buffer, correlationId?: string | null }} [opts]
 * @returns {{ body: string | Buffer, headers: Record<string, string> }}
 */
function signedDelivery(event, { privateKey, padding = 'pss', body, correlationId } = {}) {
  const text = body !== undefined ? body : JSON.stringify(event);
  const headers = { 'Content-Type': 'application/json', 'Concur-Signature': sign(text, privateKey, padding) };
  if (correlationId !== null) headers['Concur-Correlationid'] = correlationId || (event && event.correlationId) || crypto.randomUUID();
  return { body: text, headers };
}

module.exports = { testKeyPair, sign, essEvent, signedDelivery };
