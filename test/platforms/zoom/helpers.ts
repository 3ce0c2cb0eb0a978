/** A Zendesk-like connector with webhooks.zoom, pointed at a sample Zoom-like platform. */
import { bundled } from '../../helpers/harness';
import { DEFAULT_SAMPLE_ZOOM, signZoomWebhook, type ZoomWebhook } from '../../../src/sample-platform/zoom';

export const FAST_RETRY = '\nretry:\n  initial_delay_seconds: 0.2\n  max_delay_seconds: 0.5\n';

export const ZOOM_BLOCK = `
webhooks:
  zoom:
    secret_token: \${env:ZOOM_SECRET_TOKEN}
    account_id: \${env:ZOOM_ACCOUNT_ID}
    client_id: \${env:ZOOM_CLIENT_ID}
    client_secret: \${env:ZOOM_CLIENT_SECRET}
    api_base_url: \${env:ZOOM_API_URL}/v2
    token_url: \${env:ZOOM_API_URL}/oauth/token
    reconcile:
      every_hours: 0
`;

/** The bundled Zendesk connector, writing notes as comments and updating the ticket on a disposition, with webhooks.zoom. */
export function zoomZendeskYaml(): string {
  return (
    bundled('zendesk.yaml')
      .replace('  update_record_on: [end]', '  update_record_on: [end, disposition]')
      .replace(
        '  comment_on: [record_created, end, csat, transfer, disposition, custom_data, survey, file]',
        '  comment_on: [record_created, end, csat, transfer, disposition, custom_data, survey, file, note]',
      ) +
    FAST_RETRY +
    ZOOM_BLOCK
  );
}

export function zoomEnv(zoomUrl: string): Record<string, string> {
  return {
    ZOOM_SECRET_TOKEN: DEFAULT_SAMPLE_ZOOM.secretToken,
    ZOOM_ACCOUNT_ID: DEFAULT_SAMPLE_ZOOM.accountId,
    ZOOM_CLIENT_ID: DEFAULT_SAMPLE_ZOOM.clientId,
    ZOOM_CLIENT_SECRET: DEFAULT_SAMPLE_ZOOM.clientSecret,
    ZOOM_API_URL: zoomUrl,
  };
}

export async function postSigned(
  url: string,
  ev: ZoomWebhook | string,
  opts: { timestampSec?: number; secret?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any; type: string }> {
  const body = typeof ev === 'string' ? ev : JSON.stringify(ev);
  const ts = opts.timestampSec ?? Math.floor(Date.now() / 1000);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...signZoomWebhook(opts.secret ?? DEFAULT_SAMPLE_ZOOM.secretToken, body, ts), ...(opts.headers ?? {}) },
    body,
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* text */
  }
  return { status: res.status, body: parsed, type: res.headers.get('content-type') ?? '' };
}

/** Waits until the session's steps are final and the delivery queue is empty. */
export async function settled(base: string, connector: string, session: string, headers: Record<string, string> = {}, ms = 30_000): Promise<any> {
  const end = Date.now() + ms;
  for (;;) {
    const res = await fetch(`${base}/v1/connectors/${connector}/sessions/${session}`, { headers }).catch(() => undefined);
    const v = res?.ok ? ((await res.json()) as any) : undefined;
    const busy = async (status: string) =>
      ((await (await fetch(`${base}/v1/deliveries?status=${status}&limit=1`, { headers })).json()) as any).deliveries.length > 0;
    if (
      v &&
      v.held.length === 0 &&
      v.steps.every((s: { status: string }) => ['delivered', 'dead'].includes(s.status)) &&
      !(await busy('pending')) &&
      !(await busy('running'))
    )
      return v;
    if (Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}
