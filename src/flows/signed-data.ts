/**
 * custom_data_secured: custom data the customer's server signed as a JWT (HS256 with a shared
 * secret, or RS256 with its private key). Its fields are trusted only when the signature
 * verifies with the connector's configured key (events.signed_custom_data), with exactly the
 * configured algorithm (never `none`, never an HS256 token checked against an RS256 public key).
 * Anything else is ignored with a reason that never quotes the token. Pure apart from the clock
 * passed in.
 */
import crypto from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { SignedCustomData, SignedCustomDataFile } from '../config/types';
import type { NormalizedEvent } from './events';

/** Longer tokens are refused before any decoding (custom data is a few fields). */
export const MAX_TOKEN_CHARS = 16 * 1024;
/** RFC 7518: an HS256 key at least as long as the hash (32 bytes). */
export const MIN_HS256_SECRET_CHARS = 32;
/** jsonwebtoken refuses smaller RSA keys; so does the loader, with the path of the key. */
export const MIN_RSA_BITS = 2048;
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

/** A PEM written with literal "\n" (as environment variables often hold it) gets real line breaks. */
export function pemText(text: string): string {
  return !text.includes('\n') && text.includes('\\n') ? text.split('\\n').join('\n') : text;
}

/** What is wrong with events.signed_custom_data beyond its shape (the schema checks that): path under it, message. */
export function signedCustomDataProblems(raw: SignedCustomDataFile): Array<{ path: string[]; message: string }> {
  const problems: Array<{ path: string[]; message: string }> = [];
  if (raw.algorithm === 'HS256') {
    if (raw.public_key !== undefined) problems.push({ path: ['public_key'], message: 'HS256 verifies with a shared secret: give secret, not public_key (a public key used as an HMAC secret lets anyone sign)' });
    if (typeof raw.secret !== 'string') problems.push({ path: [], message: 'HS256 needs secret (e.g. secret: ${env:SIGNED_DATA_SECRET})' });
    else if (raw.secret.length < MIN_HS256_SECRET_CHARS) problems.push({ path: ['secret'], message: `the secret must be at least ${MIN_HS256_SECRET_CHARS} characters` });
  } else if (raw.algorithm === 'RS256') {
    if (raw.secret !== undefined) problems.push({ path: ['secret'], message: 'RS256 verifies with the signer\'s public key: give public_key, not secret' });
    if (typeof raw.public_key !== 'string') problems.push({ path: [], message: 'RS256 needs public_key (PEM text or ${env:…})' });
    else if (raw.public_key.includes('PRIVATE KEY')) problems.push({ path: ['public_key'], message: 'this is a private key: give the public key (the private one stays with the signer)' });
    else {
      try {
        const key = crypto.createPublicKey(pemText(raw.public_key));
        const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
        if (key.asymmetricKeyType !== 'rsa') problems.push({ path: ['public_key'], message: `an RSA public key is needed for RS256, this one is ${key.asymmetricKeyType}` });
        else if (bits < MIN_RSA_BITS) problems.push({ path: ['public_key'], message: `the RSA key has ${bits} bits; at least ${MIN_RSA_BITS}` });
      } catch {
        problems.push({ path: ['public_key'], message: 'not a PEM public key ("-----BEGIN PUBLIC KEY-----" …)' });
      }
    }
  }
  return problems;
}

/** The compiled form (call after signedCustomDataProblems found nothing). */
export function compileSignedCustomData(raw: SignedCustomDataFile): SignedCustomData {
  return {
    algorithm: raw.algorithm,
    key: raw.algorithm === 'HS256' ? raw.secret! : pemText(raw.public_key!),
    issuer: raw.issuer,
    audience: raw.audience,
    maxAgeSeconds: raw.max_age_seconds,
  };
}
