/**
 * Sends one message through the connector's SMTP server with nodemailer: a fresh connection
 * per message (an e-mail per session, minutes apart: nothing to pool), TLS from the first byte
 * (`secure`) or STARTTLS required by default, login when `user` is set. nodemailer's own
 * logging stays off: it would print the conversation, transcript included.
 */
import nodemailer from 'nodemailer';
import type { SmtpSettings } from '../config/outcome-email-types';
import type { OutcomeMessage } from './message';

export interface SentMessage {
  messageId: string;
  /** The server's answer to the message (e.g. "250 2.0.0 OK queued as …"). */
  response: string;
  accepted: string[];
}

export async function sendMessage(smtp: SmtpSettings, m: OutcomeMessage, timeoutMs = 30_000): Promise<SentMessage> {
  const transport = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    requireTLS: !smtp.secure && smtp.starttls,
    ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password ?? '' } } : {}),
    tls: { ...(smtp.ca ? { ca: smtp.ca } : {}), ...(smtp.servername ? { servername: smtp.servername } : {}), minVersion: 'TLSv1.2' },
    connectionTimeout: Math.min(timeoutMs, 15_000),
    greetingTimeout: Math.min(timeoutMs, 15_000),
    socketTimeout: timeoutMs,
    logger: false,
    debug: false,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  try {
    const info = await transport.sendMail({
      from: m.from,
      to: m.to,
      subject: m.subject,
      messageId: m.messageId,
      text: m.text,
      attachments: m.attachments.map((a) => ({ filename: a.filename, content: a.content, contentType: a.contentType })),
    });
    return { messageId: info.messageId, response: String(info.response ?? ''), accepted: (info.accepted ?? []).map(String) };
  } finally {
    transport.close();
  }
}
