/** Longest user-supplied text copied into a log line; the rest is replaced by its length. */
const MAX_LOGGED_CHARS = 64;

// C0/C1 controls, DEL, and the Unicode line/paragraph separators: anything that could
// start a new log line or drive a terminal.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * A user-supplied string made safe for one log line: control characters are
 * escaped (`\n`, `\u001b`) and long values truncated, so a client cannot forge
 * log lines or drive an operator's terminal (log injection).
 */
export function logText(value: unknown): string {
  if (value === undefined || value === null) return String(value);
  let s = String(value);
  const long = s.length > MAX_LOGGED_CHARS;
  if (long) s = s.slice(0, MAX_LOGGED_CHARS);
  s = s.replace(UNSAFE, escapeChar);
  return long ? `${s}…(${String(value).length} chars)` : s;
}

/** Escapes control characters only (for messages that embed user text but must stay whole). */
export function escapeControls(s: string): string {
  return s.replace(UNSAFE, escapeChar);
}

function escapeChar(c: string): string {
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  if (c === '\t') return '\\t';
  return '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0');
}
