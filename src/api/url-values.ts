/**
 * Variables that end up in a CRM request URL (its path, its query, and every param of a GET)
 * are bounded in length where they enter: no CRM takes a URL of megabytes (they answer 414,
 * which would be retried as a CRM failure), and encoding one costs time on the event loop. A
 * longer value is a 422 naming the field. Text bodies (comments, descriptions, files) are
 * not affected: only what a URL carries.
 */
import { endpointRequests } from '../config/endpoint-requests';
import type { CompiledEndpoint, Connector } from '../config/types';
import { GatewayError } from '../errors';
import { collectVariables } from '../template/compile';

/** The longest value a URL may carry for one variable (CRMs refuse URLs beyond 8–16 KiB). */
export const MAX_URL_VALUE_LENGTH = 8 * 1024;

const BY_ENDPOINT = new WeakMap<CompiledEndpoint, ReadonlySet<string>>();
const BY_CONNECTOR = new WeakMap<Connector, ReadonlySet<string>>();

function endpointUrlVariables(ep: CompiledEndpoint): ReadonlySet<string> {
  let found = BY_ENDPOINT.get(ep);
  if (!found) {
    const s = new Set<string>();
    for (const e of endpointRequests(ep)) {
      for (const p of e.url) if (typeof p !== 'string') s.add(p.v);
      for (const [, node] of e.query) collectVariables(node, s);
      if (e.method === 'GET' && e.params) collectVariables(e.params, s);
    }
    found = s;
    BY_ENDPOINT.set(ep, found);
  }
  return found;
}

function connectorUrlVariables(c: Connector): ReadonlySet<string> {
  let found = BY_CONNECTOR.get(c);
  if (!found) {
    const s = new Set<string>();
    for (const ep of c.endpoints.values()) for (const v of endpointUrlVariables(ep)) s.add(v);
    found = s;
    BY_CONNECTOR.set(c, found);
  }
  return found;
}

/** Refuses a variable too long for the URL that carries it: for one endpoint, or any endpoint of the connector (events). */
export function checkUrlVariables(c: Connector, ep: CompiledEndpoint | undefined, variables: Readonly<Record<string, unknown>>, fieldPrefix: string): void {
  const used = ep ? endpointUrlVariables(ep) : connectorUrlVariables(c);
  for (const name of used) {
    const v = variables[name];
    if (typeof v === 'string' && v.length > MAX_URL_VALUE_LENGTH) {
      const field = `${fieldPrefix}${name}`;
      throw new GatewayError(
        'validation_failed',
        `${field}: ${v.length} characters; a value sent in the CRM request URL may have at most ${MAX_URL_VALUE_LENGTH}`,
        { errors: [{ field, message: `longer than ${MAX_URL_VALUE_LENGTH} characters` }] },
      );
    }
  }
}
