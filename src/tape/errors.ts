const MARKER = Symbol.for('retrial.error');

/**
 * Base of every error retrial throws on purpose. `code` is stable and machine-readable; the
 * message is one sentence that says what was wrong and what to do. The marker survives two copies
 * of the package in one process, where `instanceof` does not.
 */
export class RetrialError extends Error {
  readonly [MARKER] = true;
  readonly code: string;
  constructor({ code, message, cause }: { code: string; message: string; cause?: unknown }) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'RetrialError';
    this.code = code;
  }
  static isInstance(value: unknown): value is RetrialError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
  }
}

/** A tape, header or event that does not follow the format. `line` is 1-based where known. */
export class TapeFormatError extends RetrialError {
  readonly line: number | undefined;
  constructor({ message, line, cause }: { message: string; line?: number; cause?: unknown }) {
    super({ code: 'TAPE_FORMAT', message: line === undefined ? message : `line ${line}: ${message}`, cause });
    this.name = 'TapeFormatError';
    this.line = line;
  }
}
