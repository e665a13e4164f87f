/**
 * Credentials out of everything the library prints: a URI's password, query parameters that carry secrets
 * (`?password=…`, `?token=…`), and secrets the caller names (a Placement token, a Keystone token a provider
 * returned). Errors, log records, the CLI's output and its `--json` go through here; nothing else in the
 * library keeps a credential. User names, host names and paths (`pkipath=`) are kept: they say where, not who
 * may.
 *
 * @module
 */

/** What a redacted credential reads as. */
export const REDACTED = '***';

/**
 * Query parameters whose value is a secret: any name containing `password`, `passwd`, `secret`, `token` or
 * `credential`, and `pass`, `pwd`, `key`, `apikey`, `api_key`, `access_key`, `auth_key`. Libvirt's own
 * `pkipath`, `keyfile` (a path) and `auth` (a mechanism's name) are not secrets and stay.
 */
const SECRET_PARAM =
  /^(?:.*(?:password|passwd|secret|token|credential).*|pass|pwd|key|apikey|api_key|access_key|auth_key)$/i;

/** `scheme://user:password@` — the authority's password, up to the `@` before the host. */
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@:'"]*):([^\s/?#@'"]*)@/gi;

/** `name=value` pairs after `?`, `&` or `;` in URIs and in free text. */
const PARAM = /([?&;])([^=&;#\s'"]+)=([^&;#\s'"]*)/g;

/** Token headers written out (`X-Auth-Token: …`, `"x-auth-token":"…"`, `Authorization: Bearer …`). */
const HEADER =
  /((?:x-auth-token|x-subject-token|x-service-token|authorization)["']?\s*[:=]\s*["']?(?:bearer\s+|basic\s+)?)([^\s"',;}]+)/gi;

/** Secrets shorter than this are not searched for in text: a 2-character "secret" would mangle everything. */
const MIN_SECRET_LENGTH = 4;

/**
 * A URI with its password and its secret-carrying query parameters replaced by `***`; the user name, host,
 * path and every other parameter stay, so the URI still says where it points.
 *
 * @example
 * ```ts
 * redactUri('qemu+tls://admin:s3cr3t@compute-2/system?pkipath=/etc/pki/agent&password=hunter2');
 * // 'qemu+tls://admin:***@compute-2/system?pkipath=/etc/pki/agent&password=***'
 * ```
 */
export function redactUri(uri: string): string {
  return redactText(uri);
}

/**
 * Free text (a message, a log line, JSON) with every credential in it redacted: passwords inside URIs,
 * secret query parameters, token headers written out, and each of `secrets` wherever it occurs (tokens have no syntax that gives them
 * away, so the caller who holds one names it).
 *
 * @example
 * ```ts
 * redactText('connect to qemu+ssh://root:pw1234@host/system failed', []);
 * // 'connect to qemu+ssh://root:***@host/system failed'
 * redactText('X-Auth-Token gAAAAABtoken refused', ['gAAAAABtoken']); // 'X-Auth-Token *** refused'
 * ```
 */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = text
    .replace(USERINFO, (_all, scheme: string, user: string) => `${scheme}${user}:${REDACTED}@`)
    .replace(PARAM, (all, lead: string, name: string) =>
      SECRET_PARAM.test(name) ? `${lead}${name}=${REDACTED}` : all,
    )
    .replace(HEADER, (_all, head: string) => `${head}${REDACTED}`);
  for (const secret of secrets) {
    if (typeof secret === 'string' && secret.length >= MIN_SECRET_LENGTH)
      out = out.split(secret).join(REDACTED);
  }
  return out;
}

/**
 * True when `text` still holds a credential {@link redactText} would remove: for tests and for callers who
 * refuse to print rather than redact.
 *
 * @example
 * ```ts
 * holdsCredential('qemu+tls://admin:s3cr3t@h/system'); // true
 * holdsCredential('qemu+tls://admin:***@h/system'); // false
 * ```
 */
export function holdsCredential(text: string, secrets: readonly string[] = []): boolean {
  return redactText(text, secrets) !== text;
}

/**
 * An error safe to print: the same error when nothing in its message or stack holds a credential, otherwise a
 * copy of the same class with both redacted (own fields copied, string ones redacted; the cause redacted the
 * same way). The original is never changed: a caller's error stays theirs.
 *
 * @example
 * ```ts
 * const safe = redactError(new Error('GET http://u:pw1234@placement/ failed'));
 * safe.message; // 'GET http://u:***@placement/ failed'
 * ```
 */
export function redactError<E extends Error>(error: E, secrets: readonly string[] = [], depth = 0): E {
  const texts = [error.message, error.stack ?? ''];
  const cause = (error as { cause?: unknown }).cause;
  const safeCause = cause instanceof Error && depth < 4 ? redactError(cause, secrets, depth + 1) : cause;
  const ownStrings = Object.entries(error).filter(([, v]) => typeof v === 'string') as [string, string][];
  const dirty =
    texts.some((t) => holdsCredential(t, secrets)) ||
    ownStrings.some(([, v]) => holdsCredential(v, secrets)) ||
    safeCause !== cause;
  if (!dirty) return error;
  const copy = Object.create(Object.getPrototypeOf(error)) as E;
  for (const [key, value] of Object.entries(error)) {
    (copy as Record<string, unknown>)[key] = typeof value === 'string' ? redactText(value, secrets) : value;
  }
  for (const key of ['message', 'stack'] as const) {
    const value = error[key];
    if (value !== undefined)
      Object.defineProperty(copy, key, {
        value: redactText(value, secrets),
        writable: true,
        configurable: true,
        enumerable: false,
      });
  }
  if (cause !== undefined)
    Object.defineProperty(copy, 'cause', { value: safeCause, writable: true, configurable: true });
  return copy;
}
