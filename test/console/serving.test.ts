/**
 * GET /console and its files, without a browser: the page and its hashed assets from a built
 * folder, the security headers on each (strict CSP, nosniff), caching by kind, and refusals of
 * names that are not built files (no way out of the folder). A gateway without a build says how
 * to make one.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { consolePageRoutes } from '../../src/api/console-page';
import { problemHandler } from '../../src/api/problem';
import { silentLogger } from '../../src/util/logger';
import { Redactor } from '../../src/util/redact';

let dir: string;
let server: Server;
let base: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'console-'));
  fs.writeFileSync(
    path.join(dir, 'index.html'),
    '<!doctype html><meta name="csp-nonce" content="{{CSP_NONCE}}"><script type="module" src="/console/app-ABCD1234.js"></script>',
  );
  fs.writeFileSync(path.join(dir, 'app-ABCD1234.js'), 'export {};');
  fs.writeFileSync(path.join(dir, 'app-ABCD1234.css'), 'body{}');
  fs.writeFileSync(path.join(dir, '.secret'), 'no');
  fs.writeFileSync(path.join(os.tmpdir(), 'outside.js'), 'no');
  const app = express();
  app.use(consolePageRoutes(dir));
  app.use('/empty', consolePageRoutes(path.join(dir, 'missing')));
  app.use(problemHandler(silentLogger, new Redactor()));
  server = app.listen(0, '127.0.0.1');
  await new Promise((ok) => server.once('listening', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((ok) => server.close(ok));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the page: html, strict CSP with no inline script, nosniff, never cached', async () => {
  const res = await fetch(`${base}/console`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
  const csp = res.headers.get('content-security-policy')!;
  expect(csp).toMatch(/default-src 'none'/);
  expect(csp).toMatch(/script-src 'self'(;|$)/);
  expect(csp).toMatch(/connect-src 'self'(;|$)/);
  expect(csp).not.toMatch(/unsafe-eval|\*|https?:/);
  // Inline is allowed for style attributes only (the editor sets a few), never for scripts or <style>.
  expect(csp.split('; ').filter((d) => d.includes('unsafe-inline'))).toEqual(["style-src-attr 'unsafe-inline'"]);
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('cache-control')).toBe('no-cache');
  const html = await res.text();
  expect(html).toContain('/console/app-ABCD1234.js');
  // The style nonce: fresh per load, in the policy and in the page's meta tag, nowhere for scripts.
  const nonce = /content="([A-Za-z0-9+/=]{24})"/.exec(html)![1];
  expect(csp).toContain(`style-src 'self' 'nonce-${nonce}'`);
  expect(csp).toMatch(/script-src 'self';/);
  const again = await fetch(`${base}/console`);
  expect(again.headers.get('content-security-policy')).not.toContain(nonce);
});

test.each([
  ['app-ABCD1234.js', 'text/javascript; charset=utf-8'],
  ['app-ABCD1234.css', 'text/css; charset=utf-8'],
])('a hashed asset %s is cached for a year', async (name, type) => {
  const res = await fetch(`${base}/console/${name}`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe(type);
  expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
});

test.each([
  ['a dot file', '.secret'],
  ['an escape encoded in the one segment', '..%2Foutside.js'],
  ['a file that was not built', 'nope-ABCD1234.js'],
  ['a type the console does not serve', 'index.txt'],
])('%s is a 404 problem', async (_what, name) => {
  const res = await fetch(`${base}/console/${name}`);
  expect(res.status).toBe(404);
  expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
});

test('without a build the page says how to make one', async () => {
  const res = await fetch(`${base}/empty/console`);
  expect(res.status).toBe(404);
  expect(((await res.json()) as { detail: string }).detail).toMatch(/npm run build/);
});
