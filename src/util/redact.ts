/**
 * Secrets masking. Every string that leaves the process (log lines, problem details, dry-run
 * previews, API responses, contract-test reports) passes through the `Redactor` of the gateway
 * that produced it. Masking by value, not by field name, catches a secret wherever it ends up
 * (an echoed CRM error, a URL, a JSON-escaped body).
 *
 * What is a secret: the connector's configured credentials and `${env:…}` values (one set per
 * connector, replaced when the connector reloads) and the tokens the CRM's token endpoint
 * issues (the most recent ones, bounded). Values a caller sends (the headers of a
 * File_Available download) are never registered here: they are masked in that one request's
 * own messages through `with()`, so a caller cannot turn an ordinary word into a mask for
 * everyone.
 *
 * Each secret is masked in every form it takes on the wire: raw, URL-encoded (both flavours),
 * JSON-escaped (once and twice: a CRM body quoted in a log line), base64 and base64url; Basic
 * credentials are registered as their base64 `user:password`.
 */
/** What of a connector the redactor needs (structural, so util/ does not depend on config/). */
export interface SecretsSource {
  readonly secrets: readonly string[];
  readonly auth:
    | { readonly type: 'basic'; readonly username: string; readonly password: string }
    | { readonly type: 'oauth2'; readonly clientId: string; readonly clientSecret: string }
    | { readonly type: string };
}

export const MASK = '****';
/**
 * Shorter values cannot be masked by value without masking unrelated text (a 3-letter secret
 * would blank every word that contains it). Configured credentials shorter than this are a
 * configuration error; other short values are not treated as secrets.
 */
export const MIN_SECRET_LENGTH = 8;
/** Tokens learnt from CRMs kept for masking; the oldest (long expired) are forgotten first. */
const DEFAULT_MAX_LEARNT = 1024;

/** What masking a text needs: the Gateway's `Redactor`, or a scoped view of it. */
export interface Redaction {
  redact(text: string): string;
  redactDeep<T>(value: T): T;
}

/** Every form `value` takes on the wire, of at least MIN_SECRET_LENGTH characters. */
export function secretForms(value: string): string[] {
  if (value.length < MIN_SECRET_LENGTH) return [];
  const json = JSON.stringify(value).slice(1, -1);
  const forms = new Set([
    value,
    encodeURIComponent(value),
    formEncode(value),
    json,
    JSON.stringify(json).slice(1, -1),
    Buffer.from(value).toString('base64'),
    Buffer.from(value).toString('base64url'),
  ]);
  return [...forms].filter((f) => f.length >= MIN_SECRET_LENGTH);
}

/** application/x-www-form-urlencoded as RFC 6749 (and simple-oauth2) encode client credentials. */
function formEncode(value: string): string {
  return encodeURIComponent(value)
    .replace(/%20/g, '+')
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The base64 part of `Authorization: Basic …` for these credentials. */
export function basicCredential(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`).toString('base64');
}

/**
 * A connector's configured secrets, with the derived values that travel instead of them:
 * Basic credentials (basic auth, and OAuth client credentials sent in the header, both as
 * given and form-encoded as RFC 6749 section 2.3.1 asks).
 */
export function connectorSecrets(c: SecretsSource): string[] {
  const out = [...c.secrets];
  const a = c.auth;
  if (a.type === 'basic' && 'username' in a) out.push(basicCredential(a.username, a.password));
  if (a.type === 'oauth2' && 'clientId' in a)
    out.push(a.clientSecret, basicCredential(a.clientId, a.clientSecret), basicCredential(formEncode(a.clientId), formEncode(a.clientSecret)));
  return out;
}

export class Redactor implements Redaction {
  /** Configured secrets by source (a connector id): forms. */
  private readonly sources = new Map<string, string[]>();
  /** Learnt secrets (CRM tokens), oldest first: value → forms. */
  private readonly learnt = new Map<string, string[]>();
  /** One matcher for all forms, longest first; rebuilt only after the set changed. */
  private matcher: RegExp | null | undefined = null;

  constructor(private readonly maxLearnt = DEFAULT_MAX_LEARNT) {}

  /** Replaces the configured secrets of one source (a connector reloaded with new credentials). */
  setSource(source: string, values: Iterable<string>): void {
    const forms = [...new Set([...values].flatMap(secretForms))];
    const before = this.sources.get(source);
    if (before && before.length === forms.length && before.every((f, i) => f === forms[i])) return;
    // The replaced version's runtime finishes its calls in flight with the old credentials:
    // keep masking them (one generation back, so the set stays bounded).
    if (before) this.sources.set(`${source}\u0000previous`, before);
    if (forms.length) this.sources.set(source, forms);
    else this.sources.delete(source);
    this.matcher = undefined;
  }

  /** A secret learnt at run time (a token the CRM issued). Cheap when already known. */
  add(value: string | undefined | null): void {
    if (!value || value.length < MIN_SECRET_LENGTH) return;
    const known = this.learnt.get(value);
    if (known) {
      // Still in use: move it to the young end so it is not the next one forgotten.
      this.learnt.delete(value);
      this.learnt.set(value, known);
      return;
    }
    this.learnt.set(value, secretForms(value));
    while (this.learnt.size > this.maxLearnt) this.learnt.delete(this.learnt.keys().next().value as string);
    this.matcher = undefined;
  }

  redact(text: string): string {
    if (text.length < MIN_SECRET_LENGTH) return text;
    const m = this.currentMatcher();
    return m ? text.replace(m, MASK) : text;
  }

  redactDeep<T>(value: T): T {
    return redactDeepWith(this, value);
  }

  /**
   * A view that also masks `extra` (values a caller sent for one request, e.g. download
   * headers) without registering them for anyone else.
   */
  with(extra: Iterable<string>): Redaction {
    // A credential header ("Bearer abc…") also travels without its scheme word (in a URL, a body).
    const values = [...extra].filter((v) => typeof v === 'string').flatMap((v) => [v, v.replace(/^[A-Za-z][\w-]*\s+/, '')]);
    const own = [...new Set(values.flatMap(secretForms))];
    if (own.length === 0) return this;
    // The gateway's secrets first (a caller value containing one leaves it masked), then the caller's:
    // a small matcher of its own, so a burst of downloads does not rebuild the large one.
    const matcher = buildMatcher(own)!;
    const scoped: Redaction = {
      redact: (text) => (text.length < MIN_SECRET_LENGTH ? text : this.redact(text).replace(matcher, MASK)),
      redactDeep: (value) => redactDeepWith(scoped, value),
    };
    return scoped;
  }

  private allForms(): string[] {
    const all: string[] = [];
    this.sources.forEach((f) => all.push(...f));
    this.learnt.forEach((f) => all.push(...f));
    return all;
  }

  private currentMatcher(): RegExp | null {
    if (this.matcher === undefined) this.matcher = buildMatcher(this.allForms());
    return this.matcher;
  }
}

/** One alternation of the escaped forms, longest first (a secret that contains another masks whole). */
function buildMatcher(forms: string[]): RegExp | null {
  const unique = [...new Set(forms)].sort((a, b) => b.length - a.length);
  if (unique.length === 0) return null;
  return new RegExp(unique.map(escapeRegExp).join('|'), 'g');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * Copy on write: a plain object or array comes back as itself when nothing in it was masked
 * (the usual case: API answers and views were copied on every call, which showed in profiles).
 * Anything else that is an object is rebuilt as a plain object, as before.
 */
function redactDeepWith<T>(r: Redaction, value: T): T {
  if (typeof value === 'string') return r.redact(value) as T;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = redactDeepWith(r, value[i]);
      if (out) out[i] = v;
      else if (v !== value[i]) {
        out = value.slice(0, i);
        out[i] = v;
      }
    }
    return (out ?? value) as T;
  }
  if (value && typeof value === 'object' && !(value instanceof Buffer)) {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeepWith(r, v)])) as T;
    }
    let out: Record<string, unknown> | undefined;
    for (const k in value) {
      if (!Object.hasOwn(value, k)) continue;
      const before = (value as Record<string, unknown>)[k];
      const v = redactDeepWith(r, before);
      if (v !== before) {
        out ??= { ...(value as Record<string, unknown>) };
        out[k] = v;
      }
    }
    return (out ?? value) as T;
  }
  return value;
}
