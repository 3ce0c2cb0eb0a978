/**
 * The key of `events.signed_custom_data`, checked when a connector loads (a short secret, a
 * private key, a non-RSA or small key are load errors naming the path). Verifying tokens with
 * it is flows/signed-data.ts.
 */
import crypto from 'node:crypto';
import type { SignedCustomData, SignedCustomDataFile } from './types';

/** HS256 secrets shorter than this are refused: a short HMAC key can be brute-forced offline. */
export const MIN_HS256_SECRET_CHARS = 32;
/** RSA keys smaller than this are refused. */
export const MIN_RSA_BITS = 2048;

/** A PEM written with literal "\n" (as environment variables often hold it) gets real line breaks. */
export function pemText(text: string): string {
  return !text.includes('\n') && text.includes('\\n') ? text.split('\\n').join('\n') : text;
}

/** What is wrong with events.signed_custom_data beyond its shape (the schema checks that): path under it, message. */
export function signedCustomDataProblems(raw: SignedCustomDataFile): Array<{ path: string[]; message: string }> {
  const problems: Array<{ path: string[]; message: string }> = [];
  if (raw.algorithm === 'HS256') {
    if (raw.public_key !== undefined)
      problems.push({
        path: ['public_key'],
        message: 'HS256 verifies with a shared secret: give secret, not public_key (a public key used as an HMAC secret lets anyone sign)',
      });
    if (typeof raw.secret !== 'string') problems.push({ path: [], message: 'HS256 needs secret (e.g. secret: ${env:SIGNED_DATA_SECRET})' });
    else if (raw.secret.length < MIN_HS256_SECRET_CHARS)
      problems.push({ path: ['secret'], message: `the secret must be at least ${MIN_HS256_SECRET_CHARS} characters` });
  } else if (raw.algorithm === 'RS256') {
    if (raw.secret !== undefined) problems.push({ path: ['secret'], message: "RS256 verifies with the signer's public key: give public_key, not secret" });
    if (typeof raw.public_key !== 'string') problems.push({ path: [], message: 'RS256 needs public_key (PEM text or ${env:…})' });
    else if (raw.public_key.includes('PRIVATE KEY'))
      problems.push({ path: ['public_key'], message: 'this is a private key: give the public key (the private one stays with the signer)' });
    else {
      try {
        const key = crypto.createPublicKey(pemText(raw.public_key));
        const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
        if (key.asymmetricKeyType !== 'rsa')
          problems.push({ path: ['public_key'], message: `an RSA public key is needed for RS256, this one is ${key.asymmetricKeyType}` });
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
