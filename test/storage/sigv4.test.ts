/** SigV4 against AWS's published S3 examples (examplebucket, 2013-05-24, us-east-1). */
import { presignUrl, sha256Hex, signHeaders, uriEncode } from '../../src/storage/sigv4';

const CREDS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
const SCOPE = { region: 'us-east-1', service: 's3' };
const AT = Date.UTC(2013, 4, 24, 0, 0, 0);
const signatureOf = (h: Record<string, string>) => /Signature=([0-9a-f]{64})$/.exec(h.Authorization)![1];

test('GET object with a Range header', () => {
  const h = signHeaders(
    { method: 'GET', path: '/test.txt', headers: { host: 'examplebucket.s3.amazonaws.com', range: 'bytes=0-9' }, payloadHash: sha256Hex('') },
    CREDS,
    SCOPE,
    AT,
  );
  expect(h.Authorization).toContain(
    'Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,',
  );
  expect(signatureOf(h)).toBe('f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
});

test('PUT object (a $ in the key, extra signed headers)', () => {
  const body = 'Welcome to Amazon S3.';
  const h = signHeaders(
    {
      method: 'PUT',
      path: `/${uriEncode('test$file.text')}`,
      headers: { host: 'examplebucket.s3.amazonaws.com', date: 'Fri, 24 May 2013 00:00:00 GMT', 'x-amz-storage-class': 'REDUCED_REDUNDANCY' },
      payloadHash: sha256Hex(body),
    },
    CREDS,
    SCOPE,
    AT,
  );
  expect(h['x-amz-content-sha256']).toBe('44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072');
  expect(signatureOf(h)).toBe('98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd');
});

test('presigned GET URL', () => {
  const url = presignUrl(new URL('https://examplebucket.s3.amazonaws.com/test.txt'), CREDS, SCOPE, AT, 86_400);
  expect(url).toBe(
    'https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
  );
});

test('keys are encoded per RFC 3986, slashes kept in paths', () => {
  expect(uriEncode("a b/c(1)!*'~.jpg", true)).toBe('a%20b/c%281%29%21%2A%27~.jpg');
  expect(uriEncode('東京')).toBe('%E6%9D%B1%E4%BA%AC');
});
