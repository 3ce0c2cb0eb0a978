/**
 * HubSpot's error bodies. Every API error is
 *   {"status":"error","message":"…","correlationId":"<uuid>","category":"…", …}
 * with a fresh correlation id per response; validation of property values lists the failures
 * as a JSON string inside `message`, exactly as HubSpot does:
 *   "Property values were not valid: [{\"isValid\":false,\"message\":\"…\",\"error\":\"INVALID_EMAIL\",\"name\":\"email\",…}]"
 */
import { randomUUID } from 'node:crypto';

export type ErrorCategory =
  | 'VALIDATION_ERROR'
  | 'OBJECT_NOT_FOUND'
  | 'CONFLICT'
  | 'INVALID_AUTHENTICATION'
  | 'EXPIRED_AUTHENTICATION'
  | 'RATE_LIMITS'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'TOO_LARGE'
  | 'INTERNAL_ERROR';

export interface PropertyProblem {
  name: string;
  /** HubSpot's error code, e.g. PROPERTY_DOESNT_EXIST, INVALID_EMAIL, INVALID_OPTION, READ_ONLY_VALUE. */
  error: string;
  message: string;
}

export function errorBody(category: ErrorCategory, message: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { status: 'error', message, correlationId: randomUUID(), category, ...extra };
}

/**
 * For the static bodies the shared plumbing sends (auth failure, unknown route): a getter gives
 * each response its own correlation id, like the real API.
 */
export function liveErrorBody(category: ErrorCategory, message: string): Record<string, unknown> {
  return {
    status: 'error',
    message,
    get correlationId() {
      return randomUUID();
    },
    category,
  };
}

export class HubSpotError extends Error {
  readonly body: Record<string, unknown>;
  constructor(
    readonly status: number,
    category: ErrorCategory,
    message: string,
    extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.body = errorBody(category, message, extra);
  }
}

export const AUTH_MESSAGE =
  'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview';

export function notFound(): HubSpotError {
  return new HubSpotError(404, 'OBJECT_NOT_FOUND', 'resource not found');
}

export function validation(message: string, extra: Record<string, unknown> = {}): HubSpotError {
  return new HubSpotError(400, 'VALIDATION_ERROR', message, extra);
}

/** 400 listing every invalid property value at once. */
export function invalidProperties(problems: PropertyProblem[]): HubSpotError {
  const list = problems.map((p) => ({ isValid: false, message: p.message, error: p.error, name: p.name, localizedErrorMessage: p.message }));
  return validation(`Property values were not valid: ${JSON.stringify(list)}`);
}
