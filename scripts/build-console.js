#!/usr/bin/env node
// Builds the browser console (console/src) into dist/console: one minified script and one
// stylesheet with content hashes in their names (cached for a year by the gateway), and
// index.html naming them (never cached). Everything the page loads comes from here: no CDN.
const fs = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.join(__dirname, '..');
const out = path.join(root, 'dist/console');

async function build() {
  fs.rmSync(out, { recursive: true, force: true });
  const result = await esbuild.build({
    entryPoints: { app: path.join(root, 'console/src/main.tsx') },
    bundle: true,
    minify: true,
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
  fs.writeFileSync(path.join(out, 'index.html'), html);
  const sizes = fs.readdirSync(out).map((f) => `${f} ${(fs.statSync(path.join(out, f)).size / 1024).toFixed(0)} KiB`);
  if (!process.argv.includes('--quiet')) process.stdout.write(`console: ${sizes.join(', ')}\n`);
}

build().catch((e) => {
  process.stderr.write(`console build failed: ${e.message}\n`);
  process.exit(1);
});
