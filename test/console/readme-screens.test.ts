/** The README's Console section shows every screenshot the browser suite makes, and only files that exist. */
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '../..');
const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const section = /\n## Console\n([\s\S]*?)\n## /.exec(readme)![1];
const suite = fs.readFileSync(path.join(__dirname, 'browser.test.ts'), 'utf8');

test('every screenshot the browser suite saves is in the README, and every one the README shows is committed', () => {
  const taken = [...suite.matchAll(/shot\('([a-z-]+)'\)/g)].map((m) => `docs/console/${m[1]}.png`).sort();
  const shown = [...section.matchAll(/\((docs\/console\/[a-z-]+\.png)\)/g)].map((m) => m[1]).sort();
  expect(new Set(shown)).toEqual(new Set(taken));
  for (const f of shown) expect(fs.existsSync(path.join(ROOT, f))).toBe(true);
});

test('the section says where the console is and how to sign in', () => {
  expect(section).toMatch(/`\/console`/);
  expect(section).toMatch(/sessionStorage/);
  expect(section).toMatch(/npm start/);
});
