import { RetrialError } from '../tape/index.ts';
import { ExitCode } from './exit-status.ts';

export { ExitCode } from './exit-status.ts';

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
