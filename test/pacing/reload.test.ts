/**
 * A config reload of the same connector keeps its bucket (a reload never refills the budget);
 * a connector without rate_limit gets the free, unpaced limiter.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Gateway } from '../../src/gateway';
import { RateLimitedError, UNLIMITED } from '../../src/pacing/limiter';
import { bundled } from '../helpers/harness';

test('reloading the connector file keeps the spent budget; removing rate_limit (or the file) unpaces and forgets it', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pacing-reload-'));
  const file = path.join(dir, 'zendesk.yaml');
  const yaml = (name: string, rateLimit: string) =>
    bundled('zendesk.yaml')
      .replace(/^name: .*$/m, `name: ${name}`)
      .replace(/^timeout_seconds: 5$/m, `timeout_seconds: 5${rateLimit}`);
  fs.writeFileSync(file, yaml('First', '\nrate_limit:\n  requests: 1\n  per_seconds: 60\n  burst: 1'));
  const gw = new Gateway({ configFiles: [file], env: { ZENDESK_URL: 'http://127.0.0.1:9' } });
  try {
    gw.load();
    const first = gw.runtime('zendesk');
    expect(first.limiter.limited).toBe(true);
    (await first.limiter.acquire('create_account', Date.now() + 100))();

    fs.writeFileSync(file, yaml('Second', '\nrate_limit:\n  requests: 1\n  per_seconds: 60\n  burst: 1'));
    gw.reloadFile(file);
    const second = gw.runtime('zendesk');
    expect(second).not.toBe(first);
    expect(second.connector.name).toBe('Second');
    expect(second.limiter).toBe(first.limiter);
    await expect(second.limiter.acquire('create_account', Date.now() + 100)).rejects.toBeInstanceOf(RateLimitedError);

    fs.writeFileSync(file, yaml('Third', ''));
    gw.reloadFile(file);
    expect(gw.runtime('zendesk').limiter).toBe(UNLIMITED);
    // …and it is forgotten (no queue gauge for it): set again, the limit starts a fresh budget.
    expect(gw.pacedLimiters().has('zendesk')).toBe(false);
    fs.writeFileSync(file, yaml('Fourth', '\nrate_limit:\n  requests: 1\n  per_seconds: 60\n  burst: 1'));
    gw.reloadFile(file);
    const fourth = gw.runtime('zendesk').limiter;
    expect(fourth).not.toBe(first.limiter);
    (await fourth.acquire('create_account', Date.now() + 100))();
    expect(gw.pacedLimiters().has('zendesk')).toBe(true);
    // A deleted file takes its limiter with it.
    fs.rmSync(file);
    gw.reloadFile(file);
    expect(gw.pacedLimiters().has('zendesk')).toBe(false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
