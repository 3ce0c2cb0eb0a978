/**
 * GET /console and GET /console/{asset}: the browser console, static files built by
 * scripts/build-console.js into dist/console (no data: the page calls the same HTTP API as any
 * client, with the key its user types). Public, like /docs.
 *
 * The page runs under a strict Content-Security-Policy: scripts and stylesheets from this
 * gateway only (no inline script or <style>; style attributes are allowed), requests to this gateway only, nothing framed. index.html is never
 * cached (it names the current build); the other files carry a content hash in their names and
 * are cached for a year.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Router } from 'express';
import { GatewayError } from '../errors';
import { packageRoot } from '../util/package-root';

/**
 * The page's policy. The editor (CodeMirror) writes its theme into <style> elements: those carry
 * the page's nonce (a fresh one per page load, handed to the script in a meta tag), and a few
 * style attributes (tab-size) are allowed. Scripts: this gateway's files only, never inline.
 */
export function consoleCsp(nonce: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src 'self' 'nonce-${nonce}'`,
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The nonce's place in the built index.html (scripts/build-console.js writes it). */
const NONCE_SLOT = '{{CSP_NONCE}}';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** A built file name: flat, no dot first (the route's parameter is one segment; this keeps it inside the folder). */
const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;
/** Names esbuild gives hashed outputs: app-ABCD1234.js. */
const HASHED = /-[A-Z0-9]{8}\.[a-z]+$/;

export function consoleDir(): string {
  return path.join(packageRoot(), 'dist/console');
}

export function consolePageRoutes(dir: string = consoleDir()): Router {
  const r = Router({ caseSensitive: true, strict: true });
  const send = async (name: string, res: import('express').Response) => {
    const type = TYPES[path.extname(name)];
    if (!ASSET_NAME.test(name) || !type) throw new GatewayError('not_found', `no console file ${name.slice(0, 128)}`);
    let body: Buffer;
    try {
      body = await fs.promises.readFile(path.join(dir, name));
    } catch {
      throw new GatewayError(
        'not_found',
        name === 'index.html' ? 'the console is not built: run `npm run build` (or `node scripts/build-console.js`)' : `no console file ${name}`,
      );
    }
    const nonce = crypto.randomBytes(16).toString('base64');
    if (name === 'index.html') body = Buffer.from(body.toString('utf8').split(NONCE_SLOT).join(nonce));
    res.set({
      'Content-Type': type,
      'Content-Security-Policy': consoleCsp(nonce),
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': HASHED.test(name) ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    res.send(body);
  };
  r.get('/console', (_req, res) => send('index.html', res));
  r.get('/console/:asset', (req, res) => send(String(req.params.asset), res));
  return r;
}
