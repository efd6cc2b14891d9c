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
const net = require('node:net');

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
  const keys = { configured: null, other: null };
  const emittedCases = [];
  const targets = new Set(manifest.cases.map((c) => c.target));

  before(async () => {
    keys.configured = makeKeyPair();
    keys.other = makeKeyPair();
    collector = await startCollector();
    red = await startRed();
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
    return nodes;
  }

  function buildRequest(c) {
    let body = fs.readFileSync(path.join(CORPUS, c.file));
    if (c.bodyRepeat) body = Buffer.concat(Array(c.bodyRepeat).fill(body));
    const headers = { ...(c.headers || {}) };
    let url;
    if (c.target === 'legacy') {
      const L = manifest.receivers.legacy;
      url = `${red.url}${L.path}`;
      const auth = c.auth || 'valid';
      if (auth === 'valid') headers.authorization = `Basic ${Buffer.from(`${L.username}:${L.password}`).toString('base64')}`;
      else if (auth === 'wrong') headers.authorization = `Basic ${Buffer.from(`${L.username}:not-the-password-000`).toString('base64')}`;
      else if (auth === 'literal') headers.authorization = c.authorization;
    } else if (c.target === 'ess') {
      url = `${red.url}${manifest.receivers.ess.path}`;
      const sign = c.sign || 'configured';
      // signatureOf: sign other bytes than the ones sent (pretty-printed, one-byte-different bodies).
      const signed = c.signatureOf ? fs.readFileSync(path.join(CORPUS, c.signatureOf)) : body;
      if (sign === 'configured') headers['concur-signature'] = signBody(signed, keys.configured.privateKey, c.padding || 'pss');
      else if (sign === 'other-key') headers['concur-signature'] = signBody(signed, keys.other.privateKey);
      else if (sign === 'literal') headers['concur-signature'] = c.signature;
    } else {
      throw new Error(`unknown target ${c.target}`);
    }
    return { url, method: c.method || 'POST', headers, body: body.length || (c.method || 'POST') !== 'GET' ? body : undefined };
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
          res = c.hugeHeaderBytes
            ? await hugeHeaderRequest(req.url, req.method, req.headers, c.hugeHeaderBytes)
            : await request(req.url, { method: req.method, headers: req.headers, body: req.body, timeoutMs: 15000 });
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
