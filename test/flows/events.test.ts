/** File_Available: the file has its own field (file_name); `name` keeps meaning the customer. */
import { normalizeEvent } from '../../src/flows/events';

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
