/**
 * The path language of `events.identity` (parsed when a connector loads, so a typo is a config
 * error naming its YAML line): which event fields hold the customer's identity. Reading the
 * paths against an event is flows/identity.ts.
 */

/** The identity fields a mapping may name, and the session variable each one fills. */
export const IDENTITY_FIELDS = {
  phone: 'PHONE_NUMBER',
  email: 'EMAIL',
  sdk_identifier: 'SDK_IDENTIFIER',
  name: 'NAME',
  account_id: 'ACCOUNT_ID',
  end_user_id: 'UJET_ID',
} as const;
export type IdentityField = keyof typeof IDENTITY_FIELDS;

/** The prefix whose paths read only verified signed custom data. */
export const SECURED_PREFIX = 'custom_data_secured';

export type Step = { key: string } | { index: number } | { where: { field: string; value: string } };

export interface IdentityPath {
  readonly source: string;
  /** Reads facts.verifiedCustomData (the path after `custom_data_secured.`), never data. */
  readonly secured: boolean;
  readonly steps: readonly Step[];
}

export interface IdentityRule {
  readonly field: IdentityField;
  readonly variable: (typeof IDENTITY_FIELDS)[IdentityField];
  readonly paths: readonly IdentityPath[];
}

/** Parses one path; throws an Error whose message says what is wrong (compile reports it at the YAML path). */
export function parseIdentityPath(source: string): IdentityPath {
  if (typeof source !== 'string' || source.trim() === '') throw new Error('a path must be non-empty text, e.g. end_user.phone');
  const steps: Step[] = [];
  // One segment: an optional key, then any number of [N] / [field=value] selectors.
  const segment = /^([^.[\]]*)((?:\[[^\]]*\])*)$/;
  for (const part of source.split('.')) {
    const m = segment.exec(part);
    if (!m) throw new Error(`cannot read "${part}" in path "${source}": use key, key[N] or key[field=value] between dots`);
    const [, key, selectors] = m;
    if (key === '' && selectors === '') throw new Error(`empty segment in path "${source}" (two dots, or a dot at an end)`);
    if (key !== '') steps.push({ key });
    for (const s of selectors.match(/\[[^\]]*\]/g) ?? []) {
      const inner = s.slice(1, -1);
      if (/^\d+$/.test(inner)) steps.push({ index: Number(inner) });
      else {
        const eq = /^([^=]+)=(.+)$/.exec(inner);
        if (!eq) throw new Error(`"${s}" in path "${source}": a selector is [N] or [field=value], e.g. [type=end_user]`);
        steps.push({ where: { field: eq[1].trim(), value: eq[2].trim() } });
      }
    }
  }
  const first = steps[0];
  const secured = first !== undefined && 'key' in first && first.key === SECURED_PREFIX;
  if (secured && steps.length === 1) throw new Error(`"${source}" names the whole signed custom data; name a field in it, e.g. ${SECURED_PREFIX}.phone`);
  return { source, secured, steps: secured ? steps.slice(1) : steps };
}
