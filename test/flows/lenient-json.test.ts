/** The comma repair of event bodies: one linear pass, for small bodies only. */
import { LENIENT_REPAIR_LIMIT, lenientJson, repairCommas } from '../../src/flows/events';

test.each<[string, string, unknown]>([
  ['valid JSON is left alone', '{"a": 1, "b": [1, 2]}', { a: 1, b: [1, 2] }],
  ['trailing comma before }', '{\n  "a": 1,\n  "b": "x",\n}', { a: 1, b: 'x' }],
  ['trailing comma before ]', '{"a": [1, 2, ]}', { a: [1, 2] }],
  ['trailing comma on one line', '{"a": true,}', { a: true }],
  ['trailing commas at two levels', '{"d": {"a": null,},\n}', { d: { a: null } }],
  ['missing comma between lines', '{\n  "a": 5\n  "b": "x"\n}', { a: 5, b: 'x' }],
  ['missing comma after a string', '{\n  "a" : "x"\n  "b": 1\n}', { a: 'x', b: 1 }],
  ['missing and trailing commas together', '{\n  "a": 5\n  "b": "x",\n  "c": [1,],\n}', { a: 5, b: 'x', c: [1] }],
  ['commas and braces inside strings are untouched', '{\n  "a": "x,}",\n  "b": "y,\\n]"\n  "c": "\\",",\n}', { a: 'x,}', b: 'y,\n]', c: '",' }],
  ['an escaped quote does not end the string', '{"a": "say \\"hi\\",", }', { a: 'say "hi",' }],
])('%s', (_name, text, expected) => {
  expect(lenientJson(text)).toEqual(expected);
});

test.each<[string, string]>([
  ['two commas in a row', '{"a": 1,, "b": 2}'],
  ['a comma right after {', '{, "a": 1}'],
  ['a comma alone in a list', '[,]'],
  ['not JSON at all', '{"type": '],
])('still refused: %s', (_name, text) => {
  expect(() => lenientJson(text)).toThrow(expect.objectContaining({ code: 'invalid_json' }));
});

test('the repair only changes commas (a valid text comes back the same)', () => {
  const text = '{"a": [1, {"b": "c,]"}], "d": false}';
  expect(repairCommas(text)).toBe(text);
});

test('a large invalid body is refused after one parse, without the repair', () => {
  const big = `{"a": "${'x'.repeat(20 * 1024 * 1024)}",}`;
  // Against one plain parse of the same size measured here (a busy machine slows both alike):
  // one parse and a refusal, not a repair and a second parse.
  const b0 = process.hrtime.bigint();
  JSON.parse(`{"a": "${'x'.repeat(20 * 1024 * 1024)}"}`);
  const oneParse = Number(process.hrtime.bigint() - b0) / 1e6;
  const t0 = process.hrtime.bigint();
  expect(() => lenientJson(big)).toThrow(expect.objectContaining({ code: 'invalid_json' }));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  expect(ms).toBeLessThan(3 * oneParse + 300);
  // Just over the limit: refused even though the repair would have fixed it.
  const over = `{"a": "${'x'.repeat(LENIENT_REPAIR_LIMIT)}",}`;
  expect(() => lenientJson(over)).toThrow(expect.objectContaining({ code: 'invalid_json' }));
});

test('the repair is linear: a body at the limit full of commas to repair is fast', () => {
  // Every member lacks its comma and ends with a trailing one in a nested list.
  const members: string[] = [];
  let size = 2;
  for (let i = 0; size < LENIENT_REPAIR_LIMIT - 40; i++) {
    const m = `"k${i}": [${i},]\n`;
    members.push(m);
    size += m.length;
  }
  const body = `{${members.join('')}}`;
  expect(body.length).toBeLessThanOrEqual(LENIENT_REPAIR_LIMIT);
  const t0 = process.hrtime.bigint();
  const parsed = lenientJson(body) as Record<string, number[]>;
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  expect(Object.keys(parsed)).toHaveLength(members.length);
  expect(parsed.k7).toEqual([7]);
  expect(ms).toBeLessThan(200);
});
