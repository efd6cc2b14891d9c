'use strict';
/**
 * concur/report-view: the simulator's v4 / v3 / v2.0 / v1.1 answers for the
 * same seeded report normalise to the same entries, amounts and ids (the ids
 * each API family's exceptions need), plus the shapes Concur's docs show that
 * the simulator does not produce (v4 attendees, v3 entries list, XML nil).
 */
const assert = require('node:assert/strict');
const { startSimulator } = require('../../dist/simulator/index.js');
const { parseBody } = require('../../dist/concur/api-client');
const { toReportView, ReportViewError } = require('../../dist/concur/report-view');
const { companyToken, call } = require('../helpers/simulator-client');

const R2 = '4D2E8A61B0C94F7FA311'; // Team offsite: 3 entries, one with 2 allocations, 8 attendees, no receipt
const R2_KEY = 'nbe1LDA99RdTx0fUEuZiYd5WW8afkjew$p';
const CHRIS = '3b8d1e6a-9c2f-47a5-b0e4-6d7f8a9b0c21';

describe('report view (normalised report for validation rules)', function () {
  this.timeout(20000);
  let sim;
  let token;
  const got = {};

  async function fetchAs(path) {
    const r = await call(sim, 'GET', path, { token });
    assert.equal(r.status, 200, `${path}: ${r.body}`);
    return parseBody({ status: r.status, headers: r.headers, body: Buffer.from(r.body) }).data;
  }

  before(async () => {
    sim = await startSimulator({ port: 0 });
    token = (await companyToken(sim)).access_token;
    got.v4 = await fetchAs(`/expensereports/v4/users/${CHRIS}/context/TRAVELER/reports/${R2}`);
    got.v4expenses = await fetchAs(`/expensereports/v4/users/${CHRIS}/context/TRAVELER/reports/${R2}/expenses`);
    got.v3 = await fetchAs(`/api/v3.0/expense/reports/${R2}`);
    got.v2 = await fetchAs(`/api/expense/expensereport/v2.0/report/${R2}`);
    got.v11 = await fetchAs(`/api/expense/expensereport/v1.1/reportfulldetails/${R2_KEY}`);
  });
  after(async () => {
    if (sim) await sim.stop();
  });

  it('v4 report + expenses: header, entries, inline allocations and money with currency', () => {
    const v = toReportView(got.v4, { expenses: got.v4expenses });
    assert.equal(v.source, 'v4');
    assert.equal(v.header.reportId, R2);
    assert.equal(v.header.ownerId, CHRIS);
    assert.equal(v.header.currency, 'USD');
    assert.equal(v.header.approvalStatus, 'A_EXTV');
    assert.deepEqual(v.header.total, { value: 1102.2, currency: 'USD' });
    assert.equal(v.entries.length, 3);
    const meal = v.entries[0];
    assert.equal(meal.id, 'C4A2E0B8D6F44A1C9E7B5D3F1A9C7E5B');
    assert.equal(meal.expenseTypeCode, 'BUSML');
    assert.equal(meal.date, '2026-10-18');
    assert.equal(meal.weekday, 0); // a Sunday
    assert.deepEqual(meal.postedAmount, { value: 612, currency: 'USD' });
    assert.equal(meal.vendor, 'The Capital Grille');
    assert.equal(meal.receiptRequired, true);
    assert.equal(meal.hasReceiptImage, false);
    assert.equal(meal.attendeeCount, 8);
    assert.deepEqual(
      meal.allocations.map((a) => [a.id, a.entryId, a.percentage, a.accountCode]),
      [
        ['AL-2001-1', meal.id, 50, '6420-MEALS'],
        ['AL-2001-2', meal.id, 50, '6421-TEAM'],
      ],
    );
    assert.equal(v.allocations.length, 2);
    assert.equal(v.header.custom.orgUnit1, 'Globex-EU');
  });

  it('v4 report without expenses has a header and no entries', () => {
    const v = toReportView(got.v4);
    assert.equal(v.entries.length, 0);
    assert.equal(v.header.name, 'Team offsite Q3');
  });

  it('v1.1 full details: entries by RpeKey, allocations by AllocationKey, Y/N flags and amount strings', () => {
    const v = toReportView(got.v11);
    assert.equal(v.source, 'v1.1');
    assert.equal(v.header.reportKey, R2_KEY);
    assert.equal(v.header.reportId, R2);
    assert.equal(v.header.ownerLoginId, 'chris.miller@globex.example');
    assert.equal(v.header.currency, 'USD');
    assert.equal(v.header.approvalStatus, 'A_EXTV');
    assert.equal(v.header.submitDate, '2026-10-25');
    assert.deepEqual(v.header.total, { value: 1102.2, currency: 'USD' });
    assert.equal(v.entries.length, 3);
    const [meal, air, misc] = v.entries;
    assert.equal(meal.id, 'nxQ2rT7vY1bN$s4kL8pW3mZ6cH9dF0gJ5');
    assert.equal(meal.expenseTypeCode, 'BUSML');
    assert.deepEqual(meal.postedAmount, { value: 612, currency: 'USD' });
    assert.equal(meal.hasReceiptImage, false);
    assert.equal(air.hasReceiptImage, true);
    assert.equal(meal.attendeeCount, 8);
    assert.equal(meal.allocationState, 'FULLY_ALLOCATED');
    assert.equal(misc.allocationState, 'NOT_ALLOCATED');
    assert.equal(misc.businessPurpose, undefined);
    assert.deepEqual(
      meal.allocations.map((a) => [a.id, a.percentage, a.accountCode]),
      [
        ['ngYn5SB4OUQfJtTrUBq94qWUuDk8g6fo$s', 50, '6420-MEALS'],
        ['ngYn5SB4OUX$pWN0Y6bkzFZZhdQ2PJ$pc6b', 50, '6421-TEAM'],
      ],
    );
  });

  it('v2.0 details: entries by ReportEntryID; receipt image unknown (the API does not say)', () => {
    const v = toReportView(got.v2);
    assert.equal(v.source, 'v2.0');
    assert.equal(v.header.reportId, R2);
    assert.equal(v.header.reportKey, R2_KEY);
    assert.equal(v.entries.length, 3);
    assert.equal(v.entries[0].id, '2001');
    assert.equal(v.entries[0].hasReceiptImage, undefined);
    assert.ok(!('hasReceiptImage' in v.entries[0]), 'absent fields are left out, not null');
    assert.equal(v.entries[1].paymentTypeCode, 'CBCP');
    assert.deepEqual(v.entries[1].transactionAmount, { value: 455.2, currency: 'USD' });
  });

  it('the same report gives the same amounts, dates and types whichever API answered', () => {
    const views = [toReportView(got.v4, { expenses: got.v4expenses }), toReportView(got.v11), toReportView(got.v2)];
    const facts = (v) => v.entries.map((e) => [e.expenseTypeCode, e.date, e.postedAmount.value, e.postedAmount.currency, e.vendor, e.isPersonal]);
    assert.deepEqual(facts(views[1]), facts(views[0]));
    assert.deepEqual(facts(views[2]), facts(views[0]));
  });

  it('v3 report with a v3 Entries list, allocations and attendee associations given apart', () => {
    const v = toReportView(got.v3, {
      expenses: {
        Items: [
          {
            ID: 'gWid1',
            ExpenseID: 'E-UUID-1',
            ReportID: R2,
            ExpenseTypeCode: 'BUSML',
            TransactionDate: '2026-10-18T00:00:00',
            TransactionAmount: 612,
            TransactionCurrencyCode: 'USD',
            PostedAmount: 612,
            ApprovedAmount: 612,
            VendorDescription: 'The Capital Grille',
            HasImage: false,
            IsImageRequired: true,
            IsPersonal: false,
            AllocationType: 'F',
            OrgUnit1: { Type: 'List', Value: 'EU', Code: 'EU01' },
          },
        ],
        NextPage: null,
      },
      allocations: { Items: [{ ID: 'v3a1', EntryID: 'gWid1', Percentage: 100, AccountCode1: '6420' }] },
      attendees: {
        Items: [
          { EntryID: 'gWid1', AttendeeID: 'att1', Amount: 306, AssociatedAttendeeCount: 1 },
          { EntryID: 'gWid1', AttendeeID: 'att2', Amount: 306, AssociatedAttendeeCount: 3 },
        ],
      },
    });
    assert.equal(v.source, 'v3');
    assert.equal(v.header.reportId, R2);
    assert.equal(v.header.ownerLoginId, 'chris.miller@globex.example');
    const e = v.entries[0];
    assert.equal(e.id, 'E-UUID-1');
    assert.equal(e.date, '2026-10-18');
    assert.equal(e.hasReceiptImage, false);
    assert.equal(e.custom.orgUnit1, 'EU01');
    assert.deepEqual(
      e.allocations.map((a) => [a.id, a.accountCode]),
      [['v3a1', '6420']],
    );
    assert.equal(e.attendeeCount, 4); // no AttendeeCount in v3: the associations' counts
    assert.deepEqual(e.attendees[1].amount, { value: 306, currency: 'USD' });
  });

  it('v4 attendee associations (expenseAttendeeList) and receiptImageId', () => {
    const v = toReportView(
      { reportId: 'R', currencyCode: 'EUR' },
      {
        expenses: [
          {
            expenseId: 'X1',
            expenseType: { id: 'DINNR' },
            postedAmount: { value: 100, currencyCode: 'EUR' },
            receiptImageId: 'IMG1',
            transactionDate: '2026-11-07',
          },
        ],
        attendees: {
          expenseAttendeeList: [{ attendeeId: 'A1', expenseId: 'X1', associatedAttendeeCount: 2, transactionAmount: { value: 50, currencyCode: 'EUR' } }],
        },
      },
    );
    const e = v.entries[0];
    assert.equal(e.hasReceiptImage, true);
    assert.equal(e.weekday, 6);
    assert.equal(e.attendeeCount, 2);
    assert.equal(v.attendees[0].id, 'A1');
  });

  it('XML nil elements and the 0001-01-01 "never" date are left out', () => {
    const v = toReportView({
      RptKey: 'K',
      ReportName: { '@_nil': 'true' },
      SubmitDate: '0001-01-01T00:00:00',
      Entries: { ExpenseEntry: { RpeKey: 'E1', PostedAmount: '1.50000000', IsPersonal: 'Y' } },
    });
    assert.equal(v.header.name, undefined);
    assert.equal(v.header.submitDate, undefined);
    assert.ok(!JSON.stringify(v).includes('null'), 'no null anywhere in the view');
    assert.equal(v.entries.length, 1); // a single entry is an object, not an array, after XML parsing
    assert.equal(v.entries[0].postedAmount.value, 1.5);
    assert.equal(v.entries[0].claimedAmount.value, 0);
  });

  it('refuses what is not a report', () => {
    assert.throws(() => toReportView('x'), ReportViewError);
    assert.throws(() => toReportView({ hello: 1 }), /not an expense report/);
  });
});
