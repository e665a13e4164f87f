/**
 * The CLI's exit codes, one meaning each, so that scripts can tell "the migration failed" from "you called
 * me wrong" from "libvirt is not there". Documented in docs/cli.md.
 */
export const ExitCode = {
  /** The command did what was asked: an explanation or a report printed, a migration completed. */
  OK: 0,
  /** The migration ran and did not complete: failed, cancelled (Ctrl-C) or ended in error. */
  MIGRATION_FAILED: 1,
  /** Bad input: an unknown option, a missing file, JSON of the wrong shape, an invalid nova.conf. */
  USAGE: 2,
  /** libvirt is not installed, the connection failed or was lost, or the domain does not exist. */
  LIBVIRT: 3,
  /** The input is well-formed but the policy refuses it: e.g. the flavor asks for post-copy this host cannot do. */
  POLICY_REFUSED: 4,
  /** Placement could not be reached, refused the request or the token, is too old, or answered nonsense. */
  PLACEMENT: 5,
  /** `candidates`: Placement has no host for the request; the output says why. */
  NO_CANDIDATES: 6,
  /** A bug in this program: the message says what happened and where to report it (package.json's `bugs`). */
  INTERNAL: 70,
} as const;

/** One of {@link ExitCode}'s values. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
