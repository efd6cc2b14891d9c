'use strict';
/**
 * The concur-validate workload: a v4 report with 200 expenses (each with one
 * allocation, a few duplicates, weekend dates, missing receipts) and 500 rules
 * built from the presets with varied limits and codes. The duplicate-expense
 * preset compares every entry with every other (n² evaluations), so the set
 * holds it once, as a real rule set would; the other 499 rules are the
 * per-entry / per-allocation presets with different thresholds.
 */
const { RULE_PRESETS } = require('../../dist/concur/rule-presets');

const TYPES = ['LODNG', 'AIRFR', 'BUSML', 'DINNR', 'TAXI', 'MISCL'];

function report(entries = 200) {
  const expenses = [];
  for (let i = 0; i < entries; i++) {
    const amount = 10 + ((i * 37) % 900);
    expenses.push({
      expenseId: `E${String(i).padStart(4, '0')}`,
      expenseType: { id: TYPES[i % TYPES.length], name: TYPES[i % TYPES.length] },
      transactionDate: `2026-10-${String(1 + (i % 28)).padStart(2, '0')}`,
      transactionAmount: { value: amount, currencyCode: 'USD' },
      postedAmount: { value: amount, currencyCode: 'USD' },
      approvedAmount: { value: amount, currencyCode: 'USD' },
      vendor: { name: `Vendor ${i % 150}` },
      businessPurpose: i % 11 ? 'Client work' : null,
      isImageRequired: true,
      receiptImageId: i % 9 ? `IMG${i}` : null,
      attendeeCount: i % 4,
      allocations: [{ allocationId: `A${i}`, percentage: 100, accountCode: i % 13 ? '6400' : null }],
    });
  }
  return {
    report: { reportId: 'BENCH0000000000000001', name: 'bench', currencyCode: 'USD', userId: 'u', startDate: '2026-10-02', endDate: '2026-10-27' },
    expenses,
  };
}

function rules(count = 500) {
  const linear = RULE_PRESETS.filter((p) => p.id !== 'duplicate-expense');
  const out = [{ ...RULE_PRESETS.find((p) => p.id === 'duplicate-expense').rule }];
  for (let i = 0; out.length < count; i++) {
    const p = linear[i % linear.length].rule;
    // Vary every limit so each rule is its own expression (compiled separately).
    const condition = p.condition.replace(/\b(75|300|500|1000)\b/g, (m) => String(Number(m) + 7 * i));
    out.push({ ...p, name: `${p.name} #${i}`, condition });
  }
  return out;
}

module.exports = { report, rules };
