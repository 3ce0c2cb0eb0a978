/** The sample CRM's refresh-token rotation option: rotate and refuse reuse, or keep tokens valid, whatever the flavour's default. */
import { startSampleCrm, type SampleCrmFlavor } from '../../src/sample-crm';

async function refreshTwiceWithTheSameToken(flavor: SampleCrmFlavor, rotateRefreshTokens: boolean | undefined) {
  const crm = await startSampleCrm({ flavor, port: 0, auth: { oauth: { clientId: 'c', clientSecret: 's', rotateRefreshTokens } } } as never);
  try {
    const server = crm.crm.oauth;
    const auth = server.authorize({ client_id: 'c', response_type: 'code', access_type: 'offline' });
    const code = (auth as unknown as { json: { code: string } }).json.code;
    const first = server.token({ grant_type: 'authorization_code', code, client_id: 'c', client_secret: 's' }, undefined);
    const refresh = String((first as unknown as { body: { refresh_token: string } }).body.refresh_token);
    const again = () => server.token({ grant_type: 'refresh_token', refresh_token: refresh, client_id: 'c', client_secret: 's' }, undefined);
    const a = again();
    const b = again();
    return { a, b, reused: crm.crm.state.tokens.reusedRefreshTokens };
  } finally {
    await crm.close();
  }
}

test.each([
  ['zendesk', undefined, true],
  ['zendesk', false, false],
  ['zoho', undefined, false],
  ['zoho', true, true],
] as const)('%s with rotateRefreshTokens=%p: rotates and refuses reuse = %p', async (flavor, option, rotates) => {
  const { a, b, reused } = await refreshTwiceWithTheSameToken(flavor, option);
  expect(a.ok).toBe(true);
  if (rotates) {
    expect(b).toMatchObject({ ok: false, status: 400, body: { error: 'invalid_grant' } });
    expect(reused).toBe(1);
  } else {
    expect(b.ok).toBe(true);
    expect(reused).toBe(0);
  }
});
