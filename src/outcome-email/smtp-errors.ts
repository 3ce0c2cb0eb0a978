/**
 * What an SMTP failure means for the delivery (pure): try again later, or give up now.
 *   - no connection, a timeout, a dropped socket, a TLS handshake that failed: later;
 *   - a 4xx answer (greylisting, mailbox busy, server shutting down): later;
 *   - authentication refused: later (an administrator fixes the credentials; the e-mail waits
 *     until the deadline instead of being lost);
 *   - any other 5xx answer (unknown mailbox, message refused, too big) or a message nodemailer
 *     cannot build: final, the delivery is dead with the server's answer.
 * The reason quotes at most the first 200 characters of the server's answer.
 */
export interface SmtpErrorLike {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  message?: string;
}

export interface SmtpVerdict {
  retry: boolean;
  reason: string;
  status?: number;
}

const NETWORK = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ECONNREFUSED', 'ECONNRESET', 'ETLS', 'EPROTOCOL', 'EHOSTUNREACH', 'ENETUNREACH']);

export function classifySmtpError(e: SmtpErrorLike): SmtpVerdict {
  const answer = (e.response ?? e.message ?? '').replace(/\s+/g, ' ').trim().slice(0, 200);
  const status = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const at = e.command ? ` to ${e.command.split(' ')[0]}` : '';
  if (e.code === 'EAUTH')
    return { retry: true, reason: `the SMTP server refused the login${status ? ` (${status})` : ''}: check outcome_email.smtp.user and password`, status };
  if (status !== undefined && status >= 400 && status < 500)
    return { retry: true, reason: `the SMTP server answered ${answer || status}${at} (temporary)`, status };
  if (status !== undefined && status >= 500) return { retry: false, reason: `the SMTP server refused the e-mail for good: ${answer || status}${at}`, status };
  if (e.code && NETWORK.has(e.code)) return { retry: true, reason: `the SMTP server could not be reached (${e.code}: ${answer})` };
  if (e.code === 'EENVELOPE' || e.code === 'EMESSAGE') return { retry: false, reason: `the e-mail cannot be sent (${e.code}: ${answer})` };
  return { retry: true, reason: `sending failed (${e.code ?? 'error'}: ${answer})` };
}
