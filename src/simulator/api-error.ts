/**
 * Errors thrown by simulator handlers, rendered in the wire shape of the API
 * family that raised them (v4 ErrorMessage JSON, legacy Error XML/JSON,
 * OAuth2 error JSON, ESS message JSON).
 */
import { randomUUID } from 'node:crypto';
import { renderDocument } from './xml';

export type ApiFamily = 'oauth' | 'v4' | 'v3' | 'legacy' | 'notification' | 'ess' | 'admin' | 'scim' | 'travelrequest' | 'spenddocs';

export interface ValidationError {
  id?: string;
  source: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: {
      validationErrors?: ValidationError[];
      /** OAuth2 error code and numeric Concur code. */
      oauthError?: string;
      oauthCode?: number;
      /** More fields for the OAuth2 error body (e.g. `geolocation` with code 16). */
      oauthFields?: Record<string, unknown>;
      headers?: Record<string, string>;
    } = {},
  ) {
    super(message);
  }
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  /** Strings and Buffers are sent as is; anything else is sent as JSON. */
  body?: unknown;
}

const REASONS: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'TOO_MANY_REQUESTS',
  500: 'INTERNAL_SERVER_ERROR',
  502: 'BAD_GATEWAY',
  503: 'SERVICE_UNAVAILABLE',
  504: 'GATEWAY_TIMEOUT',
};

const OAUTH_DEFAULTS: Record<number, [string, number]> = {
  400: ['invalid_request', 16],
  401: ['invalid_client', 1],
  429: ['too_many_requests', 429],
};

export function legacyServerTime(d = new Date()): string {
  return d.toISOString().slice(0, 19);
}

/** Renders an error for the family; `wantsJson` comes from the request's Accept header (legacy only). */
export function renderError(family: ApiFamily, err: ApiError, path: string, wantsJson: boolean): Reply {
  const headers: Record<string, string> = { ...(err.extra.headers ?? {}) };
  const id = randomUUID().toUpperCase();
  switch (family) {
    // Identity v4 (SCIM) error: https://developer.concur.com/api-reference/profile/v4.identity.html#schema-error
    case 'scim':
      return {
        status: err.status,
        headers,
        body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: String(err.status), detail: err.message },
      };
    // Travel Request v4 answers an error code and message (https://developer.concur.com/api-reference/request/v4.response-codes.html).
    case 'travelrequest':
      return {
        status: err.status,
        headers,
        body: {
          errorCode: err.extra.validationErrors?.[0]?.id ?? (err.status === 404 ? 'notFound' : (REASONS[err.status] ?? 'error')),
          errorMessage: err.message,
        },
      };
    // Spend Documents v4: { timestamp, status, message } (https://developer.concur.com/api-reference/spend-documents/get-receipt.html).
    case 'spenddocs':
      return { status: err.status, headers, body: { timestamp: new Date().toISOString(), status: String(err.status), message: err.message } };
    case 'v4':
      return {
        status: err.status,
        headers,
        body: {
          timestamp: new Date().toISOString(),
          httpStatus: `${err.status} ${REASONS[err.status] ?? 'ERROR'}`,
          errorMessage: err.message,
          errorId: id,
          validationErrors: err.extra.validationErrors ?? [],
          customResponseData: null,
          path,
        },
      };
    case 'oauth': {
      const [error, code] = err.extra.oauthError
        ? [err.extra.oauthError, err.extra.oauthCode ?? 0]
        : (OAUTH_DEFAULTS[err.status] ?? ['server_error', err.status]);
      return { status: err.status, headers, body: { error, error_description: err.message, code, ...(err.extra.oauthFields ?? {}) } };
    }
    case 'ess':
      return { status: err.status, headers, body: { message: err.message } };
    case 'admin':
      return { status: err.status, headers, body: { error: err.message } };
    case 'v3':
    case 'legacy':
    case 'notification': {
      const fields = { Message: err.message, 'Server-Time': legacyServerTime(), Id: id };
      if (wantsJson || family === 'v3') return { status: err.status, headers, body: { Error: fields } };
      headers['Content-Type'] = 'application/xml; charset=utf-8';
      return {
        status: err.status,
        headers,
        body: renderDocument('Error', {}, [
          ['Message', fields.Message],
          ['Server-Time', fields['Server-Time']],
          ['Id', fields.Id],
        ]),
      };
    }
  }
}
