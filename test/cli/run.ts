/**
 * Runs the CLI in-process, as `main.ts` does, with captured streams, a Ctrl-C the test presses, and the
 * libvirt backend of the test's choosing.
 */
import { fileURLToPath } from 'node:url';
import { runCli } from '../../src/cli/program.js';
import type { LibvirtBackend } from '../../src/libvirt/index.js';

/** A path under test/cli/fixtures. */
export const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** An output stream that keeps what was written. */
export class Captured {
  text = '';
  constructor(
    readonly isTTY = false,
    readonly columns = 100,
  ) {}
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

/** A running command line: its streams, its Ctrl-C, and its exit code when it ends. */
export interface Running {
  stdout: Captured;
  stderr: Captured;
  /** Presses Ctrl-C (what SIGINT does for the real process). */
  interrupt(): void;
  /** Whether the command is listening for Ctrl-C now. */
  readonly listening: boolean;
  code: Promise<number>;
}

export function start(argv: string[], options: { backend?: LibvirtBackend; tty?: boolean } = {}): Running {
  const stdout = new Captured(options.tty ?? false);
  const stderr = new Captured();
  let handler: (() => void) | undefined;
  const code = runCli(argv, {
    stdout,
    stderr,
    onInterrupt: (h) => {
      handler = h;
      return () => {
        handler = undefined;
      };
    },
    ...(options.backend === undefined ? {} : { backend: options.backend }),
  });
  return {
    stdout,
    stderr,
    interrupt: () => {
      if (handler === undefined) throw new Error('the CLI is not listening for Ctrl-C');
      handler();
    },
    get listening() {
      return handler !== undefined;
    },
    code,
  };
}

/** Runs a command line to its end. */
export async function cli(
  argv: string[],
  options: { backend?: LibvirtBackend } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const running = start(argv, options);
  const code = await running.code;
  return { code, stdout: running.stdout.text, stderr: running.stderr.text };
}
