import { RetrialError } from '../tape/index.ts';

/** The store could not be opened, read or written. `cause` holds the driver's error. */
export class StoreError extends RetrialError {
  constructor({ message, cause }: { message: string; cause?: unknown }) {
    super({ code: 'STORE', message, cause });
    this.name = 'StoreError';
  }
}

/** No run has this id. `suggestions` lists ids that start the same way. */
export class RunNotFoundError extends RetrialError {
  readonly runId: string;
  readonly suggestions: string[];
  constructor({ runId, suggestions = [] }: { runId: string; suggestions?: string[] }) {
    const hint = suggestions.length ? ` Did you mean ${suggestions.slice(0, 3).join(', ')}?` : ' List runs with `retrial runs`.';
    super({ code: 'RUN_NOT_FOUND', message: `No run with id "${runId}" in this store.${hint}` });
    this.name = 'RunNotFoundError';
    this.runId = runId;
    this.suggestions = suggestions;
  }
}
