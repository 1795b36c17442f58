// Destinations in the customer's AWS account: a webhook's `destination` instead of its URL
// (SQS, SNS, EventBridge, Kinesis). The form's fields per type, the body sent, how a
// destination is shown, and the trust policy the customer's role needs.
import { useEffect, useId, useRef, useState } from './vendor/hooks.module.js';
import { request, projectPath } from './api.js';
import { html, useApp, Field, OnceValue, ErrorBox, Loading, useAlive, copyText, prettyJson } from './ui.js';

/** The Destination type options: '' is an HTTPS endpoint (the webhook's URL). */
export const DEST_TYPES = [['', 'HTTPS endpoint'], ['sqs', 'Amazon SQS'], ['sns', 'Amazon SNS'],
  ['eventbridge', 'Amazon EventBridge'], ['kinesis', 'Amazon Kinesis']];

const ROLE = ['role_arn', 'Role ARN', 'The IAM role in your account that Hookline assumes to send: arn:aws:iam::<account>:role/<name>.'];
/** Each type's fields: [name, label, hint, optional]. */
const FIELDS = {
  sqs: [['queue_url', 'Queue URL', 'https://sqs.<region>.amazonaws.com/<account>/<queue>'], ROLE,
    ['message_group_id', 'Message group ID', 'Optional, for FIFO queues (.fifo).', true]],
  sns: [['topic_arn', 'Topic ARN', 'arn:aws:sns:<region>:<account>:<topic>'], ROLE],
  eventbridge: [['event_bus_arn', 'Event bus ARN', 'arn:aws:events:<region>:<account>:event-bus/<name>'], ROLE,
    ['source', 'Source', 'Optional; the events\' Source, hookline when empty.', true]],
  kinesis: [['stream_arn', 'Stream ARN', 'arn:aws:kinesis:<region>:<account>:stream/<name>'], ROLE],
};

export const destTypeName = (type) => (DEST_TYPES.find(([v]) => v && v === type) || [type, String(type)])[1];

/** The queue URL or resource ARN a destination sends to. */
export function destResource(d) {
  const first = (FIELDS[d.type] || [])[0];
  return first ? String(d[first[0]] ?? '') : '';
}

/** `destination/<name>` of the chosen type's fields (else null); `destination` and `destination/type` go to the select. */
export function destErrorKey(type, field) {
  if (field === 'destination' || field === 'destination/type') return 'destination/type';
  const name = field.startsWith('destination/') ? field.slice(12) : null;
  return name && (FIELDS[type] || []).some(([n]) => n === name) ? field : null;
}

/** The form's values of a stored destination (every type's fields, so switching types keeps what is common). */
export const destValues = (d) => {
  const out = {};
  for (const [k, v] of Object.entries(d || {})) if (k !== 'type' && typeof v === 'string') out[k] = v;
  return out;
};

/** The `destination` sent: the type and its own fields, trimmed; empty ones left out (the API names missing required ones). */
export function destBody(type, values) {
  const out = { type };
  for (const [name] of FIELDS[type] || []) {
    const v = String(values[name] ?? '').trim();
    if (v !== '') out[name] = v;
  }
  return out;
}

/** Two destinations alike, whatever the order of their keys. */
export function sameDest(a, b) {
  if (!a || !b) return a === b;
  const ka = Object.keys(a).filter((k) => a[k] !== null && a[k] !== undefined);
  const kb = Object.keys(b).filter((k) => b[k] !== null && b[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => a[k] === b[k]);
}

/** The chosen type's inputs, with the API's errors by each. */
export function DestinationFields({ type, values, setValue, byField }) {
  return (FIELDS[type] || []).map(([name, label, hint]) => html`<${Field} key=${`${type}-${name}`} label=${label}
    value=${values[name] || ''} onValue=${(v) => setValue(name, v)} error=${byField[`destination/${name}`]}
    hint=${hint} spellcheck="false" autocomplete="off" class="mono" />`);
}

/** The destination rows of a webhook's overview. */
export function DestinationDetails({ d }) {
  return html`
    <dt>Destination</dt><dd>${destTypeName(d.type)}</dd>
    ${(FIELDS[d.type] || []).map(([name, label, , optional]) => html`<dt>${label}</dt><dd>${
      d[name] !== null && d[name] !== undefined && d[name] !== ''
        ? html`<span class="mono">${String(d[name])}</span>`
        : html`<span class="muted">${optional && name === 'source' ? 'hookline (default)' : 'None'}</span>`}</dd>`)}`;
}

/** Where a webhook delivers, as the list and its page show it: the URL, or the destination's type and resource. */
export function Target({ wh, tag = 'span' }) {
  const d = wh.destination;
  if (!d) return tag === 'p' ? html`<p class="url mono">${wh.url}</p>` : html`<span class="url mono">${wh.url}</span>`;
  const inner = html`<span class="dest-type">${destTypeName(d.type)}</span> <span class="mono">${destResource(d)}</span>`;
  return tag === 'p' ? html`<p class="url">${inner}</p>` : html`<span class="url">${inner}</span>`;
}

export const PRINCIPAL = 'arn:aws:iam::<HOOKLINE_ACCOUNT_ID>:root';

/** The trust policy of the customer's role: Hookline's account may assume it with the project's external id. */
export const trustPolicy = (externalId) => prettyJson({
  Version: '2012-10-17',
  Statement: [{
    Effect: 'Allow',
    Principal: { AWS: PRINCIPAL },
    Action: 'sts:AssumeRole',
    Condition: { StringEquals: { 'sts:ExternalId': externalId } },
  }],
});

/** The project's external id and the trust policy to paste in the role, with Copy. */
export function TrustPolicy() {
  const { session } = useApp();
  const [project, setProject] = useState(null);
  const [error, setError] = useState(null);
  const [copied, setCopied] = useState('');
  const area = useRef(null);
  const alive = useAlive();
  const hid = useId();
  useEffect(() => {
    request(session, 'GET', projectPath(session))
      .then((p) => alive.current && setProject(p))
      .catch((e) => alive.current && setError(e));
  }, [session.projectId]);
  const policy = project && project.external_id ? trustPolicy(String(project.external_id)) : null;
  return html`<section class="panel trust" aria-labelledby=${`${hid}-h`}>
    <h2 id=${`${hid}-h`}>Trust policy</h2>
    <p class="hint">Hookline assumes the role above with this project's external id. Give the role this trust policy
      and permission to send to the destination.</p>
    <${ErrorBox} error=${error} />
    ${!project && !error && html`<${Loading} what="the external id" />`}
    ${project && !policy && html`<p class="muted">This API does not give the project's external id.</p>`}
    ${policy && html`
      <${OnceValue} label="External ID" value=${String(project.external_id)} copyLabel="Copy external ID" />
      <div class="field">
        <label for=${`${hid}-p`}>Trust policy JSON</label>
        <p class="hint" id=${`${hid}-hint`}>Replace <code>${'<HOOKLINE_ACCOUNT_ID>'}</code> with the AWS account Hookline
          delivers from; your Hookline operator gives it.</p>
        <textarea id=${`${hid}-p`} ref=${area} readonly class="mono code-input policy" rows=${policy.split('\n').length} spellcheck="false"
          aria-describedby=${`${hid}-hint`} value=${policy}></textarea>
        <div class="actions">
          <button type="button" class="btn" onClick=${async () =>
            setCopied((await copyText(policy, area.current)) ? 'Copied.' : 'Copy failed: select the text and copy it by hand.')}>Copy</button>
        </div>
        <p class="hint" role="status">${copied}</p>
      </div>`}
  </section>`;
}
