// How Hookline authenticates to a webhook's endpoint (docs/api.md §17): `auth` (OAuth 2.0 client
// credentials or Basic), `tls` (client certificate and key, CA certificates) and the signature
// scheme. The form's fields, the bodies sent, where the API's errors go and the overview's rows.
// Secrets and the key are write-only: never shown, left empty on edit to keep the stored ones.
import { html, Field, Select, TextArea, OnceValue } from './ui.js';

export const AUTH_TYPES = [['', 'None'], ['oauth2', 'OAuth 2.0 client credentials'], ['basic', 'Basic']];
export const SCHEMES = [['hmac', 'HMAC-SHA256 (shared secret)'], ['ed25519', 'Ed25519 (public key)']];
const SECRET = { oauth2: 'client_secret', basic: 'password' };
/** Each type's fields: [name, label, hint, optional]; the secret is the type's SECRET. */
const AUTH_FIELDS = {
  oauth2: [['token_url', 'Token URL', 'Hookline gets a bearer token here (client credentials grant) and sends it with every delivery.'],
    ['client_id', 'Client ID'], ['client_secret', 'Client secret'],
    ['scope', 'Scope', 'Optional.', true], ['audience', 'Audience', 'Optional.', true]],
  basic: [['username', 'Username', 'Sent as Authorization: Basic with every delivery.'], ['password', 'Password']],
};
const TLS_FIELDS = [['client_certificate', 'Client certificate', 'Optional. PEM, end-entity first: presented to your endpoint for mutual TLS.'],
  ['client_key', 'Client key', 'PEM private key of the certificate (RSA, ECDSA or Ed25519). Write-only.'],
  ['ca_certificates', 'CA certificates', 'PEM; your endpoint\'s certificate must chain to one of these instead of the public roots. Optional.']];

export const authTypeName = (type) => (AUTH_TYPES.find(([v]) => v && v === type) || [type, String(type)])[1];
export const schemeName = (s) => (SCHEMES.find(([v]) => v === s) || [s, String(s || 'hmac')])[1];

/** The form's values of a stored webhook: secrets and the key empty (write-only). */
export function endpointValues(wh) {
  const a = wh.auth || {};
  const t = wh.tls || {};
  const out = { authType: a.type ? String(a.type) : '', scheme: wh.signature_scheme === 'ed25519' ? 'ed25519' : 'hmac' };
  for (const [n] of [...AUTH_FIELDS.oauth2, ...AUTH_FIELDS.basic]) out[n] = typeof a[n] === 'string' ? a[n] : '';
  for (const [n] of TLS_FIELDS) out[n] = typeof t[n] === 'string' ? t[n] : '';
  out.client_key = '';
  return out;
}

/** The stored secret stays when the form leaves it empty: same type, and one is set. */
const keepsSecret = (orig, type) => Boolean(orig && orig.auth && orig.auth.type === type && orig.auth.secret_set);

/**
 * `auth` and `tls` for the body (create: only what is given; edit: only what changed, null to
 * remove); `undefined` means leave it out. Required fields left empty are left out too: the API
 * names them. Secrets are sent as typed, the other values trimmed.
 */
export function endpointBody(v, orig) {
  const out = {};
  const type = v.authType;
  if (type) {
    const auth = { type };
    for (const [n] of AUTH_FIELDS[type]) {
      const s = n === SECRET[type] ? v[n] : String(v[n] ?? '').trim();
      if (s !== '') auth[n] = s;
    }
    const o = orig && orig.auth;
    const same = o && o.type === type && !(SECRET[type] in auth) &&
      AUTH_FIELDS[type].every(([n]) => n === SECRET[type] || (auth[n] ?? null) === (o[n] ?? null));
    if (!same) out.auth = auth;
  } else if (orig && orig.auth) out.auth = null;
  const tls = {};
  for (const [n] of TLS_FIELDS) {
    const s = String(v[n] ?? '').trim();
    if (s !== '') tls[n] = s;
  }
  const t = orig && orig.tls;
  if (Object.keys(tls).length === 0) {
    if (t) out.tls = null;
  } else if (!(t && !tls.client_key && (tls.client_certificate ?? null) === (t.client_certificate ?? null) &&
      (tls.ca_certificates ?? null) === (t.ca_certificates ?? null))) out.tls = tls;
  return out;
}

/** The input an `auth…`/`tls…`/`signature_scheme` error belongs to (a key of byField), or null. */
export function endpointErrorKey(authType, field) {
  if (field === 'auth' || field === 'auth/type') return 'auth';
  if (field === 'tls') return 'tls/client_certificate';
  if (field === 'signature_scheme') return field;
  if (field.startsWith('auth/')) return (AUTH_FIELDS[authType] || []).some(([n]) => `auth/${n}` === field) ? field : null;
  return TLS_FIELDS.some(([n]) => `tls/${n}` === field) ? field : null;
}

/** `Authentication` and the chosen type's fields. */
export function AuthFields({ v, set, byField, orig }) {
  const type = v.authType;
  const kept = keepsSecret(orig, type);
  return html`
    <${Select} label="Authentication" value=${type} onValue=${set('authType')} error=${byField.auth} options=${AUTH_TYPES}
      hint="How Hookline authenticates to your endpoint besides the signature." />
    ${(AUTH_FIELDS[type] || []).map(([n, label, hint]) => {
      const secret = n === SECRET[type];
      return html`<${Field} key=${`${type}-${n}`} label=${label} value=${v[n]} onValue=${set(n)} error=${byField[`auth/${n}`]}
        type=${secret ? 'password' : n === 'token_url' ? 'url' : 'text'} spellcheck="false"
        autocomplete=${secret ? 'new-password' : 'off'}
        hint=${secret ? (kept ? 'Write-only. One is stored; leave empty to keep it, or type a new one.' : 'Write-only.') : hint} />`;
    })}`;
}

/** The client certificate, its key and the CA certificates, as PEM. */
export function TlsFields({ v, set, byField, orig }) {
  const keySet = Boolean(orig && orig.tls && orig.tls.client_key_set);
  return html`<fieldset class="kv">
    <legend>TLS</legend>
    ${TLS_FIELDS.map(([n, label, hint]) => html`<${TextArea} key=${n} label=${label} value=${v[n]} onValue=${set(n)}
      error=${byField[`tls/${n}`]} class="mono code-input" rows="4" spellcheck="false" autocomplete="off"
      placeholder=${n === 'client_key' ? '-----BEGIN PRIVATE KEY-----' : '-----BEGIN CERTIFICATE-----'}
      hint=${n === 'client_key' && keySet ? 'Write-only. A key is stored; leave empty to keep it with the certificate above.' : hint} />`)}
  </fieldset>`;
}

/** `Signature scheme`: chosen on create, shown (disabled) on edit. */
export function SchemeField({ v, set, byField, editing }) {
  return html`<${Select} label="Signature scheme" value=${v.scheme} onValue=${set('scheme')} error=${byField.signature_scheme}
    options=${SCHEMES} disabled=${editing}
    hint=${editing ? 'Chosen when the webhook was created; it cannot be changed.'
      : v.scheme === 'ed25519' ? 'Deliveries are signed with a key pair; you verify them with its public key (no shared secret).'
        : 'Deliveries are signed with a shared secret.'} />`;
}

/** The overview's rows: scheme, authentication, TLS (no secrets). */
export function EndpointDetails({ wh }) {
  const a = wh.auth;
  const t = wh.tls;
  const has = (x) => typeof x === 'string' && x !== '';
  const tlsText = t && [has(t.client_certificate) && `Client certificate${t.client_key_set ? ' and key' : ''}`,
    has(t.ca_certificates) && 'CA certificates'].filter(Boolean).join('; ');
  return html`
    ${(!wh.destination || wh.public_key) && html`<dt>Signature scheme</dt><dd>${schemeName(wh.signature_scheme || 'hmac')}</dd>`}
    ${!wh.destination && html`<dt>Authentication</dt><dd>${a
      ? html`${authTypeName(a.type)}${a.type === 'oauth2'
        ? html`<ul class="plain">
            <li>Token URL: <span class="mono">${String(a.token_url ?? '')}</span></li>
            <li>Client ID: <span class="mono">${String(a.client_id ?? '')}</span></li>
            ${has(a.scope) && html`<li>Scope: <span class="mono">${a.scope}</span></li>`}
            ${has(a.audience) && html`<li>Audience: <span class="mono">${a.audience}</span></li>`}
            <li>Client secret: ${a.secret_set ? 'set' : 'not set'}</li>
          </ul>`
        : html`<ul class="plain">
            <li>Username: <span class="mono">${String(a.username ?? '')}</span></li>
            <li>Password: ${a.secret_set ? 'set' : 'not set'}</li>
          </ul>`}`
      : html`<span class="muted">None</span>`}</dd>
    <dt>Mutual TLS</dt><dd>${tlsText || html`<span class="muted">None</span>`}</dd>`}`;
}

/** An ed25519 webhook's public key with Copy. */
export function PublicKey({ wh }) {
  if (!wh.public_key) return null;
  return html`<${OnceValue} label="Public key" value=${String(wh.public_key)}
    note="Verify the v1a signatures of the webhook-signature header with it." />`;
}
