import crypto from 'node:crypto';

/** The caller's X-Request-Id when it is a plain token, else a new one. */
export function requestIdFor(given: string | undefined): string {
  return given && /^[\w.-]{1,128}$/.test(given) ? given : crypto.randomUUID();
}
