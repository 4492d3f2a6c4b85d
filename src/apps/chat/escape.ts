/**
 * Control characters a chat peer could use to draw on everyone else's terminal: C0 (tab and newline included:
 * one chat message is one line), DEL, C1 (U+0080-U+009F: 8-bit CSI is U+009B) and the Unicode bidirectional
 * overrides and isolates that reorder how the rest of a line is shown.
 */
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function visible(char: string): string {
  if (char === '\u001b') return '^[';
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * Makes a peer's text safe to print on another peer's terminal: ESC becomes `^[`, other control characters
 * `\xNN` (or `\uNNNN` for the bidi controls). Printable text, UTF-8 letters and emoji pass unchanged.
 * @example escapeControls('hi\u001b[2J') // 'hi^[[2J'
 */
export function escapeControls(text: string): string {
  return text.replace(CONTROLS, visible);
}
