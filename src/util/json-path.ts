/**
 * Tiny path language for response locations: `user`, `data[0].id`, `results`, `upload.attachment.content_url`,
 * `['odd key']`. Parsed once at load time; reading is a plain loop.
 */
export type JsonPath = ReadonlyArray<string | number>;

export function parseJsonPath(src: string): JsonPath {
  const out: Array<string | number> = [];
  const re = /([^.[\]]+)|\[(\d+)\]|\['([^']*)'\]|\.|(\[)/g;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(src))) {
    if (m.index !== consumed) throw new Error(`unexpected "${src.slice(consumed, m.index)}" in path "${src}"`);
    consumed = m.index + m[0].length;
    if (m[4]) throw new Error(`unclosed or non-numeric "[" in path "${src}"`);
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else if (m[3] !== undefined) out.push(m[3]);
  }
  if (consumed !== src.length) throw new Error(`cannot read path "${src}"`);
  return out;
}

export type Lookup = { found: true; value: unknown } | { found: false; failedAt: string };

/** Reads a path; on failure says which segment was missing, for error messages. */
export function readPath(value: unknown, path: JsonPath): Lookup {
  let cur = value;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    if (cur === null || cur === undefined || typeof cur !== 'object') return { found: false, failedAt: formatJsonPath(path.slice(0, i + 1)) };
    const next = Array.isArray(cur) && typeof seg === 'string' && /^\d+$/.test(seg) ? cur[Number(seg)] : (cur as Record<string | number, unknown>)[seg];
    if (next === undefined) return { found: false, failedAt: formatJsonPath(path.slice(0, i + 1)) };
    cur = next;
  }
  return { found: true, value: cur };
}

export function formatJsonPath(path: JsonPath): string {
  if (path.length === 0) return '(the whole response)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : /^[A-Za-z_$][\w$-]*$/.test(p) ? (i === 0 ? p : `.${p}`) : `['${p}']`)).join('');
}
