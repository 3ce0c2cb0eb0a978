/** Deliveries: filter the durable writes, open one for its history, retry / cancel / resolve it. */
import { useState } from 'preact/hooks';
import { type ConnectorItem, type Me, api, enc } from './api';
import { go, href } from './router';
import { Badge, ErrorBox, Json, Section, useLoad, when } from './ui';

interface Delivery {
  id: string;
  connector: string;
  operation: string;
  status: string;
  attempts: number;
  created_at?: string;
  updated_at?: string;
  next_attempt_at?: string;
  last_error?: { code?: string; message?: string; crm_status?: number };
  /** A session flow's step (its facts; the session view names it). */
  step?: Record<string, unknown>;
  result?: { ids?: Record<string, unknown>; [k: string]: unknown };
  history?: Array<{
    n: number;
    at: string;
    request?: string;
    status?: number;
    network_error?: string;
    classification?: string;
    reason?: string;
    duration_ms?: number;
  }>;
  [k: string]: unknown;
}

const STATUSES = ['pending', 'running', 'delivered', 'dead', 'unknown_outcome', 'cancelled'];
const FILTERS = ['connector', 'status', 'session', 'since', 'until'] as const;

/** datetime-local ⇄ ISO (the API's times are ISO 8601 UTC). */
const toIso = (local: string) => (local ? new Date(local).toISOString() : undefined);
const toLocal = (iso: string | null) => {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
};

export function DeliveriesScreen({ me, query }: { me: Me; query: URLSearchParams }) {
  const filters = Object.fromEntries(FILTERS.map((f) => [f, query.get(f) ?? ''])) as Record<(typeof FILTERS)[number], string>;
  const scoped = me.connectors !== '*' && !me.admin;
  // A scoped key lists one connector at a time: start with its first.
  if (scoped && !filters.connector && Array.isArray(me.connectors) && me.connectors.length) filters.connector = me.connectors[0];
  const [before, setBefore] = useState<string | undefined>();
  const connectors = useLoad(
    () =>
      Array.isArray(me.connectors)
        ? Promise.resolve(me.connectors)
        : api<{ connectors: ConnectorItem[] }>('GET', '/v1/connectors').then((r) => r.connectors.map((c) => c.id)),
    [],
  );
  const list = useLoad(
    () =>
      api<{ deliveries: Delivery[]; next_before?: string | number | null; next_cursor?: string | null }>('GET', '/v1/deliveries', {
        query: { ...filters, limit: '50', before },
      }),
    [query.toString(), before],
  );
  const [draft, setDraft] = useState(filters);
  const apply = (e: Event) => {
    e.preventDefault();
    setBefore(undefined);
    go(['deliveries'], { ...draft });
  };
  const next = list.data?.next_before ?? list.data?.next_cursor;
  return (
    <Section
      title="Deliveries"
      actions={
        <button type="button" onClick={list.reload}>
          Refresh
        </button>
      }
    >
      <form class="filters" onSubmit={apply} aria-label="Filters">
        <div class="field">
          <label for="f-connector">Connector</label>
          <select id="f-connector" value={draft.connector} onChange={(e) => setDraft({ ...draft, connector: e.currentTarget.value })}>
            {scoped ? null : <option value="">all</option>}
            {connectors.data?.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="f-status">Status</label>
          <select id="f-status" value={draft.status} onChange={(e) => setDraft({ ...draft, status: e.currentTarget.value })}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.replace(/_/g, ' ')}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="f-session">Session</label>
          <input id="f-session" value={draft.session} onInput={(e) => setDraft({ ...draft, session: e.currentTarget.value })} />
        </div>
        <div class="field">
          <label for="f-since">Since</label>
          <input
            id="f-since"
            type="datetime-local"
            value={toLocal(draft.since)}
            onInput={(e) => setDraft({ ...draft, since: toIso(e.currentTarget.value) ?? '' })}
          />
        </div>
        <div class="field">
          <label for="f-until">Until</label>
          <input
            id="f-until"
            type="datetime-local"
            value={toLocal(draft.until)}
            onInput={(e) => setDraft({ ...draft, until: toIso(e.currentTarget.value) ?? '' })}
          />
        </div>
        <button type="submit" class="primary">
          Filter
        </button>
      </form>
      <ErrorBox error={list.error} />
      <div class="table-wrap">
        <table class="deliveries">
          <thead>
            <tr>
              <th>Delivery</th>
              <th>Connector</th>
              <th>Operation</th>
              <th>Status</th>
              <th>Attempts</th>
              <th>Updated</th>
              <th>Last error</th>
            </tr>
          </thead>
          <tbody>
            {list.data?.deliveries.map((d) => (
              <tr key={d.id}>
                <td>
                  <a href={href(['deliveries', d.id])}>
                    <code>{d.id}</code>
                  </a>
                </td>
                <td>{d.connector}</td>
                <td>
                  {d.operation}
                  {d.step ? <span class="muted"> (session step)</span> : null}
                </td>
                <td>
                  <Badge value={d.status} />
                </td>
                <td>{d.attempts}</td>
                <td>{when(d.updated_at)}</td>
                <td>{d.last_error ? `${d.last_error.crm_status ?? ''} ${d.last_error.code ?? ''}` : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {list.data && !list.data.deliveries.length ? <p>No deliveries match.</p> : null}
      {next ? (
        <button type="button" onClick={() => setBefore(String(next))}>
          Older
        </button>
      ) : null}
    </Section>
  );
}

export function DeliveryScreen({ id, me }: { id: string; me: Me }) {
  const d = useLoad(() => api<Delivery>('GET', `/v1/deliveries/${enc(id)}`), [id]);
  const [error, setError] = useState<unknown>();
  const [ids, setIds] = useState('{}');
  const act = async (action: 'retry' | 'cancel' | 'resolve', body?: unknown) => {
    setError(undefined);
    try {
      await api('POST', `/v1/deliveries/${enc(id)}/${action}`, { body: body ?? {} });
      d.reload();
    } catch (e) {
      setError(e);
    }
  };
  const x = d.data;
  return (
    <Section
      title={`Delivery ${id}`}
      actions={
        <a class="button" href={href(['deliveries'], x ? { connector: x.connector } : {})}>
          Back
        </a>
      }
    >
      <ErrorBox error={d.error} />
      <ErrorBox error={error} />
      {x ? (
        <>
          <dl class="facts">
            <dt>Status</dt>
            <dd>
              <Badge value={x.status} />
            </dd>
            <dt>Connector</dt>
            <dd>{x.connector}</dd>
            <dt>Operation</dt>
            <dd>{x.operation}</dd>
            <dt>Attempts</dt>
            <dd>{x.attempts}</dd>
            <dt>Created</dt>
            <dd>{when(x.created_at)}</dd>
            {x.next_attempt_at ? (
              <>
                <dt>Next attempt</dt>
                <dd>{when(x.next_attempt_at)}</dd>
              </>
            ) : null}
            {x.last_error ? (
              <>
                <dt>Last error</dt>
                <dd>
                  {x.last_error.crm_status ? `CRM ${x.last_error.crm_status}: ` : ''}
                  {x.last_error.message ?? x.last_error.code}
                </dd>
              </>
            ) : null}
          </dl>
          {me.admin ? (
            <div class="actions">
              {x.status === 'dead' || x.status === 'cancelled' ? (
                <button type="button" class="primary" onClick={() => act('retry')}>
                  Retry
                </button>
              ) : null}
              {x.status === 'pending' ? (
                <button type="button" onClick={() => act('cancel')}>
                  Cancel
                </button>
              ) : null}
              {x.status === 'unknown_outcome' ? (
                <fieldset class="resolve">
                  <legend>Resolve (did the CRM make it?)</legend>
                  <button type="button" onClick={() => act('resolve', { action: 'retry_as_new' })}>
                    Not made: send again
                  </button>
                  <label for="attach-ids">Ids of what it made (JSON)</label>
                  <input id="attach-ids" value={ids} onInput={(e) => setIds(e.currentTarget.value)} />
                  <button
                    type="button"
                    onClick={() => {
                      try {
                        act('resolve', { action: 'attach', ids: JSON.parse(ids) });
                      } catch {
                        setError(new Error('the ids are not JSON'));
                      }
                    }}
                  >
                    Made: attach ids
                  </button>
                  <button type="button" onClick={() => act('resolve', { action: 'cancel' })}>
                    Give up
                  </button>
                </fieldset>
              ) : null}
            </div>
          ) : null}
          <h3>History</h3>
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>#</th>
                  <th>At</th>
                  <th>Request</th>
                  <th>CRM status</th>
                  <th>Classification</th>
                  <th>Time</th>
                </tr>
              </thead>
              <tbody>
                {x.history?.map((a) => (
                  <tr key={a.n}>
                    <td>{a.n}</td>
                    <td>{when(a.at)}</td>
                    <td>
                      <code>{a.request}</code>
                    </td>
                    <td>{a.status ?? a.network_error ?? ''}</td>
                    <td>{[a.classification, a.reason].filter(Boolean).join(': ')}</td>
                    <td>{a.duration_ms !== undefined ? `${a.duration_ms} ms` : ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <details>
            <summary>Raw delivery</summary>
            <Json label="Raw delivery" value={x} />
          </details>
        </>
      ) : null}
    </Section>
  );
}
