/**
 * The storage layout: the platform's exact folders and names for every file kind and both
 * channels, and ids that could leave their folder (or make an odd name) refused.
 */
import crypto from 'node:crypto';
import { LayoutError, placeFile, safeId, sessionChannel, type LayoutInput } from '../../src/storage/layout';
import { STORAGE_FOLDERS } from '../../src/storage/types';

const call = { Call_ID: 103646, CHANNEL: 'voice_call' };
const chat = { Chat_ID: 'c-77', CHANNEL: 'chat' };
const photo = Buffer.from('a photo');

test.each<[string, LayoutInput, string]>([
  ['recording, mp3 by default', { kind: 'call_recording', vars: call, sessionId: 's1', contentType: 'audio/mpeg' }, 'ujet-voice-recordings/call-103646.mp3'],
  [
    'recording, wav by content type',
    { kind: 'call_recording', vars: call, sessionId: 's1', contentType: 'audio/wav' },
    'ujet-voice-recordings/call-103646.wav',
  ],
  ['recording, wav by x-wav', { kind: 'call_recording', vars: call, sessionId: 's1', contentType: 'audio/x-wav' }, 'ujet-voice-recordings/call-103646.wav'],
  [
    'recording, wav by file name',
    { kind: 'call_recording', vars: call, sessionId: 's1', contentType: 'application/octet-stream', fileName: 'rec.WAV' },
    'ujet-voice-recordings/call-103646.wav',
  ],
  ['voicemail', { kind: 'voicemail', vars: call, sessionId: 's1', contentType: 'audio/mpeg' }, 'ujet-voicemails/call-103646.mp3'],
  ['voicemail wav', { kind: 'voicemail', vars: call, sessionId: 's1', contentType: 'audio/wave' }, 'ujet-voicemails/call-103646.wav'],
  ['chat transcript', { kind: 'chat_transcript', vars: chat, sessionId: 's2' }, 'ujet-chat-transcripts/chat-c-77.txt'],
  ['call photo', { kind: 'photo', vars: call, sessionId: 's1', mediaId: '55' }, 'ujet-media/call-103646-photo-55.jpg'],
  ['call video', { kind: 'video', vars: call, sessionId: 's1', mediaId: 'v9' }, 'ujet-media/call-103646-video-v9.mp4'],
  ['chat photo', { kind: 'photo', vars: chat, sessionId: 's2', mediaId: '12' }, 'ujet-media/chat-c-77-photo-12.jpg'],
  ['chat video', { kind: 'video', vars: chat, sessionId: 's2', mediaId: '13' }, 'ujet-media/chat-c-77-video-13.mp4'],
  ['call metadata', { kind: 'session_metadata', vars: call, sessionId: 's1' }, 'ujet-metadata/call-103646.json'],
  ['chat metadata', { kind: 'session_metadata', vars: chat, sessionId: 's2' }, 'ujet-metadata/chat-c-77.json'],
  ['no Call_ID: the session id', { kind: 'session_metadata', vars: {}, sessionId: 'sess-9' }, 'ujet-metadata/call-sess-9.json'],
  ['chat channel without Chat_ID', { kind: 'chat_transcript', vars: { CHANNEL: 'chat' }, sessionId: 'sess-10' }, 'ujet-chat-transcripts/chat-sess-10.txt'],
  [
    'photo without media id: named by its content',
    { kind: 'photo', vars: call, sessionId: 's1', data: photo },
    `ujet-media/call-103646-photo-${crypto.createHash('sha256').update(photo).digest('hex').slice(0, 16)}.jpg`,
  ],
])('%s', (_name, input, expected) => {
  const p = placeFile(input);
  expect(`${p.folder}/${p.name}`).toBe(expected);
  expect(STORAGE_FOLDERS).toContain(p.folder);
});

test('the channel: Chat_ID wins, then Call_ID, then CHANNEL', () => {
  expect(sessionChannel({ Chat_ID: 1, Call_ID: 2 })).toBe('chat');
  expect(sessionChannel({ Call_ID: 2, CHANNEL: 'chat' })).toBe('call');
  expect(sessionChannel({ CHANNEL: 'Chat' })).toBe('chat');
  expect(sessionChannel({})).toBe('call');
});

test.each([
  ['../etc/passwd'],
  ['..'],
  ['.'],
  ['.hidden'],
  ['a/b'],
  ['a\\b'],
  ['a\u0000b'],
  ['caf\u00e9'],
  ['a\u202eb'],
  ['\uff0e\uff0e'],
  ['a b'],
  ['a:b'],
  [''],
  ['x'.repeat(129)],
  ['-rf'],
])('an id that is no safe file name is refused: %j', (id) => {
  expect(() => safeId('Call_ID', id)).toThrow(LayoutError);
  expect(() => placeFile({ kind: 'session_metadata', vars: { Call_ID: id === '' ? undefined : id }, sessionId: id })).toThrow(LayoutError);
  expect(() => placeFile({ kind: 'photo', vars: call, sessionId: 's', mediaId: id === '' ? 'x/' : id })).toThrow(LayoutError);
});

test('the refusal names the id field, cut short', () => {
  expect(() => safeId('media_id', '../../x')).toThrow(/media_id "\.\.\/\.\.\/x" cannot be part of a file name/);
});

test('a photo needs a media id or its bytes', () => {
  expect(() => placeFile({ kind: 'photo', vars: call, sessionId: 's' })).toThrow(/media_id/);
});
