/**
 * Try it: pick an operation, fill the variables its templates use, look at the request the
 * gateway would send (dry run: secrets masked by the gateway), send it, read the outcome.
 */
import { useMemo, useState } from 'preact/hooks';
import { type ConnectorItem, type Me, type OperationInfo, ApiError, api, enc } from './api';
import { href } from './router';
import { Badge, ErrorBox, Json, Section, useLoad } from './ui';

interface RunResult {
  outcome?: string;
  ids?: Record<string, unknown>;
  attempts?: Array<{ request?: string; status?: number; network_error?: string; classification?: string; reason?: string; duration_ms?: number }>;
  requests?: Array<{ method?: string; url?: string; headers?: Record<string, string>; body?: unknown; [k: string]: unknown }>;
  response?: unknown;
  [k: string]: unknown;
}

/** The operations with their variables; a gateway without the listing still lets you type variables as JSON. */
async function loadOperations(id: string): Promise<OperationInfo[]> {
  try {
    const r = await api<OperationInfo[] | { operations: OperationInfo[] }>('GET', `/v1/connectors/${enc(id)}/operations`);
    return Array.isArray(r) ? r : r.operations;
  } catch (e) {
    if (!(e instanceof ApiError) || (e.status !== 404 && e.status !== 405)) throw e;
    const c = await api<{ connectors: ConnectorItem[] }>('GET', '/v1/connectors');
    return (c.connectors.find((x) => x.id === id)?.operations ?? []).map((operation) => ({ operation, variables: [] }));
  }
}

export function TryScreen({ id }: { id: string; me: Me }) {
  const ops = useLoad(() => loadOperations(id), [id]);
  const [picked, setPicked] = useState('');
  const [values, setValues] = useState<Record<string, string>>({});
  const [extra, setExtra] = useState('{}');
  const [result, setResult] = useState<{ kind: 'dry' | 'sent'; body: RunResult } | undefined>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const op = ops.data?.find((o) => o.operation === picked) ?? ops.data?.[0];

  const variables = useMemo(() => {
    const v: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(values)) if (val !== '' && op?.variables.some((x) => x.name === k)) v[k] = val;
    return v;
  }, [values, op]);

  const run = async (dry: boolean) => {
    if (!op) return;
    setError(undefined);
    setBusy(true);
    try {
      let more: Record<string, unknown> = {};
      try {
        more = extra.trim() ? JSON.parse(extra) : {};
      } catch (e) {
        throw new ApiError(0, `More variables: not JSON (${(e as Error).message})`);
      }
      const body = await api<RunResult>('POST', `/v1/connectors/${enc(id)}/operations/${enc(op.operation)}`, {
        query: dry ? { dry_run: 'true' } : {},
        body: { variables: { ...variables, ...more } },
      });
      setResult({ kind: dry ? 'dry' : 'sent', body });
    } catch (e) {
      setError(e);
      setResult(undefined);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Section
      title={`Try ${id}`}
      actions={
        <a class="button" href={href(['connectors'])}>
          Back
        </a>
      }
    >
      <ErrorBox error={ops.error} />
      <form
        class="form"
        onSubmit={(e) => {
          e.preventDefault();
          run(false);
        }}
      >
        <label for="operation">Operation</label>
        <select
          id="operation"
          value={op?.operation}
          onChange={(e) => {
            setPicked(e.currentTarget.value);
            setResult(undefined);
          }}
        >
          {ops.data?.map((o) => (
            <option key={o.operation} value={o.operation}>
              {o.operation}
            </option>
          ))}
        </select>
        {op?.url_template ? (
          <p class="muted">
            <code>
              {op.method} {op.url_template}
            </code>
            {op.durable ? ' (durable)' : ''}
          </p>
        ) : null}
        <fieldset>
          <legend>Variables</legend>
          {op?.variables.length ? null : <p class="muted">This operation's templates use no variables the gateway listed.</p>}
          {op?.variables.map((v) => (
            <div class="field" key={v.name}>
              <label for={`var-${v.name}`}>
                {v.name}
                {v.required ? ' *' : ''} {v.source ? <span class="muted">({v.source})</span> : null}
              </label>
              <input
                id={`var-${v.name}`}
                name={v.name}
                value={values[v.name] ?? ''}
                onInput={(e) => setValues({ ...values, [v.name]: e.currentTarget.value })}
              />
            </div>
          ))}
          <div class="field">
            <label for="extra">More variables (JSON)</label>
            <textarea id="extra" rows={2} value={extra} onInput={(e) => setExtra(e.currentTarget.value)} />
          </div>
        </fieldset>
        <div class="actions">
          <button type="button" onClick={() => run(true)} disabled={busy || !op}>
            Dry run
          </button>
          <button type="submit" class="primary" disabled={busy || !op}>
            Send
          </button>
        </div>
      </form>
      <ErrorBox error={error} />
      {result ? <Result kind={result.kind} r={result.body} /> : null}
    </Section>
  );
}

function Result({ kind, r }: { kind: 'dry' | 'sent'; r: RunResult }) {
  return (
    <div class="result" aria-live="polite">
      <h3>{kind === 'dry' ? 'Request the gateway would send (secrets masked)' : 'Result'}</h3>
      {r.outcome ? (
        <p>
          Outcome: <Badge value={String(r.outcome)} />
        </p>
      ) : null}
      {r.requests?.map((q, i) => (
        <div key={i} class="request">
          <p>
            <code>
              {q.method} {q.url}
            </code>
          </p>
          {q.headers ? <Json label="Request headers" value={q.headers} /> : null}
          {q.body !== undefined ? <Json label="Request body" value={q.body} /> : null}
        </div>
      ))}
      {r.ids && Object.keys(r.ids).length ? (
        <table class="ids">
          <caption>Extracted ids</caption>
          <tbody>
            {Object.entries(r.ids).map(([k, v]) => (
              <tr key={k}>
                <th scope="row">{k}</th>
                <td>
                  <code>{String(v)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {r.attempts?.length ? (
        <table>
          <caption>Attempts</caption>
          <thead>
            <tr>
              <th>#</th>
              <th>CRM status</th>
              <th>Time</th>
              <th>Detail</th>
            </tr>
          </thead>
          <tbody>
            {r.attempts.map((a, i) => (
              <tr key={i}>
                <td>{i + 1}</td>
                <td>{a.status ?? '—'}</td>
                <td>{a.duration_ms !== undefined ? `${a.duration_ms} ms` : ''}</td>
                <td>{[a.request, a.classification, a.reason, a.network_error].filter(Boolean).join(' · ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <details open={kind === 'sent'}>
        <summary>Raw response</summary>
        <Json label="Raw response" value={r} />
      </details>
    </div>
  );
}
