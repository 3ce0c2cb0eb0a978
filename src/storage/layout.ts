/**
 * Where a session's file goes in external storage: the platform's own folders and names, so a
 * customer who already reads the platform's storage finds the gateway's copies in the same
 * places. Pure: decided from the file's kind, the session's channel and id, the content type
 * and the media id; backends never choose names.
 *
 *   call_recording   ujet-voice-recordings/call-{id}.mp3 | .wav
 *   voicemail        ujet-voicemails/call-{id}.mp3 | .wav
 *   chat_transcript  ujet-chat-transcripts/chat-{id}.txt
 *   photo            ujet-media/{call|chat}-{id}-photo-{media-id}.jpg
 *   video            ujet-media/{call|chat}-{id}-video-{media-id}.mp4
 *   session_metadata ujet-metadata/{call|chat}-{id}.json
 *
 * Ids become part of a file name, so they are checked, not trusted: only ASCII letters, digits,
 * ".", "_" and "-", starting with a letter or digit, at most 128 characters. Anything else
 * (a slash, "..", NUL, a control or non-ASCII character) is refused with a LayoutError rather
 * than rewritten: an encoded name would be a file nobody looks for, a refusal is visible.
 */
import crypto from 'node:crypto';
import type { FileKind } from '../config/types';
import type { StorageFolder } from './types';

export type SessionChannel = 'call' | 'chat';

export interface FilePlacement {
  folder: StorageFolder;
  name: string;
}

export interface LayoutInput {
  kind: FileKind;
  /** The session's variables (Call_ID, Chat_ID, CHANNEL). */
  vars: Record<string, unknown>;
  /** The gateway's session id: the file's id when the session has no Call_ID / Chat_ID. */
  sessionId: string;
  /** The file's content type and own name (recordings: .wav or .mp3). */
  contentType?: string;
  fileName?: string;
  /** Photos and videos: the platform's media id (File_Available data.media_id). */
  mediaId?: string;
  /** Photos and videos without a media id: the bytes, whose digest names the file (same bytes, same name). */
  data?: Buffer;
}

export class LayoutError extends Error {
  readonly code = 'invalid_file_name';
}

const FOLDER: Record<FileKind, StorageFolder> = {
  call_recording: 'ujet-voice-recordings',
  voicemail: 'ujet-voicemails',
  chat_transcript: 'ujet-chat-transcripts',
  photo: 'ujet-media',
  video: 'ujet-media',
  session_metadata: 'ujet-metadata',
};

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** An id as it may appear in a file name, or a LayoutError saying why not. */
export function safeId(what: string, value: unknown): string {
  const s = value === undefined || value === null ? '' : String(value);
  if (!SAFE_ID.test(s)) {
    throw new LayoutError(
      `${what} ${JSON.stringify(s.slice(0, 40))} cannot be part of a file name (letters, digits, ".", "_" and "-" only, starting with a letter or digit, at most 128)`,
    );
  }
  return s;
}

/** Chat when the session has a Chat_ID (or its channel says chat), else call. */
export function sessionChannel(vars: Record<string, unknown>): SessionChannel {
  if (present(vars.Chat_ID)) return 'chat';
  if (present(vars.Call_ID)) return 'call';
  return /chat|sms|whatsapp|messag/i.test(String(vars.CHANNEL ?? '')) ? 'chat' : 'call';
}

/** The session's id in file names: Call_ID / Chat_ID as the channel says, else the session id. */
export function sessionFileId(vars: Record<string, unknown>, sessionId: string): string {
  const own = sessionChannel(vars) === 'chat' ? vars.Chat_ID : vars.Call_ID;
  return present(own) ? safeId(sessionChannel(vars) === 'chat' ? 'Chat_ID' : 'Call_ID', own) : safeId('session id', sessionId);
}

export function placeFile(f: LayoutInput): FilePlacement {
  const channel = sessionChannel(f.vars);
  const id = sessionFileId(f.vars, f.sessionId);
  const folder = FOLDER[f.kind];
  switch (f.kind) {
    case 'call_recording':
    case 'voicemail':
      return { folder, name: `call-${id}.${isWav(f.contentType, f.fileName) ? 'wav' : 'mp3'}` };
    case 'chat_transcript':
      return { folder, name: `${channel}-${id}.txt` };
    case 'photo':
      return { folder, name: `${channel}-${id}-photo-${mediaId(f)}.jpg` };
    case 'video':
      return { folder, name: `${channel}-${id}-video-${mediaId(f)}.mp4` };
    case 'session_metadata':
      return { folder, name: `${channel}-${id}.json` };
  }
}

function mediaId(f: LayoutInput): string {
  if (present(f.mediaId)) return safeId('media_id', f.mediaId);
  // No id from the platform: the content's digest, so a retried event lands on the same name.
  if (f.data) return crypto.createHash('sha256').update(f.data).digest('hex').slice(0, 16);
  throw new LayoutError(`a ${f.kind} needs data.media_id (or its content) to be named`);
}

function isWav(contentType: string | undefined, fileName: string | undefined): boolean {
  return /^audio\/(x-|vnd\.)?wave?\b/i.test(contentType ?? '') || /\.wav$/i.test(fileName ?? '');
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null && v !== '';
}
