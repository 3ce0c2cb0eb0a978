import type { Connector } from '../config/types';
import { OAuth2Provider, type OAuthDeps } from './oauth2';
import { basicAuth, headerAuth, noAuth } from './static';
import type { AuthProvider } from './types';

export type { AuthProvider } from './types';
export { OAuth2Provider } from './oauth2';

export function createAuthProvider(c: Connector, oauth: Omit<OAuthDeps, 'connectorId'>): AuthProvider {
  switch (c.auth.type) {
    case 'basic':
      return basicAuth(c.auth.username, c.auth.password);
    case 'headers':
      return headerAuth(c.auth.headers);
    case 'oauth2':
      return new OAuth2Provider(c.auth, { ...oauth, connectorId: c.id, timeoutMs: c.timeoutMs });
    default:
      return noAuth;
  }
}
