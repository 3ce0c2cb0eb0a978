/**
 * `npm start`: the bundled Zendesk-like sample CRM and the gateway with
 * config/zendesk.yaml pointed at it. Nothing else to install or start.
 */
import path from 'node:path';
import { startSampleCrm } from '../sample-crm';
import { packageRoot } from '../util/package-root';
import { ListenError } from './listen-error';
import { serve } from './serve';

export async function runDemo(
  env: NodeJS.ProcessEnv = process.env,
  print: (s: string) => void = (s) => process.stdout.write(`${s}\n`),
): Promise<() => Promise<void>> {
  const crm = await startSampleCrm({ flavor: 'zendesk', port: Number(env.SAMPLE_CRM_PORT ?? 4010) }).catch((e: unknown) => {
    throw ListenError.wrap(e, 'SAMPLE_CRM_PORT');
  });
  const gw = await serve({
    env: { ...env, ZENDESK_URL: crm.url },
    // The bundled connector is found beside this package, whatever the current folder is.
    configFiles: [env.DEMO_CONNECTOR ? path.resolve(env.DEMO_CONNECTOR) : path.join(packageRoot(), 'config/zendesk.yaml')],
  }).catch(async (e: unknown) => {
    await crm.close();
    throw ListenError.wrap(e, 'PORT');
  });
  const op = `${gw.url}/v1/connectors/zendesk/operations`;
  const key = gw.generatedKey ? ` -H 'Authorization: Bearer ${gw.generatedKey}'` : '';
  print(
    [
      '',
      'crm-gateway demo is running',
      `  gateway            ${gw.url}   (connectors: ${gw.url}/v1/connectors)`,
      `  console            ${gw.url}/console   (sign in with the API key below)`,
      `  sample CRM         ${crm.url}  (Zendesk-like; what it received: ${crm.url}/__control/requests)`,
      ...(gw.generatedKey ? [`  API key (admin)    ${gw.generatedKey}   (generated for this run; configure API_KEYS to choose your own)`] : []),
      ...(gw.tokenKey.file
        ? [
            `  token key          ${gw.tokenKey.file}   (${gw.tokenKey.source === 'generated' ? 'generated now' : 'generated earlier'}: encrypts OAuth tokens at rest; set GATEWAY_ENCRYPTION_KEY to use your own)`,
          ]
        : []),
      '',
      'Try it:',
      `  curl -s -X POST '${op}/create_account' -H 'Content-Type: application/json'${key} \\`,
      `    -d '{"variables":{"NAME":"Kim Lee","PHONE_NUMBER":"(222) 333-4444","EMAIL":"kim@example.com"}}'`,
      `  curl -s -X POST '${op}/find_account' -H 'Content-Type: application/json'${key} -d '{"variables":{"PHONE_NUMBER":"+1 222 333 4444"}}'`,
      `  curl -s -X POST '${op}/create_record?dry_run=true' -H 'Content-Type: application/json'${key} -d '{"variables":{"ACCOUNT_ID":10001,"PHONE_NUMBER":"2223334444"}}'`,
      `  curl -s -X POST '${op}/create_record?async=true' -H 'Content-Type: application/json'${key} -H 'Idempotency-Key: demo-1' -d '{"variables":{"ACCOUNT_ID":10001,"TICKET_SUBJECT":"Demo call"}}'`,
      `  curl -s${key} '${gw.url}/v1/deliveries'`,
      '',
      'Ctrl-C stops both.',
    ].join('\n'),
  );
  return async () => {
    await gw.close();
    await crm.close();
  };
}
