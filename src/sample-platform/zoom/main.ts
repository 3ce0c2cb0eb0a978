/**
 * `node dist/src/sample-platform/zoom/main.js [--port 4020] [--host 127.0.0.1]`: the sample
 * Zoom-like platform on its own, for trying webhooks and reconciliation against a gateway.
 */
import { DEFAULT_SAMPLE_ZOOM, startSampleZoom, type RunningSampleZoom } from './index';

export async function runSampleZoomCli(argv: string[], print: (line: string) => void = console.log): Promise<RunningSampleZoom> {
  let port = 4020;
  let host = '127.0.0.1';
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i].split(/=(.*)/s);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`${name} needs a value`);
    if (name === '--port' && /^\d+$/.test(value) && Number(value) <= 65535) port = Number(value);
    else if (name === '--host') host = value;
    else throw new Error(`unknown or invalid argument "${argv[i]}"; usage: [--port 4020] [--host 127.0.0.1]`);
  }
  const running = await startSampleZoom({ port, host });
  [
    `Sample Zoom-like platform listening on ${running.url}`,
    `  account_id ${DEFAULT_SAMPLE_ZOOM.accountId}, client ${DEFAULT_SAMPLE_ZOOM.clientId} / ${DEFAULT_SAMPLE_ZOOM.clientSecret}, secret token ${DEFAULT_SAMPLE_ZOOM.secretToken}`,
    `  OAuth       ${running.url}/oauth/token   API ${running.url}/v2`,
    `  Control API ${running.url}/__control/zoom/{engagements,recordings,messaging_transcripts,webhooks}, ${running.url}/__control/{faults,requests,state,reset}`,
  ].forEach((l) => print(l));
  return running;
}

if (require.main === module) {
  runSampleZoomCli(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
