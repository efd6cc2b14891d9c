/**
 * One error type for everything the API nodes report, so a Catch node always
 * finds the same `msg.concurError = { status, code, message, correlationId }`.
 * Messages never contain tokens, secrets or Authorization values.
 */

export interface ConcurErrorInfo {
  /** HTTP status, or 0 when no response was received (network, timeout, invalid input). */
  status: number;
  /** Machine-readable code: OAuth `error`, `HTTP_<status>`, a network code, or e.g. `INVALID_INPUT`. */
  code: string;
  message: string;
  correlationId?: string;
  /** OAuth error fields exactly as the token endpoint sent them. */
  oauth?: { error?: string; error_description?: string; code?: string | number; geolocation?: string };
}

export class ConcurError extends Error {
  readonly status: number;
  readonly code: string;
  readonly correlationId: string | undefined;
  readonly oauth: ConcurErrorInfo['oauth'];
  /** Parsed error body (JSON or XML-as-JSON), for troubleshooting. */
  readonly body: unknown;
  /** True when the request never went out (bad input). */
  readonly notSent: boolean;

  constructor(info: ConcurErrorInfo & { body?: unknown; notSent?: boolean }) {
    super(info.message);
    this.name = 'ConcurError';
    this.status = info.status;
    this.code = info.code;
    this.correlationId = info.correlationId;
    this.oauth = info.oauth;
    this.body = info.body;
    this.notSent = Boolean(info.notSent);
  }

  toInfo(): ConcurErrorInfo {
    const out: ConcurErrorInfo = { status: this.status, code: this.code, message: this.message };
    if (this.correlationId) out.correlationId = this.correlationId;
    if (this.oauth) out.oauth = { ...this.oauth };
    return out;
  }
}

/** A bad input caught before any request was sent. */
export function invalidInput(message: string): ConcurError {
  return new ConcurError({ status: 0, code: 'INVALID_INPUT', message, notSent: true });
}

/** Converts anything thrown into a ConcurError (network errors keep their code). */
export function toConcurError(err: unknown): ConcurError {
  if (err instanceof ConcurError) return err;
  const e = err as { code?: unknown; message?: unknown; name?: string };
  const code = typeof e?.code === 'string' ? e.code : e?.name === 'ConcurUrlError' ? 'INVALID_URL' : 'ERROR';
  const notSent = e?.name === 'ConcurUrlError';
  return new ConcurError({ status: 0, code, message: String(e?.message ?? err), notSent });
}

/**
 * Pulls a readable message and code out of the error bodies Concur sends
 * (docs/concur-api.md#errors): v4 `{errorMessage, errorId, validationErrors}`, legacy
 * `{Error:{Message,Id}}` / `{Message}`, OAuth `{error, error_description, code}`.
 */
export function describeErrorBody(body: unknown): { message?: string; code?: string } {
  if (!body || typeof body !== 'object') return {};
  const b = body as Record<string, any>;
  if (typeof b.error === 'string') {
    return { message: [b.error, b.error_description].filter(Boolean).join(': '), code: b.error };
  }
  if (typeof b.errorMessage === 'string') {
    const v = Array.isArray(b.validationErrors) ? b.validationErrors.map((x: any) => x?.message).filter(Boolean) : [];
    // Travel Request v4 names its error in errorCode (e.g. notFound, permissionDenied).
    const code =
      Array.isArray(b.validationErrors) && b.validationErrors[0]?.id
        ? String(b.validationErrors[0].id)
        : typeof b.errorCode === 'string' && b.errorCode
          ? b.errorCode
          : undefined;
    return { message: [b.errorMessage, ...v].join('; '), code };
  }
  // SCIM (Identity v4): { schemas, status, scimType?, detail }.
  if (typeof b.detail === 'string') return { message: b.detail, code: typeof b.scimType === 'string' ? b.scimType : undefined };
  const legacy = b.Error ?? b.error ?? b;
  if (legacy && typeof legacy === 'object') {
    const msg = legacy.Message ?? legacy.message;
    if (typeof msg === 'string') return { message: msg };
  }
  return {};
}
