// A webhook's delivery log (the Logs tab): status filter, each delivery's
// attempts and a Retry button.
import { useEffect, useId, useRef, useState } from './vendor/hooks.module.js';
import { request, projectPath, qs } from './api.js';
import { html, useApp, useCanWrite, Loading, ErrorBox, Select, Time, DeliveryBadge, useAlive, pollUntil } from './ui.js';

/** The log of one webhook; `open` names a delivery to show opened (a link from a test or an event). */
/** `responseLabel`: what the response body is called (a destination's is the message id). */
export function DeliveryLogs({ webhookId, open: openId, responseLabel = 'Response' }) {
  const { session } = useApp();
  const [pinned, setPinned] = useState(null);
  const [status, setStatus] = useState('');
  const [items, setItems] = useState(null);
  const [cursor, setCursor] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  async function load(after, filter = status) {
    setBusy(true);
    setError(null);
    try {
      const path = projectPath(session, `/webhooks/${encodeURIComponent(webhookId)}/deliveries${qs({ status: filter, limit: 50, cursor: after })}`);
      const r = await request(session, 'GET', path);
      setItems((old) => (after && old ? [...old, ...r.items] : r.items));
      // With a filter a page may be short (even empty) and still have a next page.
      setCursor(r.next_cursor || null);
    } catch (e) {
      setError(e);
      if (!after) setItems((old) => old || []);
    } finally {
      setBusy(false);
    }
  }
  useEffect(() => {
    load(null, status);
  }, [webhookId, status]);
  // A linked delivery that is not on the first page is fetched and shown above the list.
  useEffect(() => {
    if (!openId || items === null || items.some((d) => d.id === openId) || pinned) return;
    request(session, 'GET', projectPath(session, `/deliveries/${encodeURIComponent(openId)}`))
      .then(setPinned)
      .catch(() => {});
  }, [openId, items]);

  return html`<div class="logs">
    <div class="toolbar">
      <${Select} label="Status" value=${status} onValue=${(v) => {
        setItems(null);
        setStatus(v);
      }}
        options=${[['', 'All'], ['success', 'Success'], ['error', 'Error'], ['pending', 'Pending']]} />
      <button type="button" class="btn" onClick=${() => load(null)} disabled=${busy}>Refresh</button>
    </div>
    <${ErrorBox} error=${error} />
    ${pinned && html`<ul class="cards pinned" aria-label="Linked delivery"><${DeliveryRow} d=${pinned} startOpen label=${responseLabel} /></ul>`}
    ${items === null && html`<${Loading} what="deliveries" />`}
    ${items && items.length === 0 && !error &&
    html`<div class="empty"><p>${cursor
      ? 'No matching deliveries on this page; older ones may match.'
      : status ? 'No deliveries with this status.' : 'No deliveries yet. Send a test to see one here.'}</p></div>`}
    ${items && items.length > 0 &&
    html`<ul class="cards deliveries" aria-label="Deliveries">
      ${items.map((d) => html`<${DeliveryRow} key=${d.id} d=${d} startOpen=${d.id === openId} label=${responseLabel} />`)}
    </ul>`}
    ${cursor &&
    html`<button type="button" class="btn" disabled=${busy} onClick=${() => load(cursor)}>${busy ? 'Loading…' : 'Load more'}</button>`}
  </div>`;
}

function DeliveryRow({ d: initial, startOpen = false, label = 'Response' }) {
  const { session } = useApp();
  const canWrite = useCanWrite();
  const [d, setD] = useState(initial);
  useEffect(() => setD(initial), [initial]); // a refreshed list brings a newer copy
  const [open, setOpen] = useState(false);
  const [detail, setDetail] = useState(null);
  const [error, setError] = useState(null);
  const [retry, setRetry] = useState(null); // {busy} | {text, waiting?} | {error}
  const id = useId();
  const path = projectPath(session, `/deliveries/${encodeURIComponent(d.id)}`);
  const alive = useAlive();
  const rowRef = useRef(null);

  async function loadDetail() {
    setError(null);
    try {
      const full = await request(session, 'GET', path);
      if (!alive.current) return;
      setDetail(full);
      setD(full);
    } catch (e) {
      if (alive.current) setError(e);
    }
  }
  useEffect(() => {
    if (!startOpen) return;
    setOpen(true);
    loadDetail();
    if (rowRef.current) rowRef.current.scrollIntoView({ block: 'start' });
  }, []);
  async function doRetry() {
    setRetry({ busy: true });
    const before = d.attempts;
    try {
      const next = await request(session, 'POST', `${path}/retry`);
      setD(next);
      setRetry({ text: 'Retry queued: a new attempt is being made now.', waiting: true });
      // The attempt lands whenever the queue gets to it (a second here, longer on a busy
      // stack): look again until it shows, for up to a minute.
      const full = await pollUntil(() => request(session, 'GET', path), (x) => x.attempts > before, alive, {
        every: 1500,
        tries: 40,
      });
      if (!alive.current) return;
      if (full) {
        setDetail(full);
        setD(full);
        const outcome = full.status === 'success' ? 'succeeded' : 'failed';
        setRetry({ text: `Retry queued: attempt ${full.attempts} ${outcome}.` });
      } else {
        setRetry({ text: 'Retry queued: the attempt has not been made yet. Use Refresh to look again.' });
      }
    } catch (e) {
      if (alive.current) setRetry({ error: e });
    }
  }
  const finished = d.status === 'success' || d.status === 'error';

  return html`<li class="delivery" ref=${rowRef}>
    <div class="delivery-head">
      <${DeliveryBadge} status=${d.status} />
      <code class="etype">${d.event_type}</code>
      ${d.test && html`<span class="badge test">Test</span>`}
      <span><span class="label">Response code</span> ${d.response_code ?? '—'}</span>
      <span><span class="label">Last attempt</span> <${Time} iso=${d.last_attempt_at} /></span>
    </div>
    <div class="delivery-meta muted">
      <span class="mono">${d.id}</span>
      <span>${d.attempts} ${d.attempts === 1 ? 'attempt' : 'attempts'}</span>
      ${d.next_attempt_at && html`<span>next attempt <${Time} iso=${d.next_attempt_at} /></span>`}
      <a href=${`#/events/${encodeURIComponent(d.event_id)}`}>View event</a>
    </div>
    ${d.error && html`<p class="delivery-error"><span class="label">Error</span> ${d.error}</p>`}
    ${d.response_body !== null && d.response_body !== undefined && d.response_body !== '' &&
    html`<div><span class="label">${label}</span><pre class="body">${d.response_body}</pre></div>`}
    <div class="actions">
      <button type="button" class="btn subtle" aria-expanded=${open ? 'true' : 'false'} aria-controls=${id}
        onClick=${() => {
          setOpen(!open);
          if (!open) loadDetail();
        }}>${open ? 'Hide attempts' : 'Show attempts'}</button>
      ${canWrite && finished &&
      html`<button type="button" class="btn" onClick=${doRetry} disabled=${retry && (retry.busy || retry.waiting)}>Retry</button>`}
    </div>
    <div aria-live="polite">${retry && retry.text && html`<p class="notice success">${retry.text}</p>`}</div>
    ${retry && retry.error && html`<${ErrorBox} error=${retry.error} />`}
    <div id=${id} hidden=${!open} class="attempts">
      ${open && html`
        <${ErrorBox} error=${error} />
        ${!detail && !error && html`<${Loading} what="attempts" />`}
        ${detail && html`<${Attempts} list=${detail.attempts_log || []} />`}
        ${detail && html`<section aria-labelledby=${`${id}-payload`}>
          <h3 id=${`${id}-payload`}>Payload</h3>
          ${typeof detail.payload === 'string'
            ? html`<pre class="body">${detail.payload}</pre>`
            : html`<p class="muted">The body as sent is not available from this API.</p>`}
        </section>`}`}
    </div>
  </li>`;
}

function Attempts({ list }) {
  if (list.length === 0) return html`<p class="muted">No attempt made yet.</p>`;
  return html`<ol class="attempt-list">
    ${list.map((a) => html`<li key=${a.attempt}>
      <p class="attempt-head">
        <strong>Attempt ${a.attempt}</strong>
        <${Time} iso=${a.started_at} />
        <span><span class="label">Response code</span> ${a.response_code ?? '—'}</span>
        <span>${a.duration_ms} ms</span>
      </p>
      ${a.error && html`<p class="delivery-error"><span class="label">Error</span> ${a.error}</p>`}
      ${a.response_body !== null && a.response_body !== undefined && a.response_body !== '' && html`<pre class="body">${a.response_body}</pre>`}
    </li>`)}
  </ol>`;
}
