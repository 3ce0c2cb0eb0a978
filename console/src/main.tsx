/** The console: sign in, then the screens, all on the gateway's public API. */
import './style.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, type Me, SIGNED_OUT, session } from './api';
import { ConnectorsScreen } from './connectors';
import { ContractScreen } from './contract';
import { DeliveriesScreen, DeliveryScreen } from './deliveries';
import { EditorScreen } from './editor';
import { href, useRoute } from './router';
import { SessionsScreen } from './sessions';
import { TryScreen } from './try-it';
import { ErrorBox } from './ui';

/** What the key may do. Hiding admin actions is a courtesy: the API refuses them anyway. */
async function whoAmI(): Promise<Me> {
  return api<Me>('GET', '/v1/me');
}

function SignIn({ onSignedIn }: { onSignedIn: (me: Me) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    session.signIn(key.trim());
    try {
      onSignedIn(await whoAmI());
    } catch (err) {
      session.signOut();
      setError(err instanceof ApiError && err.status === 401 ? new ApiError(401, 'this API key is not valid') : err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <form class="card" onSubmit={submit}>
        <h1>crm-gateway console</h1>
        <p>Sign in with an API key. It is kept for this tab only and sent to this gateway only.</p>
        <label for="api-key">API key</label>
        <input id="api-key" name="api-key" type="password" autocomplete="off" required value={key} onInput={(e) => setKey(e.currentTarget.value)} />
        <button type="submit" class="primary" disabled={busy || !key.trim()}>
          Sign in
        </button>
        <ErrorBox error={error} />
      </form>
    </main>
  );
}

const NAV: Array<[string, string]> = [
  ['connectors', 'Connectors'],
  ['deliveries', 'Deliveries'],
  ['sessions', 'Sessions'],
];

function App() {
  const [me, setMe] = useState<Me | undefined>();
  const [checking, setChecking] = useState(!!session.key());
  const route = useRoute();
  useEffect(() => {
    const out = () => setMe(undefined);
    addEventListener(SIGNED_OUT, out);
    return () => removeEventListener(SIGNED_OUT, out);
  }, []);
  useEffect(() => {
    if (!session.key()) return;
    whoAmI()
      .then(setMe, () => session.signOut())
      .finally(() => setChecking(false));
  }, []);
  if (checking) return <p class="loading">Loading…</p>;
  if (!me) return <SignIn onSignedIn={setMe} />;
  const [screen = 'connectors', id, sub] = route.parts;
  let body;
  if (screen === 'connectors' && id && sub === 'edit') body = <EditorScreen id={id} me={me} line={Number(route.query.get('line')) || undefined} />;
  else if (screen === 'connectors' && id && sub === 'try') body = <TryScreen id={id} me={me} />;
  else if (screen === 'connectors' && id && sub === 'contract') body = <ContractScreen id={id} me={me} />;
  else if (screen === 'deliveries' && id) body = <DeliveryScreen id={id} me={me} />;
  else if (screen === 'deliveries') body = <DeliveriesScreen me={me} query={route.query} />;
  else if (screen === 'sessions') body = <SessionsScreen me={me} query={route.query} />;
  else body = <ConnectorsScreen me={me} />;
  return (
    <>
      <header class="top">
        <a class="brand" href={href(['connectors'])}>
          crm-gateway
        </a>
        <nav aria-label="Screens">
          {NAV.map(([name, label]) => (
            <a key={name} href={href([name])} aria-current={screen === name ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <span class="who">{me.admin ? 'admin key' : `key for ${me.connectors === '*' ? 'all connectors' : me.connectors.join(', ')}`}</span>
        <button
          type="button"
          onClick={() => {
            session.signOut();
            setMe(undefined);
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main" key={screen}>
        {body}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
