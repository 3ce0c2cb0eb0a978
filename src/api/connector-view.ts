/**
 * What GET /v1/connectors and GET /v1/connectors/{id} say of a connector: its state (valid,
 * its configuration issues with positions, a refused hot-reload change), and for a valid one
 * how it calls the CRM (auth and its state, retry policy, lookup URL names). The console's
 * connector list and editor read these; nothing here holds a resolved secret (issues name
 * `${env:NAME}`, and the answer is masked by the gateway's redactor on the way out anyway).
 */
import { errorsOf, type LoadedConnector } from '../config/load';
import type { ConfigIssue, RateLimit } from '../config/types';
import { formatIssue } from '../config/yaml-source';
import type { Gateway } from '../gateway';

/** One configuration issue with its position, for an editor's inline markers. */
export interface IssueView {
  severity: 'error' | 'warning';
  line?: number;
  col?: number;
  path: string;
  message: string;
}

export function issueView(i: ConfigIssue): IssueView {
  return {
    severity: i.severity,
    ...(i.line !== undefined ? { line: i.line } : {}),
    ...(i.column !== undefined ? { col: i.column } : {}),
    path: i.path,
    message: i.message,
  };
}

/** The summary every key in scope may read (the list and the detail both start with it). */
export async function connectorSummary(gw: Gateway, l: LoadedConnector): Promise<Record<string, unknown>> {
  const c = l.connector;
  return {
    id: l.id,
    name: c?.name ?? l.id,
    file: l.file,
    status: c ? 'valid' : 'invalid',
    valid: Boolean(c),
    operations: c ? [...c.endpoints.values()].filter((e) => e.usable).map((e) => e.operation) : [],
    errors: errorsOf(l).map(formatIssue),
    warnings: l.issues.filter((i) => i.severity === 'warning').map(formatIssue),
    issues: l.issues.map(issueView),
    ...(l.rejected
      ? {
          rejected_change: l.rejected.filter((i) => i.severity === 'error').map(formatIssue),
          rejected: {
            ...(l.rejectedAt !== undefined ? { at: new Date(l.rejectedAt).toISOString() } : {}),
            issues: l.rejected.map(issueView),
          },
        }
      : {}),
    ...(c
      ? {
          auth: {
            type: c.auth.type,
            ...(c.auth.type === 'oauth2' ? { grant: c.auth.grant } : {}),
            ...(await gw.authState(l.id)),
          },
          retry: c.retry,
          ...(c.rateLimit ? { rate_limit: rateLimitView(c.rateLimit) } : {}),
          links: Object.keys(c.lookupUrls),
        }
      : {}),
  };
}

/** The compiled pacing as the connector file says it, per second (for the console's card). */
function rateLimitView(r: RateLimit) {
  return {
    requests_per_second: r.ratePerSec,
    burst: r.burst,
    ...(r.maxConcurrent !== undefined ? { max_concurrent: r.maxConcurrent } : {}),
    count_token_calls: r.countTokenCalls,
    ...(r.operations.size
      ? { operations: Object.fromEntries([...r.operations].map(([op, b]) => [op, { requests_per_second: b.ratePerSec, burst: b.burst }])) }
      : {}),
  };
}
