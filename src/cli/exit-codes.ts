import { RetrialError } from '../tape/index.ts';

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
  /** A run, step or file named on the command line does not exist. */
  notFound: 3,
  /** The store could not be opened, read or written. */
  store: 4,
  /** A tape or input file is malformed. */
  badInput: 5,
  /** A model endpoint could not be reached or refused the request. */
  endpoint: 6,
  internal: 70,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export function exitCodeForError(error: unknown): ExitCode {
  if (!RetrialError.isInstance(error)) return ExitCode.internal;
  switch (error.code) {
    case 'RUN_NOT_FOUND':
    case 'STEP_NOT_FOUND':
    case 'FILE_NOT_FOUND':
    case 'NOT_FOUND':
      return ExitCode.notFound;
    case 'STORE':
      return ExitCode.store;
    case 'TAPE_FORMAT':
    case 'POLICY':
      return ExitCode.badInput;
    case 'USAGE':
      return ExitCode.usage;
    case 'ENDPOINT':
      return ExitCode.endpoint;
    default:
      return ExitCode.internal;
  }
}

/** A command-line mistake the user can fix: printed as one line, exit status 2. */
export class UsageError extends RetrialError {
  constructor(message: string) {
    super({ code: 'USAGE', message });
    this.name = 'UsageError';
  }
}
