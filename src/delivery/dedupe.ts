/**
 * After an ambiguous failure of a write that is not a create (a timeout, a dropped
 * connection, the gateway dying mid-call), the CRM may already have applied it. The
 * endpoint's `dedupe` check looks before writing again: GET the list, and if an item
 * matches every configured field, the write counts as done.
 */
import type { CompiledEndpoint } from '../config/types';
import { callEndpoint, type AttemptRecord, type CallOptions } from '../operations/call';
import { CrmFailure } from '../operations/run';
import { GatewayError } from '../errors';
import { scheduleRetry } from '../http/classify';
import type { ConnectorRuntime } from '../operations/runtime';
import { prepareCall } from '../operations/variables';
import { DROP, renderNode, stringify } from '../template/render';
import { renderLongText } from '../template/long-text';
import { readPath } from '../util/json-path';

export async function alreadyApplied(
  rt: ConnectorRuntime,
  ep: CompiledEndpoint,
  variables: Record<string, unknown>,
  opts: Omit<CallOptions, 'attempts'>,
  attempts: AttemptRecord[],
): Promise<boolean> {
  const dedupe = ep.dedupe!;
  const vars = prepareCall(variables, rt.connector, ep, opts.now?.() ?? Date.now());
  const call = await callEndpoint(rt, dedupe.check, vars, undefined, { ...opts, attempts });
  if (call.classification.kind === 'not_found') return false;
  if (call.classification.kind !== 'ok') {
    // A check that fails does not make the write fail: it is tried again later (still
    // ambiguous) as the CRM asked (a 429 keeps its wait and uses up no attempt), and a refusal
    // waits 30 s, within max_attempts and the deadline like any other try.
    const c = call.classification;
    const verdict =
      c.kind === 'retry'
        ? c
        : scheduleRetry(c.reason, 30_000, opts.policy ?? rt.connector.retry, { attempt: opts.attempt?.attempt ?? 1, elapsedMs: opts.attempt?.elapsedMs ?? 0 });
    throw new CrmFailure(
      verdict.kind === 'retry' ? 'crm_retry_later' : 'crm_request_failed',
      `dedupe check for ${ep.operation}: ${verdict.reason}`,
      {
        classification: verdict.kind,
        reason: verdict.reason,
        crm_status: call.response.status,
        attempts,
        ...(verdict.kind === 'retry' ? { retry_after_ms: verdict.waitMs } : {}),
      },
      { classification: verdict, crmStatus: call.response.status, attempts, ambiguous: false, redactor: rt.redactor },
    );
  }
  const at = readPath(call.response.body, dedupe.check.responseDataLocation);
  const empty = call.response.body === undefined || call.response.body === '';
  if (!at.found && !empty) {
    // A check that cannot be read proves nothing: sending the write again could duplicate it.
    const check = dedupe.check;
    throw new GatewayError(
      'crm_response_invalid',
      `${ep.operation}: dedupe.response_data_location "${check.responseDataLocationSource}" is not in the check's answer (failed at "${at.failedAt}"), so whether the earlier try was applied cannot be known. Fix endpoints.${ep.operation}.dedupe${check.line ? ` near line ${check.line}` : ''}`,
      { operation: ep.operation, setting: 'dedupe.response_data_location', yaml_line: check.line },
    );
  }
  const items = at.found && Array.isArray(at.value) ? at.value : at.found && at.value ? [at.value] : [];
  const scope = { vars, html: rt.connector.settings.convertTextToHtml, missing: new Set<string>(), renderLongText };
  const expected = dedupe.match.map(([path, node]) => [path, renderNode(node, scope)] as const);
  if (expected.some(([, v]) => v === DROP)) return false;
  const norm = (v: unknown) => stringify(v).replace(/\r\n/g, '\n').trim();
  return items.some((item) =>
    expected.every(([path, v]) => {
      const got = readPath(item, path);
      return got.found && norm(got.value) === norm(v);
    }),
  );
}
