// The single project web hook (`wh_default`): endpoint, flags, write-only Authorization
// value, custom parameters, and the session test.
import { useEffect, useState } from './vendor/hooks.module.js';
import { request, projectPath, ApiError } from './api.js';
import {
  html, useApp, useCanWrite, PageTitle, Loading, ErrorBox, splitErrors, Field, Check, KeyValueRows, rowsFrom,
  rowsToObject, Confirm, useAlive, pollAttempt, AttemptResult,
} from './ui.js';

/** What a read-only session sees: the settings as text, no form. */
function WebHookFacts({ hook }) {
  const params = Object.entries(hook.custom_parameters || {});
  return html`<dl class="details">
    <dt>Endpoint</dt><dd class="mono">${hook.endpoint || '—'}</dd>
    <dt>Enabled</dt><dd>${hook.enable_web_hook === true || hook.enable_web_hook === 'true' ? 'Yes' : 'No'}</dd>
    <dt>HTTP authorization</dt><dd>${hook.enable_http_authorization === true || hook.enable_http_authorization === 'true' ? 'Used' : 'Not used'}</dd>
    <dt>Custom parameters</dt><dd>${params.length
      ? html`<ul class="plain">${params.map(([k, v]) => html`<li><code>${k}</code>: <span class="mono">${String(v)}</span></li>`)}</ul>`
      : html`<span class="muted">None</span>`}</dd>
  </dl>`;
}

export function ProjectWebHook() {
  const { session } = useApp();
  const canWrite = useCanWrite();
  const [hook, setHook] = useState(null);
  const [exists, setExists] = useState(null); // null while loading
  const [loadError, setLoadError] = useState(null);
  const [endpoint, setEndpoint] = useState('');
  const [enabled, setEnabled] = useState(true);
  const [useAuth, setUseAuth] = useState(false);
  const [authValue, setAuthValue] = useState('');
  const [params, setParams] = useState([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState('');
  const [test, setTest] = useState(null);
  const [testError, setTestError] = useState(null);
  const [confirm, setConfirm] = useState(false);
  const [del, setDel] = useState({ busy: false, error: null });
  const alive = useAlive();

  function fill(r) {
    setEndpoint(r.endpoint || '');
    setEnabled(r.enable_web_hook === true || r.enable_web_hook === 'true');
    setUseAuth(r.enable_http_authorization === true || r.enable_http_authorization === 'true');
    setParams(rowsFrom(r.custom_parameters || r.customer_parameters));
  }

  async function load() {
    try {
      const r = await request(session, 'GET', projectPath(session, '/web_hook'));
      fill(r);
      setHook(r);
      setExists(true);
    } catch (e) {
      if (e.status === 404) {
        fill({ endpoint: '', enable_web_hook: true, enable_http_authorization: false, custom_parameters: {} });
        setExists(false);
      } else {
        setLoadError(e);
      }
    }
  }
  useEffect(() => {
    load();
  }, [session.projectId]);

  const prms = rowsToObject(params);
  const { byField, unmatched } = splitErrors(error, (f) => {
    if (['endpoint', 'enable_web_hook', 'enable_http_authorization', 'http_authorization_value'].includes(f)) return f;
    if (f.startsWith('custom_parameters.') && params.some((r) => r.name.trim() === f.slice(18))) return f;
    return null;
  });

  async function save(e) {
    e.preventDefault();
    setSaved('');
    if (prms.problems.length) {
      setError(new ApiError(400, 'Fix the custom parameter rows marked below.', []));
      return;
    }
    const body = {
      endpoint: endpoint.trim(),
      enable_web_hook: enabled,
      enable_http_authorization: useAuth,
      custom_parameters: prms.value,
    };
    if (authValue) body.http_authorization_value = authValue;
    setBusy(true);
    setError(null);
    try {
      fill(await request(session, 'PUT', projectPath(session, '/web_hook'), body));
      setAuthValue('');
      setExists(true);
      setSaved('Web hook saved.');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  async function trigger() {
    setTestError(null);
    setTest({ phase: 'sending' });
    try {
      const ev = await request(session, 'POST', projectPath(session, '/web_hook/trigger_session_test'));
      setTest({ phase: 'waiting', id: ev.id });
      const done = await pollAttempt(
        () => request(session, 'GET', projectPath(session, `/web_hook/events/${encodeURIComponent(ev.id)}`)), alive);
      if (!alive.current) return;
      setTest(done ? { phase: 'done', event: done } : { phase: 'timeout', id: ev.id });
    } catch (err) {
      setTest(null);
      setTestError(err);
    }
  }

  async function remove() {
    setDel({ busy: true, error: null });
    try {
      await request(session, 'DELETE', projectPath(session, '/web_hook'));
      setConfirm(false);
      setDel({ busy: false, error: null });
      fill({ endpoint: '', enable_web_hook: true, enable_http_authorization: false, custom_parameters: {} });
      setExists(false);
      setSaved('Web hook removed.');
    } catch (err) {
      setDel({ busy: false, error: err });
    }
  }

  if (loadError) return html`<section><${PageTitle}>Project web hook<//><${ErrorBox} error=${loadError} /></section>`;
  if (exists === null) return html`<section><${PageTitle}>Project web hook<//><${Loading} what="the web hook" /></section>`;
  const testing = test && (test.phase === 'sending' || test.phase === 'waiting');
  const logs = exists && html`<p><a href="#/webhooks/wh_default/logs">Deliveries of the web hook (logs)</a></p>`;
  if (!canWrite) {
    return html`<section>
      <${PageTitle}>Project web hook<//>
      ${exists ? html`<${WebHookFacts} hook=${hook} />${logs}` : html`<p class="notice">No web hook is set up.</p>`}
    </section>`;
  }

  return html`<section>
    <${PageTitle}>Project web hook<//>
    <p class="muted">One URL called when a session is created, updated or deleted, with a flat payload and your custom parameters.</p>
    ${!exists && html`<p class="notice">No web hook yet. Fill in the endpoint and save to create it.</p>`}
    ${logs}
    <form class="form" onSubmit=${save} novalidate>
      <${ErrorBox} error=${error} unmatched=${unmatched} summary />
      <${Field} label="Endpoint" value=${endpoint} onValue=${setEndpoint} error=${byField.endpoint} spellcheck="false"
        autocomplete="off" hint="Without the protocol, e.g. example.com/web_hook: HTTPS is enforced." />
      <${Check} label="Enable web hook" checked=${enabled} onValue=${setEnabled} error=${byField.enable_web_hook} />
      <${Check} label="Use HTTP authorization" checked=${useAuth} onValue=${setUseAuth} error=${byField.enable_http_authorization} />
      <${Field} label="Authorization value" type="password" value=${authValue} onValue=${setAuthValue}
        error=${byField.http_authorization_value} autocomplete="new-password" spellcheck="false"
        hint="Write-only: the value is never shown again. Leave empty to keep the current one." />
      <${KeyValueRows} legend="Custom parameters" rows=${params} setRows=${setParams} addLabel="Add parameter"
        nameLabel="Parameter name" valueLabel="Parameter value" removeLabel="Remove parameter"
        hint="Added as top-level keys of every web hook POST."
        errorFor=${(name) => byField[`custom_parameters.${name.trim()}`] || (prms.problems.find((p) => p.name === name.trim()) || {}).message} />
      <div class="actions">
        <button type="submit" class="btn primary" disabled=${busy}>${busy ? 'Saving…' : 'Save'}</button>
      </div>
      <div aria-live="polite">${saved && html`<p class="notice success">${saved}</p>`}</div>
    </form>
    <section class="panel" aria-labelledby="session-test-h">
      <h2 id="session-test-h">Session test</h2>
      <p class="muted">Sends a <code>session.test</code> event with a null session to the endpoint.</p>
      <button type="button" class="btn" onClick=${trigger} disabled=${testing || !exists}>Trigger session test</button>
      ${!exists && html`<p class="hint">Save the web hook first.</p>`}
      <${ErrorBox} error=${testError} />
      <div aria-live="polite"><${AttemptResult} state=${test} /></div>
    </section>
    ${exists &&
    html`<section class="panel" aria-labelledby="remove-h">
      <h2 id="remove-h">Remove</h2>
      <button type="button" class="btn danger" onClick=${() => setConfirm(true)}>Delete web hook</button>
    </section>`}
    <${Confirm} open=${confirm} title="Delete the project web hook?" confirmLabel="Delete" busy=${del.busy} error=${del.error}
      onConfirm=${remove} onClose=${() => setConfirm(false)}>
      <p>The endpoint stops receiving session events. You can set it up again later.</p>
    <//>
  </section>`;
}
