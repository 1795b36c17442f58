// Entry point: signs in (URL fragment or form), then routes #/… to the pages.
import { render } from './vendor/preact.module.js';
import { useEffect, useRef, useState } from './vendor/hooks.module.js';
import {
  loadSession, saveSession, clearSession, takeFragmentToken, makeSession, onApiEvent, request, projectPath,
  forgetCatalogue,
} from './api.js';
import { html, AppContext, go } from './ui.js';
import { WebhookList, WebhookForm, WebhookPage } from './webhooks.js';
import { Activity } from './activity.js';
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

function App() {
  const [start] = useState(boot);
  const [session, setSession] = useState(start.session);
  const [notice, setNotice] = useState(start.pendingToken ? 'Enter the project ID that goes with this API key.' : null);
  const [readOnly, setReadOnly] = useState(null);
  const [project, setProject] = useState(null);
  const current = useRef(session);
  current.current = session;
  const route = useRoute();

  useEffect(() => {
    onApiEvent('unauthorized', (err, s) => {
      if (!current.current || s.token !== current.current.token) return;
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
    setProject(null);
    // The admin token is only good for project 0's webhook, test and log routes (docs/api.md §12).
    if (!session || session.projectId === null || session.kind === 'admin') return;
    request(session, 'GET', projectPath(session))
      .then(setProject)
      .catch(() => setProject(null));
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

  if (!session) {
    return html`<${SignIn} notice=${notice} initialToken=${start.pendingToken || ''} onSignedIn=${(s) => {
      switchSession(s, { stay: true });
      go(s.projectId === null ? '#/projects' : '#/webhooks');
    }} />`;
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

  const [a, b, c] = route;
  const admin = session.kind === 'admin';
  const hasProject = session.projectId !== null;
  let page;
  let section;
  if (!hasProject || (admin && a === 'projects')) {
    section = 'projects';
    page = html`<${Projects} />`;
  } else if (a === 'webhooks' && b === 'new') {
    section = 'webhooks';
    page = html`<${WebhookForm} />`;
  } else if (a === 'webhooks' && b && c === 'edit') {
    section = 'webhooks';
    page = html`<${WebhookForm} id=${b} />`;
  } else if (a === 'webhooks' && b) {
    section = 'webhooks';
    page = html`<${WebhookPage} id=${b} tab=${c} />`;
  } else if (a === 'activity') {
    section = 'activity';
    page = html`<${Activity} />`;
  } else if (a === 'web-hook') {
    section = 'web-hook';
    page = html`<${ProjectWebHook} />`;
  } else if (a === 'settings' && !admin) {
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
  const kindLabel = { admin: 'Admin', key: 'API key', portal: readOnly ? 'Portal · read-only' : 'Portal' }[session.kind];

  return html`<${AppContext.Provider} value=${{ session, switchSession, openProject }}>
    <a class="skip" href="#main" onClick=${(e) => {
      e.preventDefault();
      document.getElementById('main').focus();
    }}>Skip to content</a>
    <header class="topbar">
      <div class="brand-row">
        <span class="brand">Hookline</span>
        <span class="project-label">${projectLabel} <span class="badge kind">${kindLabel}</span></span>
        <button type="button" class="btn subtle signout" onClick=${signOut}>Sign out</button>
      </div>
      <nav aria-label="Main">
        <ul>
          ${hasProject && link('webhooks', '#/webhooks', 'Webhooks')}
          ${hasProject && link('activity', '#/activity', 'Activity')}
          ${hasProject && link('web-hook', '#/web-hook', 'Project web hook')}
          ${hasProject && !admin && link('settings', '#/settings', 'Settings')}
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

render(html`<${App} />`, document.getElementById('app'));
