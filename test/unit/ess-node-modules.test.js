'use strict';
/**
 * The pure parts of the concur-ess-event-in adapter (src/nodes/concur-ess-event-in/):
 * its settings from node properties and its status badge.
 */
const assert = require('node:assert/strict');
const { essSettings, storeFile, fileStoreLimits, CLOCK_SKEW_MS, ESS_RETRY_MS } = require('../../dist/nodes/concur-ess-event-in/settings');
const { essBadge } = require('../../dist/nodes/concur-ess-event-in/badge');
const { testKeyPair } = require('../helpers/ess-signer');

const key = testKeyPair('ess-node-modules');
const H = 3600_000;

describe('concur-ess-event-in: settings and badge (pure modules)', () => {
  it('reads the defaults, and the stale limit is never under ESS retry period', () => {
    const s = essSettings({ id: 'n1', type: 'concur-ess-event-in', z: 't', extraKeys: key.publicPem });
    assert.equal(s.configError, undefined);
    assert.equal(s.routePath, '/concur/ess');
    assert.equal(s.maxBodyBytes, 256 * 1024);
    assert.equal(s.dedupeWindowMs, 72 * H);
    assert.equal(s.keepIdsMs, 72 * H + CLOCK_SKEW_MS);
    assert.equal(s.receiver.maxEventAgeMs, 72 * H + CLOCK_SKEW_MS);
    const short = essSettings({ id: 'n1', type: 'concur-ess-event-in', z: 't', extraKeys: key.publicPem, dedupeHours: 1, path: 'x/y' });
    assert.equal(short.routePath, '/x/y');
    assert.equal(short.receiver.maxEventAgeMs, ESS_RETRY_MS + CLOCK_SKEW_MS);
    assert.equal(essSettings({ id: 'n', type: 't', z: 't', extraKeys: key.publicPem, rejectStale: false }).receiver.maxEventAgeMs, 0);
  });

  it('returns configuration errors instead of throwing', () => {
    const none = essSettings({ id: 'n', type: 't', z: 't', keyConcur202609: false, keyConcur202510: false });
    assert.match(none.configError, /no key is enabled/);
    assert.equal(none.receiver, undefined);
    const header = essSettings({ id: 'n', type: 't', z: 't', extraKeys: key.publicPem, clientCertMode: 'header' });
    assert.match(header.configError, /trusted proxies/);
    const headerKey = essSettings({
      id: 'n',
      type: 't',
      z: 't',
      keyConcur202609: false,
      keyConcur202510: false,
      clientCertMode: 'header',
      acceptClientCertKey: true,
      trustedProxies: 'loopback',
    });
    assert.match(headerKey.configError, /not used in header mode/);
    assert.match(essSettings({ id: 'n', type: 't', z: 't', extraKeys: key.publicPem, topicFilter: '(' }).configError, /topic/);
  });

  it('names the journal file after the store name or the node id, and reads the memory limits', () => {
    assert.match(storeFile('/u', 'abc', { id: 'abc', type: 't' }), /\/u\/concur-ess\/abc\.journal$/);
    assert.match(storeFile('/u', 'abc', { id: 'abc', type: 't', storeName: 'my store/../x' }), /\/u\/concur-ess\/my_store_.._x\.journal$/);
    assert.deepEqual(fileStoreLimits({ id: 'n', type: 't', dedupeMemoryMiB: 1, pendingMemoryMiB: '2', deadLetterMemoryMiB: '' }), {
      dedupeMemoryBytes: 1024 * 1024,
      pendingMaxBytes: 2 * 1024 * 1024,
      deadLetterMaxBytes: 64 * 1024 * 1024,
    });
  });

  it('badge: red for configuration and store problems, yellow for issues and signature off, green with counts', () => {
    const counts = { accepted: 3, duplicate: 1, filtered: 0, rejected: 2, failed: 0, redelivered: 0 };
    const base = { closing: false, verifySignature: true, counts, pending: 4, fullPath: '/concur/ess' };
    assert.equal(essBadge({ ...base, closing: true }), undefined);
    assert.deepEqual(essBadge({ ...base, fatal: 'bad key' }), { fill: 'red', shape: 'ring', text: 'bad key' });
    assert.match(essBadge({ ...base, storeRetry: { error: 'ENOSPC', retryInSec: 4 } }).text, /event store: ENOSPC · retry in 4 s/);
    assert.equal(essBadge({ ...base, storeHealth: { ok: false, message: 'db down' } }).fill, 'red');
    assert.deepEqual(essBadge({ ...base, verifySignature: false }), {
      fill: 'yellow',
      shape: 'ring',
      text: 'signature check OFF · 3 ok, 1 dup, 2 rejected, 4 pending',
    });
    assert.equal(essBadge({ ...base, lastIssue: { text: '503 memory limit', fill: 'red' } }).text, '503 memory limit · 3 ok, 1 dup, 2 rejected, 4 pending');
    assert.deepEqual(essBadge(base), { fill: 'green', shape: 'dot', text: '/concur/ess · 3 ok, 1 dup, 2 rejected, 4 pending' });
  });
});
