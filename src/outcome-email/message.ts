/**
 * The outcome e-mail of one session (pure): subject from the connector's template, the
 * session's metadata as JSON in the body, the chat transcript as a .txt attachment, and a
 * Message-ID derived from the connector and session, so a resend after an ambiguous SMTP
 * failure carries the same Message-ID and the receiving side can recognise it.
 */
import crypto from 'node:crypto';
import { renderLongText } from '../template/long-text';
import { DEFAULT_OUTCOME_SUBJECT, SUBJECT_VARIABLES } from '../config/outcome-email';

export { DEFAULT_OUTCOME_SUBJECT, SUBJECT_VARIABLES };
import { sessionKind, sessionNumber, type SessionMetadata } from '../flows/session-metadata';

/** The longest transcript attached (bytes); a longer one is left out and the body says so. */
export const MAX_TRANSCRIPT_BYTES = 1024 * 1024;

export interface Transcript {
  name: string;
  /** Absent when the transcript was too large to keep. */
  data?: Buffer;
  bytes: number;
}

export interface OutcomeMessage {
  from: string;
  to: string;
  subject: string;
  messageId: string;
  text: string;
  attachments: Array<{ filename: string; content: Buffer; contentType: string }>;
}

export function outcomeMessageId(connectorId: string, sessionId: string, from: string): string {
  const hash = crypto.createHash('sha256').update(`${connectorId}\u0000${sessionId}`).digest('hex').slice(0, 32);
  const domain = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from)?.[1] ?? 'crm-gateway.invalid';
  return `<session-outcome.${hash}@${domain}>`;
}

export function subjectVariables(vars: Record<string, unknown>, sessionId: string): Record<string, unknown> {
  const kind = sessionKind(vars as never);
  return { ...vars, SESSION_LABEL: kind === 'chat' ? 'Chat' : 'Call', SESSION_NUMBER: sessionNumber(vars as never, sessionId) };
}

export function buildOutcomeMessage(o: {
  connectorId: string;
  sessionId: string;
  from: string;
  to: string;
  subjectTemplate: string;
  /** Display variables (phone numbers formatted as the connector writes them). */
  vars: Record<string, unknown>;
  metadata: SessionMetadata;
  transcript?: Transcript;
}): OutcomeMessage {
  // One line: a template that renders line breaks must not inject headers.
  const subject = renderLongText(o.subjectTemplate, subjectVariables(o.vars, o.sessionId), false)
    .replace(/[\r\n]+/g, ' ')
    .trim()
    .slice(0, 400);
  const attachments: OutcomeMessage['attachments'] = [];
  let transcript: Record<string, unknown> | undefined;
  if (o.transcript) {
    const name = `${o.metadata.kind}-${o.metadata.id}.txt`;
    const data = o.transcript.data;
    if (data && data.length <= MAX_TRANSCRIPT_BYTES) {
      attachments.push({ filename: name, content: data, contentType: 'text/plain; charset=utf-8' });
      transcript = { attachment: name, bytes: data.length };
    } else {
      transcript = { omitted: `the transcript is ${data?.length ?? o.transcript.bytes} bytes, over the ${MAX_TRANSCRIPT_BYTES}-byte limit for the attachment` };
    }
  }
  const body = transcript ? { ...o.metadata, transcript } : o.metadata;
  return {
    from: o.from,
    to: o.to,
    subject,
    messageId: outcomeMessageId(o.connectorId, o.sessionId, o.from),
    text: `${JSON.stringify(body, null, 2)}\n`,
    attachments,
  };
}
