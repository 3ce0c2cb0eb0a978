/**
 * Every request one endpoint can send: itself, its dedupe check, each fallback search and the
 * search by created marker. Checks of what variables may hold (URL and header bounds at the
 * API edge) walk this one list, so a request kind added to endpoints is covered by all of them.
 */
import type { CompiledEndpoint } from './types';

export function endpointRequests(ep: CompiledEndpoint): CompiledEndpoint[] {
  return [ep, ...(ep.dedupe ? [ep.dedupe.check] : []), ...ep.searches.map((s) => s.endpoint), ...(ep.createdMarker ? [ep.createdMarker.find] : [])];
}
