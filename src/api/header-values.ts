/**
 * Variables that end up in a CRM request header must be text a header can carry: HTTP sends
 * header values as bytes, so only tab, visible ASCII and Latin-1 (U+0080–U+00FF) survive, and
 * no line breaks. Checked where variables enter (operation calls, platform events), so such a
 * value is a 422 naming the field now, not a network error retried for a week. (Rendering
 * checks the finished header again: src/operations/request.ts.)
 */
import { endpointRequests } from '../config/endpoint-requests';
import type { CompiledEndpoint, Connector } from '../config/types';
import { GatewayError } from '../errors';
import { collectVariables } from '../template/compile';

/** Characters a header value cannot hold. */
export const NOT_HEADER_SAFE = /[^\t\x20-\x7e\x80-\xff]/;

/** Variables the gateway derives from another one (src/template/derived.ts): a header using the derived name depends on the source. */
const DERIVED_FROM: Readonly<Record<string, string>> = { FIRST_NAME: 'NAME', LAST_NAME: 'NAME', CUSTOM_USER_ID: 'EMAIL' };

const BY_ENDPOINT = new WeakMap<CompiledEndpoint, ReadonlyMap<string, string>>();
const BY_CONNECTOR = new WeakMap<Connector, ReadonlyMap<string, string>>();

/** Variable → a header it is sent in, for every request of one endpoint. */
function endpointHeaderVariables(ep: CompiledEndpoint): ReadonlyMap<string, string> {
  let found = BY_ENDPOINT.get(ep);
  if (!found) {
    const m = new Map<string, string>();
    for (const e of endpointRequests(ep)) {
      for (const [name, node] of e.headers) {
        for (const v of collectVariables(node)) {
          if (!m.has(v)) m.set(v, name);
          const source = DERIVED_FROM[v];
          if (source && !m.has(source)) m.set(source, name);
        }
      }
    }
    found = m;
    BY_ENDPOINT.set(ep, found);
  }
  return found;
}

/** Variable → header, over all endpoints of a connector (session flows may call any of them). */
function connectorHeaderVariables(c: Connector): ReadonlyMap<string, string> {
  let found = BY_CONNECTOR.get(c);
  if (!found) {
    const m = new Map<string, string>();
    for (const ep of c.endpoints.values()) for (const [v, h] of endpointHeaderVariables(ep)) if (!m.has(v)) m.set(v, h);
    found = m;
    BY_CONNECTOR.set(c, found);
  }
  return found;
}

/**
 * Refuses variables whose value cannot be sent in the header that uses them: for one endpoint
 * (an operation call) or, without one, for any endpoint of the connector (a session event).
 */
export function checkHeaderVariables(c: Connector, ep: CompiledEndpoint | undefined, variables: Readonly<Record<string, unknown>>, fieldPrefix: string): void {
  const used = ep ? endpointHeaderVariables(ep) : connectorHeaderVariables(c);
  if (used.size === 0) return;
  for (const [name, header] of used) {
    const v = variables[name];
    if (typeof v === 'string' && NOT_HEADER_SAFE.test(v)) {
      const field = `${fieldPrefix}${name}`;
      throw new GatewayError('invalid_variable_value', `${field}: it is sent in the ${header} header, which can carry only Latin-1 text without line breaks`, {
        field,
        variable: name,
        header,
        errors: [{ field, message: 'not sendable in a header' }],
      });
    }
  }
}
