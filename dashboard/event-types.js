// The deployment's event-type catalogue (docs/api.md §11): each type with its description,
// schema and example, shown as text. Archived types are not listed.
import { useEffect, useState } from './vendor/hooks.module.js';
import { eventTypes } from './api.js';
import { html, useApp, PageTitle, Loading, prettyJson } from './ui.js';

export function EventTypes() {
  const { session } = useApp();
  const [types, setTypes] = useState(null);
  useEffect(() => {
    eventTypes(session).then(setTypes);
  }, [session.token]);

  return html`<section>
    <${PageTitle}>Event types<//>
    <p class="muted">The events this service sends. Subscribe a webhook to some of them, or to a prefix such as <code>order.*</code>.</p>
    ${types === null && html`<${Loading} what="event types" />`}
    ${types && types.length === 0 &&
    html`<div class="empty"><p><strong>No event types described yet.</strong></p><p>Webhooks can still subscribe to any event type by name.</p></div>`}
    ${types && types.length > 0 &&
    html`<ul class="cards types" aria-label="Event types">
      ${types.map((t) => html`<li key=${t.name} class="etype-card">
        <h2 class="mono">${t.name}</h2>
        <p>${t.description || html`<span class="muted">No description.</span>`}</p>
        ${t.schema !== null && t.schema !== undefined &&
        html`<details><summary>Schema</summary><pre class="body">${prettyJson(t.schema)}</pre></details>`}
        ${t.example !== null && t.example !== undefined &&
        html`<details open><summary>Example</summary><pre class="body">${prettyJson(t.example)}</pre></details>`}
      </li>`)}
    </ul>`}
  </section>`;
}
