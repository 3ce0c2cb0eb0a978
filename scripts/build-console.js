#!/usr/bin/env node
// Builds the browser console (console/src) into dist/console: one minified script and one
// stylesheet with content hashes in their names (cached for a year by the gateway), and
// index.html naming them (never cached). Everything the page loads comes from here: no CDN.
//
// `--if-stale` builds only when a source is newer than the last build (the test suites that
// need the console call it). Several builds may run at once (parallel test files): each writes
// the same hashed files, index.html is replaced atomically and last, so a reader never sees an
// index naming a file that is not there yet.
const fs = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.join(__dirname, '..');
const out = path.join(root, 'dist/console');

const sources = [path.join(root, 'console'), path.join(root, 'schemas/connector.schema.json'), __filename];

function newest(p) {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...fs.readdirSync(p).map((f) => newest(path.join(p, f))));
}

function stale() {
  const index = path.join(out, 'index.html');
  return !fs.existsSync(index) || Math.max(...sources.map(newest)) > fs.statSync(index).mtimeMs;
}

async function build() {
  if (process.argv.includes('--if-stale') && !stale()) return;
  fs.mkdirSync(out, { recursive: true });
  const result = await esbuild.build({
    entryPoints: { app: path.join(root, 'console/src/main.tsx') },
    bundle: true,
    minify: process.env.CONSOLE_MINIFY !== '0',
    format: 'esm',
    target: ['chrome110', 'firefox110', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    entryNames: '[name]-[hash]',
    outdir: out,
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((f) => path.basename(f));
  const script = outputs.find((f) => f.endsWith('.js'));
  const style = outputs.find((f) => f.endsWith('.css'));
  const html = fs
    .readFileSync(path.join(root, 'console/index.html'), 'utf8')
    .replace('{{SCRIPT}}', `/console/${script}`)
    .replace('{{STYLE}}', `/console/${style}`);
  const tmp = path.join(out, `.index-${process.pid}.html`);
  fs.writeFileSync(tmp, html);
  fs.renameSync(tmp, path.join(out, 'index.html'));
  // Earlier builds' files: gone once the new index names the new ones.
  for (const f of fs.readdirSync(out)) if (f !== 'index.html' && !outputs.includes(f) && !f.startsWith('.')) fs.rmSync(path.join(out, f), { force: true });
  const sizes = fs.readdirSync(out).map((f) => `${f} ${(fs.statSync(path.join(out, f)).size / 1024).toFixed(0)} KiB`);
  if (!process.argv.includes('--quiet')) process.stdout.write(`console: ${sizes.join(', ')}\n`);
}

build().catch((e) => {
  process.stderr.write(`console build failed: ${e.message}\n`);
  process.exit(1);
});
