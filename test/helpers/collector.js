'use strict';
/**
 * Collects what a flow emits: the flow forwards selected msg properties to this
 * loopback HTTP server (function node -> core http request node), so an
 * end-to-end test can assert on real messages leaving a real Node-RED.
 */
const http = require('node:http');

async function startCollector() {
  const received = [];
  const waiters = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks).toString('utf8');
      try {
        body = JSON.parse(body);
      } catch {
        /* keep text */
      }
      received.push({ path: req.url, body });
      res.statusCode = 200;
      res.end('ok');
      for (const w of waiters.splice(0)) w();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', () => r(undefined)));
  const url = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`;

  /** Resolves once `n` messages have arrived (or rejects after timeoutMs). */
  async function waitFor(n, timeoutMs = 10000, pathPrefix) {
    const count = () => (pathPrefix ? received.filter((m) => m.path.startsWith(pathPrefix)).length : received.length);
    const until = Date.now() + timeoutMs;
    while (count() < n) {
      const left = until - Date.now();
      if (left <= 0) throw new Error(`collector: expected ${n} messages, got ${count()}`);
      await new Promise((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        waiters.push(() => {
          clearTimeout(t);
          r(undefined);
        });
      });
    }
    return pathPrefix ? received.filter((m) => m.path.startsWith(pathPrefix)) : received;
  }

  return {
    url,
    received,
    waitFor,
    /** Resolves after `ms` with what arrived, for "nothing emitted" assertions. */
    async settle(ms = 300) {
      await new Promise((r) => setTimeout(r, ms));
      return received;
    },
    clear() {
      received.length = 0;
    },
    close: () => new Promise((r) => server.close(() => r(undefined))),
  };
}

/**
 * Flow nodes that forward `fields` of each message arriving from `fromId`
 * (output `port`) to the collector under `pathName`. Returns [nodes, inputId].
 */
function collectorNodes({ idPrefix, z, url, pathName = '/msg', fields = ['payload', 'topic'] }) {
  const fnId = `${idPrefix}-fn`;
  const reqId = `${idPrefix}-req`;
  const pick = fields.map((f) => `${JSON.stringify(f)}: msg[${JSON.stringify(f)}]`).join(', ');
  return {
    inputId: fnId,
    nodes: [
      {
        id: fnId,
        type: 'function',
        z,
        name: 'pick fields',
        func: `const out = { ${pick} };\nreturn { payload: out, headers: { 'content-type': 'application/json' } };`,
        outputs: 1,
        wires: [[reqId]],
        x: 300,
        y: 200,
      },
      {
        id: reqId,
        type: 'http request',
        z,
        name: 'to collector',
        method: 'POST',
        ret: 'txt',
        url: `${url}${pathName}`,
        tls: '',
        persist: false,
        wires: [[]],
        x: 500,
        y: 200,
      },
    ],
  };
}

module.exports = { startCollector, collectorNodes };
