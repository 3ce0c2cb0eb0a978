/**
 * The platform's webhook signature (pure). Each request carries
 *   x-zm-request-timestamp: epoch seconds
 *   x-zm-signature: v0=hex(HMAC-SHA256(secret token, "v0:{timestamp}:{raw body}"))
 * The body is verified as received (bytes, before any parsing), compared in constant time, and
 * only within five minutes of the gateway's clock: a captured request cannot be replayed later,
 * and a replay within the window is an event already seen (its event id), which changes nothing.
 */
import crypto from 'node:crypto';

export const MAX_TIMESTAMP_SKEW_MS = 5 * 60_000;

export type SignatureVerdict = { ok: true } | { ok: false; reason: string };

export function verifyZoomSignature(
  secret: string,
  signature: string | undefined,
  timestamp: string | undefined,
  rawBody: Buffer,
  now: number,
): SignatureVerdict {
  if (!signature || !timestamp) return { ok: false, reason: 'unsigned: x-zm-signature and x-zm-request-timestamp are required' };
  if (!/^\d{1,13}$/.test(timestamp)) return { ok: false, reason: 'x-zm-request-timestamp is not a number of seconds' };
  const sec = Number(timestamp);
  // Seconds, as the platform sends; a 13-digit value is taken as milliseconds.
  const at = timestamp.length >= 13 ? sec : sec * 1000;
  if (Math.abs(now - at) > MAX_TIMESTAMP_SKEW_MS) return { ok: false, reason: 'stale: x-zm-request-timestamp is more than 5 minutes from now' };
  const m = /^v0=([0-9a-fA-F]{64})$/.exec(signature);
  if (!m) return { ok: false, reason: 'x-zm-signature is not "v0=<64 hex digits>"' };
  const expected = crypto.createHmac('sha256', secret).update(`v0:${timestamp}:`).update(rawBody).digest();
  const given = Buffer.from(m[1], 'hex');
  return crypto.timingSafeEqual(expected, given) ? { ok: true } : { ok: false, reason: 'the signature does not match the body' };
}

/** The answer to endpoint.url_validation: proves the endpoint knows the secret token. */
export function urlValidationAnswer(secret: string, plainToken: string): { plainToken: string; encryptedToken: string } {
  return { plainToken, encryptedToken: crypto.createHmac('sha256', secret).update(plainToken).digest('hex') };
}
