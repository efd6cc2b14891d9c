'use strict';
/**
 * Client-certificate checks of concur-ess-event-in through a REAL Node-RED that
 * terminates TLS itself (settings.js `https` with requestCert, a test CA), and
 * through the reverse-proxy header mode. Certificates are generated per run
 * with the openssl CLI (test/helpers/certs.js).
 */
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { startRed, request } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');
const { startCollector } = require('../helpers/collector');
const { makePki, selfSigned } = require('../helpers/certs');
const { testKeyPair, essEvent, signedDelivery, sign } = require('../helpers/ess-signer');
const { forwarder, essNode, EVENT_FIELDS } = require('../helpers/ess-flows');

const TAB = 'tab-ess';
const key = testKeyPair('ess-mtls');

describe('concur-ess-event-in: client certificates (real Node-RED over TLS)', function () {
  this.timeout(120000);
  let red;
  let collector;
  let pki;

  before(async () => {
    pki = makePki();
    collector = await startCollector();
    const s = JSON.stringify;
    red = await startRed({
      scheme: 'https',
      clientTls: { ca: pki.caPem },
      // The settings.js block users copy for mTLS (README): ask for a client certificate,
      // verify it against the CA, but let the node answer 403 (ESS retries) instead of
      // failing the handshake.
      settingsJs: `const fs = require('fs'); return { https: { key: fs.readFileSync(${s(pki.server.keyFile)}), cert: fs.readFileSync(${s(pki.server.certFile)}), ca: fs.readFileSync(${s(pki.caFile)}), requestCert: true, rejectUnauthorized: false } };`,
    });
    await red.deploy([
      { id: TAB, type: 'tab', label: 'ess' },
      essNode({ extraKeys: key.publicPem, clientCertMode: 'tls', rejectOutput: true, outputs: 2, wires: [['ev-fn'], ['rej-fn']] }),
      essNode({
        id: 'essSerial',
        path: '/concur/ess-serial',
        extraKeys: key.publicPem,
        clientCertMode: 'tls',
        allowedSerials: '0DB77DE3CEE04514936B0ABA6C95B53B',
        wires: [['ev-fn']],
      }),
      // The test client connects over loopback, so here the "proxy" is loopback.
      essNode({
        id: 'essHeader',
        path: '/concur/ess-proxy',
        extraKeys: key.publicPem,
        clientCertMode: 'header',
        clientCertHeader: 'X-Forwarded-Client-Cert',
        headerCertIssuers: pki.caPem,
        trustedProxies: 'loopback',
        wires: [['ev-fn']],
      }),
      // Forgery set-up of issue 12.1: header mode, the certificate key accepted, no issuers.
      essNode({
        id: 'essHeaderKey',
        path: '/concur/ess-proxy-key',
        extraKeys: key.publicPem,
        clientCertMode: 'header',
        acceptClientCertKey: true,
        trustedProxies: 'loopback',
        wires: [['ev-fn']],
      }),
      essNode({
        id: 'essHeaderFar',
        path: '/concur/ess-proxy-far',
        extraKeys: key.publicPem,
        clientCertMode: 'header',
        trustedProxies: '192.0.2.10, 2001:db8::/32',
        wires: [['ev-fn']],
      }),
      essNode({ id: 'essHeaderNone', path: '/concur/ess-proxy-none', extraKeys: key.publicPem, clientCertMode: 'header', wires: [['ev-fn']] }),
      // No configured keys at all: only the client certificate's own key may sign (ESS signs with its certificate key).
      essNode({ id: 'essCertKey', path: '/concur/ess-certkey', clientCertMode: 'tls', acceptClientCertKey: true, wires: [['ev-fn']] }),
      ...forwarder({ id: 'ev', z: TAB, url: collector.url, pathName: '/event', fields: EVENT_FIELDS }),
      ...forwarder({ id: 'rej', z: TAB, url: collector.url, pathName: '/rejected', fields: ['payload'] }),
    ]);
  });
  after(async () => {
    await teardown({ red, collector });
    if (pki) pki.cleanup();
  });
  beforeEach(() => collector.clear());

  const post = (p, ev, tls = {}, extraHeaders = {}, privateKey = key.privateKey) => {
    const d = signedDelivery(ev, { privateKey });
    return request(`${red.url}${p}`, { method: 'POST', headers: { ...d.headers, ...extraHeaders }, body: d.body, ca: pki.caPem, ...tls });
  };
  const clientTls = (c) => ({ cert: c.cert, key: c.key });

  it('accepts a trusted client certificate with CN webhook.api.concursolutions.com and reports it in msg.concur.clientCert', async () => {
    const ev = essEvent();
    const r = await post('/concur/ess', ev, clientTls(pki.clients.good));
    assert.equal(r.status, 200, r.body);
    const [m] = await collector.waitFor(1, 10000, '/event');
    const x = new crypto.X509Certificate(pki.clients.good.cert);
    assert.deepEqual(m.body.concur.clientCert, {
      subject: 'CN=webhook.api.concursolutions.com, O=SAP SE, L=Walldorf, ST=Baden-Wuerttemberg, C=DE',
      serial: x.serialNumber.replace(/^0+/, '').toUpperCase(),
    });
    assert.equal(m.body.concur.signatureVerified, true);
  });

  it('answers 403 (retried by ESS) for a wrong CN, no certificate, or an untrusted CA, and emits nothing', async () => {
    /** @type {Array<[string, Record<string, any>, RegExp]>} */
    const cases = [
      ['wrong CN', clientTls(pki.clients.wrongCn), /CN "attacker\.example\.com" is not allowed/],
      ['no certificate', {}, /no client certificate presented/],
      ['untrusted CA', clientTls(pki.clients.untrusted), /not trusted/],
    ];
    for (const [name, tls, re] of cases) {
      const r = await post('/concur/ess', essEvent(), tls);
      assert.equal(r.status, 403, `${name}: ${r.status} ${r.body}`);
      assert.match(r.body, re, name);
    }
    await collector.waitFor(3, 10000, '/rejected');
    assert.deepEqual(
      collector.received.filter((m) => m.path === '/rejected').map((m) => m.body.payload.category),
      ['certificate', 'certificate', 'certificate'],
    );
    assert.equal(collector.received.filter((m) => m.path === '/event').length, 0);
  });

  it('checks the certificate before the signature: a good certificate with a bad signature is 401, a bad certificate with a good signature is 403', async () => {
    const ev = essEvent();
    const bad = await request(`${red.url}/concur/ess`, {
      method: 'POST',
      headers: { 'Concur-Signature': sign('other', key.privateKey) },
      body: JSON.stringify(ev),
      ca: pki.caPem,
      ...clientTls(pki.clients.good),
    });
    assert.equal(bad.status, 401);
    assert.equal((await post('/concur/ess', ev, clientTls(pki.clients.wrongCn))).status, 403);
  });

  it('applies the optional serial allow-list', async () => {
    const r = await post('/concur/ess-serial', essEvent(), clientTls(pki.clients.good));
    assert.equal(r.status, 403);
    assert.match(r.body, /serial .* not allowed/);
  });

  it('header mode (behind a TLS-terminating proxy): XFCC with a good certificate passes; a wrong CN, a foreign issuer or no header is 403', async () => {
    const xfcc = (pem) => `By=spiffe://proxy;Hash=00;Cert="${encodeURIComponent(pem)}";Subject="CN=x"`;
    const ok = await post('/concur/ess-proxy', essEvent(), {}, { 'X-Forwarded-Client-Cert': xfcc(pki.clients.good.cert) });
    assert.equal(ok.status, 200, ok.body);
    const [m] = await collector.waitFor(1, 10000, '/event');
    assert.match(m.body.concur.clientCert.subject, /^CN=webhook\.api\.concursolutions\.com/);
    assert.equal((await post('/concur/ess-proxy', essEvent(), {}, { 'X-Forwarded-Client-Cert': xfcc(pki.clients.wrongCn.cert) })).status, 403);
    assert.equal((await post('/concur/ess-proxy', essEvent(), {}, { 'X-Forwarded-Client-Cert': encodeURIComponent(pki.clients.untrusted.cert) })).status, 403);
    const none = await post('/concur/ess-proxy', essEvent());
    assert.equal(none.status, 403);
    assert.match(none.body, /no client certificate header/);
  });

  it('header mode cannot be forged: a self-made Concur-CN certificate signing with its own key, a caller that is not the proxy, a repeated header, no proxy list', async () => {
    const forged = selfSigned('webhook.api.concursolutions.com');
    const hdr = { 'X-Forwarded-Client-Cert': encodeURIComponent(forged.cert) };
    // Before the fix: 200 accepted with signatureVerified true.
    const f = await post('/concur/ess-proxy-key', essEvent(), {}, hdr, forged.privateKey);
    assert.equal(f.status, 401, f.body);
    // SAP's real certificate is public: pasting it in the header passes the certificate check, but the signature must still be Concur's.
    const pasted = await post(
      '/concur/ess-proxy-key',
      essEvent(),
      {},
      { 'X-Forwarded-Client-Cert': encodeURIComponent(pki.clients.good.cert) },
      forged.privateKey,
    );
    assert.equal(pasted.status, 401, pasted.body);
    const good = { 'X-Forwarded-Client-Cert': encodeURIComponent(pki.clients.good.cert) };
    const far = await post('/concur/ess-proxy-far', essEvent(), {}, good);
    assert.equal(far.status, 403, far.body);
    assert.match(far.body, /did not come through a trusted proxy/);
    const none = await post('/concur/ess-proxy-none', essEvent(), {}, good);
    assert.equal(none.status, 503, 'misconfigured: retried by ESS, nothing lost');
    const ev = essEvent();
    const d = signedDelivery(ev, { privateKey: key.privateKey });
    // Two header lines through a real HTTP request (rawHeaders keeps them apart).
    const twice = await request(`${red.url}/concur/ess-proxy`, {
      method: 'POST',
      headers: [
        'Host',
        new URL(red.url).host,
        ...Object.entries(d.headers).flat(),
        'X-Forwarded-Client-Cert',
        encodeURIComponent(pki.clients.good.cert),
        'X-Forwarded-Client-Cert',
        encodeURIComponent(pki.clients.good.cert),
      ],
      body: d.body,
      ca: pki.caPem,
    });
    assert.equal(twice.status, 403, twice.body);
    assert.match(twice.body, /repeated/);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(collector.received.filter((m) => m.path.startsWith('/event')).length, 0, 'nothing forged was emitted');
  });

  it('optionally verifies the signature with the key of the verified client certificate', async () => {
    const clientKey = crypto.createPrivateKey(pki.clients.good.key);
    const r = await post('/concur/ess-certkey', essEvent(), clientTls(pki.clients.good), {}, clientKey);
    assert.equal(r.status, 200, r.body);
    const [m] = await collector.waitFor(1, 10000, '/event');
    assert.match(m.body.concur.keyId, /^client-cert:[0-9A-F]+$/);
    // With no other key configured, a signature by any other key fails.
    const wrongKey = await post('/concur/ess-certkey', essEvent(), clientTls(pki.clients.good), {}, key.privateKey);
    assert.equal(wrongKey.status, 401);
  });
});
