'use strict';
/**
 * Unit tests of the pure ESS modules: published keys, Concur-Signature
 * verification, the event envelope and client-certificate parsing.
 */
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const fc = require('fast-check');
const { CONCUR_PUBLISHED_KEYS } = require('../../dist/concur/ess-keys');
const { loadVerificationKeys, verifyEssSignature, decodeSignatureHeader } = require('../../dist/concur/ess-signature');
const { parseEssEnvelope, compileFilter, matchesFilters } = require('../../dist/concur/ess-envelope');
const cc = require('../../dist/concur/client-cert');
const { testKeyPair, sign, essEvent } = require('../helpers/ess-signer');
const { makePki } = require('../helpers/certs');

/** @typedef {Extract<import('../../dist/concur/client-cert').CertCheck, { ok: false }>} Refused a check the assertions expect to fail */

describe('ess-keys: Concur-published public keys', () => {
  it('every shipped key parses into an RSA-2048 KeyObject with e=65537', () => {
    assert.equal(CONCUR_PUBLISHED_KEYS.length, 4);
    for (const k of CONCUR_PUBLISHED_KEYS) {
      const key = crypto.createPublicKey(k.pem);
      assert.equal(key.asymmetricKeyType, 'rsa', k.id);
      assert.equal(key.asymmetricKeyDetails.modulusLength, 2048, k.id);
      assert.equal(key.asymmetricKeyDetails.publicExponent, 65537n, k.id);
    }
    const { keys, errors } = loadVerificationKeys(CONCUR_PUBLISHED_KEYS.map((k) => ({ id: k.id, text: k.pem })));
    assert.deepEqual(errors, []);
    assert.equal(new Set(keys.map((k) => k.fingerprint)).size, 4, 'four distinct keys');
  });

  it('matches the key fragments printed in the docs / facts file', () => {
    const body = (id) => CONCUR_PUBLISHED_KEYS.find((k) => k.id === id).pem.replace(/-----[^-]+-----|\s/g, '');
    // "after Oct 22, 2025": the facts file prints only the start and the end.
    assert.ok(body('concur-2025-10').startsWith('MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAuE2x914aLmJa9GSzVVcT'));
    assert.ok(body('concur-2025-10').endsWith('iQIDAQAB'));
    assert.ok(body('concur-2023-11').startsWith('MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA2wJd8TVDGUxD00bCqemz'));
    assert.ok(body('concur-2023-11').endsWith('1wIDAQAB'));
    assert.ok(body('concur-2019').includes('AQEAxS1LsXrEWEEMPooLHa4r'));
    assert.ok(body('concur-2019').endsWith('8wIDAQAB'));
  });

  it('the seed file holds exactly the two fully printed keys we ship', function () {
    const seedFile = '/work/shared/seeds/event-subscription-service-v4.txt';
    if (!fs.existsSync(seedFile)) this.skip(); // research material outside the repository
    const seed = fs.readFileSync(seedFile, 'utf8');
    const pems = seed.match(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g) || [];
    const fp = (pem) =>
      crypto
        .createHash('sha256')
        .update(crypto.createPublicKey(pem).export({ type: 'spki', format: 'der' }))
        .digest('hex');
    const shipped = new Set(CONCUR_PUBLISHED_KEYS.map((k) => fp(k.pem)));
    assert.equal(pems.length, 2);
    for (const p of pems) assert.ok(shipped.has(fp(p)), 'seed key shipped');
  });

  it('the editor takes the published keys from the runtime (served in resources/concur-editor.js), with labels in en-US and de', () => {
    const { editorRules } = require('../../dist/nodes/shared/editor-rules');
    const served = editorRules().publishedKeys;
    assert.deepEqual(
      served.map((k) => [k.property, k.enabledByDefault]),
      CONCUR_PUBLISHED_KEYS.map((k) => [k.property, k.enabledByDefault]),
    );
    const nodeDir = path.join(__dirname, '..', '..', 'src', 'nodes', 'concur-ess-event-in');
    const html = fs.readFileSync(path.join(nodeDir, 'concur-ess-event-in.html'), 'utf8');
    for (const k of CONCUR_PUBLISHED_KEYS) assert.ok(!html.includes(k.property), `${k.property} is not copied into the editor file`);
    assert.match(html, /ConcurEditor\.publishedKeys/);
    for (const lang of ['en-US', 'de']) {
      const cat = JSON.parse(fs.readFileSync(path.join(nodeDir, 'locales', lang, 'concur-ess-event-in.json'), 'utf8'))['concur-ess-event-in'];
      for (const k of CONCUR_PUBLISHED_KEYS) assert.ok(cat.label[k.property], `${lang}: label.${k.property}`);
    }
    const resource = fs.readFileSync(path.join(__dirname, '..', '..', 'resources', 'concur-editor.js'), 'utf8');
    for (const k of CONCUR_PUBLISHED_KEYS) assert.ok(resource.includes(`"property":"${k.property}","label":`), `${k.property} served to the editor`);
  });
});

describe('ess-signature: key loading', () => {
  const a = testKeyPair('a');
  it('accepts PEM public keys, certificates, PKCS#1 RSA keys, bare base64 SPKI and several blocks in one text', () => {
    const pki = makePki();
    try {
      const rsaPkcs1 = a.publicKey.export({ type: 'pkcs1', format: 'pem' });
      const bare = a.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
      const b = testKeyPair('b');
      const { keys, errors } = loadVerificationKeys([
        { id: 'pem', text: a.publicPem },
        { id: 'cert', text: pki.clients.good.cert },
        { id: 'multi', text: `${b.publicPem}\n${pki.clients.wrongCn.cert}` },
        { id: 'dup-pkcs1', text: rsaPkcs1 },
        { id: 'dup-bare', text: bare },
      ]);
      assert.deepEqual(errors, []);
      assert.deepEqual(
        keys.map((k) => k.id),
        ['pem', 'cert', 'multi', 'multi#2'],
        'duplicates of "pem" collapse to the first id',
      );
      for (const k of keys) assert.ok(k.key instanceof crypto.KeyObject);
    } finally {
      pki.cleanup();
    }
  });

  it('reports bad keys per source without dropping the good ones', () => {
    const priv = testKeyPair('a').privateKey.export({ type: 'pkcs8', format: 'pem' });
    const small = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' });
    const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' });
    const { keys, errors } = loadVerificationKeys([
      { id: 'good', text: a.publicPem },
      { id: 'private', text: priv },
      { id: 'small', text: small },
      { id: 'ec', text: ec },
      { id: 'junk', text: 'hello world!' },
      { id: 'broken', text: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----' },
      { id: 'empty', text: '  ' },
    ]);
    assert.deepEqual(
      keys.map((k) => k.id),
      ['good'],
    );
    const byId = Object.fromEntries(errors.map((e) => [e.id, e.message]));
    assert.deepEqual(Object.keys(byId).sort(), ['broken', 'ec', 'junk', 'private', 'small']);
    assert.match(byId.private, /private key/);
    assert.match(byId.small, /1024-bit/);
    assert.match(byId.ec, /ec key/);
    assert.ok(!errors.some((e) => e.message.includes('MII')), 'no key material in messages');
  });
});

describe('ess-signature: verifying Concur-Signature', () => {
  const a = testKeyPair('a');
  const b = testKeyPair('b');
  const { keys } = loadVerificationKeys([
    { id: 'published', text: CONCUR_PUBLISHED_KEYS[0].pem },
    { id: 'key-a', text: a.publicPem },
  ]);
  const body = Buffer.from(JSON.stringify(essEvent()));

  it('accepts PSS (max salt and digest-length salt) and PKCS#1 v1.5, reporting the matching key', () => {
    assert.deepEqual(verifyEssSignature(body, sign(body, a.privateKey, 'pss'), keys), { ok: true, keyId: 'key-a', padding: 'pss' });
    assert.deepEqual(verifyEssSignature(body, sign(body, a.privateKey, 'pss-digest'), keys), { ok: true, keyId: 'key-a', padding: 'pss' });
    assert.deepEqual(verifyEssSignature(body, sign(body, a.privateKey, 'pkcs1'), keys), { ok: true, keyId: 'key-a', padding: 'pkcs1' });
  });

  it('honours a padding restriction', () => {
    assert.equal(verifyEssSignature(body, sign(body, a.privateKey, 'pkcs1'), keys, 'pss').ok, false);
    assert.equal(verifyEssSignature(body, sign(body, a.privateKey, 'pss'), keys, 'pkcs1').ok, false);
    assert.equal(verifyEssSignature(body, sign(body, a.privateKey, 'pss'), keys, 'pss').ok, true);
  });

  it('rejects a wrong key, a tampered body, a re-serialized body, a missing header and garbage', () => {
    const sig = sign(body, a.privateKey);
    // @ts-expect-error reads the variant (or the caught error) that the assertions pin down
    assert.equal(verifyEssSignature(body, sign(body, b.privateKey), keys).reason, 'mismatch');
    const tampered = Buffer.from(body);
    tampered[10] ^= 1;
    // @ts-expect-error reads the variant (or the caught error) that the assertions pin down
    assert.equal(verifyEssSignature(tampered, sig, keys).reason, 'mismatch');
    const reserialized = Buffer.from(JSON.stringify(JSON.parse(body.toString()), null, 1));
    // @ts-expect-error reads the variant (or the caught error) that the assertions pin down
    assert.equal(verifyEssSignature(reserialized, sig, keys).reason, 'mismatch');
    // @ts-expect-error reads the variant (or the caught error) that the assertions pin down
    assert.equal(verifyEssSignature(body, undefined, keys).reason, 'missing');
    // @ts-expect-error reads the variant (or the caught error) that the assertions pin down
    assert.equal(verifyEssSignature(body, '   ', keys).reason, 'missing');
    // @ts-expect-error reads the variant (or the caught error) that the assertions pin down
    assert.equal(verifyEssSignature(body, '!!!not base64!!!', keys).reason, 'malformed');
    // @ts-expect-error reads the variant (or the caught error) that the assertions pin down
    assert.equal(verifyEssSignature(body, 'QUJD', keys).reason, 'malformed', 'too short to be RSA');
    // @ts-expect-error reads the variant (or the caught error) that the assertions pin down
    assert.equal(verifyEssSignature(body, Buffer.alloc(256, 7).toString('base64'), keys).reason, 'mismatch');
    // @ts-expect-error reads the variant (or the caught error) that the assertions pin down
    assert.equal(verifyEssSignature(body, Buffer.alloc(300, 7).toString('base64'), keys).reason, 'mismatch');
    // @ts-expect-error reads the variant (or the caught error) that the assertions pin down
    assert.equal(verifyEssSignature(body, sig, []).reason, 'no-keys');
  });

  it('accepts base64url, an algorithm prefix and a list of signatures', () => {
    const sig = sign(body, a.privateKey);
    const url = Buffer.from(sig, 'base64').toString('base64url');
    assert.equal(verifyEssSignature(body, url, keys).ok, true);
    assert.equal(verifyEssSignature(body, `sha256=${sig}`, keys).ok, true);
    assert.equal(verifyEssSignature(body, `${sign(body, b.privateKey)}, ${sig}`, keys).ok, true);
    assert.equal(decodeSignatureHeader(`${sig}\r\n`).ok, true, 'folded whitespace');
  });

  it('property: any single-byte change of a signed body fails; the untouched body verifies', () => {
    const k = [keys[1]];
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (bytes, pos, flip) => {
        const buf = Buffer.from(bytes);
        const sig = sign(buf, a.privateKey, pos % 2 ? 'pss' : 'pkcs1');
        if (!verifyEssSignature(buf, sig, k).ok) return false;
        const t = Buffer.from(buf);
        t[pos % t.length] ^= flip;
        return verifyEssSignature(t, sig, k).ok === false;
      }),
      { numRuns: 40 },
    );
  });

  it('property: arbitrary header strings never throw', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 600 }), (h) => {
        const r = verifyEssSignature(body, h, keys);
        return r.ok === false;
      }),
      { numRuns: 300 },
    );
  });
});

describe('ess-envelope', () => {
  it('parses an ESS event and keeps it exactly as sent', () => {
    const ev = essEvent({ extra: { n: 1.5 } });
    const r = parseEssEnvelope(Buffer.from(JSON.stringify(ev)));
    assert.equal(r.ok, true);
    assert.deepEqual(r.event, ev);
    assert.equal(r.id, ev.id);
    assert.equal(r.text, JSON.stringify(ev), 'the decoded text comes along (decoded once)');
    const withBom = parseEssEnvelope(Buffer.from('\ufeff' + JSON.stringify(ev)));
    assert.equal(withBom.ok, true, 'BOM tolerated');
    assert.deepEqual(withBom.event, ev);
    assert.equal(withBom.text, '\ufeff' + JSON.stringify(ev), 'the text keeps the BOM: it is the body exactly as received');
  });

  it('explains every rejection', () => {
    const bad = {
      '': /empty/,
      'not json': /not JSON/,
      '[1,2]': /not an event object \(got array\)/,
      null: /got null/,
      '"x"': /got string/,
      '{"topic":"t"}': /no "id"/,
      '{"id":""}': /no "id"/,
      '{"id":"a","eventType":5}': /"eventType" is not a string/,
      '{"id":"a","facts":[1]}': /"facts" is not an object/,
    };
    for (const [text, re] of Object.entries(bad)) {
      const r = parseEssEnvelope(Buffer.from(text));
      assert.equal(r.ok, false, text);
      assert.match(r.message, re, text);
    }
    // @ts-expect-error reads the variant (or the caught error) that the assertions pin down
    assert.match(parseEssEnvelope(Buffer.from([0x7b, 0xff, 0x7d])).message, /UTF-8/);
    // @ts-expect-error reads the variant (or the caught error) that the assertions pin down
    assert.match(parseEssEnvelope(Buffer.from(JSON.stringify({ id: 'x'.repeat(300) }))).message, /longer than/);
    // @ts-expect-error reads the variant (or the caught error) that the assertions pin down
    assert.equal(parseEssEnvelope(Buffer.from('{"id":42}')).id, '42');
  });

  it('filters on topic and eventType regexes', () => {
    const ev = essEvent();
    // @ts-expect-error a partial event on purpose (the filter must cope with missing fields)
    assert.equal(matchesFilters(ev, compileFilter('concur\\.expense\\.report$', 'topic'), compileFilter('^statusChanged$', 'type')), true);
    // @ts-expect-error a partial event on purpose (the filter must cope with missing fields)
    assert.equal(matchesFilters(ev, undefined, compileFilter('^reportDeleted$', 'type')), false);
    assert.equal(matchesFilters({ id: 'x' }, compileFilter('^$', 'topic')), true, 'missing field matched as empty string');
    assert.equal(compileFilter('  ', 'topic'), undefined);
    assert.throws(() => compileFilter('(', 'topic'), /topic filter is not a valid regular expression/);
  });
});

describe('client-cert: certificate checks', () => {
  let pki;
  before(() => {
    pki = makePki();
  });
  after(() => pki && pki.cleanup());
  const policy = { allowedCNs: ['webhook.api.concursolutions.com'], allowedSerials: [] };

  it('parses the header formats proxies use', () => {
    const pem = pki.clients.good.cert;
    const der = new crypto.X509Certificate(pem).raw;
    const expectSerial = new crypto.X509Certificate(pem).serialNumber.replace(/^0+/, '');
    const forms = {
      pem,
      'folded pem (nginx $ssl_client_cert)': pem.trim().replace(/\n/g, '\n\t'),
      'spaces instead of newlines': pem.trim().replace(/\n/g, ' '),
      'url-encoded pem (nginx escaped, ALB)': encodeURIComponent(pem),
      'xfcc (envoy)': `By=spiffe://cluster.local/ns/default/sa/node-red;Hash=abc123;Cert="${encodeURIComponent(pem)}";Subject="CN=webhook.api.concursolutions.com,O=SAP SE";URI=`,
      // Envoy APPEND_FORWARD: each proxy appends its client's certificate, so only the last element is the trusted hop's.
      'xfcc, two elements, the last holds the chain': `By=x;Hash=2;Subject="CN=a,O=b",Hash=1;Chain="${encodeURIComponent(pem)}"`,
      'base64 der (Azure)': der.toString('base64'),
      'base64url der': der.toString('base64url'),
    };
    for (const [name, value] of Object.entries(forms)) {
      const r = cc.checkHeaderCert(value, policy);
      // @ts-expect-error reads the variant (or the caught error) that the assertions pin down
      assert.equal(r.ok, true, `${name}: ${r.message}`);
      assert.deepEqual(r.info.cn, ['webhook.api.concursolutions.com']);
      assert.equal(r.info.serial, expectSerial.toUpperCase());
      assert.match(r.info.subject, /^CN=webhook\.api\.concursolutions\.com, O=SAP SE/);
    }
    assert.equal(cc.checkHeaderCert(undefined, policy).ok, false);
    // @ts-expect-error reads the variant (or the caught error) that the assertions pin down
    assert.match(cc.checkHeaderCert('garbage!', policy).message, /not PEM/);
    // @ts-expect-error reads the variant (or the caught error) that the assertions pin down
    assert.match(cc.checkHeaderCert('QUJD', policy).message, /does not hold a certificate/);
  });

  it('applies the CN list, serial allow-list and trusted issuers', () => {
    const good = pki.clients.good.cert;
    const serial = new crypto.X509Certificate(good).serialNumber;
    // @ts-expect-error reads the variant (or the caught error) that the assertions pin down
    assert.match(cc.checkHeaderCert(pki.clients.wrongCn.cert, policy).message, /CN "attacker\.example\.com" is not allowed/);
    assert.equal(cc.checkHeaderCert(pki.clients.wrongCn.cert, { allowedCNs: [], allowedSerials: [] }).ok, true, 'empty CN list = any');
    assert.equal(cc.checkHeaderCert(good, { ...policy, allowedSerials: [serial.toLowerCase().match(/../g).join(':')] }).ok, true, 'serial format-insensitive');
    // @ts-expect-error reads the variant (or the caught error) that the assertions pin down
    assert.match(cc.checkHeaderCert(good, { ...policy, allowedSerials: ['0DB77DE3CEE04514936B0ABA6C95B53B'] }).message, /serial .* not allowed/);
    const trusted = cc.parseCertificates(pki.caPem, 'issuers');
    assert.equal(cc.checkHeaderCert(good, { ...policy, trustedIssuers: trusted }).ok, true);
    // @ts-expect-error reads the variant (or the caught error) that the assertions pin down
    assert.match(cc.checkHeaderCert(pki.clients.untrusted.cert, { ...policy, trustedIssuers: trusted }).message, /not issued by a trusted issuer/);
    // @ts-expect-error reads the variant (or the caught error) that the assertions pin down
    assert.match(cc.checkHeaderCert(good, policy, new Date(Date.now() + 10 * 86400e3)).message, /expired/);
    assert.throws(() => cc.parseCertificates('hello', 'issuers'), /no PEM certificate/);
  });

  it('header mode: only a trusted proxy peer, one header line and the LAST XFCC element count (forgery, issue 12.1)', () => {
    const { parseTrustedProxies } = require('../../dist/concur/trusted-proxies');
    const good = pki.clients.good.cert;
    const proxies = parseTrustedProxies('10.0.0.0/8, fd00::/8; loopback');
    assert.deepEqual(proxies.entries, ['10.0.0.0/8', 'fd00::/8', 'loopback']);
    for (const peer of ['10.1.2.3', '::ffff:10.1.2.3', 'fd00::5', '127.0.0.1', '::1', '::ffff:127.0.0.1']) assert.equal(proxies.has(peer), true, peer);
    for (const peer of ['11.0.0.1', '192.168.1.1', 'fe80::1', '::ffff:11.0.0.1', '', undefined, 'not-an-ip'])
      assert.equal(proxies.has(peer), false, String(peer));
    assert.throws(() => parseTrustedProxies('10.0.0.0/33'), /"10\.0\.0\.0\/33" has an invalid prefix length/);
    assert.throws(() => parseTrustedProxies('proxy.example.com'), /"proxy\.example\.com" is not an IP address/);
    assert.equal(parseTrustedProxies('').entries.length, 0);

    const fwd = (peer, ...lines) => cc.checkProxiedCert({ peer, lines }, policy, proxies);
    assert.equal(fwd('10.9.9.9', encodeURIComponent(good)).ok, true);
    assert.match(/** @type {Refused} */ (fwd('203.0.113.7', encodeURIComponent(good))).message, /did not come through a trusted proxy \(peer 203\.0\.113\.7\)/);
    assert.match(
      /** @type {Refused} */ (cc.checkProxiedCert({ peer: '127.0.0.1', lines: [good] }, policy, parseTrustedProxies(''))).message,
      /no trusted proxy configured/,
    );
    assert.match(/** @type {Refused} */ (cc.checkProxiedCert({ peer: '127.0.0.1', lines: [good] }, policy, undefined)).message, /no trusted proxy configured/);
    // A caller's own header line next to the proxy's (Node joins them with ", "): refused, whichever comes first.
    assert.match(/** @type {Refused} */ (fwd('127.0.0.1', encodeURIComponent(good), encodeURIComponent(pki.clients.wrongCn.cert))).message, /repeated/);
    assert.match(/** @type {Refused} */ (cc.checkHeaderCert([good, good], policy)).message, /repeated/);
    // XFCC appended by the proxy: the caller-supplied first element must not win.
    const el = (pem) => `Hash=0;Cert="${encodeURIComponent(pem)}";Subject="x"`;
    assert.match(
      /** @type {Refused} */ (fwd('127.0.0.1', `${el(good)},${el(pki.clients.wrongCn.cert)}`)).message,
      /CN "attacker\.example\.com" is not allowed/,
    );
    assert.equal(fwd('127.0.0.1', `${el(pki.clients.wrongCn.cert)},${el(good)}`).ok, true);
    assert.match(/** @type {Refused} */ (fwd('127.0.0.1', `${el(good)},By=spiffe://proxy;Hash=1`)).message, /last X-Forwarded-Client-Cert element has no Cert/);
    // rawHeaders keeps repeated lines apart; the name matches case-insensitively.
    assert.deepEqual(cc.headerLines(['Host', 'h', 'X-Forwarded-Client-Cert', 'a', 'x-forwarded-client-cert', 'b'], 'X-FORWARDED-CLIENT-CERT'), ['a', 'b']);
    assert.deepEqual(cc.headerLines(undefined, 'x', 'joined'), ['joined']);
  });

  it('checks TLS peers: not TLS, no certificate, unverified, verified', () => {
    const x = new crypto.X509Certificate(pki.clients.good.cert);
    assert.match(/** @type {Refused} */ (cc.checkTlsPeer({ encrypted: false }, policy)).message, /not TLS/);
    assert.match(
      /** @type {Refused} */ (cc.checkTlsPeer({ encrypted: true, authorized: false, getPeerCertificate: () => ({}) }, policy)).message,
      /no client certificate/,
    );
    assert.match(
      /** @type {Refused} */ (
        cc.checkTlsPeer(
          { encrypted: true, authorized: false, authorizationError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', getPeerCertificate: () => ({ raw: x.raw }) },
          policy,
        )
      ).message,
      /not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/,
    );
    const ok = cc.checkTlsPeer({ encrypted: true, authorized: true, getPeerCertificate: () => ({ raw: x.raw }) }, policy);
    assert.equal(ok.ok, true);
    // The decoded-fields fallback (no raw bytes) also works, including multi-valued CN.
    const info = cc.infoFromPeerCertificate({ subject: { CN: ['a', 'webhook.api.concursolutions.com'], O: 'SAP SE' }, serialNumber: '00AB' });
    assert.deepEqual(info.cn, ['a', 'webhook.api.concursolutions.com']);
    assert.equal(info.serial, 'AB');
    assert.equal(cc.checkCertPolicy(info, policy).ok, true);
  });

  it('parseList splits on commas, semicolons and newlines', () => {
    assert.deepEqual(cc.parseList(' a, b;c\n\nd '), ['a', 'b', 'c', 'd']);
    assert.deepEqual(cc.parseList(undefined), []);
  });
});
