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
    case 'STORE_MISSING_DATABASE':
      return ExitCode.notFound;
    case 'STORE':
    case 'STORE_UNAVAILABLE':
    case 'STORE_AUTH':
    case 'STORE_PERMISSION':
    case 'STORE_SCHEMA_NEWER':
      return ExitCode.store;
    case 'TAPE_FORMAT':
    case 'POLICY':
      return ExitCode.badInput;
    case 'USAGE':
      return ExitCode.usage;
    case 'ENDPOINT':
      return ExitCode.endpoint;
    case 'COPY_REFUSED':
      return ExitCode.refused;
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

/** Node's system errors (ENOENT and the like) carry these; a user's path or port caused them. */
interface SystemError extends Error {
  code: string;
  syscall?: string;
  path?: string;
  port?: number;
}

function isSystemError(error: unknown): error is SystemError {
  return error instanceof Error && typeof (error as SystemError).code === 'string' && typeof (error as SystemError).syscall === 'string';
}

const SYSTEM_REASONS: Record<string, { code: string; reason: string }> = {
  ENOENT: { code: 'FILE_NOT_FOUND', reason: 'no such file or directory' },
  ENOTDIR: { code: 'FILE_NOT_FOUND', reason: 'a part of the path is not a directory' },
  EISDIR: { code: 'FILE_NOT_FOUND', reason: 'it is a directory, not a file' },
  EACCES: { code: 'FILE_NOT_FOUND', reason: 'permission denied' },
  EPERM: { code: 'FILE_NOT_FOUND', reason: 'operation not permitted' },
  EROFS: { code: 'STORE', reason: 'the file system is read-only' },
  ENOSPC: { code: 'STORE', reason: 'the disk is full' },
};

/**
 * The error as the user should see it: failures their input caused that escaped as a Node
 * system error or a stack overflow become one-line RetrialErrors with a documented exit code;
 * anything else is returned unchanged (and reported as an internal error).
 */
export function asUserError(error: unknown): unknown {
  if (RetrialError.isInstance(error)) return error;
  if (error instanceof RangeError && /call stack size exceeded/i.test(error.message))
    return new RetrialError({
      code: 'TAPE_FORMAT',
      message: 'The input is nested too deeply to process (a JSON or YAML value thousands of levels deep).',
      cause: error,
    });
  if (!isSystemError(error)) return error;
  const known = SYSTEM_REASONS[error.code];
  if (!known) return error;
  const target = error.path ?? (error.port === undefined ? 'the file' : `port ${error.port}`);
  return new RetrialError({ code: known.code, message: `Cannot ${error.syscall} ${target}: ${known.reason}.`, cause: error });
}
