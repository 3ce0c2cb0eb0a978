/**
 * One gateway process for the limits benchmark (settings from the environment: CONFIG_DIR,
 * DATA_DIR, DATABASE_URL, DATABASE_SCHEMA, DELIVERY_WORKERS, ZENDESK_URL); prints
 * "READY <url>" once listening, stops on SIGTERM.
 */
import { serve } from '../src/cli/serve';
import { createLogger } from '../src/util/logger';
import { Redactor } from '../src/util/redact';

async function main(): Promise<void> {
  const redactor = new Redactor();
  const logger = createLogger({ level: 'warn', redactor });
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
