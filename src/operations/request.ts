/**
 * (connector, endpoint, variables, file) → the exact HTTP request. Pure: no I/O, so the
 * same function feeds real calls and dry-run previews.
 */
import type { CompiledEndpoint, Connector, FileKind } from '../config/types';
import { GatewayError } from '../errors';
import { renderLongText } from '../template/long-text';
import { DROP, ESCAPERS, renderNode, renderUrl, stringify, type RenderScope } from '../template/render';
import type { Variables } from '../template/variables';

import type { RenderedRequest, RequestBody } from '../http/request';

export type { RenderedRequest, RequestBody } from '../http/request';

export interface FileInput {
  data: Buffer;
  name: string;
  type: string;
  kind?: FileKind;
}

const USER_AGENT = 'crm-gateway/0.1';
// Control characters in a header value could split it into two headers (CRLF injection).
const CONTROL_CHARS = /[\u0000-\u0008\u000a-\u001f\u007f]/;
// Header values are bytes: a character above U+00FF cannot be sent (the client would fail as if the network had).
const BEYOND_LATIN1 = /[^\u0000-\u00ff]/;

export function buildRequest(c: Connector, ep: CompiledEndpoint, vars: Variables, file?: FileInput): RenderedRequest {
  const escape = c.settings.escapeValues === 'none' ? undefined : ESCAPERS[c.settings.escapeValues];
  const scope: RenderScope = { vars, html: c.settings.convertTextToHtml, missing: new Set(), renderLongText, escape };
  const url = new URL(renderUrl(ep.url, vars, `${ep.operation} url`));

  for (const [key, node] of ep.query) appendQuery(url, key, renderNode(node, scope));
  const params = ep.params ? renderNode(ep.params, scope) : DROP;
  const paramObject = params === DROP ? {} : (params as Record<string, unknown>);

  const headers: Record<string, string> = { 'User-Agent': USER_AGENT, Accept: 'application/json' };
  for (const [name, node] of ep.headers) {
    const v = renderNode(node, { ...scope, escape: undefined });
    if (v === DROP) continue;
    const s = stringify(v);
    if (CONTROL_CHARS.test(s))
      throw new GatewayError('invalid_variable_value', `header ${name} would contain a line break or control character; refusing to send it`, { header: name });
    if (BEYOND_LATIN1.test(s))
      throw new GatewayError(
        'invalid_variable_value',
        `header ${name} would contain a character beyond Latin-1, which HTTP headers cannot carry; refusing to send it`,
        { header: name },
      );
    headers[name] = s;
  }

  let body: RequestBody = { kind: 'none' };
  if (ep.method === 'GET') {
    for (const [k, v] of Object.entries(paramObject)) appendQuery(url, k, v);
  } else if (ep.upload && ep.upload.encoding !== 'base64') {
    if (!file)
      throw new GatewayError('missing_variable', 'upload_file needs the file: send FILE_DATA (base64) or a multipart "file" part', {
        variables: ['FILE_DATA'],
      });
    body = ep.upload.encoding === 'binary' ? { kind: 'binary', value: file.data, type: file.type } : multipart(paramObject, ep.upload.fileField, file);
    if (body.kind === 'binary') headers['Content-Type'] = file.type;
  } else {
    body = { kind: 'json', value: wrap(ep, paramObject) };
    headers['Content-Type'] = 'application/json';
  }
  return { method: ep.method, url: url.toString(), headers, body, dropped: [...scope.missing].sort() };
}

function wrap(ep: CompiledEndpoint, params: Record<string, unknown>): unknown {
  switch (ep.bodyFormat) {
    case 'container_map':
      return { [ep.containerName!]: params };
    case 'container_array':
      return { [ep.containerName!]: [params] };
    default:
      return params;
  }
}

function appendQuery(url: URL, key: string, value: unknown): void {
  if (value === DROP || value === undefined || value === null) return;
  if (Array.isArray(value)) value.forEach((v) => url.searchParams.append(key, stringify(v)));
  else url.searchParams.append(key, stringify(value));
}

function multipart(fields: Record<string, unknown>, field: string, file: FileInput): RequestBody {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, stringify(v));
  form.append(field, new Blob([file.data], { type: file.type }), file.name);
  return { kind: 'multipart', value: form, fields, file: { field, name: file.name, type: file.type, bytes: file.data.length } };
}

/** What dry-run shows and logs keep: the request with credentials masked and files summarised. */
export function previewRequest(req: RenderedRequest): Record<string, unknown> {
  let body: unknown;
  switch (req.body.kind) {
    case 'json':
      body = req.body.value;
      break;
    case 'multipart':
      body = { multipart: { fields: req.body.fields, file: req.body.file } };
      break;
    case 'binary':
      body = { binary: { type: req.body.type, bytes: req.body.value.length } };
      break;
    default:
      body = undefined;
  }
  return {
    method: req.method,
    url: req.url,
    headers: req.headers,
    ...(body === undefined ? {} : { body }),
    ...(req.dropped.length ? { dropped_for_missing_variables: req.dropped } : {}),
  };
}
