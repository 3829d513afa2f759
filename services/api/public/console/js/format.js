/* global document */
// Display helpers. Text always goes into the page through textContent, never as HTML.

const LABELS = { agent: 'Agent', technician: 'Technician' };

export const speakerLabel = (speaker) =>
  LABELS[speaker] ?? speaker.replace(/(^|-)([a-z])/g, (_, dash, c) => (dash ? ' ' : '') + c.toUpperCase());

/** 83_000 → "1:23"; null → "—". */
export function duration(ms) {
  if (ms === null || ms === undefined) return '—';
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

export const dateTime = (iso) =>
  iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' }) : '—';

/** A Twilio client identity without its `client:` prefix. */
export const agentLabel = (agent) => (agent ? agent.replace(/^client:/, '') : 'agent');

export const shortSid = (sid) => `${sid.slice(0, 6)}…${sid.slice(-4)}`;

/** Creates an element with a class and text (or children). */
export function el(tag, className, content) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (typeof content === 'string') node.textContent = content;
  else if (Array.isArray(content)) node.append(...content.filter(Boolean));
  return node;
}
