/**
 * YAML with positions: parse once with the `yaml` library, keep the document so any JSON
 * path (from ajv or our own checks) can be turned into file:line:column.
 */
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { ConfigIssue } from './types';

export type PathSegment = string | number;

export interface YamlSource {
  file: string;
  doc: Document.Parsed;
  lines: LineCounter;
  value: unknown;
  /** Syntax errors, already positioned. */
  errors: ConfigIssue[];
}

export function parseYaml(text: string, file: string): YamlSource {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  const errors: ConfigIssue[] = [...doc.errors, ...doc.warnings].map((e) => {
    const pos = e.linePos?.[0];
    return {
      severity: doc.errors.includes(e as never) ? 'error' : 'warning',
      file,
      line: pos?.line,
      column: pos?.col,
      path: '',
      message: `YAML: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`,
    } satisfies ConfigIssue;
  });
  let value: unknown;
  if (!doc.errors.length) {
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      // e.g. an alias to an anchor that does not exist, or an alias bomb.
      errors.push({ severity: 'error', file, path: '', message: `YAML: ${(e as Error).message}` });
    }
  }
  return { file, doc, lines, value, errors };
}

/**
 * Position of the node at `path`. For a missing key, the deepest existing parent; with
 * `atKey`, the key of the last segment (for "unknown property" errors).
 */
export function positionOf(src: YamlSource, path: readonly PathSegment[], atKey = false): { line?: number; column?: number } {
  let node: unknown = src.doc.contents;
  let offset = (node as Node | null)?.range?.[0];
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    if (isMap(node)) {
      const pair = node.items.find((p) => String((p.key as { value?: unknown })?.value ?? p.key) === String(seg));
      if (!pair) break;
      const keyNode = pair.key as Node | null;
      if (atKey && i === path.length - 1 && keyNode?.range) {
        offset = keyNode.range[0];
        break;
      }
      node = pair.value;
      offset = (pair.value as Node | null)?.range?.[0] ?? keyNode?.range?.[0] ?? offset;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
      offset = (node as Node | null)?.range?.[0] ?? offset;
    } else break;
  }
  if (offset === undefined) return {};
  const pos = src.lines.linePos(offset);
  return { line: pos.line, column: pos.col };
}

export function issueAt(src: YamlSource, path: readonly PathSegment[], message: string, severity: 'error' | 'warning' = 'error', atKey = false): ConfigIssue {
  return { severity, file: src.file, ...positionOf(src, path, atKey), path: formatPath(path), message };
}

/** `['endpoints','find_account','params','filterGroups',0]` → `endpoints.find_account.params.filterGroups[0]` */
export function formatPath(path: readonly PathSegment[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

export function formatIssue(i: ConfigIssue): string {
  const where = [i.file, i.line, i.column].filter((x) => x !== undefined).join(':');
  return `${where}${i.path ? ` ${i.path}` : ''}: ${i.severity === 'warning' ? 'warning: ' : ''}${i.message}`;
}
