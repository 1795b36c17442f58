// The last 24 hours of a webhook's deliveries by status, as an inline SVG
// (classes only, no style attributes). Computed here by paging the delivery log
// newest first until deliveries are older than 24 hours (at most 10 pages of 200).
// The webhooks list reuses last24h for each row's last delivery and success rate.
import { useEffect, useId, useRef, useState } from './vendor/hooks.module.js';
import { request, projectPath, qs } from './api.js';
import { html, useApp, ErrorBox, useAlive } from './ui.js';

const HOUR = 3600 * 1000;
const PAGES = 10;
const STATUSES = ['success', 'error', 'pending'];
const NAMES = { success: 'Success', error: 'Error', pending: 'Pending' };

export async function last24h(session, webhookId, now = Date.now()) {
  const since = now - 24 * HOUR;
  const buckets = Array.from({ length: 24 }, () => ({ success: 0, error: 0, pending: 0 }));
  let cursor = null;
  let capped = false;
  let last = null;
  for (let page = 0; page < PAGES; page++) {
    const path = projectPath(session, `/webhooks/${encodeURIComponent(webhookId)}/deliveries${qs({ limit: 200, cursor })}`);
    const r = await request(session, 'GET', path);
    if (page === 0) last = (r.items || [])[0] || null;
    let older = false;
    for (const d of r.items || []) {
      const t = Date.parse(d.created_at);
      if (Number.isNaN(t)) continue;
      if (t < since) {
        older = true;
        continue;
      }
      const i = Math.min(23, Math.max(0, Math.floor((t - since) / HOUR)));
      if (STATUSES.includes(d.status)) buckets[i][d.status]++;
    }
    cursor = r.next_cursor || null;
    if (older || !cursor) break;
    if (page === PAGES - 1) capped = true;
  }
  const totals = { success: 0, error: 0, pending: 0 };
  for (const b of buckets) for (const st of STATUSES) totals[st] += b[st];
  return { buckets, capped, since, last, totals };
}

export function DeliveryChart({ webhookId }) {
  const { session } = useApp();
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const alive = useAlive();
  const id = useId();

  async function load() {
    setBusy(true);
    setError(null);
    try {
      const d = await last24h(session, webhookId);
      if (alive.current) setData(d);
    } catch (e) {
      if (alive.current) setError(e);
    } finally {
      if (alive.current) setBusy(false);
    }
  }
  useEffect(() => {
    load();
  }, [webhookId]);

  const totals = data ? data.totals : { success: 0, error: 0, pending: 0 };
  const summary = `Deliveries in the last 24 hours: ${totals.success} success, ${totals.error} error, ${totals.pending} pending.`;

  return html`<section class="panel" aria-labelledby=${`${id}-h`}>
    <div class="panel-head">
      <h2 id=${`${id}-h`}>Last 24 hours</h2>
      <button type="button" class="btn subtle" onClick=${load} disabled=${busy}>Refresh chart</button>
    </div>
    <${ErrorBox} error=${error} />
    ${!data && !error && html`<p class="loading" role="status">Counting deliveries…</p>`}
    ${data && html`
      <${Bars} data=${data} title=${summary} />
      <ul class="legend" aria-label="Totals">
        ${STATUSES.map((s) => html`<li><span class=${`swatch ${s}`} aria-hidden="true"></span>${NAMES[s]}: ${totals[s]}</li>`)}
      </ul>
      ${data.capped && html`<p class="hint">Counted from the newest ${PAGES * 200} deliveries only.</p>`}`}
  </section>`;
}

/** Width of an element in CSS pixels, kept up to date, so the SVG is drawn 1:1 and its text stays legible. */
function useWidth(ref, fallback) {
  const [w, setW] = useState(fallback);
  useEffect(() => {
    const el = ref.current;
    if (!el) return undefined;
    const measure = () => setW(Math.round(el.getBoundingClientRect().width) || fallback);
    measure();
    if (typeof ResizeObserver === 'undefined') return undefined;
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return w;
}

function Bars({ data, title }) {
  const box = useRef(null);
  const W = Math.max(280, Math.min(1100, useWidth(box, 720)));
  return html`<div ref=${box} class="chart-box"><${Svg} data=${data} title=${title} W=${W} /></div>`;
}

function Svg({ data, title, W }) {
  const H = 180;
  const top = 12;
  const bottom = 24;
  const left = 32;
  const plotH = H - top - bottom;
  const slot = (W - left) / 24;
  const max = Math.max(1, ...data.buckets.map((b) => b.success + b.error + b.pending));
  const scale = plotH / max;
  const ticks = max <= 4 ? [...new Set([0, max])] : [0, Math.round(max / 2), max];
  const hourLabel = (i) => {
    const d = new Date(data.since + i * HOUR);
    return `${String(d.getHours()).padStart(2, '0')}:00`;
  };
  return html`<svg class="chart" viewBox=${`0 0 ${W} ${H}`} role="img" aria-label=${title} focusable="false">
    <title>${title}</title>
    ${ticks.map((t) => {
      const y = top + plotH - t * scale;
      return html`<g>
        <line class="grid" x1=${left} x2=${W} y1=${y} y2=${y} />
        <text class="axis" x=${left - 6} y=${y + 4} text-anchor="end">${t}</text>
      </g>`;
    })}
    ${data.buckets.map((b, i) => {
      let y = top + plotH;
      const x = left + i * slot + 2;
      return html`<g>
        ${['success', 'error', 'pending'].map((s) => {
          const hgt = b[s] * scale;
          if (!hgt) return null;
          y -= hgt;
          return html`<rect class=${`bar ${s}`} x=${x} y=${y} width=${slot - 4} height=${hgt}>
            <title>${`${hourLabel(i)}: ${b[s]} ${s}`}</title>
          </rect>`;
        })}
      </g>`;
    })}
    ${(W < 420 ? [0, 8, 16] : [0, 6, 12, 18]).map((i) => html`<text class="axis" x=${left + i * slot + 2} y=${H - 6}>${hourLabel(i)}</text>`)}
    <text class="axis" x=${W} y=${H - 6} text-anchor="end">now</text>
  </svg>`;
}
