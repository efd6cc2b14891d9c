'use strict';
/**
 * Unit tests of the ESS delivery decisions (concur/ess-receiver.js) that are
 * hard to provoke through a live runtime: 429 back-pressure, 503 when the store
 * fails (also for a concurrent duplicate of the failing delivery), and the
 * rejected-output payload. The message-completion tracker both receivers use
 * is tested in flow-completion.test.js.
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { EventJournal } = require('../../dist/concur/event-journal');
const { EssReceiver, eventMessage, rejectedPayload } = require('../../dist/concur/ess-receiver');
const { loadVerificationKeys } = require('../../dist/concur/ess-signature');
const { testKeyPair, essEvent, signedDelivery, sign } = require('../helpers/ess-signer');
const { selfSigned } = require('../helpers/certs');

/** @typedef {Extract<import('../../dist/concur/ess-receiver').Outcome, { kind: 'rejected' }>} Rejected an outcome the assertions expect to be a refusal */

const key = testKeyPair('receiver');
const { keys } = loadVerificationKeys([{ id: 'k', text: key.publicPem }]);
const delivery = (ev, opts = {}) => {
  const d = signedDelivery(ev, { privateKey: key.privateKey, ...opts });
  const headers = Object.fromEntries(Object.entries(d.headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { rawBody: Buffer.from(d.body), headers };
};

describe('ess-receiver: delivery decisions', () => {
  let dir;
  let journal;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-recv-'));
    journal = await EventJournal.open({ file: path.join(dir, 'j.journal') });
  });
  afterEach(async () => {
    await journal.close().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('stores then accepts; the stored metadata is what msg.concur reports', async () => {
    const r = new EssReceiver({ journal, verifySignature: true, keys, now: () => Date.UTC(2026, 0, 2) });
    const ev = essEvent();
    const out = await r.handle(delivery(ev, { correlationId: 'hdr' }));
    assert.equal(out.kind, 'accepted');
    assert.equal(journal.lookup(ev.id), 'pending', 'stored before the answer');
    const msg = eventMessage(out.stored);
    assert.deepEqual(msg.payload, ev);
    assert.deepEqual(msg.concur, {
      id: ev.id,
      correlationId: 'hdr',
      signatureVerified: true,
      keyId: 'k',
      clientCert: undefined,
      receivedAt: '2026-01-02T00:00:00.000Z',
      deliveryCount: 1,
    });
  });

  it('tries the key that matched last first, and still accepts every configured key', async () => {
    const second = testKeyPair('receiver-2');
    const both = loadVerificationKeys([
      { id: 'first', text: second.publicPem },
      { id: 'k', text: key.publicPem },
    ]).keys;
    const r = new EssReceiver({ journal, verifySignature: true, keys: both });
    // @ts-expect-error reads the variant (or the caught error) that the assertions pin down
    assert.equal((await r.handle(delivery(essEvent()))).stored.meta.keyId, 'k');
    assert.deepEqual(
      // @ts-expect-error inspects a private field on purpose
      r.keys.map((k) => k.id),
      ['k', 'first'],
      'matched key moved to the front',
    );
    const ev = essEvent();
    const d = signedDelivery(ev, { privateKey: second.privateKey });
    const out = await r.handle({ rawBody: Buffer.from(d.body), headers: { 'concur-signature': d.headers['Concur-Signature'] } });
    // @ts-expect-error reads the variant (or the caught error) that the assertions pin down
    assert.equal(out.stored.meta.keyId, 'first');
  });

  it('answers 429 with Retry-After once too many events are pending, and takes them again when the flow catches up', async () => {
    const r = new EssReceiver({ journal, verifySignature: true, keys, maxPending: 2, retryAfterSec: 7 });
    const a = await r.handle(delivery(essEvent()));
    await r.handle(delivery(essEvent()));
    const third = await r.handle(delivery(essEvent()));
    assert.equal(third.kind, 'rejected');
    assert.equal(third.status, 429);
    assert.equal(third.retryAfterSec, 7);
    assert.equal(third.category, 'overload');
    // @ts-expect-error reads the variant (or the caught error) that the assertions pin down
    journal.markDone(a.stored.id);
    assert.equal((await r.handle(delivery(essEvent()))).kind, 'accepted');
  });

  it('answers 503 (retried) when the store cannot write, also to a concurrent duplicate, and records nothing', async () => {
    const r = new EssReceiver({ journal, verifySignature: true, keys });
    await journal.fh.close(); // the disk goes away behind the journal's back
    const ev = essEvent();
    const [a, b] = await Promise.all([r.handle(delivery(ev)), r.handle(delivery(ev))]);
    assert.deepEqual([a.status, b.status], [503, 503]);
    // @ts-expect-error reads the variant (or the caught error) that the assertions pin down
    assert.equal(a.category, 'store');
    assert.equal(journal.lookup(ev.id), undefined);
    await journal.close().catch(() => undefined);
    const closed = await r.handle(delivery(essEvent()));
    assert.equal(closed.status, 503);
  });

  it('checks the client certificate before the signature, and the signature before parsing', async () => {
    const r = new EssReceiver({
      journal,
      verifySignature: true,
      keys,
      clientCertMode: 'header',
      clientCertPolicy: { allowedCNs: ['webhook.api.concursolutions.com'], allowedSerials: [] },
    });
    const notJsonUnsigned = { rawBody: Buffer.from('nope'), headers: {} };
    assert.equal((await r.handle(notJsonUnsigned)).status, 403);
    const r2 = new EssReceiver({ journal, verifySignature: true, keys });
    assert.equal((await r2.handle(notJsonUnsigned)).status, 401, 'unsigned garbage is a signature failure, not a 400');
    // The signature header is checked before the body (it is all a pre-check has): unsigned and too big is 401.
    assert.equal((await r2.handle({ bodyError: { status: 413, message: 'too big' }, headers: {} })).status, 401);
    const sigHeader = { 'concur-signature': 'A'.repeat(344) };
    assert.equal((await r2.handle({ bodyError: { status: 413, message: 'too big' }, headers: sigHeader })).status, 413);
    // A body that could not be read (busy, slow, aborted, not captured) is never a 400: ESS would drop the event.
    const busy = /** @type {Rejected} */ (await r2.handle({ bodyError: { status: 503, kind: 'busy', message: 'busy', retryAfterSec: 5 }, headers: sigHeader }));
    assert.deepEqual([busy.status, busy.retryAfterSec, busy.category], [503, 5, 'overload']);
    const missing = /** @type {Rejected} */ (await r2.handle({ headers: sigHeader }));
    assert.deepEqual([missing.status, missing.category], [503, 'body']);
    assert.equal(r2.shouldReadBody({}), false, 'no signature: the body need not be read');
    assert.equal(r2.shouldReadBody({ 'concur-signature': '!!' }), false);
    assert.equal(r2.shouldReadBody(sigHeader), true);
    assert.equal(new EssReceiver({ journal, verifySignature: false, keys }).shouldReadBody({}), true, 'verification off: nothing to pre-check');
  });

  it("header mode never takes the forwarded certificate's key as a signing key, and reads the header only from a trusted proxy", async () => {
    const { parseTrustedProxies } = require('../../dist/concur/trusted-proxies');
    // A self-made certificate with Concur's CN, and a body signed with its own key: what an attacker can make.
    const forged = selfSigned('webhook.api.concursolutions.com');
    const ev = essEvent();
    const body = Buffer.from(JSON.stringify(ev));
    const headers = { 'concur-signature': sign(body, forged.privateKey), 'x-forwarded-client-cert': encodeURIComponent(forged.cert) };
    /** @type {import('../../dist/concur/ess-receiver').EssReceiverOptions} */
    const opts = {
      journal,
      verifySignature: true,
      keys,
      acceptClientCertKey: true,
      clientCertMode: 'header',
      clientCertPolicy: { allowedCNs: ['webhook.api.concursolutions.com'], allowedSerials: [] },
    };
    const viaProxy = new EssReceiver({ ...opts, trustedProxies: parseTrustedProxies('loopback') });
    const r1 = await viaProxy.handle({ rawBody: body, headers, remoteAddress: '127.0.0.1' });
    assert.equal(r1.status, 401, 'the certificate key is not a signing key in header mode');
    assert.equal(journal.lookup(ev.id), undefined);
    const direct = await viaProxy.handle({ rawBody: body, headers, remoteAddress: '198.51.100.4' });
    assert.equal(direct.status, 403);
    assert.match(direct.reason, /trusted proxy/);
    const none = await new EssReceiver(opts).handle({ rawBody: body, headers, remoteAddress: '127.0.0.1' });
    assert.equal(none.status, 403, 'header mode without trusted proxies believes no header');
    // Repeated header lines (rawHeaders) are refused even from the proxy.
    const twice = await viaProxy.handle({
      rawBody: body,
      headers,
      rawHeaders: ['X-Forwarded-Client-Cert', 'a', 'X-Forwarded-Client-Cert', 'b'],
      remoteAddress: '127.0.0.1',
    });
    assert.equal(twice.status, 403);
    assert.match(twice.reason, /repeated/);
  });

  it('builds a rejected-output payload without secrets and with a truncated body', () => {
    const raw = Buffer.from('x'.repeat(5000));
    const p = rejectedPayload(
      { rawBody: raw, headers: { authorization: 'Bearer abc', cookie: 'sid=1', 'x-api-key': 'k', 'concur-signature': 'sig', 'content-type': 'text/plain' } },
      { kind: 'rejected', status: 401, text: 'bad', category: 'signature', reason: 'bad' },
      0,
    );
    assert.deepEqual(p.headers, {
      authorization: '[redacted]',
      cookie: '[redacted]',
      'x-api-key': '[redacted]',
      'concur-signature': 'sig',
      'content-type': 'text/plain',
    });
    assert.equal(p.rawBody.length, 4096);
    assert.equal(p.rawBodyTruncated, true);
    assert.equal(p.rawBodyBytes, 5000);
    assert.equal(p.statusCode, 401);
  });
});
