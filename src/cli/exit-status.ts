// Kept apart from exit-codes.ts, which loads the tape module (and zod's schemas) for RetrialError:
// `retrial --help` and `--version` need only these numbers.

/**
 * What the exit status of `retrial` means, so scripts can branch on it. Every error code maps
 * to one status here; unknown failures are internal errors (70, as sysexits has it).
 */
export const ExitCode = {
  ok: 0,
  /** A check ran and found problems (verify, later replay divergences). */
  checkFailed: 1,
  /** The command line was wrong. */
  usage: 2,
  /** A run, step, campaign or file named on the command line does not exist or cannot be read. */
  notFound: 3,
  /** The store could not be opened, read or written. */
  store: 4,
  /** A tape or input file is malformed. */
  badInput: 5,
  /** A model endpoint could not be reached or refused the request. */
  endpoint: 6,
  /** `copy` refused before writing: the target holds other data under the source's ids, or the source's audit log is broken. */
  refused: 7,
  /** Stopped by SIGINT or SIGTERM; what was written stays (a `copy` run again finishes). */
  interrupted: 130,
  internal: 70,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
