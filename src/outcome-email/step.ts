/**
 * The `outcome_email` step: one durable delivery per session, planned when the session ends
 * and due `outcome_email.delay_minutes` later. When it runs it decides, on the session as it
 * is then: whether the session succeeded (src/flows/session-outcome.ts; still-open writes make
 * it wait and ask again), who gets the e-mail (src/outcome-email/recipient.ts, with the
 * connector's settings as they are now), and sends it. Skipped sessions are delivered with
 * outcome `skipped` and the reason, so the session view says why no e-mail went out.
 *
 * Exactly-once is not something SMTP offers: if the process dies after the server accepted
 * the message but before the delivery is recorded, the step runs again and the message is
 * sent again, with the same Message-ID (derived from the session), which the receiving side
 * can use to drop the copy.
 */
import { GatewayError } from '../errors';
import type { AttemptRecord } from '../operations/call';
import { renderLinks } from '../operations/links';
import type { ConnectorRuntime } from '../operations/runtime';
import type { DeliveryStore } from '../delivery/store';
import type { Delivery, DeliveryResult } from '../delivery/types';
import type { StepOptions } from '../delivery/worker';
import type { SessionState } from '../flows/engine';
import { sessionSucceeded, type StepStatus } from '../flows/session-outcome';
import { sessionMetadata } from '../flows/session-metadata';
import { displayVariables } from '../flows/steps';
import { outcomeRecipient } from './recipient';
import { buildOutcomeMessage } from './message';
import { sendMessage } from './send';
import { classifySmtpError, type SmtpErrorLike } from './smtp-errors';

/** The transcript kept in the session state for the e-mail (base64), from a chat_transcript File_Available. */
export interface KeptTranscript {
  name: string;
  /** Absent when the transcript was over the attachment limit (the e-mail says so). */
  base64?: string;
  bytes: number;
}

type Store = Pick<DeliveryStore, 'loadSession' | 'get'>;

export async function runOutcomeEmail(
  d: Delivery,
  rt: ConnectorRuntime,
  store: Store,
  sessionId: string,
  opts: StepOptions,
): Promise<{ result: DeliveryResult; attempts: AttemptRecord[] }> {
  const c = rt.connector;
  const skipped = (reason: string) => ({ result: { ids: {}, outcome: 'skipped', reason }, attempts: [] });
  const settings = c.outcomeEmail;
  if (!settings) return skipped('outcome_email is no longer configured');
  const loaded = await store.loadSession(c.id, sessionId);
  if (!loaded) return skipped('the session is no longer in the store');
  const state = loaded.state as unknown as SessionState & { transcript?: KeptTranscript };

  const steps: StepStatus[] = [];
  const results = new Map<string, Delivery | undefined>();
  for (const [name, id] of Object.entries(state.steps)) {
    if (id === d.id) continue;
    const s = await store.get(id);
    results.set(name, s);
    steps.push({ name, operation: s?.operation, status: s?.status ?? 'unknown' });
    const followUps = Array.isArray(s?.result?.follow_ups) ? (s!.result!.follow_ups as string[]) : [];
    for (const f of followUps) {
      const fd = await store.get(f);
      steps.push({ name: `${name}:follow-up:${fd?.operation ?? f}`, operation: fd?.operation, status: fd?.status ?? 'unknown' });
    }
  }
  const outcome = sessionSucceeded(state, steps);
  if (outcome.verdict === 'in_progress') throw new GatewayError('outcome_email_waiting', `outcome e-mail: ${outcome.reason}`);
  if (outcome.verdict !== 'succeeded') return skipped(`no e-mail: ${outcome.reason}`);

  const recipient = outcomeRecipient(settings, { name: state.vars.QUEUE_NAME ?? state.vars.MENU_PATH, id: state.vars.QUEUE_ID });
  if (!recipient.to) return skipped(`no e-mail: ${recipient.because}`);

  const accountId = results.get('account')?.result?.ids.ACCOUNT_ID;
  const recordId = results.get('record')?.result?.ids.RECORD_ID;
  const links = renderLinks(
    c,
    Object.fromEntries(
      Object.entries({ ACCOUNT_ID: accountId, RECORD_ID: recordId, SESSION_ID: sessionId })
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, String(v)]),
    ),
  );
  const metadata = sessionMetadata(state, {
    connector: c.id,
    session_id: sessionId,
    account_id: accountId ?? null,
    record_id: recordId ?? null,
    links: { account: links.account ?? null, record: links.record ?? null, lookup: null },
  });
  const message = buildOutcomeMessage({
    connectorId: c.id,
    sessionId,
    from: settings.smtp.from,
    to: recipient.to,
    subjectTemplate: settings.subject,
    vars: displayVariables(c, { ...state.vars, ACCOUNT_ID: accountId, RECORD_ID: recordId }),
    metadata,
    transcript: state.transcript
      ? {
          name: state.transcript.name,
          bytes: state.transcript.bytes,
          ...(state.transcript.base64 !== undefined ? { data: Buffer.from(state.transcript.base64, 'base64') } : {}),
        }
      : undefined,
  });

  const started = opts.now();
  const request = `SMTP ${settings.smtp.host}:${settings.smtp.port}`;
  try {
    const sent = await sendMessage(settings.smtp, message);
    const response = rt.redactor.redact(sent.response).slice(0, 200);
    const attempt: AttemptRecord = {
      operation: d.operation,
      request,
      status: Number(/^\d{3}/.exec(sent.response)?.[0] ?? 250),
      classification: 'ok',
      reason: response,
      duration_ms: opts.now() - started,
      at: new Date(started).toISOString(),
    };
    return {
      result: {
        ids: {},
        outcome: 'sent',
        to: recipient.to,
        because: recipient.because,
        message_id: message.messageId,
        smtp_response: response,
        ...(message.attachments[0] ? { attachment: { name: message.attachments[0].filename, bytes: message.attachments[0].content.length } } : {}),
      },
      attempts: [attempt],
    };
  } catch (e) {
    const v = classifySmtpError(e as SmtpErrorLike);
    const reason = rt.redactor.redact(`outcome e-mail: ${v.reason}`);
    throw new GatewayError(v.retry ? 'outcome_email_failed' : 'outcome_email_rejected', reason);
  }
}
