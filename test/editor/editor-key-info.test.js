'use strict';
/**
 * concur/key-info: what the ESS edit dialog shows for pasted keys and
 * certificates (kind, size, SHA-256 SPKI fingerprint, certificate CN and
 * validity), and the clear refusals for private keys and non-PEM text.
 */
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { describeKeyText, MAX_BLOCKS, MAX_KEY_TEXT_CHARS } = require('../../dist/concur/key-info');
const { spkiFingerprint } = require('../../dist/concur/ess-signature');
const { CONCUR_PUBLISHED_KEYS } = require('../../dist/concur/ess-keys');
const { makePki } = require('../helpers/certs');
const { startRed, request } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');

// bcrypt of ADMIN_PASSWORD (cost 8), for Node-RED's adminAuth in the route test.
const ADMIN_PASSWORD = 'key-info-admin-pass';
const ADMIN_HASH = '$2b$08$.6Uv/bWDcx/3mTosCMNes.6BxOxuDkNVVtORi4tjCdKS7sfccf8Hy';

const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const RSA_PUB = rsa.publicKey.export({ type: 'spki', format: 'pem' });
const RSA_FP = spkiFingerprint(rsa.publicKey);

describe('concur/key-info (ESS dialog key fingerprints)', function () {
  this.timeout(60000);
  let pki;
  before(() => {
    pki = makePki();
  });
  after(() => pki && pki.cleanup());

  it('describes an RSA public key with its SHA-256 SPKI fingerprint (as the receiver identifies keys)', () => {
    const r = describeKeyText(RSA_PUB);
    assert.deepEqual(r.errors, []);
    assert.equal(r.keys.length, 1);
    assert.deepEqual(r.keys[0], { index: 1, kind: 'public-key', algorithm: 'rsa', bits: 2048, fingerprint: RSA_FP, usableForEss: true });
    assert.match(RSA_FP, /^[0-9a-f]{64}$/);
  });

  it('describes a certificate: CN, issuer, serial, validity and the fingerprint of its key', () => {
    const r = describeKeyText(pki.clients.good.cert, new Date());
    assert.deepEqual(r.errors, []);
    const k = r.keys[0];
    assert.equal(k.kind, 'certificate');
    assert.equal(k.certificate.commonName, 'webhook.api.concursolutions.com');
    assert.match(k.certificate.issuer, /ca test CA/);
    assert.equal(k.certificate.expired, false);
    assert.ok(Date.parse(k.certificate.validTo) > Date.now());
    assert.equal(k.fingerprint, spkiFingerprint(new crypto.X509Certificate(pki.clients.good.cert).publicKey));
    assert.equal(k.usableForEss, true);
    // The same certificate is reported expired once its validity has passed.
    assert.equal(describeKeyText(pki.clients.good.cert, new Date(Date.now() + 10 * 86400e3)).keys[0].certificate.expired, true);
  });

  it('describes several blocks in order and says which one is wrong', () => {
    const text = `${RSA_PUB}\n${pki.caPem}\n-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n`;
    const r = describeKeyText(text);
    assert.deepEqual(
      r.keys.map((k) => [k.index, k.kind]),
      [
        [1, 'public-key'],
        [2, 'certificate'],
      ],
    );
    assert.equal(r.errors.length, 1);
    assert.equal(r.errors[0].index, 3);
    assert.equal(r.errors[0].code, 'invalid');
    assert.match(r.errors[0].message, /public key cannot be read/);
  });

  it('refuses a private key without echoing any of it', () => {
    const pem = String(rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const r = describeKeyText(pem);
    assert.deepEqual(r.keys, []);
    assert.deepEqual(
      r.errors.map((e) => e.code),
      ['private-key'],
    );
    const body = pem.split('\n')[1];
    assert.ok(!JSON.stringify(r).includes(body), 'no key material in the answer');
    assert.equal(describeKeyText(pki.clients.good.key).errors[0].code, 'private-key');
  });

  it('accepts a bare base64 SPKI (as SAP prints keys on one line)', () => {
    const b64 = rsa.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    const r = describeKeyText(b64);
    assert.equal(r.keys[0].kind, 'base64-spki');
    assert.equal(r.keys[0].fingerprint, RSA_FP);
  });

  it('flags keys that cannot verify ESS signatures (EC, RSA under 2048 bits)', () => {
    const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' });
    const e = describeKeyText(ec).keys[0];
    assert.equal(e.algorithm, 'ec');
    assert.equal(e.curve, 'prime256v1');
    assert.equal(e.usableForEss, false);
    assert.equal(e.problem, 'ESS signatures are RSA, this is an EC key');
    const small = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' });
    const s = describeKeyText(small).keys[0];
    assert.equal(s.bits, 1024);
    assert.equal(s.usableForEss, false);
    assert.equal(s.problem, '1024-bit RSA is too short (at least 2048 bits)');
  });

  it('answers "not a PEM key" for other text, and reports unclosed or unsupported blocks', () => {
    assert.deepEqual(
      describeKeyText('hello, this is not a key').errors.map((e) => e.code),
      ['not-pem'],
    );
    assert.match(describeKeyText('hello, this is not a key').errors[0].message, /not a PEM key/);
    assert.equal(describeKeyText('-----BEGIN PUBLIC KEY-----\nAAAA').errors[0].code, 'invalid');
    assert.equal(describeKeyText('-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----').errors[0].code, 'unsupported');
    assert.equal(describeKeyText('QUJD').errors[0].code, 'not-pem', 'base64 that is not a key');
    assert.match(describeKeyText('plain words only').errors[0].message, /not a PEM key/);
    assert.deepEqual(describeKeyText(''), { keys: [], errors: [], truncated: false });
    assert.deepEqual(describeKeyText(undefined), { keys: [], errors: [], truncated: false });
    assert.deepEqual(describeKeyText(42), { keys: [], errors: [], truncated: false });
  });

  it('bounds the work: over-long text is refused, more than MAX_BLOCKS blocks are cut and flagged', () => {
    assert.equal(describeKeyText('A'.repeat(MAX_KEY_TEXT_CHARS + 1)).errors[0].code, 'too-large');
    const many = Array.from({ length: MAX_BLOCKS + 3 }, () => RSA_PUB).join('\n');
    const r = describeKeyText(many);
    assert.equal(r.keys.length, MAX_BLOCKS);
    assert.equal(r.truncated, true);
  });

  it('every built-in Concur key is a 2048-bit RSA key with a distinct fingerprint', () => {
    const fps = CONCUR_PUBLISHED_KEYS.map((k) => {
      const r = describeKeyText(k.pem);
      assert.deepEqual(r.errors, [], k.id);
      assert.equal(r.keys[0].bits, 2048, k.id);
      assert.equal(r.keys[0].usableForEss, true, k.id);
      return r.keys[0].fingerprint;
    });
    assert.equal(new Set(fps).size, fps.length);
  });

  describe('admin route /concur-ess-event-in/key-info in a real Node-RED with adminAuth', () => {
    let red;
    before(async () => {
      red = await startRed({
        readyPath: '/auth/login',
        settings: {
          adminAuth: {
            type: 'credentials',
            users: [
              { username: 'admin', password: ADMIN_HASH, permissions: '*' },
              { username: 'viewer', password: ADMIN_HASH, permissions: 'read' },
            ],
          },
        },
      });
    });
    after(() => teardown({ red }));

    async function token(username, scope = '*') {
      const r = await request(`${red.url}/auth/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ client_id: 'node-red-admin', grant_type: 'password', scope, username, password: ADMIN_PASSWORD }),
      });
      assert.equal(r.status, 200, r.body);
      return JSON.parse(r.body).access_token;
    }
    const post = (headers, body) =>
      request(`${red.url}/concur-ess-event-in/key-info`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body });

    it('refuses callers without an admin token', async () => {
      assert.equal((await request(`${red.url}/concur-ess-event-in/key-info`)).status, 401);
      assert.equal((await post({}, JSON.stringify({ text: RSA_PUB }))).status, 401);
    });

    it('answers a read-only user with the built-in keys and the description of a pasted key', async () => {
      const auth = { Authorization: `Bearer ${await token('viewer', 'read')}` };
      const g = await request(`${red.url}/concur-ess-event-in/key-info`, { headers: auth });
      assert.equal(g.status, 200, g.body);
      const published = JSON.parse(g.body).published;
      assert.deepEqual(
        published.map((k) => k.property),
        CONCUR_PUBLISHED_KEYS.map((k) => k.property),
      );
      assert.deepEqual(
        published.map((k) => k.fingerprint),
        CONCUR_PUBLISHED_KEYS.map((k) => describeKeyText(k.pem).keys[0].fingerprint),
      );
      const p = await post(auth, JSON.stringify({ text: RSA_PUB }));
      assert.equal(p.status, 200, p.body);
      assert.equal(JSON.parse(p.body).keys[0].fingerprint, RSA_FP);
    });

    it('answers bad requests clearly and never echoes a private key', async () => {
      const auth = { Authorization: `Bearer ${await token('admin')}` };
      const noText = await post(auth, JSON.stringify({ pem: 'x' }));
      assert.equal(noText.status, 400);
      assert.match(JSON.parse(noText.body).error, /\{ "text": "<PEM>" \}/);
      const priv = String(rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }));
      const p = await post(auth, JSON.stringify({ text: priv }));
      assert.equal(p.status, 200);
      assert.deepEqual(
        JSON.parse(p.body).errors.map((e) => e.code),
        ['private-key'],
      );
      assert.ok(!p.body.includes(priv.split('\n')[1]), 'no key material in the answer');
      assert.ok(!red.log().includes(priv.split('\n')[1]), 'no key material in the log');
      const big = await post(auth, JSON.stringify({ text: 'A'.repeat(MAX_KEY_TEXT_CHARS + 1) }));
      assert.equal(big.status, 413);
    });
  });
});
