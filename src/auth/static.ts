/** Basic and custom-header auth: fixed credentials from the connector (registered as secrets by the runtime). */
import type { AuthProvider } from './types';

export function basicAuth(username: string, password: string): AuthProvider {
  const value = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  return {
    headerNames: ['Authorization'],
    async apply(headers) {
      headers.Authorization = value;
    },
    async onUnauthorized() {
      return false;
    },
  };
}

export function headerAuth(fixed: Readonly<Record<string, string>>): AuthProvider {
  return {
    headerNames: Object.keys(fixed),
    async apply(headers) {
      Object.assign(headers, fixed);
    },
    async onUnauthorized() {
      return false;
    },
  };
}

export const noAuth: AuthProvider = {
  headerNames: [],
  async apply() {
    /* nothing to add */
  },
  async onUnauthorized() {
    return false;
  },
};
