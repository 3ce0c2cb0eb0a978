/**
 * The connector's YAML in CodeMirror 6: schema completion (schema-complete.ts), inline errors
 * from POST /v1/connectors/{id}/validate (the CLI's validator, so the markers are its
 * file:line:col), a diff against the running file, and save (PUT …/config with the hash of the
 * file it started from: someone else's save in between is a 409, not an overwrite).
 */
import { autocompletion, type CompletionContext, type CompletionResult } from '@codemirror/autocomplete';
import { yaml } from '@codemirror/lang-yaml';
import { type Diagnostic, forceLinting, linter, lintGutter } from '@codemirror/lint';
import { unifiedMergeView } from '@codemirror/merge';
import { Compartment, EditorSelection } from '@codemirror/state';
import { basicSetup, EditorView } from 'codemirror';
import { useEffect, useRef, useState } from 'preact/hooks';
import schema from '../../schemas/connector.schema.json';
import { ApiError, baseName, type ConfigIssue, type ConnectorItem, type Me, api, enc, isValid, issueText, rejectedErrors } from './api';
import { href } from './router';
import { contextAt, type Json, optionsAt } from './schema-complete';
import { Badge, ErrorBox, Section } from './ui';

const root = schema as unknown as { [key: string]: Json };

/** The page's CSP nonce (a meta tag the gateway fills per page load): CodeMirror's theme <style> elements carry it. */
const cspNonce = document.querySelector<HTMLMetaElement>('meta[name="csp-nonce"]')?.content ?? '';

function completeFromSchema(ctx: CompletionContext): CompletionResult | null {
  const at = contextAt(ctx.state.doc.toString(), ctx.pos);
  if (!at || (!at.word && !ctx.explicit && at.kind === 'key')) return null;
  const options = optionsAt(root, at);
  if (!options.length) return null;
  return {
    from: at.from,
    options: options.map((o) => ({
      label: o.label,
      type: o.kind === 'property' ? 'property' : 'enum',
      detail: o.detail,
      info: o.info,
      apply: o.kind === 'property' ? `${o.label}: ` : o.label,
    })),
    validFor: /^[\w$.-]*$/,
  };
}

interface Validation {
  valid: boolean;
  errors: ConfigIssue[];
}

function toDiagnostics(view: EditorView, errors: ConfigIssue[]): Diagnostic[] {
  const doc = view.state.doc;
  return errors.map((e) => {
    const line = doc.line(Math.min(Math.max(e.line ?? 1, 1), doc.lines));
    const from = Math.min(line.from + Math.max((e.col ?? 1) - 1, 0), line.to);
    return {
      from,
      to: Math.max(line.to, from),
      severity: e.severity === 'warning' ? 'warning' : 'error',
      message: `${e.line ? `${e.line}:${e.col ?? 1} ` : ''}${e.path ? `${e.path}: ` : ''}${e.message}`,
    };
  });
}

function goToLine(view: EditorView, n: number) {
  const line = view.state.doc.line(Math.min(Math.max(n, 1), view.state.doc.lines));
  view.dispatch({ selection: EditorSelection.cursor(line.from), effects: EditorView.scrollIntoView(line.from, { y: 'center' }) });
  view.focus();
}

export function EditorScreen({ id, me, line }: { id: string; me: Me; line?: number }) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView>();
  const diff = useRef(new Compartment());
  const [item, setItem] = useState<ConnectorItem>();
  const [loadError, setLoadError] = useState<unknown>();
  const [running, setRunning] = useState<{ yaml: string; sha256?: string }>();
  const [validation, setValidation] = useState<Validation | 'checking' | { failed: unknown }>('checking');
  const [showDiff, setShowDiff] = useState(false);
  const [dirty, setDirty] = useState(false);
  const [save, setSave] = useState<{ state: 'idle' | 'saving' | 'reloading' | 'done'; error?: unknown; note?: string }>({ state: 'idle' });

  const refresh = async () => {
    const c = await api<ConnectorItem>('GET', `/v1/connectors/${enc(id)}`);
    setItem(c);
    return c;
  };

  useEffect(() => {
    let v: EditorView | undefined;
    refresh().then(
      (c) => {
        if (c.yaml === undefined) {
          setLoadError(new ApiError(403, "the gateway did not send this connector's YAML (an admin key reads it)"));
          return;
        }
        setRunning({ yaml: c.yaml, sha256: c.sha256 });
        v = new EditorView({
          parent: host.current!,
          doc: c.yaml,
          extensions: [
            EditorView.cspNonce.of(cspNonce),
            basicSetup,
            yaml(),
            EditorView.lineWrapping,
            EditorView.contentAttributes.of({ 'aria-label': `${c.file ?? id} YAML` }),
            autocompletion({ override: [completeFromSchema] }),
            lintGutter(),
            linter(
              async (view) => {
                setValidation('checking');
                try {
                  const r = await api<Validation>('POST', `/v1/connectors/${enc(id)}/validate`, { body: { yaml: view.state.doc.toString() } });
                  setValidation(r);
                  return toDiagnostics(view, r.errors);
                } catch (e) {
                  setValidation({ failed: e });
                  return [];
                }
              },
              { delay: 400 },
            ),
            diff.current.of([]),
            EditorView.updateListener.of((u) => {
              if (u.docChanged) setDirty(true);
            }),
          ],
        });
        view.current = v;
        if (line) goToLine(v, line);
      },
      (e) => setLoadError(e),
    );
    return () => v?.destroy();
  }, [id]);

  useEffect(() => {
    if (view.current && line) goToLine(view.current, line);
  }, [line]);

  const toggleDiff = () => {
    const v = view.current;
    if (!v || !running) return;
    const on = !showDiff;
    v.dispatch({ effects: diff.current.reconfigure(on ? unifiedMergeView({ original: running.yaml, mergeControls: false, highlightChanges: true }) : []) });
    setShowDiff(on);
  };

  const onSave = async () => {
    const v = view.current;
    if (!v || !running) return;
    const text = v.state.doc.toString();
    setSave({ state: 'saving' });
    try {
      const r = await api<{ saved: boolean; sha256: string }>('PUT', `/v1/connectors/${enc(id)}/config`, { body: { yaml: text, base_sha256: running.sha256 } });
      setRunning({ yaml: text, sha256: r.sha256 });
      setDirty(false);
      if (showDiff) v.dispatch({ effects: diff.current.reconfigure(unifiedMergeView({ original: text, mergeControls: false })) });
      setSave({ state: 'reloading', note: 'Saved. Waiting for the hot reload…' });
      // The file watcher reloads it shortly; the running version is known once the gateway reports the saved file's hash.
      let c: ConnectorItem | undefined;
      for (let i = 0; i < 40; i++) {
        c = await refresh();
        if (!c.sha256 || c.sha256 === r.sha256) break;
        await new Promise((ok) => setTimeout(ok, 250));
      }
      const rejected = c ? rejectedErrors(c) : undefined;
      setSave({
        state: 'done',
        note: rejected?.length
          ? 'Saved, but the reload rejected it: the previous version keeps running.'
          : c && isValid(c)
            ? 'Saved and reloaded: the running version is valid.'
            : 'Saved.',
      });
    } catch (e) {
      setSave({ state: 'idle', error: e });
    }
  };

  const errors = typeof validation === 'object' && 'errors' in validation ? validation.errors : [];
  const rejected = item ? rejectedErrors(item) : undefined;
  return (
    <Section
      title={`Edit ${baseName(item?.file) ?? id}`}
      actions={
        <>
          <a class="button" href={href(['connectors'])}>
            Back
          </a>
          <button type="button" onClick={toggleDiff} aria-pressed={showDiff} disabled={!running}>
            {showDiff ? 'Hide diff' : 'Diff with running version'}
          </button>
          <button type="button" class="primary" onClick={onSave} disabled={!me.admin || !running || save.state === 'saving' || save.state === 'reloading'}>
            Save
          </button>
        </>
      }
    >
      <ErrorBox error={loadError} />
      <div class="editor-status" aria-live="polite">
        <span>Running: {item ? <Badge value={isValid(item) ? 'valid' : 'invalid'} /> : '…'}</span>
        <span>
          This text:{' '}
          {validation === 'checking' ? (
            <span class="muted">checking…</span>
          ) : 'failed' in validation ? (
            <span class="muted">not checked</span>
          ) : validation.valid ? (
            <Badge value="valid" />
          ) : (
            <>
              <Badge value="invalid" /> {errors.filter((e) => e.severity !== 'warning').length} error(s)
            </>
          )}
        </span>
        {dirty ? <span class="muted">unsaved changes</span> : null}
        {save.note ? <span class="note">{save.note}</span> : null}
      </div>
      {typeof validation === 'object' && 'failed' in validation ? <ErrorBox error={validation.failed} /> : null}
      <ErrorBox error={save.error} />
      {rejected?.length ? (
        <div class="issues">
          <h4>Rejected change (the running version is kept)</h4>
          <ul>
            {rejected.map((i, n) => (
              <li key={n}>{issueText(i)}</li>
            ))}
          </ul>
        </div>
      ) : null}
      {errors.length ? (
        <ul class="problems" aria-label="Problems">
          {errors.map((e, n) => (
            <li key={n} class={e.severity === 'warning' ? 'warning' : 'error'}>
              <button type="button" class="link" onClick={() => view.current && e.line && goToLine(view.current, e.line)}>
                {baseName(item?.file) ?? id}:{issueText(e)}
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      <div class="editor" ref={host} />
      <p class="muted">
        Ctrl-Space completes keys and values from the connector schema. Errors come from the same validator as <code>crm-gateway validate</code>.
      </p>
      {/* Re-lint on demand after a failed check (network, 5xx). */}
      {typeof validation === 'object' && 'failed' in validation ? (
        <button type="button" onClick={() => view.current && forceLinting(view.current)}>
          Check again
        </button>
      ) : null}
    </Section>
  );
}
