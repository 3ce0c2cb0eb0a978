/**
 * Loads every connector file of a directory. A broken file does not stop the others: it is
 * listed with its errors (GET /v1/connectors/{id} shows them) and its operations answer 500
 * config_invalid, while valid connectors serve normally.
 */
import fs from 'node:fs';
import path from 'node:path';
import { compileConnector } from './compile';
import type { ConfigIssue, Connector } from './types';
import { formatIssue } from './yaml-source';

export interface LoadedConnector {
  id: string;
  file: string;
  connector?: Connector;
  issues: ConfigIssue[];
  /** Hot reload: the errors of a newer version of the file that was refused (the connector above still serves). */
  rejected?: ConfigIssue[];
  /** When that change was refused (epoch ms). */
  rejectedAt?: number;
}

export function loadConnectorFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConnector {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const id = path.basename(file).replace(/\.ya?ml$/i, '');
    return { id, file, issues: [{ severity: 'error', file, path: '', message: `cannot read file: ${(e as Error).message}` }] };
  }
  const r = compileConnector(text, file, env);
  return { id: r.id, file, connector: r.connector, issues: r.issues };
}

export function loadConnectorDir(dir: string, env: NodeJS.ProcessEnv = process.env): LoadedConnector[] {
  const files = fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/i.test(f))
    .sort()
    .map((f) => path.join(dir, f));
  const loaded = files.map((f) => loadConnectorFile(f, env));
  const byId = new Map<string, LoadedConnector>();
  for (const l of loaded) {
    const first = byId.get(l.id);
    if (first) {
      l.connector = undefined;
      l.issues.push({ severity: 'error', file: l.file, path: 'id', message: `connector id "${l.id}" is already used by ${first.file}` });
    } else byId.set(l.id, l);
  }
  return loaded;
}

export function errorsOf(l: LoadedConnector): ConfigIssue[] {
  return l.issues.filter((i) => i.severity === 'error');
}

export function describeIssues(issues: ConfigIssue[]): string {
  return issues.map(formatIssue).join('\n');
}
