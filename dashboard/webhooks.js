// Webhooks: the list, the create/edit form and a webhook's page (actions, test,
// recover, the 24-hour chart and the Logs tab).
import { useEffect, useId, useRef, useState } from './vendor/hooks.module.js';
import { request, projectPath, qs, eventTypes, parseJson, ApiError } from './api.js';
import {
  html, useApp, useCanWrite, go, flash, PageTitle, Flash, Loading, ErrorBox, splitErrors, Field, Check, Select,
  TextArea, KeyValueRows, rowsFrom, rowsToObject, OnceValue, Confirm, Time, WebhookBadge, DeliveryBadge, useAlive,
  pollAttempt, AttemptResult, prettyJson,
} from './ui.js';
import { DeliveryChart, last24h } from './chart.js';
import { DeliveryLogs } from './logs.js';
import {
  DEST_TYPES, destErrorKey, destValues, destBody, sameDest, DestinationFields, DestinationDetails, Target, TrustPolicy,
} from './destination.js';
import {
  endpointValues, endpointBody, endpointErrorKey, AuthFields, TlsFields, SchemeField, EndpointDetails, PublicKey,
} from './endpoint.js';

const hookPath = (s, id, rest = '') => projectPath(s, `/webhooks/${encodeURIComponent(id)}${rest}`);
export const hookHash = (id, rest = '') => `#/webhooks/${encodeURIComponent(id)}${rest}`;
/** The logs of a webhook, opened at one delivery. */
export const deliveryHash = (webhookId, deliveryId) => hookHash(webhookId, `/logs/${encodeURIComponent(deliveryId)}`);
/** The row of the project web hook opens its own page, its only editor. */
const rowHash = (id) => (id === 'wh_default' ? '#/web-hook' : hookHash(id));
const POLL_STATE = 5000;

/** A row's last delivery and its success rate over 24 hours (finished deliveries only). */
function HookStats({ id }) {
  const { session } = useApp();
  const [data, setData] = useState(null);
  const alive = useAlive();
  useEffect(() => {
    last24h(session, id)
      .then((d) => alive.current && setData(d))
      .catch(() => alive.current && setData(false));
  }, [id]);
  if (data === null) return html`<span class="stats muted">Loading statistics…</span>`;
  if (data === false) return html`<span class="stats muted">Statistics unavailable</span>`;
  const done = data.totals.success + data.totals.error;
  return html`<span class="stats">
    <span><span class="label">Last delivery</span> ${data.last
      ? html`<${DeliveryBadge} status=${data.last.status} /> <${Time} iso=${data.last.last_attempt_at || data.last.created_at} />`
      : html`<span class="muted">None yet</span>`}</span>
    <span><span class="label">Success rate (24 h)</span> ${done
      ? `${Math.round((1000 * data.totals.success) / done) / 10}%`
      : html`<span class="muted">—</span>`}</span>
  </span>`;
}

export function WebhookList() {
  const { session } = useApp();
  const canWrite = useCanWrite();
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
      ${canWrite && html`<button type="button" class="btn primary" onClick=${() => go('#/webhooks/new')}>Add webhook</button>`}
    </div>
    <${Flash} />
    <${ErrorBox} error=${error} />
    ${items === null && html`<${Loading} what="webhooks" />`}
    ${items && items.length === 0 && !error &&
    html`<div class="empty">
      <p><strong>No webhooks yet.</strong></p>
      ${canWrite && html`<p>Add a webhook to have events delivered to an endpoint of yours.</p>`}
    </div>`}
    ${items && items.length > 0 &&
    html`<ul class="cards hooks" aria-label="Webhooks">
      ${items.map((wh) => html`<li key=${wh.id} class="hook-row">
        <a class="hook-name" href=${rowHash(wh.id)}>${wh.name}</a>
        <${Target} wh=${wh} />
        <${WebhookBadge} wh=${wh} />
        <${HookStats} id=${wh.id} />
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

/** Every prefix wildcard of the catalogue's names: order.created, order.paid -> order.* */
export function wildcards(names) {
  const out = new Set();
  for (const n of names) {
    const parts = n.split('.');
    for (let i = 1; i < parts.length; i++) out.add(`${parts.slice(0, i).join('.')}.*`);
  }
  return [...out].sort();
}

/** Event types: a checkbox per catalogue type and per prefix wildcard, and a field for any other type. */
function EventTypesField({ catalogue, picked, setPicked, other, setOther, error }) {
  const options = [...wildcards(catalogue.map((t) => t.name)).map((n) => [n, '']),
    ...catalogue.map((t) => [t.name, t.description || ''])];
  const hid = useId();
  const toggle = (name, on) => setPicked(on ? [...picked.filter((x) => x !== name), name] : picked.filter((x) => x !== name));
  return html`<fieldset class="kv types-field" aria-describedby=${hid}>
    <legend>Event types</legend>
    <p class="hint" id=${hid}>None chosen means all events. A prefix such as <code>order.*</code> takes every type that starts with it.</p>
    ${options.length > 0 &&
    html`<div class="type-options">
      ${options.map(([name, hint]) => html`<${Check} key=${name} label=${name} hint=${hint || undefined}
        checked=${picked.includes(name)} onValue=${(on) => toggle(name, on)} />`)}
    </div>`}
    <${Field} label="Other event types" value=${other} onValue=${setOther} error=${error} spellcheck="false" autocomplete="off"
      hint=${options.length ? 'Types not listed above, comma-separated; prefix.* patterns too.' : 'Comma-separated types or prefix.* patterns.'} />
  </fieldset>`;
}

/** A stored filter as the form shows it: pretty JSON, '' for none. */
const filterText = (v) => (v === null || v === undefined ? '' : prettyJson(v));

/** The Filter field's text: null when empty, the object, or an ApiError saying what is wrong with it. */
function readFilter(text) {
  if (text.trim() === '') return null;
  let v;
  try {
    v = parseJson(text);
  } catch (err) {
    return new ApiError(400, 'The filter is not valid JSON.', [{ field: 'filter', message: `not valid JSON: ${err.message}` }]);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) {
    return new ApiError(400, 'The filter must be a JSON object.', [{ field: 'filter', message: 'must be a JSON object' }]);
  }
  return v;
}

/** The errors on `name` and below it (filter/data/amount/$gt), each with its JSON pointer. */
function errorsAt(error, name) {
  const list = ((error && error.errors) || [])
    .map((x) => [String(x.field ?? ''), String(x.message)])
    .filter(([f]) => f === name || f.startsWith(`${name}/`))
    .map(([f, m]) => (f === name ? m : `${f.slice(name.length)}: ${m}`));
  return list.length ? list.join('; ') : undefined;
}

/**
 * Preview (docs/api.md §15) inside the edit form: the form's Filter and Transform as typed (empty
 * ones as none) applied to an event of `Event type` and `Data`; nothing is stored or sent. Its
 * errors on filter and transform are shown by those fields of the form.
 */
function PreviewPanel({ webhookId, filter, transform, error, setError, onStart }) {
  const { session } = useApp();
  const { catalogue, type, setType, body: data, setBody: setData } = useTypedExample(session, { pickFirst: true, fallback: () => '{}' });
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState(null);
  const alive = useAlive();
  const hid = useId();
  const { byField, unmatched } = splitErrors(error, (f) =>
    f === 'filter' || f.startsWith('filter/') || f === 'transform' ? 'form'
      : f === 'data' || f.startsWith('data/') ? 'data' : f === 'event_type' ? 'event_type' : null);

  async function run() {
    if (busy) return;
    onStart();
    setError(null);
    setResult(null);
    const fv = readFilter(filter);
    if (fv instanceof ApiError) {
      setError(fv);
      return;
    }
    let d;
    try {
      d = parseJson(data);
    } catch (err) {
      setError(new ApiError(400, 'The data is not valid JSON.', [{ field: 'data', message: `not valid JSON: ${err.message}` }]));
      return;
    }
    if (!d || typeof d !== 'object' || Array.isArray(d)) {
      setError(new ApiError(400, 'The data must be a JSON object.', [{ field: 'data', message: 'must be a JSON object' }]));
      return;
    }
    setBusy(true);
    try {
      const body = { event_type: type.trim(), data: d, filter: fv, transform: transform.trim() === '' ? null : transform };
      const r = await request(session, 'POST', hookPath(session, webhookId, '/preview'), body);
      if (alive.current) setResult(r);
    } catch (err) {
      if (alive.current) setError(err);
    } finally {
      if (alive.current) setBusy(false);
    }
  }
  return html`<fieldset class="kv preview" aria-describedby=${hid}>
    <legend>Preview</legend>
    <p class="hint" id=${hid}>Runs the Filter and Transform above, as typed, on an event; nothing is stored or sent.
      Content type and payload format are the saved ones.</p>
    <${Field} label="Event type" value=${type} onValue=${setType} list=${`${hid}-types`} autocomplete="off" spellcheck="false"
      error=${byField.event_type} onKeyDown=${(e) => {
        if (e.key === 'Enter') {
          e.preventDefault();
          run();
        }
      }} />
    <datalist id=${`${hid}-types`}>
      ${catalogue.map((t) => html`<option value=${t.name}>${t.description || ''}</option>`)}
    </datalist>
    <${TextArea} label="Data" value=${data} onValue=${setData} error=${errorsAt(error, 'data')} spellcheck="false"
      class="mono code-input" rows="6" hint="The event's data: a JSON object." />
    <${ErrorBox} error=${error} unmatched=${unmatched} summary />
    <button type="button" class="btn" onClick=${run} disabled=${busy}>${busy ? 'Previewing…' : 'Preview'}</button>
    <div aria-live="polite">
      ${result &&
      html`<section class=${result.matches ? 'result ok' : 'result'} aria-label="Preview result">
        <p><strong>${result.matches ? 'Matches' : 'Does not match the filter'}</strong></p>
        <p><span class="label">Content type</span> <code>${String(result.content_type)}</code></p>
        ${result.body !== null && result.body !== undefined && html`<pre class="body">${String(result.body)}</pre>`}
      </section>`}
    </div>
  </fieldset>`;
}

/** Create (no `id`) or edit a webhook. */
export function WebhookForm({ id }) {
  const { session } = useApp();
  const editing = Boolean(id);
  const [orig, setOrig] = useState(null);
  const [loadError, setLoadError] = useState(null);
  const [f, setF] = useState({
    name: '', url: '', types: '', enabled: true, contentType: 'json', payloadFormat: 'envelope',
    secret: '', rateLimit: '', authorization: '', clearAuthorization: false, filter: '', transform: '', ordered: false,
    destType: '',
  });
  // Every destination field typed so far, by name: switching types keeps what they share (role_arn).
  const [dest, setDest] = useState({});
  // Authentication, TLS and the signature scheme (endpoint.js), by field name.
  const [ep, setEp] = useState(() => endpointValues({}));
  const setE = (k) => (v) => setEp((old) => ({ ...old, [k]: v }));
  const [headers, setHeaders] = useState([]);
  const [params, setParams] = useState([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [created, setCreated] = useState(null);
  const [catalogue, setCatalogue] = useState(null);
  const [picked, setPicked] = useState([]);
  const [previewError, setPreviewError] = useState(null);
  const set = (k) => (v) => setF((old) => ({ ...old, [k]: v }));

  useEffect(() => {
    // Once both the webhook and the catalogue are known, whichever answers last: its types that
    // have a checkbox are ticked, the others go to the text field. Done in that answer's callback
    // (an effect on both would run after the first paint, when the user may have ticked a box).
    let loaded = null;
    let types = null;
    const split = () => {
      if (!loaded || !types) return;
      const offered = new Set([...types.map((t) => t.name), ...wildcards(types.map((t) => t.name))]);
      const subscribed = loaded.event_types || [];
      setPicked(subscribed.filter((t) => offered.has(t)));
      setF((old) => ({ ...old, types: subscribed.filter((t) => !offered.has(t)).join(', ') }));
    };
    eventTypes(session).then((c) => {
      types = c;
      setCatalogue(c);
      split();
    });
    if (!editing) return;
    request(session, 'GET', hookPath(session, id))
      .then((wh) => {
        loaded = wh;
        setOrig(wh);
        split();
        setF((old) => ({
          ...old,
          name: wh.name, url: wh.url ?? '', enabled: Boolean(wh.enabled), destType: wh.destination ? String(wh.destination.type) : '',
          contentType: wh.content_type || 'json', payloadFormat: wh.payload_format || 'envelope',
          rateLimit: wh.rate_limit === null || wh.rate_limit === undefined ? '' : String(wh.rate_limit),
          filter: filterText(wh.filter), transform: wh.transform ?? '', ordered: Boolean(wh.ordered),
        }));
        setHeaders(rowsFrom(wh.headers));
        setParams(rowsFrom(wh.custom_parameters));
        setDest(destValues(wh.destination));
        setEp(endpointValues(wh));
      })
      .catch(setLoadError);
  }, [id]);

  const hdrs = rowsToObject(headers, { caseInsensitive: true });
  const prms = rowsToObject(params);
  // A destination the API refuses leaves the webhook with neither it nor a URL, so the API adds
  // `url: is required`: with an AWS type chosen that says nothing the destination's own errors do not.
  const destRefused = f.destType && ((error && error.errors) || []).some((x) => String(x.field ?? '').startsWith('destination'));
  const { byField, unmatched } = splitErrors(error, (field) => {
    if (field === 'url' && f.destType) return destRefused ? 'url-implied' : null;
    if (['name', 'url', 'event_types', 'enabled', 'content_type', 'payload_format', 'secret', 'rate_limit', 'authorization',
      'transform', 'ordered'].includes(field)) return field;
    if (field === 'filter' || field.startsWith('filter/')) return 'filter';
    if (field === 'destination' || field.startsWith('destination/')) return destErrorKey(f.destType, field);
    if (/^(auth|tls)(\/|$)|^signature_scheme$/.test(field)) return f.destType ? null : endpointErrorKey(ep.authType, field);
    if (field.startsWith('headers.') && headers.some((r) => r.name.trim() === field.slice(8))) return field;
    if (field.startsWith('custom_parameters.') && params.some((r) => r.name.trim() === field.slice(18))) return field;
    return null;
  });
  const localProblem = (list, name) => {
    const p = list.problems.find((x) => x.name === name.trim());
    return p ? p.message : undefined;
  };

  // Filter and Transform show the errors of the last Save or Preview, whichever came last.
  const shown = error || previewError;

  async function submit(e) {
    e.preventDefault();
    if (busy) return;
    setPreviewError(null);
    const aws = f.destType !== '';
    if ((!aws && hdrs.problems.length) || prms.problems.length) {
      setError(new ApiError(400, 'Fix the header and parameter rows marked below.', []));
      return;
    }
    const rate = f.rateLimit.trim();
    if (rate !== '' && !/^\d+$/.test(rate)) {
      setError(new ApiError(400, 'The rate limit must be a whole number.', [{ field: 'rate_limit', message: 'must be a whole number from 1 to 10000, or empty for unlimited' }]));
      return;
    }
    const filter = readFilter(f.filter);
    if (filter instanceof ApiError) {
      setError(filter);
      return;
    }
    const body = {
      name: f.name, url: f.url.trim(), event_types: [...new Set([...picked, ...splitTypes(f.types)])], enabled: f.enabled,
      content_type: f.contentType, payload_format: f.payloadFormat,
      headers: hdrs.value, custom_parameters: prms.value,
    };
    // Until the catalogue is known the subscriptions are not shown (nor split into boxes): keep them.
    if (catalogue === null) delete body.event_types;
    if (aws) {
      // A destination replaces the URL and takes none of the HTTP settings: JSON, no headers, no Authorization.
      delete body.url;
      body.destination = destBody(f.destType, dest);
      body.content_type = 'json';
      body.headers = {};
      if (!editing) delete body.headers;
    } else if (editing && orig.destination) {
      body.destination = null; // back to HTTPS, with the URL
    }
    // rate_limit is sent only when set or changed, so an API that predates it still accepts the form.
    const origRate = orig && orig.rate_limit !== undefined && orig.rate_limit !== null ? String(orig.rate_limit) : '';
    if (editing ? rate !== origRate : rate !== '') body.rate_limit = rate === '' ? null : Number(rate);
    // Filter and transform likewise (null clears them); `ordered` only when it differs from the
    // webhook's (on create: only when ticked), so an API that does not know it yet still accepts the form.
    if (editing ? f.filter.trim() !== filterText(orig.filter).trim() : filter !== null) body.filter = filter;
    const program = f.transform.trim() === '' ? null : f.transform;
    if (editing ? (program ?? '') !== (orig.transform ?? '') : program !== null) body.transform = program;
    if (editing ? f.ordered !== Boolean(orig.ordered) : f.ordered) body.ordered = f.ordered;
    if (aws) {
      if (editing && orig.authorization_set) body.authorization = null;
      // Authentication and TLS are for HTTPS endpoints only: cleared with a switch to a destination.
      if (editing && orig.auth) body.auth = null;
      if (editing && orig.tls) body.tls = null;
    } else {
      Object.assign(body, endpointBody(ep, editing ? orig : null));
      // `auth` and the Authorization header exclude each other: with a type chosen the header is not sent (and a stored one goes).
      if (ep.authType) {
        if (editing && orig.authorization_set) body.authorization = null;
      } else if (f.authorization) body.authorization = f.authorization;
      else if (editing && f.clearAuthorization) body.authorization = null;
    }
    const ed25519 = !editing && !aws && ep.scheme === 'ed25519';
    // Sent only when not the default, so an API that predates it still accepts the form.
    if (ed25519) body.signature_scheme = 'ed25519';
    if (!editing && f.secret && !ed25519) body.secret = f.secret;
    if (editing) {
      // Send only what changed: re-sending `enabled: false` would turn a "failing" reason into "manual".
      for (const [k, v] of Object.entries(body)) {
        if (k in orig && JSON.stringify(orig[k] ?? null) === JSON.stringify(v)) delete body[k];
      }
      if (body.destination && sameDest(body.destination, orig.destination)) delete body.destination;
      const sameTypes = (x, y) => x.length === y.length && x.every((t) => y.includes(t));
      if (body.event_types && sameTypes(body.event_types, orig.event_types || [])) delete body.event_types;
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
      ${created.secret
        ? html`<p>The webhook <strong>${created.name}</strong> is set up. Its signing secret is shown only this once: store it now.</p>
          <${OnceValue} label="Signing secret" value=${created.secret} note="Verify the webhook-signature header with it." />`
        : html`<p>The webhook <strong>${created.name}</strong> is set up. Its deliveries are signed with Ed25519: there is no
          shared secret, and the private key never leaves Hookline. The public key is also on the webhook's page.</p>
          <${PublicKey} wh=${created} />`}
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
      <${ErrorBox} error=${error} unmatched=${unmatched} summary />
      <${Field} label="Name" value=${f.name} onValue=${set('name')} error=${byField.name} maxlength="100" autocomplete="off" />
      <${Select} label="Destination type" value=${f.destType} onValue=${set('destType')} error=${byField['destination/type']}
        options=${DEST_TYPES} hint=${f.destType ? 'Deliveries go to this service in your AWS account, as JSON.' : undefined} />
      ${f.destType
        ? html`<${DestinationFields} type=${f.destType} values=${dest} byField=${byField}
            setValue=${(k, v) => setDest((old) => ({ ...old, [k]: v }))} />
          <${TrustPolicy} />`
        : html`<${Field} label="URL" type="url" value=${f.url} onValue=${set('url')} error=${byField.url} spellcheck="false"
            hint="Where deliveries are POSTed; https:// (may contain {VerificationKey})." autocomplete="off" />`}
      ${catalogue === null
        ? html`<${Loading} what="event types" />`
        : html`<${EventTypesField} catalogue=${catalogue} picked=${picked} setPicked=${setPicked} other=${f.types}
            setOther=${set('types')} error=${byField.event_types} />`}
      <${Check} label="Enabled" checked=${f.enabled} onValue=${set('enabled')} error=${byField.enabled} />
      <div class="row">
        <${Select} label="Content type" value=${f.destType ? 'json' : f.contentType} onValue=${set('contentType')}
          error=${byField.content_type} options=${f.destType ? [['json', 'JSON']] : [['json', 'JSON'], ['xml', 'XML']]}
          hint=${f.destType ? 'Destinations take JSON.' : undefined} />
        <${Select} label="Payload format" value=${f.payloadFormat} onValue=${set('payloadFormat')} error=${byField.payload_format}
          options=${[['envelope', 'Envelope'], ['flat', 'Flat']]} />
      </div>
      <${Field} label="Rate limit" type="number" value=${f.rateLimit} onValue=${set('rateLimit')} error=${byField.rate_limit}
        min="1" max="10000" inputmode="numeric" hint="Deliveries per second, 1 to 10000; empty for unlimited." />
      <${Check} label="Ordered" checked=${f.ordered} onValue=${set('ordered')} error=${byField.ordered}
        hint="One delivery at a time per ordering_key, in the order events were accepted." />
      <${TextArea} label="Filter" value=${f.filter} onValue=${set('filter')} error=${errorsAt(shown, 'filter')}
        class="mono code-input" rows="4" spellcheck="false"
        hint=${html`Only events whose envelope matches this JSON object are delivered, e.g. <code>{"data": {"amount": {"$gte": 100}}}</code>. Empty for all.`} />
      <${TextArea} label="Transform" value=${f.transform} onValue=${set('transform')} error=${errorsAt(shown, 'transform')}
        class="mono code-input" rows="4" spellcheck="false"
        hint=${html`A jq program that turns the payload into the body sent, e.g. <code>{id: .data.id}</code>. Empty for none.`} />
      ${editing &&
      html`<${PreviewPanel} webhookId=${id} filter=${f.filter} transform=${f.transform} error=${previewError}
        setError=${setPreviewError} onStart=${() => setError(null)} />`}
      ${!f.destType && html`<${SchemeField} v=${ep} set=${setE} byField=${byField} editing=${editing} />`}
      ${!editing && (f.destType || ep.scheme !== 'ed25519') &&
      html`<${Field} label="Secret" type="password" value=${f.secret} onValue=${set('secret')} error=${byField.secret}
        autocomplete="new-password" spellcheck="false" hint="Optional, 16 to 256 characters; leave empty to have one generated." />`}
      ${!f.destType && html`<fieldset class="kv">
      <legend>Endpoint authentication</legend>
      <${AuthFields} v=${ep} set=${setE} byField=${byField} orig=${orig} />
      <${Field} label="Authorization header" type="password" value=${ep.authType ? '' : f.authorization}
        onValue=${set('authorization')} error=${byField.authorization} autocomplete="new-password" spellcheck="false"
        disabled=${Boolean(ep.authType)}
        hint=${ep.authType
          ? `Not used with Authentication: the two exclude each other.${editing && orig.authorization_set ? ' The stored value is removed on save.' : ''}`
          : editing && orig.authorization_set
            ? 'Write-only. A value is set; type a new one to replace it.'
            : 'Optional, write-only: sent as the Authorization header of every delivery.'} />
      ${!ep.authType && editing && orig.authorization_set &&
      html`<${Check} label="Remove the Authorization header" checked=${f.clearAuthorization} onValue=${set('clearAuthorization')} />`}
      </fieldset>`}
      ${!f.destType && html`<${KeyValueRows} legend="Custom headers" rows=${headers} setRows=${setHeaders} addLabel="Add header"
        nameLabel="Header name" valueLabel="Header value" removeLabel="Remove header"
        errorFor=${(name) => byField[`headers.${name.trim()}`] || localProblem(hdrs, name)} />`}
      ${!f.destType && html`<${TlsFields} v=${ep} set=${setE} byField=${byField} orig=${orig} />`}
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
export function WebhookPage({ id, tab: initialTab, delivery }) {
  const { session } = useApp();
  const canWrite = useCanWrite();
  const [wh, setWh] = useState(null);
  const [error, setError] = useState(null);
  const [tab, setTab] = useState(initialTab === 'logs' ? 'logs' : 'overview');
  const [action, setAction] = useState(null); // {busy, error, text}
  const [secret, setSecret] = useState(null);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [confirmRotate, setConfirmRotate] = useState(false);
  const [deleteState, setDeleteState] = useState({ busy: false, error: null });
  const tabsId = useId();
  const alive = useAlive();

  async function load() {
    try {
      const next = await request(session, 'GET', hookPath(session, id));
      if (!alive.current) return;
      // Keep the same object when nothing changed, so the page does not redraw every poll.
      setWh((old) => (old && JSON.stringify(old) === JSON.stringify(next) ? old : next));
      setError(null);
    } catch (e) {
      if (alive.current) setError(e);
    }
  }
  useEffect(() => {
    load();
    // The state (enabled, disabled for failing) changes on the server by itself: look again every 5 s.
    const timer = setInterval(() => {
      if (!document.hidden) load();
    }, POLL_STATE);
    return () => clearInterval(timer);
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
  const failing = !wh.enabled && wh.disabled_reason === 'failing';

  const toggle = () =>
    act('toggle', async () => {
      const next = await request(session, 'PATCH', hookPath(session, id), { enabled: !wh.enabled });
      setWh(next);
      return next.enabled ? 'Webhook enabled.' : 'Webhook disabled.';
    });
  const rotate = () => {
    setConfirmRotate(false);
    return act('rotate', async () => {
      const next = await request(session, 'POST', hookPath(session, id, '/rotate-secret'));
      setSecret(next);
      if (!next.public_key) return 'Secret rotated. The previous secret keeps signing deliveries for 24 hours.';
      const { secret: _s, verification_key: _v, ...view } = next;
      setWh(view); // the new public key in the overview
      return 'Key pair rotated: the new public key is in the overview. The previous key keeps signing deliveries for 24 hours.';
    });
  };
  const enableAndRecover = () =>
    act('recover', async () => {
      const since = wh.failing_since; // enabling clears it
      const next = await request(session, 'PATCH', hookPath(session, id), { enabled: true });
      setWh(next);
      if (!since) return 'Webhook enabled.';
      const r = await request(session, 'POST', hookPath(session, id, '/recover'), { since });
      const n = Number(r && r.recovered) || 0;
      return `Webhook enabled; ${n} failed ${n === 1 ? 'delivery gets' : 'deliveries get'} a new attempt.`;
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
    <${Target} wh=${wh} tag="p" />
    <${Flash} />
    <${StateNote} wh=${wh} webhookId=${id} />
    ${canWrite &&
    html`<div class="actions" role="group" aria-label="Webhook actions">
      <button type="button" class="btn" onClick=${() => go(id === 'wh_default' ? '#/web-hook' : hookHash(id, '/edit'))}>Edit</button>
      ${failing
        ? html`<button type="button" class="btn primary" onClick=${enableAndRecover}
            disabled=${action && action.busy === 'recover'}>Enable and recover</button>`
        : html`<button type="button" class="btn" onClick=${toggle}
            disabled=${action && action.busy === 'toggle'}>${wh.enabled ? 'Disable' : 'Enable'}</button>`}
      <button type="button" class="btn" onClick=${() => setConfirmRotate(true)} disabled=${action && action.busy === 'rotate'}>Rotate secret</button>
      <button type="button" class="btn danger" onClick=${() => {
        setDeleteState({ busy: false, error: null });
        setConfirmDelete(true);
      }}>Delete</button>
    </div>`}
    <div aria-live="polite">
      ${action && action.text && html`<p class="notice success">${action.text}</p>`}
    </div>
    ${action && action.error && html`<${ErrorBox} error=${action.error} />`}
    ${secret && (secret.secret || secret.verification_key) &&
    html`<div class="panel">
      <h2>${secret.secret ? 'New signing secret' : 'New verification key'}</h2>
      ${secret.secret && html`<${OnceValue} label="Signing secret" value=${secret.secret} note="Shown only this once: store it now." />`}
      ${secret.verification_key && html`<${OnceValue} label="Verification key" value=${secret.verification_key} copyLabel="Copy verification key" />`}
      <button type="button" class="btn" onClick=${() => setSecret(null)}>Done</button>
    </div>`}
    <${Confirm} open=${confirmDelete} title="Delete this webhook?" confirmLabel="Delete webhook" busy=${deleteState.busy}
      error=${deleteState.error} onConfirm=${doDelete} onClose=${() => setConfirmDelete(false)}>
      <p>“${wh.name}” will stop receiving events and its pending deliveries are dropped. This cannot be undone.</p>
    <//>
    <${Confirm} open=${confirmRotate} title="Rotate this webhook's secret?" confirmLabel="Rotate secret" danger=${false}
      onConfirm=${rotate} onClose=${() => setConfirmRotate(false)}>
      <p>${wh.public_key
        ? 'A new key pair is made; its public key is shown on this page. For 24 hours deliveries are signed with both the old and the new key.'
        : 'A new secret is issued and shown once. For 24 hours deliveries are signed with both the old and the new secret.'}</p>
    <//>
    <div class="tabs" role="tablist" aria-label="Webhook sections">
      ${tabBtn('overview', 'Overview')}
      ${tabBtn('logs', 'Logs')}
    </div>
    <div role="tabpanel" id=${`${tabsId}-overview-panel`} aria-labelledby=${`${tabsId}-overview`} hidden=${tab !== 'overview'} tabindex="0">
      ${tab === 'overview' && html`<${Overview} wh=${wh} canWrite=${canWrite} failing=${failing} />`}
    </div>
    <div role="tabpanel" id=${`${tabsId}-logs-panel`} aria-labelledby=${`${tabsId}-logs`} hidden=${tab !== 'logs'} tabindex="0">
      ${tab === 'logs' && html`<${DeliveryLogs} webhookId=${id} open=${delivery} responseLabel=${wh.destination ? 'Message ID' : 'Response'} />`}
    </div>
  </section>`;
}

/** The newest attempted delivery's error and response code (for a webhook disabled as failing). */
function LastError({ webhookId }) {
  const { session } = useApp();
  const [last, setLast] = useState(undefined);
  const alive = useAlive();
  useEffect(() => {
    request(session, 'GET', hookPath(session, webhookId, `/deliveries${qs({ limit: 20 })}`))
      .then((r) => alive.current && setLast((r.items || []).find((d) => !d.test && d.last_attempt_at) || null))
      .catch(() => alive.current && setLast(null));
  }, [webhookId]);
  if (!last) return null;
  // The endpoint's own answer says most; a delivery dropped on disabling carries that as its error.
  const answered = last.response_code !== null && last.response_code !== undefined && last.response_body;
  const text = answered ? last.response_body : last.error || last.response_body || '';
  return html`<dl class="details last-error">
    <dt>Response code</dt><dd>${last.response_code ?? '—'}</dd>
    <dt>Last error</dt><dd class="mono">${text || '—'}</dd>
  </dl>`;
}

function StateNote({ wh, webhookId }) {
  if (wh.disabled_reason === 'failing' && !wh.enabled) {
    return html`<div class="notice warning">
      <p>Disabled automatically: every recent attempt failed${wh.failing_since
        ? html`, failing since <${Time} iso=${wh.failing_since} />` : ''}. Fix the endpoint, then enable it and recover the failed deliveries.</p>
      <${LastError} webhookId=${webhookId} />
    </div>`;
  }
  if (!wh.enabled) {
    return html`<p class="notice">Disabled${wh.disabled_reason === 'manual' ? ' by hand' : ''}: no events are delivered to it.</p>`;
  }
  if (wh.failing_since) {
    return html`<p class="notice warning">Deliveries have been failing since <${Time} iso=${wh.failing_since} />.</p>`;
  }
  return null;
}

function Overview({ wh, canWrite, failing }) {
  const entries = (obj) => Object.entries(obj || {});
  const kv = (obj) =>
    entries(obj).length === 0
      ? html`<span class="muted">None</span>`
      : html`<ul class="plain">${entries(obj).map(([k, v]) => html`<li><code>${k}</code>: <span class="mono">${String(v)}</span></li>`)}</ul>`;
  return html`<div class="overview">
    <dl class="details">
      <dt>ID</dt><dd class="mono">${wh.id}</dd>
      ${wh.destination && html`<${DestinationDetails} d=${wh.destination} />`}
      <dt>Event types</dt><dd>${(wh.event_types || []).length ? (wh.event_types || []).map((t) => html`<code class="tag">${t}</code> `) : 'All events'}</dd>
      <dt>Content type</dt><dd>${wh.content_type === 'xml' ? 'XML' : 'JSON'}</dd>
      <dt>Payload format</dt><dd>${wh.payload_format === 'flat' ? 'Flat' : 'Envelope'}</dd>
      <dt>Rate limit</dt><dd>${wh.rate_limit ? `${wh.rate_limit} per second` : 'Unlimited'}</dd>
      <dt>Ordered</dt><dd>${wh.ordered ? 'Yes' : 'No'}</dd>
      <dt>Filter</dt><dd>${wh.filter !== null && wh.filter !== undefined
        ? html`<pre class="body code">${filterText(wh.filter)}</pre>` : html`<span class="muted">None</span>`}</dd>
      <dt>Transform</dt><dd>${typeof wh.transform === 'string' && wh.transform !== ''
        ? html`<pre class="body code">${wh.transform}</pre>` : html`<span class="muted">None</span>`}</dd>
      <dt>Disabled reason</dt><dd>${wh.disabled_reason === 'failing' ? 'Failing' : wh.disabled_reason === 'manual' ? 'Manual' : 'None'}</dd>
      <dt>Failing since</dt><dd><${Time} iso=${wh.failing_since} /></dd>
      ${!wh.destination && html`<dt>Authorization header</dt><dd>${wh.authorization_set ? 'Set' : 'Not set'}</dd>
      <dt>Custom headers</dt><dd>${kv(wh.headers)}</dd>`}
      <${EndpointDetails} wh=${wh} />
      <dt>Custom parameters</dt><dd>${kv(wh.custom_parameters)}</dd>
      <dt>Created</dt><dd><${Time} iso=${wh.created_at} /></dd>
      <dt>Updated</dt><dd><${Time} iso=${wh.updated_at} /></dd>
    </dl>
    <${PublicKey} wh=${wh} />
    <${DeliveryChart} webhookId=${wh.id} />
    ${canWrite && html`<${SendTest} webhookId=${wh.id} />`}
    ${canWrite && !failing && html`<${Recover} webhookId=${wh.id} />`}
  </div>`;
}

/** The data a test of `type` sends when the catalogue has no example (as the API's own sample). */
const samplePayload = (type) =>
  prettyJson({ message: 'This is a test event sent by Hookline.', event_type: type || 'webhook.test', sample: true });

/**
 * An event type, picked from the catalogue or typed, and a JSON body that follows it (Send test's
 * Payload, Preview's Data). Choosing a type brings its example (or `fallback(type)`) unless the
 * body was edited by hand; a catalogue type with an example always brings it. The catalogue may
 * answer after the user typed: the type typed by then keeps and gets its example unless the body
 * was edited; with `pickFirst`, an untouched type becomes the catalogue's first.
 */
function useTypedExample(session, { pickFirst, fallback }) {
  const [catalogue, setCatalogue] = useState([]);
  const [type, setTypeRaw] = useState('webhook.test');
  const [body, setBodyRaw] = useState(() => fallback('webhook.test'));
  // What the user did so far (the type typed, or null; whether the body was edited), for the
  // catalogue's answer: it comes after renders whose state it would otherwise hold stale.
  const edited = useRef({ type: null, body: false });
  const alive = useAlive();
  // The catalogue's example for `name`, as text, or null when it has none.
  const exampleOf = (name, c) => {
    const t = c.find((x) => x.name === name);
    return t && t.example !== null && t.example !== undefined ? prettyJson(t.example) : null;
  };
  useEffect(() => {
    eventTypes(session).then((c) => {
      if (!alive.current) return;
      setCatalogue(c);
      const typed = edited.current.type;
      const name = typed !== null ? typed.trim() : pickFirst && c.length ? c[0].name : 'webhook.test';
      if (typed === null) setTypeRaw(name);
      if (!edited.current.body) setBodyRaw(exampleOf(name, c) ?? fallback(name));
    });
  }, []);
  const setType = (v) => {
    edited.current.type = v;
    setTypeRaw(v);
    const own = exampleOf(v.trim(), catalogue);
    if (!edited.current.body || own !== null) {
      edited.current.body = false;
      setBodyRaw(own ?? fallback(v.trim()));
    }
  };
  const setBody = (v) => {
    edited.current.body = true;
    setBodyRaw(v);
  };
  return { catalogue, type, setType, body, setBody };
}

function SendTest({ webhookId }) {
  const { session } = useApp();
  const { catalogue, type, setType, body: payload, setBody: setPayload } = useTypedExample(session, { fallback: samplePayload });
  const [state, setState] = useState(null);
  const [error, setError] = useState(null);
  const alive = useAlive();
  const listId = useId();
  const chosen = catalogue.find((t) => t.name === type.trim());
  const { byField, unmatched } = splitErrors(error, (f) =>
    f === 'data' || f.startsWith('data/') || f.startsWith('data.') ? 'data' : f === 'event_type' ? 'event_type' : null);
  // Schema violations name the failing value (data/responses/email): keep that path with the message.
  const dataErrors = ((error && error.errors) || [])
    .filter((x) => byField.data && /^data([/.]|$)/.test(String(x.field)))
    .map((x) => (x.field === 'data' ? String(x.message) : `${String(x.field).slice(5)}: ${x.message}`))
    .join('; ');

  async function send(e) {
    e.preventDefault();
    setError(null);
    let data;
    try {
      data = JSON.parse(payload);
    } catch (err) {
      setError(new ApiError(400, 'The payload is not valid JSON.', [{ field: 'data', message: `not valid JSON: ${err.message}` }]));
      return;
    }
    if (!data || typeof data !== 'object' || Array.isArray(data)) {
      setError(new ApiError(400, 'The payload must be a JSON object.', [{ field: 'data', message: 'must be a JSON object' }]));
      return;
    }
    setState({ phase: 'sending' });
    try {
      const body = { data };
      if (type.trim()) body.event_type = type.trim();
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
  const sent = state && state.phase === 'done' && (state.event.deliveries || []).find((d) => d.webhook_id === webhookId);
  return html`<section class="panel" aria-labelledby=${`${listId}-h`}>
    <h2 id=${`${listId}-h`}>Send a test event</h2>
    <form class="form" onSubmit=${send} novalidate>
      <${ErrorBox} error=${error} unmatched=${unmatched} summary />
      <${Field} label="Event type" value=${type} onValue=${setType} list=${listId} autocomplete="off" spellcheck="false"
        error=${byField.event_type}
        hint=${chosen && chosen.description ? chosen.description : 'Pick one from the catalogue or type any event type.'} />
      <datalist id=${listId}>
        ${catalogue.map((t) => html`<option value=${t.name}>${t.description || ''}</option>`)}
      </datalist>
      <${TextArea} label="Payload" value=${payload} onValue=${setPayload} error=${dataErrors || undefined} spellcheck="false"
        class="mono payload-input" rows="8" hint="The JSON object sent as the event's data." />
      <button type="submit" class="btn primary" disabled=${busy}>Send test</button>
    </form>
    <div aria-live="polite">
      <${AttemptResult} state=${state} />
      ${sent && html`<p><a href=${deliveryHash(webhookId, sent.id)}>View the delivery in the logs</a></p>`}
    </div>
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
    <${ErrorBox} error=${error} unmatched=${unmatched} summary />
    <div aria-live="polite">${result && html`<p class="notice success">${result}</p>`}</div>
  </section>`;
}

