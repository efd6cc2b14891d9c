'use strict';
/**
 * Live receiver counters (shared/receiver-counters): the Prometheus rendering as a
 * unit, then both receivers in a REAL Node-RED over loopback: every kind of
 * delivery is sent once and GET <admin>/<type>/<id>/counters must count it,
 * as JSON and, with Accept: text/plain, as Prometheus text.
 */
const assert = require('node:assert/strict');
const { startRed, request } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');
const { testKeyPair, essEvent, signedDelivery } = require('../helpers/ess-signer');
const { essNode } = require('../helpers/ess-flows');
const { ReceiverCounters, prometheusText, wantsPrometheus } = require('../../dist/nodes/shared/receiver-counters');

const key = testKeyPair('counters');
const other = testKeyPair('counters-other');
const USER = 'concur-connector-user';
const PASS = 'Pa55word:for-concur!';
const AUTH = 'Basic ' + Buffer.from(`${USER}:${PASS}`).toString('base64');
const XML = `<?xml version="1.0" encoding="UTF-8"?><Notification><EventType>Report Entered Expense Report Workflow Step - EXTERNAL VALIDATION - SUBMIT</EventType><ObjectType>EXPRPT</ObjectType><ObjectURI>https://www.concursolutions.com/api/expense/expensereport/v1.1/reportfulldetails/abc</ObjectURI><EventDateTime>2012-05-01</EventDateTime><Context/></Notification>`;

describe('receiver counters', function () {
  this.timeout(120000);

  describe('rendering', () => {
    it('writes Prometheus text with HELP/TYPE, _total counters, node and reason labels (escaped)', () => {
      const c = new ReceiverCounters('n"1', 'concur-ess-event-in');
      c.received = 5;
      c.accept(Date.UTC(2026, 0, 2, 3, 4, 5));
      c.duplicates = 1;
      c.reject('signature');
      c.reject('signature');
      c.reject('body');
      c.gauges = () => ({ pending: 2, dead: 1 });
      c.lastStatus = { fill: 'red', shape: 'ring', text: 'store failed' };
      const text = prometheusText([c.snapshot()]);
      const L = '{node_id="n\\"1",node_type="concur-ess-event-in"';
      for (const line of [
        '# HELP concur_receiver_received_total Requests that reached the receiver route.',
        '# TYPE concur_receiver_received_total counter',
        `concur_receiver_received_total${L}} 5`,
        `concur_receiver_accepted_total${L}} 1`,
        `concur_receiver_duplicates_total${L}} 1`,
        '# TYPE concur_receiver_rejected_total counter',
        `concur_receiver_rejected_total${L},reason="signature"} 2`,
        `concur_receiver_rejected_total${L},reason="body"} 1`,
        '# TYPE concur_receiver_pending gauge',
        `concur_receiver_pending${L}} 2`,
        `concur_receiver_dead${L}} 1`,
        `concur_receiver_last_event_timestamp_seconds${L}} ${Date.UTC(2026, 0, 2, 3, 4, 5) / 1000}`,
        '# TYPE concur_receiver_healthy gauge',
        `concur_receiver_healthy${L}} 0`,
      ]) {
        assert.ok(text.split('\n').includes(line), `missing line ${line}\n${text}`);
      }
      assert.ok(text.endsWith('\n'));
    });

    it('chooses Prometheus text only when asked', () => {
      assert.equal(wantsPrometheus('text/plain;version=0.0.4', undefined), true);
      assert.equal(wantsPrometheus('application/openmetrics-text; version=1.0.0,text/plain;q=0.5', undefined), true);
      assert.equal(wantsPrometheus('application/json, text/plain, */*', undefined), false);
      assert.equal(wantsPrometheus('*/*', undefined), false);
      assert.equal(wantsPrometheus(undefined, 'prometheus'), true);
    });
  });

  describe('in a real Node-RED', () => {
    let red;
    before(async () => {
      red = await startRed();
      await red.deploy([
        { id: 'tab-c', type: 'tab', label: 'counters' },
        essNode({ id: 'essC', z: 'tab-c', path: '/c/ess', extraKeys: key.publicPem, eventTypeFilter: '^statusChanged$', wires: [['sink']] }),
        essNode({ id: 'essF', z: 'tab-c', path: '/c/ess-fail', extraKeys: key.publicPem, wires: [['boom']], y: 200 }),
        { id: 'sink', type: 'function', z: 'tab-c', func: 'return null;', outputs: 1, wires: [[]], x: 400, y: 100 },
        { id: 'boom', type: 'function', z: 'tab-c', func: 'throw new Error("fails on purpose")', outputs: 1, wires: [[]], x: 400, y: 200 },
        {
          id: 'legC',
          type: 'concur-legacy-notify-in',
          z: 'tab-c',
          name: '',
          path: '/c/notify',
          ackMode: 'complete',
          ackTimeout: 5,
          maxBodyKiB: 1,
          testConnection: false,
          credentials: { username: USER, password: PASS },
          wires: [['sink']],
          x: 100,
          y: 300,
        },
      ]);
    });
    after(() => teardown({ red }));

    const counters = async (type, id, accept) => {
      const r = await request(`${red.url}/${type}/${id}/counters`, { headers: accept ? { Accept: accept } : {} });
      return r;
    };

    it('ESS: received, accepted, duplicates, filtered, rejected by reason, dead, last event time', async () => {
      const ev = essEvent();
      const post = (d, p = '/c/ess') => request(`${red.url}${p}`, { method: 'POST', headers: d.headers, body: d.body });
      const t0 = Date.now();
      assert.equal((await post(signedDelivery(ev, { privateKey: key.privateKey }))).status, 200);
      assert.equal((await post(signedDelivery(ev, { privateKey: key.privateKey }))).body, 'duplicate');
      assert.equal((await post(signedDelivery(essEvent({ eventType: 'reportDeleted' }), { privateKey: key.privateKey }))).body, 'ignored by filter');
      assert.equal((await post(signedDelivery(essEvent(), { privateKey: other.privateKey }))).status, 401);
      assert.equal((await post(signedDelivery(null, { privateKey: key.privateKey, body: 'not json' }))).status, 400);
      assert.equal((await request(`${red.url}/c/ess`, { method: 'GET' })).status, 405);
      assert.equal((await post(signedDelivery(essEvent(), { privateKey: key.privateKey }), '/c/ess-fail')).status, 200);

      const r = await counters('concur-ess-event-in', 'essC');
      assert.equal(r.status, 200);
      assert.match(r.headers['content-type'], /application\/json/);
      const c = JSON.parse(r.body);
      assert.deepEqual(
        {
          received: c.received,
          accepted: c.accepted,
          duplicates: c.duplicates,
          filtered: c.filtered,
          rejected: c.rejected,
          rejectedTotal: c.rejectedTotal,
          pending: c.pending,
          dead: c.dead,
          nodeType: c.nodeType,
        },
        {
          received: 6,
          accepted: 1,
          duplicates: 1,
          filtered: 1,
          rejected: { envelope: 1, method: 1, signature: 1 },
          rejectedTotal: 3,
          pending: 0,
          dead: 0,
          nodeType: 'concur-ess-event-in',
        },
      );
      assert.ok(Date.parse(c.lastEventAt) >= t0 - 1000 && Date.parse(c.lastEventAt) <= Date.now());

      // The failing flow's event becomes a dead letter, and the gauge says so.
      const until = Date.now() + 10000;
      let f;
      do {
        f = JSON.parse((await counters('concur-ess-event-in', 'essF')).body);
        if (f.dead === 1) break;
        await new Promise((res) => setTimeout(res, 100));
      } while (Date.now() < until);
      assert.deepEqual([f.accepted, f.failed, f.dead, f.pending], [1, 1, 1, 0]);

      // Health follows the status badge: essF is green (a failed flow is counted, not a receiver problem),
      // essC is a yellow ring after its rejections.
      assert.equal(f.health, 'ok');
      assert.equal(f.status.fill, 'green');
      let h;
      for (const until = Date.now() + 5000; Date.now() < until; await new Promise((res) => setTimeout(res, 100))) {
        h = JSON.parse((await counters('concur-ess-event-in', 'essC')).body);
        if (h.health === 'degraded') break;
      }
      assert.equal(h.health, 'degraded', JSON.stringify(h.status));
      assert.match(h.status.text, /rejected/);
      const pf = await counters('concur-ess-event-in', 'essF', 'text/plain');
      assert.match(pf.body, /^concur_receiver_healthy\{node_id="essF",node_type="concur-ess-event-in"\} 1$/m);

      const p = await counters('concur-ess-event-in', 'essC', 'text/plain;version=0.0.4');
      assert.match(p.headers['content-type'], /^text\/plain; version=0\.0\.4/);
      assert.match(p.body, /^concur_receiver_rejected_total\{node_id="essC",node_type="concur-ess-event-in",reason="signature"\} 1$/m);
      assert.match(p.body, /^concur_receiver_accepted_total\{node_id="essC",node_type="concur-ess-event-in"\} 1$/m);
      assert.equal((await counters('concur-ess-event-in', 'nope')).status, 404);
      const quiet = await request(`${red.url}/concur-ess-event-in/nope/counters?quiet=1`);
      assert.deepEqual([quiet.status, JSON.parse(quiet.body)], [200, { running: false }], "the dialog's quiet probe of an undeployed node");
    });

    it('legacy: received, accepted, rejected by reason, failed, pending', async () => {
      const post = (headers, body) => request(`${red.url}/c/notify`, { method: 'POST', headers: { 'Content-Type': 'application/xml', ...headers }, body });
      assert.equal((await post({ Authorization: AUTH }, XML)).status, 200);
      assert.equal((await post({ Authorization: 'Basic eDp5' }, XML)).status, 401);
      assert.equal((await post({ Authorization: AUTH }, '<Other/>')).status, 400);
      assert.equal((await post({ Authorization: AUTH }, 'x'.repeat(2000))).status, 413);
      const c = JSON.parse((await counters('concur-legacy-notify-in', 'legC')).body);
      assert.deepEqual(
        { received: c.received, accepted: c.accepted, rejected: c.rejected, rejectedTotal: c.rejectedTotal, pending: c.pending, failed: c.failed },
        { received: 4, accepted: 1, rejected: { auth: 1, 'bad-request': 1, 'too-large': 1 }, rejectedTotal: 3, pending: 0, failed: 0 },
      );
      assert.ok(c.lastEventAt);
      let h = c;
      for (const until = Date.now() + 5000; h.health !== 'degraded' && Date.now() < until; ) {
        await new Promise((res) => setTimeout(res, 100)); // the badge is repainted at most every 200 ms
        h = JSON.parse((await counters('concur-legacy-notify-in', 'legC')).body);
      }
      assert.equal(h.health, 'degraded', 'yellow ring after the rejections');
      assert.match(h.status.text, /rejected/);
      const p = await counters('concur-legacy-notify-in', 'legC', 'text/plain');
      assert.match(p.body, /^concur_receiver_rejected_total\{node_id="legC",node_type="concur-legacy-notify-in",reason="auth"\} 1$/m);
    });

    it('counters start again at a redeploy and the route is gone with the node', async () => {
      await red.deploy([{ id: 'tab-c', type: 'tab', label: 'counters' }]);
      assert.equal((await counters('concur-ess-event-in', 'essC')).status, 404);
      assert.equal((await counters('concur-legacy-notify-in', 'legC')).status, 404);
    });
  });
});
