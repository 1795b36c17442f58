// Entry point: signs in (URL fragment or form), then routes #/… to the pages.
import { render } from './vendor/preact.module.js';
import { useEffect, useRef, useState } from './vendor/hooks.module.js';
import {
  loadSession, saveSession, clearSession, takeFragmentToken, makeSession, onApiEvent, request, projectPath,
  forgetCatalogue, sessionInfo,
} from './api.js';
import { html, AppContext, go, Loading, PageTitle, setBrand } from './ui.js';
import { applyTheme } from './theme.js';
import { EventTypes } from './event-types.js';
import { WebhookList, WebhookForm, WebhookPage } from './webhooks.js';
import { Activity, EventPage } from './activity.js';
import { ProjectWebHook } from './project-hook.js';
import { SignIn, Projects, Settings } from './account.js';

function parseRoute() {
  return location.hash
    .replace(/^#\/?/, '')
    .split('/')
    .filter(Boolean)
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
}

function useRoute() {
  const [route, setRoute] = useState(parseRoute);
  useEffect(() => {
    const f = () => setRoute(parseRoute());
    window.addEventListener('hashchange', f);
    return () => window.removeEventListener('hashchange', f);
  }, []);
  return route;
}

function boot() {
  const token = takeFragmentToken();
  if (token) {
    clearSession(); // a token in the link replaces whatever this tab held
    const s = makeSession(token, null);
    if (s.kind === 'key') return { session: null, pendingToken: token };
    saveSession(s);
    return { session: s };
  }
  return { session: loadSession() };
}

let expiredSent = false;
/** Tells the framing page, once, that this portal session is over (docs/api.md §13). */
function announceExpired() {
  if (expiredSent) return;
  expiredSent = true;
  try {
    window.parent.postMessage({ type: 'hookline:session-expired' }, '*');
  } catch {
    // no parent to tell
  }
}

function Expired({ brand }) {
  return html`<main id="main" class="signin" tabindex="-1">
    <p class="brand">${brand}</p>
    <div class="panel">
      <${PageTitle}>This session has expired<//>
      <p>Open this page again from the application that showed it to you to start a new session.</p>
    </div>
  </main>`;
}

function App() {
  const [start] = useState(boot);
  const [session, setSession] = useState(start.session);
  const [notice, setNotice] = useState(start.pendingToken ? 'Enter the project ID that goes with this API key.' : null);
  const [readOnly, setReadOnly] = useState(null);
  const [info, setInfo] = useState(undefined); // GET /session: undefined while loading, null when unknown
  const [expired, setExpired] = useState(false);
  const [project, setProject] = useState(null);
  const [hasWebHook, setHasWebHook] = useState(false);
  const current = useRef(session);
  current.current = session;
  const route = useRoute();

  useEffect(() => {
    onApiEvent('unauthorized', (err, s) => {
      if (!current.current || s.token !== current.current.token) return;
      if (s.kind === 'portal') {
        // A portal never falls back to a credential form: it says so and tells the host page.
        setExpired(true);
        announceExpired();
        return;
      }
      clearSession();
      forgetCatalogue();
      setSession(null);
      setNotice(`You were signed out (${err.message}). Sign in again.`);
    });
    onApiEvent('forbiddenWrite', (err, s) => {
      // Only the read-only refusal marks the session; a portal token is also refused key
      // rotation and portal links, which says nothing about its other writes.
      if (current.current && s.token === current.current.token && s.kind === 'portal' && /read-only/.test(err.message)) {
        setReadOnly(err.message);
      }
    });
  }, []);

  useEffect(() => {
    setInfo(undefined);
    if (!session) {
      applyTheme(null);
      return;
    }
    sessionInfo(session)
      .then((i) => {
        if (current.current !== session) return;
        setInfo(i);
        applyTheme(i && i.theme);
        setBrand(i && i.theme && i.theme.brand_name);
      })
      .catch(() => current.current === session && setInfo(null));
  }, [session && session.token]);

  useEffect(() => {
    setProject(null);
    setHasWebHook(false);
    if (!session || session.projectId === null) return;
    request(session, 'GET', projectPath(session))
      .then(setProject)
      .catch(() => setProject(null));
    if (session.kind === 'portal') {
      request(session, 'GET', projectPath(session, '/web_hook'))
        .then(() => setHasWebHook(true))
        .catch(() => setHasWebHook(false));
    }
  }, [session && session.token, session && session.projectId]);

  function switchSession(s, { stay = false } = {}) {
    clearSession();
    saveSession(s);
    forgetCatalogue();
    setReadOnly(null);
    setSession(s);
    setNotice(null);
    if (!stay) go('#/webhooks');
  }

  const portal = session && session.kind === 'portal';
  const brand = (info && info.theme && info.theme.brand_name) || 'Hookline';
  if (expired) return html`<${Expired} brand=${brand} />`;
  if (!session) {
    return html`<${SignIn} notice=${notice} initialToken=${start.pendingToken || ''} onSignedIn=${(s) => {
      switchSession(s, { stay: true });
      go(s.projectId === null ? '#/projects' : '#/webhooks');
    }} />`;
  }
  // A portal waits for its theme and rights, so it never shows another brand or a write control first.
  if (portal && info === undefined) {
    return html`<main id="main" tabindex="-1"><${Loading} what="the portal" /></main>`;
  }

  const signOut = () => {
    clearSession();
    forgetCatalogue();
    history.replaceState(null, '', location.pathname + location.search);
    setSession(null);
    setReadOnly(null);
    setNotice('Signed out.');
  };
  const openProject = (pid) => switchSession({ ...session, projectId: pid });

  const [a, b, c, d] = route;
  const admin = session.kind === 'admin';
  const keyHolder = session.kind === 'key';
  const hasProject = session.projectId !== null;
  const isReadOnly = Boolean((info && info.read_only) || readOnly);
  const showWebHook = !portal || hasWebHook;
  let page;
  let section;
  if (a === 'event-types') {
    section = 'event-types';
    page = html`<${EventTypes} />`;
  } else if (!hasProject || (admin && a === 'projects')) {
    section = 'projects';
    page = html`<${Projects} />`;
  } else if (a === 'webhooks' && b === 'new' && !isReadOnly) {
    section = 'webhooks';
    page = html`<${WebhookForm} />`;
  } else if (a === 'webhooks' && b === 'wh_default' && (c === 'edit' || !c) && showWebHook) {
    // The project web hook has one editor: its own page.
    section = 'web-hook';
    page = html`<${ProjectWebHook} />`;
  } else if (a === 'webhooks' && b && c === 'edit' && !isReadOnly) {
    section = 'webhooks';
    page = html`<${WebhookForm} id=${b} />`;
  } else if (a === 'webhooks' && b && b !== 'new') {
    section = 'webhooks';
    page = html`<${WebhookPage} id=${b} tab=${c} delivery=${c === 'logs' ? d : undefined} />`;
  } else if (a === 'events' && b) {
    section = 'activity';
    page = html`<${EventPage} id=${b} />`;
  } else if (a === 'activity') {
    section = 'activity';
    page = html`<${Activity} />`;
  } else if (a === 'web-hook' && showWebHook) {
    section = 'web-hook';
    page = html`<${ProjectWebHook} />`;
  } else if (a === 'settings' && keyHolder) {
    section = 'settings';
    page = html`<${Settings} />`;
  } else {
    section = 'webhooks';
    page = html`<${WebhookList} />`;
  }

  const link = (key, href, text) =>
    html`<li><a href=${href} aria-current=${section === key ? 'page' : undefined}>${text}</a></li>`;
  const projectLabel = !hasProject
    ? 'No project open'
    : project && project.name
      ? `${project.name} · project ${session.projectId}`
      : session.projectId === 0 ? 'Operations project · 0' : `Project ${session.projectId}`;
  const kindLabel = { admin: 'Admin', key: 'API key', portal: 'Portal' }[session.kind];

  return html`<${AppContext.Provider} value=${{ session, switchSession, openProject, canWrite: !isReadOnly }}>
    <a class="skip" href="#main" onClick=${(e) => {
      e.preventDefault();
      document.getElementById('main').focus();
    }}>Skip to content</a>
    <header class="topbar">
      <div class="brand-row">
        <span class="brand">${brand}</span>
        <span class="project-label">${projectLabel} <span class="badge kind">${kindLabel}</span>
          ${isReadOnly && html` <span class="badge readonly">Read-only</span>`}</span>
        ${!portal && html`<button type="button" class="btn subtle signout" onClick=${signOut}>Sign out</button>`}
      </div>
      <nav aria-label="Main">
        <ul>
          ${hasProject && link('webhooks', '#/webhooks', 'Webhooks')}
          ${link('event-types', '#/event-types', 'Event types')}
          ${hasProject && link('activity', '#/activity', 'Activity')}
          ${hasProject && showWebHook && link('web-hook', '#/web-hook', 'Project web hook')}
          ${hasProject && keyHolder && link('settings', '#/settings', 'Settings')}
          ${admin && link('projects', '#/projects', 'Projects')}
        </ul>
      </nav>
    </header>
    <main id="main" tabindex="-1">
      ${readOnly &&
      html`<div class="notice warning" role="status">
        <strong>Read-only session.</strong> You can look around, but the server refuses changes: “${readOnly}”
      </div>`}
      <div key=${`${session.projectId}:${route.join('/')}`}>${page}</div>
    </main>
  <//>`;
}

// A new portal link opened in the same page (a host setting its iframe's src again changes
// only the fragment): start over with that token.
window.addEventListener('hashchange', () => {
  if (/^#token=/.test(location.hash)) location.reload();
});

render(html`<${App} />`, document.getElementById('app'));
