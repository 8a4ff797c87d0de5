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
    const hint = suggestions.length ? ` Did you mean ${suggestions.slice(0, 3).join(', ')}?` : ' List runs with `npx retrial runs`.';
    super({ code: 'RUN_NOT_FOUND', message: `No run with id "${runId}" in this store.${hint}` });
    this.name = 'RunNotFoundError';
    this.runId = runId;
    this.suggestions = suggestions;
  }
}

/** The location names no store, and the caller asked not to create one. */
export class StoreNotFoundError extends RetrialError {
  readonly location: string;
  constructor({ location }: { location: string }) {
    super({
      code: 'NOT_FOUND',
      message: `No retrial store at ${location}. Record into it first (\`npx retrial demo\` makes one at .retrial/retrial.db), or pass --db (or set RETRIAL_DB) to the path of an existing store.`,
    });
    this.name = 'StoreNotFoundError';
    this.location = location;
  }
}
