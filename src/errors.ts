/**
 * One error type for the whole gateway. Every error that can reach a client knows its
 * HTTP status and renders itself as RFC 9457 problem details, so handlers never
 * invent error shapes. `code` is a closed union: clients and tests match on it.
 */
export const ERROR_CODES = {
  config_invalid: 500,
  connector_not_found: 404,
  operation_not_found: 404,
  operation_not_configured: 404,
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  invalid_json: 400,
  validation_failed: 422,
  missing_variable: 422,
  invalid_phone_number: 422,
  invalid_variable_value: 422,
  file_kind_not_accepted: 422,
  payload_too_large: 413,
  unsupported_media_type: 415,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  too_many_requests: 429,
  store_unavailable: 503,
  shutting_down: 503,
  oauth_not_authorized: 409,
  oauth_callback_invalid: 400,
  crm_request_failed: 502,
  crm_retry_later: 503,
  rate_limited: 503,
  crm_unreachable: 504,
  crm_response_invalid: 502,
  ambiguous_match: 409,
  file_download_failed: 502,
  storage_failed: 502,
  destination_blocked: 502,
  record_pop_failed: 502,
  outcome_email_failed: 502,
  outcome_email_rejected: 502,
  outcome_email_waiting: 409,
  webhook_signature_invalid: 401,
  platform_request_failed: 502,
  storage_unreachable: 504,
  storage_request_failed: 502,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance?: string;
  [extension: string]: unknown;
}

/** Base URI for problem `type`s: stable, documented in the README. */
export const PROBLEM_BASE = 'https://crm-gateway.dev/problems/';

const TITLES: Record<ErrorCode, string> = {
  config_invalid: 'Connector configuration is invalid',
  connector_not_found: 'Connector not found',
  operation_not_found: 'Unknown operation',
  operation_not_configured: 'Operation not configured for this connector',
  bad_request: 'Bad request',
  unauthorized: 'An API key is required',
  forbidden: 'This API key may not do that',
  invalid_json: 'Request body is not valid JSON',
  validation_failed: 'Request failed validation',
  missing_variable: 'A required variable is missing',
  invalid_phone_number: 'Phone number cannot be parsed',
  invalid_variable_value: 'A variable has a value that cannot be sent',
  file_kind_not_accepted: 'The connector does not accept this file kind',
  payload_too_large: 'Payload too large',
  unsupported_media_type: 'Unsupported media type',
  not_found: 'Not found',
  method_not_allowed: 'The route does not accept this method',
  conflict: 'The resource is not in a state that allows this',
  too_many_requests: 'Too many of these are running; try again when one has finished',
  store_unavailable: 'The delivery store is unavailable; nothing was accepted',
  shutting_down: 'The gateway is stopping',
  oauth_not_authorized: 'The connector has no OAuth token yet',
  oauth_callback_invalid: 'OAuth callback is invalid',
  crm_request_failed: 'The CRM rejected the request',
  crm_retry_later: 'The CRM asked to retry later',
  rate_limited: "Over the CRM's rate limit: not sent",
  crm_unreachable: 'The CRM could not be reached',
  crm_response_invalid: 'The CRM response could not be used',
  ambiguous_match: 'Several CRM objects match and none can be chosen safely',
  file_download_failed: 'The session file could not be downloaded',
  storage_failed: 'The external storage could not be written',
  destination_blocked: 'The destination is in a private network the connector does not allow',
  record_pop_failed: 'The record pop receiver did not accept the pop',
  outcome_email_failed: 'The session outcome e-mail could not be sent yet',
  outcome_email_rejected: 'The SMTP server refused the session outcome e-mail',
  outcome_email_waiting: "The session outcome e-mail waits for the session's writes",
  webhook_signature_invalid: 'The webhook is not signed with the configured secret',
  platform_request_failed: "The contact-center platform's API failed",
  storage_unreachable: 'The external storage could not be reached',
  storage_request_failed: 'The external storage refused the request',
  internal: 'Internal error',
};

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra problem members (e.g. `errors`, `variable`, `crm_status`). Must never hold secrets. */
  readonly extensions: Record<string, unknown>;

  constructor(code: ErrorCode, detail: string, extensions: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(detail, options);
    this.name = 'GatewayError';
    this.code = code;
    this.status = ERROR_CODES[code];
    this.extensions = extensions;
  }

  toProblem(instance?: string): ProblemDetails {
    return {
      type: PROBLEM_BASE + this.code.replace(/_/g, '-'),
      title: TITLES[this.code],
      status: this.status,
      detail: this.message,
      code: this.code,
      ...(instance ? { instance } : {}),
      ...this.extensions,
    };
  }
}

/** 405: the path is a route, the method is not one of its methods; `allow` becomes the Allow header. */
export class MethodNotAllowedError extends GatewayError {
  readonly allow: readonly string[];

  constructor(allow: readonly string[], detail: string) {
    super('method_not_allowed', detail);
    this.allow = allow;
  }
}

export function isGatewayError(e: unknown): e is GatewayError {
  return e instanceof GatewayError;
}
