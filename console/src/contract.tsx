/**
 * Contract test: runs the connector's contract checks as a job on the gateway (against the
 * bundled sample CRM or a base URL) and shows each check as it finishes: the event stream when
 * it can be read, polling otherwise. A failed check links to its YAML line.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { type Me, api, call, enc } from './api';
import { href } from './router';
import { Badge, ErrorBox, Section } from './ui';

interface Check {
  name: string;
  ok: boolean;
  /** pass, fail or skip (a check the connector's file gives nothing to run). */
  outcome?: string;
  ms?: number;
  detail?: string;
  line?: number;
}
interface Run {
  id: string;
  connector?: string;
  state: 'running' | 'passed' | 'failed';
  checks: Check[];
  started_at?: string;
  finished_at?: string;
}

/** Reads `check` and `done` events from the stream (fetch, so the key goes in a header; EventSource cannot send one). */
async function follow(runId: string, onCheck: (c: Check) => void, signal: AbortSignal): Promise<void> {
  const res = await call('GET', `/v1/contract-tests/${enc(runId)}/events`, { accept: 'text/event-stream', signal });
  if (!res.body) throw new Error('no event stream');
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: ?(.*)$/m.exec(block)?.[1] ?? 'message';
      const data = block
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.replace(/^data: ?/, ''))
        .join('\n');
      if (event === 'check' && data) onCheck(JSON.parse(data) as Check);
      if (event === 'done') return;
    }
  }
}

export function ContractScreen({ id }: { id: string; me: Me }) {
  const [target, setTarget] = useState<'sample' | 'config' | 'url'>('sample');
  const [baseUrl, setBaseUrl] = useState('');
  const [run, setRun] = useState<Run>();
  const [error, setError] = useState<unknown>();
  const abort = useRef<AbortController>();
  useEffect(() => () => abort.current?.abort(), []);

  const start = async () => {
    setError(undefined);
    abort.current?.abort();
    const ctl = new AbortController();
    abort.current = ctl;
    try {
      const body = target === 'url' ? { target: 'config', base_url: baseUrl } : { target };
      const { id: runId } = await api<{ id: string }>('POST', `/v1/connectors/${enc(id)}/contract-tests`, { body });
      setRun({ id: runId, state: 'running', checks: [] });
      try {
        await follow(runId, (c) => setRun((r) => (r ? { ...r, checks: [...r.checks, c] } : r)), ctl.signal);
      } catch {
        // The stream is an extra: polling below shows the same checks.
      }
      for (;;) {
        if (ctl.signal.aborted) return;
        const r = await api<Run>('GET', `/v1/contract-tests/${enc(runId)}`, { signal: ctl.signal });
        setRun(r);
        if (r.state !== 'running') return;
        await new Promise((ok) => setTimeout(ok, 400));
      }
    } catch (e) {
      if (!ctl.signal.aborted) setError(e);
    }
  };

  const junit = async () => {
    if (!run) return;
    try {
      const res = await call('GET', `/v1/contract-tests/${enc(run.id)}/junit`, { accept: 'application/xml' });
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement('a');
      a.href = url;
      a.download = `contract-${id}-${run.id}.xml`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (e) {
      setError(e);
    }
  };

  const passed = run?.checks.filter((c) => c.ok).length ?? 0;
  return (
    <Section
      title={`Contract test: ${id}`}
      actions={
        <a class="button" href={href(['connectors'])}>
          Back
        </a>
      }
    >
      <form
        class="form"
        onSubmit={(e) => {
          e.preventDefault();
          start();
        }}
      >
        <fieldset>
          <legend>Run against</legend>
          <label class="inline">
            <input type="radio" name="target" checked={target === 'sample'} onChange={() => setTarget('sample')} /> the bundled sample CRM
          </label>
          <label class="inline">
            <input type="radio" name="target" checked={target === 'config'} onChange={() => setTarget('config')} /> the base_url in the file
          </label>
          <label class="inline">
            <input type="radio" name="target" checked={target === 'url'} onChange={() => setTarget('url')} /> another base URL
          </label>
          {target === 'url' ? (
            <div class="field">
              <label for="base-url">Base URL</label>
              <input id="base-url" type="url" required value={baseUrl} onInput={(e) => setBaseUrl(e.currentTarget.value)} />
            </div>
          ) : null}
        </fieldset>
        <div class="actions">
          <button type="submit" class="primary" disabled={run?.state === 'running'}>
            Run contract test
          </button>
          {run && run.state !== 'running' ? (
            <button type="button" onClick={junit}>
              Download JUnit
            </button>
          ) : null}
        </div>
      </form>
      <ErrorBox error={error} />
      {run ? (
        <div class="result" aria-live="polite">
          <p>
            Run <code>{run.id}</code>: <Badge value={run.state} /> {passed}/{run.checks.length} checks passed
          </p>
          <table class="checks">
            <thead>
              <tr>
                <th>Check</th>
                <th>Result</th>
                <th>Time</th>
                <th>Detail</th>
                <th>YAML line</th>
              </tr>
            </thead>
            <tbody>
              {run.checks.map((c, i) => (
                <tr key={i} class={c.ok ? '' : 'failed'}>
                  <td>{c.name}</td>
                  <td>
                    <Badge value={c.outcome === 'skip' ? 'skipped' : c.ok ? 'passed' : 'failed'} />
                  </td>
                  <td>{c.ms !== undefined ? `${c.ms} ms` : ''}</td>
                  <td>{c.detail}</td>
                  <td>{c.line ? <a href={href(['connectors', id, 'edit'], { line: String(c.line) })}>line {c.line}</a> : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </Section>
  );
}
