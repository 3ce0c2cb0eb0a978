/** Bulk batching tests: config/hubspot.yaml with its commented batch: block switched on. */
import { bundled } from './harness';

/** Smaller batches and window than the file's, and fast retries, so tests run in seconds. */
export function hubspotWithBatch(o: { maxItems: number; windowSeconds: number }): string {
  const yaml = bundled('hubspot.yaml')
    .replace(/^ {4}# batch:\n((?: {4}# {3}.*\n)+)/m, (block) => block.replace(/^ {4}# /gm, '    '))
    .replace('max_items: 100', `max_items: ${o.maxItems}`)
    .replace('window_seconds: 5', `window_seconds: ${o.windowSeconds}`)
    .replace(/^retry:\n {2}profile: resilient$/m, 'retry:\n  profile: resilient\n  initial_delay_seconds: 1\n  max_delay_seconds: 1');
  if (!yaml.includes('\n    batch:\n')) throw new Error('config/hubspot.yaml: the commented batch: block was not found');
  return yaml;
}
