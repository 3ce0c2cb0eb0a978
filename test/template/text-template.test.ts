import Handlebars from 'handlebars';
import { compileTextTemplate, templateVariables, textToHtml } from '../../src/template/text-template';

const plain = { html: false };
const html = { html: true };

describe('compileTextTemplate — plain vs html', () => {
  const rows: [string, string, Record<string, unknown>, string, string][] = [
    ['variables', 'Call from {{NAME}} <{{EMAIL}}>', { NAME: 'Ada', EMAIL: 'a@x.io' }, 'Call from Ada <a@x.io>', 'Call from Ada &lt;a@x.io&gt;'],
    [
      'script in a value',
      'Note: {{NOTE}}',
      { NOTE: '<script>alert("x")</script>' },
      'Note: <script>alert("x")</script>',
      'Note: &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;',
    ],
    ['triple-stash cannot inject markup', '{{{NOTE}}}', { NOTE: '<b>hi</b>' }, '<b>hi</b>', '&lt;b&gt;hi&lt;/b&gt;'],
    ['ampersand and quotes', "{{A}} & '{{B}}'", { A: 'R&D', B: "O'Brien" }, "R&D & 'O'Brien'", 'R&amp;D &amp; &#39;O&#39;Brien&#39;'],
    ['equals sign stays', 'a={{A}}', { A: 'b=c' }, 'a=b=c', 'a=b=c'],
    ['template newlines', 'Line 1\nLine 2\r\nLine 3', {}, 'Line 1\nLine 2\r\nLine 3', 'Line 1<br>Line 2<br>Line 3'],
    ['newlines in values', 'Notes:\n{{NOTES}}', { NOTES: 'one\ntwo' }, 'Notes:\none\ntwo', 'Notes:<br>one<br>two'],
    ['missing variables render empty', '[{{NAME}}][{{CONTACT.name}}]', {}, '[][]', '[][]'],
    ['null/undefined render empty', '[{{A}}][{{B}}]', { A: null, B: undefined }, '[][]', '[][]'],
    ['numbers and booleans', '{{N}} {{B}}', { N: 0, B: false }, '0 false', '0 false'],
    ['nested paths', '{{CONTACT.name}}', { CONTACT: { name: 'Ada' } }, 'Ada', 'Ada'],
    ['#if / else', '{{#if VIP}}VIP {{NAME}}{{else}}regular{{/if}}', { VIP: true, NAME: 'Ada' }, 'VIP Ada', 'VIP Ada'],
    ['#if falsy', '{{#if VIP}}VIP{{else}}regular{{/if}}', { VIP: '' }, 'regular', 'regular'],
    ['#each', '{{#each TAGS}}[{{this}}]{{/each}}', { TAGS: ['a', '<b>'] }, '[a][<b>]', '[a][&lt;b&gt;]'],
    ['default helper: missing', '{{default NAME "Unknown caller"}}', {}, 'Unknown caller', 'Unknown caller'],
    ['default helper: empty string', '{{default NAME "Unknown"}}', { NAME: '' }, 'Unknown', 'Unknown'],
    ['default helper: present', '{{default NAME "Unknown"}}', { NAME: 'Ada' }, 'Ada', 'Ada'],
    ['default helper: zero is a value', '{{default HOLD_TIME "n/a"}}', { HOLD_TIME: 0 }, '0', '0'],
    ['default helper: escapes fallback in html', '{{default X "<none>"}}', {}, '<none>', '&lt;none&gt;'],
    ['default helper: no fallback', '[{{default X}}]', {}, '[]', '[]'],
    ['no prototype access', '[{{constructor.name}}][{{NAME.constructor}}][{{__proto__}}]', { NAME: 'x' }, '[][][]', '[][][]'],
  ];
  test.each(rows)('%s', (_n, source, vars, expectedPlain, expectedHtml) => {
    const render = compileTextTemplate(source);
    expect(render(vars, plain)).toBe(expectedPlain);
    expect(render(vars, html)).toBe(expectedHtml);
  });

  it('reuses the compiled template across renders', () => {
    const render = compileTextTemplate('Hi {{NAME}}');
    expect(['A', 'B', 'C'].map((NAME) => render({ NAME }, plain))).toEqual(['Hi A', 'Hi B', 'Hi C']);
  });

  it('does not register anything on the global Handlebars instance', () => {
    compileTextTemplate('{{default X "y"}}');
    expect(Handlebars.helpers.default).toBeUndefined();
  });
});

describe('compileTextTemplate — errors at compile time', () => {
  const rows: [string, RegExp][] = [
    ['{{#if A}}unclosed', /Parse error on line 1/],
    ['Hello {{NAME}', /Parse error on line 1/],
    ['{{#if A}}x{{/each}}', /if doesn't match each/],
    ['{{upper NAME}}', /unknown helper upper/],
    ['{{foo/../bar}}', /Invalid path/],
    ['{{> partial}}', /partials are not supported/],
  ];
  test.each(rows)('%j', (source, message) => {
    expect(() => compileTextTemplate(source)).toThrow(Error);
    expect(() => compileTextTemplate(source)).toThrow(message);
    expect(() => compileTextTemplate(source)).toThrow(/^Invalid text template: /);
  });

  it('rejects a non-string source', () => {
    expect(() => compileTextTemplate(42 as unknown as string)).toThrow(/must be a string/);
  });
});

describe('textToHtml', () => {
  const rows: [string, string][] = [
    ['plain', 'plain'],
    ['<script>x</script>', '&lt;script&gt;x&lt;/script&gt;'],
    [`& < > " '`, '&amp; &lt; &gt; &quot; &#39;'],
    ['&amp;', '&amp;amp;'], // text, so an entity-looking string is escaped again
    ['a\nb\r\nc\rd', 'a<br>b<br>c<br>d'],
    ['\n\n', '<br><br>'],
    ['', ''],
  ];
  test.each(rows)('%j → %j', (input, expected) => expect(textToHtml(input)).toBe(expected));
});

describe('templateVariables', () => {
  const rows: [string, string[]][] = [
    ['no variables', []],
    ['{{NAME}} {{EMAIL}} {{NAME}}', ['NAME', 'EMAIL']],
    ['{{{NOTES}}} {{&RAW}}', ['NOTES', 'RAW']],
    ['{{CONTACT.name}} {{this.PHONE}} {{./AGENT}}', ['CONTACT', 'PHONE', 'AGENT']],
    ['{{#if VIP}}{{NAME}}{{else}}{{#unless X}}{{EMAIL}}{{/unless}}{{/if}}', ['VIP', 'NAME', 'X', 'EMAIL']],
    ['{{default NAME "fallback"}} {{default (default A B) C}}', ['NAME', 'A', 'B', 'C']],
    ['{{#each TAGS}}{{this}} {{name}} {{@index}} {{../NAME}} {{@root.EMAIL}}{{/each}}', ['TAGS', 'NAME', 'EMAIL']],
    ['{{#each TAGS as |tag i|}}{{tag.name}} {{i}} {{OTHER}}{{/each}}', ['TAGS']],
    ['{{#with CONTACT}}{{name}}{{else}}{{NAME}}{{/with}}', ['CONTACT', 'NAME']],
    ['{{#each A}}{{#each b}}{{../../TOP}}{{../c}}{{/each}}{{/each}}', ['A', 'TOP']],
    ['{{lookup CONTACT "name"}} {{log LEVEL}}', ['CONTACT', 'LEVEL']],
    ['{{#if A}}x{{/if}}{{!-- {{HIDDEN}} --}}', ['A']],
    ['{{default X fallback=Y}}', ['X', 'Y']],
    ['{{#SECTION}}{{inner}}{{/SECTION}}', ['SECTION']],
    ['{{[WEIRD NAME]}}', ['WEIRD NAME']],
  ];
  test.each(rows)('%j → %j', (source, expected) => expect(templateVariables(source)).toEqual(expected));

  it('throws the handlebars parse message on bad syntax', () => {
    expect(() => templateVariables('{{#if A}}')).toThrow(/Invalid text template: Parse error/);
  });
});
