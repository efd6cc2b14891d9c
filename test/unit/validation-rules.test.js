'use strict';
/**
 * concur/validation-rules, concur/rule-presets and concur/jsonata-fast:
 * compiling (every bad rule named), running presets on the simulator's seeded
 * reports in v4 and v1.1 shapes, exceptions in the shape concur-post-exceptions
 * takes, a throwing rule that does not stop the others, and the synchronous
 * JSONata subset agreeing with jsonata itself on generated reports.
 */
const assert = require('node:assert/strict');
const fc = require('fast-check');
const jsonata = require('jsonata');
const { startSimulator } = require('../../dist/simulator/index.js');
const { parseBody } = require('../../dist/concur/api-client');
const { toReportView } = require('../../dist/concur/report-view');
const { compileRules, compileRulesOrThrow, validateReport, RuleSetError } = require('../../dist/concur/validation-rules');
const { RULE_PRESETS, presetRule } = require('../../dist/concur/rule-presets');
const { compileFast, BAIL, truthy } = require('../../dist/concur/jsonata-fast');
const { normalizeExceptions } = require('../../dist/concur/report-exceptions');
const { companyToken, call } = require('../helpers/simulator-client');

const R1 = 'CB899F7D9F73420A8D8B'; // Berlin, EUR: hotel 389 (LODNG), taxi, dinner 68 for 2
const R2 = '4D2E8A61B0C94F7FA311'; // Team offsite, USD: BUSML 612 for 8 no receipt (Sun), AIRFR 455.2 (Sat), MISCL 35 no receipt (Mon)
const R2_KEY = 'nbe1LDA99RdTx0fUEuZiYd5WW8afkjew$p';
const JANE = 'e1a0b7c4-5d2f-4c8a-9b1e-3f6d2a8c7e10';
const CHRIS = '3b8d1e6a-9c2f-47a5-b0e4-6d7f8a9b0c21';
const presets = () => RULE_PRESETS.map((p) => presetRule(p.id));

describe('validation rules engine and presets', function () {
  this.timeout(60000);
  let sim;
  const views = {};

  before(async () => {
    sim = await startSimulator({ port: 0 });
    const token = (await companyToken(sim)).access_token;
    const get = async (path) => {
      const r = await call(sim, 'GET', path, { token });
      assert.equal(r.status, 200, r.body);
      return parseBody({ status: r.status, headers: r.headers, body: Buffer.from(r.body) }).data;
    };
    const v4 = async (user, id) =>
      toReportView(await get(`/expensereports/v4/users/${user}/context/TRAVELER/reports/${id}`), {
        expenses: await get(`/expensereports/v4/users/${user}/context/TRAVELER/reports/${id}/expenses`),
      });
    views.r1 = await v4(JANE, R1);
    views.r2 = await v4(CHRIS, R2);
    views.r2legacy = toReportView(await get(`/api/expense/expensereport/v1.1/reportfulldetails/${R2_KEY}`));
  });
  after(async () => {
    if (sim) await sim.stop();
  });

  describe('compiling', () => {
    it('names every bad rule and field, with the JSONata error position', () => {
      const { rules, problems } = compileRules([
        { name: 'ok', scope: 'entry', condition: 'postedAmount.value > 1', exceptionCode: 'OVRLIMIT' },
        { name: 'broken', scope: 'entry', condition: 'postedAmount.value >', exceptionCode: 'OVRLIMIT' },
        { name: 'long code', scope: 'entry', condition: 'true', exceptionCode: 'WAYTOOLONGCODE' },
        { name: 'odd scope', scope: 'trip', condition: 'true', exceptionCode: 'X' },
        { name: 'alloc level on entry', scope: 'entry', level: 'allocation', condition: 'true', exceptionCode: 'X' },
        { name: 'vis', condition: 'true', exceptionCode: 'X', visibility: 'EVERYONE' },
        { condition: 'true', exceptionCode: 'X' },
        'not an object',
      ]);
      assert.deepEqual(
        rules.map((r) => r.name),
        ['ok'],
      );
      const by = (name) => problems.filter((p) => p.name === name).map((p) => p.field);
      assert.deepEqual(by('broken'), ['condition']);
      assert.match(problems.find((p) => p.name === 'broken').message, /does not compile: .*at character \d+/);
      assert.deepEqual(by('long code'), ['exceptionCode']);
      assert.deepEqual(by('odd scope'), ['scope']);
      assert.deepEqual(by('alloc level on entry'), ['level']);
      assert.deepEqual(by('vis'), ['visibility']);
      assert.deepEqual(by('rule 7'), ['name']);
      assert.deepEqual(by(''), ['rule']);
      assert.throws(
        () => compileRulesOrThrow([{ name: 'broken', condition: '(', exceptionCode: 'X' }]),
        (e) => e instanceof RuleSetError && /rule 1 "broken"/.test(e.message),
      );
      assert.equal(compileRules('nope').problems[0].field, 'rule');
    });

    it('disabled rules are checked but not run', () => {
      const { rules, problems } = compileRules([{ name: 'off', enabled: false, condition: 'true', exceptionCode: 'X' }]);
      assert.equal(rules.length, 0);
      assert.equal(problems.length, 0);
    });

    it('every preset compiles to the synchronous evaluator and documents its Concur fields', () => {
      const rules = compileRulesOrThrow(presets());
      assert.equal(rules.length, 6);
      for (const r of rules) assert.ok(r.fast, `${r.name} runs on the fast path`);
      for (const p of RULE_PRESETS) assert.match(p.concurFields, /v4 /);
    });
  });

  describe('presets on the seeded reports', () => {
    it('v4 team offsite: weekend, missing receipt, per-attendee and nothing else', async () => {
      const res = await validateReport(compileRulesOrThrow(presets()), views.r2);
      const fired = res.findings.map((f) => `${f.exceptionCode}:${f.target.entryId ?? f.target.allocationId}`).sort();
      assert.deepEqual(
        fired,
        [
          'NORCPT:C4A2E0B8D6F44A1C9E7B5D3F1A9C7E5B', // 612, no receipt image
          'OVRLIMIT:C4A2E0B8D6F44A1C9E7B5D3F1A9C7E5B', // BUSML 612 > 500
          'POLVIOL:C4A2E0B8D6F44A1C9E7B5D3F1A9C7E5B', // 612/8 = 76.5 > 75
          'POLVIOL:C4A2E0B8D6F44A1C9E7B5D3F1A9C7E5B', // Sunday 2026-10-18
          'POLVIOL:E8C6A4F2D0B84E6C2A0F8D6B4E2C0A8F', // Saturday 2026-10-17
        ].sort(),
      );
      assert.equal(res.passed, false);
      // POLVIOL twice on the same entry is posted once.
      assert.equal(res.exceptions.length, 4);
      assert.deepEqual(
        res.exceptions.find((x) => x.exceptionCode === 'NORCPT'),
        { exceptionCode: 'NORCPT', objectType: 'Entry', objectId: 'C4A2E0B8D6F44A1C9E7B5D3F1A9C7E5B', visibility: 'ALL' },
      );
      // The exact shape concur-post-exceptions validates.
      const norm = normalizeExceptions(res.exceptions);
      assert.ok(norm.every((n) => n.level === 'expense'));
      assert.match(
        res.findings.find((f) => f.exceptionCode === 'NORCPT').message,
        /^No receipt image for Business Meal \(attendees\) of 612 USD at The Capital Grille on 2026-10-18$/,
      );
      assert.match(res.summary, /^5 finding\(s\), 4 exception\(s\) on report 4D2E8A61B0C94F7FA311\n- /);
      assert.deepEqual(res.counts, { rules: 6, evaluations: 5 * 3 + 2, fired: 4, entries: 3, allocations: 2, attendees: 0 });
    });

    it('the same rules on the v1.1 shape of that report fire on the same entries, by RpeKey', async () => {
      const res = await validateReport(compileRulesOrThrow(presets()), views.r2legacy);
      assert.equal(res.findings.length, 5);
      assert.deepEqual(
        [...new Set(res.exceptions.map((x) => x.objectId))].sort(),
        ['nxQ2rT7vY1bN$s4kL8pW3mZ6cH9dF0gJ5', 'nxQ2rT7vY1bP8mK3$pW5nD1sG7hJ2kL4'].sort(),
      );
    });

    it('hotel over its limit; a duplicate; an allocation without account code (allocation exception with both ids)', async () => {
      const v = structuredClone(views.r1);
      const dup = structuredClone(v.entries[1]);
      dup.id = 'DUP1';
      dup.index = 3;
      v.entries.push(dup);
      v.allocations[0].accountCode = undefined;
      delete v.allocations[0].accountCode;
      const res = await validateReport(compileRulesOrThrow(presets()), v, { defaultVisibility: 'APPROVER_PROCESSOR' });
      const codes = res.findings.map((f) => `${f.exceptionCode}:${f.target.entryId}`);
      assert.ok(codes.includes('OVRLIMIT:8E2D6A0F4C1B49E7A3D5C9B1F0E2A4C6'), codes.join());
      assert.ok(codes.includes('DUPLEXP:1B7F3C9E5A2D40B8C6E4F2A0D8B6C4E2'));
      assert.ok(codes.includes('DUPLEXP:DUP1'));
      const alloc = res.exceptions.find((x) => x.objectType === 'Allocation');
      assert.deepEqual(alloc, {
        exceptionCode: 'MISSREQ',
        objectType: 'Allocation',
        objectId: 'AL-1001-1',
        expenseId: '8E2D6A0F4C1B49E7A3D5C9B1F0E2A4C6',
        allocationId: 'AL-1001-1',
        visibility: 'APPROVER_PROCESSOR',
      });
      normalizeExceptions(res.exceptions);
    });

    it('out-of-trip dates use the v4 start and end dates', async () => {
      const v = structuredClone(views.r1);
      v.header.startDate = '2026-11-02';
      v.header.endDate = '2026-11-02';
      const res = await validateReport(compileRulesOrThrow([presetRule('weekend-or-out-of-trip')]), v);
      assert.deepEqual(
        res.findings.map((f) => f.target.entryId),
        ['5D9B1E7C3A4F42D6B8E0C2A4F6D8B0E2'],
      ); // the dinner on 11-03
    });
  });

  describe('running', () => {
    it('a rule that throws is reported with its name; the other rules still run', async () => {
      const rules = compileRulesOrThrow([
        { name: 'Bad types', scope: 'entry', condition: '$lowercase(postedAmount.value) = "x"', exceptionCode: 'X1' },
        { name: 'Report total over 1000', scope: 'report', condition: 'header.total.value > 1000', exceptionCode: 'APPRVTO', visibility: 'PROCESSOR' },
      ]);
      const res = await validateReport(rules, views.r2);
      assert.equal(res.errors.length, 1);
      assert.equal(res.errors[0].rule, 'Bad types');
      assert.equal(res.errors[0].code, 'T0410');
      assert.match(res.errors[0].message, /rule "Bad types" failed on entry 1: /);
      assert.deepEqual(res.exceptions, [{ exceptionCode: 'APPRVTO', objectType: 'Report', visibility: 'PROCESSOR' }]);
      assert.match(res.summary, /ERROR rule "Bad types"/);
    });

    it('expressions outside the fast subset run on jsonata with the same bindings', async () => {
      const rules = compileRulesOrThrow([
        { name: 'sum', scope: 'report', condition: '$sum($entries.postedAmount.value) > 1000', exceptionCode: 'A' },
        { name: 'regex', scope: 'entry', condition: '$contains(vendor, /grille/i)', exceptionCode: 'B' },
        { name: 'alloc of entry', scope: 'allocation', condition: '$entry.expenseTypeCode = "BUSML" and percentage = 50', exceptionCode: 'C' },
      ]);
      assert.equal(rules[0].fast !== undefined, true); // compiles, but bails at run time (a path over an array)
      assert.equal(rules[1].fast, undefined);
      const res = await validateReport(rules, views.r2);
      assert.deepEqual(
        res.findings.map((f) => f.rule),
        ['sum', 'regex', 'alloc of entry', 'alloc of entry'],
      );
    });

    it('message templates fill {{paths}} and leave missing ones empty', async () => {
      const rules = compileRulesOrThrow([
        {
          name: 'T',
          scope: 'entry',
          condition: 'expenseTypeCode = "AIRFR"',
          exceptionCode: 'X',
          message: '{{ rule.name }}: {{entry.vendor}} {{entry.nothing.here}}|{{header.currency}}',
        },
      ]);
      const res = await validateReport(rules, views.r2);
      assert.equal(res.findings[0].message, 'T: United Airlines |USD');
    });

    it('attendee rules flag their entry; a level can lift an entry finding to the report', async () => {
      const v = toReportView(
        { reportId: 'R', currencyCode: 'EUR' },
        {
          expenses: [{ expenseId: 'X1', expenseType: { id: 'DINNR' }, postedAmount: { value: 300, currencyCode: 'EUR' } }],
          attendees: {
            expenseAttendeeList: [
              { attendeeId: 'A1', expenseId: 'X1', associatedAttendeeCount: 1, transactionAmount: { value: 250, currencyCode: 'EUR' } },
              { attendeeId: 'A2', expenseId: 'X1', associatedAttendeeCount: 1, transactionAmount: { value: 50, currencyCode: 'EUR' } },
            ],
          },
        },
      );
      const rules = compileRulesOrThrow([
        {
          name: 'Share over 200',
          scope: 'attendee',
          condition: 'amount.value > 200 and $entry.expenseTypeCode = "DINNR"',
          exceptionCode: 'ATTLIM',
          message: '{{attendee.id}} on {{entry.id}}',
        },
        { name: 'Any dinner (report level)', scope: 'entry', level: 'report', condition: 'expenseTypeCode = "DINNR"', exceptionCode: 'APPRVTO' },
      ]);
      const res = await validateReport(rules, v);
      assert.deepEqual(
        res.findings.map((f) => [f.rule, f.level, f.target.scope, f.target.attendeeId, f.message]),
        [
          ['Share over 200', 'entry', 'attendee', 'A1', 'A1 on X1'],
          ['Any dinner (report level)', 'report', 'entry', undefined, 'Any dinner (report level)'],
        ],
      );
      assert.deepEqual(res.exceptions, [
        { exceptionCode: 'ATTLIM', objectType: 'Entry', objectId: 'X1', visibility: 'ALL' },
        { exceptionCode: 'APPRVTO', objectType: 'Report', visibility: 'ALL' },
      ]);
    });

    it('an entry without an id cannot get an Entry exception: the finding is kept as unpostable', async () => {
      const v = structuredClone(views.r2);
      delete v.entries[1].id;
      const res = await validateReport(compileRulesOrThrow([{ name: 'air', condition: 'expenseTypeCode = "AIRFR"', exceptionCode: 'X' }]), v);
      assert.equal(res.findings.length, 1);
      assert.equal(res.exceptions.length, 0);
      assert.match(res.unpostable[0].reason, /no id/);
    });
  });

  describe('synchronous JSONata subset', () => {
    const EXPRESSIONS = [
      ...RULE_PRESETS.map((p) => p.rule.condition),
      'a > b',
      'a = b or s = t',
      'a != b and $not(flag)',
      'a + b * 2 - c / 4 > 10',
      'a % 3 = 1',
      '-a < b',
      's & t = "ab"',
      '$lowercase(s) = $uppercase(t)',
      '$trim(s) = s',
      '$length(s) > 2',
      '$contains(s, "a")',
      '$exists(n.m) ? n.m > 1 : false',
      's in ["a", "b", ""]',
      'a in [1, 2, b]',
      '$boolean(s) and $boolean(a)',
      '$count($list[k = $entry.k]) > 1',
      '$sum(a) > 0',
      '$abs(a) > 3',
      'flag',
      's',
      'n',
      'x.y.z = 1',
      '$string(s) = "a"',
      'a < s',
      '$count($list[v]) = 2',
      '$exists($list[k = 9])',
      '(a; b) = 1',
    ];
    const scalar = fc.oneof(
      fc.integer({ min: -5, max: 5 }),
      fc.double({ min: -10, max: 10, noNaN: true }),
      fc.constantFrom('', 'a', 'b', ' A ', 'ab'),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
    );
    const item = fc.record({ k: fc.integer({ min: 0, max: 2 }), v: scalar }, { requiredKeys: [] });
    const input = fc.record(
      {
        a: scalar,
        b: scalar,
        c: scalar,
        s: scalar,
        t: scalar,
        flag: scalar,
        n: fc.oneof(scalar, fc.record({ m: scalar }, { requiredKeys: [] }), fc.array(scalar, { maxLength: 2 })),
        x: fc.oneof(scalar, fc.record({ y: fc.oneof(scalar, fc.record({ z: scalar })) })),
        weekday: fc.integer({ min: 0, max: 6 }),
        date: fc.constantFrom('2026-11-01', '2026-11-02'),
        postedAmount: fc.record({ value: fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.constant(undefined)) }, { requiredKeys: [] }),
        transactionAmount: fc.record({ value: fc.integer({ min: 0, max: 3 }) }),
        vendor: fc.constantFrom('X', 'x', undefined),
        expenseTypeCode: fc.constantFrom('LODNG', 'AIRFR', 'BUSML', 'DINNR'),
        attendeeCount: fc.oneof(fc.integer({ min: 0, max: 9 }), fc.constant(undefined)),
        hasReceiptImage: fc.oneof(fc.boolean(), fc.constant(undefined)),
        hasMissingReceiptDeclaration: fc.oneof(fc.boolean(), fc.constant(undefined)),
        accountCode: fc.constantFrom('6400', undefined),
        percentage: fc.integer({ min: -1, max: 100 }),
      },
      { requiredKeys: [] },
    );
    const strip = (o) => JSON.parse(JSON.stringify(o === undefined ? null : o)); // no undefined members, like a parsed report

    it('agrees with jsonata on every expression and generated input (or hands over)', async () => {
      const compiled = EXPRESSIONS.map((e) => ({ e, x: jsonata(e), fast: compileFast(jsonata(e).ast()) }));
      for (const c of compiled) assert.ok(c.fast, `${c.e} is in the subset`);
      let fastAnswers = 0;
      await fc.assert(
        fc.asyncProperty(input, fc.array(item, { maxLength: 4 }), fc.option(input, { nil: undefined }), async (raw, rawList, rawEntry) => {
          const data = strip(raw);
          const vars = { list: strip(rawList), entry: rawEntry === undefined ? undefined : strip(rawEntry), header: { startDate: '2026-11-02' } };
          vars.entries = [data, ...(vars.list || [])];
          for (const c of compiled) {
            let expected;
            let threw;
            try {
              expected = await c.x.evaluate(data, vars);
            } catch (err) {
              threw = err;
            }
            const got = c.fast(data, vars);
            if (got === BAIL) continue;
            fastAnswers++;
            assert.ok(!threw, `${c.e} on ${JSON.stringify(data)}: jsonata threw ${threw && threw.message}, fast gave ${JSON.stringify(got)}`);
            assert.deepEqual(got, expected, `${c.e} on ${JSON.stringify(data)} vars ${JSON.stringify(vars)}`);
            assert.equal(truthy(got), truthy(expected));
          }
        }),
        { numRuns: 400 },
      );
      assert.ok(fastAnswers > 400 * EXPRESSIONS.length * 0.5, `the fast path answered ${fastAnswers} times`);
    });

    it('refuses what it does not implement, so jsonata runs it', () => {
      for (const e of [
        '$sum($list[k = 1].v) > 0',
        'a.b[0]',
        'a ~> $uppercase()',
        '$x := 1',
        'function($v){$v}(1)',
        '$map(a, function($v){$v})',
        '{"a": 1}.a',
        'a[0]',
        '$',
        '$$.a',
        '**.a',
        'a^(b)',
        '$contains(s, /x/)',
        '$count(a, b)',
      ]) {
        assert.equal(compileFast(jsonata(e).ast()), undefined, e);
      }
    });
  });
});
