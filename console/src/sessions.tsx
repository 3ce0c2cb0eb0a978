/** Sessions: recent sessions of a connector, and one session's timeline with its screen-pop links. */
import { useState } from 'preact/hooks';
import { type ConnectorItem, type Me, ApiError, api, enc } from './api';
import { go, href } from './router';
import { Badge, ErrorBox, Json, Section, useLoad, when } from './ui';

interface SessionSummary {
  id: string;
  state?: string;
  started_at?: string;
  updated_at?: string;
  waiting_for?: string | null;
  record?: string | null;
}
interface TimelineEntry {
  at: string;
  kind: string;
  summary: string;
  delivery_id?: string;
}
interface SessionView {
  session_id: string;
  ended?: boolean;
  waiting_for?: string | null;
  account_id?: unknown;
  record_id?: unknown;
  links?: Record<string, unknown>;
  steps?: Array<{ name: string; delivery_id: string; operation?: string; status: string }>;
  events?: Array<{ type: string; at: string }>;
  timeline?: TimelineEntry[];
  warnings?: string[];
}

/** The gateway's timeline, or one put together from the events and steps a session view always has. */
function timelineOf(s: SessionView): TimelineEntry[] {
  if (s.timeline) return s.timeline;
  return [
    ...(s.events ?? []).map((e) => ({ at: e.at, kind: 'event', summary: e.type })),
    ...(s.steps ?? []).map((st) => ({ at: '', kind: 'delivery', summary: `${st.name}: ${st.operation ?? ''} ${st.status}`, delivery_id: st.delivery_id })),
  ];
}

/** Screen-pop links: nested values (a pushed pop's data) are shown by their URL strings. */
function linkList(links: Record<string, unknown> = {}): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const walk = (prefix: string, v: unknown) => {
    if (typeof v === 'string' && /^https?:\/\//.test(v)) out.push([prefix, v]);
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(prefix ? `${prefix}.${k}` : k, x);
  };
  walk('', links);
  return out;
}

export function SessionsScreen({ me, query }: { me: Me; query: URLSearchParams }) {
  const connectors = useLoad(
    () =>
      Array.isArray(me.connectors)
        ? Promise.resolve(me.connectors)
        : api<{ connectors: ConnectorItem[] }>('GET', '/v1/connectors').then((r) => r.connectors.map((c) => c.id)),
    [],
  );
  const connector = query.get('connector') ?? connectors.data?.[0] ?? '';
  const sessionId = query.get('session') ?? '';
  const [draft, setDraft] = useState(sessionId);
  const recent = useLoad(async () => {
    if (!connector) return undefined;
    try {
      const r = await api<SessionSummary[] | { sessions: SessionSummary[] }>('GET', `/v1/connectors/${enc(connector)}/sessions`, { query: { limit: '25' } });
      return Array.isArray(r) ? r : r.sessions;
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.status === 405)) return undefined;
      throw e;
    }
  }, [connector]);
  return (
    <Section title="Sessions">
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          go(['sessions'], { connector, session: draft.trim() });
        }}
      >
        <div class="field">
          <label for="s-connector">Connector</label>
          <select id="s-connector" value={connector} onChange={(e) => go(['sessions'], { connector: e.currentTarget.value })}>
            {connectors.data?.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="s-id">Session id</label>
          <input id="s-id" value={draft} onInput={(e) => setDraft(e.currentTarget.value)} />
        </div>
        <button type="submit" class="primary">
          Open
        </button>
      </form>
      <div class="split">
        <div class="recent">
          <h3>Recent</h3>
          <ErrorBox error={recent.error} />
          {recent.data === undefined && !recent.loading ? <p class="muted">Type a session id to open it.</p> : null}
          <ul class="session-list">
            {recent.data?.map((s) => (
              <li key={s.id}>
                <a href={href(['sessions'], { connector, session: s.id })} aria-current={s.id === sessionId ? 'true' : undefined}>
                  <code>{s.id}</code>
                </a>{' '}
                {s.state ? <Badge value={s.state} /> : null} <span class="muted">{when(s.updated_at ?? s.started_at)}</span>
              </li>
            ))}
          </ul>
        </div>
        {sessionId && connector ? <SessionDetail key={`${connector}/${sessionId}`} connector={connector} id={sessionId} /> : null}
      </div>
    </Section>
  );
}

function SessionDetail({ connector, id }: { connector: string; id: string }) {
  const s = useLoad(() => api<SessionView>('GET', `/v1/connectors/${enc(connector)}/sessions/${enc(id)}`), [connector, id]);
  const x = s.data;
  return (
    <div class="session">
      <h3>
        Session <code>{id}</code>
      </h3>
      <ErrorBox error={s.error} />
      {x ? (
        <>
          <p>
            <Badge value={x.ended ? 'ended' : 'open'} />
            {x.waiting_for ? <span class="muted"> waiting for {x.waiting_for}</span> : null}
            {x.account_id ? <span> · account {String(x.account_id)}</span> : null}
            {x.record_id ? <span> · record {String(x.record_id)}</span> : null}
          </p>
          <h4>Screen-pop links</h4>
          <ul>
            {linkList(x.links).map(([name, url]) => (
              <li key={name}>
                {name}:{' '}
                <a href={url} target="_blank" rel="noopener noreferrer">
                  {url}
                </a>
              </li>
            ))}
          </ul>
          <h4>Timeline</h4>
          <ol class="timeline">
            {timelineOf(x).map((t, i) => (
              <li key={i} class={`kind-${t.kind}`}>
                <span class="at">{t.at ? new Date(t.at).toLocaleTimeString() : ''}</span> <span class="kind">{t.kind.replace(/_/g, ' ')}</span> {t.summary}
                {t.delivery_id ? (
                  <>
                    {' '}
                    <a href={href(['deliveries', t.delivery_id])}>delivery</a>
                  </>
                ) : null}
              </li>
            ))}
          </ol>
          {x.warnings?.length ? (
            <ul class="warnings">
              {x.warnings.map((w) => (
                <li key={w}>{w}</li>
              ))}
            </ul>
          ) : null}
          <details>
            <summary>Raw session</summary>
            <Json label="Raw session" value={x} />
          </details>
        </>
      ) : null}
    </div>
  );
}
