/**
 * The CLI's output without credentials: every chunk written to stdout or stderr — text, `--json`, errors,
 * the live progress block — goes through `redactText` first, with the secrets the command line itself
 * carries (a token given as an option or in the OpenStack environment variables).
 */
import { redactText } from '../index.js';
import type { OutputStream } from './progress.js';

/** Options whose value is a secret, and the OpenStack environment variables that hold one. */
const SECRET_OPTIONS = new Set(['--token', '--password', '--os-token', '--os-password']);
const SECRET_VARIABLES = ['OS_TOKEN', 'OS_AUTH_TOKEN', 'OS_PASSWORD'];

/** The secrets a command line carries: `--token T` / `--token=T` values and the OpenStack variables' values. */
export function commandLineSecrets(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const secrets: string[] = [];
  argv.forEach((arg, i) => {
    const [name, inline] = arg.split(/=(.*)/s, 2) as [string, string | undefined];
    if (!SECRET_OPTIONS.has(name)) return;
    const value = inline ?? argv[i + 1];
    if (value !== undefined && value !== '') secrets.push(value);
  });
  for (const name of SECRET_VARIABLES) {
    const value = env[name];
    if (value !== undefined && value !== '') secrets.push(value);
  }
  return secrets;
}

/** `stream` with every write redacted; everything else (isTTY, columns, the rest log-update uses) as it is. */
export function redactingStream(stream: OutputStream, secrets: readonly string[]): OutputStream {
  return new Proxy(stream, {
    get(target, property) {
      if (property === 'write') {
        return (chunk: unknown, ...rest: unknown[]) =>
          (target.write as (...args: unknown[]) => boolean).call(
            target,
            typeof chunk === 'string' ? redactText(chunk, secrets) : chunk,
            ...rest,
          );
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
