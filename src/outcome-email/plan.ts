/**
 * The flow engine's part of the outcome e-mail, called once per event: keeps the chat
 * transcript's bytes in the session state (a File_Available of kind chat_transcript; the
 * upload's own copy is purged by retention and exists only when the CRM takes transcripts),
 * and at the session's end plans the `outcome_email` step, due `delay_minutes` later, when the
 * settings give the session's queue an address. It is retried under the connector's `retry:`
 * policy, like any delivery. Whether the session succeeded is decided when
 * the step runs, on the session as it is then.
 */
import type { Connector } from '../config/types';
import type { DeliveryService } from '../delivery/service';
import type { NormalizedEvent } from '../flows/events';
import type { SessionState } from '../flows/engine';
import { outcomeRecipient } from './recipient';
import { MAX_TRANSCRIPT_BYTES } from './message';
import type { KeptTranscript } from './step';

export async function planOutcomeEmail(
  c: Connector,
  sessionId: string,
  state: SessionState & { transcript?: KeptTranscript },
  ev: NormalizedEvent,
  downloaded: Buffer | undefined,
  service: Pick<DeliveryService, 'acceptStep'>,
): Promise<void> {
  const settings = c.outcomeEmail;
  if (!settings) return;
  const f = ev.facts.file;
  if (ev.kind === 'file' && f?.kind === 'chat_transcript') {
    const data = f.base64 !== undefined ? Buffer.from(f.base64, 'base64') : downloaded;
    if (data && data.length <= MAX_TRANSCRIPT_BYTES) state.transcript = { name: f.name, base64: data.toString('base64'), bytes: data.length };
    else if (data) {
      state.transcript = { name: f.name, bytes: data.length };
      state.warnings.push(
        `File_Available: the chat transcript (${data.length} bytes) is over the ${MAX_TRANSCRIPT_BYTES}-byte limit of the outcome e-mail's attachment; the e-mail goes without it`,
      );
    }
  }
  if (!state.ended || state.steps.outcome_email) return;
  const recipient = outcomeRecipient(settings, { name: state.vars.QUEUE_NAME ?? state.vars.MENU_PATH, id: state.vars.QUEUE_ID });
  if (!recipient.to) return;
  const d = await service.acceptStep(
    c.id,
    'outcome_email',
    {},
    { idempotencyKey: `${sessionId}:outcome_email`, stepFacts: { sessionId }, delayMs: settings.delayMs },
  );
  state.steps.outcome_email = d.delivery.id;
}
