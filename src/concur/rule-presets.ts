/**
 * Built-in rule presets: ordinary rules (a JSONata condition the admin reads
 * and edits in the dialog), not hidden code. Each names the report-view fields
 * it reads and the Concur fields those come from (see report-view.ts).
 *
 * Exception codes must be configured in the Concur company
 * (https://developer.concur.com/api-reference/expense/expense-report/v4.exceptions.html);
 * the defaults here are examples to replace with your own.
 */
import type { RuleDefinition } from './validation-rules';

export interface RulePreset {
  id: string;
  title: string;
  /** What it checks and which Concur fields it reads. */
  description: string;
  concurFields: string;
  rule: RuleDefinition;
}

export const RULE_PRESETS: readonly RulePreset[] = [
  {
    id: 'amount-over-limit',
    title: 'Amount over a limit per expense type',
    description:
      'Flags an entry whose amount in the report currency is over the limit set for its expense type. Edit the codes and limits; add a line per type.',
    concurFields:
      'entry.expenseTypeCode: v4 expenseType.id, v3 ExpenseTypeCode, v2.0 ExpenseTypeID, v1.1 ExpKey; ' +
      'entry.postedAmount: v4 postedAmount, v3/v2.0/v1.1 PostedAmount (report currency)',
    rule: {
      name: 'Amount over the limit for its expense type',
      scope: 'entry',
      condition:
        '(expenseTypeCode = "LODNG" and postedAmount.value > 300)\n' +
        'or (expenseTypeCode = "AIRFR" and postedAmount.value > 1000)\n' +
        'or (expenseTypeCode in ["BUSML", "DINNR"] and postedAmount.value > 500)',
      exceptionCode: 'OVRLIMIT',
      level: 'auto',
      visibility: '',
      message:
        '{{entry.expenseTypeName}} of {{entry.postedAmount.value}} {{entry.postedAmount.currency}} on {{entry.date}} ' +
        'is over the limit for {{entry.expenseTypeCode}}',
      preset: 'amount-over-limit',
    },
  },
  {
    id: 'missing-receipt',
    title: 'Missing receipt image over an amount',
    description: 'Flags an entry over the amount that has no receipt image attached and no missing-receipt declaration (affidavit).',
    concurFields:
      'entry.hasReceiptImage: v4 receiptImageId / ereceiptImageId set, v3 HasImage, v1.1 ReceiptImageId (v2.0 does not say: the rule does not fire); ' +
      'entry.hasMissingReceiptDeclaration: v4 hasMissingReceiptDeclaration; entry.postedAmount: v4 postedAmount, legacy PostedAmount',
    rule: {
      name: 'Missing receipt image over 75',
      scope: 'entry',
      condition: 'hasReceiptImage = false and $not(hasMissingReceiptDeclaration = true) and postedAmount.value > 75',
      exceptionCode: 'NORCPT',
      level: 'auto',
      visibility: '',
      message:
        'No receipt image for {{entry.expenseTypeName}} of {{entry.postedAmount.value}} {{entry.postedAmount.currency}} at {{entry.vendor}} on {{entry.date}}',
      preset: 'missing-receipt',
    },
  },
  {
    id: 'duplicate-expense',
    title: 'Duplicate expense (same date, amount and merchant)',
    description: 'Flags every entry that has another entry in the report with the same transaction date, amount and vendor (vendor compared without case).',
    concurFields:
      'entry.date: v4 transactionDate, legacy TransactionDate; entry.transactionAmount: v4 transactionAmount, legacy TransactionAmount; ' +
      'entry.vendor: v4 vendor.name, v3/v2.0/v1.1 VendorDescription',
    rule: {
      name: 'Duplicate expense',
      scope: 'entry',
      condition:
        '$count($entries[date = $entry.date\n  and transactionAmount.value = $entry.transactionAmount.value\n' +
        '  and $lowercase(vendor) = $lowercase($entry.vendor)]) > 1',
      exceptionCode: 'DUPLEXP',
      level: 'auto',
      visibility: '',
      message: 'Possible duplicate: {{entry.vendor}}, {{entry.transactionAmount.value}} {{entry.transactionAmount.currency}} on {{entry.date}}',
      preset: 'duplicate-expense',
    },
  },
  {
    id: 'weekend-or-out-of-trip',
    title: 'Weekend or out-of-trip date',
    description:
      'Flags an entry dated on a Saturday or Sunday, or before the report start date / after the report end date (v4 trip dates; ' +
      'the legacy APIs have none, so only the weekend part applies there).',
    concurFields:
      'entry.date / entry.weekday (0 = Sunday, 6 = Saturday): v4 transactionDate, legacy TransactionDate; ' +
      'header.startDate / header.endDate: v4 startDate / endDate',
    rule: {
      name: 'Weekend or out-of-trip date',
      scope: 'entry',
      condition: 'weekday in [0, 6] or date < $header.startDate or date > $header.endDate',
      exceptionCode: 'POLVIOL',
      level: 'auto',
      visibility: '',
      message: '{{entry.expenseTypeName}} at {{entry.vendor}} is dated {{entry.date}} (a weekend or outside the trip)',
      preset: 'weekend-or-out-of-trip',
    },
  },
  {
    id: 'amount-per-attendee',
    title: 'Attendee count vs amount per attendee',
    description: 'Flags a meal or entertainment entry with no attendees, or whose amount per attendee is over the limit.',
    concurFields:
      "entry.attendeeCount: v4 attendeeCount, v1.1 AttendeeCount, else the sum of the attendee associations' associatedAttendeeCount (v4 / v3); " +
      'entry.postedAmount: v4 postedAmount, legacy PostedAmount',
    rule: {
      name: 'Amount per attendee over 75',
      scope: 'entry',
      condition: 'expenseTypeCode in ["BUSML", "DINNR", "ENTER"]\nand (attendeeCount = 0 or (attendeeCount > 0 and postedAmount.value / attendeeCount > 75))',
      exceptionCode: 'POLVIOL',
      level: 'auto',
      visibility: '',
      message:
        '{{entry.expenseTypeName}} of {{entry.postedAmount.value}} {{entry.postedAmount.currency}} for {{entry.attendeeCount}} attendee(s) ' +
        'is over 75 per attendee',
      preset: 'amount-per-attendee',
    },
  },
  {
    id: 'cost-object-required',
    title: 'Cost object (allocation) required fields',
    description:
      'Flags an allocation without an account code or with a zero percentage. ' +
      'Add your custom cost-object fields (allocation.custom.custom1 …) to the condition.',
    concurFields:
      'allocation.accountCode: v4 accountCode, v3/v1.1 AccountCode1; allocation.percentage: v4 percentage, v3/v1.1 Percentage; ' +
      'allocation.custom: v4 customData[], v3/v1.1 Custom1..Custom20',
    rule: {
      name: 'Allocation without an account code',
      scope: 'allocation',
      condition: '$not($exists(accountCode)) or percentage <= 0',
      exceptionCode: 'MISSREQ',
      level: 'auto',
      visibility: '',
      message: 'Allocation {{allocation.id}} of entry {{allocation.entryId}} has no account code',
      preset: 'cost-object-required',
    },
  },
];

/** A fresh, editable copy of a preset's rule. */
export function presetRule(id: string): RuleDefinition | undefined {
  const p = RULE_PRESETS.find((x) => x.id === id);
  return p ? { ...p.rule } : undefined;
}
