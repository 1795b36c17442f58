// Signing in, the admin's Projects page and the key holder's Settings
// (API key rotation, portal links).
import { useEffect, useState } from './vendor/hooks.module.js';
import { request, projectPath, makeSession, tokenKind, ApiError, qs } from './api.js';
import { html, useApp, PageTitle, ErrorBox, splitErrors, Field, Check, OnceValue, Confirm, Time, Loading } from './ui.js';

export function SignIn({ notice, initialToken = '', onSignedIn }) {
  const [token, setToken] = useState(initialToken);
  const [project, setProject] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const kind = token.trim() ? tokenKind(token.trim()) : null;
  const { byField, unmatched } = splitErrors(error, (f) => (f === 'token' || f === 'project' ? f : null));

  async function submit(e) {
    e.preventDefault();
    const t = token.trim();
    if (!t) {
      setError(new ApiError(400, 'Enter an API key or token.', [{ field: 'token', message: 'is required' }]));
      return;
    }
    let pid = null;
    if (kind === 'key') {
      if (!/^\d+$/.test(project.trim())) {
        setError(new ApiError(400, 'A project API key needs its project ID.', [{ field: 'project', message: 'enter the project ID (a number)' }]));
        return;
      }
      pid = Number(project.trim());
    }
    const session = makeSession(t, pid);
    setBusy(true);
    setError(null);
    try {
      if (session.kind !== 'admin') await request(session, 'GET', projectPath(session));
      onSignedIn(session);
    } catch (err) {
      if (err.status === 401) err.message = `The API did not accept this key or token: ${err.message}`;
      setError(err);
      setBusy(false);
    }
  }

  return html`<main id="main" class="signin" tabindex="-1">
    <div class="panel">
      <${PageTitle}>Sign in to Hookline<//>
      ${notice && html`<p class="notice" role="status">${notice}</p>`}
      <form class="form" onSubmit=${submit} novalidate>
        <${ErrorBox} error=${error} unmatched=${unmatched} summary />
        <${Field} label="API key or token" type="password" value=${token} onValue=${setToken} error=${byField.token}
          autocomplete="off" spellcheck="false"
          hint="A project API key (hk_…), a portal token (pst_…) or the admin token. Kept in this tab only." />
        <${Field} label="Project ID" value=${project} onValue=${setProject} error=${byField.project}
          inputmode="numeric" autocomplete="off"
          hint=${kind === 'portal' ? 'Not needed: the portal token names its project.' : 'Needed with a project API key; not with a portal or admin token.'} />
        <button type="submit" class="btn primary" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </div>
  </main>`;
}

/** One project of the admin's list: open it, rotate its key, open a portal for it. */
function ProjectRow({ p }) {
  const { session, openProject } = useApp();
  const [confirm, setConfirm] = useState(false);
  const [rot, setRot] = useState({ busy: false, error: null, key: null });
  const [portal, setPortal] = useState({ busy: false, error: null, url: null });
  const path = `/projects/${encodeURIComponent(p.project_id)}`;
  async function rotate() {
    setRot({ busy: true, error: null, key: null });
    try {
      const r = await request(session, 'POST', `${path}/api-key/rotate`);
      setConfirm(false);
      setRot({ busy: false, error: null, key: r.api_key || r.key });
    } catch (err) {
      setConfirm(false);
      setRot({ busy: false, error: err, key: null });
    }
  }
  async function openPortal() {
    setPortal({ busy: true, error: null, url: null });
    try {
      const r = await request(session, 'POST', `${path}/portal-sessions`, {});
      setPortal({ busy: false, error: null, url: r.url });
    } catch (err) {
      setPortal({ busy: false, error: err, url: null });
    }
  }
  return html`<li class="project-row">
    <div class="project-head">
      <a class="hook-name" href="#/webhooks" onClick=${(e) => {
        e.preventDefault();
        openProject(p.project_id);
      }}>${p.name}</a>
      <span class="muted">ID <span class="mono">${String(p.project_id)}</span></span>
      <span class="muted">Created <${Time} iso=${p.created_at} /></span>
    </div>
    <div class="actions">
      <button type="button" class="btn" onClick=${() => setConfirm(true)}>Rotate API key</button>
      <button type="button" class="btn" onClick=${openPortal} disabled=${portal.busy}>Open portal</button>
    </div>
    <${ErrorBox} error=${rot.error || portal.error} />
    ${rot.key && html`<div class="result ok"><${OnceValue} label=${`New API key for ${p.name}`} value=${rot.key}
      note="Shown only this once: store it now. The previous key has stopped working." /></div>`}
    ${portal.url && html`<div class="result ok">
      <p><a href=${portal.url} target="_blank" rel="noopener noreferrer">Open the portal of ${p.name}</a> (a new tab, for one hour)</p>
      <${OnceValue} label=${`Portal link for ${p.name}`} value=${portal.url} copyLabel="Copy link" />
    </div>`}
    <${Confirm} open=${confirm} title=${`Rotate the API key of ${p.name}?`} confirmLabel="Rotate key" busy=${rot.busy}
      onConfirm=${rotate} onClose=${() => setConfirm(false)}>
      <p>The project's current key stops working as soon as the new one is issued.</p>
    <//>
  </li>`;
}

/** Admin only: every project (GET /projects), newest first. */
function ProjectList({ refresh }) {
  const { session } = useApp();
  const [items, setItems] = useState(null);
  const [cursor, setCursor] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function load(after) {
    setBusy(true);
    try {
      const r = await request(session, 'GET', `/projects${qs({ limit: 50, cursor: after })}`);
      setItems((old) => (after && old ? [...old, ...r.items] : r.items || []));
      setCursor(r.next_cursor || null);
      setError(null);
    } catch (e) {
      setError(e);
      setItems((old) => old || []);
    } finally {
      setBusy(false);
    }
  }
  useEffect(() => {
    load(null);
  }, [refresh]);
  return html`<section class="panel" aria-labelledby="all-projects-h">
    <h2 id="all-projects-h">All projects</h2>
    ${error && (error.status === 404 || error.status === 405)
      ? html`<p class="muted">This API cannot list projects yet.</p>`
      : html`<${ErrorBox} error=${error} />`}
    ${items === null && html`<${Loading} what="projects" />`}
    ${items && items.length === 0 && !error && html`<p class="muted">No projects yet.</p>`}
    ${items && items.length > 0 &&
    html`<ul class="cards projects" aria-label="Projects">${items.map((p) => html`<${ProjectRow} key=${p.project_id} p=${p} />`)}</ul>`}
    ${cursor && html`<button type="button" class="btn" disabled=${busy} onClick=${() => load(cursor)}>Load more</button>`}
  </section>`;
}

/** Admin only: every project, create projects, open the operations project (0). */
export function Projects() {
  const { session, openProject, switchSession } = useApp();
  const [name, setName] = useState('');
  const [clientId, setClientId] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [created, setCreated] = useState(null);
  const [refresh, setRefresh] = useState(0);
  const { byField, unmatched } = splitErrors(error, (f) => (f === 'name' || f === 'client_id' ? f : null));

  async function submit(e) {
    e.preventDefault();
    const body = { name };
    if (clientId.trim()) {
      if (!/^-?\d+$/.test(clientId.trim())) {
        setError(new ApiError(400, 'The client ID must be a whole number.', [{ field: 'client_id', message: 'must be a whole number' }]));
        return;
      }
      body.client_id = Number(clientId.trim());
    }
    setBusy(true);
    setError(null);
    try {
      setCreated(await request(session, 'POST', '/projects', body));
      setRefresh((n) => n + 1);
      setName('');
      setClientId('');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return html`<section>
    <${PageTitle}>Projects<//>
    <${ProjectList} refresh=${refresh} />
    <section class="panel" aria-labelledby="create-project-h">
      <h2 id="create-project-h">Create a project</h2>
      <form class="form" onSubmit=${submit} novalidate>
        <${ErrorBox} error=${error} unmatched=${unmatched} summary />
        <${Field} label="Name" value=${name} onValue=${setName} error=${byField.name} autocomplete="off" />
        <${Field} label="Client ID" value=${clientId} onValue=${setClientId} error=${byField.client_id} inputmode="numeric"
          autocomplete="off" hint="Optional: your product's own account id, echoed in payloads." />
        <button type="submit" class="btn primary" disabled=${busy}>${busy ? 'Creating…' : 'Create project'}</button>
      </form>
      ${created &&
      html`<div class="result ok" aria-live="polite">
        <p>Project <strong>${created.name}</strong> created with ID <strong class="mono">${String(created.project_id)}</strong>.</p>
        <${OnceValue} label="API key" value=${created.api_key} note="Shown only this once: store it now." />
        <button type="button" class="btn" onClick=${() => switchSession(makeSession(created.api_key, created.project_id))}>
          Open this project with its key
        </button>
      </div>`}
    </section>
    <section class="panel" aria-labelledby="ops-h">
      <h2 id="ops-h">Operations project</h2>
      <p class="muted">Project 0 receives Hookline's own events (a webhook disabled for failing, a delivery that ran out of attempts). Add webhooks there to be told.</p>
      <button type="button" class="btn" onClick=${() => openProject(0)}>Open operations project</button>
    </section>
  </section>`;
}

/** API key rotation and portal links, for project key holders. */
export function Settings() {
  const { session, switchSession } = useApp();
  const [confirm, setConfirm] = useState(false);
  const [rot, setRot] = useState({ busy: false, error: null, key: null });
  const [ttl, setTtl] = useState('3600');
  const [readOnly, setReadOnly] = useState(false);
  const [portal, setPortal] = useState({ busy: false, error: null, result: null });
  const { byField, unmatched } = splitErrors(portal.error, (f) => (f === 'ttl_seconds' ? f : null));

  async function rotate() {
    setRot({ busy: true, error: null, key: null });
    try {
      const r = await request(session, 'POST', projectPath(session, '/api-key/rotate'));
      const key = r.api_key || r.key;
      setConfirm(false);
      setRot({ busy: false, error: null, key });
      // The old key stops working at once: carry on with the new one.
      if (session.kind === 'key' && key) switchSession(makeSession(key, session.projectId), { stay: true });
    } catch (err) {
      setConfirm(false);
      setRot({ busy: false, error: err, key: null });
    }
  }

  async function createPortal(e) {
    e.preventDefault();
    setPortal({ busy: true, error: null, result: null });
    const body = { read_only: readOnly };
    if (ttl.trim()) body.ttl_seconds = Number(ttl.trim());
    try {
      setPortal({ busy: false, error: null, result: await request(session, 'POST', projectPath(session, '/portal-sessions'), body) });
    } catch (err) {
      setPortal({ busy: false, error: err, result: null });
    }
  }

  if (session.kind === 'portal') {
    return html`<section>
      <${PageTitle}>Settings<//>
      <section class="panel">
        <p>A portal session cannot rotate the project's API key or create portal links: sign in with the project's API key for those.</p>
      </section>
    </section>`;
  }

  return html`<section>
    <${PageTitle}>Settings<//>
    <section class="panel" aria-labelledby="key-h">
      <h2 id="key-h">API key</h2>
      <p class="muted">Rotating issues a new key and the current key stops working at once: update your integrations.</p>
      <button type="button" class="btn" onClick=${() => {
        setRot({ busy: false, error: null, key: null });
        setConfirm(true);
      }}>Rotate API key</button>
      <${ErrorBox} error=${rot.error} />
      ${rot.key && html`<div class="result ok"><${OnceValue} label="New API key" value=${rot.key} note="Shown only this once: store it now." /></div>`}
    </section>
    <${Confirm} open=${confirm} title="Rotate the API key?" confirmLabel="Rotate key" busy=${rot.busy}
      onConfirm=${rotate} onClose=${() => setConfirm(false)}>
      <p>The current key stops working as soon as the new one is issued.</p>
    <//>
    <section class="panel" aria-labelledby="portal-h">
      <h2 id="portal-h">Portal links</h2>
      <p class="muted">A link that opens this dashboard for this project only, for a limited time, e.g. to embed it for a customer.</p>
      <form class="form" onSubmit=${createPortal} novalidate>
        <${ErrorBox} error=${portal.error} unmatched=${unmatched} />
        <${Field} label="Lifetime in seconds" type="number" min="60" max="86400" value=${ttl} onValue=${setTtl}
          error=${byField.ttl_seconds} hint="60 to 86400." />
        <${Check} label="Read-only" checked=${readOnly} onValue=${setReadOnly} hint="The link can look but not change anything." />
        <button type="submit" class="btn" disabled=${portal.busy}>Create portal link</button>
      </form>
      ${portal.result &&
      html`<div class="result ok">
        <${OnceValue} label="Portal link" value=${portal.result.url} copyLabel="Copy link" />
        <p class="muted">Expires <${Time} iso=${portal.result.expires_at} />${portal.result.read_only ? '; read-only' : ''}.</p>
      </div>`}
    </section>
  </section>`;
}
