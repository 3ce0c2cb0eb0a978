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

/** Polls fn until ok (or ms pass); the last value either way. */
export async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits for the start of the next batching window (unless one just began), so a burst of writes falls into one window. */
export async function startOfWindow(windowSeconds: number): Promise<void> {
  const into = Date.now() % (windowSeconds * 1000);
  if (into > 200) await new Promise((r) => setTimeout(r, windowSeconds * 1000 - into + 20));
}
