import type { Request, RequestHandler, Response, Router } from 'express';
import express from 'express';
import { jsonOrFormObject } from './body';
import { randomToken, type Clock } from './clock';
import type { AuthMethod } from './request-log';

export interface BasicCredential {
  username: string;
  password: string;
}
export interface ApiKeyCredential {
  header: string;
  value: string;
}
export interface OAuthClientOptions {
  clientId: string;
  clientSecret: string;
  /** Default 3600. */
  accessTokenTtlSec?: number;
}
/** Per-instance departures from the flavour's OAuth behaviour. */
export interface OAuthClientBehaviour {
  /**
   * Overrides the flavour: true = each refresh_token grant issues a new refresh token and
   * revokes the old one, whose reuse is refused with invalid_grant (what two replicas refreshing
   * at once without coordination run into); false = refresh tokens stay valid.
   */
  rotateRefreshTokens?: boolean;
}
export interface SampleCrmAuthOptions {
  /** Zendesk API tokens are basic credentials "email/token" : token; plain email:password also works. */
  basic?: BasicCredential[];
  /** Custom header auth; header names are matched case-insensitively. */
  apiKeys?: ApiKeyCredential[];
  oauth?: OAuthClientOptions & OAuthClientBehaviour;
}

/** Used when no `auth` option is given at all. */
export const DEFAULT_SAMPLE_CRM_AUTH: {
  readonly basic: readonly Readonly<BasicCredential>[];
  readonly apiKeys: readonly Readonly<ApiKeyCredential>[];
  readonly oauth: Readonly<Required<OAuthClientOptions>>;
} = {
  basic: [{ username: 'agent@example.com/token', password: 'sample-token' }],
  apiKeys: [{ header: 'X-Api-Key', value: 'sample-key' }],
  oauth: { clientId: 'sample-client', clientSecret: 'sample-secret', accessTokenTtlSec: 3600 },
};

export function resolveAuthOptions(auth: SampleCrmAuthOptions | undefined): SampleCrmAuthOptions {
  if (auth) return auth;
  return {
    basic: DEFAULT_SAMPLE_CRM_AUTH.basic.map((c) => ({ ...c })),
    apiKeys: DEFAULT_SAMPLE_CRM_AUTH.apiKeys.map((c) => ({ ...c })),
    oauth: { ...DEFAULT_SAMPLE_CRM_AUTH.oauth },
  };
}

// ---------------------------------------------------------------------------------------------
// OAuth 2 authorization server (RFC 6749 subset: code, refresh_token, client_credentials)
// ---------------------------------------------------------------------------------------------

export type OAuthGrantType = 'authorization_code' | 'refresh_token' | 'client_credentials';

export interface OAuthCodeRecord {
  code: string;
  clientId: string;
  redirectUri: string | null;
  scope: string;
  state: string | null;
  issuedAtMs: number;
  expiresAtMs: number;
  used: boolean;
  /** access_type of the authorize request (e.g. "offline"), for OAuthBehavior.refreshTokenNeedsOfflineAccess. */
  accessType?: string | null;
}
export interface OAuthAccessTokenRecord {
  token: string;
  clientId: string;
  scope: string;
  grantType: OAuthGrantType;
  issuedAtMs: number;
  expiresAtMs: number;
  refreshToken: string | null;
}
export interface OAuthRefreshTokenRecord {
  token: string;
  clientId: string;
  scope: string;
  issuedAtMs: number;
  revoked: boolean;
  /** Set when rotated: the refresh token that replaced this one. */
  replacedBy: string | null;
}
export interface OAuthState {
  codes: Record<string, OAuthCodeRecord>;
  accessTokens: Record<string, OAuthAccessTokenRecord>;
  refreshTokens: Record<string, OAuthRefreshTokenRecord>;
  /** Successful token responses per grant type, so tests can assert a refresh really happened. */
  issued: Record<OAuthGrantType, number>;
  /**
   * Refresh requests refused because their refresh token had already been rotated (reused by a
   * second client): what two replicas refreshing at once without coordination cause.
   */
  reusedRefreshTokens: number;
}

export interface OAuthPaths {
  authorize: string;
  token: string;
}

/**
 * Optional per-flavour reshaping of a token endpoint answer (success or error), for CRMs whose
 * token responses differ from RFC 6749's (e.g. Salesforce: instance_url, issued_at, no expires_in).
 */
export type OAuthTokenResponseShaper = (answer: { status: number; body: Record<string, unknown> }, req: Request) => { status: number; body: unknown };

/**
 * How a CRM's OAuth server departs from the defaults (RFC 6749 with rotating refresh tokens, as
 * Zendesk). All optional; a flavour sets them from create() with `ctx.oauth.configure({...})`.
 */
export interface OAuthBehavior {
  /** Default true. false: a refresh_token grant keeps the refresh token valid and answers without one (Zoho). */
  rotateRefreshTokens?: boolean;
  /** Default false. true: the code grant returns a refresh token only if the authorize request had access_type=offline (Zoho, Google). */
  refreshTokenNeedsOfflineAccess?: boolean;
  /** Default false. true: token request parameters may also come in the query string (Zoho accepts them there). */
  acceptQueryParams?: boolean;
  /** Authorization header schemes accepted for access tokens besides "Bearer", e.g. ["Zoho-oauthtoken"]. */
  extraTokenSchemes?: string[];
}

/** Zendesk authorization codes are valid for 120 seconds. */
const CODE_TTL_MS = 120_000;
const DEFAULT_SCOPE = 'read write';

interface OAuthError {
  status: number;
  body: { error: string; error_description: string };
  /** RFC 6749 §5.2: 401 + WWW-Authenticate when the client authenticated via the header. */
  challenge?: string;
}

type TokenResult = { ok: true; body: Record<string, unknown> } | ({ ok: false } & OAuthError);

function oauthError(status: number, error: string, description: string, challenge?: string): { ok: false } & OAuthError {
  return { ok: false, status, body: { error, error_description: description }, challenge };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function parseBasicHeader(header: string | undefined): { user: string; pass: string } | undefined {
  const m = /^basic\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), pass: decoded.slice(colon + 1) };
}

function bearerToken(header: string | undefined, extraSchemes: readonly string[] = []): string | undefined {
  const m = /^(\S+)\s+(\S+)\s*$/.exec(header ?? '');
  if (!m) return undefined;
  const scheme = m[1].toLowerCase();
  return scheme === 'bearer' || extraSchemes.some((s) => s.toLowerCase() === scheme) ? m[2] : undefined;
}

function formDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

export class OAuthServer {
  readonly state: OAuthState = { codes: {}, accessTokens: {}, refreshTokens: {}, issued: emptyCounters(), reusedRefreshTokens: 0 };
  private behavior: Readonly<OAuthBehavior> = {};

  constructor(
    private readonly client: (OAuthClientOptions & OAuthClientBehaviour) | undefined,
    private readonly clock: Clock,
  ) {}

  get enabled(): boolean {
    return this.client !== undefined;
  }

  /** Sets the flavour's departures from the defaults (see OAuthBehavior); replaces earlier settings. */
  configure(behavior: OAuthBehavior): void {
    this.behavior = { ...behavior };
  }

  /** Authorization header schemes accepted besides "Bearer". */
  get extraTokenSchemes(): readonly string[] {
    return this.behavior.extraTokenSchemes ?? [];
  }

  /** In place, so references to `state` held elsewhere (the flavour's state.tokens) stay valid. */
  reset(): void {
    this.state.codes = {};
    this.state.accessTokens = {};
    this.state.refreshTokens = {};
    this.state.issued = emptyCounters();
    this.state.reusedRefreshTokens = 0;
  }

  /** Makes every access token expired now; refresh tokens stay usable (forces the 401 → refresh path). */
  expireAllTokens(options: { includeRefreshTokens?: boolean } = {}): void {
    const now = this.clock();
    for (const t of Object.values(this.state.accessTokens)) t.expiresAtMs = Math.min(t.expiresAtMs, now);
    if (options.includeRefreshTokens) {
      for (const r of Object.values(this.state.refreshTokens)) r.revoked = true;
    }
  }

  /** 'ok', or why the bearer token is not acceptable. */
  checkAccessToken(token: string): 'ok' | 'unknown' | 'expired' {
    const rec = Object.hasOwn(this.state.accessTokens, token) ? this.state.accessTokens[token] : undefined;
    if (!rec) return 'unknown';
    return this.clock() >= rec.expiresAtMs ? 'expired' : 'ok';
  }

  authorize(query: Record<string, unknown>): { redirect: string } | { json: Record<string, unknown>; status: number } {
    const clientId = str(query.client_id);
    const redirectUri = str(query.redirect_uri) ?? null;
    const state = str(query.state) ?? null;
    if (!this.client || clientId !== this.client.clientId) {
      return { status: 400, json: { error: 'invalid_client', error_description: 'Unknown client_id' } };
    }
    let target: URL | null = null;
    if (redirectUri !== null) {
      try {
        target = new URL(redirectUri);
      } catch {
        return { status: 400, json: { error: 'invalid_request', error_description: 'redirect_uri is not a valid URL' } };
      }
    }
    if (query.response_type !== 'code') {
      const err = { error: 'unsupported_response_type', error_description: 'Only response_type=code is supported' };
      if (!target) return { status: 400, json: err };
      target.searchParams.set('error', err.error);
      target.searchParams.set('error_description', err.error_description);
      if (state !== null) target.searchParams.set('state', state);
      return { redirect: target.toString() };
    }
    const now = this.clock();
    const code = randomToken(20);
    this.state.codes[code] = {
      code,
      clientId,
      redirectUri,
      scope: str(query.scope) ?? DEFAULT_SCOPE,
      state,
      issuedAtMs: now,
      expiresAtMs: now + CODE_TTL_MS,
      used: false,
      accessType: str(query.access_type) ?? null,
    };
    // Consent is implicit: an emulator has no user to ask.
    if (!target) {
      // Non-standard convenience: without redirect_uri there is nowhere to send the code.
      return { status: 200, json: { code, state } };
    }
    target.searchParams.set('code', code);
    if (state !== null) target.searchParams.set('state', state);
    return { redirect: target.toString() };
  }

  token(params: Record<string, unknown>, authorization: string | undefined): TokenResult {
    if (!this.client) return oauthError(401, 'invalid_client', 'OAuth is not enabled on this server');
    const basic = parseBasicHeader(authorization);
    const clientId = basic ? formDecode(basic.user) : str(params.client_id);
    const clientSecret = basic ? formDecode(basic.pass) : str(params.client_secret);
    if (clientId !== this.client.clientId || clientSecret !== this.client.clientSecret) {
      return oauthError(
        401,
        'invalid_client',
        'Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.',
        basic ? 'Basic realm="OAuth"' : undefined,
      );
    }
    const grantType = str(params.grant_type);
    switch (grantType) {
      case 'authorization_code':
        return this.redeemCode(params);
      case 'refresh_token':
        return this.rotateRefresh(params);
      case 'client_credentials':
        return { ok: true, body: this.issue('client_credentials', str(params.scope) ?? DEFAULT_SCOPE, false) };
      case undefined:
        return oauthError(400, 'invalid_request', 'The request is missing a required parameter: grant_type.');
      default:
        return oauthError(400, 'unsupported_grant_type', `The authorization grant type ${grantType} is not supported.`);
    }
  }

  private redeemCode(params: Record<string, unknown>): TokenResult {
    const code = str(params.code);
    if (!code) return oauthError(400, 'invalid_request', 'The request is missing a required parameter: code.');
    const rec = Object.hasOwn(this.state.codes, code) ? this.state.codes[code] : undefined;
    const invalid = (why: string) =>
      oauthError(400, 'invalid_grant', `The provided authorization grant is invalid, expired, revoked, or was issued to another client (${why}).`);
    if (!rec || rec.clientId !== this.client?.clientId) return invalid('unknown code');
    if (rec.used) return invalid('code already used');
    if (this.clock() >= rec.expiresAtMs) return invalid('code expired');
    if (rec.redirectUri !== null && str(params.redirect_uri) !== rec.redirectUri) {
      return invalid('redirect_uri does not match the authorization request');
    }
    rec.used = true;
    const withRefresh = !this.behavior.refreshTokenNeedsOfflineAccess || rec.accessType === 'offline';
    return { ok: true, body: this.issue('authorization_code', rec.scope, withRefresh) };
  }

  private rotateRefresh(params: Record<string, unknown>): TokenResult {
    const token = str(params.refresh_token);
    if (!token) return oauthError(400, 'invalid_request', 'The request is missing a required parameter: refresh_token.');
    const rec = Object.hasOwn(this.state.refreshTokens, token) ? this.state.refreshTokens[token] : undefined;
    if (!rec || rec.revoked || rec.clientId !== this.client?.clientId) {
      // Rotation (the default) revokes a refresh token once used: a second use is refused.
      if (rec?.replacedBy) this.state.reusedRefreshTokens++;
      return oauthError(400, 'invalid_grant', 'The provided refresh token is invalid, expired, revoked, or was issued to another client.');
    }
    if ((this.client?.rotateRefreshTokens ?? this.behavior.rotateRefreshTokens) === false) {
      // Non-rotating: the same refresh token stays valid; the answer carries none.
      const body = this.issue('refresh_token', rec.scope, false);
      this.state.accessTokens[String(body.access_token)].refreshToken = token;
      return { ok: true, body };
    }
    const body = this.issue('refresh_token', rec.scope, true);
    rec.revoked = true;
    rec.replacedBy = String(body.refresh_token);
    return { ok: true, body };
  }

  private issue(grantType: OAuthGrantType, scope: string, withRefresh: boolean): Record<string, unknown> {
    const now = this.clock();
    const ttlSec = this.client?.accessTokenTtlSec ?? 3600;
    const clientId = this.client?.clientId ?? '';
    const accessToken = randomToken(32);
    const refreshToken = withRefresh ? randomToken(32) : null;
    this.state.accessTokens[accessToken] = {
      token: accessToken,
      clientId,
      scope,
      grantType,
      issuedAtMs: now,
      expiresAtMs: now + ttlSec * 1000,
      refreshToken,
    };
    if (refreshToken) {
      this.state.refreshTokens[refreshToken] = { token: refreshToken, clientId, scope, issuedAtMs: now, revoked: false, replacedBy: null };
    }
    this.state.issued[grantType]++;
    return {
      access_token: accessToken,
      ...(refreshToken ? { refresh_token: refreshToken } : {}),
      token_type: 'bearer',
      scope,
      expires_in: ttlSec,
    };
  }

  router(paths: OAuthPaths, shape?: OAuthTokenResponseShaper): Router {
    const router = express.Router();
    router.get(paths.authorize, (req, res) => {
      const result = this.authorize(req.query as Record<string, unknown>);
      if ('redirect' in result) res.redirect(302, result.redirect);
      else res.status(result.status).json(result.json);
    });
    router.post(paths.token, (req, res) => {
      const query = this.behavior.acceptQueryParams ? (req.query as Record<string, unknown>) : {};
      const result = this.token({ ...query, ...jsonOrFormObject(req) }, req.headers.authorization);
      res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
      if (!result.ok && result.challenge) res.set('WWW-Authenticate', result.challenge);
      const answer = result.ok ? { status: 200, body: result.body } : { status: result.status, body: result.body };
      const shaped = shape ? shape(answer, req) : answer;
      res.status(shaped.status).json(shaped.body);
    });
    return router;
  }
}

function emptyCounters(): Record<OAuthGrantType, number> {
  return { authorization_code: 0, refresh_token: 0, client_credentials: 0 };
}

// ---------------------------------------------------------------------------------------------
// Request authentication for API routes
// ---------------------------------------------------------------------------------------------

export type AuthOutcome = { ok: true; method: AuthMethod; subject: string } | { ok: false; bearer?: 'unknown' | 'expired' };

export function authenticate(req: Request, options: SampleCrmAuthOptions, oauth: OAuthServer): AuthOutcome {
  const authorization = req.headers.authorization;
  const bearer = bearerToken(authorization, oauth.extraTokenSchemes);
  let bearerProblem: 'unknown' | 'expired' | undefined;
  if (bearer !== undefined) {
    const check = oauth.checkAccessToken(bearer);
    if (check === 'ok') return { ok: true, method: 'bearer', subject: oauth.state.accessTokens[bearer].clientId };
    bearerProblem = check;
  }
  const basic = parseBasicHeader(authorization);
  if (basic && (options.basic ?? []).some((c) => c.username === basic.user && c.password === basic.pass)) {
    return { ok: true, method: 'basic', subject: basic.user };
  }
  // API keys live in their own header, so they are honoured even next to a bad Authorization.
  for (const key of options.apiKeys ?? []) {
    if (req.headers[key.header.toLowerCase()] === key.value) return { ok: true, method: 'api_key', subject: key.header };
  }
  return { ok: false, bearer: bearerProblem };
}

export interface AuthFailureResponse {
  status: number;
  body: unknown;
  /** Body when a Bearer token was presented but is unknown or expired; defaults to `body`. */
  bearerBody?: unknown;
}

export function authMiddleware(
  options: SampleCrmAuthOptions,
  oauth: OAuthServer,
  failure: AuthFailureResponse,
  onSuccess: (req: Request, method: AuthMethod, subject: string) => void,
): RequestHandler {
  return (req: Request, res: Response, next) => {
    const outcome = authenticate(req, options, oauth);
    if (outcome.ok) {
      onSuccess(req, outcome.method, outcome.subject);
      next();
      return;
    }
    if (outcome.bearer) {
      const description = outcome.bearer === 'expired' ? 'The access token expired' : 'The access token is invalid';
      res.set('WWW-Authenticate', `Bearer realm="api", error="invalid_token", error_description="${description}"`);
      res.status(failure.status).json(failure.bearerBody ?? failure.body);
      return;
    }
    res.status(failure.status).json(failure.body);
  };
}
