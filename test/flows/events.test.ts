/** File_Available: the file has its own field (file_name); `name` keeps meaning the customer. */
import { MAX_MESSAGE_CHARS, MAX_OBJECT_TEXT_CHARS, normalizeEvent } from '../../src/flows/events';

const file = (data: Record<string, unknown>) => normalizeEvent({ type: 'File_Available', data: { kind: 'call_recording', content_base64: 'SUQz', ...data } });

test.each<[string, Record<string, unknown>, string, string | undefined]>([
  ['file_name is the file; name is the customer', { file_name: 'call-9.mp3', name: 'Ada Caller' }, 'call-9.mp3', 'Ada Caller'],
  ['file_name with end_user.name', { file_name: 'call-9.mp3', end_user: { name: 'Bo' } }, 'call-9.mp3', 'Bo'],
  ['older form: name alone is the file, not the customer', { name: 'call-9.mp3' }, 'call-9.mp3', undefined],
  ['older form with end_user: the customer from end_user', { name: 'call-9.mp3', end_user: { name: 'Cy' } }, 'call-9.mp3', 'Cy'],
  ['neither: <kind>.bin', {}, 'call_recording.bin', undefined],
])('%s', (_n, data, fileName, customer) => {
  const ev = file(data);
  expect(ev.facts.file?.name).toBe(fileName);
  expect(ev.vars.NAME).toBe(customer);
});

test('in other events, data.name is still the customer', () => {
  expect(normalizeEvent({ type: 'Session_Started', data: { name: 'Di' } }).vars.NAME).toBe('Di');
});

describe('adapter event data as variables', () => {
  test.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    [
      'a call: PHONE; a campaign session type says nothing of the direction',
      { call_id: 1, session_type: 'Voice Campaign (UJET)' },
      { SOURCE_TYPE: 'PHONE', DIRECTION: undefined },
    ],
    ['a chat: CHAT, inbound from the session type', { chat_id: 1, session_type: 'Messaging Inbound (SMS)' }, { SOURCE_TYPE: 'CHAT', DIRECTION: 'inbound' }],
    ['outbound from the session type', { call_id: 1, session_type: 'Voice Outbound' }, { SOURCE_TYPE: 'PHONE', DIRECTION: 'outbound' }],
    ['direction given', { channel: 'sms', direction: 'outbound' }, { SOURCE_TYPE: 'CHAT', DIRECTION: 'outbound' }],
    ['channel voice_call', { channel: 'voice_call' }, { SOURCE_TYPE: 'PHONE' }],
    [
      'objects become JSON text',
      { va_data_parameters: { a: [1, 2] }, session_variable: 'plain text', custom_sip_headers: { 'X-A': '1' } },
      { VA_DATA_PARAMETERS: '{"a":[1,2]}', SESSION_VARIABLE: 'plain text', CUSTOM_SIP_HEADERS: '{"X-A":"1"}' },
    ],
    ['transfer sides', { from_agent_id: 1, to_queue_path: 'Q / B' }, { FROM_AGENT_ID: 1, TO_QUEUE_PATH: 'Q / B', TRANSFER_TO: undefined }],
  ])('%s', (_name, data, expected) => {
    const { vars } = normalizeEvent({ type: 'New_Call', data });
    for (const [k, v] of Object.entries(expected)) expect(vars[k]).toBe(v);
  });

  test('a long message is cut to MAX_MESSAGE_CHARS, never inside a surrogate pair', () => {
    const message = `${'a'.repeat(MAX_MESSAGE_CHARS - 2)}😀${'b'.repeat(10)}`;
    const v = normalizeEvent({ type: 'Chat_Inbound_Message', data: { chat_id: 1, message } }).vars.LAST_INBOUND_MESSAGE as string;
    expect(v).toBe(`${'a'.repeat(MAX_MESSAGE_CHARS - 2)}…`);
    expect(v.isWellFormed()).toBe(true);
    expect(normalizeEvent({ type: 'Chat_Outbound_Message', data: { chat_id: 1, message: 'short' } }).vars).toMatchObject({ LAST_OUTBOUND_MESSAGE: 'short' });
    // A message in another event is not a chat message.
    expect(normalizeEvent({ type: 'New_Chat', data: { chat_id: 1, message: 'x' } }).vars.LAST_INBOUND_MESSAGE).toBeUndefined();
  });

  test('an object too large to keep is left out with a warning, not cut', () => {
    const ev = normalizeEvent({ type: 'New_Call', data: { call_id: 1, custom_sip_headers: { big: 'x'.repeat(MAX_OBJECT_TEXT_CHARS) } } });
    expect(ev.vars.CUSTOM_SIP_HEADERS).toBeUndefined();
    expect(ev.facts.warnings).toEqual([`New_Call: CUSTOM_SIP_HEADERS not kept: ${MAX_OBJECT_TEXT_CHARS + 10} characters, at most ${MAX_OBJECT_TEXT_CHARS}`]);
  });
});
