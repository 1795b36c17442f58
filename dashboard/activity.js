// The real-time activity view: the project's events, newest first, refreshed
// every 3 seconds while the tab is visible, with an Event type filter; each event's
// deliveries (from GET …/events/{id}); and one event's page.
import { useEffect, useId, useRef, useState } from './vendor/hooks.module.js';
import { request, projectPath, qs, describe, eventTypes } from './api.js';
import { html, useApp, PageTitle, Loading, ErrorBox, Field, Time, DeliveryBadge, prettyJson, useAlive, sleep } from './ui.js';

const EVERY = 3000;
const AUTO_DELIVERIES = 10; // events whose deliveries load by themselves; older ones on request

/** Webhook names by id, for the deliveries of events. */
function useHookNames(session) {
  const [names, setNames] = useState({});
  useEffect(() => {
    request(session, 'GET', projectPath(session, '/webhooks?limit=200'))
      .then((r) => setNames(Object.fromEntries((r.items || []).map((w) => [w.id, w.name]))))
      .catch(() => {});
  }, [session.projectId]);
  return names;
}

const deliveryHref = (d) => `#/webhooks/${encodeURIComponent(d.webhook_id)}/logs/${encodeURIComponent(d.id)}`;

function DeliveryList({ deliveries, names }) {
  if (deliveries.length === 0) return html`<p class="muted small">No webhook subscribed to this event.</p>`;
  return html`<ul class="plain event-deliveries" aria-label="Deliveries">
    ${deliveries.map((d) => html`<li key=${d.id}>
      <${DeliveryBadge} status=${d.status} />
      <a href=${deliveryHref(d)}>${names[d.webhook_id] || d.webhook_id}</a>
      ${d.response_code !== null && d.response_code !== undefined && html`<span class="muted small">${d.response_code}</span>`}
    </li>`)}
  </ul>`;
}

/** An event's deliveries, looked up again while some are pending. */
function EventDeliveries({ id, names, auto }) {
  const { session } = useApp();
  const [list, setList] = useState(null);
  const [wanted, setWanted] = useState(auto);
  const alive = useAlive();
  useEffect(() => {
    if (!wanted) return;
    (async () => {
      for (let i = 0; i < 20 && alive.current; i++) {
        try {
          const ev = await request(session, 'GET', projectPath(session, `/events/${encodeURIComponent(id)}`));
          if (!alive.current) return;
          const ds = ev.deliveries || [];
          setList(ds);
          if (!ds.some((d) => d.status === 'pending')) return;
        } catch {
          if (alive.current) setList((old) => old || []);
          return;
        }
        await sleep(EVERY);
      }
    })();
  }, [wanted, id]);
  if (!wanted) return html`<button type="button" class="btn subtle" onClick=${() => setWanted(true)}>Show deliveries</button>`;
  if (list === null) return html`<p class="muted small">Loading deliveries…</p>`;
  return html`<${DeliveryList} deliveries=${list} names=${names} />`;
}

export function Activity() {
  const { session } = useApp();
  const names = useHookNames(session);
  const [filter, setFilter] = useState('');
  const [applied, setApplied] = useState('');
  const [catalogue, setCatalogue] = useState([]);
  const listId = useId();
  useEffect(() => {
    eventTypes(session).then(setCatalogue);
  }, []);
  // The filter applies shortly after typing stops.
  useEffect(() => {
    const t = setTimeout(() => setApplied(filter.trim()), 400);
    return () => clearTimeout(t);
  }, [filter]);
  return html`<section>
    <${PageTitle}>Activity<//>
    <form class="toolbar" role="search" aria-label="Filter events" onSubmit=${(e) => {
      e.preventDefault();
      setApplied(filter.trim());
    }}>
      <${Field} label="Event type" value=${filter} onValue=${setFilter} list=${listId} autocomplete="off" spellcheck="false"
        hint="Only events of this type; empty for all." />
      <datalist id=${listId}>${catalogue.map((t) => html`<option value=${t.name}></option>`)}</datalist>
    </form>
    <${EventFeed} key=${applied} applied=${applied} names=${names} />
  </section>`;
}

/** The polled list for one filter (a new filter starts a new feed, so no answer for the old one lands here). */
function EventFeed({ applied, names }) {
  const { session } = useApp();
  const [items, setItems] = useState(null);
  const [cursor, setCursor] = useState(null);
  const [error, setError] = useState(null);
  const [live, setLive] = useState('Live: new events appear within 3 seconds.');
  const [fresh, setFresh] = useState(0);
  const [more, setMore] = useState(false);
  const state = useRef({ items: null, timer: null, alive: true, inFlight: false });

  async function poll() {
    const s = state.current;
    if (!s.alive || s.inFlight) return;
    if (document.hidden) {
      setLive('Paused while this tab is hidden.');
      return;
    }
    s.inFlight = true;
    let delay = EVERY;
    try {
      const r = await request(session, 'GET', projectPath(session, `/events${qs({ event_type: applied, limit: 50 })}`));
      if (!s.alive) return;
      const known = new Set((s.items || []).map((e) => e.id));
      const incoming = r.items || [];
      const added = incoming.filter((e) => !known.has(e.id));
      if (s.items === null || (added.length === incoming.length && s.items.length > 0 && r.next_cursor)) {
        // First load, or more new events than a page: start over from the newest page.
        s.items = incoming;
        setCursor(r.next_cursor || null);
        if (s.items !== null && added.length && known.size) setFresh(added.length);
      } else if (added.length) {
        s.items = [...added, ...s.items];
        setFresh(added.length);
      }
      setItems(s.items);
      setError(null);
      setLive('Live: new events appear within 3 seconds.');
    } catch (e) {
      if (!s.alive) return;
      setError(e);
      if (s.items === null) {
        s.items = [];
        setItems([]);
      }
      if (e.status === 429 && e.retryAfter) delay = Math.max(EVERY, Number(e.retryAfter) * 1000 || EVERY);
      setLive(`Updates failing: ${describe(e)} Trying again shortly.`);
    } finally {
      s.inFlight = false;
      if (s.alive) {
        clearTimeout(s.timer);
        s.timer = setTimeout(poll, delay);
      }
    }
  }

  useEffect(() => {
    const s = state.current;
    s.alive = true;
    poll();
    const onVisible = () => {
      if (!document.hidden) {
        clearTimeout(s.timer);
        poll();
      } else {
        setLive('Paused while this tab is hidden.');
      }
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      s.alive = false;
      clearTimeout(s.timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [session.projectId]);

  async function loadMore() {
    setMore(true);
    try {
      const r = await request(session, 'GET', projectPath(session, `/events${qs({ event_type: applied, limit: 50, cursor })}`));
      const known = new Set(state.current.items.map((e) => e.id));
      state.current.items = [...state.current.items, ...r.items.filter((e) => !known.has(e.id))];
      setItems(state.current.items);
      setCursor(r.next_cursor || null);
    } catch (e) {
      setError(e);
    } finally {
      setMore(false);
    }
  }

  return html`<div>
    <p class="live muted" role="status">${live}${fresh ? ` ${fresh} new ${fresh === 1 ? 'event' : 'events'}.` : ''}</p>
    <${ErrorBox} error=${error} />
    ${items === null && html`<${Loading} what="events" />`}
    ${items && items.length === 0 && !error &&
    html`<div class="empty">
      <p><strong>${applied ? `No ${applied} events.` : 'No events yet.'}</strong></p>
      <p>Events your product posts to <code>/api/v1/events</code> or <code>/api/hook/custom-event</code> show up here by themselves.</p>
    </div>`}
    ${items && items.length > 0 &&
    html`<ol class="cards events" aria-label="Events, newest first">
      ${items.map((ev, i) => html`<li key=${ev.id} class="event">
        <div class="event-head">
          <a class="etype mono" href=${`#/events/${encodeURIComponent(ev.id)}`}>${ev.event_type}</a>
          <${Time} iso=${ev.received_at} />
          ${ev.test && html`<span class="badge test">Test</span>`}
        </div>
        <p class="muted mono small">${ev.id}${ev.session_id ? ` · session ${ev.session_id}` : ''}</p>
        <pre class="body payload">${prettyJson(ev.data)}</pre>
        <${EventDeliveries} id=${ev.id} names=${names} auto=${i < AUTO_DELIVERIES} />
      </li>`)}
    </ol>`}
    ${cursor && html`<button type="button" class="btn" disabled=${more} onClick=${loadMore}>${more ? 'Loading…' : 'Load more'}</button>`}
  </div>`;
}

/** One event: its type, time, data and deliveries (each linking to the webhook's log). */
export function EventPage({ id }) {
  const { session } = useApp();
  const names = useHookNames(session);
  const [ev, setEv] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    request(session, 'GET', projectPath(session, `/events/${encodeURIComponent(id)}`)).then(setEv, setError);
  }, [id]);
  return html`<section>
    <p class="crumbs"><a href="#/activity">Activity</a></p>
    <${PageTitle}>${ev ? ev.event_type : 'Event'}<//>
    <${ErrorBox} error=${error} />
    ${!ev && !error && html`<${Loading} what="the event" />`}
    ${ev && html`
      <dl class="details">
        <dt>ID</dt><dd class="mono">${ev.id}</dd>
        <dt>Received</dt><dd><${Time} iso=${ev.received_at} /></dd>
        ${ev.session_id && html`<dt>Session</dt><dd class="mono">${ev.session_id}</dd>`}
        ${ev.test && html`<dt>Test</dt><dd><span class="badge test">Test</span></dd>`}
      </dl>
      <h2>Data</h2>
      <pre class="body payload">${prettyJson(ev.data)}</pre>
      <h2>Deliveries</h2>
      <${DeliveryList} deliveries=${ev.deliveries || []} names=${names} />`}
  </section>`;
}
