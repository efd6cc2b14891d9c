'use strict';
/**
 * concur-api-request end to end: a real Node-RED calls the Concur simulator on
 * loopback through concur-config. Relative paths, full URLs (host guard),
 * TypedInput sources (msg, flow, JSONata, string), query objects, JSON and
 * XML bodies, Accept, binary output, paging (one message per page, merged,
 * limit), retries (429 for every method, 5xx for idempotent ones only), the
 * correlation id, and errors into a Catch node.
 */
const assert = require('node:assert/strict');
const { startApiHarness } = require('../helpers/api-flow');
const { failNext, requestsTo, apiRequests } = require('../helpers/simulator-client');

const R1 = 'CB899F7D9F73420A8D8B'; // owner Jane, at EXTVAL
const JANE = 'e1a0b7c4-5d2f-4c8a-9b1e-3f6d2a8c7e10';
const R1_PATH = `/expensereports/v4/users/${JANE}/context/TRAVELER/reports/${R1}`;

describe('concur-api-request in a real Node-RED against the Concur simulator', function () {
  this.timeout(90000);
  let h;
  let sim;

  before(async () => {
    h = await startApiHarness({ fields: ['responseXml'] });
    sim = h.sim;
    await h.deploy(
      [
        {
          name: 'get',
          type: 'concur-api-request',
          method: 'GET',
          path: R1_PATH,
          pathType: 'str',
          query: 'query',
          queryType: 'msg',
          body: 'payload',
          bodyType: 'msg',
          paging: 'none',
        },
        // Path and method from the message (dialog path empty), old-style flow without *Type properties.
        { name: 'frommsg', type: 'concur-api-request', method: 'msg' },
        {
          name: 'jsonata',
          type: 'concur-api-request',
          method: 'GET',
          path: '"/expensereports/v4/users/" & userId & "/context/TRAVELER/reports/" & reportId',
          pathType: 'jsonata',
          query: '{"includeX":"1"}',
          queryType: 'json',
        },
        { name: 'flowpath', type: 'concur-api-request', method: 'GET', path: 'reportPath', pathType: 'flow' },
        {
          name: 'merge',
          type: 'concur-api-request',
          method: 'GET',
          path: '/api/v3.0/expense/reports',
          pathType: 'str',
          query: 'query',
          queryType: 'msg',
          paging: 'merge',
          maxPages: 10,
          server: 'cfg2',
        },
        {
          name: 'each',
          type: 'concur-api-request',
          method: 'GET',
          path: '/api/v3.0/expense/reports',
          pathType: 'str',
          query: 'query',
          queryType: 'msg',
          paging: 'each',
          maxPages: 2,
          server: 'cfg2',
        },
        {
          name: 'put',
          type: 'concur-api-request',
          method: 'PUT',
          path: `/expensereports/v4/reports/${R1}/exceptions`,
          pathType: 'str',
          body: 'payload',
          bodyType: 'msg',
          server: 'cfg2',
        },
        {
          name: 'xml',
          type: 'concur-api-request',
          method: 'POST',
          path: 'path',
          pathType: 'msg',
          body: 'payload',
          bodyType: 'msg',
          bodyFormat: 'xml',
          accept: 'application/xml',
          server: 'cfg2',
        },
        {
          name: 'patch',
          type: 'concur-api-request',
          method: 'PATCH',
          path: `/expensereports/v4/reports/${R1}/approve`,
          pathType: 'str',
          body: '{"comment":"ok"}',
          bodyType: 'json',
          server: 'cfg2',
        },
        { name: 'buf', type: 'concur-api-request', method: 'GET', path: R1_PATH, pathType: 'str', output: 'buffer' },
        { name: 'hdr', type: 'concur-api-request', method: 'GET', path: R1_PATH, pathType: 'str', headers: '{"Accept-Language":"de-DE"}', headersType: 'json' },
        { name: 'hdrmsg', type: 'concur-api-request', method: 'GET', path: R1_PATH, pathType: 'str', headers: 'extra', headersType: 'msg' },
      ],
      [{ id: 'setflow', type: 'change', rules: [{ t: 'set', p: 'reportPath', pt: 'flow', to: R1_PATH, tot: 'str' }], wires: [] }],
    );
  });
  beforeEach(() => {
    sim.state.reset();
    sim.resetFaults();
  });
  after(() => h && h.stop());

  it('GET a relative path: the report, status, headers, the query from msg.query, the correlation id', async () => {
    const m = await h.expectOk('get', { msg: { query: { a: 'x y', multi: ['1', '2'] }, correlationId: 'corr-api-1' } });
    assert.equal(m.payload.reportId, R1);
    assert.equal(m.statusCode, 200);
    assert.match(m.headers['content-type'], /json/);
    assert.equal(m.concur.request.method, 'GET');
    assert.equal(m.concur.request.url, `${sim.url}${R1_PATH}`);
    assert.equal(m.concur.request.correlationId, 'corr-api-1');
    const r = requestsTo(sim, new RegExp(`${R1}$`)).at(-1);
    assert.equal(r.query, 'a=x+y&multi=1&multi=2');
    assert.equal(r.correlationId, 'corr-api-1');
    assert.equal(r.tokenKind, 'company');
  });

  it('path and method from msg (an old flow without TypedInput types); a full URL to the connection base', async () => {
    let m = await h.expectOk('frommsg', { msg: { method: 'get', url: R1_PATH } });
    assert.equal(m.payload.reportId, R1, 'msg.url as the core http request node reads it');
    m = await h.expectOk('frommsg', { msg: { method: 'get', path: R1_PATH } });
    assert.equal(m.payload.reportId, R1);
    m = await h.expectOk('frommsg', { msg: { method: 'GET', path: `${sim.url}${R1_PATH}` } });
    assert.equal(m.payload.name, 'Client visit Berlin');
  });

  it('extra headers from the dialog (JSON) or a msg property; Authorization cannot be given', async () => {
    await h.expectOk('hdr', {});
    assert.equal(requestsTo(sim, new RegExp(`${R1}$`)).at(-1).acceptLanguage, 'de-DE');
    await h.expectOk('hdrmsg', { msg: { extra: { 'X-Trace': 'abc' } } });
    const before = apiRequests(sim).length;
    const e = await h.expectErr('hdrmsg', { msg: { extra: { Authorization: 'Bearer stolen' } } });
    assert.match(e.concurError.message, /header Authorization is set by the node/);
    assert.equal(apiRequests(sim).length, before);
  });

  it('path from JSONata and from flow context; query from a JSON value', async () => {
    let m = await h.expectOk('jsonata', { msg: { userId: JANE, reportId: R1 } });
    assert.equal(m.payload.reportId, R1);
    assert.equal(requestsTo(sim, new RegExp(`${R1}$`)).at(-1).query, 'includeX=1');
    const e = await h.expectErr('flowpath', {});
    assert.equal(e.concurError.code, 'INVALID_INPUT', 'flow.reportPath not set yet: no path');
    await h.red.deploy(
      h.flows(
        [{ name: 'flowpath', type: 'concur-api-request', method: 'GET', path: 'reportPath', pathType: 'flow' }],
        [
          { id: 'setflow', type: 'inject', props: [], repeat: '', once: true, onceDelay: 0.1, wires: [['setflow2']] },
          { id: 'setflow2', type: 'change', rules: [{ t: 'set', p: 'reportPath', pt: 'flow', to: R1_PATH, tot: 'str' }], wires: [] },
        ],
      ),
    );
    await new Promise((r) => setTimeout(r, 400));
    m = await h.expectOk('flowpath', {});
    assert.equal(m.payload.reportId, R1);
  });

  it('host guard: a non-Concur full URL is refused, nothing is sent; dot segments and bad input too', async () => {
    await h.red.deploy(h.flows([{ name: 'frommsg', type: 'concur-api-request', method: 'msg' }]));
    const before = apiRequests(sim).length;
    let e = await h.expectErr('frommsg', { msg: { method: 'GET', path: 'https://attacker.example.net/expensereports/v4/x' } });
    assert.equal(e.concurError.code, 'UNTRUSTED_HOST');
    assert.equal(e.concurError.status, 0);
    e = await h.expectErr('frommsg', { msg: { method: 'GET', path: '/expensereports/v4/reports/%2e%2e/%2E%2E/oauth2/v0/token' } });
    assert.match(e.concurError.message, /dot segment/);
    e = await h.expectErr('frommsg', { msg: { method: 'GET', path: '/expensereports/v4/../../oauth2' } });
    assert.match(e.concurError.message, /dot segment/);
    e = await h.expectErr('frommsg', { msg: { method: 'TRACE', path: R1_PATH } });
    assert.match(e.concurError.message, /method must be one of/);
    e = await h.expectErr('frommsg', { msg: { method: 'GET' } });
    assert.match(e.concurError.message, /path is required/);
    e = await h.expectErr('frommsg', { msg: { method: 'GET', path: 'expensereports/v4' } });
    assert.match(e.concurError.message, /must start with \//);
    assert.equal(apiRequests(sim).length, before, 'nothing reached Concur');
  });

  it('paging: merged array over every NextPage, one message per page, and the page limit', async () => {
    await h.red.deploy(
      h.flows([
        {
          name: 'merge',
          type: 'concur-api-request',
          method: 'GET',
          path: '/api/v3.0/expense/reports',
          pathType: 'str',
          query: 'query',
          queryType: 'msg',
          paging: 'merge',
          maxPages: 10,
          server: 'cfg2',
        },
        {
          name: 'each',
          type: 'concur-api-request',
          method: 'GET',
          path: '/api/v3.0/expense/reports',
          pathType: 'str',
          query: 'query',
          queryType: 'msg',
          paging: 'each',
          maxPages: 2,
          server: 'cfg2',
        },
      ]),
    );
    const n = requestsTo(sim, /\/api\/v3\.0\/expense\/reports$/).length;
    const m = await h.expectOk('merge', { msg: { query: { user: 'ALL', limit: 2 } } });
    const all = [...sim.state.reports.values()].map((r) => r.reportId);
    assert.deepEqual(m.payload.map((r) => r.ID).sort(), [...all].sort());
    assert.equal(m.concur.request.pages, Math.ceil(all.length / 2));
    assert.equal(m.concur.request.truncated, false);
    const calls = requestsTo(sim, /\/api\/v3\.0\/expense\/reports$/).slice(n);
    assert.deepEqual(
      calls.map((c) => new URLSearchParams(c.query).get('offset') || '0'),
      ['0', '2', '4'],
    );
    const pages = await h.expectOk('each', { msg: { query: { user: 'ALL', limit: 2 } } }, 2);
    assert.deepEqual(
      pages.map((p) => p.concur.request.page),
      [1, 2],
    );
    assert.deepEqual(
      pages.map((p) => p.payload.Items.length),
      [2, 2],
    );
    assert.ok(pages[1].concur.request.nextPage, 'page 2 still had a next page: the limit stopped it');
  });

  it('PUT with a JSON body, POST with an XML body (Accept: application/xml), PATCH body from a JSON value', async () => {
    await h.red.deploy(
      h.flows([
        {
          name: 'put',
          type: 'concur-api-request',
          method: 'PUT',
          path: `/expensereports/v4/reports/${R1}/exceptions`,
          pathType: 'str',
          body: 'payload',
          bodyType: 'msg',
          server: 'cfg2',
        },
        {
          name: 'xml',
          type: 'concur-api-request',
          method: 'POST',
          path: 'path',
          pathType: 'msg',
          body: 'payload',
          bodyType: 'msg',
          bodyFormat: 'xml',
          accept: 'application/xml',
          server: 'cfg2',
        },
        {
          name: 'patch',
          type: 'concur-api-request',
          method: 'PATCH',
          path: `/expensereports/v4/reports/${R1}/approve`,
          pathType: 'str',
          body: '{"comment":"ok by api node"}',
          bodyType: 'json',
          server: 'cfg2',
        },
      ]),
    );
    let m = await h.expectOk('put', { payload: { exceptionCode: 'NODATE', exceptionVisibility: 'ALL' } });
    assert.equal(m.statusCode, 200);
    assert.deepEqual(
      sim.state.reportById(R1).exceptions.map((x) => [x.exceptionCode, x.source]),
      [['NODATE', 'v4']],
    );
    const key = sim.state.reportById(R1).reportKey;
    const xml = `<Exceptions xmlns="http://www.concursolutions.com/api/expense/expensereport/2011/03"><Exception><Index>1</Index><ObjectType>Report</ObjectType><ObjectId/><ExceptionCode>APPRVTO</ExceptionCode></Exception></Exceptions>`;
    m = await h.expectOk('xml', { msg: { path: `/api/expense/expensereport/v1.1/report/${key}/Exceptions` }, payload: xml });
    assert.match(m.responseXml, /exception-result/);
    assert.equal(typeof m.payload, 'object');
    assert.match(sim.requests.at(-1).accept, /application\/xml/);
    m = await h.expectOk('patch', {});
    assert.equal(m.statusCode, 204);
    assert.equal(sim.state.reportById(R1).approvalStatus, 'A_APPR');
    assert.equal(sim.state.reportById(R1).comments.at(-1).comment, 'ok by api node');
  });

  it('retries: 429 then success (Retry-After), GET 503 retried, PATCH 503 not repeated', async () => {
    await h.red.deploy(
      h.flows([
        { name: 'get', type: 'concur-api-request', method: 'GET', path: R1_PATH, pathType: 'str' },
        {
          name: 'patch',
          type: 'concur-api-request',
          method: 'PATCH',
          path: `/expensereports/v4/reports/${R1}/approve`,
          pathType: 'str',
          body: '{}',
          bodyType: 'json',
          server: 'cfg2',
        },
      ]),
    );
    failNext(sim, { method: 'GET', pathPrefix: R1_PATH, status: 429, retryAfter: 1 });
    const n = requestsTo(sim, new RegExp(`${R1}$`)).length;
    await h.expectOk('get', {});
    failNext(sim, { method: 'GET', pathPrefix: R1_PATH, status: 503, count: 2 });
    await h.expectOk('get', {});
    assert.deepEqual(
      requestsTo(sim, new RegExp(`${R1}$`))
        .slice(n)
        .map((r) => r.status),
      [429, 200, 503, 503, 200],
    );
    failNext(sim, { method: 'PATCH', pathPrefix: `/expensereports/v4/reports/${R1}/approve`, status: 503 });
    const p = requestsTo(sim, /approve$/).length;
    const e = await h.expectErr('patch', {});
    assert.equal(e.concurError.status, 503);
    assert.equal(requestsTo(sim, /approve$/).length - p, 1, 'not repeated');
    failNext(sim, { method: 'PATCH', pathPrefix: `/expensereports/v4/reports/${R1}/approve`, status: 429, retryAfter: 0 });
    await h.expectOk('patch', {});
    assert.deepEqual(
      requestsTo(sim, /approve$/)
        .slice(p + 1)
        .map((r) => r.status),
      [429, 204],
      '429 means not processed: retried for PATCH too',
    );
  });

  it('HTTP errors reach the Catch node with status, code and correlation id; Buffer output', async () => {
    await h.red.deploy(
      h.flows([
        { name: 'get', type: 'concur-api-request', method: 'GET', path: '/expensereports/v4/users/nobody/context/TRAVELER/reports/NOPE', pathType: 'str' },
        { name: 'buf', type: 'concur-api-request', method: 'GET', path: R1_PATH, pathType: 'str', output: 'buffer' },
      ]),
    );
    const e = await h.expectErr('get', { msg: { correlationId: 'corr-404' } });
    assert.deepEqual([e.concurError.status, e.concurError.code, e.concurError.correlationId], [404, 'HTTP_404', 'corr-404']);
    const m = await h.expectOk('buf', {});
    assert.equal(m.payload.type, 'Buffer');
    assert.equal(JSON.parse(Buffer.from(m.payload.data).toString('utf8')).reportId, R1);
  });
});
