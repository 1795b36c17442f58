// Light/dark mode and a portal's accent colour (docs/api.md §13 `theme`).
// The mode is the `data-mode` attribute of <html> (app.css keys the dark palette on it);
// `auto` follows prefers-color-scheme and its changes. An accent sets the CSS custom
// properties of buttons, links, the current tab and the focus ring, with colours worked
// out here so that text stays readable (WCAG contrast 4.5:1 at least).

const root = document.documentElement;
const dark = window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;
// The surfaces that links sit on, per mode (app.css --surface / --bg).
const SURFACES = { light: ['#ffffff', '#f5f6f8'], dark: ['#161b22', '#0e1116'] };
let current = { mode: 'auto', accent: null };

function rgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}
const hex = (c) => `#${c.map((v) => Math.round(v).toString(16).padStart(2, '0')).join('')}`;

function luminance(c) {
  const [r, g, b] = c.map((v) => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

export function contrast(a, b) {
  const [x, y] = [luminance(a), luminance(b)].sort((m, n) => n - m);
  return (x + 0.05) / (y + 0.05);
}

/** Black or white, whichever reads better on `bg` (one of them always reaches 4.5:1). */
export function textOn(bg) {
  return contrast(bg, [0, 0, 0]) >= contrast(bg, [255, 255, 255]) ? '#000000' : '#ffffff';
}

/** The accent, darkened (light mode) or lightened (dark mode) just enough to read as text on every surface. */
export function readableOn(accent, surfaces, towards) {
  const target = rgb(towards);
  for (let t = 0; t <= 1.0001; t += 0.05) {
    const c = accent.map((v, i) => v + (target[i] - v) * t);
    if (surfaces.every((s) => contrast(c, rgb(s)) >= 4.5)) return hex(c);
  }
  return towards;
}

function resolvedMode() {
  if (current.mode === 'light' || current.mode === 'dark') return current.mode;
  return dark && dark.matches ? 'dark' : 'light';
}

function paint() {
  const mode = resolvedMode();
  root.dataset.mode = mode;
  const props = ['--accent', '--accent-text', '--link', '--focus'];
  if (!current.accent) {
    for (const p of props) root.style.removeProperty(p);
    return;
  }
  const accent = rgb(current.accent);
  const link = readableOn(accent, SURFACES[mode], mode === 'dark' ? '#ffffff' : '#000000');
  root.style.setProperty('--accent', current.accent);
  root.style.setProperty('--accent-text', textOn(accent));
  root.style.setProperty('--link', link);
  root.style.setProperty('--focus', link);
}

/** Applies a theme ({mode, accent_color}); null or a missing field means the default. */
export function applyTheme(theme) {
  const mode = theme && ['light', 'dark', 'auto'].includes(theme.mode) ? theme.mode : 'auto';
  const accent = theme && typeof theme.accent_color === 'string' && /^#[0-9a-fA-F]{6}$/.test(theme.accent_color)
    ? theme.accent_color.toLowerCase() : null;
  current = { mode, accent };
  paint();
}

if (dark) {
  if (dark.addEventListener) dark.addEventListener('change', paint);
  else if (dark.addListener) dark.addListener(paint);
}
paint();
