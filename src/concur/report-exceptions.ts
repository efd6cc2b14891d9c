/**
 * Posting report exceptions (v1.1: docs/concur-api.md#legacy-exceptions, v4: #v4-workflow-exceptions).
 * Every exception is validated before the first request goes out, so bad
 * input never leaves a report half-annotated.
 */
import { ConcurError, invalidInput, toConcurError } from './concur-error';
import type { ConcurApi } from './api-types';
import { pathSegment, idValue } from './path-segment';
import { asArray, buildExceptionsXml, type LegacyExceptionItem } from './legacy-xml';

export type ExceptionLevel = 'report' | 'expense' | 'allocation';
export type ExceptionVisibility = 'ALL' | 'APPROVER_PROCESSOR' | 'PROCESSOR';
export const EXCEPTION_VISIBILITIES: readonly ExceptionVisibility[] = ['ALL', 'APPROVER_PROCESSOR', 'PROCESSOR'];
export const MAX_EXCEPTIONS = 500;

export interface ExceptionInput {
  exceptionCode?: unknown;
  /** Report | Entry (Expense) | Allocation; default Report, or Entry when objectId is given. */
  objectType?: unknown;
  /** RpeKey / expenseId for entries, AllocationKey / allocationId for allocations. */
  objectId?: unknown;
  /** v4 allocation exceptions need both ids; these override objectId. */
  expenseId?: unknown;
  allocationId?: unknown;
  visibility?: unknown;
}

export interface NormalizedException {
  index: number;
  exceptionCode: string;
  level: ExceptionLevel;
  objectId?: string;
  expenseId?: string;
  allocationId?: string;
  visibility: ExceptionVisibility;
}

export interface ExceptionResult {
  index: number;
  exceptionCode: string;
  objectType: 'Report' | 'Entry' | 'Allocation';
  objectId?: string;
  ok: boolean;
  status: number;
  message?: string;
  code?: string;
}

const LEVEL_NAMES: Record<string, ExceptionLevel> = {
  report: 'report',
  entry: 'expense',
  expense: 'expense',
  allocation: 'allocation',
};
const LEGACY_TYPE: Record<ExceptionLevel, LegacyExceptionItem['objectType']> = { report: 'Report', expense: 'Entry', allocation: 'Allocation' };

export function normalizeExceptions(list: unknown, defaultVisibility: ExceptionVisibility = 'ALL'): NormalizedException[] {
  if (!Array.isArray(list)) throw invalidInput('msg.exceptions must be an array of { exceptionCode, objectType?, objectId?, visibility? }');
  if (list.length === 0) throw invalidInput('msg.exceptions is empty: nothing to post');
  if (list.length > MAX_EXCEPTIONS) throw invalidInput(`msg.exceptions has ${list.length} entries; at most ${MAX_EXCEPTIONS} per message`);
  return list.map((raw, i) => {
    const where = `msg.exceptions[${i}]`;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw invalidInput(`${where} must be an object`);
    const e = raw as ExceptionInput;
    const code = typeof e.exceptionCode === 'string' ? e.exceptionCode.trim() : '';
    // v4 rule (1–8 characters); the legacy codes (e.g. NODATE, APPRVTO) fit it too.
    if (!code) throw invalidInput(`${where}.exceptionCode is required`);
    if (code.length > 8) throw invalidInput(`${where}.exceptionCode "${code.slice(0, 20)}" is longer than 8 characters`);
    const objectId = idValue(e.objectId);
    const expenseId = idValue(e.expenseId);
    const allocationId = idValue(e.allocationId);
    let level: ExceptionLevel;
    if (e.objectType === undefined || e.objectType === null || e.objectType === '') {
      level = allocationId ? 'allocation' : objectId || expenseId ? 'expense' : 'report';
    } else {
      const l = typeof e.objectType === 'string' ? LEVEL_NAMES[e.objectType.trim().toLowerCase()] : undefined;
      if (!l) throw invalidInput(`${where}.objectType must be Report, Entry (Expense) or Allocation`);
      level = l;
    }
    if (level === 'expense' && !(expenseId ?? objectId)) throw invalidInput(`${where}: an Entry exception needs objectId (the expense id / RpeKey)`);
    if (level === 'allocation' && !(allocationId ?? objectId)) throw invalidInput(`${where}: an Allocation exception needs objectId or allocationId`);
    let visibility = defaultVisibility;
    if (e.visibility !== undefined && e.visibility !== null && e.visibility !== '') {
      const v = String(e.visibility).trim().toUpperCase();
      if (!EXCEPTION_VISIBILITIES.includes(v as ExceptionVisibility))
        throw invalidInput(`${where}.visibility must be one of ${EXCEPTION_VISIBILITIES.join(', ')}`);
      visibility = v as ExceptionVisibility;
    }
    return { index: i, exceptionCode: code, level, objectId, expenseId, allocationId, visibility };
  });
}

/** Where an exception goes: the fields the path is built from (the code and visibility go in the body). */
export type ExceptionLocation = Pick<NormalizedException, 'index' | 'level' | 'objectId' | 'expenseId' | 'allocationId'>;

/** v4 resource path for one exception (report, expense or allocation level). */
export function v4ExceptionPath(reportId: string, e: ExceptionLocation): string {
  const base = `/expensereports/v4/reports/${pathSegment(reportId, 'msg.reportId')}`;
  if (e.level === 'report') return `${base}/exceptions`;
  const expenseId = e.expenseId ?? (e.level === 'expense' ? e.objectId : undefined);
  if (!expenseId) throw invalidInput(`msg.exceptions[${e.index}]: a v4 allocation exception needs expenseId and allocationId`);
  const expense = `${base}/expenses/${pathSegment(expenseId, `msg.exceptions[${e.index}] expense id`)}`;
  if (e.level === 'expense') return `${expense}/exceptions`;
  const allocationId = e.allocationId ?? e.objectId!;
  return `${expense}/allocations/${pathSegment(allocationId, `msg.exceptions[${e.index}] allocation id`)}/exceptions`;
}

function objectIdOf(e: NormalizedException): string | undefined {
  return e.level === 'allocation' ? (e.allocationId ?? e.objectId) : e.level === 'expense' ? (e.expenseId ?? e.objectId) : undefined;
}

/** v4: one PUT per exception (no batch API); every exception is attempted and reported. */
export async function postExceptionsV4(api: ConcurApi, reportId: string, list: NormalizedException[], correlationId?: string): Promise<ExceptionResult[]> {
  const paths = list.map((e) => v4ExceptionPath(reportId, e)); // validates all before sending any
  const results: ExceptionResult[] = [];
  for (let i = 0; i < list.length; i++) {
    const e = list[i];
    const base = { index: e.index, exceptionCode: e.exceptionCode, objectType: LEGACY_TYPE[e.level], objectId: objectIdOf(e) };
    try {
      const r = await api.request({ method: 'PUT', url: paths[i], json: { exceptionCode: e.exceptionCode, exceptionVisibility: e.visibility }, correlationId });
      results.push({ ...base, ok: true, status: r.status });
    } catch (err) {
      const ce = toConcurError(err);
      results.push({ ...base, ok: false, status: ce.status, message: ce.message, code: ce.code });
      if (ce.code === 'CLOSED') break;
    }
  }
  return results;
}

/** v1.1: one XML `<Exceptions>` POST for the whole list; per-exception results from `exception-result`. */
export async function postExceptionsLegacy(api: ConcurApi, reportKey: string, list: NormalizedException[], correlationId?: string): Promise<ExceptionResult[]> {
  const items: LegacyExceptionItem[] = list.map((e) => ({ objectType: LEGACY_TYPE[e.level], objectId: objectIdOf(e) ?? '', exceptionCode: e.exceptionCode }));
  const r = await api.request({
    method: 'POST',
    url: `/api/expense/expensereport/v1.1/report/${pathSegment(reportKey, 'report key')}/Exceptions`,
    xml: buildExceptionsXml(items),
    accept: 'application/xml',
    correlationId,
  });
  return legacyExceptionResults(list, r.data, r.status, r.xmlRoot);
}

/** Maps an `exception-result` document onto the posted list (Index is 1-based). */
export function legacyExceptionResults(list: NormalizedException[], data: unknown, status: number, root?: string): ExceptionResult[] {
  const d = (data && typeof data === 'object' ? data : {}) as Record<string, any>;
  const errors = new Map<number, string>();
  for (const er of asArray(d.errors?.error)) {
    const idx = Number(er?.Index ?? er?.index);
    if (Number.isInteger(idx)) errors.set(idx, String(er?.message ?? er?.Message ?? 'failed'));
  }
  const statuses = new Map<number, string>();
  for (const info of asArray(d.ExceptionDetails?.ExceptionInfo)) {
    const idx = Number(info?.Index);
    if (Number.isInteger(idx)) statuses.set(idx, String(info?.Status ?? ''));
  }
  if (root && root !== 'exception-result' && !errors.size && !statuses.size) {
    throw new ConcurError({ status, code: 'BAD_RESPONSE', message: `exceptions POST answered with <${root}> instead of <exception-result>` });
  }
  const failedCount = Number(d['exceptions-failed']);
  return list.map((e, i) => {
    const idx = i + 1;
    const st = statuses.get(idx);
    const err = errors.get(idx);
    const failed = err !== undefined || (st !== undefined && /fail|error|invalid/i.test(st));
    // Only when Concur gave no per-index detail at all can we not tell which one failed.
    const unknown = !errors.size && !statuses.size && Number.isFinite(failedCount) && failedCount > 0;
    return {
      index: e.index,
      exceptionCode: e.exceptionCode,
      objectType: LEGACY_TYPE[e.level],
      objectId: objectIdOf(e),
      ok: !failed && !unknown,
      status,
      ...(failed
        ? { message: err ?? `status ${st}`, code: 'EXCEPTION_FAILED' }
        : unknown
          ? { message: `${failedCount} exception(s) failed; Concur did not say which`, code: 'EXCEPTION_UNKNOWN' }
          : {}),
    };
  });
}
