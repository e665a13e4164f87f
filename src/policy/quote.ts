const MAX_SHOWN = 64;

/**
 * Renders an untrusted value for an error message: strings quoted and cut short (metadata can be huge),
 * everything else by type, so a message never embeds megabytes or control characters.
 */
export function quote(value: unknown): string {
  if (typeof value === 'string') {
    const shown = escapeControls(value.slice(0, MAX_SHOWN));
    return value.length > MAX_SHOWN ? `"${shown}…" (${value.length} characters)` : `"${shown}"`;
  }
  if (value === null) return 'null';
  if (isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  return String(value);
}

function escapeControls(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.charCodeAt(0);
    out += code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, '0')}` : char;
  }
  return out;
}

/** `Array.isArray` that answers `false` for a revoked proxy instead of throwing. */
function isArray(value: unknown): boolean {
  try {
    return Array.isArray(value);
  } catch {
    return false;
  }
}
