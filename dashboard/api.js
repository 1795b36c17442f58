// The session (kept in sessionStorage only) and the JSON API client.
// Every call sends `Authorization: Bearer <token>`; nothing uses cookies.

const TOKEN = 'hookline.token';
const PROJECT = 'hookline.project';

// The API lives beside the dashboard: /dashboard/api.js -> /api/v1/.
// Resolving from this module's URL keeps it right under any base path.
const API_BASE = new URL('../api/v1', import.meta.url).pathname;

/** 'key' for a project API key, 'portal' for a portal session token, else 'admin'. */
export function tokenKind(token) {
  if (token.startsWith('hk_')) return 'key';
  if (/^pst_\d+_./.test(token)) return 'portal';
  return 'admin';
}

/** A portal token carries its project: pst_<project_id>_<secret>. */
export function portalProject(token) {
  const m = /^pst_(\d+)_/.exec(token);
  return m ? Number(m[1]) : null;
}

export function makeSession(token, projectId) {
  const kind = tokenKind(token);
  const pid = kind === 'portal' ? portalProject(token) : projectId;
  return { token, kind, projectId: pid === undefined || pid === null || Number.isNaN(pid) ? null : pid };
}

export function loadSession() {
  let token = null;
  let project = null;
  try {
    token = sessionStorage.getItem(TOKEN);
    project = sessionStorage.getItem(PROJECT);
  } catch {
    return null;
  }
  if (!token) return null;
  return makeSession(token, project === null || project === '' ? null : Number(project));
}

export function saveSession(s) {
  try {
    sessionStorage.setItem(TOKEN, s.token);
    if (s.projectId === null) sessionStorage.removeItem(PROJECT);
    else sessionStorage.setItem(PROJECT, String(s.projectId));
  } catch {
    // Storage refused (private mode, quota): the session lives in memory only.
  }
}

export function clearSession() {
  try {
    sessionStorage.clear();
  } catch {
    // nothing stored
  }
}

/** Takes `#token=…` from the address, stores it and removes it from the address bar. */
export function takeFragmentToken() {
  const m = /^#token=([^&]*)/.exec(location.hash);
  if (!m) return null;
  let token = m[1];
  try {
    token = decodeURIComponent(token);
  } catch {
    // keep it as it is
  }
  history.replaceState(null, '', location.pathname + location.search);
  return token.trim() || null;
}

// Numbers that a double cannot hold exactly (big ids, long decimals) keep their digits:
// where the browser has JSON source text access and JSON.rawJSON, they are revived as raw
// JSON, which JSON.stringify writes back digit for digit. Elsewhere they are plain numbers.
const LOSSLESS = typeof JSON.rawJSON === 'function';
function revive(_key, value, context) {
  if (typeof value === 'number' && context && typeof context.source === 'string' && String(value) !== context.source) {
    return JSON.rawJSON(context.source);
  }
  return value;
}
export function parseJson(text) {
  return LOSSLESS ? JSON.parse(text, revive) : JSON.parse(text);
}

export class ApiError extends Error {
  constructor(status, message, errors = [], retryAfter = null) {
    super(message);
    this.status = status;
    this.errors = errors;
    this.retryAfter = retryAfter;
  }
}

const listeners = { unauthorized: null, forbiddenWrite: null };

/** Called on every 401 (the session is over) and on a 403 to a write (read-only sessions). */
export function onApiEvent(name, fn) {
  listeners[name] = fn;
}

export async function request(session, method, path, body) {
  const headers = { Authorization: `Bearer ${session.token}`, Accept: 'application/json' };
  const init = { method, headers, credentials: 'omit', cache: 'no-store', redirect: 'error' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(API_BASE + path, init);
  } catch {
    throw new ApiError(0, 'The API could not be reached. Check the connection and try again.');
  }
  let json = null;
  try {
    json = parseJson(await res.text());
  } catch {
    // not JSON: described below by the status code
  }
  if (res.ok && json && json.status === 'success') return json.result;
  const message =
    (json && typeof json.message === 'string' && json.message) ||
    (res.ok ? 'The API sent an answer the dashboard does not understand.' : `The request failed (HTTP ${res.status}).`);
  const errors = json && Array.isArray(json.errors) ? json.errors.filter((e) => e && typeof e === 'object') : [];
  const err = new ApiError(res.status, message, errors, res.headers.get('Retry-After'));
  if (res.status === 401 && listeners.unauthorized) listeners.unauthorized(err, session);
  if (res.status === 403 && method !== 'GET' && listeners.forbiddenWrite) listeners.forbiddenWrite(err, session);
  throw err;
}

/**
 * What the server says about this session (GET /session): kind, read_only, theme, expiry.
 * An API without that route (404/405) gives null: no theme, not known to be read-only.
 */
export async function sessionInfo(session) {
  try {
    const r = await request(session, 'GET', '/session');
    return r && typeof r === 'object' ? r : null;
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 405)) return null;
    throw e;
  }
}

/** Describes an error for a person, with the HTTP status where it helps. */
export function describe(err) {
  if (!(err instanceof ApiError)) return String((err && err.message) || err);
  // The API's message already says what went wrong and, on a 429, when to retry.
  return err.message;
}

/** Path of a project route: projectPath(s, '/webhooks') -> /projects/1/webhooks. */
export function projectPath(session, rest = '') {
  return `/projects/${session.projectId}${rest}`;
}

export function qs(params) {
  const parts = [];
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

let catalogue = null;
/** Pages of 200 read at most: a long catalogue is read whole, a runaway one is cut. */
const CATALOGUE_PAGES = 10;

/**
 * The deployment's event-type catalogue (docs/api.md §11), every page, read once per sign-in and
 * shared by the pages that ask together; an API without it counts as an empty one.
 */
export function eventTypes(session) {
  if (!catalogue) {
    const reading = readCatalogue(session).catch((e) => {
      if (e instanceof ApiError && (e.status === 404 || e.status === 405 || e.status === 403)) return [];
      // A passing failure: the next page to ask tries again (unless a new sign-in already did).
      if (catalogue === reading) catalogue = null;
      return [];
    });
    catalogue = reading;
  }
  return catalogue;
}

async function readCatalogue(session) {
  const all = [];
  let cursor = null;
  for (let page = 0; page < CATALOGUE_PAGES; page++) {
    const r = await request(session, 'GET', `/event-types${qs({ limit: 200, cursor })}`);
    all.push(...(r.items || []).filter((t) => t && typeof t.name === 'string' && !t.archived));
    cursor = r.next_cursor;
    if (!cursor) break;
  }
  return all;
}

export function forgetCatalogue() {
  catalogue = null;
}
