/**
 * Data memorialization: session data written as text to CRM record fields at the moments a
 * contact center does it — call end, after-call-work end, transfer. The connector's
 * `field_mappings:` says which field gets which text; the session engine sends one
 * update_record per moment (a durable write, idempotency key per event) with the rendered
 * fields as MAPPED_FIELDS, JSON text the endpoint places with `{MAPPED_FIELDS:json}`:
 *   format custom_fields: [{"id": 2001, "value": "…"}]   (Zendesk ticket custom fields)
 *   format properties:    {"call_start": "…"}             (flat-property CRMs, e.g. HubSpot)
 */
import type { Connector, FieldMappingMoment, FieldMappings } from '../config/types';
import { compileText } from '../template/compile';
import { renderLongText } from '../template/long-text';
import { renderText } from '../template/render';
import type { EventKind, NormalizedEvent } from './events';
import { displayVariables } from './steps';

/** The event kinds that are a moment of memorialization. */
const MOMENT_OF: Partial<Record<EventKind, FieldMappingMoment>> = { end: 'end', acw_end: 'acw_end', transfer: 'transfer' };
const MOMENT_TEXT: Record<FieldMappingMoment, string> = { end: 'call ended', acw_end: 'after-call work ended', transfer: 'transferred' };

/** Cuts text to `max` characters, the last one "…", never inside a surrogate pair. */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - 1);
  const c = text.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

/**
 * The fields' texts for these variables (pure). A field whose text names a missing variable
 * (`{VAR}` text is never sent half-filled), or renders blank, is left out: the CRM keeps what
 * it had. Handlebars texts render missing values empty. Every value is text.
 */
export function renderMappedFields(fm: Pick<FieldMappings, 'fields' | 'maxLength'>, vars: Record<string, unknown>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [field, source] of fm.fields) {
    const text = source.includes('{{') ? renderLongText(source, vars, false) : renderText(compileText(source), { vars, html: false, missing: new Set() });
    if (text === undefined || text.trim() === '') continue;
    out.push([field, cutText(text, fm.maxLength)]);
  }
  return out;
}

/** MAPPED_FIELDS as the connector's format wants it, as JSON text. */
export function mappedFieldsJson(format: FieldMappings['format'], fields: ReadonlyArray<readonly [string, string]>): string {
  if (format === 'properties') return JSON.stringify(Object.fromEntries(fields));
  // Zendesk field ids are numbers; one too long for an exact double stays text rather than change.
  return JSON.stringify(fields.map(([id, value]) => ({ id: Number.isSafeInteger(Number(id)) ? Number(id) : id, value })));
}

interface TimedState {
  vars: Record<string, string | number | boolean>;
  events: Array<{ type: string; at: number }>;
  outbound: boolean;
}

/**
 * The session's times and direction, as variables: START_TIME is the earliest event's time (an
 * event that arrives late but happened first moves it back), END_TIME the first end's,
 * ACW_END_TIME the after-call work's end, DIRECTION inbound unless an event said outbound.
 */
export function stampSessionTimes(state: TimedState, ev: NormalizedEvent, now: number): void {
  // START_TIME and END_TIME are set where events are merged (engine); here what only mappings need.
  if (ev.kind === 'acw_end') state.vars.ACW_END_TIME = new Date(ev.facts.at ?? now).toISOString();
  // A session is inbound unless one of its events said outbound (an outbound mark is kept).
  state.vars.DIRECTION = state.outbound ? 'outbound' : (state.vars.DIRECTION ?? 'inbound');
}

/** The field-mapping update this event calls for: [name, operation, variables], or nothing. */
export function fieldMappingWrite(
  c: Connector,
  ev: NormalizedEvent,
  vars: Record<string, unknown>,
  now: number,
): [string, 'update_record', Record<string, unknown>] | undefined {
  const fm = c.fieldMappings;
  const moment = MOMENT_OF[ev.kind];
  if (!fm || !moment || !fm.writeOn.has(moment) || !c.endpoints.has('update_record')) return undefined;
  // An inbound call's ANI is the caller's number. The texts people read: phone numbers as the
  // connector writes them, durations as mm:ss.
  const ani = vars.DIRECTION !== 'outbound' && vars.PHONE_NUMBER !== undefined ? { ANI: vars.PHONE_NUMBER } : {};
  const fields = renderMappedFields(fm, displayVariables(c, { ...ani, ...vars }));
  if (fields.length === 0) return undefined;
  return [
    `${ev.key}:fields`,
    'update_record',
    {
      ...vars,
      MAPPED_FIELDS: mappedFieldsJson(fm.format, fields),
      MAPPED_FIELDS_NOTE: `Call data recorded: ${MOMENT_TEXT[moment]} (${new Date(ev.facts.at ?? now).toISOString()})`,
    },
  ];
}
