/**
 * checkVariables: what a caller may send as an operation's variables — an object of known names
 * (the session variables and the connector's own `variables:`) with scalar values. Every problem
 * is listed at once, each naming its field; a near miss gets a "did you mean".
 * (prepareCall, which builds on it, is covered in test/template/prepare-call.test.ts.)
 */
import { compileConnector } from '../../src/config/compile';
import { checkVariables } from '../../src/operations/variables';

const c = compileConnector(
  `auth: {type: none}
base_url: https://crm.test
variables: [LOYALTY_TIER]
endpoints:
  find_account: {method: GET, url: /u, params: {phone: "{PHONE_NUMBER}"}}
  create_account: {method: POST, url: /u, params: {tier: "{LOYALTY_TIER}"}}
`,
  'vars.yaml',
  {},
).connector!;

test.each<[string, unknown, Record<string, unknown>]>([
  ['nothing sent: no variables', undefined, {}],
  ['null: no variables', null, {}],
  [
    "session variables and the connector's own, scalar or null",
    { PHONE_NUMBER: '+1 222 333 4444', ACCOUNT_ID: 7, LOYALTY_TIER: 'gold', NAME: null },
    { PHONE_NUMBER: '+1 222 333 4444', ACCOUNT_ID: 7, LOYALTY_TIER: 'gold', NAME: null },
  ],
])('accepted: %s', (_what, input, want) => {
  expect(checkVariables(input, c)).toEqual(want);
});

test.each<[string, unknown, Array<{ field: string; message: string | RegExp }>]>([
  ['a list', ['PHONE_NUMBER'], [{ field: 'variables', message: /must be an object/ }]],
  ['a string', 'PHONE_NUMBER=1', [{ field: 'variables', message: /must be an object/ }]],
  ['a misspelt name', { PHONE_NUMBR: '1' }, [{ field: 'variables.PHONE_NUMBR', message: 'unknown variable PHONE_NUMBR (did you mean PHONE_NUMBER?)' }]],
  ['a name near nothing', { FAVOURITE_COLOUR: 'blue' }, [{ field: 'variables.FAVOURITE_COLOUR', message: 'unknown variable FAVOURITE_COLOUR' }]],
  ['an object value', { NAME: { first: 'A' } }, [{ field: 'variables.NAME', message: 'NAME must be a string, number or boolean' }]],
  ['a list value', { EMAIL: ['a@b.c'] }, [{ field: 'variables.EMAIL', message: 'EMAIL must be a string, number or boolean' }]],
  [
    'every problem at once',
    { PHONE_NUMBR: '1', NAME: {} },
    [
      { field: 'variables.PHONE_NUMBR', message: /did you mean PHONE_NUMBER/ },
      { field: 'variables.NAME', message: /must be a string/ },
    ],
  ],
])('refused: %s', (_what, input, errors) => {
  let error: unknown;
  try {
    checkVariables(input, c);
  } catch (e) {
    error = e;
  }
  expect(error).toMatchObject({ code: 'validation_failed' });
  const listed = ((error as { extensions: { errors?: unknown[]; field?: string } }).extensions.errors ?? [
    { field: (error as { extensions: { field: string } }).extensions.field, message: (error as Error).message },
  ]) as Array<{ field: string; message: string }>;
  expect(listed).toHaveLength(errors.length);
  errors.forEach((e, i) => {
    expect(listed[i].field).toBe(e.field);
    if (typeof e.message === 'string') expect(listed[i].message).toBe(e.message);
    else expect(listed[i].message).toMatch(e.message);
  });
});
