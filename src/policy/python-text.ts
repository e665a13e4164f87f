/**
 * Python's notion of whitespace, so that values are trimmed exactly as oslo.config and Nova trim them.
 * JavaScript's `trim()` differs: it strips U+FEFF (Python keeps it) and keeps U+001C–U+001F and U+0085
 * (Python strips them), so `'\ufefftrue'` would pass here while Nova refuses it.
 *
 * @module
 */

/** `str.isspace()` for one UTF-16 code unit (every Python whitespace character is in the BMP). */
export function isPythonSpace(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d) || (code >= 0x1c && code <= 0x1f);
  if (code < 0x85) return false;
  return (
    code === 0x85 ||
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000
  );
}

/**
 * Python's `str.strip()` with no argument.
 *
 * @example
 * ```ts
 * pythonStrip('\x1f true\u3000'); // 'true'
 * pythonStrip('\ufefftrue'); // '\ufefftrue': not whitespace to Python
 * ```
 */
export function pythonStrip(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isPythonSpace(text.charCodeAt(start))) start++;
  while (end > start && isPythonSpace(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/** Python's `str.rstrip()` with no argument. */
export function pythonRstrip(text: string): string {
  let end = text.length;
  while (end > 0 && isPythonSpace(text.charCodeAt(end - 1))) end--;
  return end === text.length ? text : text.slice(0, end);
}

/** Python's `str.lstrip()` with no argument. */
export function pythonLstrip(text: string): string {
  let start = 0;
  while (start < text.length && isPythonSpace(text.charCodeAt(start))) start++;
  return start === 0 ? text : text.slice(start);
}
