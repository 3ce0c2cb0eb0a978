/**
 * A real gateway process for crash and multi-replica tests. Settings from the environment
 * (CONFIG_DIR, DATA_DIR, DATABASE_URL, DATABASE_SCHEMA, DELIVERY_WORKERS, DELIVERY_LEASE_MS,
 * ZENDESK_URL); prints "READY <url>" once listening.
 */
import pino from 'pino';
import { serve } from '../../src/cli/serve';
import { Redactor } from '../../src/util/redact';

async function main(): Promise<void> {
  const redactor = new Redactor();
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn', hooks: { streamWrite: (s: string) => redactor.redact(s) } }, pino.destination(2));
  const gw = await serve({ port: 0, logger, redactor, pollMs: 20 });
  process.stdout.write(`READY ${gw.url}\n`);
  process.once('SIGTERM', () => {
    void gw.close().then(() => process.exit(0));
  });
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
