/** Bulk batching tests: a bundled connector with its commented batch: block switched on. */
import { bundled } from './harness';

/**
 * config/<file> with the (first) commented batch: block uncommented; smaller batches and window
 * than the file's, and retries after 1 s, so tests run in seconds.
 */
export function withBatch(file: 'hubspot.yaml' | 'zendesk.yaml', o: { maxItems: number; windowSeconds: number }): string {
  let yaml = bundled(file)
    .replace(/^ {4}# batch:\n((?: {4}# {3}.*\n)+)/m, (block) => block.replace(/^ {4}# /gm, '    '))
    .replace('max_items: 100', `max_items: ${o.maxItems}`)
    .replace('window_seconds: 5', `window_seconds: ${o.windowSeconds}`);
  if (!yaml.includes('\n    batch:\n')) throw new Error(`config/${file}: the commented batch: block was not found`);
  const fastRetry = '  initial_delay_seconds: 1\n  max_delay_seconds: 1';
  if (/^retry:\n/m.test(yaml)) yaml = yaml.replace(/^retry:\n/m, `retry:\n${fastRetry}\n`);
  else yaml += `\nretry:\n${fastRetry}\n`;
  return yaml;
}

export function hubspotWithBatch(o: { maxItems: number; windowSeconds: number }): string {
  return withBatch('hubspot.yaml', o);
}
