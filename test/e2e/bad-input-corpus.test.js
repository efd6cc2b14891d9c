'use strict';
/**
 * Drives every case of test/corpus/manifest.json through a REAL Node-RED
 * (XML bombs, external entities, truncated and empty bodies, wrong content
 * types, huge headers, invalid base64, wrong keys, non-UTF-8 …). For each case:
 * the documented status code comes back, nothing is emitted unless the case
 * says so, and afterwards the same Node-RED process (same PID) still answers
 * /settings with a bounded resident set size.
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startRed, request } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');
const { startCollector, collectorNodes } = require('../helpers/collector');
const { makeKeyPair, signBody } = require('../helpers/signed-events');
const { selfSigned } = require('../helpers/certs');
const net = require('node:net');
const { slowPost } = require('../helpers/slow-post');

const CORPUS = path.join(__dirname, '..', 'corpus');
const manifest = JSON.parse(fs.readFileSync(path.join(CORPUS, 'manifest.json'), 'utf8'));
/** Generous: the bombs would need hundreds of MB if expanded; a leak of a few KB per request over ~200 requests stays far below. */
const RSS_GROWTH_LIMIT_MB = 120;

/**
 * Sends a request whose header block is `padBytes` long in 4 KB chunks and
 * stops writing once the server answers: Node's server replies 431 after 16 KB
 * and closes, and writing on into the closed socket would turn that answer
 * into a connection reset on the client side.
 */
function hugeHeaderRequest(url, method, headers, padBytes, timeoutMs = 15000) {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(u.port), u.hostname);
    const chunks = [];
    let answered = false;
    const timer = setTimeout(() => sock.destroy(new Error('timed out')), timeoutMs);
    sock.on('data', (d) => {
      answered = true;
      chunks.push(d);
    });
    sock.on('error', (err) => (answered ? undefined : (clearTimeout(timer), reject(err))));
    sock.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      if (m) resolve({ status: Number(m[1]), body: text.split('\r\n\r\n').slice(1).join('') });
      else reject(new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 100))}`));
    });
    sock.on('connect', async () => {
      sock.write(`${method} ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\n`);
      for (const [k, v] of Object.entries(headers)) sock.write(`${k}: ${v}\r\n`);
      sock.write('X-Pad: ');
      for (let sent = 0; sent < padBytes && !answered && !sock.destroyed; sent += 4096) {
        sock.write('p'.repeat(4096));
        await new Promise((r) => setTimeout(r, 5));
      }
      if (!answered && !sock.destroyed) sock.write('\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
  });
}

function rssKb(pid) {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

describe('bad-input corpus through a real Node-RED', function () {
  this.timeout(120000);
  let red;
  let collector;
  let pid;
  const keys = { configured: null, other: null, forged: null };
  const emittedCases = [];
  const targets = new Set(manifest.cases.map((c) => c.target));

  before(async () => {
    keys.configured = makeKeyPair();
    keys.other = makeKeyPair();
    // What anyone can make: a self-signed certificate with Concur's webhook CN, and its key.
    keys.forged = selfSigned('webhook.api.concursolutions.com');
    collector = await startCollector();
    red = await startRed({ settings: manifest.redSettings || {} });
    pid = red.pid;
    await red.deploy(flows());
  });
  after(() => teardown({ red, collector }));

  function flows() {
    const z = 'corpus-tab';
    const col = collectorNodes({ idPrefix: 'col', z, url: collector.url, fields: ['payload', 'topic'] });
    /** @type {Record<string, any>[]} */
    const nodes = [{ id: z, type: 'tab', label: 'corpus' }, ...col.nodes];
    const L = manifest.receivers.legacy;
    if (targets.has('legacy')) {
      nodes.push({
        id: 'legacy-in',
        type: 'concur-legacy-notify-in',
        z,
        path: L.path,
        maxBodyKiB: L.maxBodyKiB,
        credentials: { username: L.username, password: L.password },
        wires: [[col.inputId]],
      });
    }
    const E = manifest.receivers.ess;
    if (targets.has('ess')) {
      nodes.push({
        id: 'ess-in',
        type: 'concur-ess-event-in',
        z,
        ...E.node,
        path: E.path,
        extraKeys: keys.configured.publicPem,
        wires: [[col.inputId]],
      });
    }
    const P = manifest.receivers.essProxy;
    if (targets.has('essProxy')) {
      nodes.push({ id: 'ess-proxy-in', type: 'concur-ess-event-in', z, ...P.node, path: P.path, extraKeys: keys.configured.publicPem, wires: [[col.inputId]] });
    }
    return nodes;
  }

  /**
   * ESS bodies carry the documentation sample's 2021 timeStamp; the receiver
   * refuses events older than its dedupe window, so it is replaced by the current
   * time (same length, so one-byte-changed bodies stay one byte apart) unless the
   * case keeps it ('asIs').
   */
  const SAMPLE_TIME = Buffer.from('"timeStamp":"2021-03-18T23:11:51.034Z"');
  function freshen(buf, c) {
    if (c.target !== 'ess' || c.asIs) return buf;
    const now = Buffer.from(`"timeStamp":"${new Date().toISOString()}"`);
    let i = buf.indexOf(SAMPLE_TIME);
    if (i < 0 || now.length !== SAMPLE_TIME.length) return buf;
    const out = Buffer.from(buf);
    for (; i >= 0; i = out.indexOf(SAMPLE_TIME, i + 1)) now.copy(out, i);
    return out;
  }

  function buildRequest(c) {
    let body = freshen(fs.readFileSync(path.join(CORPUS, c.file)), c);
    if (c.bodyRepeat) body = Buffer.concat(Array(c.bodyRepeat).fill(body));
    const headers = { ...(c.headers || {}) };
    let url;
    if (c.target === 'legacy') {
      const L = manifest.receivers.legacy;
      url = `${red.url}${c.path || L.path}`;
      const auth = c.auth || 'valid';
      if (auth === 'valid') headers.authorization = `Basic ${Buffer.from(`${L.username}:${L.password}`).toString('base64')}`;
      else if (auth === 'wrong') headers.authorization = `Basic ${Buffer.from(`${L.username}:not-the-password-000`).toString('base64')}`;
      else if (auth === 'literal') headers.authorization = c.authorization;
    } else if (c.target === 'ess' || c.target === 'essProxy') {
      url = `${red.url}${c.path || manifest.receivers[c.target].path}`;
      const sign = c.sign || 'configured';
      // forwardedCert: the header a proxy would set, here sent by the caller itself.
      if (c.forwardedCert === 'forged') headers['x-forwarded-client-cert'] = encodeURIComponent(keys.forged.cert);
      // signatureOf: sign other bytes than the ones sent (pretty-printed, one-byte-different bodies).
      const signed = c.signatureOf ? freshen(fs.readFileSync(path.join(CORPUS, c.signatureOf)), c) : body;
      if (sign === 'configured') headers['concur-signature'] = signBody(signed, keys.configured.privateKey, c.padding || 'pss');
      else if (sign === 'other-key') headers['concur-signature'] = signBody(signed, keys.other.privateKey);
      else if (sign === 'literal') headers['concur-signature'] = c.signature;
      else if (sign === 'forged-cert-key') headers['concur-signature'] = signBody(signed, keys.forged.privateKey);
    } else {
      throw new Error(`unknown target ${c.target}`);
    }
    // headerTwice: send the named header on two lines (a raw header list: Node would otherwise join them).
    const sentHeaders = c.headerTwice
      ? ['Host', new URL(url).host, ...Object.entries(headers).flatMap(([k, v]) => (k === c.headerTwice ? [k, v, k, v] : [k, v]))]
      : headers;
    return { url, method: c.method || 'POST', headers: sentHeaders, body: body.length || (c.method || 'POST') !== 'GET' ? body : undefined };
  }

  it('every case answers its documented status; only the accepted ones emit; the process stays up with bounded memory', async () => {
    // Warm up so the baseline RSS includes the loaded parser and JIT.
    await request(`${red.url}/settings`);
    const rssBefore = rssKb(pid);
    const failures = [];
    let expectedEmits = 0;
    for (const c of manifest.cases) {
      const times = c.repeat || 1;
      for (let i = 0; i < times; i++) {
        const req = buildRequest(c);
        let res;
        try {
          if (c.stream) {
            const u = new URL(req.url);
            const st = c.stream;
            const chunked = st.declare === 'chunked';
            res = await slowPost(`${u.protocol}//${u.host}`, {
              path: u.pathname,
              headers: req.headers,
              body: req.body,
              length: chunked ? undefined : st.declare || req.body.length,
              chunked,
              sendBytes: st.send,
              chunk: st.chunk || 1024,
              intervalMs: st.intervalMs || 20,
              deadlineMs: 15000,
            });
            if (c.answeredBeforeBody && !(res.bodySentWhenAnswered < (chunked || !st.declare ? req.body.length : st.declare))) {
              failures.push(`${c.name}: answered only after the whole body was sent`);
            }
            if (res.status === 503 && !/retry-after: \d+/.test(res.head || '')) failures.push(`${c.name}: 503 without Retry-After`);
          } else {
            res = c.hugeHeaderBytes
              ? await hugeHeaderRequest(req.url, req.method, req.headers, c.hugeHeaderBytes)
              : await request(req.url, { method: req.method, headers: req.headers, body: req.body, timeoutMs: 15000 });
          }
        } catch (err) {
          failures.push(`${c.name}: request failed: ${err.message}`);
          break;
        }
        if (res.status !== c.expect) {
          failures.push(`${c.name}: expected ${c.expect}, got ${res.status} ${res.body.slice(0, 200)}`);
          break;
        }
        for (const s of c.mustNotContain || []) if (res.body.includes(s)) failures.push(`${c.name}: response leaks "${s}"`);
        if (c.emits) {
          expectedEmits++;
          emittedCases.push(c.name);
          try {
            await collector.waitFor(expectedEmits, 10000);
          } catch {
            failures.push(`${c.name}: accepted (${res.status}) but nothing reached the flow`);
            expectedEmits = collector.received.length;
          }
        }
      }
      // After every case: same process, admin API still answering.
      assert.equal(red.exitInfo, null, `Node-RED exited after "${c.name}": ${JSON.stringify(red.exitInfo)}\n${red.log().slice(-3000)}`);
      const alive = await request(`${red.url}/settings`);
      assert.equal(alive.status, 200, `/settings after "${c.name}"`);
    }
    const received = await collector.settle(500);
    const rssAfter = rssKb(pid);
    const growthMb = (rssAfter - rssBefore) / 1024;
    const sent = manifest.cases.reduce((n, c) => n + (c.repeat || 1), 0);
    process.stdout.write(
      `      corpus: ${manifest.cases.length} cases, ${sent} requests, ${received.length} messages emitted; ` +
        `Node-RED pid ${pid} VmRSS ${Math.round(rssBefore / 1024)} MB -> ${Math.round(rssAfter / 1024)} MB (limit +${RSS_GROWTH_LIMIT_MB} MB)\n`,
    );
    assert.deepEqual(failures, [], failures.join('\n'));
    assert.equal(received.length, expectedEmits, `only accepted cases emit (${emittedCases.join('; ')}); got ${JSON.stringify(received.map((m) => m.body))}`);
    for (const m of received) {
      const text = JSON.stringify(m.body);
      for (const c of manifest.cases) for (const s of c.mustNotContain || []) assert.ok(!text.includes(s), `emitted message leaks "${s}"`);
    }
    assert.equal(red.pid, pid, 'same Node-RED process');
    assert.ok(growthMb < RSS_GROWTH_LIMIT_MB, `RSS grew by ${growthMb.toFixed(1)} MB`);
    // No unhandled error reached Node-RED's log (an escaped throw would show as an uncaught exception).
    assert.doesNotMatch(red.log(), /uncaught|unhandled/i);
  });
});
