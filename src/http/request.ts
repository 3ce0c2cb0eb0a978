/**
 * A request as it goes on the wire, rendered from an endpoint and its variables by
 * operations/request.ts and sent by send.ts. It lives here, with the code that sends it, so
 * the HTTP layer never reaches up into the operations layer.
 */
export type RequestBody =
  | { kind: 'none' }
  | { kind: 'json'; value: unknown }
  | { kind: 'multipart'; value: FormData; fields: Record<string, unknown>; file: { field: string; name: string; type: string; bytes: number } }
  | { kind: 'binary'; value: Buffer; type: string };

export interface RenderedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: RequestBody;
  /** Variables a param needed but did not get: those params were left out. */
  dropped: string[];
}
