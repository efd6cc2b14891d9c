'use strict';
/**
 * The concerns of the concur-legacy-notify-in adapter that need no Node-RED
 * (src/nodes/concur-legacy-notify-in/): its settings and their problems, its
 * counts and status badge, the message a callout becomes. The adapter wiring is
 * tested through a real Node-RED in test/e2e/legacy-notify-in.test.js.
 */
const assert = require('node:assert/strict');
const { legacySettings, configProblems } = require('../../dist/nodes/concur-legacy-notify-in/settings');
const { CalloutStats } = require('../../dist/nodes/concur-legacy-notify-in/callout-stats');
const { calloutMessage } = require('../../dist/nodes/concur-legacy-notify-in/callout-message');
const { parseLegacyNotification } = require('../../dist/concur/legacy-notification-xml');

const GOOD = { username: 'concur-connector', password: 'a-long-password' };

describe('concur-legacy-notify-in adapter: settings', () => {
  it("reads the properties with the option table's defaults and limits", () => {
    assert.deepEqual(legacySettings({ id: 'n', type: 't' }), {
      path: '/concur/v1.0/notify',
      ackMode: 'receipt',
      ackTimeoutMs: 25000,
      maxBodyBytes: 1024 * 1024,
      testConnection: true,
    });
    const s = legacySettings({ id: 'n', type: 't', path: 'hooks//concur/', ackMode: 'complete', ackTimeout: '2.5', maxBodyKiB: 999999, testConnection: false });
    assert.deepEqual(s, { path: '/hooks/concur', ackMode: 'complete', ackTimeoutMs: 2500, maxBodyBytes: 1024 * 1024, testConnection: false });
  });

  it('names what stops the receiver and what only degrades it', () => {
    const ok = legacySettings({ id: 'n', type: 't' });
    assert.deepEqual(configProblems(ok, GOOD, true, true), {});
    assert.match(configProblems(ok, {}, false, true).credentials.status, /credentials not set/);
    assert.match(configProblems(ok, { username: 'short', password: 'short' }, true, true).credentialWarning.log, /Concur will not accept/);
    assert.match(configProblems(legacySettings({ id: 'n', type: 't', path: '/a/:b' }), GOOD, true, true).fatal.status, /invalid path "\/a\/:b"/);
    assert.match(configProblems(legacySettings({ id: 'n', type: 't', path: '/system/v1.0/testconnection/' }), GOOD, true, true).fatal.status, /reserved/);
    assert.match(configProblems(legacySettings({ id: 'n', type: 't', ackMode: 'complete' }), GOOD, true, false).fatal.log, /message hooks/);
    assert.equal(configProblems(legacySettings({ id: 'n', type: 't', ackMode: 'receipt' }), GOOD, true, false).fatal, undefined);
  });
});

describe('concur-legacy-notify-in adapter: counts and badge', () => {
  it('green with counts; rejections by status; yellow with the last problem; red for a configuration problem', () => {
    const s = new CalloutStats('complete');
    assert.deepEqual(s.badge('/n'), { fill: 'green', shape: 'dot', text: '/n: 0 received' });
    s.received = 3;
    s.failed = 1;
    s.reject(401, 'bad credentials');
    s.reject(401, 'bad credentials');
    s.reject(413, 'too big');
    assert.deepEqual(s.badge('/n'), { fill: 'yellow', shape: 'ring', text: '/n: 3 received (1 failed) · 3 rejected [401×2 413×1] · last: 413 too big' });
    s.lastProblem = '';
    s.credentialWarning = 'credentials outside Concur 10–50 chars';
    assert.equal(s.badge('/n').fill, 'yellow');
    assert.match(s.badge('/n').text, /credentials outside/);
    s.configProblem = 'path is reserved for testconnection';
    assert.deepEqual(s.badge('/n'), { fill: 'red', shape: 'ring', text: 'path is reserved for testconnection' });
    assert.equal(new CalloutStats('receipt').text('/x').includes('failed'), false);
  });
});

describe('concur-legacy-notify-in adapter: the message', () => {
  it('carries the notification fields, the raw XML and when it arrived', () => {
    const xml =
      '<Notification><EventType>Report Entered Expense Report Workflow Step - SUBMIT</EventType><ObjectType>EXPRPT</ObjectType>' +
      '<ObjectURI>https://www.concursolutions.com/api/expense/expensereport/v1.1/reportfulldetails/K1</ObjectURI><EventDateTime>2012-05-01</EventDateTime></Notification>';
    const parsed = parseLegacyNotification(Buffer.from(xml), 'application/xml');
    const at = new Date('2026-01-02T03:04:05Z');
    const msg = calloutMessage('m1', parsed, 'application/xml', at);
    assert.equal(msg._msgid, 'm1');
    assert.equal(msg.topic, 'EXPRPT');
    assert.equal(msg.payload.objectType, 'EXPRPT');
    assert.deepEqual(msg.concur, { source: 'legacy-notification', rawBody: xml, contentType: 'application/xml', receivedAt: '2026-01-02T03:04:05.000Z' });
    assert.equal(calloutMessage('m2', parsed, undefined, at).concur.contentType, null);
  });
});
