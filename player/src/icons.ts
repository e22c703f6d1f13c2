/**
 * Inline SVG icons: drawn with the text colour, crisp at any size, and independent of emoji
 * fonts (which many systems, and headless browsers, lack).
 */
const svg = (body: string): string =>
  `<svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" fill="currentColor" stroke="currentColor" stroke-width="0" stroke-linecap="round" stroke-linejoin="round">${body}</svg>`;

const SPEAKER = '<path d="M4 9h4l5-4v14l-5-4H4z"/>';

export const ICONS = {
  play: svg('<path d="M8 5l11 7-11 7z"/>'),
  pause: svg('<rect x="6" y="5" width="4" height="14" rx="1"/><rect x="14" y="5" width="4" height="14" rx="1"/>'),
  sound: svg(`${SPEAKER}<path d="M16 8.5a5 5 0 0 1 0 7M18.5 6a8.5 8.5 0 0 1 0 12" fill="none" stroke-width="2"/>`),
  muted: svg(`${SPEAKER}<path d="M16 9l6 6M22 9l-6 6" fill="none" stroke-width="2"/>`),
  fullscreen: svg('<path d="M4 9V4h5M20 9V4h-5M4 15v5h5M20 15v5h-5" fill="none" stroke-width="2"/>'),
  stats: svg('<circle cx="12" cy="12" r="9" fill="none" stroke-width="2"/><path d="M12 11v6M12 7.5v.5" fill="none" stroke-width="2.4"/>'),
} as const;
