/**
 * What the console reads from the API about connectors, and how it shows it: pure (no DOM), so
 * the compatibility rules (positioned issues or text, the rejected change's two shapes) are
 * tested without a browser.
 */

export interface ConfigIssue {
  line?: number;
  col?: number;
  path?: string;
  message: string;
  severity?: 'error' | 'warning';
}

export interface ConnectorItem {
  id: string;
  name?: string;
  file?: string;
  valid?: boolean;
  status?: string;
  errors: Array<ConfigIssue | string>;
  warnings?: Array<ConfigIssue | string>;
  /** Every issue with its position (errors and warnings); `errors`/`warnings` are the same as text. */
  issues?: ConfigIssue[];
  rejected_change?: { at?: string; errors: Array<ConfigIssue | string> } | Array<ConfigIssue | string>;
  rejected?: { at?: string; issues: ConfigIssue[] };
  auth?: { type: string; state?: 'static' | 'connected' | 'not_connected' | 'expired'; expires_at?: string; grant?: string };
  rate_limit?: Record<string, unknown>;
  retry?: Record<string, unknown>;
  links?: string[];
  operations: string[];
  config?: string;
  yaml?: string;
  sha256?: string;
}

export interface Me {
  admin: boolean;
  connectors: string[] | '*';
}

export interface OperationInfo {
  operation: string;
  method?: string;
  url_template?: string;
  variables: Array<{ name: string; required: boolean; source?: string }>;
  durable?: boolean;
}

export const isValid = (c: ConnectorItem) => c.valid ?? c.status === 'valid';

/** An issue as one line of text: "file:line:col path: message" (older answers are already text). */
export function issueText(i: ConfigIssue | string): string {
  if (typeof i === 'string') return i;
  const where = i.line ? `${i.line}:${i.col ?? 1} ` : '';
  return `${where}${i.path ? `${i.path}: ` : ''}${i.message}`;
}

const errorsIn = (issues: ConfigIssue[]) => issues.filter((i) => i.severity !== 'warning');

/** The errors, with positions when the gateway gives them. */
export const errorsOf = (c: ConnectorItem): Array<ConfigIssue | string> => (c.issues ? errorsIn(c.issues) : c.errors);
export const warningsOf = (c: ConnectorItem): Array<ConfigIssue | string> => (c.issues ? c.issues.filter((i) => i.severity === 'warning') : (c.warnings ?? []));

/** The errors of the last change the hot reload refused (the previous version keeps running). */
export function rejectedErrors(c: ConnectorItem): Array<ConfigIssue | string> | undefined {
  if (c.rejected) return errorsIn(c.rejected.issues);
  const r = c.rejected_change;
  if (!r) return undefined;
  return Array.isArray(r) ? r : r.errors;
}

export const rejectedAt = (c: ConnectorItem): string | undefined => c.rejected?.at ?? (Array.isArray(c.rejected_change) ? undefined : c.rejected_change?.at);

/** The file's name without its folder (the full path is in the title). */
export const baseName = (file?: string) => file?.split(/[\\/]/).pop();

/** A duration in ms as people say it: 30 s, 6 h, 7 d. */
export function duration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['min', 60_000],
    ['s', 1000],
  ] as const)
    if (ms >= size && ms % size === 0) return `${ms / size} ${unit}`;
  return `${ms} ms`;
}

/** Settings as "key: value" pairs; `…Ms` durations in words (initialDelayMs 30000 → initialDelay: 30 s). */
export const settings = (o?: Record<string, unknown>) =>
  o
    ? Object.entries(o)
        .filter(([, v]) => v !== undefined && typeof v !== 'object')
        .map(([k, v]) => (k.endsWith('Ms') && typeof v === 'number' ? `${k.slice(0, -2)}: ${duration(v)}` : `${k}: ${v}`))
        .join(', ') || JSON.stringify(o)
    : '';
