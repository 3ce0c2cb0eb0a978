import fs from 'node:fs';
import { compileConnector } from './src/config/compile';
import { formatIssue } from './src/config/yaml-source';
const file = process.argv[2] ?? 'config/zendesk.yaml';
const r = compileConnector(fs.readFileSync(file, 'utf8'), file, {});
console.log(r.issues.map(formatIssue), [...(r.connector?.flowPosts.keys() ?? [])], r.connector?.fieldMappings);
