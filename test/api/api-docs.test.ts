/** The docs page: rendered from openapi.yaml on the server, self-contained, every spec text escaped. */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { apiDocs, escapeHtml, renderDocsPage } from '../../src/api/api-docs';

const spec = YAML.parse(fs.readFileSync(path.join(__dirname, '../../openapi.yaml'), 'utf8')) as {
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, unknown> };
};

test('the page lists every documented operation and schema', () => {
  const html = apiDocs().html;
  for (const [p, item] of Object.entries(spec.paths)) {
    for (const m of Object.keys(item).filter((k) => ['get', 'post'].includes(k)))
      expect(html).toContain(`<span class="method ${m}">${m.toUpperCase()}</span> <code>${escapeHtml(p)}</code>`);
  }
  for (const name of Object.keys(spec.components.schemas)) expect(html).toContain(`id="schema-${name}"`);
});

test('the page loads nothing from anywhere: no script, stylesheet, image, frame or font', () => {
  const html = apiDocs().html;
  expect(html).not.toMatch(/<(script|link|img|iframe|object|embed)\b/i);
  expect(html).not.toMatch(/\ssrc=/i);
  expect(html).not.toMatch(/@import|url\(/i);
});

test('text from openapi.yaml is escaped', () => {
  const html = renderDocsPage({
    info: { title: '<b>t</b>', version: '1', description: '<script>alert(1)</script> & "q"' },
    paths: {
      '/x/{id}': {
        get: {
          summary: '<img src=x onerror=alert(1)>',
          parameters: [{ name: '"><i>', in: 'path', required: true, schema: { enum: ['<e>'] } }],
          responses: { '200': { description: '<ok>' } },
        },
      },
    },
    components: { schemas: { 'S<1>': { type: 'object', description: '</section>', properties: { '<p>': { type: 'string', description: '<d>' } } } } },
  });
  expect(html).not.toMatch(/<(script|i|e|ok|d)>|<img /);
  expect(html.match(/<section/g)?.length).toBe(html.match(/<\/section>/g)?.length);
  expect(html).not.toContain('<td><code><p></code>');
  expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot;');
  expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
});

test('`code` spans and **bold** of the spec show as such, their content still escaped', () => {
  const html = renderDocsPage({ info: { description: 'Send `Authorization: Bearer <key>`; **never** `<script>`' }, paths: {} });
  expect(html).toContain('Send <code>Authorization: Bearer &lt;key&gt;</code>; <b>never</b> <code>&lt;script&gt;</code>');
});

test('a $ref cycle in openapi.yaml does not hang the page', () => {
  const html = renderDocsPage({
    info: {},
    paths: { '/a': { get: { parameters: [{ $ref: '#/components/parameters/P' }], responses: {} } } },
    components: { parameters: { P: { $ref: '#/components/parameters/P' } } },
  });
  expect(html).toContain('<code>/a</code>');
});
