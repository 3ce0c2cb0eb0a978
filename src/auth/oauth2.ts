/**
 * OAuth 2.0 for a connector, on simple-oauth2. The gateway, never the integrator, obtains
 * and refreshes tokens:
 *   - client_credentials: a token is fetched on first use and whenever it nears expiry;
 *   - authorization_code: an admin opens GET /v1/connectors/{id}/oauth/authorize once, the
 *     CRM redirects to /v1/oauth/callback, the token (with its refresh token) is persisted and
 *     refreshed from then on.
 * Refresh happens `refresh_ahead_seconds` before expiry, one refresh at a time per
 * connector (concurrent callers share the in-flight promise), and a 401 forces one refresh.
 * Across replicas, the refresh runs under the store's lock (`withRefreshLock`) and starts by
 * reading the token again: a peer that refreshed meanwhile has already stored a valid one.
 */
import crypto from 'node:crypto';
import { AuthorizationCode, ClientCredentials, type AccessToken, type ModuleOptions } from 'simple-oauth2';
import type { Auth } from '../config/types';
import { GatewayError } from '../errors';
import { TokenDecryptError } from './token-cipher';
import { destinationBlocked, type SsrfGuard } from '../http/ssrf';
import type { Redactor } from '../util/redact';
import type { TokenStore, StoredToken } from './token-store';
import type { AuthProvider } from './types';

type OAuthConfig = Extract<Auth, { type: 'oauth2' }>;
/** After an invalid_grant, how often (and how far apart) to look for a peer's new token. */
const PEER_REREADS = 5;
const PEER_REREAD_PAUSE_MS = 100;

export interface OAuthDeps {
  connectorId: string;
  store: TokenStore;
  /** Absolute URL of the gateway's /v1/oauth/callback. */
  redirectUrl: string;
  now?: () => number;
  timeoutMs?: number;
  /** Agents (keep-alive, SSRF-guarded) for the token requests. */
  agents?: { http: import('node:http').Agent; https: import('node:https').Agent };
  /** The connector's SSRF guard: token requests go through the same check as CRM calls. */
  guard?: SsrfGuard;
  /** Where the client secret is registered and every token the CRM issues. */
  redactor: Redactor;
  /** Called after each token fetch or refresh (metrics, logs). */
  onToken?: (event: { grant: string; ok: boolean; error?: string }) => void;
  /** Waits for a rate-limit slot before a token request (rate_limit.count_token_calls). */
  beforeTokenCall?: () => Promise<void>;
}

export class OAuth2Provider implements AuthProvider {
  readonly headerNames = ['Authorization'];
  private inflight?: Promise<StoredToken>;
  /** The access token this process last sent; a 401 on an older one needs no new refresh. */
  private lastSent?: string;
  private readonly now: () => number;
  private readonly moduleOptions: ModuleOptions;

  constructor(
    private readonly cfg: OAuthConfig,
    private readonly deps: OAuthDeps,
  ) {
    this.now = deps.now ?? Date.now;
    const token = new URL(cfg.tokenUrl);
    const authorize = new URL(cfg.authorizationUrl);
    this.moduleOptions = {
      client: { id: cfg.clientId, secret: cfg.clientSecret },
      auth: {
        tokenHost: token.origin,
        tokenPath: token.pathname + token.search,
        authorizeHost: authorize.origin,
        authorizePath: authorize.pathname + authorize.search,
      },
      options: { authorizationMethod: cfg.credentialsIn === 'header' ? 'header' : 'body', bodyFormat: 'form' },
      http: {
        timeout: deps.timeoutMs ?? 10_000,
        ...(deps.agents ? { agents: { http: deps.agents.http, https: deps.agents.https, httpsAllowUnauthorized: deps.agents.https } } : {}),
      } as never,
    };
  }

  async apply(headers: Record<string, string>, opts: { dryRun?: boolean } = {}): Promise<void> {
    if (opts.dryRun) {
      headers.Authorization = 'Bearer ****';
      return;
    }
    const token = await this.validToken();
    this.lastSent = token.access_token;
    headers.Authorization = `${capitalise(token.token_type ?? 'Bearer')} ${token.access_token}`;
  }

  async onUnauthorized(): Promise<boolean> {
    const refused = this.lastSent;
    // Under the refresh lock: marking a token expired is a read-modify-write that must not put
    // back a token (and its already rotated refresh token) a peer has just replaced.
    return this.underRefreshLock(async () => {
      const current = await this.readToken();
      if (!current) return this.cfg.grant === 'client_credentials';
      // Another replica (or an earlier caller) already replaced the refused token: resend with the new one.
      if (refused !== undefined && current.access_token !== refused) return true;
      // Mark it expired so the next apply() refreshes (or re-fetches) exactly once.
      await this.writeToken({ ...current, expires_at: 0 });
      return true;
    });
  }

  private underRefreshLock<T>(fn: () => Promise<T>): Promise<T> {
    const store = this.deps.store;
    return store.withRefreshLock ? store.withRefreshLock(this.deps.connectorId, fn) : fn();
  }

  /** The authorization URL an admin is redirected to (authorization_code only). */
  authorizeUrl(nonce: string): string {
    const client = new AuthorizationCode(this.moduleOptions);
    const params: Record<string, string> = { state: this.cfg.state ? `${this.cfg.state}:${nonce}` : nonce };
    if (this.cfg.includeRedirectUrl) params.redirect_uri = this.deps.redirectUrl;
    if (this.cfg.scope) params.scope = this.cfg.scope;
    if (this.cfg.accessType) params.access_type = this.cfg.accessType;
    return client.authorizeURL(params);
  }

  /** Exchanges the code from the callback for a token and persists it. */
  async completeAuthorization(code: string): Promise<void> {
    const client = new AuthorizationCode(this.moduleOptions);
    const params: Record<string, string> = { code };
    if (this.cfg.includeRedirectUrl) params.redirect_uri = this.deps.redirectUrl;
    if (this.cfg.scope) params.scope = this.cfg.scope;
    const token = await this.track('authorization_code', () => client.getToken(params as never));
    await this.save(token);
  }

  private async validToken(): Promise<StoredToken> {
    const stored = await this.readToken();
    if (stored && !this.nearExpiry(stored)) {
      this.deps.redactor.add(stored.access_token);
      return stored;
    }
    // One refresh at a time: everyone waiting shares the same promise.
    this.inflight ??= this.renewOnce().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /**
   * The refresh, once across every process on the store: under the lock, read the token again
   * (a peer may have refreshed while we waited: use its token) and refresh only if still due.
   */
  private renewOnce(): Promise<StoredToken> {
    return this.underRefreshLock(async () => {
      const current = await this.readToken();
      if (current && !this.nearExpiry(current)) {
        this.deps.redactor.add(current.access_token);
        return current;
      }
      try {
        return await this.renew(current);
      } catch (e) {
        // invalid_grant on a refresh token a peer has just rotated (a replica without the lock,
        // or one whose lock wait timed out): the peer's token is the answer, not a broken connector.
        if (!current?.refresh_token || oauthErrorCode(e) !== 'invalid_grant') throw e;
        const after = await this.peerToken(current.refresh_token);
        if (!after) throw e;
        if (!this.nearExpiry(after)) return after;
        return this.renew(after);
      }
    });
  }

  /**
   * The stored token. One that cannot be decrypted (a key that is not configured, or none) is
   * the operator's to fix: a 409 saying how, never a garbled token. A client_credentials
   * connector has nothing to lose and simply fetches a new one.
   */
  private async readToken(): Promise<StoredToken | undefined> {
    try {
      const token = await this.deps.store.get(this.deps.connectorId);
      // A token another replica stored is as secret here as one this process obtained.
      if (token) {
        this.deps.redactor.add(token.access_token);
        this.deps.redactor.add(token.refresh_token);
      }
      return token;
    } catch (e) {
      if (!(e instanceof TokenDecryptError)) throw e;
      if (this.cfg.grant === 'client_credentials') return undefined;
      throw this.keyProblem(e);
    }
  }

  private async writeToken(token: StoredToken): Promise<void> {
    try {
      await this.deps.store.set(this.deps.connectorId, token);
    } catch (e) {
      throw e instanceof TokenDecryptError ? this.keyProblem(e) : e;
    }
  }

  private keyProblem(e: TokenDecryptError): GatewayError {
    const authorizePath = `/v1/connectors/${this.deps.connectorId}/oauth/authorize`;
    return new GatewayError('oauth_not_authorized', e.message, this.cfg.grant === 'client_credentials' ? {} : { authorize_path: authorizePath }, { cause: e });
  }

  /**
   * After an invalid_grant: the token a peer stored in place of the refresh token we sent, if
   * one does within a moment (its answer from the CRM may still be on its way to the store).
   */
  private async peerToken(refused: string): Promise<StoredToken | undefined> {
    for (let i = 0; i < PEER_REREADS; i++) {
      const after = await this.readToken();
      if (after && after.refresh_token !== refused) return after;
      await new Promise((resolve) => setTimeout(resolve, PEER_REREAD_PAUSE_MS));
    }
    return undefined;
  }

  private nearExpiry(t: StoredToken): boolean {
    return t.expires_at !== undefined && t.expires_at - this.cfg.refreshAheadMs <= this.now();
  }

  private async renew(stored: StoredToken | undefined): Promise<StoredToken> {
    if (stored?.refresh_token) {
      const client = new AuthorizationCode(this.moduleOptions);
      const token = client.createToken({ ...stored, expires_at: undefined } as never);
      const params = this.cfg.scope ? { scope: this.cfg.scope } : {};
      return this.save(await this.track('refresh_token', () => token.refresh(params)));
    }
    if (this.cfg.grant === 'client_credentials') {
      // ClientCredentials rejects the authorize* options.
      const { authorizeHost: _h, authorizePath: _p, ...tokenOnly } = this.moduleOptions.auth;
      const client = new ClientCredentials({ ...this.moduleOptions, auth: tokenOnly });
      const params = this.cfg.scope ? { scope: this.cfg.scope } : {};
      return this.save(await this.track('client_credentials', () => client.getToken(params)));
    }
    throw new GatewayError(
      'oauth_not_authorized',
      `connector ${this.deps.connectorId} needs an OAuth authorization: open /v1/connectors/${this.deps.connectorId}/oauth/authorize`,
      { authorize_path: `/v1/connectors/${this.deps.connectorId}/oauth/authorize` },
    );
  }

  private async track(grant: string, fn: () => Promise<AccessToken>): Promise<AccessToken> {
    // IP literals skip the agents' guarded DNS lookup: the same check as every CRM call first.
    try {
      this.deps.guard?.checkUrl(new URL(this.cfg.tokenUrl));
    } catch (e) {
      this.deps.onToken?.({ grant, ok: false, error: (e as Error).message });
      throw destinationBlocked(`OAuth ${grant}: ${(e as Error).message}`);
    }
    await this.deps.beforeTokenCall?.();
    try {
      const t = await fn();
      this.deps.onToken?.({ grant, ok: true });
      return t;
    } catch (e) {
      const data = (e as { data?: { payload?: unknown } }).data?.payload;
      const detail = data && typeof data === 'object' ? JSON.stringify(data) : (e as Error).message;
      this.deps.onToken?.({ grant, ok: false, error: detail });
      // Refused when connecting (a name that resolved to a private address or to the gateway).
      if ((e as { code?: string }).code === 'ESSRF') throw destinationBlocked(`OAuth ${grant}: ${detail}`);
      throw new GatewayError('crm_request_failed', `OAuth ${grant} request to the token URL failed: ${detail}`, { oauth_grant: grant }, { cause: e });
    }
  }

  private async save(token: AccessToken): Promise<StoredToken> {
    const t = token.token as Record<string, unknown>;
    // Some token servers (Zoho) answer 200 with {"error": …}: that is a refusal, not a token.
    if (typeof t.access_token !== 'string' || t.access_token === '') {
      const why =
        typeof t.error === 'string'
          ? `${t.error}${typeof t.error_description === 'string' ? `: ${t.error_description}` : ''}`
          : 'no access_token in the answer';
      throw new GatewayError('crm_request_failed', `OAuth token URL did not issue a token (${why})`, {
        oauth_error: typeof t.error === 'string' ? t.error : undefined,
      });
    }
    const expiresAt = t.expires_at instanceof Date ? t.expires_at.getTime() : typeof t.expires_in === 'number' ? this.now() + t.expires_in * 1000 : undefined;
    const previous = await this.readToken();
    const stored: StoredToken = {
      access_token: String(t.access_token),
      // Some CRMs do not rotate refresh tokens: keep the old one when none comes back.
      refresh_token: typeof t.refresh_token === 'string' ? t.refresh_token : previous?.refresh_token,
      token_type: typeof t.token_type === 'string' ? t.token_type : 'Bearer',
      scope: typeof t.scope === 'string' ? t.scope : undefined,
      expires_at: expiresAt,
      obtained_at: this.now(),
    };
    this.deps.redactor.add(stored.access_token);
    this.deps.redactor.add(stored.refresh_token);
    await this.writeToken(stored);
    return stored;
  }
}

export function newNonce(): string {
  return crypto.randomBytes(16).toString('base64url');
}

/** The OAuth `error` code (RFC 6749 §5.2) of a failed token request, when the CRM sent one. */
function oauthErrorCode(e: unknown): string | undefined {
  const cause = (e as { cause?: unknown }).cause ?? e;
  const payload = (cause as { data?: { payload?: unknown } }).data?.payload;
  const parsed = typeof payload === 'string' ? safeJson(payload) : payload;
  const code = (parsed as { error?: unknown } | undefined)?.error;
  if (typeof code === 'string') return code;
  // A 200 answer carrying {"error": …} (see save()).
  const ext = (e as { extensions?: { oauth_error?: unknown } }).extensions?.oauth_error;
  return typeof ext === 'string' ? ext : undefined;
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

function capitalise(s: string): string {
  return s.length ? s[0].toUpperCase() + s.slice(1) : s;
}
