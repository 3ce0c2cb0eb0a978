/** Small shared pieces: error boxes, status badges, JSON blocks, the async-load hook. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api';

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error instanceof ApiError ? error : new ApiError(0, String((error as Error)?.message ?? error));
  return (
    <div class="error" role="alert">
      <strong>{e.status ? `${e.status} ` : ''}</strong>
      {e.message}
      {e.problem.errors?.length ? (
        <ul>
          {e.problem.errors.map((x, i) => (
            <li key={i}>
              {x.line ? `line ${x.line}${x.col ? `:${x.col}` : ''} ` : ''}
              {(x.path ?? x.field) ? <code>{x.path ?? x.field}</code> : null} {x.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

const TONES: Record<string, string> = {
  valid: 'ok',
  delivered: 'ok',
  passed: 'ok',
  connected: 'ok',
  static: 'neutral',
  invalid: 'bad',
  dead: 'bad',
  failed: 'bad',
  expired: 'bad',
  not_connected: 'warn',
  unknown_outcome: 'warn',
  pending: 'info',
  running: 'info',
  cancelled: 'neutral',
  active: 'info',
  open: 'info',
  waiting: 'warn',
  unidentified: 'warn',
  ended: 'neutral',
  skipped: 'neutral',
};

export function Badge({ value }: { value: string }) {
  return <span class={`badge ${TONES[value] ?? 'neutral'}`}>{value.replace(/_/g, ' ')}</span>;
}

export function Json({ value, label }: { value: unknown; label?: string }) {
  return (
    <pre class="json" title={label}>
      {typeof value === 'string' ? value : JSON.stringify(value, null, 2)}
    </pre>
  );
}

export function Section({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="card">
      <header class="card-head">
        <h2>{title}</h2>
        {actions ? <div class="actions">{actions}</div> : null}
      </header>
      {children}
    </section>
  );
}

/** Loads once per change of `deps`; `reload()` loads again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data?: T; error?: unknown; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, n]);
  return { ...state, reload: useCallback(() => setN((x) => x + 1), []) };
}

export const when = (iso?: string) => (iso ? new Date(iso).toLocaleString() : '');
