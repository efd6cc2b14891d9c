'use strict';
/**
 * Every importable example (examples/*.json) is loaded into a REAL Node-RED,
 * pointed at the built-in simulator (scripts/demo-flows.js, the same code
 * `npm start` uses), deployed and driven: ESS events and legacy callouts from
 * the simulator's senders, inject nodes through POST /inject/:id. Assertions
 * are on the simulator's state (report approved / sent back, exceptions
 * posted, notifications deleted, subscriptions saved) and on the messages
 * that reach each example's debug nodes (tapped to a loopback collector).
 *
 * The simulator enforces token kinds here (company token for expense and
 * notification calls, app token for the ESS subscription API), as Concur does.
 */
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startRed, request, REPO, PACKAGE_NAME } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');
const { startCollector, collectorNodes } = require('../helpers/collector');
const { startSimulator, sendEss } = require('../../dist/simulator/index.js');
const { exampleFiles, loadExample, connectToSimulator, demoFlows, replaceDemoNodes, DEMO_EXAMPLES, DEMO_CONNECTION_ID } = require('../../scripts/demo-flows');
const { startPostgres } = require('../helpers/postgres');

const R_GOOD = 'CB899F7D9F73420A8D8B'; // A_EXTV, passes the rules
const R_BAD = '4D2E8A61B0C94F7FA311'; // A_EXTV, 612 USD dinner without receipt, expense without purpose
const R_PEND = '9F1C3B7E22D84A6B9C05'; // A_PEND (manager step)
const R_PAID = '71E0D5A9C3B24F18BE6A'; // approved and paid: no workflow step
const R_DRAFT = '0A6B4C2D9E8F41A3B7D1'; // not submitted
const EXP_DINNER = 'C4A2E0B8D6F44A1C9E7B5D3F1A9C7E5B'; // 612 USD, no receipt
const EXP_NO_PURPOSE = 'A0E8C6B4D2F04A8E6C4B2D0F8E6A4C2B'; // Walgreens, blank purpose
const LEGACY = { user: 'concur-connector', password: 'Example-Password-42' };
const SUBSCRIPTION_ID = 'node-red-expense-report-status';

const PACKAGE_TYPES = Object.keys(require(path.join(REPO, 'package.json'))['node-red'].nodes);
const CORE_TYPES = new Set([
  'tab',
  'comment',
  'inject',
  'debug',
  'function',
  'change',
  'switch',
  'catch',
  'status',
  'complete',
  'link in',
  'link out',
  'link call',
  'http request',
  'http in',
  'http response',
  'json',
  'xml',
  'delay',
  'rbe',
  'split',
  'join',
  'template',
]);
const TAP_FIELDS = ['payload', 'reportId', 'reportKey', 'notificationURI', 'concurError', 'error', 'comment', 'exceptions', 'violations', 'headers'];

async function waitUntil(cond, what, timeoutMs = 20000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = cond();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('examples: every importable flow runs against the simulator in a real Node-RED', function () {
  this.timeout(120000);
  let sim;
  let red;
  let collector;
  let keyDir;

  const report = (id) => sim.state.reportById(id);
  const exceptionsOf = (id) =>
    report(id)
      .exceptions.map((e) => `${e.exceptionCode}@${e.expenseId ?? 'report'}`)
      .sort();
  const lastComment = (id) => report(id).comments[report(id).comments.length - 1];
  /** Messages that reached the debug node `debugId` (see tapDebugNodes). */
  const tapped = (debugId) => collector.received.filter((m) => m.path === `/${encodeURIComponent(debugId)}`).map((m) => m.body);

  before(async () => {
    keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-examples-keys-'));
    sim = await startSimulator({ port: 0, keyDir, enforceTokenKinds: true, delivery: { initialDelayMs: 50, retentionMs: 5000 } });
    collector = await startCollector();
    red = await startRed();
  });
  after(async () => {
    await teardown({ red, collector, sim });
    if (keyDir) fs.rmSync(keyDir, { recursive: true, force: true });
  });

  function simulatorOptions() {
    return {
      simUrl: sim.url,
      credentials: sim.credentials,
      essPublicKeyPem: sim.essKeys().publicPem,
      legacy: LEGACY,
      essWebhookUrl: `${red.url}/concur/ess`,
    };
  }

  /** Adds a collector beside every debug node: whatever reaches the debug node is also POSTed to /<debug id>. */
  function tapDebugNodes(flows) {
    const debugs = flows.filter((n) => n.type === 'debug');
    const extra = [];
    for (const d of debugs) {
      const tap = collectorNodes({ idPrefix: `tap-${d.id}`, z: d.z, url: collector.url, pathName: `/${encodeURIComponent(d.id)}`, fields: TAP_FIELDS });
      for (const n of flows) {
        if (!Array.isArray(n.wires)) continue;
        n.wires = n.wires.map((port) => (port.includes(d.id) ? [...port, tap.inputId] : port));
      }
      extra.push(...tap.nodes);
    }
    return [...flows, ...extra];
  }

  /** The example as the editor's Import > Examples menu gets it from the runtime. */
  async function importExample(file) {
    const name = file.replace(/\.json$/, '');
    const r = await request(`${red.url}/library/examples/flows/${PACKAGE_NAME}/${encodeURIComponent(name)}`);
    assert.equal(r.status, 200, `Import > Examples > ${PACKAGE_NAME} > ${name}: ${r.status} ${r.body}`);
    return JSON.parse(r.body);
  }

  async function deployExample(file) {
    sim.state.reset();
    sim.resetFaults();
    collector.clear();
    const flows = await importExample(file);
    assert.deepEqual(flows, loadExample(file));
    await red.deploy(tapDebugNodes(connectToSimulator(flows, simulatorOptions())));
  }

  async function inject(id) {
    const r = await request(`${red.url}/inject/${encodeURIComponent(id)}`, { method: 'POST' });
    assert.equal(r.status, 200, `inject ${id}: ${r.status} ${r.body}`);
  }

  describe('static checks', () => {
    const files = exampleFiles();

    it('there is an example for each required scenario and every non-config node type', () => {
      for (const f of [
        '01 ESS approval flow.json',
        '02 Legacy external validation flow.json',
        '03 Replay failed legacy notifications.json',
        '04 ESS subscription setup.json',
        '05 Get report details.json',
        '06 Post exceptions.json',
        '07 Workflow action.json',
      ]) {
        assert.ok(files.includes(f), `missing example ${f}`);
      }
      const used = new Set(files.flatMap((f) => loadExample(f).map((n) => n.type)));
      for (const t of PACKAGE_TYPES) assert.ok(used.has(t), `no example uses ${t}`);
    });

    it('each example is one tab with an explanation, known node types and consistent wiring', () => {
      for (const f of files) {
        const flows = loadExample(f);
        const tabs = flows.filter((n) => n.type === 'tab');
        assert.equal(tabs.length, 1, `${f}: one tab`);
        const ids = new Set(flows.map((n) => n.id));
        assert.equal(ids.size, flows.length, `${f}: node ids are unique`);
        assert.ok(
          flows.some((n) => n.type === 'comment' && n.z === tabs[0].id && n.info && n.info.length > 100),
          `${f}: a comment node explains the flow`,
        );
        for (const n of flows) {
          assert.ok(CORE_TYPES.has(n.type) || PACKAGE_TYPES.includes(n.type), `${f}: unknown node type ${n.type}`);
          if (n.type === 'tab' || n.type === 'concur-config' || n.type === 'concur-store') continue; // config nodes live on no tab
          assert.equal(n.z, tabs[0].id, `${f}: ${n.id} is on the tab`);
          assert.ok(Number.isFinite(n.x) && Number.isFinite(n.y), `${f}: ${n.id} has a position`);
          for (const port of n.wires || []) for (const to of port) assert.ok(ids.has(to), `${f}: ${n.id} is wired to missing node ${to}`);
          if (n.server !== undefined)
            assert.ok(
              flows.some((c) => c.id === n.server && c.type === 'concur-config'),
              `${f}: ${n.id} uses a connection in the same file`,
            );
        }
        // Every Concur call ends somewhere visible: a Catch node on each tab that calls Concur.
        if (flows.some((n) => n.server))
          assert.ok(
            flows.some((n) => n.type === 'catch'),
            `${f}: has a Catch node`,
          );
      }
    });

    it('no two examples share a node id, so importing a second one never asks about existing nodes', () => {
      const owner = new Map();
      for (const f of files) {
        for (const n of loadExample(f)) {
          assert.ok(!owner.has(n.id), `${n.id} is in ${owner.get(n.id)} and ${f}`);
          owner.set(n.id, f);
        }
      }
    });

    it('no example carries credentials or simulator secrets', () => {
      for (const f of files) {
        const text = fs.readFileSync(path.join(REPO, 'examples', f), 'utf8');
        for (const n of JSON.parse(text)) {
          assert.equal(n.credentials, undefined, `${f}: ${n.id} has credentials`);
          for (const e of n.env || []) if (e.type === 'cred') assert.equal(e.value, '', `${f}: credential env ${e.name} is empty`);
        }
        for (const secret of ['sim-client-secret', 'sim-company-request-token', 'BEGIN PUBLIC KEY', 'BEGIN PRIVATE KEY', 'Bearer ey']) {
          assert.ok(!text.includes(secret), `${f} contains ${secret}`);
        }
      }
    });

    it('connectToSimulator only fills in the connection, receiver keys and credentials', () => {
      const before = loadExample('01 ESS approval flow.json');
      const after = connectToSimulator(before, {
        simUrl: 'http://127.0.0.1:9',
        credentials: { clientId: 'a', clientSecret: 'b', companyId: 'c', companyRequestToken: 'd' },
        essPublicKeyPem: 'PEM\n',
      });
      const cfg = after.find((n) => n.type === 'concur-config');
      assert.deepEqual([cfg.geolocation, cfg.baseUrl, cfg.grantType, cfg.credtype], ['custom', 'http://127.0.0.1:9', 'password', 'authtoken']);
      assert.deepEqual(cfg.credentials, { clientId: 'a', clientSecret: 'b', username: 'c', password: 'd' });
      assert.equal(after.find((n) => n.type === 'concur-ess-event-in').extraKeys, 'PEM');
      const untouched = (list) => list.filter((n) => !['concur-config', 'concur-ess-event-in'].includes(n.type));
      assert.deepEqual(untouched(after), untouched(before));
      assert.equal(before.find((n) => n.type === 'concur-config').credentials, undefined, 'the loaded example is not modified');
      assert.throws(() => connectToSimulator(before, { simUrl: 'http://x' }), /credentials\.clientId is required/);
    });

    it('the demo flow is the ESS, legacy, replay and subscription examples sharing one company connection', () => {
      const flows = demoFlows({ simUrl: 'http://127.0.0.1:9', credentials: { clientId: 'a', clientSecret: 'b', companyId: 'c', companyRequestToken: 'd' } });
      assert.deepEqual(
        flows.filter((n) => n.type === 'tab').map((n) => n.label),
        DEMO_EXAMPLES.map((f) => loadExample(f).find((n) => n.type === 'tab').label),
      );
      // One company connection shared by the examples, plus the subscription tab's app connection (client credentials).
      assert.deepEqual(
        flows
          .filter((n) => n.type === 'concur-config')
          .map((n) => n.grantType)
          .sort(),
        ['client_credentials', 'password'],
      );
    });

    it('replaceDemoNodes swaps only the demo tabs, their nodes and the demo connection (CONCUR_DEMO_RESET)', () => {
      const opts = { simUrl: 'http://127.0.0.1:9', credentials: { clientId: 'a', clientSecret: 'b', companyId: 'c', companyRequestToken: 'd' } };
      const demo = demoFlows(opts);
      const demoTab = demo.find((n) => n.type === 'tab');
      const deployed = [
        ...structuredClone(demo),
        { id: 'edit-on-demo-tab', type: 'comment', z: demoTab.id, x: 1, y: 1, wires: [] },
        { id: 'my-tab', type: 'tab', label: 'mine' },
        { id: 'my-node', type: 'concur-get-report-details', z: 'my-tab', server: DEMO_CONNECTION_ID, x: 1, y: 1, wires: [[]] },
        { id: 'my-conn', type: 'concur-config', name: 'mine' },
        { id: 'concur-example-connection', type: 'concur-config', name: 'left by an older demo' },
      ];
      const out = replaceDemoNodes(deployed, demo);
      const ids = out.map((n) => n.id);
      assert.ok(!ids.includes('edit-on-demo-tab'));
      assert.ok(!ids.includes('concur-example-connection'), 'an unused connection of an older demo goes');
      for (const id of ['my-tab', 'my-node', 'my-conn', DEMO_CONNECTION_ID]) assert.ok(ids.includes(id), id);
      assert.equal(new Set(ids).size, ids.length, 'no duplicates');
      assert.equal(out.length, demo.length + 3);
      // An older demo connection that one of the user's nodes uses is kept.
      const used = replaceDemoNodes(
        [...deployed, { id: 'n2', type: 'concur-notifications', z: 'my-tab', server: 'concur-example-connection', x: 1, y: 1, wires: [[]] }],
        demo,
      );
      assert.ok(used.some((n) => n.id === 'concur-example-connection'));
      // A user's node (on the user's tab) whose id a demo node also has: refused, nothing silently dropped.
      const clashId = demo.find((n) => n.type === 'comment').id;
      assert.throws(
        () =>
          replaceDemoNodes(
            [
              { id: 'my-tab', type: 'tab' },
              { id: clashId, type: 'comment', z: 'my-tab' },
            ],
            demo,
          ),
        /used by one of your own nodes and by the demo/,
      );
    });

    it('Node-RED lists every example under Import > Examples for this package', async () => {
      const modules = JSON.parse((await request(`${red.url}/library/examples/flows/`)).body);
      assert.ok(modules.includes(PACKAGE_NAME), modules.join(', '));
      const listed = JSON.parse((await request(`${red.url}/library/examples/flows/${PACKAGE_NAME}`)).body);
      assert.deepEqual(
        listed.map((e) => `${e.fn}.json`),
        files,
      );
    });

    it('every example has a driver in this test', () => {
      assert.deepEqual(Object.keys(DRIVERS).sort(), files);
    });
  });

  const DRIVERS = {
    '01 ESS approval flow.json': async () => {
      const to = `${red.url}/concur/ess`;
      const bad = await sim.sendEss({ to, reportId: R_BAD, maxAttempts: 1 });
      assert.ok(bad.delivered, `ESS delivery: ${bad.outcome} ${bad.status}`);
      await waitUntil(() => tapped('ess-approval.sent-back').length === 1, 'the send back');
      assert.equal(report(R_BAD).approvalStatus, 'A_RESU');
      assert.deepEqual(exceptionsOf(R_BAD), [`MISSREQ@${EXP_NO_PURPOSE}`, `NORCPT@${EXP_DINNER}`]);
      assert.match(lastComment(R_BAD).comment, /receipt missing for The Capital Grille \(612 USD\); business purpose missing for Walgreens/);
      const sentBack = tapped('ess-approval.sent-back')[0];
      assert.equal(sentBack.payload.action, 'sendBack');
      assert.equal(sentBack.reportId, R_BAD);

      // A report that passes is approved (PSS and PKCS#1 v1.5 signatures both verify).
      const good = await sim.sendEss({ to, reportId: R_GOOD, padding: 'pkcs1', maxAttempts: 1 });
      assert.ok(good.delivered);
      await waitUntil(() => tapped('ess-approval.approved').length === 1, 'the approval');
      assert.equal(report(R_GOOD).approvalStatus, 'A_APPR');
      assert.deepEqual(report(R_GOOD).exceptions, []);

      // Events about reports not at external validation, and other event types, change nothing.
      const paid = await sim.sendEss({ to, reportId: R_PAID, maxAttempts: 1 });
      const created = await sim.sendEss({ to, reportId: R_DRAFT, eventType: 'reportCreated', maxAttempts: 1 });
      assert.ok(paid.delivered && created.delivered);
      await collector.settle(500);
      assert.deepEqual([report(R_PAID).approvalStatus, report(R_DRAFT).approvalStatus], ['A_APPR', 'A_NOTF']);

      // Signature verification stays on: an event signed by another key is refused and not processed.
      const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      const forged = await sendEss({ to, event: sim.buildEssEvent(R_PEND), privateKey: other, maxAttempts: 1 });
      assert.equal(forged.status, 401);
      assert.equal(report(R_PEND).approvalStatus, 'A_PEND');
      assert.equal(tapped('ess-approval.approved').length + tapped('ess-approval.sent-back').length, 2);
      assert.deepEqual(tapped('ess-approval.errors'), []);

      // Every accepted event is marked done once the flow has finished with it, so none is
      // re-emitted after a restart (a core switch node in the path would keep them open).
      const journal = path.join(red.opts.userDir, 'concur-ess', 'ess-approval.in.journal');
      const records = () =>
        fs
          .readFileSync(journal, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l));
      const open = () => {
        const r = records();
        const done = new Set(r.filter((x) => x.t === 'd').map((x) => x.id));
        return r.filter((x) => x.t === 'a' && !done.has(x.id)).map((x) => x.id);
      };
      await waitUntil(() => open().length === 0, `every event marked done (open: ${open().join(', ')})`, 10000);
      assert.equal(records().filter((x) => x.t === 'a').length, 3, 'three statusChanged events stored; reportCreated filtered, the forged one refused');
    },

    '02 Legacy external validation flow.json': async () => {
      const to = `${red.url}/concur/v1.0/notify`;
      const bad = await sim.sendLegacy({ to, ...LEGACY, reportId: R_BAD });
      assert.equal(bad.status, 200, bad.body);
      // Acknowledged after the flow completed: the report is already sent back.
      assert.equal(report(R_BAD).approvalStatus, 'A_RESU');
      assert.deepEqual(exceptionsOf(R_BAD), [`MISSREQ@${EXP_NO_PURPOSE}`, `NORCPT@${EXP_DINNER}`]);
      assert.match(lastComment(R_BAD).comment, /receipt missing for The Capital Grille/);

      const good = await sim.sendLegacy({ to, ...LEGACY, reportId: R_GOOD });
      assert.equal(good.status, 200);
      assert.equal(report(R_GOOD).approvalStatus, 'A_APPR');

      // Wrong password: 401, nothing processed.
      const denied = await sim.sendLegacy({ to, user: LEGACY.user, password: 'Not-The-Password', reportId: R_PEND, recordFailure: false });
      assert.equal(denied.status, 401);
      assert.equal(report(R_PEND).approvalStatus, 'A_PEND');

      // A flow failure is not acknowledged, so Concur keeps the notification as failed (for the replay example).
      const queued = sim.state.notifications.length;
      const failed = await sim.sendLegacy({ to, ...LEGACY, reportId: R_PAID });
      assert.ok(!failed.ok && failed.status >= 500, `a failed flow is not acknowledged (got ${failed.status})`);
      assert.equal(sim.state.notifications.length, queued + 1);
      const errors = await waitUntil(() => tapped('legacy-validation.errors').length === 1 && tapped('legacy-validation.errors'), 'the error');
      assert.equal(errors[0].concurError.code, 'WORKFLOW_ACTION_FAILED');
      assert.deepEqual([tapped('legacy-validation.sent-back').length, tapped('legacy-validation.approved').length], [1, 1]);
    },

    '03 Replay failed legacy notifications.json': async () => {
      assert.equal(sim.state.notifications.length, 2, 'two seeded failed notifications');
      await inject('legacy-replay.now');
      await waitUntil(() => sim.state.notifications.length === 0, 'both notifications deleted');
      assert.equal(report(R_GOOD).approvalStatus, 'A_APPR');
      assert.equal(report(R_BAD).approvalStatus, 'A_RESU');
      assert.deepEqual(exceptionsOf(R_BAD), [`MISSREQ@${EXP_NO_PURPOSE}`, `NORCPT@${EXP_DINNER}`]);
      const deleted = await waitUntil(() => tapped('legacy-replay.deleted').length === 2 && tapped('legacy-replay.deleted'), 'two deletions');
      for (const m of deleted) assert.match(m.notificationURI, /\/api\/platform\/notifications\/v1\.0\/notification\//);

      // A notification whose processing fails stays on Concur for the next run.
      const r = await request(`${sim.url}/_sim/notifications`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ reportId: R_PAID }),
      });
      assert.equal(r.status, 201);
      await inject('legacy-replay.now');
      await waitUntil(() => tapped('legacy-replay.errors').length === 1, 'the processing error');
      await collector.settle(300);
      assert.equal(sim.state.notifications.length, 1, 'the failed one is kept');
      assert.equal(tapped('legacy-replay.deleted').length, 2);
    },

    '04 ESS subscription setup.json': async () => {
      const answers = () => tapped('ess-subscription.answer');
      await inject('ess-subscription.subscribe');
      await waitUntil(() => answers().length === 1, 'the subscribe answer');
      const sub = sim.state.subscriptions.get(SUBSCRIPTION_ID);
      assert.ok(sub, 'subscription saved');
      assert.deepEqual(
        [sub.topic, sub.filter, sub.webHookConfig.endpoint, sub.applicationId],
        ['public.concur.expense.report', 'statusChanged', `${red.url}/concur/ess`, sim.credentials.clientId],
      );
      assert.deepEqual(answers()[0].payload, {
        message: `Subscription '${SUBSCRIPTION_ID}' saved successfully`,
        subscription: {
          id: SUBSCRIPTION_ID,
          filter: 'statusChanged',
          topic: 'public.concur.expense.report',
          webHookConfig: { endpoint: `${red.url}/concur/ess` },
        },
      });
      // The subscription API takes an app token: the example's own client-credentials connection got one.
      assert.ok(sim.requests.some((r) => r.method === 'PUT' && /\/events\/v4\/subscriptions\/webhook$/.test(r.path) && r.status === 200));

      await inject('ess-subscription.list');
      await waitUntil(() => answers().length === 2, 'the list answer');
      await inject('ess-subscription.topics');
      await waitUntil(() => answers().length === 3, 'the topics answer');
      const [, list, topics] = answers();
      assert.deepEqual(
        list.payload.map((s) => [s.id, s.companyIds]),
        [[SUBSCRIPTION_ID, [sim.credentials.companyId]]],
      );
      assert.ok(topics.payload.includes('public.concur.expense.report'));

      // The subscription is live: a state change is delivered to the webhook URL it names
      // (no receiver is deployed with this example, so that delivery ends as rejected with 404).
      const moved = await request(`${sim.url}/_sim/reports/${R_DRAFT}/submit`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ stepCode: 'EXTVAL' }),
      });
      assert.equal(moved.status, 200, moved.body);
      await sim.deliveriesIdle();
      const event = sim.events.filter((e) => e.reportId === R_DRAFT).pop();
      assert.deepEqual(
        event.deliveries.map((d) => [d.subscriptionId, d.endpoint, d.status]),
        [[SUBSCRIPTION_ID, `${red.url}/concur/ess`, 404]],
      );

      await inject('ess-subscription.unsubscribe');
      await waitUntil(() => answers().length === 4, 'the unsubscribe answer');
      assert.deepEqual(answers()[3].payload, { deleted: true, message: `Subscription '${SUBSCRIPTION_ID}' marked for deletion` });
      assert.equal(sim.state.subscriptions.size, 0);

      // Deleting it again ends at the Catch node with Concur's 404.
      await inject('ess-subscription.unsubscribe');
      const notFound = await waitUntil(() => tapped('ess-subscription.errors')[0], 'the 404 error');
      assert.equal(notFound.concurError.status, 404);

      // A wrong secret ends at the Catch node with the OAuth error, and the secret is not in it.
      await red.deploy(
        tapDebugNodes(
          connectToSimulator(loadExample('04 ESS subscription setup.json'), {
            ...simulatorOptions(),
            credentials: { ...sim.credentials, clientSecret: 'wrong-secret-123' },
          }),
        ),
      );
      collector.clear();
      await inject('ess-subscription.subscribe');
      const err = await waitUntil(() => tapped('ess-subscription.errors')[0], 'the token error');
      assert.match(err.error.message, /token request \(client_credentials\) refused: invalid_client/);
      assert.ok(!JSON.stringify(err).includes('wrong-secret-123'));
      assert.equal(sim.state.subscriptions.size, 0);
    },

    '05 Get report details.json': async () => {
      for (const id of ['v4-in', 'v3-in', 'v11-in', 'exp-in']) await inject(`get-report.${id}`);
      await waitUntil(() => ['v4-out', 'v3-out', 'v11-out', 'exp-out'].every((d) => tapped(`get-report.${d}`).length === 1), 'four reports');
      const [v4] = tapped('get-report.v4-out');
      assert.deepEqual([v4.payload.reportId, v4.payload.approvalStatusId, v4.reportId], [R_GOOD, 'A_EXTV', R_GOOD]);
      const [v3] = tapped('get-report.v3-out');
      assert.equal(v3.payload.ID, R_BAD);
      const [v11] = tapped('get-report.v11-out');
      assert.deepEqual([v11.payload.ReportId, v11.reportKey, v11.payload.ApprovalStatusCode], [R_PEND, 'nQ7w$pE3rT9yU1iO5pA2sD8fG4hJ6kL0z', 'A_PEND']);
      const [exp] = tapped('get-report.exp-out');
      assert.deepEqual(
        exp.payload.map((e) => e.expenseId).sort(),
        report(R_BAD)
          .expenses.map((e) => e.expenseId)
          .sort(),
      );
      assert.deepEqual(tapped('get-report.errors'), []);
      const paths = sim.requests.map((r) => `${r.method} ${r.path} ${r.status}`);
      assert.ok(paths.includes(`GET /expensereports/v4/users/${report(R_BAD).ownerUserId}/context/TRAVELER/reports/${R_BAD}/expenses 200`), paths.join('\n'));
    },

    '06 Post exceptions.json': async () => {
      for (const id of ['v4-in', 'cfg-in', 'v11-in']) await inject(`post-exceptions.${id}`);
      await waitUntil(() => ['v4-out', 'cfg-out', 'v11-out'].every((d) => tapped(`post-exceptions.${d}`).length === 1), 'three results');
      assert.deepEqual(exceptionsOf(R_BAD), [`MISSREQ@${EXP_NO_PURPOSE}`, `NORCPT@${EXP_DINNER}`]);
      assert.deepEqual(exceptionsOf(R_GOOD), ['POLVIOL@report']);
      for (const d of ['v4-out', 'cfg-out', 'v11-out']) {
        const [m] = tapped(`post-exceptions.${d}`);
        assert.ok(m.payload.length === 1 && m.payload[0].ok, `${d}: ${JSON.stringify(m.payload)}`);
      }
      assert.deepEqual(tapped('post-exceptions.errors'), []);
    },

    '07 Workflow action.json': async () => {
      for (const id of ['approve-in', 'sendback-in', 'v11-in']) await inject(`workflow-action.${id}`);
      await waitUntil(() => ['approve-out', 'sendback-out', 'v11-out'].every((d) => tapped(`workflow-action.${d}`).length === 1), 'three actions');
      assert.equal(report(R_GOOD).approvalStatus, 'A_APPR');
      assert.equal(report(R_BAD).approvalStatus, 'A_RESU');
      assert.equal(lastComment(R_BAD).comment, 'Please attach the receipt for the team dinner.');
      assert.equal(report(R_PEND).approvalStatus, 'A_EXTV', 'the manager step approved through v1.1 moves the report to external validation');
      assert.equal(report(R_PEND).currentStep.stepCode, 'EXTVAL');
      assert.deepEqual(tapped('workflow-action.errors'), []);

      // Acting again on the approved report fails visibly (expectedStepCode no longer matches).
      await inject('workflow-action.approve-in');
      const [err] = await waitUntil(() => tapped('workflow-action.errors').length === 1 && tapped('workflow-action.errors'), 'the conflict');
      assert.equal(err.concurError.status, 409);
    },

    '08 Concur API request.json': async () => {
      await inject('api-request.list-in');
      await inject('api-request.get-in');
      await waitUntil(() => tapped('api-request.list-out').length === 1 && tapped('api-request.get-out').length === 1, 'the list and the report');
      const [list] = tapped('api-request.list-out');
      const extv = [...sim.state.reports.values()].filter((r) => r.approvalStatus === 'A_EXTV').map((r) => r.reportId);
      assert.ok(extv.length >= 2, 'several pages of one report each');
      assert.deepEqual(list.payload.map((r) => r.ID).sort(), extv.sort());
      assert.equal(sim.requests.filter((r) => r.path === '/api/v3.0/expense/reports').length, extv.length, 'one request per page');
      const [one] = tapped('api-request.get-out');
      assert.deepEqual([one.payload.reportId, one.payload.userId], [R_GOOD, report(R_GOOD).ownerUserId]);
      assert.deepEqual(tapped('api-request.errors'), []);
    },

    '09 Reports to approve.json': async () => {
      // The inbox inject runs once at start; the delegate one is clicked.
      await waitUntil(() => tapped('to-approve.report-out').length === 1, "the report from Sam's inbox");
      const [item] = tapped('to-approve.inbox-out');
      assert.deepEqual([item.payload.reportId, item.reportId], [R_PEND, R_PEND]);
      const [rep] = tapped('to-approve.report-out');
      assert.deepEqual([rep.payload.reportId, rep.payload.approvalStatusId], [R_PEND, 'A_PEND']);
      assert.ok(
        sim.requests.some(
          (r) => r.path === `/expensereports/v4/users/${report(R_PEND).currentStep.assignedUserId}/context/MANAGER/reports/${R_PEND}` && r.status === 200,
        ),
      );
      await inject('to-approve.delegate-in');
      const [inbox] = await waitUntil(() => tapped('to-approve.delegate-out').length === 1 && tapped('to-approve.delegate-out'), 'the delegate inbox');
      assert.deepEqual(
        inbox.payload.map((r) => r.reportId),
        [R_PEND],
      );
      assert.deepEqual(tapped('to-approve.errors'), []);
    },

    '10 User lookup.json': async () => {
      await inject('user-lookup.login-in');
      await inject('user-lookup.emp-in');
      await waitUntil(() => tapped('user-lookup.inbox-out').length === 1 && tapped('user-lookup.emp-out').length === 1, 'the user, the inbox and the employee');
      const [user] = tapped('user-lookup.login-out');
      const sam = sim.state.userByLogin('sam.lee@globex.example');
      assert.deepEqual([user.payload.userId, user.payload.displayName], [sam.userId, 'Sam Lee']);
      assert.deepEqual(
        tapped('user-lookup.inbox-out')[0].payload.map((r) => r.reportId),
        [R_PEND],
      );
      const [emp] = tapped('user-lookup.emp-out');
      assert.deepEqual([emp.payload.loginId, emp.payload.manager.displayName], ['jane.doe@globex.example', 'Sam Lee']);
      // Cached: a second click sends nothing to Concur.
      const n = sim.requests.filter((r) => r.path.startsWith('/profile/identity/')).length;
      await inject('user-lookup.emp-in');
      await waitUntil(() => tapped('user-lookup.emp-out').length === 2, 'the cached answer');
      assert.equal(sim.requests.filter((r) => r.path.startsWith('/profile/identity/')).length, n);
      assert.deepEqual(tapped('user-lookup.errors'), []);
    },

    '11 Report comments.json': async () => {
      await inject('comments.read-in');
      await inject('comments.add-in');
      await waitUntil(() => tapped('comments.read-out').length === 1 && tapped('comments.add-out').length === 1, 'the comments and the added one');
      assert.deepEqual(
        tapped('comments.read-out')[0].payload.map((c) => c.comment),
        report(R_PEND).comments.map((c) => c.comment),
      );
      assert.equal(tapped('comments.add-out')[0].payload.status, 201);
      assert.equal(lastComment(R_GOOD).comment, 'Receipts checked by the validation flow.');
      assert.deepEqual(tapped('comments.errors'), []);
    },

    '12 Receipt images.json': async () => {
      await inject('receipts.v4-in');
      await inject('receipts.pdf-in');
      await waitUntil(() => tapped('receipts.v4-out').length === 3 && tapped('receipts.pdf-out').length === 1, 'three checked receipts and the PDF');
      const checked = tapped('receipts.v4-out').map((m) => m.payload);
      assert.deepEqual(
        checked.map((c) => c.expenseId).sort(),
        report(R_GOOD)
          .expenses.map((e) => e.expenseId)
          .sort(),
      );
      for (const c of checked) assert.deepEqual([c.contentType, c.looksLikePng], ['image/png', true]);
      const [pdf] = tapped('receipts.pdf-out');
      assert.match(Buffer.from(pdf.payload.data).toString('latin1'), /^%PDF/);
      assert.deepEqual(tapped('receipts.errors'), []);
    },

    '13 Travel request approval.json': async () => {
      const TR_EXT = '053A479B3C9DD847B02A203C657AE26B'; // at external validation, 1210 EUR
      const TR_MGR = '224AF3CDCC2A5244A37C72FA5770C6F2'; // pending a manager: filtered out by the event preset
      const to = `${red.url}/concur/ess-requests`;
      const mgr = await sim.sendEss({ to, event: sim.buildRequestEvent(TR_MGR), maxAttempts: 1 });
      assert.ok(mgr.delivered, `delivered: ${mgr.status}`);
      const ok = await sim.sendEss({ to, event: sim.buildRequestEvent(TR_EXT), maxAttempts: 1 });
      assert.ok(ok.delivered);
      await waitUntil(() => tapped('travel-request.done').length === 1, 'the approval');
      assert.equal(sim.state.travelRequests.get(TR_EXT).status, 'APPROVED');
      assert.equal(sim.state.travelRequests.get(TR_MGR).status, 'SUBMITTED', 'the manager-step event was filtered out');
      assert.equal(tapped('travel-request.done')[0].payload.approvalStatus.code, 'APPROVED');
      // Over the limit: sent back with the rule's comment.
      sim.state.reset();
      sim.state.travelRequests.get(TR_EXT).total = 2400;
      const over = await sim.sendEss({ to, event: sim.buildRequestEvent(TR_EXT), maxAttempts: 1 });
      assert.ok(over.delivered);
      await waitUntil(() => tapped('travel-request.done').length === 2, 'the send back');
      const t = sim.state.travelRequests.get(TR_EXT);
      assert.equal(t.status, 'SENTBACK');
      assert.match(t.comments[0].comment, /2400 EUR is over the 1500 limit/);
      const actions = sim.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/travelrequest/')).map((r) => `${r.path} ${r.query ?? ''}`.trim());
      assert.deepEqual(actions, [`/travelrequest/v4/requests/${TR_EXT}/approve`, `/travelrequest/v4/requests/${TR_EXT}/sendback`]);
      assert.deepEqual(tapped('travel-request.errors'), []);
    },
  };

  DRIVERS['14 Several instances (PostgreSQL store).json'] = async () => {
    // A throwaway PostgreSQL stands in for the database the example asks for.
    const pg = await startPostgres();
    const { Client } = require('pg');
    const rows = async (text) => {
      const c = new Client({ connectionString: pg.connectionString });
      await c.connect();
      try {
        return (await c.query(text)).rows;
      } finally {
        await c.end();
      }
    };
    try {
      const flows = tapDebugNodes(connectToSimulator(loadExample('14 Several instances (PostgreSQL store).json'), simulatorOptions())).map((n) =>
        n.type === 'concur-store' ? { ...n, host: pg.host, port: pg.port, database: pg.database, user: pg.user, credentials: { password: pg.password } } : n,
      );
      await red.deploy(flows);
      const event = sim.buildEssEvent(R_GOOD);
      const first = await sendEss({ to: `${red.url}/concur/ess`, event, privateKey: sim.essKeys().privateKey, maxAttempts: 1 });
      assert.equal(first.status, 200);
      const [got] = await waitUntil(() => tapped('several.reports').length === 1 && tapped('several.reports'), 'the report');
      assert.equal(got.payload.reportId, R_GOOD);
      // ESS retries the same event (e.g. through the load balancer to another instance): a duplicate, not emitted again.
      const again = await sendEss({ to: `${red.url}/concur/ess`, event, privateKey: sim.essKeys().privateKey, maxAttempts: 1 });
      assert.equal(again.status, 200);
      await collector.settle(500);
      assert.equal(tapped('several.reports').length, 1);
      assert.deepEqual(tapped('several.errors'), []);
      // The event and the connection's tokens are in PostgreSQL.
      const until = Date.now() + 5000;
      let ev;
      do {
        ev = await rows(`SELECT id, state FROM concur_ess_events`);
        if (ev[0] && ev[0].state === 'done') break;
        await new Promise((r) => setTimeout(r, 100));
      } while (Date.now() < until);
      assert.deepEqual(ev, [{ id: event.id, state: 'done' }]);
      const tok = await rows(`SELECT connection, refresh_token IS NOT NULL AS refresh, access_token IS NOT NULL AS access FROM concur_oauth_tokens`);
      assert.deepEqual(tok, [{ connection: 'several.connection', refresh: true, access: true }]);
    } finally {
      await red.deploy([{ id: 'empty.tab', type: 'tab', label: 'empty' }]).catch(() => undefined);
      await pg.destroy();
    }
  };

  for (const file of exampleFiles()) {
    it(`${file}: deploys and works against the simulator`, async () => {
      const drive = DRIVERS[file];
      assert.ok(drive, `no driver for ${file}`);
      await deployExample(file);
      await drive();
    });
  }
});
