/**
 * What a compiled connector needs at run time: its HTTP client (keep-alive pool, timeout) and
 * its auth provider. Built once per connector version, reused by every call.
 */
import http from 'node:http';
import https from 'node:https';
import { createAuthProvider, type AuthProvider } from '../auth';
import type { TokenStore } from '../auth/token-store';
import type { Connector } from '../config/types';
import { HttpClient } from '../http/client';
import { SsrfGuard, portOf, type ListenAddresses } from '../http/ssrf';
import { connectorSecrets, type Redactor } from '../util/redact';
import { UNLIMITED, type CrmLimiter } from '../pacing/limiter';

export interface ConnectorRuntime {
  connector: Connector;
  http: HttpClient;
  auth: AuthProvider;
  /** The gateway's secrets masking (this connector's secrets and tokens are registered in it). */
  redactor: Redactor;
  /** The connector's SSRF guard: what its other outbound connections (storage) check too. */
  guard: SsrfGuard;
  /** Outbound pacing (UNLIMITED without rate_limit:); kept by the gateway across reloads. */
  limiter: CrmLimiter;
}

export interface RuntimeDeps {
  tokenStore: TokenStore;
  /** Absolute URL of the OAuth callback route. */
  oauthRedirectUrl: string;
  now?: () => number;
  /** The gateway's redactor: the connector's secrets are registered there, tokens as they come. */
  redactor: Redactor;
  /** Where the gateway listens: never a destination. */
  listen?: ListenAddresses;
  onToken?: (event: { connector: string; grant: string; ok: boolean; error?: string }) => void;
  /** The connector's limiter (the gateway keeps one per connector id, so a reload keeps its state). */
  limiter?: CrmLimiter;
}

export function createRuntime(connector: Connector, deps: RuntimeDeps): ConnectorRuntime {
  const guard = new SsrfGuard(connector.network, deps.listen);
  deps.redactor.setSource(connector.id, connectorSecrets(connector));
  // The OAuth token requests (simple-oauth2 / wreck) get guarded agents of their own, without
  // keep-alive: wreck mishandles shared keep-alive agents, and token calls are rare.
  // Knowing the token URL's port, the lookup also refuses the gateway itself there.
  const lookup = guard.lookupFor(connector.auth.type === 'oauth2' ? portOf(new URL(connector.auth.tokenUrl)) : undefined);
  const agents = { http: new http.Agent({ lookup }), https: new https.Agent({ lookup }) };
  const limiter = deps.limiter ?? UNLIMITED;
  // rate_limit.count_token_calls: an OAuth token request takes a slot like any CRM call.
  const beforeTokenCall =
    limiter.limited && connector.rateLimit?.countTokenCalls
      ? async () => (await limiter.acquire('oauth_token', (deps.now ?? Date.now)() + connector.timeoutMs))()
      : undefined;
  return {
    limiter,
    connector,
    redactor: deps.redactor,
    guard,
    http: new HttpClient({ timeoutMs: connector.timeoutMs, guard }),
    auth: createAuthProvider(connector, {
      agents,
      guard,
      redactor: deps.redactor,
      store: deps.tokenStore,
      redirectUrl: deps.oauthRedirectUrl,
      now: deps.now,
      onToken: deps.onToken && ((e) => deps.onToken!({ connector: connector.id, ...e })),
      ...(beforeTokenCall ? { beforeTokenCall } : {}),
    }),
  };
}
