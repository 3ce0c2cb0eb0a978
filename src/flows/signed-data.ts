/**
 * custom_data_secured: custom data the customer's server signed as a JWT (HS256 with a shared
 * secret, or RS256 with its private key). Its fields are trusted only when the signature
 * verifies with the connector's configured key (events.signed_custom_data), with exactly the
 * configured algorithm (never `none`, never an HS256 token checked against an RS256 public key).
 * Anything else is ignored with a reason that never quotes the token. Pure apart from the clock
 * passed in.
 */
import jwt from 'jsonwebtoken';
import type { SignedCustomData } from '../config/types';
import type { NormalizedEvent } from './events';

/** Longer tokens are refused before any decoding (custom data is a few fields). */
export const MAX_TOKEN_CHARS = 16 * 1024;
/** JWT registered claims: about the token, not custom data. */
const REGISTERED_CLAIMS = new Set(['iss', 'aud', 'exp', 'nbf', 'iat', 'jti']);

export type SignedDataOutcome = { ok: true; claims: Record<string, unknown> } | { ok: false; reason: string };

/** Checks the token; the reason (when not ok) is fixed text, safe to log and to show. */
export function verifySignedCustomData(token: unknown, config: SignedCustomData, nowMs: number): SignedDataOutcome {
  if (typeof token !== 'string') return { ok: false, reason: 'not signed (it must be a JWT signed with the configured key)' };
  if (token.length > MAX_TOKEN_CHARS) return { ok: false, reason: `token longer than ${MAX_TOKEN_CHARS} characters` };
  let decoded: jwt.Jwt | null;
  try {
    decoded = jwt.decode(token, { complete: true });
  } catch {
    decoded = null;
  }
  if (!decoded) return { ok: false, reason: 'not a JWT' };
  const alg = String(decoded.header.alg);
  if (alg !== config.algorithm) {
    const shown = /^[A-Za-z0-9]{1,10}$/.test(alg) ? alg : 'an unknown one';
    return { ok: false, reason: `algorithm ${shown} refused (the connector accepts ${config.algorithm} only)` };
  }
  let payload: string | jwt.JwtPayload;
  try {
    payload = jwt.verify(token, config.key, {
      algorithms: [config.algorithm],
      issuer: config.issuer,
      audience: config.audience,
      maxAge: config.maxAgeSeconds,
      clockTimestamp: Math.floor(nowMs / 1000),
    });
  } catch (e) {
    return { ok: false, reason: failureReason(e as Error) };
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return { ok: false, reason: 'its payload is not a JSON object' };
  return { ok: true, claims: Object.fromEntries(Object.entries(payload).filter(([k]) => !REGISTERED_CLAIMS.has(k))) };
}

/** jsonwebtoken's messages may quote the configured issuer or audience; ours say what failed, nothing more. */
function failureReason(e: Error): string {
  if (e.name === 'TokenExpiredError') return e.message === 'maxAge exceeded' ? 'older than max_age_seconds' : 'expired';
  if (e.name === 'NotBeforeError') return 'not valid yet (nbf)';
  if (e.message === 'invalid signature') return 'signature does not verify';
  if (e.message.startsWith('jwt issuer invalid')) return 'issuer does not match';
  if (e.message.startsWith('jwt audience invalid')) return 'audience does not match';
  if (e.message.startsWith('iat required')) return 'no iat claim (max_age_seconds needs one)';
  if (e.message === 'jwt malformed' || e.message === 'invalid token') return 'not a JWT';
  return 'invalid token';
}

/**
 * Verifies the event's custom_data_secured in place: when valid, its claims become
 * facts.verifiedCustomData, join facts.customData (over unsigned values of the same name) and
 * VERIFIED_CUSTOM_DATA; otherwise a warning line says why it was ignored (and `log` gets it when
 * a token was refused). The token itself is dropped from the event either way.
 */
export function applySignedCustomData(ev: NormalizedEvent, config: SignedCustomData | undefined, nowMs: number, log: (line: string) => void): void {
  const token = ev.facts.securedCustomData;
  if (token === undefined) return;
  delete ev.facts.securedCustomData;
  if (!config) {
    (ev.facts.warnings ??= []).push('custom_data_secured ignored: this connector has no events.signed_custom_data key to verify it with, so it is not trusted');
    return;
  }
  const outcome = verifySignedCustomData(token, config, nowMs);
  if (!outcome.ok) {
    const line = `${ev.type}: custom_data_secured ignored: ${outcome.reason}`;
    (ev.facts.warnings ??= []).push(line);
    log(line);
    return;
  }
  ev.facts.verifiedCustomData = outcome.claims;
  ev.facts.customData = { ...(ev.facts.customData ?? {}), ...outcome.claims };
  const lines = Object.entries(outcome.claims).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  if (lines.length > 0) ev.vars.VERIFIED_CUSTOM_DATA = lines.join('\n');
}

export { compileSignedCustomData, pemText, signedCustomDataProblems, MIN_HS256_SECRET_CHARS, MIN_RSA_BITS } from '../config/signed-data-key';
