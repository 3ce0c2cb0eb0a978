/**
 * The pure cores that keep one request from holding the event loop: each still does its job on
 * ordinary input, and does it in bounded, linear time on hostile input.
 */
import { checkWellFormed, jsonShapeProblem, MAX_DEPTH, MAX_KEY_LENGTH } from '../../src/api/input-bounds';
import { problemFor } from '../../src/api/problem';
import { GatewayError } from '../../src/errors';
import { LENIENT_REPAIR_LIMIT, lenientJson } from '../../src/flows/events';
import { REQUEST_VARIABLE_SET, suggestVariable } from '../../src/template/variables';
import { silentLogger } from '../../src/util/logger';
import { Redactor } from '../../src/util/redact';

const timed = <T>(f: () => T): [T, number] => {
  const t = performance.now();
  const r = f();
  return [r, performance.now() - t];
};

describe('lenientJson: the missing-comma repair', () => {
  test.each([
    [
      '{"type": "Transfer_Chat"\n"data": {"a": 1\n"b": true\n"c": null\n"d": [1]\n"e": "x"}}',
      { type: 'Transfer_Chat', data: { a: 1, b: true, c: null, d: [1], e: 'x' } },
    ],
    ['{"a": "q\\"\\n"\n"b": 2}', { a: 'q"\n', b: 2 }],
    ['{"a": {"x": 1}\r\n  "b": false}', { a: { x: 1 }, b: false }],
    ['{"a": "x"}', { a: 'x' }],
  ])('%j', (text, expected) => {
    expect(lenientJson(text)).toEqual(expected);
  });

  test('a string that only looks like a line end is left alone', () => {
    expect(() => lenientJson('{"a": "1\n\\"b\\": 2"')).toThrow(expect.objectContaining({ code: 'invalid_json' }));
  });

  test('linear: a body under the limit made of newlines and values, and one over it', () => {
    const under = `{"a":1${'\n'.repeat(LENIENT_REPAIR_LIMIT - 20)}x`;
    const [, ms] = timed(() => expect(() => lenientJson(under)).toThrow(expect.objectContaining({ code: 'invalid_json' })));
    // Bounds far above the linear cost (a few ms) and far below the quadratic one (~40 s), so
    // that a busy CI machine does not fail them and a regression still does.
    expect(ms).toBeLessThan(1000);
    const [, big] = timed(() => expect(() => lenientJson(`{"a":1${'\n'.repeat(300_000)}`)).toThrow(expect.objectContaining({ code: 'invalid_json' })));
    expect(big).toBeLessThan(1000);
  });
});

describe('suggestVariable', () => {
  test('still suggests close names', () => {
    expect(suggestVariable('EMAIl', REQUEST_VARIABLE_SET)).toBe('EMAIL');
    expect(suggestVariable('PHONE_NUMBR', REQUEST_VARIABLE_SET)).toBe('PHONE_NUMBER');
    expect(suggestVariable('TOTALLY_DIFFERENT_THING', REQUEST_VARIABLE_SET)).toBeUndefined();
  });

  test('a name of 1 MB costs nothing (no per-character work) and gets no suggestion', () => {
    const [r, ms] = timed(() => Array.from({ length: 20 }, () => suggestVariable('N'.repeat(1 << 20), REQUEST_VARIABLE_SET)));
    expect(r.every((x) => x === undefined)).toBe(true);
    expect(ms).toBeLessThan(500); // was ~50 s
  });
});

describe('jsonShapeProblem', () => {
  test.each<[string, string | undefined]>([
    ['{"a":[1,{"b":"[[[["}]}', undefined],
    ['['.repeat(MAX_DEPTH), undefined],
    ['['.repeat(MAX_DEPTH + 1), 'depth'],
    ['{"a":'.repeat(MAX_DEPTH + 1), 'depth'],
    [`"\\\\"${'['.repeat(40)}`, 'depth'],
    [`"\\"${'['.repeat(40)}`, undefined],
    [`{"${'k'.repeat(MAX_KEY_LENGTH)}":1}`, undefined],
    [`{"${'k'.repeat(MAX_KEY_LENGTH + 1)}" :1}`, 'key'],
    [`{"a":"${'v'.repeat(MAX_KEY_LENGTH * 10)}"}`, undefined],
  ])('%#: %s', (text, expected) => {
    expect(jsonShapeProblem(text)).toBe(expected);
    expect(jsonShapeProblem(Buffer.from(text))).toBe(expected);
  });

  test('10 MB of "[" and 20 MB of string are judged fast', () => {
    const [, a] = timed(() => jsonShapeProblem('['.repeat(10_000_000)));
    const s = Buffer.from(`{"a":"${'x'.repeat(20 << 20)}"}`);
    const [, b] = timed(() => jsonShapeProblem(s));
    expect(a + b).toBeLessThan(1000); // linear: tens of ms; a backtracking scan takes seconds
  });
});

describe('checkWellFormed', () => {
  test.each<[unknown, string | undefined]>([
    [{ variables: { A: 'ok', B: 1, C: null } }, undefined],
    [{ variables: { A: 'x\ud800' } }, 'variables.A'],
    [{ data: { end_user: { name: '\udc00' } } }, 'data.end_user.name'],
    [{ data: { list: ['a', '\ud83d'] } }, 'data.list[1]'],
    [{ 'k\ud800': 1 }, 'k\ufffd'],
    [{ ok: '😀 李 é' }, undefined],
  ])('%#', (value, field) => {
    let got: string | undefined;
    try {
      checkWellFormed(value, '');
    } catch (e) {
      got = ((e as GatewayError).extensions.errors as Array<{ field: string }>)[0].field;
    }
    expect(got).toBe(field);
  });
});

test('a problem lists at most 20 field errors and says how many more', () => {
  const errors = Array.from({ length: 150 }, (_, i) => ({ field: `variables.${'X'.repeat(1000)}${i}`, message: 'unknown variable' }));
  const p = problemFor(new GatewayError('validation_failed', errors.map((e) => e.field).join('; '), { errors }), '/x', silentLogger, undefined, new Redactor());
  const body = JSON.parse(p.body);
  expect(body.errors).toHaveLength(20);
  expect(body.detail).toMatch(/\(and 130 more\)$/);
  expect(p.body.length).toBeLessThan(16_000);
});
