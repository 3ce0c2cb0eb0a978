/**
 * Editing a connector's YAML through the API: validate a text exactly as the CLI's `validate`
 * and the loader do (compiled with the connector's file name, so positions read
 * "zendesk.yaml:12:3"), and save it into the config directory atomically (a temporary file in
 * the same directory, then a rename), after which the connector is reloaded at once (the
 * directory watcher sees the rename too and finds nothing new).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { compileConnector } from '../config/compile';
import type { ConfigIssue } from '../config/types';
import { GatewayError } from '../errors';
import type { Gateway } from '../gateway';
import { MASK } from '../util/redact';
import { issueView, type IssueView } from './connector-view';

/** The largest connector text accepted (the bundled ones are under 20 KiB). */
export const MAX_YAML_BYTES = 1024 * 1024;

/**
 * The version tag of a file's text (the `sha256` the API shows, the `base_sha256` a save names):
 * HMAC-SHA-256 under a key of this process, so the tag of a file that holds a literal credential
 * cannot be used to guess it offline. Any change of the file changes it; a restart changes
 * every tag (a save then asks to read the file again).
 */
const VERSION_KEY = crypto.randomBytes(32);
export const versionOf = (text: string | Buffer) => crypto.createHmac('sha256', VERSION_KEY).update(text).digest('hex');

/**
 * The file's text as the API shows it: every configured secret masked (a credential written in
 * the file, or the default of a `${env:NAME:-default}` in use), as in every other answer.
 */
export function maskedText(gw: Gateway, raw: string): string {
  return gw.redactor.redact(raw);
}

/**
 * The text a client sends back is an edit of the masked text: a line still holding a mask that
 * the shown text held is given back its value from the file (the secret round-trips without
 * leaving the gateway). A mask on any other line cannot be restored: 422 naming its line.
 */
export function unmaskText(raw: string, masked: string, submitted: string): string {
  if (!submitted.includes(MASK)) return submitted;
  const rawLines = raw.split('\n');
  const maskedLines = masked.split('\n');
  const restore = new Map<string, string | null>();
  if (rawLines.length === maskedLines.length) {
    for (let i = 0; i < rawLines.length; i++) {
      if (maskedLines[i] === rawLines[i]) continue;
      const known = restore.get(maskedLines[i]);
      // The same masked line standing for two different lines: which one is meant is unknown.
      restore.set(maskedLines[i], known === undefined || known === rawLines[i] ? rawLines[i] : null);
    }
  }
  const own = new Set(rawLines);
  return submitted
    .split('\n')
    .map((line, i) => {
      if (!line.includes(MASK) || own.has(line)) return line;
      const value = restore.get(line);
      if (typeof value === 'string') return value;
      throw new GatewayError(
        'validation_failed',
        `yaml: line ${i + 1} holds ${MASK} (a masked secret) where the file holds no masked value; write the value as \${env:NAME} or keep the line as it was shown`,
        { errors: [{ field: 'yaml', message: `a masked secret that cannot be restored`, line: i + 1 }] },
      );
    })
    .join('\n');
}

/** The connector's file now: its text and the masked text the API showed of it. */
function currentFile(gw: Gateway, file: string): { raw: string; masked: string } | undefined {
  try {
    const raw = fs.readFileSync(file, 'utf8');
    return { raw, masked: maskedText(gw, raw) };
  } catch {
    return undefined;
  }
}

export interface Validation {
  valid: boolean;
  errors: IssueView[];
}

/** The request body's `yaml`: a string of at most MAX_YAML_BYTES, else the 4xx naming it. */
export function yamlOf(body: unknown): string {
  const yaml = (body as { yaml?: unknown } | null)?.yaml;
  if (typeof yaml !== 'string') {
    throw new GatewayError('validation_failed', 'yaml: the connector file text is required (a string)', {
      errors: [{ field: 'yaml', message: 'required string' }],
    });
  }
  if (Buffer.byteLength(yaml) > MAX_YAML_BYTES) {
    throw new GatewayError('payload_too_large', `yaml: at most ${MAX_YAML_BYTES} bytes`, { field: 'yaml' });
  }
  if (!yaml.isWellFormed()) {
    throw new GatewayError('validation_failed', 'yaml: text must be valid Unicode', { errors: [{ field: 'yaml', message: 'not valid Unicode' }] });
  }
  return yaml;
}

/**
 * Compiles the text as the connector `id`'s file would be; writes nothing. `restoreMasked`
 * (admin keys, the keys that were shown the masked text): masked lines get their values back
 * first. Other keys never saw the file, and get no compile of its secrets to probe.
 */
export function validateText(gw: Gateway, id: string, submitted: string, restoreMasked: boolean): Validation {
  const l = gw.entry(id);
  const now = restoreMasked ? currentFile(gw, l.file) : undefined;
  return validateUnmasked(gw, id, now ? unmaskText(now.raw, now.masked, submitted) : submitted);
}

function validateUnmasked(gw: Gateway, id: string, yaml: string): Validation {
  const l = gw.entry(id);
  const compiled = compileConnector(yaml, l.file, gw.env);
  const issues: ConfigIssue[] = [...compiled.issues];
  // The id names the connector in every URL, key scope and delivery: it is not renamed from here.
  if (compiled.id !== id) {
    issues.push({ severity: 'error', file: l.file, path: 'id', message: `the id must stay "${id}" (this text would make it "${compiled.id}")` });
  }
  // Configured values of the submitted text are masked too (a literal credential echoed in a message).
  const masked = gw.redactor.with(compiled.connector?.secrets ?? []);
  const errors = masked.redactDeep(issues.map(issueView));
  return { valid: !errors.some((e) => e.severity === 'error'), errors };
}

/**
 * Saves a valid text over the connector's file when `baseSha256` is the hash of the file as it
 * is now (else someone saved in between: 409). Synchronous from the read to the rename, so two
 * saves in this process cannot interleave.
 */
export function saveText(gw: Gateway, id: string, submitted: string, baseSha256: unknown): { saved: true; sha256: string } {
  if (typeof baseSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(baseSha256)) {
    throw new GatewayError('validation_failed', 'base_sha256: the sha256 of the file as read (64 lowercase hex digits, from GET /v1/connectors/{id})', {
      errors: [{ field: 'base_sha256', message: 'required, 64 lowercase hex digits' }],
    });
  }
  const dir = gw.configDir;
  const l = gw.entry(id);
  if (!dir) throw new GatewayError('conflict', 'this gateway runs from explicit connector files, not a config directory: saving from the API is off');
  if (path.resolve(path.dirname(l.file)) !== path.resolve(dir)) {
    throw new GatewayError('conflict', `the connector's file is not in the config directory ${dir}: saving from the API is off`);
  }
  const now = currentFile(gw, l.file);
  if (!now) throw new GatewayError('conflict', "the connector's file cannot be read any more (removed?); reload the connector and try again");
  const yaml = unmaskText(now.raw, now.masked, submitted);
  const v = validateUnmasked(gw, id, yaml);
  if (!v.valid) {
    const errors = v.errors.filter((e) => e.severity === 'error');
    throw new GatewayError('validation_failed', `the text has ${errors.length} configuration error${errors.length === 1 ? '' : 's'}; nothing was saved`, {
      errors: errors.map((e) => ({ field: 'yaml', ...e })),
    });
  }
  if (versionOf(now.raw) !== baseSha256) {
    throw new GatewayError('conflict', 'the file changed since it was read (someone else saved it): read it again, then save over the new version');
  }
  const tmp = path.join(dir, `.${path.basename(l.file)}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  try {
    const fd = fs.openSync(tmp, 'wx', fs.statSync(l.file).mode & 0o777);
    try {
      fs.writeFileSync(fd, yaml);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, l.file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  gw.reloadFile(l.file);
  return { saved: true, sha256: versionOf(yaml) };
}
