// The real-time activity view: the project's events, newest first, refreshed
// every 3 seconds while the tab is visible.
import { useEffect, useRef, useState } from './vendor/hooks.module.js';
import { request, projectPath, qs, describe } from './api.js';
import { html, useApp, PageTitle, Loading, ErrorBox, Time, prettyJson } from './ui.js';

const EVERY = 3000;

export function Activity() {
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
      const r = await request(session, 'GET', projectPath(session, `/events${qs({ limit: 50 })}`));
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
      const r = await request(session, 'GET', projectPath(session, `/events${qs({ limit: 50, cursor })}`));
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

  return html`<section>
    <${PageTitle}>Activity<//>
    <p class="live muted" role="status">${live}${fresh ? ` ${fresh} new ${fresh === 1 ? 'event' : 'events'}.` : ''}</p>
    <${ErrorBox} error=${error} />
    ${items === null && html`<${Loading} what="events" />`}
    ${items && items.length === 0 && !error &&
    html`<div class="empty">
      <p><strong>No events yet.</strong></p>
      <p>Events your product posts to <code>/api/v1/events</code> or <code>/api/hook/custom-event</code> show up here by themselves.</p>
    </div>`}
    ${items && items.length > 0 &&
    html`<ol class="cards events" aria-label="Events, newest first">
      ${items.map((ev) => html`<li key=${ev.id} class="event">
        <div class="event-head">
          <code class="etype">${ev.event_type}</code>
          <${Time} iso=${ev.received_at} />
          ${ev.test && html`<span class="badge">Test</span>`}
        </div>
        <p class="muted mono small">${ev.id}${ev.session_id ? ` · session ${ev.session_id}` : ''}</p>
        <pre class="body payload">${prettyJson(ev.data)}</pre>
      </li>`)}
    </ol>`}
    ${cursor && html`<button type="button" class="btn" disabled=${more} onClick=${loadMore}>${more ? 'Loading…' : 'Load more'}</button>`}
  </section>`;
}
