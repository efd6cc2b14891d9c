/**
 * The simulator's own control API under /_sim/ (not part of Concur): flip
 * faults at run time, expire tokens, inspect and reset state, move reports
 * through the workflow, queue failed notifications, and read the request and
 * event logs. Tests and the demo drive the simulator through it.
 */
import { ApiError, type Reply } from './api-error';
import { safeDecode } from './http-util';
import { jsonBody, type RequestContext, type Route } from './routes';
import { moveToStep, WorkflowError } from './workflow';
import { WORKFLOW_STEP_PREFIX } from './legacy-sender';

/**
 * One answered request. Only non-secret facts: never Authorization values,
 * bodies, passwords or tokens (a presented refresh token appears as a
 * fingerprint only).
 */
export interface RequestLogEntry {
  at: string;
  method: string;
  path: string;
  /** Raw query string without the `?` (when there is one). */
  query?: string;
  /** 0 when the connection was dropped by a fault. */
  status: number;
  ms: number;
  fault?: string;
  tokenKind?: string;
  /** The caller's Concur-Correlationid (when it sent a usable one). */
  correlationId?: string;
  /** The caller's Accept header (content negotiation is part of what clients get wrong). */
  accept?: string;
  /** Accept-Language, when sent (not a secret). */
  acceptLanguage?: string;
  /** Token endpoint: grant facts and the OAuth2 error answered, if any. */
  grantType?: string;
  credtype?: string;
  username?: string;
  refreshTokenSha256?: string;
  oauthError?: string;
  oauthCode?: unknown;
}

export interface AdminHooks {
  requestLog: RequestLogEntry[];
  eventLog: unknown[];
  expireTokens(refresh: boolean): number;
}

function badRequest(e: unknown): never {
  if (e instanceof RangeError) throw new ApiError(400, e.message);
  if (e instanceof WorkflowError) throw new ApiError(e.kind === 'validation' ? 400 : 409, e.message);
  throw e;
}

export function adminRoutes(hooks: AdminHooks): Route[] {
  const route = (method: string, p: string, handler: (ctx: RequestContext) => Reply): Route => ({
    method,
    pattern: new RegExp(`^/_sim${p}$`),
    family: 'admin',
    auth: false,
    handler,
  });
  return [
    route('GET', '/health', () => ({ status: 200, body: { ok: true } })),
    route('GET', '/faults', (ctx) => ({ status: 200, body: { ...ctx.sim.faults.settings, injected: ctx.sim.faults.injected } })),
    route('POST', '/faults', (ctx) => {
      try {
        return { status: 200, body: ctx.sim.faults.update(jsonBody(ctx)) };
      } catch (e) {
        return badRequest(e);
      }
    }),
    route('DELETE', '/faults', (ctx) => {
      ctx.sim.faults.reset();
      return { status: 200, body: ctx.sim.faults.settings };
    }),
    route('POST', '/tokens/expire', (ctx) => {
      const b = jsonBody(ctx, { allowEmpty: true });
      return { status: 200, body: { expired: hooks.expireTokens(b.refresh === true) } };
    }),
    route('GET', '/state', (ctx) => ({ status: 200, body: ctx.sim.state.summary() })),
    route('POST', '/reset', (ctx) => {
      ctx.sim.state.reset();
      hooks.requestLog.length = 0;
      hooks.eventLog.length = 0;
      return { status: 200, body: { ok: true } };
    }),
    route('GET', '/requests', () => ({ status: 200, body: hooks.requestLog })),
    route('DELETE', '/requests', () => {
      hooks.requestLog.length = 0;
      return { status: 204 };
    }),
    route('GET', '/events', () => ({ status: 200, body: hooks.eventLog })),
    route('POST', '/reports/([^/]+)/submit', (ctx) => {
      const id = safeDecode(ctx.params[0]);
      const report = ctx.sim.state.reportById(id);
      if (!report) throw new ApiError(404, `report ${id} was not found`);
      const b = jsonBody(ctx, { allowEmpty: true });
      if (b.stepCode !== undefined && typeof b.stepCode !== 'string') throw new ApiError(400, 'stepCode must be a string');
      try {
        moveToStep(ctx.sim.state, report, b.stepCode as string | undefined, { userId: null, label: 'admin' });
      } catch (e) {
        badRequest(e);
      }
      return { status: 200, body: { reportId: report.reportId, approvalStatus: report.approvalStatus, stepCode: report.currentStep?.stepCode ?? null } };
    }),
    route('POST', '/notifications', (ctx) => {
      const b = jsonBody(ctx);
      const id = typeof b.reportId === 'string' ? b.reportId : '';
      const report = ctx.sim.state.reportById(id);
      if (!report) throw new ApiError(404, `report ${id || '(missing reportId)'} was not found`);
      const step = typeof b.step === 'string' && b.step ? b.step : 'EXTERNAL VALIDATION - SUBMIT';
      // uriBase: print the URIs on another host (Concur prints www.concursolutions.com), to test host rewriting.
      if (b.uriBase !== undefined && (typeof b.uriBase !== 'string' || !/^https?:\/\/[^/\s]+\/?$/i.test(b.uriBase))) {
        throw new ApiError(400, 'uriBase must be a base URL such as https://www.concursolutions.com');
      }
      const n = ctx.sim.state.addFailedNotification({
        eventType: `${WORKFLOW_STEP_PREFIX}${step}`,
        objectType: 'EXPRPT',
        reportKey: report.reportKey,
        eventDateTime: new Date().toISOString().slice(0, 19),
        context: null,
        ...(typeof b.uriBase === 'string' ? { uriBase: b.uriBase.replace(/\/+$/, '') } : {}),
      });
      return { status: 201, body: { id: n.id } };
    }),
  ];
}
