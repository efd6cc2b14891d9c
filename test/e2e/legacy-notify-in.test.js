'use strict';
/**
 * concur-legacy-notify-in through a REAL Node-RED (test/helpers/red-runtime.js):
 * flows deployed over the admin API with inline credentials, real HTTP on
 * loopback, emitted messages and status badges observed via the collector.
 */
const assert = require('node:assert/strict');
const http = require('node:http');
const { startRed, request } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');
const { startCollector, collectorNodes } = require('../helpers/collector');

const USER = 'concur-connector-user';
const PASS = 'Pa55word:for-concur!';
const WRONG_USER = 'intruder-user-name-xyz';
const WRONG_PASS = 'not-the-password-987';
const basic = (u, p) => 'Basic ' + Buffer.from(`${u}:${p}`, 'utf8').toString('base64');
const AUTH = basic(USER, PASS);

const EVENT = 'Report Entered Expense Report Workflow Step - EXTERNAL VALIDATION - SUBMIT';
const KEY = 'nAb$pZ%24xWq9';
const URI = `https://www.concursolutions.com/api/expense/expensereport/v1.1/reportfulldetails/${KEY}`;
const DOC_XML = `<?xml version="1.0" encoding="UTF-8" ?>
<Notification>
  <EventType>${EVENT}</EventType>
  <ObjectType>EXPRPT</ObjectType>
  <ObjectURI>${URI}</ObjectURI>
  <EventDateTime>2012-05-01</EventDateTime>
  <Context/>
</Notification>`;
const EXPECTED_PAYLOAD = {
  eventType: EVENT,
  workflowStep: 'EXTERNAL VALIDATION - SUBMIT',
  objectType: 'EXPRPT',
  objectURI: URI,
  eventDateTime: '2012-05-01',
  context: null,
  reportKey: KEY,
};

const TAB = 'tab-legacy';
const NOTIFY = '/concur/v1.0/notify';
const TESTCONN = '/system/v1.0/testconnection';

function legacyNode(over = {}) {
  return {
    id: 'legacy',
    type: 'concur-legacy-notify-in',
    z: TAB,
    name: '',
    path: NOTIFY,
    ackMode: 'receipt',
    ackTimeout: 25,
    maxBodyKiB: 1024,
    testConnection: true,
    credentials: { username: USER, password: PASS },
    wires: [['col-fn']],
    x: 100,
    y: 100,
    ...over,
  };
}

/** Function nodes; `func` bodies run in the real runtime. */
function fn(id, func, wires = [[]]) {
  return { id, type: 'function', z: TAB, name: id, func, outputs: 1, wires, x: 300, y: 300 };
}

describe('concur-legacy-notify-in (real Node-RED)', function () {
  this.timeout(120000);
  let red;
  let collector;

  before(async () => {
    collector = await startCollector();
    // Debug level so the log shows hook registration and removal (checked below).
    red = await startRed({ logLevel: 'debug' });
  });
  after(() => teardown({ red, collector }));

  function baseFlows({ legacy = {}, extra = [], statusOf = ['legacy'] } = {}) {
    const msgs = collectorNodes({
      idPrefix: 'col',
      z: TAB,
      url: collector.url,
      pathName: '/msg',
      fields: ['payload', 'topic', 'concur', 'credentials', 'req', 'headers'],
    });
    const statuses = collectorNodes({ idPrefix: 'stcol', z: TAB, url: collector.url, pathName: '/status', fields: ['status'] });
    return [
      { id: TAB, type: 'tab', label: 'legacy notify' },
      ...(legacy === null ? [] : [legacyNode(legacy)]),
      ...msgs.nodes,
      { id: 'status-watch', type: 'status', z: TAB, name: '', scope: statusOf, wires: [[statuses.inputId]], x: 100, y: 400 },
      ...statuses.nodes,
      ...extra,
    ];
  }

  const post = (body, headers = {}, path = NOTIFY) =>
    request(`${red.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/xml', Authorization: AUTH, ...headers }, body });
  const messages = () => collector.received.filter((m) => m.path === '/msg');
  const statusTexts = () => collector.received.filter((m) => m.path === '/status').map((m) => (m.body.status && m.body.status.text) || '');

  async function assertNothingEmitted() {
    await collector.settle(300);
    assert.equal(messages().length, 0, `nothing emitted, got ${JSON.stringify(messages())}`);
  }

  /** Waits (bounded) for a status badge whose text matches `re`. */
  async function waitStatus(re, timeoutMs = 5000) {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const hit = statusTexts().find((t) => re.test(t));
      if (hit) return hit;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no status matching ${re}; saw ${JSON.stringify(statusTexts())}`);
  }

  /** POST a body in chunks without Content-Length (chunked transfer encoding). */
  function postChunked(path, chunk, count) {
    return new Promise((resolve, reject) => {
      const req = http.request(
        `${red.url}${path}`,
        { method: 'POST', agent: false, timeout: 15000, headers: { 'Content-Type': 'application/xml', Authorization: AUTH } },
        (res) => {
          const parts = [];
          res.on('data', (c) => parts.push(c));
          res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
        },
      );
      req.on('timeout', () => req.destroy(new Error('chunked request timed out')));
      // The server may answer 413 and close while we are still writing; that is the point.
      // @ts-expect-error ClientRequest.res: set once a response arrived (not in @types/node)
      req.on('error', (err) => (req.res ? undefined : reject(err)));
      assert.equal(req.getHeader('content-length'), undefined);
      for (let i = 0; i < count; i++) req.write(chunk);
      req.end();
    });
  }

  describe('ack on receipt', () => {
    before(async () => {
      await red.deploy(baseFlows());
    });
    beforeEach(() => collector.clear());

    it('answers 200 at once and emits the documented payload, topic and raw XML', async () => {
      const r = await post(DOC_XML);
      assert.equal(r.status, 200, r.body);
      const [m] = await collector.waitFor(1, 10000, '/msg');
      assert.deepEqual(m.body.payload, EXPECTED_PAYLOAD);
      assert.equal(m.body.topic, 'EXPRPT');
      assert.equal(m.body.concur.rawBody, DOC_XML);
      assert.equal(m.body.concur.source, 'legacy-notification');
      assert.ok(!Number.isNaN(Date.parse(m.body.concur.receivedAt)));
      // Nothing credential-like travels with the message.
      const dump = JSON.stringify(m.body);
      for (const secret of [PASS, USER, AUTH.slice(6)]) assert.ok(!dump.includes(secret), 'no credentials in the message');
      assert.equal(m.body.credentials, undefined);
      assert.equal(m.body.req, undefined);
      assert.equal(m.body.headers, undefined);
      await collector.settle(200);
      assert.equal(messages().length, 1, 'exactly one message');
      await waitStatus(/\/concur\/v1\.0\/notify: \d+ received/);
    });

    it('parses namespaced, prefixed and namespace-less XML with shuffled child order alike', async () => {
      const variants = [
        `<Notification xmlns="http://www.concursolutions.com/api/notification/2012/06" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><Context i:nil="true"/><ObjectURI>${URI}</ObjectURI><EventDateTime>2012-05-01</EventDateTime><ObjectType>EXPRPT</ObjectType><EventType>${EVENT}</EventType></Notification>`,
        `<n:Notification xmlns:n="urn:concur"><n:EventDateTime>2012-05-01</n:EventDateTime><n:EventType>${EVENT}</n:EventType><n:ObjectURI>${URI}</n:ObjectURI><n:ObjectType>EXPRPT</n:ObjectType></n:Notification>`,
        `<Notification><ObjectType>EXPRPT</ObjectType><Context></Context><EventDateTime>2012-05-01</EventDateTime><EventType>${EVENT}</EventType><ObjectURI>${URI}</ObjectURI></Notification>`,
      ];
      for (const v of variants) assert.equal((await post(v)).status, 200, v);
      const got = await collector.waitFor(3, 10000, '/msg');
      for (const m of got) assert.deepEqual(m.body.payload, EXPECTED_PAYLOAD);
      assert.deepEqual(got.map((m) => m.body.concur.rawBody).sort(), [...variants].sort(), 'each message carries its own raw body');
    });

    it('passes a travel request through with topic TRAVELREQ and no reportKey', async () => {
      const uri = 'https://www.concursolutions.com/api/travelrequest/v1.0/requests/ABC$9%2A';
      const xml = `<Notification><EventType>Request Entered Workflow Step - PRE-EXTRACT</EventType><ObjectType>TRAVELREQ</ObjectType><ObjectURI>${uri}</ObjectURI><EventDateTime>2019-02-01T10:00:00</EventDateTime><Context>ctx</Context></Notification>`;
      assert.equal((await post(xml)).status, 200);
      const [m] = await collector.waitFor(1, 10000, '/msg');
      assert.equal(m.body.topic, 'TRAVELREQ');
      assert.equal(m.body.payload.reportKey, undefined);
      assert.equal(m.body.payload.workflowStep, undefined);
      assert.equal(m.body.payload.objectURI, uri);
      assert.equal(m.body.payload.context, 'ctx');
    });

    it('401 with WWW-Authenticate for missing, wrong-user, wrong-password and malformed credentials; nothing emitted', async () => {
      /** @type {Array<[string, Record<string, string>]>} */
      const cases = [
        ['missing', {}],
        ['wrong user', { Authorization: basic(WRONG_USER, PASS) }],
        ['wrong password', { Authorization: basic(USER, WRONG_PASS) }],
        ['malformed base64', { Authorization: 'Basic ###not-base64###' }],
        ['no colon', { Authorization: 'Basic ' + Buffer.from(USER + PASS).toString('base64') }],
        ['bearer', { Authorization: 'Bearer ' + WRONG_PASS }],
      ];
      for (const [label, headers] of cases) {
        const h = { 'Content-Type': 'application/xml', ...headers };
        const r = await request(`${red.url}${NOTIFY}`, { method: 'POST', headers: h, body: DOC_XML });
        assert.equal(r.status, 401, label);
        assert.equal(r.headers['www-authenticate'], 'Basic realm="Concur"', label);
        assert.ok(!r.body.includes(USER) && !r.body.includes(PASS), label);
      }
      await assertNothingEmitted();
      await waitStatus(/401×6/);
    });

    it('400 with a short reason for each bad-body class; nothing emitted', async () => {
      // An external entity must never be fetched: point it at a loopback server that records hits.
      let fetched = 0;
      const trap = http.createServer((q, s) => {
        fetched++;
        s.end('<!ENTITY x "pwned">');
      });
      await new Promise((r) => trap.listen(0, '127.0.0.1', r));
      const trapUrl = `http://127.0.0.1:${trap.address().port}/evil`;
      try {
        /** @type {Array<[string, string | Buffer, RegExp]>} */
        const cases = [
          ['non-XML JSON', '{"EventType":"x"}', /not well-formed XML/],
          ['plain text', 'hello concur', /not well-formed XML/],
          ['empty', '', /empty body/],
          ['wrong root', DOC_XML.replace(/Notification>/g, 'NotificationList>'), /root element is <NotificationList>/],
          ['missing ObjectURI', DOC_XML.replace(/<ObjectURI>.*<\/ObjectURI>/, ''), /missing or empty: <ObjectURI>/],
          ['empty EventType', DOC_XML.replace(/<EventType>.*<\/EventType>/, '<EventType></EventType>'), /<EventType>/],
          [
            'entity bomb',
            `<?xml version="1.0"?><!DOCTYPE Notification [<!ENTITY a "aaaaaaaaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]><Notification><EventType>&d;&d;&d;&d;</EventType><ObjectType>EXPRPT</ObjectType><ObjectURI>u</ObjectURI><EventDateTime>d</EventDateTime></Notification>`,
            /DOCTYPE declarations are not allowed/,
          ],
          [
            'external entity',
            `<?xml version="1.0"?><!DOCTYPE Notification SYSTEM "${trapUrl}.dtd" [<!ENTITY x SYSTEM "${trapUrl}">]><Notification><EventType>&x;</EventType><ObjectType>EXPRPT</ObjectType><ObjectURI>u</ObjectURI><EventDateTime>d</EventDateTime></Notification>`,
            /DOCTYPE declarations are not allowed/,
          ],
          [
            'bad UTF-8',
            Buffer.concat([Buffer.from('<Notification><EventType>'), Buffer.from([0xc3, 0x28]), Buffer.from('</EventType></Notification>')]),
            /not valid utf-8/i,
          ],
        ];
        for (const [label, body, re] of cases) {
          const r = await post(body);
          assert.equal(r.status, 400, `${label}: ${r.status} ${r.body}`);
          assert.match(r.body, re, label);
          assert.ok(r.body.length <= 160, `${label}: short reason`);
        }
        await assertNothingEmitted();
        assert.equal(fetched, 0, 'the external entity / DTD was never fetched');
        await waitStatus(new RegExp(`400×${cases.length}\\b`));
      } finally {
        await new Promise((r) => trap.close(r));
      }
    });

    it('405 with Allow: POST for other methods on the notification path', async () => {
      for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
        const r = await request(`${red.url}${NOTIFY}`, {
          method,
          headers: { Authorization: AUTH, 'Content-Type': 'application/xml' },
          body: method === 'GET' || method === 'DELETE' ? undefined : DOC_XML,
        });
        assert.equal(r.status, 405, method);
        assert.equal(r.headers.allow, 'POST', method);
      }
      await assertNothingEmitted();
      await waitStatus(/405×4/);
    });

    it('testconnection: 200 with the connector credentials, 401 otherwise, 405 for other methods', async () => {
      const ok = await request(`${red.url}${TESTCONN}`, { headers: { Authorization: AUTH } });
      assert.equal(ok.status, 200);
      for (const headers of [{}, { Authorization: basic(USER, WRONG_PASS) }, { Authorization: 'Basic %%%' }]) {
        const r = await request(`${red.url}${TESTCONN}`, { headers });
        assert.equal(r.status, 401);
        assert.equal(r.headers['www-authenticate'], 'Basic realm="Concur"');
      }
      const bad = await request(`${red.url}${TESTCONN}`, { method: 'POST', headers: { Authorization: AUTH }, body: 'x' });
      assert.equal(bad.status, 405);
      assert.equal(bad.headers.allow, 'GET, HEAD');
      await assertNothingEmitted();
    });
  });

  describe('body limit', () => {
    before(async () => {
      await red.deploy(baseFlows({ legacy: { maxBodyKiB: 1 } }));
    });
    beforeEach(() => collector.clear());

    it('413 before parsing when Content-Length announces a larger body', async () => {
      const big = DOC_XML.replace('<Context/>', `<Context>${'x'.repeat(2000)}</Context>`);
      const r = await post(big);
      assert.equal(r.status, 413);
      assert.match(r.body, /larger than 1024 bytes/);
      // Just under the limit still works.
      const fits = DOC_XML.replace('<Context/>', `<Context>${'x'.repeat(1024 - Buffer.byteLength(DOC_XML) - 20)}</Context>`);
      assert.ok(Buffer.byteLength(fits) <= 1024);
      assert.equal((await post(fits)).status, 200);
      const got = await collector.waitFor(1, 10000, '/msg');
      assert.equal(got.length, 1);
    });

    it('413 for a chunked body that only turns out too large while reading', async () => {
      const r = await postChunked(NOTIFY, Buffer.alloc(512, 'x'), 16);
      assert.equal(r.status, 413);
      await assertNothingEmitted();
      await waitStatus(/413×2/);
    });

    it('413 only after authentication: an unauthenticated oversized body gets 401', async () => {
      const r = await request(`${red.url}${NOTIFY}`, { method: 'POST', headers: { 'Content-Type': 'application/xml' }, body: 'x'.repeat(4096) });
      assert.equal(r.status, 401);
    });
  });

  describe('ack after flow completes', () => {
    beforeEach(() => collector.clear());

    it('answers 200 only after the LAST node of a chain has finished', async () => {
      // legacy → pass-through → pass-through → collector (http request completes after the collector answered)
      await red.deploy(
        baseFlows({
          legacy: { ackMode: 'complete', ackTimeout: 20, wires: [['pass1']] },
          extra: [fn('pass1', 'return msg;', [['pass2']]), fn('pass2', 'return msg;', [['col-fn']])],
        }),
      );
      const r = await post(DOC_XML);
      assert.equal(r.status, 200, r.body);
      // If the answer had been sent on the first done() (pass1), the collector could still be empty here.
      assert.equal(messages().length, 1, 'the flow had delivered the message before Concur got its 200');
      assert.deepEqual(messages()[0].body.payload, EXPECTED_PAYLOAD);
    });

    it('follows the message through link out → link in (delivered without a send)', async () => {
      await red.deploy(
        baseFlows({
          legacy: { ackMode: 'complete', ackTimeout: 20, wires: [['lout']] },
          extra: [
            { id: 'lout', type: 'link out', z: TAB, name: '', mode: 'link', links: ['lin'], x: 300, y: 500, wires: [] },
            { id: 'lin', type: 'link in', z: TAB, name: '', links: ['lout'], x: 400, y: 500, wires: [['pass1']] },
            fn('pass1', 'return msg;', [['col-fn']]),
          ],
        }),
      );
      const r = await post(DOC_XML);
      assert.equal(r.status, 200, r.body);
      assert.equal(messages().length, 1, 'the linked part of the flow finished before the 200');
    });

    it('answers 200 when the flow fans out and a branch drops the message (switch/return null)', async () => {
      await red.deploy(
        baseFlows({
          legacy: { ackMode: 'complete', ackTimeout: 20, wires: [['col-fn', 'drop']] },
          extra: [fn('drop', 'return null;')],
        }),
      );
      const r = await post(DOC_XML);
      assert.equal(r.status, 200, r.body);
      assert.equal(messages().length, 1);
    });

    it('answers 500 when a downstream node fails (done(err)), still delivering to the other branch', async () => {
      await red.deploy(
        baseFlows({
          legacy: { ackMode: 'complete', ackTimeout: 20, wires: [['col-fn', 'boom']] },
          extra: [fn('boom', 'throw new Error("downstream failed");')],
        }),
      );
      const r = await post(DOC_XML);
      assert.equal(r.status, 500);
      assert.equal(r.body, 'notification not processed');
      await collector.waitFor(1, 10000, '/msg');
      await waitStatus(/1 received \(1 failed\).*500 flow error in node boom/);
    });

    it('answers 500 after the configured timeout when a node never calls done()', async () => {
      await red.deploy(
        baseFlows({
          legacy: { ackMode: 'complete', ackTimeout: 0.5, wires: [['stuck']] },
          // Mentions node.done() so the Function node does not call done() for us; never reaches it.
          extra: [fn('stuck', 'if (msg.neverSet === 42) { node.done(); }\nreturn null;')],
        }),
      );
      const r = await post(DOC_XML);
      assert.equal(r.status, 500);
      await waitStatus(/500 flow did not complete within 0\.5 s/);
      // The runtime keeps serving: a second request behaves the same.
      assert.equal((await post(DOC_XML)).status, 500);
    });

    it('a redeploy answers a still-waiting request with 500 at once instead of letting it hang', async () => {
      await red.deploy(
        baseFlows({
          legacy: { ackMode: 'complete', ackTimeout: 120, wires: [['stuck']] },
          extra: [fn('stuck', 'if (msg.neverSet === 42) { node.done(); }\nreturn null;')],
        }),
      );
      const pending = post(DOC_XML);
      await new Promise((r) => setTimeout(r, 300));
      await red.deploy(baseFlows({ legacy: { ackMode: 'complete', ackTimeout: 120 } }));
      const r = await pending; // request() itself times out after 15 s, far below the 120 s ack timeout
      assert.equal(r.status, 500);
      // And the new node instance acks normally.
      assert.equal((await post(DOC_XML)).status, 200);
    });

    it('adds its message hooks only while a request waits for the flow (one shared set), and removes them on redeploy', async () => {
      await red.deploy(baseFlows({ legacy: null }));
      const from = red.log().length;
      const added = () =>
        [
          ...red
            .log()
            .slice(from)
            .matchAll(/Adding hook '(\w+)\.(concurFlowCompletion-[\w-]+)'/g),
        ].map((m) => `${m[1]}.${m[2]}`);
      for (let i = 0; i < 2; i++) {
        await red.deploy(baseFlows({ legacy: { ackMode: 'complete', ackTimeout: 5 }, extra: [{ id: `cm${i}`, type: 'comment', z: TAB, name: `rev ${i}` }] }));
        assert.equal(added().length, 4 * i, 'deploying alone adds no hook (other flows pay nothing while nobody waits)');
        assert.equal((await post(DOC_XML)).status, 200);
        assert.equal(added().length, 4 * (i + 1), 'preDeliver, onReceive, postReceive and onComplete added for the waiting request');
      }
      await red.deploy(baseFlows({ legacy: null }));
      const log = red.log().slice(from);
      const removed = [...log.matchAll(/Removing hook '(\w+)\.(concurFlowCompletion-[\w-]+)'/g)].map((m) => `${m[1]}.${m[2]}`);
      assert.equal(new Set(added()).size, 4, 'one shared set (one label) per runtime');
      assert.deepEqual([...removed].sort(), [...added()].sort(), 'every hook added was removed (a redeploy removes them at once)');
      assert.doesNotMatch(log, /already registered/);
    });
  });

  describe('redeploy and sharing', () => {
    beforeEach(() => collector.clear());

    it('two redeploys leave exactly one route: one message per request; removal frees both paths', async () => {
      for (let i = 0; i < 2; i++) await red.deploy(baseFlows({ extra: [{ id: `c${i}`, type: 'comment', z: TAB, name: `rev ${i}` }] }));
      assert.equal((await post(DOC_XML)).status, 200);
      assert.equal((await request(`${red.url}${TESTCONN}`, { headers: { Authorization: AUTH } })).status, 200);
      await collector.waitFor(1, 10000, '/msg');
      await collector.settle(300);
      assert.equal(messages().length, 1, 'one message per request');

      await red.deploy(baseFlows({ legacy: null }));
      assert.equal((await post(DOC_XML)).status, 404);
      assert.equal((await request(`${red.url}${TESTCONN}`, { headers: { Authorization: AUTH } })).status, 404);
    });

    it('two receivers share testconnection (either credential works) and keep their own paths', async () => {
      const U2 = 'second-connector-user';
      const P2 = 'second-connector-pass';
      const second = legacyNode({ id: 'legacy2', path: '/concur/other', credentials: { username: U2, password: P2 }, wires: [['col-fn']] });
      await red.deploy(baseFlows({ extra: [second], statusOf: ['legacy', 'legacy2'] }));
      const tc = (u, p) => request(`${red.url}${TESTCONN}`, { headers: { Authorization: basic(u, p) } }).then((r) => r.status);
      assert.equal(await tc(USER, PASS), 200);
      assert.equal(await tc(U2, P2), 200);
      assert.equal(await tc(USER, P2), 401, 'no mixing of the two credential pairs');
      // Each path only takes its own credentials.
      assert.equal((await post(DOC_XML, { Authorization: basic(U2, P2) })).status, 401);
      assert.equal((await post(DOC_XML, { Authorization: basic(U2, P2) }, '/concur/other')).status, 200);
      assert.equal((await post(DOC_XML)).status, 200);
      await collector.waitFor(2, 10000, '/msg');

      // Remove the first: testconnection stays for the second only.
      await red.deploy([
        { id: TAB, type: 'tab', label: 'legacy notify' },
        { ...second, wires: [[]] },
      ]);
      assert.equal(await tc(U2, P2), 200);
      assert.equal(await tc(USER, PASS), 401);
      await red.deploy([{ id: TAB, type: 'tab', label: 'legacy notify' }]);
      assert.equal(await tc(U2, P2), 404);
    });

    it('a second receiver on the same path is refused with a red status; the first keeps working', async () => {
      const dup = legacyNode({ id: 'legacy-dup', credentials: { username: 'duplicate-user', password: 'duplicate-pass' } });
      await red.deploy(baseFlows({ extra: [dup], statusOf: ['legacy', 'legacy-dup'] }));
      await waitStatus(/path \/concur\/v1\.0\/notify used by another node/);
      assert.match(
        red.log(),
        /\[concur-legacy-notify-in:legacy-dup\] cannot listen on \/concur\/v1\.0\/notify: every method \/concur\/v1\.0\/notify is already served by node legacy\b/,
      );
      assert.equal((await post(DOC_XML)).status, 200);
      await collector.waitFor(1, 10000, '/msg');
      await collector.settle(300);
      assert.equal(messages().length, 1);
    });

    it('without credentials every request is refused and the status says why', async () => {
      // A fresh node id: Node-RED keeps a node's stored credentials when a deploy leaves them out.
      await red.deploy(baseFlows({ legacy: null, statusOf: ['legacy-nocreds'], extra: [legacyNode({ id: 'legacy-nocreds', credentials: {} })] }));
      await waitStatus(/credentials not set/);
      const r = await request(`${red.url}${NOTIFY}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/xml', Authorization: basic('', '') },
        body: DOC_XML,
      });
      assert.equal(r.status, 401);
      assert.equal((await request(`${red.url}${TESTCONN}`, { headers: { Authorization: basic('', '') } })).status, 401);
      await assertNothingEmitted();
    });
  });

  describe('editor', () => {
    it('serves the node definition (category SAP Concur, credentials) and its help text; the editor script parses', async () => {
      const r = await request(`${red.url}/nodes`, { headers: { Accept: 'text/html' } });
      assert.equal(r.status, 200);
      // The type is a literal in registerType: node-red-dev's scorecard can only read it that way.
      assert.match(r.body, /RED\.nodes\.registerType\('concur-legacy-notify-in',/, 'definition served');
      assert.match(r.body, /data-template-name="concur-legacy-notify-in"/);
      assert.match(r.body, /data-help-name="concur-legacy-notify-in"/);
      assert.match(r.body, /id="node-input-path"/);
      assert.match(r.body, /id="node-input-username"/);
      assert.match(r.body, /id="node-input-password"/);
      // The registerType script is valid JavaScript (syntax only; the browser test engineer drives the UI).
      const scripts = [...r.body.matchAll(/<script type="text\/javascript">([\s\S]*?)<\/script>/g)].map((m) => m[1]);
      const ours = scripts.find((sc) => sc.includes("registerType('concur-legacy-notify-in'"));
      assert.ok(ours, 'our script block');
      let registered;
      // Messages come from the i18n catalogue: the stub returns the key, so the test sees which message.
      // eachNode: the path check looks for other receivers on the same path (none here).
      const RED = { nodes: { registerType: (type, def) => (registered = { type, def }), eachNode() {} }, _: (key) => key, settings: {} };
      // The shared editor code the node's .html loads (resources/concur-editor.js), evaluated first as the browser does.
      assert.match(r.body, /<script type="text\/javascript" src="resources\/node-red-contrib-sap-concur\/concur-editor\.js"><\/script>/);
      const shared = await request(`${red.url}/resources/node-red-contrib-sap-concur/concur-editor.js`);
      assert.equal(shared.status, 200);
      const window = {};
      new Function('window', 'RED', shared.body)(window, RED);
      new Function('RED', '$', 'ConcurEditor', ours)(RED, () => ({ on() {}, toggle() {}, val() {}, text() {} }), window.ConcurEditor);
      assert.equal(registered.type, 'concur-legacy-notify-in');
      assert.equal(registered.def.category, 'SAP Concur');
      assert.equal(registered.def.defaults.path.value, '/concur/v1.0/notify');
      assert.equal(registered.def.defaults.ackMode.value, 'receipt');
      assert.equal(registered.def.defaults.ackTimeout.value, 25);
      assert.equal(registered.def.defaults.maxBodyKiB.value, 1024);
      assert.deepEqual(Object.keys(registered.def.credentials), ['username', 'password']);
      assert.equal(registered.def.credentials.password.type, 'password');
      // The 10–50 character warning (two-argument validators, so Node-RED shows the reason).
      const v = registered.def.credentials.password.validate;
      assert.equal(v('a'.repeat(10), {}), true);
      assert.equal(v('a'.repeat(50), {}), true);
      assert.match(String(v('a'.repeat(9), {})), /validation\.length/);
      assert.match(String(v('a'.repeat(51), {})), /validation\.length/);
      assert.equal(v('__PWRD__', {}), true, 'a stored password is not re-validated');
      assert.notEqual(registered.def.defaults.path.validate('/concur/:id'), true);
      assert.notEqual(registered.def.defaults.path.validate('/system/v1.0/testconnection'), true);
      assert.equal(registered.def.defaults.path.validate('/concur/v1.0/notify'), true);
    });
  });

  describe('afterwards', () => {
    it('the runtime is still up and its log holds no credentials', async () => {
      assert.equal(red.exitInfo, null, 'Node-RED did not exit');
      assert.equal((await request(`${red.url}/settings`)).status, 200);
      const log = red.log();
      for (const secret of [PASS, USER, WRONG_PASS, WRONG_USER, AUTH.slice(6), basic(USER, WRONG_PASS).slice(6), 'second-connector-pass']) {
        assert.ok(!log.includes(secret), `log must not contain ${secret.slice(0, 4)}…`);
      }
      assert.match(log, /rejected a callout request: 401 wrong user name or password/);
      assert.doesNotMatch(log, /Uncaught|unhandledRejection|TypeError/);
    });

    it('exported flows carry no credentials', async () => {
      await red.deploy(baseFlows());
      const flows = await red.getFlows();
      const dump = JSON.stringify(flows);
      assert.ok(!dump.includes(PASS), 'password not in /flows');
      const node = (flows.flows || flows).find((n) => n.id === 'legacy');
      assert.ok(node, 'node deployed');
      assert.equal(node.credentials, undefined);
    });
  });
});

describe('concur-legacy-notify-in behind Node-RED httpNodeAuth (real Node-RED)', function () {
  this.timeout(120000);
  let red;

  before(async () => {
    // bcryptjs comes with Node-RED (it hashes httpNodeAuth passwords); resolve it from there.
    const bcrypt = require(require.resolve('bcryptjs', { paths: [require('node:path').dirname(require.resolve('node-red/package.json'))] }));
    red = await startRed({ settings: { httpNodeAuth: { user: USER, pass: bcrypt.hashSync(PASS, 8) } } });
  });
  after(() => teardown({ red }));

  const flows = (creds) => [{ id: TAB, type: 'tab', label: 'legacy notify' }, legacyNode({ credentials: creds, wires: [[]] })];
  const call = (path, auth, method = 'POST') =>
    request(`${red.url}${path}`, {
      method,
      headers: { 'Content-Type': 'application/xml', ...(auth ? { Authorization: auth } : {}) },
      body: method === 'POST' ? DOC_XML : undefined,
    });

  it('works when httpNodeAuth and the node use the same credentials', async () => {
    await red.deploy(flows({ username: USER, password: PASS }));
    assert.equal((await call(NOTIFY, AUTH)).status, 200);
    assert.equal((await call(TESTCONN, AUTH, 'GET')).status, 200);
    const r = await call(NOTIFY, undefined);
    assert.equal(r.status, 401);
    assert.equal(r.headers['www-authenticate'], 'Basic realm="Authorization Required"', "Node-RED's own check answers first");
  });

  it('refuses everything when they differ: one Authorization header cannot satisfy both', async () => {
    const U2 = 'node-only-user-name';
    const P2 = 'node-only-password';
    await red.deploy(flows({ username: U2, password: P2 }));
    const viaNode = await call(NOTIFY, basic(U2, P2));
    assert.equal(viaNode.status, 401);
    assert.equal(viaNode.headers['www-authenticate'], 'Basic realm="Authorization Required"', 'stopped by httpNodeAuth');
    const viaSettings = await call(NOTIFY, AUTH);
    assert.equal(viaSettings.status, 401);
    assert.equal(viaSettings.headers['www-authenticate'], 'Basic realm="Concur"', 'passed httpNodeAuth, stopped by the node');
  });
});
