import { ExitCode, type ExitCodeValue } from './exit-codes.js';

/** A failure the CLI reports in one line and turns into its exit code; never printed with a stack. */
export class CliError extends Error {
  override readonly name = 'CliError';

  constructor(
    message: string,
    readonly exitCode: ExitCodeValue = ExitCode.USAGE,
  ) {
    super(message);
  }
}
