// Shared pieces: the framework import, app context, form fields, error boxes,
// secrets shown once, confirmation dialogs, times and status badges.
// Everything stored (names, URLs, payloads, bodies, messages) is passed as
// text children or attribute values: Preact makes text nodes of them, never markup.
import { h, createContext } from './vendor/preact.module.js';
import { useContext, useEffect, useId, useLayoutEffect, useRef, useState } from './vendor/hooks.module.js';
import htm from './vendor/htm.module.js';
import { describe } from './api.js';

export const html = htm.bind(h);
export const AppContext = createContext(null);
export const useApp = () => useContext(AppContext);
/** False in a read-only session: write controls are not offered at all. */
export const useCanWrite = () => {
  const app = useContext(AppContext);
  return !app || app.canWrite !== false;
};

export function go(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}

/** A message handed from one page to the next (e.g. "Webhook deleted."). */
let pending = null;
export function flash(text) {
  pending = text;
}
export function takeFlash() {
  const t = pending;
  pending = null;
  return t;
}

let brandName = 'Hookline';
/** The name in the tab title: a portal's brand, else Hookline. */
export function setBrand(name) {
  brandName = name || 'Hookline';
  const h1 = document.querySelector('h1');
  if (h1) document.title = `${h1.textContent} · ${brandName}`;
}

/** The page's h1; focused when the page opens so keyboard and screen reader users land on it. */
export function PageTitle({ children }) {
  const ref = useRef(null);
  useEffect(() => {
    if (ref.current) ref.current.focus({ preventScroll: true });
  }, []);
  useEffect(() => {
    if (ref.current) document.title = `${ref.current.textContent} · ${brandName}`;
  });
  return html`<h1 tabindex="-1" ref=${ref}>${children}</h1>`;
}

export function Flash() {
  const [text] = useState(takeFlash);
  return text ? html`<p class="notice success" role="status">${text}</p>` : null;
}

export function Loading({ what }) {
  return html`<p class="loading" role="status"><span class="spinner" aria-hidden="true"></span>Loading ${what}…</p>`;
}

/**
 * The API's message, plus every field error that no input on the form shows. With `summary`
 * (a form's error summary) it takes focus and scrolls into view each time a new error arrives.
 */
export function ErrorBox({ error, unmatched = null, summary = false }) {
  const ref = useRef(null);
  useEffect(() => {
    if (!summary || !error || !ref.current) return;
    ref.current.focus({ preventScroll: true });
    ref.current.scrollIntoView({ block: 'center' });
  }, [error, summary]);
  if (!error) return null;
  // A single field error is the envelope's message already (`field: problem`): not twice.
  const list = (unmatched ?? (error.errors || [])).filter((e) => `${e.field}: ${e.message}` !== error.message);
  return html`<div class="notice error" role="alert" ref=${ref} tabindex=${summary ? '-1' : undefined}>
    <p>${describe(error)}</p>
    ${list.length > 0 &&
    html`<ul>
      ${list.map((e) => html`<li>${e.field ? html`<code>${String(e.field)}</code>: ` : ''}${String(e.message)}</li>`)}
    </ul>`}
  </div>`;
}

/** Field errors by field name, and those that no input claims. */
export function splitErrors(error, claims) {
  const byField = {};
  const unmatched = [];
  for (const e of (error && error.errors) || []) {
    const field = String(e.field ?? '');
    const key = claims(field);
    if (key) byField[key] = byField[key] ? `${byField[key]}; ${e.message}` : String(e.message);
    else unmatched.push(e);
  }
  return { byField, unmatched };
}

function described(id, hint, error) {
  const ids = [];
  if (hint) ids.push(`${id}-hint`);
  if (error) ids.push(`${id}-err`);
  return ids.length ? ids.join(' ') : undefined;
}

/** A labelled input, checkbox or select, with its hint and its error tied to it by aria-describedby. */
function Control({ kind, label, hint, error, value, checked, onValue, options, type = 'text', ...rest }) {
  const id = useId();
  const box = kind === 'check';
  const a = { id, 'aria-invalid': error ? 'true' : undefined, 'aria-describedby': described(id, hint, error), ...rest };
  const lab = html`<label for=${id}>${label}</label>`;
  const control =
    kind === 'select'
      ? html`<select ...${a} value=${value} onChange=${(e) => onValue(e.currentTarget.value)}>
          ${options.map(([v, text]) => html`<option value=${v}>${text}</option>`)}
        </select>`
      : box
        ? html`<input ...${a} type="checkbox" checked=${checked} onChange=${(e) => onValue(e.currentTarget.checked)} />`
        : kind === 'area'
          ? html`<textarea ...${a} value=${value} onInput=${(e) => onValue(e.currentTarget.value)}></textarea>`
          : html`<input ...${a} type=${type} value=${value} onInput=${(e) => onValue(e.currentTarget.value)} />`;
  return html`<div class=${box ? 'field check' : 'field'}>
    ${box ? control : lab}
    ${box ? lab : hint && html`<p class="hint" id=${`${id}-hint`}>${hint}</p>`}
    ${box ? hint && html`<p class="hint" id=${`${id}-hint`}>${hint}</p>` : control}
    ${error && html`<p class="field-error" id=${`${id}-err`}>${error}</p>`}
  </div>`;
}
export const Field = (p) => Control(p);
export const Check = (p) => Control({ ...p, kind: 'check' });
export const Select = (p) => Control({ ...p, kind: 'select' });
export const TextArea = (p) => Control({ ...p, kind: 'area' });

let rowSeq = 0;
export const newRow = (name = '', value = '') => ({ key: ++rowSeq, name, value });
export const rowsFrom = (obj) => Object.entries(obj || {}).map(([k, v]) => newRow(k, String(v)));

/** Rows of name/value inputs (custom headers, custom parameters). */
export function KeyValueRows({ legend, rows, setRows, addLabel, nameLabel, valueLabel, removeLabel, errorFor, hint }) {
  const hintId = useId();
  const update = (key, patch) => setRows(rows.map((r) => (r.key === key ? { ...r, ...patch } : r)));
  const addRef = useRef(null);
  const lastCount = useRef(rows.length);
  const listRef = useRef(null);
  useLayoutEffect(() => {
    // After "Add …", move focus to the new row's first input (before any further key press).
    if (rows.length > lastCount.current && listRef.current) {
      const inputs = listRef.current.querySelectorAll('.kv-row:last-child input');
      if (inputs.length) inputs[0].focus();
    }
    lastCount.current = rows.length;
  }, [rows.length]);
  return html`<fieldset class="kv" aria-describedby=${hint ? hintId : undefined}>
    <legend>${legend}</legend>
    ${hint && html`<p class="hint" id=${hintId}>${hint}</p>`}
    <div ref=${listRef}>
      ${rows.map((r) => {
        const err = errorFor(r.name);
        return html`<div class="kv-row" key=${r.key}>
          <${Field} label=${nameLabel} value=${r.name} onValue=${(v) => update(r.key, { name: v })} error=${err}
            autocomplete="off" spellcheck="false" />
          <${Field} label=${valueLabel} value=${r.value} onValue=${(v) => update(r.key, { value: v })}
            autocomplete="off" spellcheck="false" />
          <button type="button" class="btn subtle" aria-label=${`${removeLabel} ${r.name}`.trim()}
            onClick=${() => {
              setRows(rows.filter((x) => x.key !== r.key));
              if (addRef.current) addRef.current.focus();
            }}>Remove</button>
        </div>`;
      })}
    </div>
    <button type="button" class="btn" ref=${addRef} onClick=${() => setRows([...rows, newRow()])}>${addLabel}</button>
  </fieldset>`;
}

/** Rows -> object; reports duplicates (also those differing only in case) and values without a name. */
export function rowsToObject(rows, { caseInsensitive = false } = {}) {
  const out = {};
  const seen = new Set();
  const problems = [];
  for (const r of rows) {
    const name = r.name.trim();
    if (!name && !r.value) continue;
    if (!name) {
      problems.push({ name: '', message: 'A row has a value but no name.' });
      continue;
    }
    const k = caseInsensitive ? name.toLowerCase() : name;
    if (seen.has(k)) problems.push({ name, message: `"${name}" appears twice.` });
    seen.add(k);
    out[name] = r.value;
  }
  return { value: out, problems };
}

/** Copies `text`; where the clipboard API is refused, selects `input` and copies that. */
export async function copyText(text, input) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (input) {
      input.select();
      try {
        return document.execCommand('copy');
      } catch {
        return false;
      }
    }
    return false;
  }
}

/** A value shown this once (secret, API key, link) in a read-only input with a Copy button. */
export function OnceValue({ label, value, copyLabel = 'Copy', note }) {
  const id = useId();
  const input = useRef(null);
  const [copied, setCopied] = useState('');
  return html`<div class="field once">
    <label for=${id}>${label}</label>
    <div class="copy-row">
      <input id=${id} ref=${input} readonly value=${value} class="mono" spellcheck="false"
        aria-describedby=${note ? `${id}-note` : undefined} onFocus=${(e) => e.currentTarget.select()} />
      <button type="button" class="btn" onClick=${async () =>
        setCopied((await copyText(value, input.current)) ? 'Copied.' : 'Copy failed: select the text and copy it by hand.')}>
        ${copyLabel}
      </button>
    </div>
    ${note && html`<p class="hint" id=${`${id}-note`}>${note}</p>`}
    <p class="hint" role="status">${copied}</p>
  </div>`;
}

/** A modal confirmation on <dialog>: focus is kept inside and returned on close. */
export function Confirm({ open, title, children, confirmLabel, danger = true, busy, error, onConfirm, onClose }) {
  const ref = useRef(null);
  const opener = useRef(null);
  const titleId = useId();
  // Layout effect: the dialog is modal as soon as it renders, before the next key press.
  useLayoutEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) {
      opener.current = document.activeElement;
      d.showModal();
    } else if (!open && d.open) {
      d.close();
    }
    if (!open && opener.current) {
      if (opener.current.isConnected) opener.current.focus();
      opener.current = null;
    }
  }, [open]);
  return html`<dialog ref=${ref} aria-labelledby=${titleId} onCancel=${(e) => {
    e.preventDefault();
    if (!busy) onClose();
  }}>
    <h2 id=${titleId}>${title}</h2>
    ${children}
    <${ErrorBox} error=${error} />
    <div class="actions">
      <button type="button" class="btn" onClick=${onClose} disabled=${busy}>Cancel</button>
      <button type="button" class=${danger ? 'btn danger' : 'btn primary'} onClick=${onConfirm} disabled=${busy}>
        ${busy ? 'Working…' : confirmLabel}
      </button>
    </div>
  </dialog>`;
}

export function Time({ iso }) {
  if (!iso) return html`<span class="muted">—</span>`;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return html`<span>${String(iso)}</span>`;
  return html`<time datetime=${iso} title=${iso}>${d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' })}</time>`;
}

const STATUS = { success: 'Success', error: 'Error', pending: 'Pending' };
export function DeliveryBadge({ status }) {
  const known = STATUS[status];
  return html`<span class=${`badge ${known ? status : ''}`}>${known || String(status)}</span>`;
}

export function webhookState(wh) {
  if (wh.enabled) return ['on', 'Enabled'];
  if (wh.disabled_reason === 'failing') return ['failing', 'Failing'];
  return ['off', 'Disabled'];
}

export function WebhookBadge({ wh }) {
  const [cls, text] = webhookState(wh);
  return html`<span class=${`badge ${cls}`}>${text}</span>`;
}

export function prettyJson(v) {
  try {
    return JSON.stringify(v, null, 2);
  } catch {
    return String(v);
  }
}

/** Stops polling loops when the component goes away. */
export function useAlive() {
  const alive = useRef(true);
  useEffect(() => () => {
    alive.current = false;
  }, []);
  return alive;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Fetches every `every` ms until `done(value)` holds, and returns that value (null once the
 * tries run out or the component goes away). Transient failures (429, network, 5xx) are
 * tried again; any other error is thrown.
 */
export async function pollUntil(fetchValue, done, alive, { every = 1000, tries = 90 } = {}) {
  for (let i = 0; i < tries && alive.current; i++) {
    await sleep(every);
    if (!alive.current) return null;
    let value;
    try {
      value = await fetchValue();
    } catch (e) {
      if (e && (e.status === 429 || e.status === 0 || e.status >= 500)) continue;
      throw e;
    }
    if (value && done(value)) return value;
  }
  return null;
}

/** Polls an event until its attempt is done (response_code or response_message set). */
export function pollAttempt(fetchEvent, alive, options) {
  const attempted = (ev) =>
    (ev.response_code !== null && ev.response_code !== undefined) || (ev.response_message ?? null) !== null;
  return pollUntil(fetchEvent, attempted, alive, options);
}

/** "Response code: 200" and the response text, once a test attempt is done. */
export function AttemptResult({ state }) {
  if (!state) return null;
  if (state.phase === 'sending') return html`<p>Sending…</p>`;
  if (state.phase === 'waiting')
    return html`<p><span class="spinner" aria-hidden="true"></span>Test event <code>${state.id}</code> queued; waiting for the attempt…</p>`;
  if (state.phase === 'timeout') return html`<p>No attempt recorded yet for <code>${state.id}</code>. Check the logs later.</p>`;
  const ev = state.event;
  const ok = ev.response_code >= 200 && ev.response_code < 300;
  return html`<div class=${`result ${ok ? 'ok' : 'bad'}`}>
    <p><strong>${ev.response_code !== null && ev.response_code !== undefined ? `Response code: ${ev.response_code}` : 'No response code'}</strong></p>
    ${ev.response_message !== null && ev.response_message !== undefined && ev.response_message !== '' &&
    html`<pre class="body">${String(ev.response_message)}</pre>`}
  </div>`;
}
