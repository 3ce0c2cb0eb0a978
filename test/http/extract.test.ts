import { compileConnector } from '../../src/config/compile';
import type { CompiledEndpoint, OperationName } from '../../src/config/types';
import { extract } from '../../src/http/extract';
import { parseJsonPath, readPath } from '../../src/util/json-path';

function endpoint(op: OperationName, location: string, idLocation = 'id', sortBy?: string): CompiledEndpoint {
  const yaml = `auth: {type: none}
endpoints:
  find_account: {method: GET, url: "https://x.test/a", response_data_location: "${op === 'find_account' ? location : 'a'}", id_location: "${idLocation}"${sortBy ? `, sort_by: "${sortBy}"` : ''}}
  create_account: {method: POST, url: "https://x.test/a", response_data_location: "${op === 'create_account' ? location : 'a'}", id_location: "${idLocation}"}
`;
  const r = compileConnector(yaml, 'x.yaml', {});
  if (!r.connector) throw new Error(JSON.stringify(r.issues));
  return r.connector.endpoints.get(op)!;
}

describe('json paths', () => {
  test.each<[string, Array<string | number>]>([
    ['', []], ['user', ['user']], ['data[0].id', ['data', 0, 'id']], ["a['odd key'].b", ['a', 'odd key', 'b']], ['results[12]', ['results', 12]],
  ])('%s', (src, path) => expect(parseJsonPath(src)).toEqual(path));

  test.each(['a[', 'a[x]', 'a..b]'])('rejects %s', (src) => expect(() => parseJsonPath(src)).toThrow());

  test('readPath says where it failed', () => {
    expect(readPath({ data: [{ id: 1 }] }, ['data', 0, 'id'])).toEqual({ found: true, value: 1 });
    expect(readPath({ data: [] }, ['data', 0, 'id'])).toEqual({ found: false, failedAt: 'data[0]' });
  });
});

describe('extract', () => {
  test.each<[string, unknown, unknown]>([
    ['list with one match', { results: [{ id: 7 }] }, { found: true, id: 7, matches: 1 }],
    ['empty list → not found', { results: [] }, { found: false }],
    ['null → not found', { results: null }, { found: false }],
    ['no body (204) → not found', undefined, { found: false }],
  ])('find: %s', (_n, body, expected) => {
    expect(extract(endpoint('find_account', 'results'), body)).toMatchObject(expected as object);
  });

  test('several matches → the most recently created', () => {
    const body = { results: [
      { id: 1, created_at: '2026-01-02T00:00:00Z' },
      { id: 2, created_at: '2026-03-01T00:00:00Z' },
      { id: 3, created_at: '2025-12-31T00:00:00Z' },
    ] };
    expect(extract(endpoint('find_account', 'results'), body)).toMatchObject({ found: true, id: 2, matches: 3 });
  });

  test('sort field is configurable (numbers too)', () => {
    const body = { data: [{ Id: 'a', Created_Time: 5 }, { Id: 'b', Created_Time: 9 }] };
    expect(extract(endpoint('find_account', 'data', 'Id', 'Created_Time'), body)).toMatchObject({ id: 'b' });
  });

  test('a data location missing from the response is an error naming the path and the keys found', () => {
    expect(() => extract(endpoint('find_account', 'results'), { users: [] })).toThrow('find_account: response_data_location "results" not found in the response (failed at "results"; keys there: users)');
  });

  test('a create without an id at id_location is an error', () => {
    expect(() => extract(endpoint('create_account', 'user', 'id'), { user: { name: 'x' } })).toThrow('create_account: id_location "id" not found in the object at response_data_location');
    expect(extract(endpoint('create_account', 'data[0].details', 'id'), { data: [{ details: { id: 'z1' } }] })).toMatchObject({ id: 'z1' });
  });
});
