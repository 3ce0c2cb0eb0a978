/**
 * Stateful sample CRM emulators for demos, integration tests and QA.
 *
 * Adding a flavour: write src/sample-crm/<name>/ exporting a FlavorDefinition, then add one
 * entry to FlavorTypes and one to FLAVORS below.
 */
import type { SampleCrmAuthOptions } from './common/auth';
import type { Clock } from './common/clock';
import type { SampleRateLimit } from './common/rate-limit';
import { buildSampleCrm, type FlavorDefinition, type SampleCrmCore } from './common/core';
import { listen } from './common/server';
import { zendeskFlavor, type ZendeskHelpers, type ZendeskState } from './zendesk';
import { hubspotFlavor, type HubSpotHelpers, type HubSpotState } from './hubspot';
import { zohoFlavor, type ZohoHelpers, type ZohoState } from './zoho';
import { salesforceFlavor, type SalesforceHelpers, type SalesforceState } from './salesforce';

/** Per flavour: its state shape and its seed helpers. */
interface FlavorTypes {
  zendesk: { state: ZendeskState; helpers: ZendeskHelpers };
  hubspot: { state: HubSpotState; helpers: HubSpotHelpers };
  zoho: { state: ZohoState; helpers: ZohoHelpers };
  salesforce: { state: SalesforceState; helpers: SalesforceHelpers };
}

export type SampleCrmFlavor = keyof FlavorTypes;

const FLAVORS: { [F in SampleCrmFlavor]: FlavorDefinition<FlavorTypes[F]['state'], FlavorTypes[F]['helpers']> } = {
  zendesk: zendeskFlavor,
  hubspot: hubspotFlavor,
  zoho: zohoFlavor,
  salesforce: salesforceFlavor,
};

export const SAMPLE_CRM_FLAVORS = Object.keys(FLAVORS) as SampleCrmFlavor[];

export interface SampleCrmOptions {
  /** Default "zendesk". */
  flavor?: SampleCrmFlavor;
  /** Absent = DEFAULT_SAMPLE_CRM_AUTH. Given = exactly these credentials, nothing else. */
  auth?: SampleCrmAuthOptions;
  /** ms since epoch; default Date.now. Drives timestamps and token/upload expiry. */
  clock?: Clock;
  /** Default 20 MB. */
  bodyLimitBytes?: number;
  /** An enforced API rate limit: 429 + Retry-After (and the vendor's rate headers) over it. */
  limit?: SampleRateLimit;
}

export type SampleCrm<F extends SampleCrmFlavor = 'zendesk'> = SampleCrmCore<FlavorTypes[F]['state']> & FlavorTypes[F]['helpers'];

export interface RunningSampleCrm<F extends SampleCrmFlavor = 'zendesk'> {
  /** http://127.0.0.1:PORT, no trailing slash. */
  url: string;
  port: number;
  crm: SampleCrm<F>;
  close(): Promise<void>;
}

export function createSampleCrm<F extends SampleCrmFlavor = 'zendesk'>(opts: SampleCrmOptions & { flavor?: F } = {}): SampleCrm<F> {
  const flavor = (opts.flavor ?? 'zendesk') as F;
  const def = FLAVORS[flavor] as FlavorDefinition<FlavorTypes[F]['state'], FlavorTypes[F]['helpers']> | undefined;
  if (!def) throw new Error(`unknown sample CRM flavor "${String(flavor)}" (known: ${SAMPLE_CRM_FLAVORS.join(', ')})`);
  return buildSampleCrm(def, { auth: opts.auth, clock: opts.clock, bodyLimitBytes: opts.bodyLimitBytes, limit: opts.limit });
}

export async function startSampleCrm<F extends SampleCrmFlavor = 'zendesk'>(
  opts: SampleCrmOptions & { flavor?: F; port?: number; host?: string } = {},
): Promise<RunningSampleCrm<F>> {
  const crm = createSampleCrm<F>(opts);
  const server = await listen(crm.app, opts.port ?? 0, opts.host ?? '127.0.0.1');
  crm.setConnectionRefuser((ms) => server.refuse(ms));
  return { url: server.url, port: server.port, crm, close: () => server.close() };
}

export {
  DEFAULT_SAMPLE_CRM_AUTH,
  type ApiKeyCredential,
  type BasicCredential,
  type OAuthClientOptions,
  type OAuthState,
  type SampleCrmAuthOptions,
} from './common/auth';
export type { Fault, FaultSpec } from './common/faults';
export type { LoggedRequest } from './common/request-log';
export type { RateLimitStats, SampleRateLimit } from './common/rate-limit';
export type { SampleCrmCore } from './common/core';
export type { SeedTicketInput, SeedUploadInput, SeedUserInput, ZendeskHelpers } from './zendesk';
export * from './zendesk/types';
export { RecordInvalid, RecordNotFound } from './zendesk/store';
export { parseSearchQuery, SearchQueryError, type SearchTerm } from './zendesk/search-query';
