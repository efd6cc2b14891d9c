'use strict';
/** Unit tests of the simulator's pure modules (no network). */
const assert = require('node:assert/strict');
const { parseArgs, parseDuration, UsageError } = require('../../dist/simulator/cli-args.js');
const { backoffDelay, isRetryableStatus, retryAfterMs } = require('../../dist/simulator/ess-sender.js');
const { FaultController, seededRandom, validateFaults } = require('../../dist/simulator/faults.js');
const { legacyNotificationXml } = require('../../dist/simulator/legacy-sender.js');
const { parseXml, XmlInputError, renderDocument } = require('../../dist/simulator/xml.js');
const { SimState, newLegacyKey } = require('../../dist/simulator/state.js');
const workflow = require('../../dist/simulator/workflow.js');
const { eventForReportAsIs } = require('../../dist/simulator/ess-events.js');

const actor = { userId: null, label: 'test' };

describe('simulator units', () => {
  describe('cli-args', () => {
    it('parses values, --k=v, booleans and positionals; a missing value is a usage error', () => {
      const a = parseArgs(['send', 'ess', '--to', 'http://x', '--padding=pkcs1', '--insecure', '-h'], new Set(['insecure', 'help']));
      assert.deepEqual(a.positional, ['send', 'ess']);
      assert.deepEqual(a.flags, { to: 'http://x', padding: 'pkcs1', insecure: true, help: true });
      assert.throws(() => parseArgs(['--to'], new Set()), UsageError);
      assert.throws(() => parseArgs(['--to', '--x'], new Set()), /--to needs a value/);
    });
    it('parses durations', () => {
      assert.deepEqual(
        ['500ms', '60s', '2m', '72h', '3d', '5', '1.5s'].map((d) => parseDuration(d, 'x')),
        [500, 60000, 120000, 259200000, 259200000, 5000, 1500],
      );
      assert.throws(() => parseDuration('soon', 'retention'), /--retention must be a duration/);
    });
  });

  describe('ESS retry policy', () => {
    it('classifies statuses as ESS documents', () => {
      for (const s of [500, 502, 503, 504, 401, 403, 429]) assert.equal(isRetryableStatus(s), true, String(s));
      for (const s of [200, 202, 204, 400, 404, 405, 409, 410, 413, 422, 301]) assert.equal(isRetryableStatus(s), false, String(s));
    });
    it('backs off exponentially up to the cap, and reads Retry-After as seconds or a date', () => {
      assert.deepEqual(
        [1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, 1000, 10000)),
        [1000, 2000, 4000, 8000, 10000, 10000],
      );
      assert.equal(backoffDelay(1000, 1000, 5000), 5000, 'no overflow on huge attempt numbers');
      assert.equal(retryAfterMs('7'), 7000);
      const d = retryAfterMs(new Date(Date.now() + 60000).toUTCString());
      assert.ok(d > 55000 && d <= 60000, String(d));
      assert.equal(retryAfterMs('soon'), undefined);
      assert.equal(retryAfterMs(undefined), undefined);
    });
  });

  describe('faults', () => {
    it('the PRNG is deterministic per seed', () => {
      const a = seededRandom(7);
      const b = seededRandom(7);
      const c = seededRandom(8);
      const xs = Array.from({ length: 5 }, () => a());
      assert.deepEqual(
        xs,
        Array.from({ length: 5 }, () => b()),
      );
      assert.notDeepEqual(
        xs,
        Array.from({ length: 5 }, () => c()),
      );
      assert.ok(xs.every((x) => x >= 0 && x < 1));
    });
    it('failNext rules match on method and path prefix and are consumed', () => {
      const f = new FaultController({}, 1);
      f.update({ failNext: [{ count: 2, status: 500, method: 'patch', pathPrefix: '/ExpenseReports/' }] });
      assert.equal(f.decide('GET', '/expensereports/v4/x', false), undefined, 'method does not match');
      assert.equal(f.decide('PATCH', '/api/v3.0/x', false), undefined, 'path does not match');
      assert.equal(f.decide('PATCH', '/expensereports/v4/reports/1/approve', false).status, 500);
      assert.equal(f.decide('PATCH', '/expensereports/v4/reports/1/approve', false).status, 500);
      assert.equal(f.decide('PATCH', '/expensereports/v4/reports/1/approve', false), undefined);
      assert.equal(f.injected['500'], 2);
    });
    it('validates settings', () => {
      assert.throws(() => validateFaults({ rate429: -0.1 }), RangeError);
      assert.throws(() => validateFaults({ status5xx: 404 }), RangeError);
      assert.throws(() => validateFaults({ tokenTtlSeconds: 0 }), RangeError);
      assert.deepEqual(validateFaults({ latencyMs: '25' }), { latencyMs: 25 });
    });
  });

  describe('XML', () => {
    it('the legacy Notification escapes text and keeps the documented order', () => {
      const x = legacyNotificationXml({ objectUri: 'https://h/a?b=1&c=<2>', step: 'SUBMIT', eventDateTime: '2026-01-02' });
      assert.match(
        x,
        // biome-ignore lint/complexity/noAdjacentSpacesInRegex: the two-space indentation is what is checked
        /<Notification>\n  <EventType>Report Entered Expense Report Workflow Step - SUBMIT<\/EventType>\n  <ObjectType>EXPRPT<\/ObjectType>\n  <ObjectURI>https:\/\/h\/a\?b=1&amp;c=&lt;2&gt;<\/ObjectURI>\n  <EventDateTime>2026-01-02<\/EventDateTime>\n  <Context\/>\n<\/Notification>/,
      );
      // @ts-expect-error reads a field of a caught error / parsed document the test knows the shape of
      assert.equal(parseXml(x).Notification.ObjectURI, 'https://h/a?b=1&c=<2>');
    });
    it('parses namespace-agnostically and refuses DOCTYPE and malformed input', () => {
      // @ts-expect-error reads a field of a caught error / parsed document the test knows the shape of
      assert.equal(parseXml('<a:Exceptions xmlns:a="urn:x"><a:Exception><a:Index>1</a:Index></a:Exception></a:Exceptions>').Exceptions.Exception.Index, '1');
      assert.throws(() => parseXml('<!DOCTYPE a><a/>'), XmlInputError);
      assert.throws(() => parseXml('<a><b></a>'), /malformed XML/);
      assert.throws(() => parseXml('  '), /empty/);
    });
    it('renders nil elements with i:nil when asked', () => {
      assert.match(renderDocument('R', {}, [['PaidDate', null]], { nil: true }), /<PaidDate i:nil="true"\/>/);
    });
  });

  describe('state and workflow', () => {
    it('moves a report through MANAGER → EXTVAL → approved, with a new v1.1 key per step and statusChanged events', () => {
      const s = new SimState();
      const events = [];
      s.events.on('statusChanged', (c) => events.push([c.previousApprovalStatus, c.report.approvalStatus, c.stepCode]));
      const r = s.reportById('9F1C3B7E22D84A6B9C05');
      const k1 = r.currentStep.workflowActionKey;
      workflow.approve(s, r, {}, actor);
      const k2 = r.currentStep.workflowActionKey;
      assert.notEqual(k1, k2);
      assert.deepEqual(s.reportByWorkflowKey(k1), { report: r, stale: true });
      assert.deepEqual(s.reportByWorkflowKey(k2), { report: r, stale: false });
      workflow.approve(s, r, { statusId: 'A_ACCO' }, actor);
      assert.equal(r.approvalStatus, 'A_ACCO', 'statusId applies after the last step');
      assert.equal(r.currentStep, null);
      assert.deepEqual(events, [
        ['A_PEND', 'A_EXTV', 'EXTVAL'],
        ['A_EXTV', 'A_ACCO', null],
      ]);
      assert.throws(
        () => workflow.approve(s, r, {}, actor),
        (e) => e instanceof workflow.WorkflowError && e.kind === 'conflict',
      );
    });
    it('sendBack needs a comment, records it and flags everSentBack; moveToStep resubmits', () => {
      const s = new SimState();
      const r = s.reportById('CB899F7D9F73420A8D8B');
      assert.throws(
        () => workflow.sendBack(s, r, { comment: '   ' }, actor),
        /** @param {import('../../dist/simulator/workflow').WorkflowError} e */ (e) => e.kind === 'validation' && e.field === 'comment',
      );
      workflow.sendBack(s, r, { comment: 'fix the hotel receipt' }, actor);
      assert.deepEqual([r.approvalStatus, r.isSentBack, r.everSentBack, r.comments.at(-1).comment], ['A_RESU', true, true, 'fix the hotel receipt']);
      workflow.moveToStep(s, r, undefined, actor);
      assert.deepEqual([r.approvalStatus, r.currentStep.stepCode, r.isSentBack], ['A_PEND', 'MANAGER', false]);
    });
    it('finds reports by raw or percent-encoded legacy keys; new keys look like Concur keys', () => {
      const s = new SimState();
      const key = s.reportById('4D2E8A61B0C94F7FA311').reportKey;
      assert.equal(s.reportByKey(encodeURIComponent(key)).reportId, '4D2E8A61B0C94F7FA311');
      assert.equal(s.reportByKey(key).reportId, '4D2E8A61B0C94F7FA311');
      for (let i = 0; i < 20; i++) assert.match(newLegacyKey(), /^n[A-Za-z0-9]+\$[ps][A-Za-z0-9]+$/);
    });
    it('an event for a report waiting for its manager reads as a plain submit', () => {
      const s = new SimState();
      const env = eventForReportAsIs(s, s.reportById('9F1C3B7E22D84A6B9C05'), 'statusChanged', 'http://sim');
      assert.deepEqual([env.facts.previousApprovalStatus, env.facts.currentApprovalStatus, env.facts.stepCode], ['A_NOTF', 'A_PEND', null]);
      assert.equal(env.facts.userId, s.reportById('9F1C3B7E22D84A6B9C05').ownerUserId);
      const del = eventForReportAsIs(s, s.reportById('9F1C3B7E22D84A6B9C05'), 'reportDeleted', 'http://sim');
      assert.equal(del.facts.href, undefined, 'no href on delete');
    });
  });
});
