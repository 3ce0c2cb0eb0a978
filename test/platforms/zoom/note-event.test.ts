/** Note_Added, the gateway event Zoom's engagement_note_added becomes: usable by any source through the session events API. */
import { normalizeEvent } from '../../../src/flows/events';
import { bundled, startHarness } from '../../helpers/harness';
import { settled } from './helpers';

test('normalizeEvent: kind note, NOTES from data.note (or data.notes)', () => {
  expect(normalizeEvent({ type: 'Note_Added', event_id: 'n1', data: { note: 'Call back tomorrow', agent_email: 'kim@example.com' } })).toMatchObject({
    type: 'Note_Added',
    kind: 'note',
    key: 'n1',
    vars: { NOTES: 'Call back tomorrow', AGENT_EMAIL: 'kim@example.com' },
  });
  expect(normalizeEvent({ type: 'Note_Added', data: { notes: 'x' } }).vars.NOTES).toBe('x');
  // A disposition's notes are the agent's latest notes too (and DISPOSITION_NOTES).
  expect(normalizeEvent({ type: 'Disposition_Set', data: { code: 'A', notes: 'x' } }).vars.NOTES).toBe('x');
});

test('posted as a session event: one comment per note, with the note template (default comment_on includes note)', async () => {
  // The bundled connector lists comment_on explicitly; without that line the default applies.
  const yaml = bundled('zendesk.yaml')
    .replace(/^ {2}comment_on: .*\n/m, '')
    .replace('flows:\n', 'flows:\n  templates:\n    note: "Agent note: {{NOTES}}"\n');
  const h = await startHarness({ connectors: { 'zendesk.yaml': yaml } });
  try {
    const post = (body: unknown) =>
      fetch(`${h.gw.url}/v1/connectors/zendesk/sessions/note-1/events`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post({ type: 'Session_Started', event_id: 's', data: { call_id: 1, end_user: { name: 'Noted', phone: '+1 222 333 7101' } } })).status).toBe(
      202,
    );
    expect((await post({ type: 'Note_Added', event_id: 'n1', data: { note: 'first' } })).status).toBe(202);
    expect((await post({ type: 'Note_Added', event_id: 'n2', data: { note: 'second' } })).status).toBe(202);
    expect((await post({ type: 'Note_Added', event_id: 'n1', data: { note: 'first' } })).status).toBe(200);
    const v = await settled(h.gw.url, 'zendesk', 'note-1');
    const bodies = h.crm.crm.state.comments.filter((c) => c.ticket_id === v.record_id).map((c) => c.body);
    expect(bodies.filter((b) => b.startsWith('Agent note:'))).toEqual(['Agent note: first', 'Agent note: second']);
  } finally {
    await h.close();
  }
});
