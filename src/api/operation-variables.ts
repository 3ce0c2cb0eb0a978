/**
 * GET /v1/connectors/{id}/operations: per usable operation, the variables its requests use and
 * where each one goes (URL path, query, a header, the body), so a form can ask for exactly
 * those. Read from the compiled templates of every request the endpoint can send (itself, its
 * fallback searches, its dedupe and created-marker finds); a variable the endpoint references
 * elsewhere only (an upload's comment template, the file variables) counts as body.
 */
import { endpointRequests } from '../config/endpoint-requests';
import type { CompiledEndpoint, Connector } from '../config/types';
import { collectVariables } from '../template/compile';

export type VariableSource = 'path' | 'query' | 'header' | 'body';

export interface OperationVariables {
  operation: string;
  method: string;
  url_template: string;
  variables: Array<{ name: string; required: boolean; source: VariableSource }>;
  /** A write, which may be sent durably (async or with an Idempotency-Key); finds answer at once. */
  durable: boolean;
}

export function operationVariables(c: Connector): OperationVariables[] {
  return [...c.endpoints.values()].filter((ep) => ep.usable).map(describe);
}

function describe(ep: CompiledEndpoint): OperationVariables {
  const sources = new Map<string, VariableSource>();
  const note = (name: string, source: VariableSource) => {
    if (!sources.has(name)) sources.set(name, source);
  };
  for (const e of endpointRequests(ep)) {
    // A literal "?" in the URL template starts its query: variables after it are query values.
    let inQuery = false;
    for (const p of e.url) {
      if (typeof p === 'string') inQuery ||= p.includes('?');
      else note(p.v, inQuery ? 'query' : 'path');
    }
    for (const [, node] of e.query) for (const v of collectVariables(node)) note(v, 'query');
    for (const [, node] of e.headers) for (const v of collectVariables(node)) note(v, 'header');
    if (e.params) for (const v of collectVariables(e.params)) note(v, e.method === 'GET' ? 'query' : 'body');
  }
  for (const v of ep.variables) note(v, 'body');
  const required = new Set(ep.requiredVariables);
  return {
    operation: ep.operation,
    method: ep.method,
    url_template: ep.urlSource,
    variables: [...sources].map(([name, source]) => ({ name, required: required.has(name), source })),
    durable: !ep.isFind,
  };
}
