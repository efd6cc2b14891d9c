'use strict';
/**
 * A small fake SAP Concur API on loopback for tests of the API nodes:
 * the OAuth2 token endpoint (refresh_token, password/authtoken, client_credentials)
 * with expiring tokens and refresh-token rotation, the expense report resources
 * (v4, v3, v2.0 XML, v1.1 XML), exceptions (v4 PUT, v1.1 POST), workflow actions
 * (v4 PATCH, v1.1 POST), the Notification v1.0 list/delete, and per-test fault
 * injection. Not the full simulator (src/simulator): only what these tests need,
 * with every request recorded for assertions.
 */
const http = require('node:http');
const crypto = require('node:crypto');

const NS_2011 = 'http://www.concursolutions.com/api/expense/expensereport/2011/03';
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const rnd = (p) => `${p}-${crypto.randomBytes(9).toString('hex')}`;

function defaultReports() {
  return {
    R1: { reportId: 'R1', name: 'Trip to Berlin', userId: 'U-OWNER-1', approvalStatusId: 'A_EXTV', reportTotal: { value: 120.5, currencyCode: 'EUR' } },
  };
}

async function startFakeConcur(opts = {}) {
  const cfg = {
    clientId: 'fake-client-id',
    clientSecret: 'fake-client-secret-S3CR3T',
    refreshTokens: ['fake-refresh-token-ORIGINAL'],
    companyUuid: 'company-uuid-1',
    requestToken: 'fake-request-token-RQT',
    expiresIn: 3600, // may be given as a string to mimic the docs
    rotateRefresh: true,
    tokenDelayMs: 0,
    expiredStatus: 401,
    notificationsFormat: 'json', // json | xml | xml-only (406 on JSON)
    ...opts,
  };
  const state = {
    validRefresh: new Set(cfg.refreshTokens),
    accessTokens: new Map(), // token -> expiresAt ms
    requests: [],
    tokenRequests: [],
    faults: [],
    reports: defaultReports(),
    exceptions: [],
    workflowActions: [],
    notifications: [],
    legacyWorkflowStatus: 'SUCCESS!',
    issued: [], // every access/refresh token handed out (for "no secret in the logs" checks)
  };
  let server;
  let url;

  function issue(grant) {
    const access = rnd('access');
    state.accessTokens.set(access, Date.now() + Number(cfg.expiresIn) * 1000);
    state.issued.push(access);
    const body = { access_token: access, token_type: 'Bearer', expires_in: cfg.expiresIn, scope: 'expense.report.read', geolocation: cfg.geolocation || url, id_token: 'x.y.z' };
    if (grant !== 'client_credentials') {
      const rt = rnd('refresh');
      state.validRefresh.add(rt);
      state.issued.push(rt);
      body.refresh_token = rt;
      body.refresh_expires_in = Math.floor(Date.now() / 1000) + 180 * 86400;
    }
    return body;
  }

  function oauthError(res, status, error, description, code, extra = {}) {
    json(res, status, { error, error_description: description, code, ...extra });
  }

  function json(res, status, body, headers = {}) {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Concur-Correlationid': res.correlationId, ...headers });
    res.end(text);
  }
  function xml(res, status, text, headers = {}) {
    res.writeHead(status, { 'Content-Type': 'application/xml; charset=utf-8', 'Concur-Correlationid': res.correlationId, ...headers });
    res.end(text);
  }

  async function tokenEndpoint(req, res, body) {
    const f = new URLSearchParams(body);
    const rec = { grant: f.get('grant_type'), refreshToken: f.get('refresh_token'), username: f.get('username'), credtype: f.get('credtype'), at: Date.now() };
    state.tokenRequests.push(rec);
    if (cfg.tokenDelayMs) await new Promise((r) => setTimeout(r, cfg.tokenDelayMs));
    if (f.get('client_id') !== cfg.clientId || f.get('client_secret') !== cfg.clientSecret) return oauthError(res, 401, 'invalid_client', 'client authentication failed', 1);
    switch (rec.grant) {
      case 'refresh_token': {
        const rt = f.get('refresh_token');
        if (!state.validRefresh.has(rt)) return oauthError(res, 400, 'invalid_grant', 'refresh token is invalid or expired', 108);
        const out = issue('refresh_token');
        if (cfg.rotateRefresh) state.validRefresh.delete(rt);
        else {
          state.validRefresh.delete(out.refresh_token);
          out.refresh_token = rt;
        }
        return json(res, 200, out);
      }
      case 'password':
        if (f.get('username') !== cfg.companyUuid || f.get('password') !== cfg.requestToken) return oauthError(res, 400, 'invalid_grant', 'incorrect credentials', 5);
        return json(res, 200, issue('password'));
      case 'client_credentials':
        return json(res, 200, issue('client_credentials'));
      default:
        return oauthError(res, 400, 'unsupported_grant_type', `grant ${rec.grant}`, 2);
    }
  }

  function authorized(req, res) {
    const m = /^Bearer (\S+)$/.exec(req.headers.authorization || '');
    const exp = m && state.accessTokens.get(m[1]);
    if (exp && exp > Date.now()) return true;
    if (cfg.expiredStatus === 403) {
      json(res, 403, { Error: { Message: 'Forbidden: access token expired', 'Server-Time': new Date().toISOString(), Id: 'X1' } });
    } else {
      res.writeHead(401, { 'Content-Type': 'application/json', 'WWW-Authenticate': 'Bearer error="invalid_token"' });
      res.end(JSON.stringify({ errorMessage: 'token expired or invalid', httpStatus: 401 }));
    }
    return false;
  }

  function report404(res, id) {
    json(res, 404, { timestamp: new Date().toISOString(), httpStatus: 404, errorMessage: `Report ${id} not found`, errorId: 'E404', path: '' });
  }

  function v11ReportXml(r) {
    return `<?xml version="1.0" encoding="utf-8"?><ns:ReportDetails xmlns:ns="${NS_2011}"><ns:RptKey>${esc(r.reportKey || 'KEY$' + r.reportId)}</ns:RptKey><ns:ReportName>${esc(r.name)}</ns:ReportName><ns:ApprovalStatusName>Pending External Validation</ns:ApprovalStatusName><ns:WorkflowActionURL>https://www.concursolutions.com/api/expense/expensereport/v1.1/report/STEP${esc(r.reportId)}/WorkFlowAction</ns:WorkflowActionURL><ns:ReportTotal>${r.reportTotal.value}</ns:ReportTotal><ns:EntriesList><ns:Entry><ns:RpeKey>E1</ns:RpeKey></ns:Entry></ns:EntriesList></ns:ReportDetails>`;
  }

  async function resources(req, res, u, body) {
    const p = u.pathname;
    let m;
    if (req.method === 'GET' && (m = /^\/expensereports\/v4\/users\/([^/]+)\/context\/([A-Z]+)\/reports\/([^/]+)$/.exec(p))) {
      const r = state.reports[decodeURIComponent(m[3])];
      return r ? json(res, 200, r) : report404(res, m[3]);
    }
    if (req.method === 'GET' && (m = /^\/api\/v3\.0\/expense\/reports\/([^/]+)$/.exec(p))) {
      const r = state.reports[decodeURIComponent(m[1])];
      if (!r) return json(res, 404, { Message: 'not found' });
      return json(res, 200, { ID: r.reportId, Name: r.name, OwnerLoginID: 'owner@example.com', Total: r.reportTotal.value, WorkflowActionUrl: `${url}/api/expense/expensereport/v1.1/report/STEP${r.reportId}/WorkFlowAction`, ApprovalStatusCode: 'A_EXTV' });
    }
    if (req.method === 'GET' && (m = /^\/api\/expense\/expensereport\/v2\.0\/report\/([^/]+)$/.exec(p))) {
      const r = state.reports[decodeURIComponent(m[1])];
      if (!r) return xml(res, 404, '<Error><Message>Report not found</Message><Server-Time>now</Server-Time><Id>X</Id></Error>');
      return xml(res, 200, `<?xml version="1.0"?><ReportDetails xmlns="http://www.concursolutions.com/api/expense/expensereport/2012/07"><ReportID>${esc(r.reportId)}</ReportID><ReportKey>KEY$${esc(r.reportId)}</ReportKey><ReportName>${esc(r.name)}</ReportName><ApprovalStatusCode>A_EXTV</ApprovalStatusCode><HasException>N</HasException><WorkflowActionURL>https://www.concursolutions.com/api/expense/expensereport/v1.1/report/STEP${esc(r.reportId)}/WorkFlowAction</WorkflowActionURL><ExpenseEntriesList><ExpenseEntry><ReportEntryID>E1</ReportEntryID></ExpenseEntry></ExpenseEntriesList></ReportDetails>`);
    }
    if (req.method === 'GET' && (m = /^\/api\/expense\/expensereport\/v1\.1\/reportfulldetails\/([^/]+)$/.exec(p))) {
      const key = decodeURIComponent(m[1]);
      const r = Object.values(state.reports).find((x) => (x.reportKey || 'KEY$' + x.reportId) === key || x.reportId === key);
      if (!r) return xml(res, 404, '<Error><Message>Report not found</Message></Error>');
      return xml(res, 200, v11ReportXml(r));
    }
    if (req.method === 'PUT' && (m = /^\/expensereports\/v4\/reports\/([^/]+)(?:\/expenses\/([^/]+)(?:\/allocations\/([^/]+))?)?\/exceptions$/.exec(p))) {
      const id = decodeURIComponent(m[1]);
      if (!state.reports[id]) return report404(res, id);
      let b;
      try {
        b = JSON.parse(body);
      } catch {
        return json(res, 400, { errorMessage: 'body is not JSON', httpStatus: 400 });
      }
      if (!b.exceptionCode || b.exceptionCode.length > 8) return json(res, 400, { errorMessage: 'Validation failed', validationErrors: [{ id: 'exceptionCode', message: 'exceptionCode must be 1-8 characters' }] });
      if (b.exceptionCode === 'BADCODE') return json(res, 400, { errorMessage: 'exception code not configured', validationErrors: [{ id: 'EXC_UNKNOWN', message: 'BADCODE is not configured' }] });
      state.exceptions.push({ api: 'v4', reportId: id, expenseId: m[2] && decodeURIComponent(m[2]), allocationId: m[3] && decodeURIComponent(m[3]), ...b });
      return json(res, 200, { exceptionCode: b.exceptionCode, exceptionVisibility: b.exceptionVisibility });
    }
    if (req.method === 'POST' && (m = /^\/api\/expense\/expensereport\/v1\.1\/report\/([^/]+)\/Exceptions$/i.exec(p))) {
      const key = decodeURIComponent(m[1]);
      const items = [...body.matchAll(/<Exception><Index>(\d+)<\/Index><ObjectType>([^<]*)<\/ObjectType>(?:<ObjectId\/>|<ObjectId>([^<]*)<\/ObjectId>)<ExceptionCode>([^<]*)<\/ExceptionCode><\/Exception>/g)];
      if (!/^<\?xml[^>]*\?>\s*<Exceptions xmlns="http:\/\/www\.concursolutions\.com\/api\/expense\/expensereport\/2011\/03">/.test(body) || !items.length) {
        return xml(res, 400, '<Error><Message>Invalid request body</Message></Error>');
      }
      const failed = items.filter((x) => x[4] === 'BADCODE');
      for (const x of items) if (x[4] !== 'BADCODE') state.exceptions.push({ api: 'v1.1', reportKey: key, index: Number(x[1]), objectType: x[2], objectId: x[3] || '', exceptionCode: x[4] });
      return xml(
        res,
        200,
        `<?xml version="1.0" encoding="utf-8"?><exception-result xmlns="${NS_2011}"><exceptions-succeeded>${items.length - failed.length}</exceptions-succeeded><exceptions-failed>${failed.length}</exceptions-failed><errors>${failed.map((x) => `<error><Index>${x[1]}</Index><message>Exception code ${x[4]} is not defined</message></error>`).join('')}</errors><ExceptionDetails>${items.map((x) => `<ExceptionInfo><Index>${x[1]}</Index><Status>${x[4] === 'BADCODE' ? 'FAILURE' : 'SUCCESS'}</Status></ExceptionInfo>`).join('')}</ExceptionDetails></exception-result>`,
      );
    }
    if (req.method === 'PATCH' && (m = /^\/expensereports\/v4\/(?:users\/([^/]+)\/context\/([A-Z]+)\/)?reports\/([^/]+)\/(approve|sendBack|recall)$/.exec(p))) {
      const id = decodeURIComponent(m[3]);
      if (!state.reports[id]) return report404(res, id);
      let b = {};
      try {
        b = body ? JSON.parse(body) : {};
      } catch {
        return json(res, 400, { errorMessage: 'body is not JSON' });
      }
      if (m[4] === 'sendBack' && !b.comment) return json(res, 400, { errorMessage: 'comment is required' });
      state.workflowActions.push({ api: 'v4', reportId: id, userId: m[1], context: m[2], action: m[4], body: b });
      res.writeHead(204, { 'Concur-Correlationid': res.correlationId });
      return res.end();
    }
    if (req.method === 'POST' && (m = /^\/api\/expense\/expensereport\/v1\.1\/report\/([^/]+)\/workflowaction$/i.exec(p))) {
      const action = /<Action>([^<]*)<\/Action>/.exec(body);
      const comment = /<Comment>([\s\S]*?)<\/Comment>/.exec(body);
      if (!/<WorkflowAction xmlns="http:\/\/www\.concursolutions\.com\/api\/expense\/expensereport\/2011\/03">/.test(body) || !action) return xml(res, 400, '<Error><Message>Invalid request body</Message></Error>');
      state.workflowActions.push({ api: 'v1.1', stepKey: decodeURIComponent(m[1]), action: action[1], comment: comment && comment[1] });
      const ok = state.legacyWorkflowStatus === 'SUCCESS!';
      return xml(res, 200, `<?xml version="1.0" encoding="utf-8"?><ActionStatus xmlns="${NS_2011}"><Message>${ok ? '' : 'The item has recently been changed by another user'}</Message><Status>${state.legacyWorkflowStatus}</Status></ActionStatus>`);
    }
    if (req.method === 'GET' && p === '/api/platform/notifications/v1.0/notification') {
      const list = state.notifications;
      const wantsJson = /json/.test(req.headers.accept || '');
      if (cfg.notificationsFormat === 'xml-only' && wantsJson && !/xml/.test(req.headers.accept || '')) return json(res, 406, { Message: 'Not Acceptable' });
      if (cfg.notificationsFormat === 'json' && wantsJson) return json(res, 200, list);
      return xml(
        res,
        200,
        `<NotificationList xmlns="http://www.concursolutions.com/api/notification/2012/06" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">${list
          .map(
            (n) =>
              `<Notification>${n.Context === null ? '<Context i:nil="true"/>' : `<Context>${esc(n.Context)}</Context>`}<EventDateTime>${esc(n.EventDateTime)}</EventDateTime><EventType>${esc(n.EventType)}</EventType><NotificationURI>${esc(n.NotificationURI)}</NotificationURI><ObjectType>${esc(n.ObjectType)}</ObjectType><ObjectURI>${esc(n.ObjectURI)}</ObjectURI></Notification>`,
          )
          .join('')}</NotificationList>`,
      );
    }
    if (req.method === 'DELETE' && (m = /^\/api\/platform\/notifications\/v1\.0\/notification\/([^/]+)$/.exec(p))) {
      const i = state.notifications.findIndex((n) => n.NotificationURI.endsWith(`/notification/${m[1]}`));
      if (i < 0) return xml(res, 400, '<Error><Message>Notification not found</Message></Error>');
      state.notifications.splice(i, 1);
      res.writeHead(200, { 'Concur-Correlationid': res.correlationId });
      return res.end();
    }
    json(res, 404, { Message: `no fake route for ${req.method} ${p}` });
  }

  function takeFault(req, u) {
    const i = state.faults.findIndex((f) => (!f.method || f.method === req.method) && (typeof f.path === 'string' ? u.pathname === f.path : f.path.test(u.pathname)));
    if (i < 0) return undefined;
    const f = state.faults[i];
    if (--f.times <= 0) state.faults.splice(i, 1);
    return f;
  }

  server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const u = new URL(req.url, url);
      res.correlationId = req.headers['concur-correlationid'] || rnd('corr');
      state.requests.push({ method: req.method, path: u.pathname, query: u.search, headers: req.headers, body, at: Date.now() });
      try {
        const f = takeFault(req, u);
        if (f) {
          f.hits = (f.hits || 0) + 1;
          if (f.delayMs) await new Promise((r) => setTimeout(r, f.delayMs));
          if (f.destroy) return req.socket.destroy();
          if (f.expireTokens) state.accessTokens.clear();
          else {
            res.writeHead(f.status, { 'Content-Type': f.contentType || 'application/json', 'Concur-Correlationid': res.correlationId, ...(f.headers || {}) });
            return res.end(f.body === undefined ? JSON.stringify({ Message: `injected ${f.status}` }) : f.body);
          }
        }
        if (u.pathname === '/oauth2/v0/token' && req.method === 'POST') return await tokenEndpoint(req, res, body);
        if (!authorized(req, res)) return;
        await resources(req, res, u, body);
      } catch (err) {
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(`fake error: ${err.message}`);
      }
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${server.address().port}`;

  return {
    url,
    cfg,
    state,
    /** Injects a fault for the next `times` matching requests: { method, path, status, headers, body, delayMs, destroy, expireTokens }. */
    fail(f) {
      state.faults.push({ times: 1, ...f });
    },
    /** Makes every issued access token invalid on the server (the client still thinks they are valid). */
    expireAccessTokens() {
      state.accessTokens.clear();
    },
    addFailedNotification(id, objectKey, eventType = 'Report Entered Expense Report Workflow Step - Pending External Validation', extra = {}) {
      const n = {
        Context: null,
        EventDateTime: '2026-11-20T10:00:00',
        EventType: eventType,
        NotificationURI: `https://www.concursolutions.com/api/platform/notifications/v1.0/notification/${id}`,
        ObjectType: 'EXPRPT',
        ObjectURI: `https://www.concursolutions.com/api/expense/expensereport/v1.1/reportfulldetails/${objectKey}`,
        ...extra,
      };
      state.notifications.push(n);
      return n;
    },
    requestsTo(re) {
      return state.requests.filter((r) => re.test(r.path));
    },
    resetLog() {
      state.requests.length = 0;
      state.tokenRequests.length = 0;
    },
    close: () =>
      new Promise((r) => {
        server.closeAllConnections?.();
        server.close(() => r());
      }),
  };
}

module.exports = { startFakeConcur, NS_2011 };
