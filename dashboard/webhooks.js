// Webhooks: the list, the create/edit form and a webhook's page (actions, test,
// recover, the 24-hour chart and the Logs tab).
import { useEffect, useId, useState } from './vendor/hooks.module.js';
import { request, projectPath, qs, eventTypes, ApiError } from './api.js';
import {
  html, useApp, go, flash, PageTitle, Flash, Loading, ErrorBox, splitErrors, Field, Check, Select,
  KeyValueRows, rowsFrom, rowsToObject, OnceValue, Confirm, Time, WebhookBadge, useAlive, pollAttempt,
  AttemptResult,
} from './ui.js';
import { DeliveryChart } from './chart.js';
import { DeliveryLogs } from './logs.js';

const hookPath = (s, id, rest = '') => projectPath(s, `/webhooks/${encodeURIComponent(id)}${rest}`);
const hookHash = (id, rest = '') => `#/webhooks/${encodeURIComponent(id)}${rest}`;

export function WebhookList() {
  const { session } = useApp();
  const [items, setItems] = useState(null);
  const [cursor, setCursor] = useState(null);
  const [error, setError] = useState(null);
  const [more, setMore] = useState(false);

  async function load(after) {
    setError(null);
    try {
      const r = await request(session, 'GET', projectPath(session, `/webhooks${qs({ limit: 50, cursor: after })}`));
      setItems((old) => (after && old ? [...old, ...r.items] : r.items));
      setCursor(r.next_cursor || null);
    } catch (e) {
      setError(e);
      if (!after) setItems((old) => old || []);
    }
  }
  useEffect(() => {
    load(null);
  }, [session.projectId]);

  return html`<section>
    <div class="page-head">
      <${PageTitle}>Webhooks<//>
      <button type="button" class="btn primary" onClick=${() => go('#/webhooks/new')}>Add webhook</button>
    </div>
    <${Flash} />
    <${ErrorBox} error=${error} />
    ${items === null && html`<${Loading} what="webhooks" />`}
    ${items && items.length === 0 && !error &&
    html`<div class="empty">
      <p><strong>No webhooks yet.</strong></p>
      <p>Add a webhook to have events delivered to an endpoint of yours.</p>
    </div>`}
    ${items && items.length > 0 &&
    html`<ul class="cards hooks" aria-label="Webhooks">
      ${items.map((wh) => html`<li key=${wh.id} class="hook-row">
        <a class="hook-name" href=${hookHash(wh.id)}>${wh.name}</a>
        <span class="url mono">${wh.url}</span>
        <${WebhookBadge} wh=${wh} />
      </li>`)}
    </ul>`}
    ${cursor &&
    html`<button type="button" class="btn" disabled=${more} onClick=${async () => {
      setMore(true);
      await load(cursor);
      setMore(false);
    }}>${more ? 'Loading…' : 'Load more'}</button>`}
  </section>`;
}

function splitTypes(text) {
  return text.split(/[\s,]+/).map((t) => t.trim()).filter(Boolean);
}

/** Create (no `id`) or edit a webhook. */
export function WebhookForm({ id }) {
  const { session } = useApp();
  const editing = Boolean(id);
  const [orig, setOrig] = useState(null);
  const [loadError, setLoadError] = useState(null);
  const [f, setF] = useState({
    name: '', url: '', types: '', enabled: true, contentType: 'json', payloadFormat: 'envelope',
    secret: '', rateLimit: '', authorization: '', clearAuthorization: false,
  });
  const [headers, setHeaders] = useState([]);
  const [params, setParams] = useState([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [created, setCreated] = useState(null);
  const [catalogue, setCatalogue] = useState([]);
  const set = (k) => (v) => setF((old) => ({ ...old, [k]: v }));

  useEffect(() => {
    eventTypes(session).then(setCatalogue);
    if (!editing) return;
    request(session, 'GET', hookPath(session, id))
      .then((wh) => {
        setOrig(wh);
        setF((old) => ({
          ...old,
          name: wh.name, url: wh.url, types: (wh.event_types || []).join(', '), enabled: Boolean(wh.enabled),
          contentType: wh.content_type || 'json', payloadFormat: wh.payload_format || 'envelope',
          rateLimit: wh.rate_limit === null || wh.rate_limit === undefined ? '' : String(wh.rate_limit),
        }));
        setHeaders(rowsFrom(wh.headers));
        setParams(rowsFrom(wh.custom_parameters));
      })
      .catch(setLoadError);
  }, [id]);

  const hdrs = rowsToObject(headers, { caseInsensitive: true });
  const prms = rowsToObject(params);
  const { byField, unmatched } = splitErrors(error, (field) => {
    if (['name', 'url', 'event_types', 'enabled', 'content_type', 'payload_format', 'secret', 'rate_limit', 'authorization'].includes(field)) return field;
    if (field.startsWith('headers.') && headers.some((r) => r.name.trim() === field.slice(8))) return field;
    if (field.startsWith('custom_parameters.') && params.some((r) => r.name.trim() === field.slice(18))) return field;
    return null;
  });
  const localProblem = (list, name) => {
    const p = list.problems.find((x) => x.name === name.trim());
    return p ? p.message : undefined;
  };

  async function submit(e) {
    e.preventDefault();
    if (busy) return;
    if (hdrs.problems.length || prms.problems.length) {
      setError(new ApiError(400, 'Fix the header and parameter rows marked below.', []));
      return;
    }
    const rate = f.rateLimit.trim();
    if (rate !== '' && !/^\d+$/.test(rate)) {
      setError(new ApiError(400, 'The rate limit must be a whole number.', [{ field: 'rate_limit', message: 'must be a whole number from 1 to 10000, or empty for unlimited' }]));
      return;
    }
    const body = {
      name: f.name, url: f.url.trim(), event_types: splitTypes(f.types), enabled: f.enabled,
      content_type: f.contentType, payload_format: f.payloadFormat,
      headers: hdrs.value, custom_parameters: prms.value,
    };
    // rate_limit is sent only when set or changed, so an API that predates it still accepts the form.
    const origRate = orig && orig.rate_limit !== undefined && orig.rate_limit !== null ? String(orig.rate_limit) : '';
    if (editing ? rate !== origRate : rate !== '') body.rate_limit = rate === '' ? null : Number(rate);
    if (f.authorization) body.authorization = f.authorization;
    else if (editing && f.clearAuthorization) body.authorization = null;
    if (!editing && f.secret) body.secret = f.secret;
    if (editing) {
      // Send only what changed: re-sending `enabled: false` would turn a "failing" reason into "manual".
      for (const [k, v] of Object.entries(body)) {
        if (k in orig && JSON.stringify(orig[k] ?? null) === JSON.stringify(v)) delete body[k];
      }
      if (Object.keys(body).length === 0) {
        flash('No changes to save.');
        go(hookHash(id));
        return;
      }
    }
    setBusy(true);
    setError(null);
    try {
      if (editing) {
        await request(session, 'PATCH', hookPath(session, id), body);
        flash('Webhook saved.');
        go(hookHash(id));
      } else {
        const wh = await request(session, 'POST', projectPath(session, '/webhooks'), body);
        setCreated(wh);
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  if (created) {
    return html`<section>
      <${PageTitle}>Webhook created<//>
      <p>The webhook <strong>${created.name}</strong> is set up. Its signing secret is shown only this once: store it now.</p>
      <${OnceValue} label="Signing secret" value=${created.secret} note="Verify the webhook-signature header with it." />
      ${created.verification_key &&
      html`<${OnceValue} label="Verification key" value=${created.verification_key} copyLabel="Copy verification key"
        note="Sent in X-Webhook-Verification-Key and substituted for {VerificationKey} in the URL." />`}
      <div class="actions">
        <a class="btn primary" href=${hookHash(created.id)}>Open webhook</a>
        <a class="btn" href="#/webhooks">Back to webhooks</a>
      </div>
    </section>`;
  }
  if (editing && loadError) return html`<section><${PageTitle}>Edit webhook<//><${ErrorBox} error=${loadError} /></section>`;
  if (editing && !orig) return html`<section><${PageTitle}>Edit webhook<//><${Loading} what="the webhook" /></section>`;

  return html`<section>
    <${PageTitle}>${editing ? `Edit ${orig.name}` : 'Add webhook'}<//>
    <form class="form" onSubmit=${submit} novalidate>
      <${ErrorBox} error=${error} unmatched=${unmatched} />
      <${Field} label="Name" value=${f.name} onValue=${set('name')} error=${byField.name} maxlength="100" autocomplete="off" />
      <${Field} label="URL" type="url" value=${f.url} onValue=${set('url')} error=${byField.url} spellcheck="false"
        hint="Where deliveries are POSTed; https:// (may contain {VerificationKey})." autocomplete="off" />
      <${Field} label="Event types" value=${f.types} onValue=${set('types')} error=${byField.event_types} spellcheck="false"
        hint="Comma-separated types or prefix.* patterns; empty means all events." autocomplete="off" />
      ${catalogue.length > 0 &&
      html`<details class="catalogue">
        <summary>Event catalogue (${catalogue.length})</summary>
        <ul>
          ${catalogue.map((t) => html`<li key=${t.name}>
            <button type="button" class="btn subtle" aria-label=${`Add ${t.name}`}
              onClick=${() => setF((old) => ({ ...old, types: [...splitTypes(old.types).filter((x) => x !== t.name), t.name].join(', ') }))}>Add</button>
            <code>${t.name}</code> <span class="muted">${t.description || ''}</span>
          </li>`)}
        </ul>
      </details>`}
      <${Check} label="Enabled" checked=${f.enabled} onValue=${set('enabled')} error=${byField.enabled} />
      <div class="row">
        <${Select} label="Content type" value=${f.contentType} onValue=${set('contentType')} error=${byField.content_type}
          options=${[['json', 'JSON'], ['xml', 'XML']]} />
        <${Select} label="Payload format" value=${f.payloadFormat} onValue=${set('payloadFormat')} error=${byField.payload_format}
          options=${[['envelope', 'Envelope'], ['flat', 'Flat']]} />
      </div>
      <${Field} label="Rate limit" type="number" value=${f.rateLimit} onValue=${set('rateLimit')} error=${byField.rate_limit}
        min="1" max="10000" inputmode="numeric" hint="Deliveries per second, 1 to 10000; empty for unlimited." />
      ${!editing &&
      html`<${Field} label="Secret" type="password" value=${f.secret} onValue=${set('secret')} error=${byField.secret}
        autocomplete="new-password" spellcheck="false" hint="Optional, 16 to 256 characters; leave empty to have one generated." />`}
      <${Field} label="Authorization header" type="password" value=${f.authorization} onValue=${set('authorization')}
        error=${byField.authorization} autocomplete="new-password" spellcheck="false"
        hint=${editing && orig.authorization_set
          ? 'Write-only. A value is set; type a new one to replace it.'
          : 'Optional, write-only: sent as the Authorization header of every delivery.'} />
      ${editing && orig.authorization_set &&
      html`<${Check} label="Remove the Authorization header" checked=${f.clearAuthorization} onValue=${set('clearAuthorization')} />`}
      <${KeyValueRows} legend="Custom headers" rows=${headers} setRows=${setHeaders} addLabel="Add header"
        nameLabel="Header name" valueLabel="Header value" removeLabel="Remove header"
        errorFor=${(name) => byField[`headers.${name.trim()}`] || localProblem(hdrs, name)} />
      <${KeyValueRows} legend="Custom parameters" rows=${params} setRows=${setParams} addLabel="Add parameter"
        nameLabel="Parameter name" valueLabel="Parameter value" removeLabel="Remove parameter"
        hint="Added as top-level keys of every payload."
        errorFor=${(name) => byField[`custom_parameters.${name.trim()}`] || localProblem(prms, name)} />
      <div class="actions">
        <button type="submit" class="btn primary" disabled=${busy}>${busy ? 'Saving…' : editing ? 'Save' : 'Create webhook'}</button>
        <a class="btn" href=${editing ? hookHash(id) : '#/webhooks'}>Cancel</a>
      </div>
    </form>
  </section>`;
}

/** A webhook's page with its Overview and Logs tabs. */
export function WebhookPage({ id, tab: initialTab }) {
  const { session } = useApp();
  const [wh, setWh] = useState(null);
  const [error, setError] = useState(null);
  const [tab, setTab] = useState(initialTab === 'logs' ? 'logs' : 'overview');
  const [action, setAction] = useState(null); // {busy, error, text}
  const [secret, setSecret] = useState(null);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [deleteState, setDeleteState] = useState({ busy: false, error: null });
  const tabsId = useId();

  async function load() {
    try {
      setWh(await request(session, 'GET', hookPath(session, id)));
      setError(null);
    } catch (e) {
      setError(e);
    }
  }
  useEffect(() => {
    load();
  }, [id]);

  async function act(label, fn) {
    setAction({ busy: label });
    try {
      const text = await fn();
      setAction({ text });
    } catch (e) {
      setAction({ error: e });
    }
  }

  if (error && !wh) {
    return html`<section><${PageTitle}>Webhook<//><${ErrorBox} error=${error} />
      <p><a href="#/webhooks">Back to webhooks</a></p></section>`;
  }
  if (!wh) return html`<section><${PageTitle}>Webhook<//><${Loading} what="the webhook" /></section>`;

  const toggle = () =>
    act('toggle', async () => {
      const next = await request(session, 'PATCH', hookPath(session, id), { enabled: !wh.enabled });
      setWh(next);
      return next.enabled ? 'Webhook enabled.' : 'Webhook disabled.';
    });
  const rotate = () =>
    act('rotate', async () => {
      const next = await request(session, 'POST', hookPath(session, id, '/rotate-secret'));
      setSecret(next);
      return 'Secret rotated. The previous secret keeps signing deliveries for 24 hours.';
    });
  const doDelete = async () => {
    setDeleteState({ busy: true, error: null });
    try {
      await request(session, 'DELETE', hookPath(session, id));
      flash(`Webhook "${wh.name}" deleted.`);
      go('#/webhooks');
    } catch (e) {
      setDeleteState({ busy: false, error: e });
    }
  };
  const onTabKey = (e) => {
    if (e.key === 'ArrowRight' || e.key === 'ArrowLeft' || e.key === 'Home' || e.key === 'End') {
      e.preventDefault();
      const next = tab === 'overview' ? 'logs' : 'overview';
      const target = e.key === 'Home' ? 'overview' : e.key === 'End' ? 'logs' : next;
      setTab(target);
      document.getElementById(`${tabsId}-${target}`).focus();
    }
  };
  const tabBtn = (key, label) => html`<button type="button" role="tab" id=${`${tabsId}-${key}`}
    aria-selected=${tab === key ? 'true' : 'false'} aria-controls=${`${tabsId}-${key}-panel`}
    tabindex=${tab === key ? '0' : '-1'} onClick=${() => setTab(key)} onKeyDown=${onTabKey}>${label}</button>`;

  return html`<section>
    <p class="crumbs"><a href="#/webhooks">All webhooks</a></p>
    <div class="page-head">
      <${PageTitle}>${wh.name}<//>
      <${WebhookBadge} wh=${wh} />
    </div>
    <p class="url mono">${wh.url}</p>
    <${Flash} />
    <${StateNote} wh=${wh} />
    <div class="actions" role="group" aria-label="Webhook actions">
      <button type="button" class="btn" onClick=${() => go(hookHash(id, '/edit'))}>Edit</button>
      <button type="button" class="btn" onClick=${toggle} disabled=${action && action.busy === 'toggle'}>${wh.enabled ? 'Disable' : 'Enable'}</button>
      <button type="button" class="btn" onClick=${rotate} disabled=${action && action.busy === 'rotate'}>Rotate secret</button>
      <button type="button" class="btn danger" onClick=${() => {
        setDeleteState({ busy: false, error: null });
        setConfirmDelete(true);
      }}>Delete</button>
    </div>
    <div aria-live="polite">
      ${action && action.text && html`<p class="notice success">${action.text}</p>`}
    </div>
    ${action && action.error && html`<${ErrorBox} error=${action.error} />`}
    ${secret &&
    html`<div class="panel">
      <h2>New signing secret</h2>
      <${OnceValue} label="Signing secret" value=${secret.secret} note="Shown only this once: store it now." />
      ${secret.verification_key && html`<${OnceValue} label="Verification key" value=${secret.verification_key} copyLabel="Copy verification key" />`}
      <button type="button" class="btn" onClick=${() => setSecret(null)}>Done</button>
    </div>`}
    <${Confirm} open=${confirmDelete} title="Delete this webhook?" confirmLabel="Delete webhook" busy=${deleteState.busy}
      error=${deleteState.error} onConfirm=${doDelete} onClose=${() => setConfirmDelete(false)}>
      <p>“${wh.name}” will stop receiving events and its pending deliveries are dropped. This cannot be undone.</p>
    <//>
    <div class="tabs" role="tablist" aria-label="Webhook sections">
      ${tabBtn('overview', 'Overview')}
      ${tabBtn('logs', 'Logs')}
    </div>
    <div role="tabpanel" id=${`${tabsId}-overview-panel`} aria-labelledby=${`${tabsId}-overview`} hidden=${tab !== 'overview'} tabindex="0">
      ${tab === 'overview' && html`<${Overview} wh=${wh} />`}
    </div>
    <div role="tabpanel" id=${`${tabsId}-logs-panel`} aria-labelledby=${`${tabsId}-logs`} hidden=${tab !== 'logs'} tabindex="0">
      ${tab === 'logs' && html`<${DeliveryLogs} webhookId=${id} />`}
    </div>
  </section>`;
}

function StateNote({ wh }) {
  if (wh.disabled_reason === 'failing') {
    return html`<p class="notice warning">Disabled automatically: every recent attempt failed${wh.failing_since
      ? html`, failing since <${Time} iso=${wh.failing_since} />` : ''}. Fix the endpoint, then enable the webhook again.</p>`;
  }
  if (!wh.enabled) {
    return html`<p class="notice">Disabled${wh.disabled_reason === 'manual' ? ' by hand' : ''}: no events are delivered to it.</p>`;
  }
  if (wh.failing_since) {
    return html`<p class="notice warning">Deliveries have been failing since <${Time} iso=${wh.failing_since} />.</p>`;
  }
  return null;
}

function Overview({ wh }) {
  const entries = (obj) => Object.entries(obj || {});
  const kv = (obj) =>
    entries(obj).length === 0
      ? html`<span class="muted">None</span>`
      : html`<ul class="plain">${entries(obj).map(([k, v]) => html`<li><code>${k}</code>: <span class="mono">${String(v)}</span></li>`)}</ul>`;
  return html`<div class="overview">
    <dl class="details">
      <dt>ID</dt><dd class="mono">${wh.id}</dd>
      <dt>Event types</dt><dd>${(wh.event_types || []).length ? (wh.event_types || []).map((t) => html`<code class="tag">${t}</code> `) : 'All events'}</dd>
      <dt>Content type</dt><dd>${wh.content_type === 'xml' ? 'XML' : 'JSON'}</dd>
      <dt>Payload format</dt><dd>${wh.payload_format === 'flat' ? 'Flat' : 'Envelope'}</dd>
      <dt>Rate limit</dt><dd>${wh.rate_limit ? `${wh.rate_limit} per second` : 'Unlimited'}</dd>
      <dt>Disabled reason</dt><dd>${wh.disabled_reason === 'failing' ? 'Failing' : wh.disabled_reason === 'manual' ? 'Manual' : 'None'}</dd>
      <dt>Failing since</dt><dd><${Time} iso=${wh.failing_since} /></dd>
      <dt>Authorization header</dt><dd>${wh.authorization_set ? 'Set' : 'Not set'}</dd>
      <dt>Custom headers</dt><dd>${kv(wh.headers)}</dd>
      <dt>Custom parameters</dt><dd>${kv(wh.custom_parameters)}</dd>
      <dt>Created</dt><dd><${Time} iso=${wh.created_at} /></dd>
      <dt>Updated</dt><dd><${Time} iso=${wh.updated_at} /></dd>
    </dl>
    <${DeliveryChart} webhookId=${wh.id} />
    <${SendTest} webhookId=${wh.id} />
    <${Recover} webhookId=${wh.id} />
  </div>`;
}

function SendTest({ webhookId }) {
  const { session } = useApp();
  const [type, setType] = useState('webhook.test');
  const [catalogue, setCatalogue] = useState([]);
  const [state, setState] = useState(null);
  const [error, setError] = useState(null);
  const alive = useAlive();
  const listId = useId();
  useEffect(() => {
    eventTypes(session).then((c) => alive.current && setCatalogue(c));
  }, []);
  const chosen = catalogue.find((t) => t.name === type.trim());

  async function send(e) {
    e.preventDefault();
    setError(null);
    setState({ phase: 'sending' });
    try {
      const body = type.trim() ? { event_type: type.trim() } : {};
      const ev = await request(session, 'POST', hookPath(session, webhookId, '/test'), body);
      setState({ phase: 'waiting', id: ev.id });
      const done = await pollAttempt(() => request(session, 'GET', projectPath(session, `/events/${encodeURIComponent(ev.id)}`)), alive);
      if (!alive.current) return;
      setState(done ? { phase: 'done', event: done } : { phase: 'timeout', id: ev.id });
    } catch (err) {
      setState(null);
      setError(err);
    }
  }
  const busy = state && (state.phase === 'sending' || state.phase === 'waiting');
  return html`<section class="panel" aria-labelledby=${`${listId}-h`}>
    <h2 id=${`${listId}-h`}>Send a test event</h2>
    <form class="inline-form" onSubmit=${send}>
      <${Field} label="Event type" value=${type} onValue=${setType} list=${listId} autocomplete="off" spellcheck="false"
        hint=${chosen && chosen.description ? chosen.description : 'Pick one from the catalogue or type any event type.'} />
      <datalist id=${listId}>
        ${catalogue.map((t) => html`<option value=${t.name}>${t.description || ''}</option>`)}
      </datalist>
      <button type="submit" class="btn primary" disabled=${busy}>Send test</button>
    </form>
    <${ErrorBox} error=${error} />
    <div aria-live="polite"><${AttemptResult} state=${state} /></div>
  </section>`;
}

function localInput(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function Recover({ webhookId }) {
  const { session } = useApp();
  const [since, setSince] = useState(() => localInput(new Date(Date.now() - 24 * 3600 * 1000)));
  const [until, setUntil] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const hid = useId();
  const { byField, unmatched } = splitErrors(error, (f) => (f === 'since' || f === 'until' ? f : null));

  async function submit(e) {
    e.preventDefault();
    setError(null);
    setResult(null);
    const s = new Date(since);
    if (!since || Number.isNaN(s.getTime())) {
      setError(new ApiError(400, 'Choose when the window starts.', [{ field: 'since', message: 'is required' }]));
      return;
    }
    const body = { since: s.toISOString() };
    if (until) {
      const u = new Date(until);
      if (Number.isNaN(u.getTime()) || u <= s) {
        setError(new ApiError(400, 'The end of the window must come after its start.', [{ field: 'until', message: 'must be after Since' }]));
        return;
      }
      body.until = u.toISOString();
    }
    setBusy(true);
    try {
      const r = await request(session, 'POST', hookPath(session, webhookId, '/recover'), body);
      const n = Number(r && r.recovered) || 0;
      setResult(`Recovered ${n} ${n === 1 ? 'delivery' : 'deliveries'}: each gets one new attempt now.`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return html`<section class="panel" aria-labelledby=${hid}>
    <h2 id=${hid}>Recover failed deliveries</h2>
    <p class="muted">Gives every delivery that ended in error within the window one new attempt.</p>
    <form class="inline-form" onSubmit=${submit} novalidate>
      <${Field} label="Since" type="datetime-local" value=${since} onValue=${setSince} error=${byField.since} hint="Start of the window." />
      <${Field} label="Until" type="datetime-local" value=${until} onValue=${setUntil} error=${byField.until} hint="Optional; empty means now." />
      <button type="submit" class="btn" disabled=${busy}>${busy ? 'Recovering…' : 'Recover'}</button>
    </form>
    <${ErrorBox} error=${error} unmatched=${unmatched} />
    <div aria-live="polite">${result && html`<p class="notice success">${result}</p>`}</div>
  </section>`;
}

