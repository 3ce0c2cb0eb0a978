import express, { type Request, type RequestHandler } from 'express';
import multer from 'multer';
import { sha256Hex } from './clock';

export const DEFAULT_BODY_LIMIT_BYTES = 20 * 1024 * 1024;

export interface UploadedPart {
  field: string;
  name: string;
  mimetype: string;
  data: Buffer;
}

export type BodyProblem = 'invalid_json' | 'too_large' | 'bad_multipart' | 'unreadable';

/**
 * Every request body is read once, up front, into one of these shapes. Doing it centrally
 * (instead of per route) lets the request log record what the client really sent, even for
 * requests that are then answered by an injected fault or rejected by auth.
 */
export type ParsedBody =
  | { kind: 'none' }
  | { kind: 'json'; value: unknown; raw: Buffer }
  | { kind: 'form'; value: Record<string, string>; raw: Buffer }
  | { kind: 'binary'; raw: Buffer; contentType: string }
  | { kind: 'multipart'; fields: Record<string, string | string[]>; files: UploadedPart[] }
  | { kind: 'invalid'; problem: BodyProblem; message: string; text?: string };

// A WeakMap instead of a property on Request: no global Express type augmentation
// leaking into the rest of the project.
const parsedBodies = new WeakMap<Request, ParsedBody>();

export function bodyOf(req: Request): ParsedBody {
  return parsedBodies.get(req) ?? { kind: 'none' };
}

/** JSON objects only; anything else (arrays, scalars, non-JSON bodies) reads as {}. */
export function jsonOrFormObject(req: Request): Record<string, unknown> {
  const body = bodyOf(req);
  if ((body.kind === 'json' || body.kind === 'form') && isRecord(body.value)) return body.value;
  return {};
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function mediaType(req: Request): string {
  return (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

function isJsonType(type: string): boolean {
  return type === 'application/json' || type.endsWith('+json');
}

interface HttpishError {
  type?: string;
  status?: number;
  code?: string;
  message?: string;
}

function classify(err: unknown, multipart: boolean): ParsedBody {
  const e: HttpishError = typeof err === 'object' && err !== null ? (err as HttpishError) : {};
  const message = e.message ?? String(err);
  if (e.type === 'entity.too.large' || e.code === 'LIMIT_FILE_SIZE' || e.code === 'LIMIT_FIELD_VALUE') {
    return { kind: 'invalid', problem: 'too_large', message };
  }
  return { kind: 'invalid', problem: multipart ? 'bad_multipart' : 'unreadable', message };
}

function decode(req: Request, raw: Buffer | undefined): ParsedBody {
  if (!raw || raw.length === 0) return { kind: 'none' };
  const type = mediaType(req);
  if (isJsonType(type)) {
    const text = raw.toString('utf8');
    try {
      return { kind: 'json', value: JSON.parse(text) as unknown, raw };
    } catch (err) {
      return {
        kind: 'invalid',
        problem: 'invalid_json',
        message: err instanceof Error ? err.message : 'invalid JSON',
        text: text.slice(0, 1024),
      };
    }
  }
  if (type === 'application/x-www-form-urlencoded') {
    return { kind: 'form', value: Object.fromEntries(new URLSearchParams(raw.toString('utf8'))), raw };
  }
  // Everything else is opaque bytes: the real upload API takes any Content-Type.
  return { kind: 'binary', raw, contentType: type || 'application/octet-stream' };
}

export function bodyReader(limitBytes: number = DEFAULT_BODY_LIMIT_BYTES): RequestHandler {
  const raw = express.raw({ type: () => true, limit: limitBytes });
  const multipart = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: limitBytes, fieldSize: limitBytes },
  }).any();

  return (req, res, next) => {
    // Only form-data goes to multer; other multipart types are kept as opaque bytes.
    const isMultipart = mediaType(req) === 'multipart/form-data';
    const parser = isMultipart ? multipart : raw;
    parser(req, res, (err?: unknown) => {
      if (err) {
        parsedBodies.set(req, classify(err, isMultipart));
      } else if (isMultipart) {
        const files = Array.isArray(req.files) ? req.files : [];
        const fields: Record<string, string | string[]> = isRecord(req.body) ? (req.body as Record<string, string | string[]>) : {};
        parsedBodies.set(req, {
          kind: 'multipart',
          fields: { ...fields },
          files: files.map((f) => ({ field: f.fieldname, name: f.originalname, mimetype: f.mimetype, data: f.buffer })),
        });
      } else {
        parsedBodies.set(req, decode(req, Buffer.isBuffer(req.body) ? req.body : undefined));
      }
      next();
    });
  };
}

export interface FileSummary {
  name: string | null;
  size: number;
  mimetype: string;
  sha256: string;
}

/** What the request log keeps: parsed JSON/form as-is, bytes only as a summary. */
export function summarizeBody(req: Request): unknown {
  const body = bodyOf(req);
  switch (body.kind) {
    case 'none':
      return null;
    case 'json':
    case 'form':
      return body.value;
    case 'binary': {
      const q = req.query as Record<string, unknown>;
      const name = typeof q.filename === 'string' ? q.filename : typeof q.name === 'string' ? q.name : null;
      const file: FileSummary = { name, size: body.raw.length, mimetype: body.contentType, sha256: sha256Hex(body.raw) };
      return { file };
    }
    case 'multipart': {
      const files: FileSummary[] = body.files.map((f) => ({
        name: f.name,
        size: f.data.length,
        mimetype: f.mimetype,
        sha256: sha256Hex(f.data),
      }));
      const fileIndex = Math.max(
        0,
        body.files.findIndex((f) => f.field === 'file'),
      );
      return { fields: body.fields, file: files[fileIndex] ?? null, files };
    }
    case 'invalid':
      return { invalid: body.problem, message: body.message, ...(body.text !== undefined ? { text: body.text } : {}) };
  }
}
