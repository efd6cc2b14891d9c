/**
 * Receipt images of a report or an expense, as bytes with their content type.
 * - v4 reports: the expenses' `receiptImageId` (Expense v4, https://developer.concur.com/api-reference/expense/expense-report/v4.expenses.html)
 *   fetched from Spend Documents v4 `GET /spend-documents/v4/receipts?imageId=…&companyId=…&type=display`, which
 *   returns the image byte stream (https://developer.concur.com/api-reference/spend-documents/get-receipt.html).
 *   Scopes: expense.report.read and spenddocs.receipts.read.
 * - v1.1/v2.0 reports (legacy keys): Image v1 `GET /api/image/v1.0/report/{reportId}` (all receipts as one PDF) or
 *   `…/expenseentry/{entryId}` (the entry's RpeKey) answer `<Image><Id/><Url/></Image>`; the Url is a
 *   15-minute link fetched without the access token (https://developer.concur.com/api-reference/image/v1.image.html).
 *   Scope: IMAGE.
 * Receipt Image v3 is not used: its page says it "is not designed to obtain the receipt images attached to an
 * expense report" and points to Spend Documents v4 (https://developer.concur.com/api-reference/image/v3.image.html).
 */
import { ConcurError, invalidInput } from './concur-error';
import type { ApiResponse } from './api-client';
import type { ConcurApi } from './api-types';
import { optionalId, pathSegment, requiredId } from './path-segment';

export type ReceiptApi = 'spenddocs' | 'image-v1';
export type ReceiptContext = 'TRAVELER' | 'MANAGER' | 'PROCESSOR' | 'PROXY';
export const RECEIPT_CONTEXTS: readonly ReceiptContext[] = ['TRAVELER', 'MANAGER', 'PROCESSOR', 'PROXY'];
export const DEFAULT_MAX_IMAGES = 50;

export interface ReceiptImage {
  /** v4 expense id (spenddocs) or the entry key (image-v1 expense entry); null for a whole-report PDF. */
  expenseId: string | null;
  imageId: string | null;
  contentType: string;
  data: Buffer;
  /** Where it came from, without query (the link's query is a credential-like signature). */
  source: string;
}

export interface V4ReceiptTarget {
  reportId: unknown;
  /** The user of the context (owner for TRAVELER, approver for MANAGER…). */
  userId: unknown;
  context?: ReceiptContext;
  expenseId?: unknown;
  companyId: unknown;
  /** display (default) or compliance. */
  representation?: 'display' | 'compliance';
  maxImages?: number;
}

function contentTypeOf(r: ApiResponse): string {
  const v = r.headers['content-type'];
  const s = Array.isArray(v) ? v[0] : v;
  return (s ?? 'application/octet-stream').split(';')[0].trim();
}

function noQuery(u: string): string {
  const i = u.indexOf('?');
  return i >= 0 ? u.slice(0, i) : u;
}

export function expensesPath(t: Pick<V4ReceiptTarget, 'reportId' | 'userId' | 'context' | 'expenseId'>): string {
  const ctx = t.context ?? 'TRAVELER';
  if (!RECEIPT_CONTEXTS.includes(ctx)) throw invalidInput(`context must be one of ${RECEIPT_CONTEXTS.join(', ')}`);
  const user = pathSegment(t.userId, 'the user id (msg.userId)');
  const base = `/expensereports/v4/users/${user}/context/${ctx}/reports/${pathSegment(t.reportId, 'the report id (msg.reportId)')}/expenses`;
  const e = optionalId(t.expenseId, 'the expense id');
  return e === undefined ? base : `${base}/${pathSegment(e, 'the expense id')}`;
}

export function spendDocumentPath(imageId: unknown, companyId: unknown, representation: 'display' | 'compliance' = 'display'): string {
  const q = new URLSearchParams({
    imageId: requiredId(imageId, 'the receipt image id'),
    companyId: requiredId(companyId, 'the company id (msg.companyId)'),
    type: representation,
  });
  return `/spend-documents/v4/receipts?${q.toString()}`;
}

export async function receiptImagesV4(api: ConcurApi, t: V4ReceiptTarget, correlationId?: string): Promise<ReceiptImage[]> {
  requiredId(t.companyId, 'the company id (msg.companyId)'); // checked before anything is sent
  const listed = await api.request({ method: 'GET', url: expensesPath(t), correlationId });
  const d = listed.data as unknown;
  const expenses = (Array.isArray(d) ? d : d && typeof d === 'object' ? [d] : []) as Record<string, unknown>[];
  const withImage = expenses.filter((e) => typeof e.receiptImageId === 'string' && e.receiptImageId);
  const max = t.maxImages ?? DEFAULT_MAX_IMAGES;
  if (withImage.length > max)
    throw new ConcurError({
      status: 0,
      code: 'TOO_MANY_IMAGES',
      message: `the report has ${withImage.length} receipt images; at most ${max} are fetched per message`,
      notSent: true,
    });
  const out: ReceiptImage[] = [];
  for (const e of withImage) {
    const r = await api.request({
      method: 'GET',
      url: spendDocumentPath(e.receiptImageId, t.companyId, t.representation),
      accept: 'image/*, application/pdf, */*',
      correlationId,
    });
    out.push({
      expenseId: typeof e.expenseId === 'string' ? e.expenseId : null,
      imageId: String(e.receiptImageId),
      contentType: contentTypeOf(r),
      data: r.raw ?? Buffer.alloc(0),
      source: noQuery(r.url),
    });
  }
  return out;
}

export interface ImageV1Target {
  /** Report id (or legacy report key): one PDF with every receipt of the report. */
  reportId?: unknown;
  /** Expense entry key (v1.1 RpeKey): that entry's image. Used instead of the report when given. */
  entryId?: unknown;
}

export function imageV1Path(t: ImageV1Target): string {
  const entry = optionalId(t.entryId, 'the expense entry id');
  if (entry !== undefined) return `/api/image/v1.0/expenseentry/${pathSegment(entry, 'the expense entry id')}`;
  return `/api/image/v1.0/report/${pathSegment(t.reportId, 'the report id (msg.reportId)')}`;
}

export async function receiptImageV1(api: ConcurApi, t: ImageV1Target, correlationId?: string): Promise<ReceiptImage[]> {
  const meta = await api.request({ method: 'GET', url: imageV1Path(t), accept: 'application/xml', correlationId });
  const d = (meta.data && typeof meta.data === 'object' ? meta.data : {}) as Record<string, unknown>;
  const link = typeof d.Url === 'string' ? d.Url.trim() : '';
  if (!link)
    throw new ConcurError({
      status: meta.status,
      code: 'NO_IMAGE_URL',
      message: `Image v1 answered ${meta.status} without a Url`,
      correlationId: meta.correlationId,
      body: meta.data,
    });
  // The link is pre-signed and short-lived: fetched without the access token.
  const img = await api.request({ method: 'GET', url: link, anonymous: true, accept: 'image/*, application/pdf, */*', correlationId });
  const entry = optionalId(t.entryId, 'the expense entry id');
  return [
    {
      expenseId: entry ?? null,
      imageId: typeof d.Id === 'string' ? d.Id : null,
      contentType: contentTypeOf(img),
      data: img.raw ?? Buffer.alloc(0),
      source: noQuery(img.url),
    },
  ];
}
