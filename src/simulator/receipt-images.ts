/**
 * Receipt images of the simulated tenant:
 * - Spend Documents v4: GET /spend-documents/v4/receipts?imageId=…&companyId=…&type=display|compliance
 *   answers the image bytes (https://developer.concur.com/api-reference/spend-documents/get-receipt.html);
 *   GET /spend-documents/v4/receipts/{receiptId}[/representations?type=…] by receipt id.
 * - Image v1: GET /api/image/v1.0/report/{reportId} and /expenseentry/{entryKey} answer
 *   <Image><Id/><Url/></Image>, the Url a short-lived link without a token
 *   (https://developer.concur.com/api-reference/image/v1.image.html), served at /imaging/file/{token}.
 * Each expense with hasReceiptImage has a deterministic PNG; a report's Image v1 link is a PDF.
 */
import { createHash, randomBytes } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { ApiError, type Reply } from './api-error';
import { safeDecode } from './http-util';
import type { Expense, Report } from './model';
import type { RequestContext, Route } from './routes';
import { renderDocument } from './xml';

const IMAGE_NS = 'http://www.concursolutions.com/api/image/2011/02';

/** The v4 receiptImageId of an expense (null when it has no image). */
export function receiptImageId(e: Expense): string | null {
  return e.hasReceiptImage ? `IMG${e.expenseId.slice(0, 29)}` : null;
}

/** The Spend Documents receipt UUID of an image id (deterministic). */
export function receiptUuid(imageId: string): string {
  const h = createHash('sha256').update(`receipt:${imageId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

let crcTable: number[] | undefined;
function crc32(buf: Buffer): number {
  crcTable ??= Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** A small valid PNG (16x16, one colour derived from the seed). */
export function receiptPng(seed: string): Buffer {
  const [r, g, b] = createHash('sha256').update(seed).digest();
  const w = 16;
  const hgt = 16;
  const row = Buffer.alloc(1 + w * 3);
  for (let x = 0; x < w; x++) row.set([r, g, b], 1 + x * 3);
  const raw = Buffer.concat(Array.from({ length: hgt }, () => row));
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(hgt, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A minimal one-page PDF naming the report (Image v1 report images are PDFs). */
export function reportPdf(r: Report): Buffer {
  const text = `Receipts of report ${r.reportId}`.replace(/[()\\]/g, '');
  const body = [
    '%PDF-1.4',
    '1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj',
    '2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj',
    '3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 300 100] /Contents 4 0 R >> endobj',
    `4 0 obj << /Length ${text.length + 30} >> stream\nBT /F1 12 Tf 10 50 Td (${text}) Tj ET\nendstream endobj`,
    'trailer << /Root 1 0 R >>',
    '%%EOF',
  ];
  return Buffer.from(body.join('\n'), 'latin1');
}

function findImage(ctx: RequestContext, imageId: string): { report: Report; expense: Expense } | undefined {
  for (const report of ctx.sim.state.reports.values()) {
    for (const expense of report.expenses) if (receiptImageId(expense)?.toLowerCase() === imageId.toLowerCase()) return { report, expense };
  }
  return undefined;
}

function representation(ctx: RequestContext, imageId: string): Reply {
  const type = ctx.query.get('type');
  if (type !== 'display' && type !== 'compliance') throw new ApiError(400, 'type must be display or compliance');
  const hit = findImage(ctx, imageId);
  if (!hit) throw new ApiError(404, `receipt image ${imageId} was not found`);
  return {
    status: 200,
    headers: { 'Content-Type': 'image/png', 'Content-Disposition': `inline; filename="${imageId}.png"` },
    body: receiptPng(`${imageId}:${type}`),
  };
}

function metadata(ctx: RequestContext, imageId: string): Reply {
  const hit = findImage(ctx, imageId);
  if (!hit) throw new ApiError(404, `receipt image ${imageId} was not found`);
  const id = receiptUuid(imageId);
  const base = ctx.sim.baseUrl();
  return {
    status: 200,
    body: {
      metadata: {
        userId: hit.report.ownerUserId,
        imageId,
        id,
        companyId: ctx.sim.state.companyId,
        dateTimeReceived: `${hit.expense.transactionDate}T12:00:00.000Z`,
        origin: 'mobile',
        status: 'processed',
      },
      receiptData: {
        transactionDateTime: `${hit.expense.transactionDate}T12:00:00`,
        amount: { total: String(hit.expense.transactionAmount), currency: hit.expense.transactionCurrency },
        vendor: { name: hit.expense.vendor, city: hit.expense.city, country: hit.expense.country },
      },
      documents: ['display', 'compliance'].map((t) => ({
        representation: t,
        type: 'image/png',
        name: `${imageId}.png`,
        renderable: true,
        href: `${base}/spend-documents/v4/receipts/${id}/representations?type=${t}`,
      })),
    },
  };
}

function byQuery(ctx: RequestContext): Reply {
  const imageId = ctx.query.get('imageId');
  const companyId = ctx.query.get('companyId');
  if (!imageId || !companyId) throw new ApiError(400, 'imageId and companyId are required');
  if (companyId.toLowerCase() !== ctx.sim.state.companyId.toLowerCase()) throw new ApiError(404, `company ${companyId} was not found`);
  return ctx.query.get('type') === null ? metadata(ctx, imageId) : representation(ctx, imageId);
}

function imageIdOfReceipt(ctx: RequestContext, receiptId: string): string {
  for (const report of ctx.sim.state.reports.values()) {
    for (const e of report.expenses) {
      const img = receiptImageId(e);
      if (img && receiptUuid(img) === receiptId.toLowerCase()) return img;
    }
  }
  throw new ApiError(404, `receipt ${receiptId} was not found`);
}

// ---- Image v1: one-time links to the image host ----
const LINK_TTL_MS = 15 * 60 * 1000;
const links = new WeakMap<object, Map<string, { body: Buffer; type: string; expires: number }>>();

function linkStore(ctx: RequestContext) {
  let m = links.get(ctx.sim.state);
  if (!m) {
    m = new Map();
    links.set(ctx.sim.state, m);
  }
  const now = Date.now();
  for (const [k, v] of m) if (v.expires < now) m.delete(k);
  return m;
}

function imageV1(ctx: RequestContext, id: string, body: Buffer, type: string): Reply {
  const store = linkStore(ctx);
  const token = randomBytes(16).toString('hex');
  store.set(token, { body, type, expires: Date.now() + LINK_TTL_MS });
  if (store.size > 500) store.delete(store.keys().next().value as string);
  // The docs: special characters in Url are XML-encoded (& → &amp;); renderDocument escapes them.
  const url = `${ctx.sim.baseUrl()}/imaging/file/${token}?id=${encodeURIComponent(id)}&e=sim`;
  const xml = renderDocument('Image', { xmlns: IMAGE_NS, 'xmlns:i': 'http://www.w3.org/2001/XMLSchema-instance' }, [
    ['Id', id],
    ['Url', url],
  ]);
  return { status: 200, headers: { 'Content-Type': 'application/xml; charset=utf-8' }, body: xml };
}

export function receiptImageRoutes(): Route[] {
  return [
    { method: 'GET', pattern: /^\/spend-documents\/v4\/receipts\/?$/, family: 'spenddocs', auth: true, handler: byQuery },
    {
      method: 'GET',
      pattern: /^\/spend-documents\/v4\/receipts\/([^/]+)$/,
      family: 'spenddocs',
      auth: true,
      handler: (ctx) => metadata(ctx, imageIdOfReceipt(ctx, safeDecode(ctx.params[0]))),
    },
    {
      method: 'GET',
      pattern: /^\/spend-documents\/v4\/receipts\/([^/]+)\/representations$/,
      family: 'spenddocs',
      auth: true,
      handler: (ctx) => representation(ctx, imageIdOfReceipt(ctx, safeDecode(ctx.params[0]))),
    },
    {
      method: 'GET',
      pattern: /^\/api\/image\/v1\.0\/report\/([^/]+)$/i,
      family: 'legacy',
      auth: true,
      handler: (ctx) => {
        const id = safeDecode(ctx.params[0]);
        const r = ctx.sim.state.reportById(id) ?? ctx.sim.state.reportByKey(id);
        if (!r) throw new ApiError(404, `report ${id} was not found`);
        if (!r.expenses.some((e) => e.hasReceiptImage)) throw new ApiError(404, `report ${id} has no receipt images`);
        return imageV1(ctx, id, reportPdf(r), 'application/pdf');
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/image\/v1\.0\/expenseentry\/([^/]+)$/i,
      family: 'legacy',
      auth: true,
      handler: (ctx) => {
        const key = safeDecode(ctx.params[0]);
        for (const r of ctx.sim.state.reports.values()) {
          const e = r.expenses.find((x) => x.rpeKey === key || x.expenseId.toLowerCase() === key.toLowerCase());
          if (e) {
            const img = receiptImageId(e);
            if (!img) throw new ApiError(404, `expense entry ${key} has no receipt image`);
            return imageV1(ctx, key, receiptPng(`${img}:display`), 'image/png');
          }
        }
        throw new ApiError(404, `expense entry ${key} was not found`);
      },
    },
    {
      method: 'GET',
      pattern: /^\/imaging\/file\/([0-9a-f]{32})$/,
      family: 'legacy',
      auth: false,
      handler: (ctx) => {
        const hit = linkStore(ctx).get(ctx.params[0]);
        if (!hit) throw new ApiError(404, 'the image link expired or does not exist');
        return { status: 200, headers: { 'Content-Type': hit.type }, body: hit.body };
      },
    },
  ];
}
