/**
 * The simulated tenant: one company, four users, and five expense reports in
 * realistic workflow states. IDs are fixed so demos, docs and tests can refer
 * to them; keys mimic Concur's encrypted legacy keys (with `$` and, in one
 * workflow key, a bare `%`, as in the Concur docs).
 */
import type { Expense, Report, SimUser, StepDef, TravelRequest } from './model';

export const COMPANY_ID = 'b5a4d2f0-8c1e-4f3a-9d6b-2e7c1a0f9b31';
export const COMPANY_NAME = 'Globex Demo Corporation';
/** Default company request token for the password grant (credtype=authtoken). */
export const DEFAULT_COMPANY_REQUEST_TOKEN = 'sim-company-request-token-2f9c41';
export const DEFAULT_CLIENT_ID = 'sim-client-0f3b9a2e';
export const DEFAULT_CLIENT_SECRET = 'sim-client-secret-7d41c8';
/**
 * Default HTTP Basic credentials `send legacy` presents to an application
 * connector (10-50 characters each, as Concur's connector registration requires).
 */
export const DEFAULT_LEGACY_USER = 'concur-sim-connector';
export const DEFAULT_LEGACY_PASSWORD = 'concur-sim-connector-password';

// Managers: Sam approves Jane and Chris, Pat approves Sam and is Sam's approval delegate.
export const USERS: SimUser[] = [
  {
    userId: 'e1a0b7c4-5d2f-4c8a-9b1e-3f6d2a8c7e10',
    loginId: 'jane.doe@globex.example',
    firstName: 'Jane',
    lastName: 'Doe',
    password: 'jane-pass-1234',
    employeeId: 'E1001',
    email: 'jane.doe@globex.example',
    managerUserId: '7c3e9f12-a4b6-4d8e-8f0a-1b2c3d4e5f60',
  },
  {
    userId: '7c3e9f12-a4b6-4d8e-8f0a-1b2c3d4e5f60',
    loginId: 'sam.lee@globex.example',
    firstName: 'Sam',
    lastName: 'Lee',
    password: 'sam-pass-1234',
    employeeId: 'E1002',
    email: 'sam.lee@globex.example',
    managerUserId: '90f1e2d3-c4b5-4a69-8788-a9b0c1d2e3f4',
  },
  {
    userId: '3b8d1e6a-9c2f-47a5-b0e4-6d7f8a9b0c21',
    loginId: 'chris.miller@globex.example',
    firstName: 'Chris',
    lastName: 'Miller',
    password: 'chris-pass-1234',
    employeeId: 'E1003',
    email: 'chris.miller@globex.example',
    managerUserId: '7c3e9f12-a4b6-4d8e-8f0a-1b2c3d4e5f60',
  },
  {
    userId: '90f1e2d3-c4b5-4a69-8788-a9b0c1d2e3f4',
    loginId: 'ap.processor@globex.example',
    firstName: 'Pat',
    lastName: 'Processor',
    password: 'pat-pass-1234',
    employeeId: 'E1004',
    email: 'ap.processor@globex.example',
    delegateFor: ['7c3e9f12-a4b6-4d8e-8f0a-1b2c3d4e5f60'],
  },
];

const [JANE, SAM, CHRIS, PAT] = USERS;

/**
 * Exception codes configured in the simulated tenant (v1.1 and v4 only accept these unless anyExceptionCode
 * is set). At most 8 characters: the documented rule (the docs' own example MISSREQFLD breaks it, see
 * exceptionCodeMaxLength).
 */
export const EXCEPTION_CODES: Record<string, { message: string; isBlocking: boolean }> = {
  NODATE: { message: 'The transaction date is missing.', isBlocking: true },
  APPRVTO: { message: 'Report needs additional approval.', isBlocking: false },
  MISSREQ: { message: 'A required field is missing.', isBlocking: true },
  OVRLIMIT: { message: 'The amount is over the policy limit.', isBlocking: false },
  NORCPT: { message: 'A receipt image is required.', isBlocking: true },
  DUPLEXP: { message: 'Possible duplicate expense.', isBlocking: false },
  POLVIOL: { message: 'Policy violation found by external validation.', isBlocking: true },
  EXTVAL01: { message: 'External validation failed.', isBlocking: true },
};

function managerStep(assignee: SimUser): StepDef {
  return { stepCode: 'MANAGER', roleCode: 'MANAGER', approvalStatus: 'A_PEND', assignedUserId: assignee.userId };
}
// Pre-extract external validation: the last approval step before extract.
const EXTVAL_STEP: StepDef = { stepCode: 'EXTVAL', roleCode: 'EXTERNAL_VALIDATION', approvalStatus: 'A_EXTV', assignedUserId: null };

type ExpenseSeed = Omit<
  Expense,
  | 'postedAmount'
  | 'approvedAmount'
  | 'transactionCurrency'
  | 'allocations'
  | 'spendCategory'
  | 'paymentTypeName'
  | 'countrySubdivision'
  | 'attendeeCount'
  | 'isPersonal'
> &
  Partial<Pick<Expense, 'allocations' | 'countrySubdivision' | 'attendeeCount' | 'isPersonal'>>;

const SPEND: Record<string, string> = {
  LODNG: 'Lodging',
  TAXI: 'Transportation',
  DINNR: 'Meals and Entertainment',
  BUSML: 'Meals and Entertainment',
  AIRFR: 'Travel',
  MISCL: 'Other',
  REGFE: 'Training',
  OFCSP: 'Office',
  TRAIN: 'Transportation',
};
const PAYMENT_TYPES: Record<string, string> = { CASH: 'Cash', CBCP: 'Company Paid', IBCP: 'Corporate Card' };

function expense(currency: string, e: ExpenseSeed): Expense {
  return {
    ...e,
    transactionCurrency: currency,
    postedAmount: e.transactionAmount,
    approvedAmount: e.transactionAmount,
    spendCategory: SPEND[e.expenseTypeCode] ?? 'Other',
    paymentTypeName: PAYMENT_TYPES[e.paymentTypeCode] ?? e.paymentTypeCode,
    countrySubdivision: e.countrySubdivision ?? '',
    attendeeCount: e.attendeeCount ?? 0,
    isPersonal: e.isPersonal ?? false,
    allocations: e.allocations ?? [],
  };
}

interface ReportSeed
  extends Omit<
    Report,
    'currentStep' | 'lastWorkflowActionKey' | 'retiredWorkflowActionKeys' | 'exceptions' | 'comments' | 'lastModifiedDate' | 'isSentBack' | 'everSentBack'
  > {
  /** 1-based index of the current step in `workflow`, or 0 for none. */
  atStep: number;
  stepInstanceId: string;
  workflowActionKey: string;
}

export const REPORT_SEEDS: ReportSeed[] = [
  {
    reportId: 'CB899F7D9F73420A8D8B',
    reportKey: 'n6ujbuLd1Arwe45lT7As3ThJYJf2dAsrrEW',
    name: 'Client visit Berlin',
    businessPurpose: 'Quarterly review with Initech GmbH',
    ownerUserId: JANE.userId,
    policyId: 'F3A91E0C5B7D4C2A8E6F',
    reportType: 'Regular',
    currencyCode: 'EUR',
    approvalStatus: 'A_EXTV',
    paymentStatus: 'P_NOTP',
    reportDate: '2026-11-02',
    creationDate: '2026-11-05T09:12:44Z',
    submitDate: '2026-11-06T16:03:10Z',
    paidDate: null,
    processId: '4c0b9a6e-1f2d-4e8a-b3c5-7d9e0f1a2b3c',
    workflow: [managerStep(SAM), EXTVAL_STEP],
    atStep: 2,
    stepInstanceId: 'a7d3c1e9-0b4f-4a62-9e85-31f0c2d4b6a8',
    workflowActionKey: 'nKo9$pt8GHpERQVpk$pS2EL6EDHRwi9r$paQS1Uq',
    expenses: [
      expense('EUR', {
        expenseId: '8E2D6A0F4C1B49E7A3D5C9B1F0E2A4C6',
        rpeKey: 'nfUEGTNhWxbXkeT26XlVm9Gdqvbi8hlDa',
        entryId: '1001',
        expenseTypeCode: 'LODNG',
        expenseTypeName: 'Hotel',
        transactionDate: '2026-11-02',
        transactionAmount: 389.0,
        vendor: 'Hotel Adlon',
        city: 'Berlin',
        country: 'DE',
        businessPurpose: 'Two nights for client review',
        paymentTypeCode: 'IBCP',
        receiptRequired: true,
        hasReceiptImage: true,
        allocations: [{ allocationId: 'AL-1001-1', allocationKey: 'ngYn5SB4OUXwHnBjh8$pBIT8oPxe9G$shCi', percentage: 100, accountCode: '6410-TRAVEL' }],
      }),
      expense('EUR', {
        expenseId: '1B7F3C9E5A2D40B8C6E4F2A0D8B6C4E2',
        rpeKey: 'nfUEGTNhWxbQmRXziCxZr2FNJmJWOcx0G',
        entryId: '1002',
        expenseTypeCode: 'TAXI',
        expenseTypeName: 'Taxi',
        transactionDate: '2026-11-02',
        transactionAmount: 42.5,
        vendor: 'Berlin Taxi',
        city: 'Berlin',
        country: 'DE',
        businessPurpose: 'Airport to hotel',
        paymentTypeCode: 'CASH',
        receiptRequired: false,
        hasReceiptImage: true,
      }),
      expense('EUR', {
        expenseId: '5D9B1E7C3A4F42D6B8E0C2A4F6D8B0E2',
        rpeKey: 'nfUEGTNhWxb9s$sLq0aPd7Ke3Uy4Rm1Tz',
        entryId: '1003',
        expenseTypeCode: 'DINNR',
        expenseTypeName: 'Dinner',
        transactionDate: '2026-11-03',
        transactionAmount: 68.0,
        vendor: 'Restaurant Tim Raue',
        city: 'Berlin',
        country: 'DE',
        businessPurpose: 'Dinner with Initech CFO',
        paymentTypeCode: 'IBCP',
        receiptRequired: true,
        hasReceiptImage: true,
        attendeeCount: 2,
      }),
    ],
  },
  {
    reportId: '4D2E8A61B0C94F7FA311',
    reportKey: 'nbe1LDA99RdTx0fUEuZiYd5WW8afkjew$p',
    name: 'Team offsite Q3',
    businessPurpose: 'Engineering team offsite',
    ownerUserId: CHRIS.userId,
    policyId: 'F3A91E0C5B7D4C2A8E6F',
    reportType: 'Regular',
    currencyCode: 'USD',
    approvalStatus: 'A_EXTV',
    paymentStatus: 'P_NOTP',
    reportDate: '2026-10-20',
    creationDate: '2026-10-24T11:40:02Z',
    submitDate: '2026-10-25T08:15:51Z',
    paidDate: null,
    processId: '9e8d7c6b-5a4f-4e3d-a2c1-b0f9e8d7c6b5',
    workflow: [managerStep(SAM), EXTVAL_STEP],
    atStep: 2,
    stepInstanceId: '5f1e2d3c-4b5a-4697-8877-665544332211',
    // A bare `%` as in the Concur docs' WorkflowActionURL example: clients must not percent-decode keys.
    workflowActionKey: 'Ko9%t8GHpERQVpk$pS2EL6EDHRwi9r$paQS1UqyL6a454QitqQ',
    expenses: [
      expense('USD', {
        expenseId: 'C4A2E0B8D6F44A1C9E7B5D3F1A9C7E5B',
        rpeKey: 'nxQ2rT7vY1bN$s4kL8pW3mZ6cH9dF0gJ5',
        entryId: '2001',
        expenseTypeCode: 'BUSML',
        expenseTypeName: 'Business Meal (attendees)',
        transactionDate: '2026-10-18',
        transactionAmount: 612.0,
        vendor: 'The Capital Grille',
        city: 'Chicago',
        countrySubdivision: 'US-IL',
        country: 'US',
        businessPurpose: 'Team dinner',
        paymentTypeCode: 'IBCP',
        receiptRequired: true,
        hasReceiptImage: false,
        attendeeCount: 8,
        allocations: [
          { allocationId: 'AL-2001-1', allocationKey: 'ngYn5SB4OUQfJtTrUBq94qWUuDk8g6fo$s', percentage: 50, accountCode: '6420-MEALS' },
          { allocationId: 'AL-2001-2', allocationKey: 'ngYn5SB4OUX$pWN0Y6bkzFZZhdQ2PJ$pc6b', percentage: 50, accountCode: '6421-TEAM' },
        ],
      }),
      expense('USD', {
        expenseId: 'E8C6A4F2D0B84E6C2A0F8D6B4E2C0A8F',
        rpeKey: 'nxQ2rT7vY1bP8mK3$pW5nD1sG7hJ2kL4',
        entryId: '2002',
        expenseTypeCode: 'AIRFR',
        expenseTypeName: 'Airfare',
        transactionDate: '2026-10-17',
        transactionAmount: 455.2,
        vendor: 'United Airlines',
        city: 'Chicago',
        countrySubdivision: 'US-IL',
        country: 'US',
        businessPurpose: 'Flight SFO-ORD',
        paymentTypeCode: 'CBCP',
        receiptRequired: true,
        hasReceiptImage: true,
      }),
      expense('USD', {
        expenseId: 'A0E8C6B4D2F04A8E6C4B2D0F8E6A4C2B',
        rpeKey: 'nxQ2rT7vY1bZ9cV4$sB6nM2qW8eR3tY5',
        entryId: '2003',
        expenseTypeCode: 'MISCL',
        expenseTypeName: 'Miscellaneous',
        transactionDate: '2026-10-19',
        transactionAmount: 35.0,
        vendor: 'Walgreens',
        city: 'Chicago',
        countrySubdivision: 'US-IL',
        country: 'US',
        businessPurpose: '',
        paymentTypeCode: 'CASH',
        receiptRequired: false,
        hasReceiptImage: false,
      }),
    ],
  },
  {
    reportId: '9F1C3B7E22D84A6B9C05',
    reportKey: 'nQ7w$pE3rT9yU1iO5pA2sD8fG4hJ6kL0z',
    name: 'Conference Chicago',
    businessPurpose: 'KubeCon attendance',
    ownerUserId: JANE.userId,
    policyId: 'F3A91E0C5B7D4C2A8E6F',
    reportType: 'Regular',
    currencyCode: 'USD',
    approvalStatus: 'A_PEND',
    paymentStatus: 'P_NOTP',
    reportDate: '2026-11-10',
    creationDate: '2026-11-12T13:20:00Z',
    submitDate: '2026-11-13T10:45:31Z',
    paidDate: null,
    processId: '2a3b4c5d-6e7f-4081-92a3-b4c5d6e7f809',
    workflow: [managerStep(SAM), EXTVAL_STEP],
    atStep: 1,
    stepInstanceId: 'c9b8a7f6-e5d4-4c3b-a291-807f6e5d4c3b',
    workflowActionKey: 'nM3n$sB5vC7xZ9aS1dF3gH5jK7lP9oI2uY',
    expenses: [
      expense('USD', {
        expenseId: 'F1D3B5A7C9E14F3D5B7A9C1E3F5D7B9A',
        rpeKey: 'nzA1sX2dC3fV4gB5$ph6nJ7mK8lL9pO0',
        entryId: '3001',
        expenseTypeCode: 'REGFE',
        expenseTypeName: 'Conference Registration',
        transactionDate: '2026-11-03',
        transactionAmount: 1150.0,
        vendor: 'Linux Foundation',
        city: 'Chicago',
        countrySubdivision: 'US-IL',
        country: 'US',
        businessPurpose: 'Conference ticket',
        paymentTypeCode: 'IBCP',
        receiptRequired: true,
        hasReceiptImage: true,
      }),
      expense('USD', {
        expenseId: 'B2C4D6E8F0A24B6C8D0E2F4A6B8C0D2E',
        rpeKey: 'nzA1sX2dC3fV4gB5$sq7wE8rT9yU0iO1',
        entryId: '3002',
        expenseTypeCode: 'LODNG',
        expenseTypeName: 'Hotel',
        transactionDate: '2026-11-06',
        transactionAmount: 780.0,
        vendor: 'Hyatt Regency',
        city: 'Chicago',
        countrySubdivision: 'US-IL',
        country: 'US',
        businessPurpose: 'Three nights during conference',
        paymentTypeCode: 'IBCP',
        receiptRequired: true,
        hasReceiptImage: true,
      }),
    ],
  },
  {
    reportId: '71E0D5A9C3B24F18BE6A',
    reportKey: 'nR5t$sY7uI9oP1aS3dF5gH7jK9lZ1xC3v',
    name: 'Office supplies October',
    businessPurpose: 'Home office equipment',
    ownerUserId: CHRIS.userId,
    policyId: 'F3A91E0C5B7D4C2A8E6F',
    reportType: 'Regular',
    currencyCode: 'USD',
    approvalStatus: 'A_APPR',
    paymentStatus: 'P_PAID',
    reportDate: '2026-10-01',
    creationDate: '2026-10-02T08:00:00Z',
    submitDate: '2026-10-02T08:30:00Z',
    paidDate: '2026-10-09T00:00:00Z',
    processId: '0f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f',
    workflow: [managerStep(SAM), EXTVAL_STEP],
    atStep: 0,
    stepInstanceId: '',
    workflowActionKey: 'nB1n$pM3qW5eR7tY9uI1oP3aS5dF7gH9j',
    expenses: [
      expense('USD', {
        expenseId: 'D4E6F8A0B2C44D6E8F0A2B4C6D8E0F2A',
        rpeKey: 'nyH1jK2lZ3xC4vB5$pn6mQ7wE8rT9yU0',
        entryId: '4001',
        expenseTypeCode: 'OFCSP',
        expenseTypeName: 'Office Supplies',
        transactionDate: '2026-09-28',
        transactionAmount: 129.99,
        vendor: 'Staples',
        city: 'Seattle',
        countrySubdivision: 'US-WA',
        country: 'US',
        businessPurpose: 'Monitor arm and cables',
        paymentTypeCode: 'CASH',
        receiptRequired: true,
        hasReceiptImage: true,
      }),
    ],
  },
  {
    reportId: '0A6B4C2D9E8F41A3B7D1',
    reportKey: 'nT2y$sU4iO6pA8sD0fG2hJ4kL6zX8cV0b',
    name: 'Training London',
    businessPurpose: 'Leadership training',
    ownerUserId: SAM.userId,
    policyId: 'A1B2C3D4E5F60718293A',
    reportType: 'Regular',
    currencyCode: 'GBP',
    approvalStatus: 'A_NOTF',
    paymentStatus: 'P_NOTP',
    reportDate: '2026-11-15',
    creationDate: '2026-11-16T09:00:00Z',
    submitDate: null,
    paidDate: null,
    processId: '6f5e4d3c-2b1a-4098-a7b6-c5d4e3f2a1b0',
    workflow: [managerStep(PAT), EXTVAL_STEP],
    atStep: 0,
    stepInstanceId: '',
    workflowActionKey: 'nP0o$sI9uY8tR7eW6qA5sD4fG3hJ2kL1z',
    expenses: [
      expense('GBP', {
        expenseId: 'A9B8C7D6E5F44A3B2C1D0E9F8A7B6C5D',
        rpeKey: 'nwE2rT3yU4iO5pA6$ss7dF8gH9jK0lZ1',
        entryId: '5001',
        expenseTypeCode: 'TRAIN',
        expenseTypeName: 'Train',
        transactionDate: '2026-11-14',
        transactionAmount: 86.4,
        vendor: 'LNER',
        city: 'London',
        country: 'GB',
        businessPurpose: 'Return ticket to training venue',
        paymentTypeCode: 'CASH',
        receiptRequired: false,
        hasReceiptImage: true,
      }),
    ],
  },
];

/** Failed legacy notifications waiting in the Notification v1.0 queue at start. */
export const FAILED_NOTIFICATION_SEEDS = [
  {
    id: 'nOB1KNTDSWUcJPMV6dPDjNc$scu6EDbt9s',
    reportId: 'CB899F7D9F73420A8D8B',
    eventDateTime: '2026-11-06T16:03:12',
    step: 'EXTERNAL VALIDATION - PRE-EXTRACT',
  },
  {
    id: 'nOB1KNTDSWUdR4mQ2sVxYb7$p0aLk9Ji3h',
    reportId: '4D2E8A61B0C94F7FA311',
    eventDateTime: '2026-10-25T08:15:55',
    step: 'EXTERNAL VALIDATION - PRE-EXTRACT',
  },
];

/** Comments on the seeded reports (Comments v4): a report-header and an expense comment by the owner. */
export const COMMENT_SEEDS: Array<{ reportId: string; at: string; comment: string; authorUserId: string; expenseId: string | null }> = [
  {
    reportId: '9F1C3B7E22D84A6B9C05',
    at: '2026-11-13T10:44:02Z',
    comment: 'Conference ticket and hotel for KubeCon; receipts attached.',
    authorUserId: 'e1a0b7c4-5d2f-4c8a-9b1e-3f6d2a8c7e10',
    expenseId: null,
  },
  {
    reportId: '9F1C3B7E22D84A6B9C05',
    at: '2026-11-13T10:44:40Z',
    comment: 'Early-bird price.',
    authorUserId: 'e1a0b7c4-5d2f-4c8a-9b1e-3f6d2a8c7e10',
    expenseId: 'F1D3B5A7C9E14F3D5B7A9C1E3F5D7B9A',
  },
];

/** Travel Requests (Request v4): one waiting for Sam, one at external validation, one approved. */
export const TRAVEL_REQUEST_SEEDS: TravelRequest[] = [
  {
    id: '224AF3CDCC2A5244A37C72FA5770C6F2',
    requestId: '333T',
    name: 'Client meeting in Berlin - JULY',
    businessPurpose: 'Client meeting for project KIWI',
    ownerUserId: JANE.userId,
    status: 'SUBMITTED',
    approverUserId: SAM.userId,
    stepCode: 'MANAGER',
    startDate: '2026-12-07',
    endDate: '2026-12-09',
    city: 'Berlin, GERMANY',
    countryCode: 'DE',
    total: 494.56,
    currency: 'EUR',
    everSentBack: false,
    comments: [],
    lastModified: '2026-11-20T09:38:02.000Z',
    creationDate: '2026-11-20T09:17:25.000Z',
  },
  {
    id: '053A479B3C9DD847B02A203C657AE26B',
    requestId: '3F2K',
    name: 'Training in Lyon',
    businessPurpose: 'Trip to Lyon for company training',
    ownerUserId: CHRIS.userId,
    status: 'SUBMITTED',
    approverUserId: null,
    stepCode: 'EXTERNAL_VALIDATION',
    startDate: '2027-01-11',
    endDate: '2027-01-13',
    city: 'Lyon, FRANCE',
    countryCode: 'FR',
    total: 1210.0,
    currency: 'EUR',
    everSentBack: false,
    comments: [],
    lastModified: '2026-11-21T10:00:00.000Z',
    creationDate: '2026-11-21T09:00:00.000Z',
  },
  {
    id: '8C1D2E3F4A5B4C6D8E9F0A1B2C3D4E5F',
    requestId: '3A7Q',
    name: 'Sales kick-off',
    businessPurpose: 'Annual sales kick-off',
    ownerUserId: SAM.userId,
    status: 'APPROVED',
    approverUserId: null,
    stepCode: null,
    startDate: '2026-12-01',
    endDate: '2026-12-03',
    city: 'London, UNITED KINGDOM',
    countryCode: 'GB',
    total: 880.0,
    currency: 'GBP',
    everSentBack: false,
    comments: [],
    lastModified: '2026-11-10T08:00:00.000Z',
    creationDate: '2026-11-02T08:00:00.000Z',
  },
];

export const DEFAULT_TOPICS = ['public.concur.expense.report', 'public.concur.request', 'public.test'];

export { JANE, SAM, CHRIS, PAT };
