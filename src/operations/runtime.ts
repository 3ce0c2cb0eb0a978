/**
 * What a compiled connector needs at run time: its HTTP client (keep-alive, timeout) and
 * its auth provider. Built once per connector version, reused by every call.
 */
import type { AxiosInstance } from 'axios';
import { createAuthProvider, type AuthProvider } from '../auth';
import type { TokenStore } from '../auth/token-store';
import type { Connector } from '../config/types';
import { createHttpClient } from '../http/client';
import { SsrfGuard } from '../http/ssrf';

export interface ConnectorRuntime {
  connector: Connector;
  http: AxiosInstance;
  auth: AuthProvider;
}

export interface RuntimeDeps {
  tokenStore: TokenStore;
  /** Absolute URL of the OAuth callback route. */
  oauthRedirectUrl: string;
  now?: () => number;
  onToken?: (event: { connector: string; grant: string; ok: boolean; error?: string }) => void;
}

export function createRuntime(connector: Connector, deps: RuntimeDeps): ConnectorRuntime {
  const { client, agents } = createHttpClient({ timeoutMs: connector.timeoutMs, guard: new SsrfGuard(connector.network) });
  return {
    connector,
    http: client,
    auth: createAuthProvider(connector, {
      agents,
      store: deps.tokenStore,
      redirectUrl: deps.oauthRedirectUrl,
      now: deps.now,
      onToken: deps.onToken && ((e) => deps.onToken!({ connector: connector.id, ...e })),
    }),
  };
}
