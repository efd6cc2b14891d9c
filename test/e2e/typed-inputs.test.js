'use strict';
/**
 * TypedInput inputs of the existing API nodes (report id, user id, href,
 * comment, action, exceptions, WorkflowActionURL, notification URI) in a real
 * Node-RED against the simulator: read from msg paths other than the default,
 * flow context, env (tab env), JSONata and fixed strings. Flows saved without
 * the new properties still read the old msg properties (test/api-nodes.test.js
 * runs such flows).
 */
const assert = require('node:assert/strict');
const { startApiHarness } = require('../helpers/api-flow');
const { requestsTo, apiRequests } = require('../helpers/simulator-client');

const R1 = 'CB899F7D9F73420A8D8B'; // owner Jane, at EXTVAL
const R3 = '9F1C3B7E22D84A6B9C05'; // owner Jane, at MANAGER (Sam)
const JANE = 'e1a0b7c4-5d2f-4c8a-9b1e-3f6d2a8c7e10';
const SAM = '7c3e9f12-a4b6-4d8e-8f0a-1b2c3d4e5f60';

describe('TypedInput inputs of the API nodes (real Node-RED + simulator)', function () {
  this.timeout(90000);
  let h;
  let sim;

  before(async () => {
    h = await startApiHarness();
    sim = h.sim;
    const nodes = [
      // report id from flow context, user id from the tab's env, nothing from msg.
      {
        name: 'get-flow',
        type: 'concur-get-report-details',
        version: 'v4',
        context: 'TRAVELER',
        reportId: 'theReport',
        reportIdType: 'flow',
        userId: 'OWNER',
        userIdType: 'env',
        href: '',
        hrefType: 'msg',
      },
      // href from another msg path; report id and user id given as JSONata / str.
      {
        name: 'get-href',
        type: 'concur-get-report-details',
        version: 'v4',
        href: 'event.link',
        hrefType: 'msg',
        reportId: 'reportId',
        reportIdType: 'msg',
        userId: 'userId',
        userIdType: 'msg',
      },
      {
        name: 'get-jsonata',
        type: 'concur-get-report-details',
        version: 'v4',
        reportId: '$uppercase(ids.report)',
        reportIdType: 'jsonata',
        userId: JANE,
        userIdType: 'str',
      },
      // Workflow action: action from msg.decision, comment built with JSONata, report id from msg.payload.id.
      {
        name: 'wf',
        type: 'concur-workflow-action',
        version: 'v4',
        action: 'msg',
        endpoint: 'company',
        actionFrom: 'decision',
        actionFromType: 'msg',
        commentFrom: '"Checked by robot: " & reason',
        commentFromType: 'jsonata',
        reportId: 'payload.id',
        reportIdType: 'msg',
        userId: 'userId',
        userIdType: 'msg',
        server: 'cfg2',
      },
      // v1.1: WorkflowActionURL from flow context.
      {
        name: 'wf11',
        type: 'concur-workflow-action',
        version: 'v1.1',
        action: 'approve',
        comment: 'ok',
        workflowActionUrl: 'wfUrl',
        workflowActionUrlType: 'flow',
        commentFrom: 'comment',
        commentFromType: 'msg',
      },
      // Exceptions from JSONata over the report, report id from msg.report.reportId.
      {
        name: 'exc',
        type: 'concur-post-exceptions',
        version: 'v4',
        visibility: 'ALL',
        reportId: 'report.reportId',
        reportIdType: 'msg',
        exceptionsFrom: '[{"exceptionCode": code}]',
        exceptionsFromType: 'jsonata',
        server: 'cfg2',
      },
      // Delete a failed notification whose URI sits in msg.payload.uri.
      { name: 'del', type: 'concur-notifications', operation: 'delete', notificationURI: 'payload.uri', notificationURIType: 'msg' },
    ];
    const extra = [
      { id: 'set-ctx', type: 'inject', props: [], repeat: '', once: true, onceDelay: 0.1, wires: [['set-ctx2']] },
      { id: 'set-ctx2', type: 'change', rules: [{ t: 'set', p: 'theReport', pt: 'flow', to: R1, tot: 'str' }], wires: [] },
    ];
    const flows = h.flows(nodes, extra);
    flows.find((n) => n.type === 'tab').env = [{ name: 'OWNER', value: JANE, type: 'str' }];
    await h.red.deploy(flows);
    await new Promise((r) => setTimeout(r, 500));
  });
  beforeEach(() => {
    sim.state.reset();
    sim.resetFaults();
  });
  after(() => h && h.stop());

  it('get report: report id from flow context, user id from env; href from another msg path; JSONata and string', async () => {
    let m = await h.expectOk('get-flow', { msg: { reportId: 'IGNORED', userId: 'IGNORED' } });
    assert.equal(m.payload.reportId, R1);
    assert.equal(sim.requests.at(-1).path, `/expensereports/v4/users/${JANE}/context/TRAVELER/reports/${R1}`);
    m = await h.expectOk('get-href', {
      msg: { event: { link: `${sim.url}/expensereports/v4/users/${JANE}/context/TRAVELER/reports/${R3}` } },
      payload: { facts: { href: 'https://attacker.example.net/not-read' } },
    });
    assert.equal(m.payload.reportId, R3, 'msg.event.link was used, msg.payload.facts.href was not');
    m = await h.expectOk('get-jsonata', { msg: { ids: { report: R1.toLowerCase() } } });
    assert.equal(m.payload.reportId, R1);
  });

  it('workflow action: action from msg.decision, comment from JSONata, report id from msg.payload.id', async () => {
    const e = await h.expectErr('wf', { msg: { decision: 'reject' }, payload: { id: R1 } });
    assert.match(e.concurError.message, /action must be approve, sendBack or recall/);
    await h.expectOk('wf', { msg: { decision: 'sendBack', reason: 'receipt missing', action: 'approve' }, payload: { id: R1 } });
    const r = sim.state.reportById(R1);
    assert.equal(r.approvalStatus, 'A_RESU');
    assert.equal(r.comments.at(-1).comment, 'Checked by robot: receipt missing');
    assert.equal(sim.requests.at(-1).path, `/expensereports/v4/reports/${R1}/sendBack`);
  });

  it('v1.1 workflow action: WorkflowActionURL from flow context (missing: a clear error, nothing sent)', async () => {
    const before = apiRequests(sim).length;
    const e = await h.expectErr('wf11', { msg: { workflowActionUrl: 'ignored' } });
    assert.match(e.concurError.message, /workflowActionUrl/);
    assert.equal(apiRequests(sim).length, before);
    const key = sim.state.reportById(R3).currentStep.workflowActionKey;
    await h.red.deploy(
      h.flows(
        [
          {
            name: 'wf11',
            type: 'concur-workflow-action',
            version: 'v1.1',
            action: 'approve',
            comment: 'ok',
            workflowActionUrl: 'wfUrl',
            workflowActionUrlType: 'flow',
            commentFrom: 'comment',
            commentFromType: 'msg',
          },
        ],
        [
          { id: 'set-ctx', type: 'inject', props: [], repeat: '', once: true, onceDelay: 0.1, wires: [['set-ctx2']] },
          {
            id: 'set-ctx2',
            type: 'change',
            rules: [{ t: 'set', p: 'wfUrl', pt: 'flow', to: `${sim.url}/api/expense/expensereport/v1.1/report/${key}/WorkFlowAction`, tot: 'str' }],
            wires: [],
          },
        ],
      ),
    );
    await new Promise((r) => setTimeout(r, 500));
    await h.expectOk('wf11', { msg: { comment: 'approved from flow context' } });
    assert.equal(sim.state.reportById(R3).comments.at(-1).comment, 'approved from flow context');
  });

  it('exceptions from JSONata, report id from msg.report.reportId; notification URI from msg.payload.uri', async () => {
    await h.red.deploy(
      h.flows([
        {
          name: 'exc',
          type: 'concur-post-exceptions',
          version: 'v4',
          visibility: 'ALL',
          reportId: 'report.reportId',
          reportIdType: 'msg',
          exceptionsFrom: '[{"exceptionCode": code}]',
          exceptionsFromType: 'jsonata',
          server: 'cfg2',
        },
        { name: 'del', type: 'concur-notifications', operation: 'delete', notificationURI: 'payload.uri', notificationURIType: 'msg' },
      ]),
    );
    await h.expectOk('exc', { msg: { report: { reportId: R1 }, code: 'NODATE', reportId: 'WRONG' } });
    assert.deepEqual(
      sim.state.reportById(R1).exceptions.map((x) => x.exceptionCode),
      ['NODATE'],
    );
    const n = sim.state.notifications[0];
    const uri = `${sim.url}/api/platform/notifications/v1.0/notification/${n.id}`;
    const count = sim.state.notifications.length;
    await h.expectOk('del', { payload: { uri } });
    assert.equal(sim.state.notifications.length, count - 1);
    assert.ok(requestsTo(sim, /\/notification\//).some((r) => r.method === 'DELETE' && r.status < 300));
  });

  it('a JSONata expression that fails is a clear input error, nothing is sent', async () => {
    await h.red.deploy(
      h.flows([
        {
          name: 'bad',
          type: 'concur-get-report-details',
          version: 'v4',
          reportId: '$error("no id here")',
          reportIdType: 'jsonata',
          userId: JANE,
          userIdType: 'str',
        },
      ]),
    );
    const before = apiRequests(sim).length;
    const e = await h.expectErr('bad', {});
    assert.equal(e.concurError.code, 'INVALID_INPUT');
    assert.match(e.concurError.message, /could not read the report id from a JSONata expression: no id here/);
    assert.equal(apiRequests(sim).length, before);
    void SAM;
  });
});
