'use strict';
/**
 * concur-config's editor fields as the connection reads them
 * (src/nodes/concur-config/settings.ts); the node itself is tested through a real
 * Node-RED in test/e2e/api-nodes.test.js and test/editor/.
 */
const assert = require('node:assert/strict');
const { readSettings } = require('../../dist/nodes/concur-config/settings');

describe('concur-config adapter: settings', () => {
  it("defaults: US2, refresh_token grant, company token credtype, the option table's timeouts", () => {
    assert.deepEqual(readSettings({ id: 'c', type: 'concur-config' }), {
      baseUrl: 'https://us2.api.concursolutions.com',
      tokenBaseUrl: undefined,
      grantType: 'refresh_token',
      credtype: 'authtoken',
      scope: undefined,
      followGeolocation: true,
      timeoutMs: 60000,
      retry: { maxRetries: 3, baseDelayMs: 1000, maxDelayMs: 30000 },
      expirySkewSec: 120,
    });
  });

  it('reads a custom host, the GLZ or a custom token endpoint, and falls back on values out of range', () => {
    const s = readSettings({
      id: 'c',
      type: 'concur-config',
      geolocation: 'custom',
      baseUrl: 'http://127.0.0.1:9/',
      tokenEndpoint: 'glz',
      grantType: 'password',
      credtype: 'password',
      scope: ' a b ',
      followGeolocation: false,
      timeout: '5',
      retries: 99,
    });
    assert.equal(s.baseUrl, 'http://127.0.0.1:9');
    assert.equal(s.tokenBaseUrl, 'https://glz.api.concursolutions.com');
    assert.deepEqual([s.grantType, s.credtype, s.scope, s.followGeolocation, s.timeoutMs, s.retry.maxRetries], ['password', 'password', 'a b', false, 5000, 3]);
    assert.equal(readSettings({ id: 'c', type: 'concur-config', tokenEndpoint: 'custom', tokenUrl: 'https://t.example/' }).tokenBaseUrl, 'https://t.example');
    assert.equal(readSettings({ id: 'c', type: 'concur-config', grantType: 'magic' }).grantType, 'refresh_token');
  });

  it('a host it cannot use is a CONFIG error that was never sent', () => {
    assert.throws(
      () => readSettings({ id: 'c', type: 'concur-config', geolocation: 'mars' }),
      (/** @type {any} */ e) => e.code === 'CONFIG' && e.notSent === true && /unknown geolocation/.test(e.message),
    );
  });
});
