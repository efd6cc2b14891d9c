/**
 * Where an expense report lives and what its answer means (docs/concur-api.md#report-details):
 * v4 JSON (current), v3 JSON, and the deprecated v2.0 / v1.1 XML APIs.
 */
import { ConcurError, invalidInput } from './concur-error';
import type { ConcurApi } from './api-types';
import { pathSegment, idValue } from './path-segment';
import type { ApiResponse } from './api-client';

export type ReportApiVersion = 'v4' | 'v3' | 'v2.0' | 'v1.1';
export const REPORT_API_VERSIONS: readonly ReportApiVersion[] = ['v4', 'v3', 'v2.0', 'v1.1'];
export type ReportContext = 'TRAVELER' | 'MANAGER' | 'PROCESSOR' | 'PROXY';
export const REPORT_CONTEXTS: readonly ReportContext[] = ['TRAVELER', 'MANAGER', 'PROCESSOR', 'PROXY'];

export interface ReportLocatorInput {
  /** ESS event `facts.href`. */
  factsHref?: unknown;
  /** Legacy notification `ObjectURI`. */
  objectURI?: unknown;
  reportId?: unknown;
  userId?: unknown;
}

export interface ReportLocatorOptions {
  version: ReportApiVersion;
  context?: ReportContext;
  /** Path or URL with {reportId}, {userId}, {context} placeholders; used instead of the version default. */
  urlTemplate?: string;
}

export interface ReportLocation {
  url: string;
  source: 'facts.href' | 'objectURI' | 'reportId' | 'template';
  /** Version implied by the URL (`unknown` for a template or an unrecognised URL). */
  version: ReportApiVersion | 'unknown';
  accept: string;
}

const XML_ACCEPT = 'application/xml';
const JSON_ACCEPT = 'application/json';

export function versionOfUrl(url: string): ReportApiVersion | 'unknown' {
  if (/\/expensereports\/v4\//i.test(url)) return 'v4';
  if (/\/api\/v3\.0\//i.test(url)) return 'v3';
  if (/\/v2\.0\//i.test(url)) return 'v2.0';
  if (/\/v1\.1\//i.test(url)) return 'v1.1';
  return 'unknown';
}

function acceptFor(v: ReportApiVersion | 'unknown'): string {
  return v === 'v2.0' || v === 'v1.1' ? XML_ACCEPT : v === 'unknown' ? `${JSON_ACCEPT}, ${XML_ACCEPT};q=0.9` : JSON_ACCEPT;
}

function urlString(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string' || !v.trim()) throw invalidInput(`${what} must be a non-empty string`);
  return v.trim();
}

export function fillTemplate(template: string, values: Record<string, string | undefined>): string {
  return template.replace(/\{(\w+)\}/g, (_m, name: string) => {
    const v = values[name];
    if (v === undefined) throw invalidInput(`URL template needs {${name}} but no ${name} was given`);
    return pathSegment(v, name === 'context' ? 'context' : `msg.${name}`);
  });
}

/** Picks the report URL from the input (first match wins: facts.href, objectURI, reportId). */
export function locateReport(input: ReportLocatorInput, opts: ReportLocatorOptions): ReportLocation {
  const href = urlString(input.factsHref, 'payload.facts.href');
  if (href) {
    const v = versionOfUrl(href);
    return { url: href, source: 'facts.href', version: v, accept: acceptFor(v) };
  }
  const objectURI = urlString(input.objectURI, 'payload.objectURI');
  if (objectURI) {
    const v = versionOfUrl(objectURI);
    return { url: objectURI, source: 'objectURI', version: v, accept: acceptFor(v) };
  }
  const reportId = idValue(input.reportId);
  const userId = idValue(input.userId);
  if (input.reportId !== undefined && input.reportId !== null && input.reportId !== '' && !reportId)
    throw invalidInput('msg.reportId must be a non-empty string');
  const context = opts.context ?? 'TRAVELER';
  const template = (opts.urlTemplate ?? '').trim();
  if (template) {
    if (!reportId && /\{reportId\}/.test(template))
      throw invalidInput('no report to fetch: msg.payload.facts.href, msg.payload.objectURI or msg.reportId is required');
    const url = fillTemplate(template, { reportId, userId, context });
    const v = versionOfUrl(url);
    return { url, source: 'template', version: v, accept: acceptFor(v) };
  }
  if (!reportId) throw invalidInput('no report to fetch: msg.payload.facts.href, msg.payload.objectURI or msg.reportId is required');
  const id = pathSegment(reportId, 'msg.reportId');
  switch (opts.version) {
    case 'v4':
      if (!userId) throw invalidInput("the v4 report API needs msg.userId (the report owner's user UUID) with msg.reportId");
      return {
        url: `/expensereports/v4/users/${pathSegment(userId, 'msg.userId')}/context/${context}/reports/${id}`,
        source: 'reportId',
        version: 'v4',
        accept: JSON_ACCEPT,
      };
    case 'v3':
      // v3 filters by the owner's login id; without it Concur uses the token's user.
      return {
        url: `/api/v3.0/expense/reports/${id}${userId ? `?user=${encodeURIComponent(userId)}` : ''}`,
        source: 'reportId',
        version: 'v3',
        accept: JSON_ACCEPT,
      };
    case 'v2.0':
      return { url: `/api/expense/expensereport/v2.0/report/${id}`, source: 'reportId', version: 'v2.0', accept: XML_ACCEPT };
    case 'v1.1':
      return { url: `/api/expense/expensereport/v1.1/reportfulldetails/${id}`, source: 'reportId', version: 'v1.1', accept: XML_ACCEPT };
    default:
      throw invalidInput(`unknown report API version "${String(opts.version)}"`);
  }
}

/** The ids later nodes need, whichever API version answered. */
export interface ReportSummary {
  /** v4 reportId / v3 ID / v2.0 ReportID / v1.1 RptKey: the id the same API family uses for exceptions. */
  reportId?: string;
  /** Legacy key (v1.1 RptKey, v2.0 ReportKey). */
  reportKey?: string;
  userId?: string;
  workflowActionUrl?: string;
  approvalStatus?: string;
  name?: string;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v ? v : typeof v === 'number' ? String(v) : undefined;
}

export function summarizeReport(report: unknown): ReportSummary {
  if (!report || typeof report !== 'object') return {};
  const r = report as Record<string, unknown>;
  if ('RptKey' in r) {
    return {
      reportId: str(r.RptKey),
      reportKey: str(r.RptKey),
      userId: str(r.X_UserID ?? r.EmployeeLoginId),
      workflowActionUrl: str(r.WorkflowActionURL),
      approvalStatus: str(r.ApprovalStatusName),
      name: str(r.ReportName),
    };
  }
  if ('ReportID' in r) {
    return {
      reportId: str(r.ReportID),
      reportKey: str(r.ReportKey),
      workflowActionUrl: str(r.WorkflowActionURL),
      approvalStatus: str(r.ApprovalStatusCode ?? r.ApprovalStatusName),
      name: str(r.ReportName),
    };
  }
  if ('ID' in r || 'WorkflowActionUrl' in r) {
    return {
      reportId: str(r.ID),
      userId: str(r.OwnerLoginID),
      workflowActionUrl: str(r.WorkflowActionUrl),
      approvalStatus: str(r.ApprovalStatusCode ?? r.ApprovalStatusName),
      name: str(r.Name),
    };
  }
  return { reportId: str(r.reportId), userId: str(r.userId), approvalStatus: str(r.approvalStatusId ?? r.approvalStatus), name: str(r.name) };
}

export interface FetchedReport {
  report: unknown;
  location: ReportLocation;
  summary: ReportSummary;
  response: ApiResponse;
}

export async function fetchReport(api: ConcurApi, location: ReportLocation, correlationId?: string): Promise<FetchedReport> {
  const response = await api.request({ method: 'GET', url: location.url, accept: location.accept, correlationId });
  const report = response.data;
  if (!report || typeof report !== 'object') {
    throw invalidInputAnswer(response);
  }
  return { report, location, summary: summarizeReport(report), response };
}

function invalidInputAnswer(r: ApiResponse) {
  return new ConcurError({
    status: r.status,
    code: 'BAD_RESPONSE',
    message: `report request answered ${r.status} without a report body`,
    correlationId: r.correlationId,
  });
}
