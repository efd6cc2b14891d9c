'use strict';
/**
 * Per-node editor tests in a real browser (Debian Chromium via playwright-core)
 * against a real Node-RED: each of our node types appears in the palette under
 * "SAP Concur" with its label and icon, its dialog opens and can be filled,
 * the flow deploys cleanly, receivers answer on their endpoint, and the
 * concur-config dialog's "Test connection" button works. Each entry also
 * drives the dialog's own behaviour (validation messages, the endpoint URL to
 * register with Concur, request previews) and, where the node has an input,
 * an inject node clicked in the browser so the status badge shows a real
 * outcome. A screenshot of each goes to test/artifacts/. Adding a node is one
 * entry in NODES below; a node whose files do not exist yet is skipped with
 * the reason.
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { startRed, request, REPO } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');
const eb = require('../helpers/editor-browser');
const { makePki } = require('../helpers/certs');
const { CONCUR_PUBLISHED_KEYS } = require('../../dist/concur/ess-keys');
const { describeKeyText } = require('../../dist/concur/key-info');

const PKG = require(path.join(REPO, 'package.json'));
const CATEGORY_CONTAINER = 'red-ui-palette-container-SAP_Concur'; // "SAP Concur" as the editor escapes it
const RUN = Date.now().toString(36);

// Credentials typed into the dialogs (10–50 characters, as Concur requires for Basic auth).
const LEGACY_USER = 'concur-connector-user';
const LEGACY_PASSWORD = 'browser-test-password-42';

// Keys pasted into the ESS dialog: a signing key of our own (its deliveries must be accepted), an EC key, a private key.
const EXTRA_KEY = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const EXTRA_KEY_PEM = String(EXTRA_KEY.publicKey.export({ type: 'spki', format: 'pem' })).trim();
const EXTRA_KEY_FP = crypto
  .createHash('sha256')
  .update(EXTRA_KEY.publicKey.export({ type: 'spki', format: 'der' }))
  .digest('hex');
const EC_KEY_PEM = String(crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' })).trim();
const PRIVATE_KEY_PEM = String(EXTRA_KEY.privateKey.export({ type: 'pkcs8', format: 'pem' })).trim();
let pki;
/** A certificate for webhook.api.concursolutions.com from a throw-away CA (made on first use). */
function ctxCert() {
  pki ??= makePki();
  return pki.clients.good.cert.trim();
}

const NOTIFICATION_XML = `<?xml version="1.0" encoding="UTF-8"?>
<Notification>
  <EventType>Report Entered Expense Report Workflow Step - SUBMIT</EventType>
  <ObjectType>EXPRPT</ObjectType>
  <ObjectURI>https://www.concursolutions.com/api/expense/expensereport/v1.1/reportfulldetails/nxxKgLlnROz3zHJBCRksaas$pY7JJtcYaNaQ%wlAMyvFeW</ObjectURI>
  <EventDateTime>2012-05-01</EventDateTime>
  <Context/>
</Notification>`;

/**
 * Field specs are [candidate property names, value]: the first candidate the
 * dialog has (node-input-<prop> / node-config-input-<prop>) is filled; a spec
 * marked optional is skipped when none exists, otherwise the test fails and
 * lists the dialog's ids. Values: string, boolean (checkbox), or { type, value }.
 *
 * checks(ctx): runs in the open dialog before it is filled (validation
 * messages, live endpoint URLs, request previews); it may leave fields in any
 * state, fill() runs after it. trigger: an inject node is added from the
 * palette and wired to the node, its button is clicked in the browser, and
 * the node's status badge must match `status` (text) and `fill` (colour).
 */
const NODES = [
  {
    type: 'concur-config',
    config: true,
    // grant: 'client_credentials' for the Test connection checks; 'password' (company request token) for nodes that call the API.
    fill: (ctx, grant = 'client_credentials') => [
      [['name'], 'browser test tenant'],
      [['geolocation', 'region', 'preset', 'datacenter'], 'custom', { optional: true }],
      [['baseUrl', 'baseURL', 'customUrl', 'url', 'apiUrl', 'host'], ctx.sim ? ctx.sim.url : 'http://127.0.0.1:9'],
      [['grantType', 'grant'], grant, { optional: true }],
      [['clientId', 'client_id'], ctx.sim ? ctx.sim.credentials.clientId : 'browser-client-id'],
      [['clientSecret', 'client_secret'], ctx.sim ? ctx.sim.credentials.clientSecret : 'browser-client-secret'],
      ...(grant === 'password'
        ? [
            [['username'], ctx.sim ? ctx.sim.credentials.companyId : 'browser-company-id'],
            [['password'], ctx.sim ? ctx.sim.credentials.companyRequestToken : 'browser-request-token'],
            [['credtype'], 'authtoken'],
          ]
        : []),
    ],
    // The secret typed into the dialog must never come back in the exported flow.
    secretProps: ['clientSecret', 'client_secret'],
    testConnection: { button: /test\s*connection/i, ok: /success|succeeded|connected|token (obtained|received|ok)/i, fail: /invalid_client|error|fail/i },
    async checks({ page }) {
      const p = 'node-config-input-';
      // A custom base URL must be a real http(s) URL; the reason is shown.
      await eb.fillInputs(page, { [`${p}geolocation`]: 'custom' });
      await expectFieldError(page, `${p}baseUrl`, 'concur.example', /http:\/\/ or https:\/\/ URL/);
      await expectFieldError(page, `${p}baseUrl`, 'https://user:pw@concur.example', /without user name/);
      await expectFieldOk(page, `${p}baseUrl`, 'https://concur.example');
      // Only the credentials the chosen grant needs are shown and required.
      await eb.fillInputs(page, { [`${p}grantType`]: 'refresh_token' });
      assert.equal(await visible(page, `${p}refreshToken`), true);
      assert.equal(await visible(page, `${p}username`), false);
      await expectFieldError(page, `${p}refreshToken`, '', /Refresh token is required/);
      await eb.fillInputs(page, { [`${p}grantType`]: 'password' });
      assert.equal(await visible(page, `${p}refreshToken`), false);
      assert.equal(await visible(page, `${p}username`), true);
      await expectFieldError(page, `${p}username`, '', /Company UUID is required/);
      await expectFieldError(page, `${p}timeout`, '0', /from 1 to 600/);
      await expectFieldOk(page, `${p}timeout`, '60');
    },
  },
  {
    type: 'concur-legacy-notify-in',
    label: /notify/i,
    fill: () => [
      [['name'], 'browser legacy in'],
      [['path'], `/browser-${RUN}/legacy`],
      [['username'], LEGACY_USER],
      [['password'], LEGACY_PASSWORD],
    ],
    async checks({ page, red }) {
      // The URLs to register with Concur follow the path as it is typed.
      await eb.fillInputs(page, { 'node-input-path': `/browser-${RUN}/typed` });
      assert.equal(await textOf(page, '#concur-legacy-notify-in-url'), `${red.url}/browser-${RUN}/typed`);
      assert.equal(await textOf(page, '#concur-legacy-notify-in-host'), red.url);
      assert.equal(await textOf(page, '#concur-legacy-notify-in-test-url'), `${red.url}/system/v1.0/testconnection`);
      assert.equal(await visible(page, '#concur-legacy-notify-in-http-warning'), true, 'the editor is on http: the HTTPS requirement is shown');
      await eb.fillInputs(page, { 'node-input-testConnection': false });
      assert.equal(await visible(page, '#concur-legacy-notify-in-test-url-row'), false);
      await eb.fillInputs(page, { 'node-input-testConnection': true });
      await expectFieldError(page, 'node-input-path', 'no-leading-slash', /must start with \//);
      assert.equal(await textOf(page, '#concur-legacy-notify-in-url'), '–', 'no URL is shown for an invalid path');
      await expectFieldError(page, 'node-input-path', '/system/v1.0/testconnection', /reserved/);
      // Basic auth 10–50 characters: a visible warning under the field and the field marked invalid.
      await expectFieldError(page, 'node-input-username', 'short', /5 characters; Concur requires 10–50/);
      assert.equal(await visible(page, '#node-input-username-hint'), true);
      assert.match(await textOf(page, '#node-input-username-hint'), /5 characters; Concur requires 10–50/);
      await expectFieldError(page, 'node-input-password', 'p'.repeat(51), /51 characters/);
      assert.match(await textOf(page, '#node-input-password-hint'), /51 characters/);
      await eb.screenshot(page, 'editor-concur-legacy-notify-in-validation');
      await expectFieldOk(page, 'node-input-username', 'u'.repeat(10));
      assert.equal(await visible(page, '#node-input-username-hint'), false, 'the warning disappears at 10 characters');
      await expectFieldOk(page, 'node-input-password', 'p'.repeat(50));
      // The timeout only applies (and is only shown) when the answer waits for the flow.
      assert.equal(await visible(page, 'node-input-ackTimeout'), false);
      await eb.fillInputs(page, { 'node-input-ackMode': 'complete' });
      await expectFieldError(page, 'node-input-ackTimeout', '0', /between 0.01 and 600/);
      await expectFieldOk(page, 'node-input-ackTimeout', '25');
      await eb.fillInputs(page, { 'node-input-ackMode': 'receipt' });
    },
    async probe({ red }) {
      const url = `${red.url}/browser-${RUN}/legacy`;
      const noAuth = await request(url, { method: 'POST', headers: { 'Content-Type': 'application/xml' }, body: NOTIFICATION_XML });
      assert.equal(noAuth.status, 401, noAuth.body);
      assert.match(String(noAuth.headers['www-authenticate']), /^Basic /);
      // The credentials typed into the browser reached the runtime.
      const auth = `Basic ${Buffer.from(`${LEGACY_USER}:${LEGACY_PASSWORD}`).toString('base64')}`;
      const ok = await request(url, { method: 'POST', headers: { 'Content-Type': 'application/xml', Authorization: auth }, body: NOTIFICATION_XML });
      assert.equal(ok.status, 200, ok.body);
      const tc = await request(`${red.url}/system/v1.0/testconnection`, { headers: { Authorization: auth } });
      assert.equal(tc.status, 200, "Concur's Test Connection is answered with the credentials typed into the dialog");
    },
    // After the probe: one notification accepted and the 401 counted separately.
    status: /\/browser-\w+\/legacy: 1 received · 1 rejected \[401×1\]/,
  },
  {
    type: 'concur-ess-event-in',
    label: /ess|event/i,
    fill: () => [
      [['name'], 'browser ess in'],
      [['path'], `/browser-${RUN}/ess`],
      [['extraKeys'], EXTRA_KEY_PEM],
    ],
    async checks({ page, red }) {
      // The webhook URL for the ESS subscription follows the path as it is typed.
      await eb.fillInputs(page, { 'node-input-path': `/browser-${RUN}/typed-ess` });
      assert.equal(await textOf(page, '#concur-ess-event-in-url'), `${red.url}/browser-${RUN}/typed-ess`);
      assert.equal(await visible(page, '#concur-ess-event-in-http-warning'), true, 'the editor is on http: the HTTPS/mTLS requirement is shown');
      await expectFieldError(page, 'node-input-path', 'ess', /must start with \//);
      assert.equal(await textOf(page, '#concur-ess-event-in-url'), '–');
      // The built-in Concur keys show their SHA-256 SPKI fingerprints (from the key-info admin route).
      for (const k of CONCUR_PUBLISHED_KEYS) {
        await waitForText(page, `#concur-ess-event-in-fp-${k.property}`, new RegExp(`SHA-256 ${describeKeyText(k.pem).keys[0].fingerprint}`));
      }
      // A pasted public key is read and shown as its fingerprint.
      await eb.fillInputs(page, { 'node-input-extraKeys': EXTRA_KEY_PEM });
      await waitForText(page, '#concur-ess-event-in-extraKeys-info', new RegExp(`#1: RSA 2048-bit public key SHA-256 ${EXTRA_KEY_FP}`));
      // A certificate shows its CN and expiry, an EC key is flagged as unusable.
      await eb.fillInputs(page, { 'node-input-extraKeys': `${EXTRA_KEY_PEM}\n${ctxCert()}\n${EC_KEY_PEM}` });
      await waitForText(
        page,
        '#concur-ess-event-in-extraKeys-info',
        /#2: certificate CN=webhook\.api\.concursolutions\.com, valid until \d{4}-\d\d-\d\d.*#3: EC prime256v1 public key.*cannot verify ESS signatures: ESS signatures are RSA/,
      );
      await page.locator('#concur-ess-event-in-extraKeys-info').scrollIntoViewIfNeeded();
      await eb.screenshot(page, 'editor-concur-ess-event-in-keys');
      // Text that is not PEM, and a private key, get a clear answer; the private key is never echoed.
      await eb.fillInputs(page, { 'node-input-extraKeys': 'this is not a key' });
      await waitForText(page, '#concur-ess-event-in-extraKeys-info', /not a PEM key/);
      await expectFieldError(page, 'node-input-extraKeys', PRIVATE_KEY_PEM, /Never paste a private key/);
      await waitForText(page, '#concur-ess-event-in-extraKeys-info', /#1: a private key/);
      assert.ok(!(await textOf(page, '#concur-ess-event-in-extraKeys-info')).includes(PRIVATE_KEY_PEM.split('\n')[1]), 'no key material shown');
      await expectFieldOk(page, 'node-input-extraKeys', '');
      // Nothing is shown for an empty field (after the 300 ms typing pause).
      await page.waitForFunction(() => !window.$('#concur-ess-event-in-extraKeys-info').is(':visible'), null, { timeout: 5000 });
      // Other validations with their reasons.
      await expectFieldError(page, 'node-input-topicFilter', '(unclosed', /Not a valid regular expression/);
      await expectFieldOk(page, 'node-input-topicFilter', '');
      // Topic and event presets fill the filters (travel requests next to expense reports), and follow what is typed.
      const val = (id) => page.evaluate((i) => window.$(document.getElementById(i)).val(), id);
      assert.equal(await val('concur-ess-topic-preset'), 'all');
      await eb.fillInputs(page, { 'concur-ess-topic-preset': 'request', 'concur-ess-eventtype-preset': 'requestExternal' });
      assert.equal(await val('node-input-topicFilter'), '^public\\.concur\\.request$');
      assert.equal(await val('node-input-eventTypeFilter'), '^statusChange\\.PENDING\\.ExternalValidation$');
      await eb.fillInputs(page, { 'concur-ess-topic-preset': 'both' });
      assert.equal(await val('node-input-topicFilter'), '^public\\.concur\\.(expense\\.report|request)$');
      await eb.fillInputs(page, { 'node-input-topicFilter': 'expense' });
      assert.equal(await val('concur-ess-topic-preset'), 'custom');
      await eb.fillInputs(page, { 'concur-ess-topic-preset': 'all', 'concur-ess-eventtype-preset': 'all' });
      assert.deepEqual([await val('node-input-topicFilter'), await val('node-input-eventTypeFilter')], ['', '']);
      await expectFieldError(page, 'node-input-dedupeHours', '0', /from 0.01 to 8760/);
      await expectFieldOk(page, 'node-input-dedupeHours', '72');
      // Memory limits of the store (MiB): a limit of 0 would refuse every event.
      await expectFieldError(page, 'node-input-dedupeMemoryMiB', '0', /from 0.01 to 1048576/);
      await expectFieldError(page, 'node-input-dedupeMemoryMiB', 'lots', /from 0.01 to 1048576/);
      await expectFieldOk(page, 'node-input-dedupeMemoryMiB', '256');
      await expectFieldError(page, 'node-input-pendingMemoryMiB', '-1', /from 0.01 to 1048576/);
      await expectFieldOk(page, 'node-input-pendingMemoryMiB', '256');
      await expectFieldError(page, 'node-input-deadLetterMemoryMiB', '-1', /from 0 to 1048576/);
      await expectFieldOk(page, 'node-input-deadLetterMemoryMiB', '64');
      // Turning the signature check off hides the key settings and shows the warning.
      await eb.fillInputs(page, { 'node-input-verifySignature': false });
      assert.equal(await visible(page, '#concur-ess-sig-off-warning'), true);
      assert.equal(await visible(page, 'node-input-extraKeys'), false);
      await eb.fillInputs(page, { 'node-input-verifySignature': true });
      // Header mode asks for the header name and issuers.
      assert.equal(await visible(page, 'node-input-clientCertHeader'), false);
      await eb.fillInputs(page, { 'node-input-clientCertMode': 'header' });
      assert.equal(await visible(page, 'node-input-clientCertHeader'), true);
      await expectFieldError(page, 'node-input-clientCertHeader', 'bad header', /valid HTTP header name/);
      await expectFieldOk(page, 'node-input-clientCertHeader', 'X-Forwarded-Client-Cert');
      await eb.fillInputs(page, { 'node-input-clientCertMode': 'off' });
    },
    async probe({ red }) {
      const body = JSON.stringify({ id: `browser-${RUN}`, topic: 'public.concur.expense.report', event: 'statusChanged' });
      const r = await request(`${red.url}/browser-${RUN}/ess`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
      assert.equal(r.status, 401, `unsigned delivery must be refused: ${r.status} ${r.body}`);
      // A delivery signed with the key pasted into the dialog is accepted: the browser's key reached the runtime.
      const event = JSON.stringify({
        id: `browser-signed-${RUN}`,
        correlationId: 'c1',
        topic: 'public.concur.expense.report',
        eventType: 'statusChanged',
        timeStamp: new Date().toISOString(),
        facts: {},
      });
      const sig = crypto.sign('sha256', Buffer.from(event), { key: EXTRA_KEY.privateKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING }).toString('base64');
      const ok = await request(`${red.url}/browser-${RUN}/ess`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Concur-Signature': sig },
        body: event,
      });
      assert.equal(ok.status, 200, `signed delivery: ${ok.status} ${ok.body}`);
    },
    // After the probe: one event accepted, one delivery rejected.
    status: /\/browser-\w+\/ess.*1 ok/,
  },
  {
    type: 'concur-get-report-details',
    label: /report/i,
    // A template without placeholders needs nothing from the message: the injected timestamp fetches a seeded report.
    fill: (ctx) => [
      [['name'], 'browser report details'],
      [['urlTemplate'], `/expensereports/v4/users/${ctx.sim ? ctx.sim.credentials.users[0].userId : 'u'}/context/TRAVELER/reports/CB899F7D9F73420A8D8B`],
    ],
    async checks({ page }) {
      assert.equal(await textOf(page, '#concur-get-report-details-request'), 'GET /expensereports/v4/users/{userId}/context/TRAVELER/reports/{reportId}');
      await eb.fillInputs(page, { 'node-input-context': 'MANAGER' });
      assert.match(await textOf(page, '#concur-get-report-details-request'), /\/context\/MANAGER\//);
      await eb.fillInputs(page, { 'node-input-version': 'v1.1' });
      assert.equal(await visible(page, 'node-input-context'), false, 'context is a v4 setting');
      assert.equal(await textOf(page, '#concur-get-report-details-request'), 'GET /api/expense/expensereport/v1.1/reportfulldetails/{reportId}');
      await eb.fillInputs(page, { 'node-input-version': 'v4', 'node-input-context': 'TRAVELER' });
      await expectFieldError(page, 'node-input-urlTemplate', 'ftp://host/x', /path starting with \/ or a full http/);
      await expectFieldOk(page, 'node-input-urlTemplate', '');
      // TypedInputs: the msg properties of old flows are the defaults; another source can be picked.
      const typed = (id) => page.evaluate((i) => ({ type: window.$('#' + i).typedInput('type'), value: window.$('#' + i).typedInput('value') }), id);
      assert.deepEqual(await typed('node-input-href'), { type: 'msg', value: 'payload.facts.href' });
      assert.deepEqual(await typed('node-input-reportId'), { type: 'msg', value: 'reportId' });
      assert.deepEqual(await typed('node-input-userId'), { type: 'msg', value: 'userId' });
      await eb.fillInputs(page, { 'node-input-reportId': { type: 'flow', value: 'lastReport' } });
      assert.deepEqual(await typed('node-input-reportId'), { type: 'flow', value: 'lastReport' });
      await eb.fillInputs(page, { 'node-input-reportId': { type: 'msg', value: 'reportId' } });
    },
    trigger: { status: /1 ok/, fill: 'green' },
  },
  {
    type: 'concur-api-request',
    label: /concur api/i,
    fill: (ctx) => [
      [['name'], 'browser api request'],
      [['path'], `/expensereports/v4/users/${ctx.sim ? ctx.sim.credentials.users[0].userId : 'u'}/context/TRAVELER/reports/CB899F7D9F73420A8D8B`],
    ],
    async checks({ page }) {
      assert.equal(await textOf(page, '#concur-api-request-request'), 'GET <msg.path>');
      assert.equal(await visible(page, 'node-input-body'), false, 'a GET sends no body');
      assert.equal(await visible(page, 'node-input-maxPages'), false, 'no paging: no page limit');
      await eb.fillInputs(page, { 'node-input-method': 'POST', 'node-input-paging': 'merge' });
      assert.equal(await visible(page, 'node-input-body'), true);
      assert.equal(await visible(page, 'node-input-maxPages'), true);
      await expectFieldError(page, 'node-input-path', '/expensereports/v4/../../oauth2', /without \. or \.\. segments/);
      await expectFieldError(page, 'node-input-path', 'ftp://x/y', /full https/);
      await expectFieldOk(page, 'node-input-path', { type: 'jsonata', value: '"/a/" & reportId' });
      assert.equal(await textOf(page, '#concur-api-request-request'), 'POST <jsonata>');
      await expectFieldError(page, 'node-input-maxPages', '0', /1 to 1000/);
      await eb.fillInputs(page, { 'node-input-maxPages': '5', 'node-input-method': 'GET', 'node-input-paging': 'none' });
      await eb.fillInputs(page, { 'node-input-path': { type: 'str', value: '/expensereports/v4/x' } });
      assert.equal(await textOf(page, '#concur-api-request-request'), 'GET /expensereports/v4/x');
    },
    trigger: { status: /GET 200 · 1 ok/, fill: 'green' },
  },
  {
    type: 'concur-reports-to-approve',
    label: /approve/i,
    // Sam, who approves the seeded report 9F1C3B7E22D84A6B9C05 (src/simulator/seed-data.ts).
    fill: () => [
      [['name'], 'browser inbox'],
      [['userId'], { type: 'str', value: '7c3e9f12-a4b6-4d8e-8f0a-1b2c3d4e5f60' }],
    ],
    async checks({ page }) {
      const req = () => textOf(page, '#concur-reports-to-approve-request');
      assert.equal(await req(), 'GET /expensereports/v4/users/{userId}/context/MANAGER/reportsToApprove');
      assert.equal(
        await page.evaluate(() => window.$('#node-input-userId').typedInput('type') + ':' + window.$('#node-input-userId').typedInput('value')),
        'msg:userId',
      );
      assert.equal(await visible(page, 'node-input-order'), false, 'no sort: no order');
      await eb.fillInputs(page, { 'node-input-sort': 'reportDate', 'node-input-order': 'desc', 'node-input-includeDelegateApprovals': true });
      assert.equal(
        await req(),
        'GET /expensereports/v4/users/{userId}/context/MANAGER/reportsToApprove?sort=reportDate&order=desc&includeDelegateApprovals=true',
      );
      await expectFieldError(page, 'node-input-sort', 'report date', /report field name/);
      await eb.fillInputs(page, { 'node-input-sort': '', 'node-input-includeDelegateApprovals': false });
    },
    trigger: { status: /1 to approve · 1 ok/, fill: 'green' },
  },
  {
    type: 'concur-user-lookup',
    label: /user/i,
    fill: () => [
      [['name'], 'browser user lookup'],
      [['by'], 'loginId'],
      [['user'], { type: 'str', value: 'jane.doe@globex.example' }],
    ],
    async checks({ page }) {
      const req = () => textOf(page, '#concur-user-lookup-request');
      assert.equal(await req(), 'GET /profile/identity/v4/Users/{id}');
      await eb.fillInputs(page, { 'node-input-by': 'employeeId' });
      assert.equal(await req(), 'GET /profile/identity/v4/Users?filter=employeeNumber eq "{employeeId}"');
      await expectFieldError(page, 'node-input-cacheSeconds', '-1', /0 \(no cache\) to 604800/);
      await expectFieldOk(page, 'node-input-cacheSeconds', '60');
    },
    trigger: { status: /Jane Doe · 1 ok/, fill: 'green' },
  },
  {
    type: 'concur-report-comments',
    label: /comment/i,
    fill: () => [
      [['name'], 'browser comments'],
      [['reportId'], { type: 'str', value: '9F1C3B7E22D84A6B9C05' }],
    ],
    async checks({ page }) {
      const req = () => textOf(page, '#concur-report-comments-request');
      assert.equal(await req(), 'GET /expensereports/v4/reports/{reportId}[/expenses/{expenseId}]/comments');
      assert.equal(await visible(page, 'node-input-comment'), false, 'reading needs no comment');
      assert.equal(await visible(page, 'node-input-userId'), false, 'the company endpoint needs no user');
      await eb.fillInputs(page, { 'node-input-operation': 'add', 'node-input-endpoint': 'user', 'node-input-context': 'MANAGER' });
      assert.equal(await req(), 'POST /expensereports/v4/users/{userId}/context/MANAGER/reports/{reportId}[/expenses/{expenseId}]/comments');
      assert.equal(await visible(page, 'node-input-comment'), true);
      assert.equal(await visible(page, 'node-input-userId'), true);
      assert.equal(await visible(page, 'node-input-includeAll'), false);
      await eb.fillInputs(page, { 'node-input-operation': 'read', 'node-input-endpoint': 'company', 'node-input-includeAll': true });
      assert.match(await req(), /\?includeAllComments=true$/);
    },
    trigger: { status: /2 comment\(s\) · 1 ok/, fill: 'green' },
  },
  {
    type: 'concur-receipt-images',
    label: /receipt/i,
    // Image v1 needs only the report id: the injected message gets the seeded report's PDF.
    fill: () => [
      [['name'], 'browser receipts'],
      [['api'], 'image-v1'],
      [['reportId'], { type: 'str', value: 'CB899F7D9F73420A8D8B' }],
    ],
    async checks({ page }) {
      const req = () => textOf(page, '#concur-receipt-images-request');
      assert.match(
        await req(),
        /^GET \/expensereports\/v4\/users\/\{userId\}\/context\/TRAVELER\/reports\/\{reportId\}\/expenses.* → GET \/spend-documents\/v4\/receipts\?imageId=\{receiptImageId\}&companyId=\{companyId\}&type=display$/,
      );
      assert.equal(await visible(page, 'node-input-companyId'), true);
      await eb.fillInputs(page, { 'node-input-representation': 'compliance' });
      assert.match(await req(), /type=compliance$/);
      await eb.fillInputs(page, { 'node-input-api': 'image-v1' });
      assert.equal(await visible(page, 'node-input-companyId'), false, 'Image v1 needs no company id');
      assert.equal(await visible(page, 'node-input-userId'), false);
      assert.match(await req(), /^GET \/api\/image\/v1\.0\/report\/\{reportId\}/);
      await eb.fillInputs(page, { 'node-input-api': 'spenddocs' });
      await expectFieldError(page, 'node-input-maxImages', '0', /1 to 500/);
      await eb.fillInputs(page, { 'node-input-maxImages': '20' });
    },
    trigger: { status: /1 image\(s\) · 1 ok/, fill: 'green' },
  },
  {
    type: 'concur-travel-request',
    label: /travel request/i,
    fill: () => [
      [['name'], 'browser travel request'],
      [['operation'], 'get'],
      [['requestId'], { type: 'str', value: '224AF3CDCC2A5244A37C72FA5770C6F2' }],
    ],
    async checks({ page }) {
      const req = () => textOf(page, '#concur-travel-request-request');
      assert.equal(await req(), 'GET /travelrequest/v4/requests/{requestId}?userId={userId}');
      assert.equal(await visible(page, 'node-input-comment'), false, 'reading takes no comment');
      await eb.fillInputs(page, { 'node-input-operation': 'sendback' });
      assert.equal(await req(), 'POST /travelrequest/v4/requests/{requestId}/sendback?userId={userId}');
      assert.equal(await visible(page, 'node-input-comment'), true);
      assert.equal(await visible(page, 'node-input-actionFrom'), false);
      await eb.fillInputs(page, { 'node-input-operation': 'msg' });
      assert.equal(await visible(page, 'node-input-actionFrom'), true);
      assert.equal(await req(), 'POST /travelrequest/v4/requests/{requestId}/{action}?userId={userId}');
    },
    trigger: { status: /get SUBMITTED · 1 ok/, fill: 'green' },
  },
  {
    type: 'concur-post-exceptions',
    label: /exception/i,
    fill: () => [[['name'], 'browser exceptions']],
    async checks({ page }) {
      assert.equal(await textOf(page, '#concur-post-exceptions-request'), 'PUT /expensereports/v4/reports/{reportId}/exceptions');
      await expectFieldError(page, 'node-input-exceptions', { type: 'json', value: '[{"exceptionCode":"LONGER-THAN-8"}]' }, /exceptionCode of 1–8 characters/);
      await expectFieldError(page, 'node-input-exceptions', { type: 'json', value: '{"exceptionCode":"MISSREQ"}' }, /JSON array/);
      await expectFieldOk(page, 'node-input-exceptions', { type: 'json', value: '[{"exceptionCode":"MISSREQ"}]' });
      await eb.fillInputs(page, { 'node-input-version': 'v1.1' });
      assert.equal(await textOf(page, '#concur-post-exceptions-request'), 'POST /api/expense/expensereport/v1.1/report/{reportKey}/Exceptions');
      assert.equal(await visible(page, 'node-input-visibility'), false, 'visibility is a v4 setting');
      assert.equal(await visible(page, 'node-input-reportKey'), true, 'the v1.1 report key input');
      await eb.fillInputs(page, { 'node-input-version': 'v4' });
      assert.equal(await visible(page, 'node-input-reportKey'), false);
      assert.equal(await page.evaluate(() => window.$('#node-input-exceptionsFrom').typedInput('value')), 'exceptions', 'msg.exceptions by default');
    },
    // The injected message has no reportId: the error is reported before anything is sent, and the badge says so.
    trigger: { status: /: 0 ok, 1 failed/, fill: 'red' },
  },
  {
    type: 'concur-workflow-action',
    label: /workflow|approve|action/i,
    fill: () => [[['name'], 'browser workflow action']],
    async checks({ page }) {
      const req = () => textOf(page, '#concur-workflow-action-request');
      assert.equal(await req(), 'PATCH /expensereports/v4/reports/{reportId}/approve');
      await eb.fillInputs(page, { 'node-input-endpoint': 'user' });
      assert.equal(await req(), 'PATCH /expensereports/v4/users/{userId}/context/MANAGER/reports/{reportId}/approve');
      await eb.fillInputs(page, { 'node-input-action': 'recall', 'node-input-recallContext': 'PROXY' });
      assert.equal(await req(), 'PATCH /expensereports/v4/users/{userId}/context/PROXY/reports/{reportId}/recall');
      assert.equal(await visible(page, 'node-input-statusId'), false, 'statusId only applies to approve');
      assert.equal(await visible(page, 'node-input-actionFrom'), false, 'a fixed action needs no action input');
      await eb.fillInputs(page, { 'node-input-action': 'msg' });
      assert.equal(await visible(page, 'node-input-actionFrom'), true);
      await eb.fillInputs(page, { 'node-input-action': 'recall' });
      await eb.fillInputs(page, { 'node-input-version': 'v1.1' });
      assert.equal(await visible(page, 'node-input-endpoint'), false);
      assert.match(await req(), /^POST <msg\.workflowActionUrl>/);
      assert.equal(await visible(page, 'node-input-workflowActionUrl'), true, 'v1.1: where the WorkflowActionURL comes from');
      assert.equal(await visible(page, 'node-input-reportId'), false);
      await eb.fillInputs(page, { 'node-input-version': 'v4', 'node-input-action': 'approve', 'node-input-endpoint': 'company' });
      await expectFieldError(page, 'node-input-comment', 'x'.repeat(2001), /at most 2000/, { viaScript: true });
      await expectFieldOk(page, 'node-input-comment', 'approved by the browser test');
    },
    trigger: { status: /: 0 ok, 1 failed/, fill: 'red' },
  },
  {
    type: 'concur-notifications',
    label: /notification/i,
    fill: () => [
      [['name'], 'browser notifications'],
      [['statusValue'], 'failed'],
    ],
    async checks({ page }) {
      await eb.fillInputs(page, { 'node-input-statusValue': 'FAILED' });
      assert.equal(await textOf(page, '#concur-notifications-request'), 'GET /api/platform/notifications/v1.0/notification?status=FAILED');
      await expectFieldError(page, 'node-input-statusValue', 'fail ed', /1–32 letters or underscores/);
      await eb.fillInputs(page, { 'node-input-operation': 'delete' });
      assert.equal(await visible(page, 'node-input-statusValue'), false);
      assert.equal(await textOf(page, '#concur-notifications-request'), 'DELETE <msg.notificationURI>');
      await eb.fillInputs(page, { 'node-input-operation': 'list-failed' });
    },
    // A real list call against the simulator with the company token obtained from the dialog's credentials.
    trigger: { status: /1 ok/, fill: 'green' },
  },
  {
    type: 'concur-validate',
    label: /validat/i,
    fill: () => [[['name'], 'browser validate']],
    // The rules editor and the dry run, as an admin uses them: a preset, a hand-written rule that does
    // not compile (flagged in its row), fixed; then a pasted report run against both rules.
    async checks({ page }) {
      const rows = page.locator('#node-input-rules-container > li');
      assert.equal(await rows.count(), 0);
      await page.waitForFunction(() => document.querySelectorAll('#concur-validate-preset option').length >= 7, null, { timeout: 10000 });
      await page.selectOption('#concur-validate-preset', 'missing-receipt');
      assert.match(await textOf(page, '#concur-validate-preset-info'), /receiptImageId/, 'the preset names the Concur fields it reads');
      await page.click('#concur-validate-add-preset');
      await page.waitForFunction(() => document.querySelectorAll('#node-input-rules-container > li').length === 1);
      assert.equal(await rows.nth(0).locator('.concur-validate-rule-name').inputValue(), 'Missing receipt image over 75');
      assert.match(await rows.nth(0).locator('.concur-validate-rule-condition').inputValue(), /hasReceiptImage = false/);
      // A new rule through the list's add button; a condition that does not compile is flagged in its row.
      await page.locator('.node-input-rules-container-row .red-ui-editableList-addButton').click();
      await page.waitForFunction(() => document.querySelectorAll('#node-input-rules-container > li').length === 2);
      const row = rows.nth(1);
      await row.locator('.concur-validate-rule-name').fill('Hotel over 300');
      await row.locator('.concur-validate-rule-code').fill('OVRLIMIT');
      await row.locator('.concur-validate-rule-condition').fill('expenseTypeCode = "LODNG" and postedAmount.value >');
      await row.locator('.concur-validate-rule-condition').press('End');
      await waitForText(page, '#node-input-rules-container > li:nth-child(2) .concur-validate-rule-problem', /condition: condition does not compile/);
      assert.equal(await row.locator('.concur-validate-rule-condition.input-error').count(), 1, 'the condition is marked');
      await row.locator('.concur-validate-rule-condition').fill('expenseTypeCode = "LODNG" and postedAmount.value > 300');
      await row.locator('.concur-validate-rule-condition').press('End');
      await waitForText(page, '#node-input-rules-container > li:nth-child(2) .concur-validate-rule-problem', /^$/);
      await row.locator('.concur-validate-rule-message').fill('{{entry.vendor}}: {{entry.postedAmount.value}} {{entry.postedAmount.currency}}');
      // Dry run on a pasted debug msg (a v4 report with its expenses): both rules fire on the hotel, the taxi passes.
      const sample = {
        payload: { reportId: 'SAMPLE1', currencyCode: 'EUR' },
        expenses: [
          {
            expenseId: 'H1',
            expenseType: { id: 'LODNG', name: 'Hotel' },
            transactionDate: '2026-11-03',
            postedAmount: { value: 389, currencyCode: 'EUR' },
            receiptImageId: null,
            vendor: { name: 'Hotel Adlon' },
          },
          {
            expenseId: 'T1',
            expenseType: { id: 'TAXI', name: 'Taxi' },
            transactionDate: '2026-11-03',
            postedAmount: { value: 40, currencyCode: 'EUR' },
            receiptImageId: 'IMG',
            vendor: { name: 'Taxi' },
          },
        ],
      };
      await page.locator('#concur-validate-dry-json').fill(JSON.stringify(sample, null, 1));
      await page.click('#concur-validate-dry-run');
      await waitForText(
        page,
        '#concur-validate-dry-result .concur-validate-dry-summary',
        /^2 finding\(s\), 2 exception\(s\), 0 rule error\(s\) on 2 entries \(v4\)/,
      );
      assert.match(
        await textOf(page, '#node-input-rules-container > li:nth-child(1) .concur-validate-rule-fired'),
        /NORCPT · No receipt image for Hotel of 389 EUR at Hotel Adlon/,
      );
      assert.equal(await textOf(page, '#node-input-rules-container > li:nth-child(2) .concur-validate-rule-fired'), '⚑ OVRLIMIT · Hotel Adlon: 389 EUR');
      await eb.screenshot(page, 'editor-concur-validate-dry-run');
      // Bad sample JSON and a fetch without a deployed connection are explained, not thrown.
      await page.locator('#concur-validate-dry-json').fill('{ not json');
      await page.click('#concur-validate-dry-run');
      await waitForText(page, '#concur-validate-dry-result .concur-validate-dry-error', /not JSON/);
      await page.selectOption('#concur-validate-dry-source', 'fetch');
      await page.locator('#concur-validate-dry-reportId').fill('CB899F7D9F73420A8D8B');
      await page.click('#concur-validate-dry-run');
      await waitForText(page, '#concur-validate-dry-result .concur-validate-dry-error', /deployed Concur connection/);
      await page.selectOption('#concur-validate-dry-source', 'paste');
    },
    // What was edited in the dialog is what runs: both rules deployed and compiled.
    async probe({ red, nodeId }) {
      const deployed = (await red.getFlows()).find((n) => n.id === nodeId);
      assert.deepEqual(
        deployed.rules.map((r) => [r.name, r.exceptionCode, r.scope]),
        [
          ['Missing receipt image over 75', 'NORCPT', 'entry'],
          ['Hotel over 300', 'OVRLIMIT', 'entry'],
        ],
      );
      assert.equal(deployed.rules[1].condition, 'expenseTypeCode = "LODNG" and postedAmount.value > 300');
    },
    status: /2 rule\(s\)/,
  },
  {
    type: 'concur-ess-subscriptions',
    label: /ESS subscriptions/i,
    fill: () => [
      [['name'], 'browser subscriptions'],
      [['operation'], 'list'],
    ],
    async checks({ page }) {
      assert.equal(await textOf(page, '#concur-ess-subscriptions-request'), 'GET /events/v4/subscriptions');
      assert.equal(await visible(page, 'node-input-endpoint'), false);
      await eb.fillInputs(page, { 'node-input-operation': 'put' });
      assert.equal(await textOf(page, '#concur-ess-subscriptions-request'), 'PUT /events/v4/subscriptions/webhook');
      assert.equal(await visible(page, 'node-input-endpoint'), true);
      await expectFieldError(page, 'node-input-subscriptionId', 'Not Valid', /Lowercase letters, digits/);
      await expectFieldError(page, 'node-input-filter', '(', /Not a regular expression/);
      await expectFieldError(page, 'node-input-endpoint', 'ftp://x', /absolute http\(s\) URL/);
      await eb.fillInputs(page, { 'node-input-subscriptionId': '', 'node-input-filter': '.*', 'node-input-endpoint': '', 'node-input-operation': 'list' });
    },
    // A real list call against the simulator (no subscriptions yet).
    trigger: { status: /0 subscriptions/, fill: 'green' },
  },
];

/** Text that means a catalogue key was shown instead of its translation. */
const RAW_KEY =
  /\bconcur-[a-z-]+\.(label|placeholder|tip|version|action|shortAction|endpoint|operation|geolocation|grant|credtype|ackMode|tokenEndpoint|validation|error|test|defaultName|paletteLabel)\b/;

/** Waits (bounded) until the element's text matches. */
async function waitForText(page, selector, re, timeoutMs = 10000) {
  const until = Date.now() + timeoutMs;
  let last = null;
  while (Date.now() < until) {
    last = await textOf(page, selector);
    if (last !== null && re.test(last)) return last;
    await page.waitForTimeout(100);
  }
  throw new Error(`${selector} did not show ${re} within ${timeoutMs} ms (it showed: ${JSON.stringify(last)})`);
}

async function textOf(page, selector) {
  return page.evaluate((s) => {
    const el = document.querySelector(s);
    // innerText keeps the line breaks between block elements (textContent would glue lines together).
    // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what is asserted
    return el ? (el.innerText || el.textContent).replace(/\s+/g, ' ').trim() : null;
  }, selector);
}

/** Is the control (an id without '#', or a selector) visible? A typedInput counts by its container. */
async function visible(page, idOrSelector) {
  const sel = /^[#.]/.test(idOrSelector) ? idOrSelector : `[id="${idOrSelector}"]`;
  return page.evaluate((s) => {
    const $el = window.$(s);
    if (!$el.length) throw new Error(`${s} is not in the page`);
    const typed = $el.next('.red-ui-typedInput-container');
    return (typed.length ? typed : $el).is(':visible');
  }, sel);
}

/**
 * Sets a field and waits until the editor marks it invalid; then hovers it and
 * checks the validation tooltip Node-RED shows (the validator's own message).
 * viaScript sets the value without typing (for fields with maxlength or typing limits).
 */
async function expectFieldError(page, id, value, messageRe, { viaScript = false } = {}) {
  if (viaScript) {
    await page.evaluate(({ i, v }) => window.$(document.getElementById(i)).val(v).trigger('change'), { i: id, v: value });
  } else await eb.fillInputs(page, { [id]: value });
  await page
    .waitForFunction((i) => window.$(document.getElementById(i)).hasClass('input-error'), id, { timeout: 5000 })
    .catch(async () => {
      throw new Error(`${id} = ${JSON.stringify(value).slice(0, 80)} was not marked invalid (invalid: ${(await eb.invalidInputs(page)).join(', ') || 'none'})`);
    });
  if (!messageRe) return;
  const typed = await page.evaluate((i) => window.$(document.getElementById(i)).next('.red-ui-typedInput-container').length > 0, id);
  if (typed) {
    // Node-RED binds the tooltip to the hidden input behind a typedInput, so it never shows: check the red frame and the validator's message.
    assert.ok(
      await page.evaluate((i) => window.$(document.getElementById(i)).next('.red-ui-typedInput-container').hasClass('input-error'), id),
      `${id} has a red frame`,
    );
    const message = await page.evaluate(
      ({ i, v }) => {
        const node = window.RED.editor.getEditStack().slice(-1)[0];
        const prop = i.replace(/^node-(config-)?input-/, '');
        return node._def.defaults[prop].validate.call(node, v, {});
      },
      { i: id, v: value && typeof value === 'object' ? value.value : value },
    );
    assert.match(String(message), messageRe, `validation message for ${id}`);
    return;
  }
  // Hover the control so Node-RED shows the validation tooltip.
  const loc = page.locator(`[id="${id}"]`);
  await page.mouse.move(1, 1);
  await loc.hover();
  const tip = await page
    .waitForFunction(
      (re) => {
        const t = window
          .$('.red-ui-popover:visible')
          .map((i, e) => window.$(e).text().trim())
          .get()
          .join(' | ');
        return new RegExp(re).test(t) ? t : false;
      },
      messageRe.source,
      { timeout: 5000, polling: 100 },
    )
    .then((h) => h.jsonValue())
    .catch(async () => `(no matching tooltip; visible popovers: ${await page.evaluate(() => window.$('.red-ui-popover:visible').text().trim() || 'none')})`);
  assert.match(tip, messageRe, `validation message shown for ${id}`);
  await page.mouse.move(1, 1);
}

async function expectFieldOk(page, id, value) {
  await eb.fillInputs(page, { [id]: value });
  await page
    .waitForFunction((i) => !window.$(document.getElementById(i)).hasClass('input-error'), id, { timeout: 5000 })
    .catch(() => {
      throw new Error(`${id} = ${JSON.stringify(value)} is still marked invalid`);
    });
}

/** The status badge's colour: 'green', 'red', … ('' when none). */
async function statusFill(page, nodeId) {
  return page.evaluate((id) => {
    const el = document.querySelector(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${id}"] .red-ui-flow-node-status`);
    const m = el && /red-ui-flow-node-status-(?:dot|ring)-(\w+)/.exec(el.getAttribute('class') || '');
    return m ? m[1] : '';
  }, nodeId);
}

/** Clicks an inject node's button in the workspace, as a user would. */
async function clickInject(page, injectId) {
  await page.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${injectId}"] .red-ui-flow-node-button-button`).click();
}

/** Why a node type cannot be tested yet (null when its files are all there). */
function missingFiles(type) {
  const js = PKG['node-red'] && PKG['node-red'].nodes && PKG['node-red'].nodes[type];
  if (!js) return `${type} is not declared in package.json "node-red".nodes`;
  const need = [js, js.replace(/\.js$/, '.html')].filter((f) => !fs.existsSync(path.join(REPO, f)));
  return need.length ? `${type} not built yet (missing ${need.join(', ')})` : null;
}

/** Fills a dialog from [candidates, value, opts] specs; returns what it filled. */
async function fillSpecs(page, prefix, specs) {
  const ids = await eb.dialogInputIds(page, prefix);
  const values = {};
  for (const [candidates, value, opts = {}] of specs) {
    const prop = candidates.find((c) => ids.includes(prefix + c));
    if (!prop) {
      if (opts.optional) continue;
      throw new Error(`dialog has none of ${candidates.map((c) => prefix + c).join(' / ')}; it has: ${ids.join(', ')}`);
    }
    values[prefix + prop] = value;
  }
  await eb.fillInputs(page, values);
  return values;
}

/** The property of `type` that references a concur-config node, if any. */
function configProperty(page, type) {
  return page.evaluate((t) => {
    const def = window.RED.nodes.getType(t);
    return Object.keys(def.defaults || {}).find((k) => def.defaults[k].type === 'concur-config') || null;
  }, type);
}

/**
 * Clicks a dialog's "Test connection" button and returns the text the dialog
 * added or changed in response (watched with a MutationObserver, so static
 * labels never count), once it matches the success or the failure pattern.
 */
async function pressTestConnection(page, button, { ok, fail }, timeoutMs = 20000) {
  await page.evaluate(() => {
    const tray = window.$('.red-ui-tray').last()[0];
    window.__concurSeen = [];
    if (window.__concurObserver) window.__concurObserver.disconnect();
    window.__concurObserver = new MutationObserver((records) => {
      for (const r of records) {
        const el = r.type === 'characterData' ? r.target.parentElement : r.target;
        if (el && el.textContent && el.textContent.trim()) window.__concurSeen.push(el.textContent.replace(/\s+/g, ' ').trim());
        for (const n of r.addedNodes || []) if (n.textContent && n.textContent.trim()) window.__concurSeen.push(n.textContent.replace(/\s+/g, ' ').trim());
      }
    });
    window.__concurObserver.observe(tray, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['style', 'class'] });
  });
  await button.click();
  const handle = await page.waitForFunction(
    ({ okRe, failRe }) => {
      const hit = (window.__concurSeen || [])
        .filter((t) => t.length < 2000)
        .reverse()
        .find((t) => new RegExp(okRe, 'i').test(t) || new RegExp(failRe, 'i').test(t));
      return hit || false;
    },
    { okRe: ok.source, failRe: fail.source },
    { timeout: timeoutMs, polling: 100 },
  );
  const text = await handle.jsonValue();
  await page.evaluate(() => window.__concurObserver && window.__concurObserver.disconnect());
  return text;
}

/** Loads the simulator (compiled) as the token endpoint for Test connection, if it is built. */
async function maybeStartSimulator() {
  try {
    const { startSimulator } = require(path.join(REPO, 'dist', 'simulator'));
    const keyDir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'concur-sim-keys-'));
    const sim = await startSimulator({ port: 0, host: '127.0.0.1', keyDir, deliverEvents: false });
    return { sim, keyDir };
  } catch (err) {
    return { sim: null, reason: `simulator not available (${err.message.split('\n')[0]})` };
  }
}

describe('editor (browser): SAP Concur nodes', function () {
  this.timeout(180000);
  let red;
  let browser;
  let page;
  let sim;
  let simKeyDir;
  let simReason;

  before(async function () {
    const reason = eb.skipReason();
    if (reason) {
      console.log(`      skipped: ${reason}`);
      this.skip();
    }
    ({ sim, keyDir: simKeyDir, reason: simReason } = await maybeStartSimulator());
    red = await startRed();
    browser = await eb.launchEditorBrowser();
    page = browser.page;
    await eb.openEditor(page, red);
  });
  after(async () => {
    if (browser) await browser.close();
    await teardown({ red });
    if (sim) await sim.stop().catch(() => {});
    if (simKeyDir) fs.rmSync(simKeyDir, { recursive: true, force: true });
    if (pki) pki.cleanup();
  });
  afterEach(async function () {
    if (this.currentTest.state === 'failed' && page) {
      await eb.screenshot(page, `editor-nodes-FAILED-${this.currentTest.fullTitle()}`).catch(() => {});
      // A dialog left open by a failed test must not take the next test down with it.
      for (let i = 0; i < 3; i++) {
        const cancel = page.locator('#node-config-dialog-cancel:visible, #node-dialog-cancel:visible').first();
        if (!(await cancel.isVisible().catch(() => false))) break;
        await cancel.click({ timeout: 3000 }).catch(() => {});
        await page.waitForTimeout(400);
      }
    }
  });

  it('loads our package into the editor without script errors', async function () {
    const ours = NODES.filter((n) => !missingFiles(n.type));
    if (!ours.length) this.skip();
    const registered = await page.evaluate(
      (types) => types.filter((t) => !window.RED.nodes.getType(t)),
      ours.map((n) => n.type),
    );
    assert.deepEqual(registered, [], 'node types with files but not registered in the editor');
    assert.deepEqual(browser.errors, [], `editor errors: ${browser.errors.join(' | ')}`);
  });

  for (const entry of NODES) {
    describe(entry.type, () => {
      before(function () {
        const why = missingFiles(entry.type);
        if (why) {
          console.log(`      skipped: ${why}`);
          this.skip();
        }
      });

      if (entry.config) {
        it('is a config node: not in the palette, has help text', async () => {
          const def = await page.evaluate((t) => window.RED.nodes.getType(t) && window.RED.nodes.getType(t).category, entry.type);
          assert.equal(def, 'config');
          assert.equal(await eb.paletteEntry(page, entry.type), null);
          const help = await page.evaluate((t) => window.RED.nodes.getNodeHelp(t) || '', entry.type);
          assert.ok(help.replace(/<[^>]+>/g, '').trim().length > 100, `help sidebar text for ${entry.type}`);
        });

        it('its dialog opens from a node that uses it, validates, is filled, tests the connection, and deploys', async function () {
          const hostTypes = [];
          for (const n of NODES) if (!n.config && !missingFiles(n.type) && (await configProperty(page, n.type))) hostTypes.push(n.type);
          if (!hostTypes.length) {
            console.log(`      skipped: no built node references ${entry.type} yet`);
            this.skip();
          }
          const hostType = hostTypes[0];
          await eb.clearWorkspace(page);
          const nodeId = await eb.addNodeFromPalette(page, hostType, { x: 220, y: 140 });
          await eb.openEditDialog(page, nodeId);
          const prop = await configProperty(page, hostType);
          await eb.openAddConfigDialog(page, prop);
          const ctx = { red, sim, page };
          await assertTranslated(page);
          if (entry.checks) await entry.checks(ctx);
          await fillSpecs(page, 'node-config-input-', entry.fill(ctx));
          assert.deepEqual(await eb.invalidInputs(page), [], 'nothing is marked invalid once the dialog is filled');
          await eb.screenshot(page, `editor-${entry.type}-dialog`);

          const button = page.locator('.red-ui-tray button, .red-ui-tray a.red-ui-button').filter({ hasText: entry.testConnection.button });
          assert.equal(await button.count(), 1, 'the dialog has a "Test connection" button');
          if (!sim) {
            console.log(`      note: Test connection not exercised: ${simReason}`);
          } else {
            const tc = entry.testConnection;
            const ok = await pressTestConnection(page, button.first(), tc);
            assert.match(ok, tc.ok, `Test connection shows success in the dialog (it showed: "${ok}")`);
            assert.ok(ok.includes(sim.url), `the success names the API base (${ok})`);
            await eb.screenshot(page, `editor-${entry.type}-test-connection`);
            // A wrong secret shows the OAuth error instead; then the right one is put back.
            const secretSpec = entry.fill(ctx).find(([c]) => c.some((p) => (entry.secretProps || []).includes(p)));
            const good = await fillSpecs(page, 'node-config-input-', [secretSpec]);
            await eb.fillInputs(page, Object.fromEntries(Object.keys(good).map((id) => [id, 'wrong-secret-for-the-test'])));
            const bad = await pressTestConnection(page, button.first(), tc);
            assert.match(bad, tc.fail, `Test connection shows the OAuth error (it showed: "${bad}")`);
            assert.match(bad, /invalid_client/, 'the OAuth error code is shown');
            assert.doesNotMatch(bad, tc.ok);
            assert.ok(!bad.includes('wrong-secret-for-the-test'), 'the secret is not echoed');
            await eb.screenshot(page, `editor-${entry.type}-test-connection-error`);
            await eb.fillInputs(page, good);
          }
          await eb.clickDone(page); // config tray
          await eb.clickDone(page); // host node tray
          const configId = (await eb.nodeState(page, nodeId)).props[prop];
          assert.ok(configId, `${hostType}.${prop} references the new ${entry.type}`);
          assert.equal((await eb.nodeState(page, configId)).valid, true, JSON.stringify(await eb.nodeState(page, configId)));
          // The config select shows the connection's label (name given) in the host dialog.
          assert.equal(await page.evaluate((id) => window.RED.utils.getNodeLabel(window.RED.nodes.node(id)), configId), 'browser test tenant');
          assert.match(await eb.deploy(page), /Successfully deployed/);
          const flows = await red.getFlows();
          const cfg = flows.find((n) => n.id === configId);
          assert.ok(cfg && cfg.type === entry.type, 'config node deployed');
          const exported = JSON.stringify(flows);
          const secrets = entry
            .fill(ctx)
            .filter(([c]) => c.some((p) => (entry.secretProps || []).includes(p)))
            .map(([, v]) => v);
          for (const s of secrets) assert.ok(!exported.includes(s), 'the secret typed into the dialog is not in the exported flow');
          await eb.screenshot(page, `editor-${entry.type}-deployed`);
        });
        return;
      }

      it('appears in the palette under "SAP Concur" with its label and icon, and has help text', async () => {
        const p = await eb.paletteEntry(page, entry.type);
        assert.ok(p, `${entry.type} is in the palette`);
        assert.equal(p.category, 'SAP Concur');
        assert.equal(p.containerId, CATEGORY_CONTAINER);
        assert.ok(p.label && p.label !== entry.type, `a readable palette label (got "${p.label}")`);
        assert.doesNotMatch(p.label, RAW_KEY, 'the palette label is translated, not a catalogue key');
        if (entry.label) assert.match(p.label, entry.label);
        assert.ok(p.icon && p.icon.endsWith(`/${entry.type}.svg`), `palette icon is icons/${entry.type}.svg (got ${p.icon})`);
        const icon = await eb.fetchFromEditor(page, p.icon);
        assert.equal(icon.status, 200, `icon ${p.icon} is served`);
        assert.match(String(icon.contentType), /svg/);
        const help = await page.evaluate((t) => window.RED.nodes.getNodeHelp(t) || '', entry.type);
        assert.ok(help.replace(/<[^>]+>/g, '').trim().length > 100, `help sidebar text for ${entry.type}`);
        // Node-RED's help style: the sections a reader looks for, and the Concur documents it is based on.
        for (const h of ['Details', 'References']) assert.match(help, new RegExp(`<h3>${h}</h3>`), `help has a ${h} section`);
        assert.match(help, /<h3>(Inputs|Outputs)<\/h3>/, 'help describes the inputs or outputs');
        assert.match(help, /href="https:\/\/developer\.concur\.com\//, 'help links the SAP Concur documentation');
      });

      it('is added from the palette, its dialog validates and is filled, and it deploys cleanly', async () => {
        await eb.clearWorkspace(page);
        const nodeId = await eb.addNodeFromPalette(page, entry.type, { x: 300, y: 140 });
        await eb.openEditDialog(page, nodeId);
        const ctx = { red, sim, page };
        const prop = await configProperty(page, entry.type);
        if (prop) {
          // A new connection through the "+" next to the config select, as an admin would; a company token, so API calls succeed.
          const cfg = NODES.find((n) => n.config);
          await eb.openAddConfigDialog(page, prop);
          await fillSpecs(page, 'node-config-input-', cfg.fill(ctx, 'password'));
          await eb.clickDone(page);
        }
        await assertTranslated(page);
        if (entry.checks) await entry.checks(ctx);
        const filled = await fillSpecs(page, 'node-input-', entry.fill(ctx));
        assert.deepEqual(await eb.invalidInputs(page), [], 'nothing is marked invalid once the dialog is filled');
        await eb.screenshot(page, `editor-${entry.type}-dialog`);
        await eb.clickDone(page);
        const state = await eb.nodeState(page, nodeId);
        assert.equal(state.valid, true, `node valid after filling: ${JSON.stringify(state)}`);
        let injectId;
        if (entry.trigger) {
          injectId = await eb.addNodeFromPalette(page, 'inject', { x: 120, y: 260 });
          await eb.connect(page, injectId, nodeId);
        }
        assert.match(await eb.deploy(page), /Successfully deployed/);
        const deployed = (await red.getFlows()).find((n) => n.id === nodeId);
        assert.ok(deployed, 'node is in the deployed flow');
        for (const [id, v] of Object.entries(filled)) {
          const key = id.slice('node-input-'.length);
          if (key in deployed && typeof v !== 'object') assert.equal(String(deployed[key]), String(v), `${key} deployed as typed`);
        }
        if (entry.probe) {
          await entry.probe(/** @type {any} */ ({ red, page, nodeId }));
          // A receiver shows what it has received once running.
          const status = await eb.waitForStatus(page, nodeId, entry.status || /\S/);
          console.log(`      status badge in the browser: "${status}" (${await statusFill(page, nodeId)})`);
        }
        if (entry.trigger) {
          if (!sim) {
            console.log(`      note: no simulator, the inject run is skipped: ${simReason}`);
          } else {
            // Before any message the badge shows the counts; then a click on the inject button runs the node for real.
            assert.match(await eb.waitForStatus(page, nodeId, /0 ok/), /0 ok/);
            await clickInject(page, injectId);
            const status = await eb.waitForStatus(page, nodeId, entry.trigger.status, 30000);
            const fill = await statusFill(page, nodeId);
            console.log(`      status badge after the inject click: "${status}" (${fill})`);
            assert.equal(fill, entry.trigger.fill, `badge colour for "${status}"`);
            assert.ok(!/secret|Bearer|token=/i.test(status), 'no secret in the badge');
          }
        }
        await eb.screenshot(page, `editor-${entry.type}-deployed`);
      });
    });
  }

  it("an API node's badge shows the token state: the OAuth error when the connection's secret is wrong", async function () {
    if (!sim || missingFiles('concur-notifications')) this.skip();
    // Deployed through the admin API (a wrong secret is typed the same way as a right one, tested above), then shown in the editor.
    const z = `tab-${RUN}`;
    await red.deploy([
      { id: z, type: 'tab', label: 'token state' },
      {
        id: `cfg-${RUN}`,
        type: 'concur-config',
        name: 'wrong secret',
        geolocation: 'custom',
        baseUrl: sim.url,
        grantType: 'client_credentials',
        credentials: { clientId: sim.credentials.clientId, clientSecret: 'not-the-secret' },
      },
      {
        id: `inj-${RUN}`,
        type: 'inject',
        z,
        name: 'go',
        props: [{ p: 'payload' }],
        payload: '',
        payloadType: 'date',
        repeat: '',
        once: false,
        x: 200,
        y: 120,
        wires: [[`ntf-${RUN}`]],
      },
      {
        id: `ntf-${RUN}`,
        type: 'concur-notifications',
        z,
        name: 'list with a wrong secret',
        server: `cfg-${RUN}`,
        operation: 'list-failed',
        statusValue: 'failed',
        emitEach: false,
        x: 460,
        y: 120,
        wires: [[]],
      },
    ]);
    await eb.openEditor(page, red);
    await page.evaluate((id) => window.RED.workspaces.show(id), z);
    await eb.waitForStatus(page, `ntf-${RUN}`, /0 ok/);
    await clickInject(page, `inj-${RUN}`);
    const status = await eb.waitForStatus(page, `ntf-${RUN}`, /invalid_client/, 30000);
    console.log(`      status badge with a wrong client secret: "${status}" (${await statusFill(page, `ntf-${RUN}`)})`);
    assert.match(status, /^401 invalid_client: 0 ok, 1 failed$/);
    assert.equal(await statusFill(page, `ntf-${RUN}`), 'red');
    assert.ok(!status.includes('not-the-secret'));
    await eb.screenshot(page, 'editor-token-state-error');
  });

  describe('in German (editor language "de")', () => {
    const LEGACY = 'concur-legacy-notify-in';
    before(async function () {
      if (missingFiles(LEGACY)) this.skip();
      // Node-RED's own language setting (User settings > View > Language) is kept in localStorage.
      await page.evaluate(() => localStorage.setItem('editor-language', 'de'));
      await eb.openEditor(page, red);
    });
    after(async () => {
      if (!page) return;
      await page.evaluate(() => localStorage.removeItem('editor-language')).catch(() => {});
      await eb.openEditor(page, red).catch(() => {});
    });

    it('shows German palette labels, dialog labels, validation messages and help', async () => {
      const errorsBefore = browser.errors.length;
      assert.equal(await page.evaluate(() => window.RED.i18n.lang()), 'de', 'the editor runs in German');
      const palette = {};
      for (const n of NODES) if (!n.config && !missingFiles(n.type)) palette[n.type] = (await eb.paletteEntry(page, n.type)).label;
      // Hyphens in German labels are non-breaking (U+2011), so the palette keeps the word whole.
      const same = (a, b) => assert.equal(String(a).replace(/\u2011/g, '-'), b);
      same(palette[LEGACY], 'Callout (Legacy)');
      if (palette['concur-workflow-action']) same(palette['concur-workflow-action'], 'Aktion (Workflow)');
      if (palette['concur-get-report-details']) same(palette['concur-get-report-details'], 'Abrechnung holen');
      for (const [t, l] of Object.entries(palette)) assert.doesNotMatch(l, RAW_KEY, `${t} palette label translated`);

      await eb.clearWorkspace(page);
      const nodeId = await eb.addNodeFromPalette(page, LEGACY, { x: 300, y: 140 });
      await eb.openEditDialog(page, nodeId);
      await assertTranslated(page);
      assert.equal(await textOf(page, 'label[for="node-input-username"]'), 'Benutzername');
      assert.equal(await textOf(page, 'label[for="node-input-password"]'), 'Passwort');
      assert.match(await textOf(page, '#concur-legacy-notify-in-endpoint'), /In Concur eintragen/);
      await eb.fillInputs(page, { 'node-input-username': 'kurz' });
      assert.match(await textOf(page, '#node-input-username-hint'), /Benutzername: 4 Zeichen; Concur verlangt 10–50/);
      await expectFieldError(page, 'node-input-path', 'ohne-schraegstrich', /muss mit \/ beginnen/);

      // The help sidebar shows the German help text.
      const help = await page.evaluate((t) => window.RED.nodes.getNodeHelp(t) || '', LEGACY);
      assert.match(help, /<h3>Ausgaben<\/h3>/);
      assert.match(help, /Authentifizierung/);
      await page.evaluate((t) => window.RED.sidebar.help.show(t), LEGACY);
      await page.waitForFunction(() => /Authentifizierung/.test(window.$('.red-ui-help:visible').text()), null, { timeout: 10000 });
      await eb.screenshot(page, 'editor-de-concur-legacy-notify-in');
      await page.locator('#node-dialog-cancel').click();
      await page.locator('#node-dialog-cancel').waitFor({ state: 'detached' });
      const errors = browser.errors.slice(errorsBefore);
      assert.deepEqual(errors, [], `editor errors: ${errors.join(' | ')}`);
    });
  });
});

/** Fails when the open dialog shows a catalogue key instead of its translation. */
async function assertTranslated(page) {
  const text = await page.evaluate(() => {
    const $tray = window.$('.red-ui-tray').last();
    const placeholders = $tray
      .find('[placeholder]')
      .map((i, e) => e.getAttribute('placeholder'))
      .get();
    return `${$tray.text()} ${placeholders.join(' ')}`.replace(/\s+/g, ' ');
  });
  const m = RAW_KEY.exec(text);
  assert.equal(m && m[0], null, 'every label in the dialog is translated');
}
