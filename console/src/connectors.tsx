/** Connectors: status, errors with their YAML lines, rejected changes, auth state, limits, lookup URLs. */
import { useState } from 'preact/hooks';
import { baseName, settings, type ConnectorItem, call, enc, errorsOf, isValid, issueText, type Me, rejectedAt, rejectedErrors, warningsOf, api } from './api';
import { href } from './router';
import { Badge, ErrorBox, Section, useLoad, when } from './ui';

export function ConnectorsScreen({ me }: { me: Me }) {
  const { data, error, loading, reload } = useLoad(() => api<{ connectors: ConnectorItem[] }>('GET', '/v1/connectors'), []);
  return (
    <Section
      title="Connectors"
      actions={
        <button type="button" onClick={reload}>
          Refresh
        </button>
      }
    >
      <ErrorBox error={error} />
      {loading && !data ? <p class="loading">Loading…</p> : null}
      <div class="grid">
        {data?.connectors.map((c) => (
          <ConnectorCard key={c.id} c={c} me={me} />
        ))}
      </div>
      {data && !data.connectors.length ? <p>No connectors this key may see.</p> : null}
    </Section>
  );
}

function Issues({ title, issues, id, file, admin }: { title: string; issues: Array<unknown>; id: string; file?: string; admin: boolean }) {
  if (!issues.length) return null;
  return (
    <div class="issues">
      <h4>{title}</h4>
      <ul>
        {issues.map((i, n) => {
          const line = typeof i === 'object' && i ? (i as { line?: number }).line : undefined;
          // Positioned issues read as the CLI prints them: file:line:col path: message.
          const text = typeof i === 'string' ? i : `${baseName(file) ?? id}:${issueText(i as never)}`;
          return <li key={n}>{line && admin ? <a href={href(['connectors', id, 'edit'], { line: String(line) })}>{text}</a> : text}</li>;
        })}
      </ul>
    </div>
  );
}

function AuthState({ c, admin }: { c: ConnectorItem; admin: boolean }) {
  const [error, setError] = useState<unknown>();
  const [note, setNote] = useState('');
  if (!c.auth) return null;
  const oauth = c.auth.type === 'oauth2' && (c.auth.grant === undefined || c.auth.grant === 'authorization_code' || c.auth.state !== 'static');
  // The authorize route answers with a redirect to the CRM; a page cannot follow that with its key
  // attached, so it asks for the URL as JSON and opens it in a new tab.
  const connect = async () => {
    setError(undefined);
    try {
      const res = await call('GET', `/v1/connectors/${enc(c.id)}/oauth/authorize`);
      if (res.type === 'opaqueredirect') throw new Error('the gateway answered with a redirect the page cannot read; ask for the authorize URL as JSON');
      const body = (await res.json()) as { authorize_url?: string; url?: string };
      const url = body.authorize_url ?? body.url;
      if (!url) throw new Error('the gateway did not return an authorize URL');
      window.open(url, '_blank', 'noopener');
      setNote('The CRM\'s sign-in page opened in a new tab; come back and press "Refresh" when it is done.');
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div class="auth">
      <dt>Auth</dt>
      <dd>
        {c.auth.type} {c.auth.state ? <Badge value={c.auth.state} /> : null}
        {c.auth.expires_at ? <span class="muted"> expires {when(c.auth.expires_at)}</span> : null}
        {admin && oauth && c.auth.state !== 'static' ? (
          <button type="button" class="small" onClick={connect}>
            {c.auth.state === 'connected' ? 'Reconnect' : 'Connect'}
          </button>
        ) : null}
        {note ? <p class="muted">{note}</p> : null}
        <ErrorBox error={error} />
      </dd>
    </div>
  );
}

function ConnectorCard({ c, me }: { c: ConnectorItem; me: Me }) {
  const valid = isValid(c);
  const rejected = rejectedErrors(c);
  return (
    <article class="connector" aria-labelledby={`c-${c.id}`}>
      <header>
        <h3 id={`c-${c.id}`}>{c.name ?? c.id}</h3>
        <Badge value={valid ? 'valid' : 'invalid'} />
      </header>
      <dl>
        <dt>Id</dt>
        <dd>
          <code>{c.id}</code>
        </dd>
        {c.file ? (
          <>
            <dt>File</dt>
            <dd>
              <code title={c.file}>{baseName(c.file)}</code>
            </dd>
          </>
        ) : null}
        <AuthState c={c} admin={me.admin} />
        {c.rate_limit ? (
          <>
            <dt>Rate limit</dt>
            <dd>{settings(c.rate_limit)}</dd>
          </>
        ) : null}
        {c.retry ? (
          <>
            <dt>Retry</dt>
            <dd>{settings(c.retry)}</dd>
          </>
        ) : null}
        {c.links?.length ? (
          <>
            <dt>Lookup URLs</dt>
            <dd>{c.links.join(', ')}</dd>
          </>
        ) : null}
        <dt>Operations</dt>
        <dd>{c.operations.length ? c.operations.join(', ') : <span class="muted">none usable</span>}</dd>
      </dl>
      <Issues title="Errors" issues={errorsOf(c)} id={c.id} file={c.file} admin={me.admin} />
      <Issues title="Warnings" issues={warningsOf(c)} id={c.id} file={c.file} admin={me.admin} />
      {rejected ? (
        <Issues
          title={`Rejected change${rejectedAt(c) ? ` (${when(rejectedAt(c))})` : ''}: the running version is kept`}
          issues={rejected}
          id={c.id}
          file={c.file}
          admin={me.admin}
        />
      ) : null}
      <footer class="actions">
        {me.admin ? (
          <a class="button" href={href(['connectors', c.id, 'edit'])}>
            Edit YAML
          </a>
        ) : null}
        {valid ? (
          <a class="button" href={href(['connectors', c.id, 'try'])}>
            Try it
          </a>
        ) : null}
        {me.admin && valid ? (
          <a class="button" href={href(['connectors', c.id, 'contract'])}>
            Contract test
          </a>
        ) : null}
        <a class="button" href={href(['deliveries'], { connector: c.id })}>
          Deliveries
        </a>
        <a class="button" href={href(['sessions'], { connector: c.id })}>
          Sessions
        </a>
      </footer>
    </article>
  );
}
