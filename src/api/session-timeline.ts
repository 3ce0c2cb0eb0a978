/**
 * A session's timeline for GET /v1/connectors/{id}/sessions/{sessionId}: what happened, in time
 * order — the platform events received, each step queued, every CRM answer it got, and how it
 * ended (delivered with its ids, dead, waiting for an operator), comments and files named as
 * such. Built from the session view and the store's deliveries and attempts; nothing of it is
 * kept. Request lines keep their path only (attempts are stored so: queries carry phone
 * numbers), and the whole answer is masked by the caller.
 */
import type { AttemptRow, Delivery } from '../delivery/types';

export type TimelineKind = 'event' | 'step' | 'crm_answer' | 'delivery' | 'comment' | 'file';

export interface TimelineEntry {
  at: string;
  kind: TimelineKind;
  summary: string;
  delivery_id?: string;
}

interface ViewLike {
  events: ReadonlyArray<{ type: string; at: string }>;
  steps: ReadonlyArray<{ name: string; delivery_id: string }>;
}

export interface DeliveryReader {
  get(id: string): Promise<Delivery>;
  history(id: string): Promise<AttemptRow[]>;
}

const iso = (ms: number) => new Date(ms).toISOString();

export async function sessionTimeline(view: ViewLike, deliveries: DeliveryReader): Promise<TimelineEntry[]> {
  const out: TimelineEntry[] = view.events.map((e) => ({ at: e.at, kind: 'event', summary: `${e.type} received` }));
  for (const step of view.steps) {
    const id = step.delivery_id;
    let d: Delivery;
    try {
      d = await deliveries.get(id);
    } catch {
      continue; // removed by retention: the step list still names it
    }
    out.push({ at: iso(d.createdAt), kind: 'step', summary: `${step.name}: ${d.operation} queued`, delivery_id: id });
    for (const a of await deliveries.history(id)) {
      const answer = a.status !== undefined ? `HTTP ${a.status}` : (a.networkError ?? 'no answer');
      out.push({
        at: iso(a.at),
        kind: 'crm_answer',
        summary: `${d.operation}${a.request ? ` ${a.request}` : ''}: ${answer}, ${a.classification}`,
        delivery_id: id,
      });
    }
    const ended = endOf(step.name, d);
    if (ended) out.push({ ...ended, delivery_id: id });
  }
  // Stable: entries of the same instant keep the order they were added in.
  return out
    .map((e, i) => [e, i] as const)
    .sort(([a, i], [b, j]) => a.at.localeCompare(b.at) || i - j)
    .map(([e]) => e);
}

function endOf(name: string, d: Delivery): Omit<TimelineEntry, 'delivery_id'> | undefined {
  const at = iso(d.updatedAt);
  if (d.status === 'delivered') {
    const ids = Object.entries(d.result?.ids ?? {})
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    if (d.operation === 'add_comment') return { at, kind: 'comment', summary: `${name}: comment added${ids ? ` (${ids})` : ''}` };
    if (d.operation === 'upload_file') {
      const file = d.fileMeta?.name ?? (typeof d.variables.FILE_NAME === 'string' ? d.variables.FILE_NAME : 'file');
      return { at, kind: 'file', summary: `${name}: ${file} ${d.result?.outcome === 'link_only' ? 'linked' : 'uploaded'}${ids ? ` (${ids})` : ''}` };
    }
    return { at, kind: 'delivery', summary: `${name}: ${d.operation} delivered${d.result?.outcome ? `, ${d.result.outcome}` : ''}${ids ? ` (${ids})` : ''}` };
  }
  if (d.status === 'dead' || d.status === 'cancelled' || d.status === 'unknown_outcome') {
    return { at, kind: 'delivery', summary: `${name}: ${d.operation} ${d.status.replace('_', ' ')}${d.lastError ? `: ${d.lastError.message}` : ''}` };
  }
  return undefined;
}
