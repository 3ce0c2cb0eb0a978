/**
 * `outcome_email:` of a connector → compiled settings. The schema checked the shape; here:
 * addresses look like addresses, a login has both halves, the subject template compiles and
 * names known variables, and a setting that can never send says so (warning).
 */
import type { PathSegment } from './yaml-source';
import { checkTextTemplate, templateVariables } from '../template/long-text';
import type { OutcomeEmail, OutcomeEmailFile } from './outcome-email-types';

export const DEFAULT_OUTCOME_SUBJECT =
  '{{SESSION_LABEL}} {{SESSION_NUMBER}} with {{default NAME (default PHONE_NUMBER (default EMAIL "an unknown customer"))}} — completed';
/** Variables the subject may use besides the session's. */
export const SUBJECT_VARIABLES = ['SESSION_LABEL', 'SESSION_NUMBER'] as const;

export const DEFAULT_DELAY_MINUTES = 15;
/** One address or a comma-separated list of them; each `local@domain`, optionally `Name <local@domain>`. */
const ADDRESS_RE = /^\s*(?:[^<>@,]*<[^\s<>@,]+@[^\s<>@,]+>|[^\s<>@,]+@[^\s<>@,]+)\s*$/;

export function validAddressList(v: string): boolean {
  return v.trim() === '' || v.split(',').every((a) => ADDRESS_RE.test(a));
}

type Report = (p: PathSegment[], message: string, severity?: 'error' | 'warning') => void;

export function compileOutcomeEmail(raw: OutcomeEmailFile | undefined, known: ReadonlySet<string>, report: Report): OutcomeEmail | undefined {
  if (!raw || typeof raw !== 'object' || !raw.smtp || typeof raw.smtp !== 'object') return undefined; // absent, or the schema reported it
  const at = (...p: PathSegment[]) => ['outcome_email', ...p];
  const address = (v: unknown, p: PathSegment[]) => {
    const s = typeof v === 'string' ? v : '';
    if (!validAddressList(s)) report(p, `not an e-mail address (or a comma-separated list of them): ${JSON.stringify(s.slice(0, 100))}`);
    return s.trim();
  };
  const s = raw.smtp;
  if (s.user !== undefined && !s.password) report(at('smtp', 'user'), 'a user without a password: give smtp.password too (${env:…})');
  if (s.password !== undefined && !s.user) report(at('smtp', 'user'), 'smtp.password is set: give the user too');
  if (s.secure && s.starttls)
    report(at('smtp', 'starttls'), 'starttls upgrades a plain connection; with secure: true the connection is TLS from the start — set one of them', 'warning');
  address(s.from, at('smtp', 'from'));
  const subject = raw.subject ?? DEFAULT_OUTCOME_SUBJECT;
  if (raw.subject !== undefined) {
    const err = checkTextTemplate(subject);
    if (err) report(at('subject'), `handlebars template: ${err}`);
    else {
      const names = new Set([...known, ...SUBJECT_VARIABLES]);
      for (const n of templateVariables(subject))
        if (!names.has(n)) report(at('subject'), `unknown variable {{${n}}}; the subject may use the session variables and ${SUBJECT_VARIABLES.join(', ')}`);
      // Handlebars, like the flow templates: `{NAME}` would be sent as written.
      const single = /(?:^|[^{])\{([A-Za-z_]\w*)\}(?!\})/.exec(subject);
      if (single) report(at('subject'), `{${single[1]}} is sent as written: variables take two braces, {{${single[1]}}}`, 'warning');
    }
  }
  const queues = (raw.queues ?? []).map((q, i) => {
    if (q.queue === undefined && q.queue_id === undefined) report(at('queues', i), 'name the queue: queue (its path, QUEUE_NAME) or queue_id (QUEUE_ID)');
    return {
      ...(q.queue !== undefined ? { queue: String(q.queue) } : {}),
      ...(q.queue_id !== undefined ? { queueId: String(q.queue_id) } : {}),
      enabled: q.enabled ?? false,
      address: address(q.address ?? '', at('queues', i, 'address')),
    };
  });
  const enabled = raw.enabled ?? false;
  const globalAddress = address(raw.address ?? '', at('address'));
  if (enabled && !globalAddress) report(at('address'), 'outcome_email is on without an address: only queues with their own address get e-mails', 'warning');
  if (!enabled && !queues.some((q) => q.enabled && q.address))
    report(at(), 'outcome_email sends nothing: it is off and no queue is on with an address', 'warning');
  return {
    enabled,
    address: globalAddress,
    delayMs: Math.round((raw.delay_minutes ?? DEFAULT_DELAY_MINUTES) * 60_000),
    subject,
    queues,
    smtp: {
      host: s.host,
      port: s.port ?? (s.secure ? 465 : 587),
      secure: s.secure ?? false,
      starttls: s.starttls ?? !s.secure,
      ...(s.user ? { user: s.user, password: s.password } : {}),
      from: s.from,
      ...(s.ca ? { ca: s.ca } : {}),
      ...(s.servername ? { servername: s.servername } : {}),
    },
  };
}
