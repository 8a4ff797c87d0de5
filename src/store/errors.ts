import { RetrialError } from '../tape/index.ts';

/**
 * Why a store could not be used, for scripts and for the recorder (which waits out an unavailable
 * store and retries, instead of giving up on one run):
 * - `STORE`: any other failure to open, read or write it.
 * - `STORE_UNAVAILABLE`: a networked store cannot be reached, or the connection was lost (a restart, a failover).
 * - `STORE_AUTH`: the server refused the credentials.
 * - `STORE_PERMISSION`: the user may connect but lacks a privilege the store needs.
 * - `STORE_SCHEMA_NEWER`: the store was migrated by a newer retrial than this one.
 * - `STORE_MISSING_DATABASE`: the server has no database of the name given.
 */
export type StoreErrorCode = 'STORE' | 'STORE_UNAVAILABLE' | 'STORE_AUTH' | 'STORE_PERMISSION' | 'STORE_SCHEMA_NEWER' | 'STORE_MISSING_DATABASE';

/** The store could not be opened, read or written. `cause` holds the driver's error. */
export class StoreError extends RetrialError {
  declare readonly code: StoreErrorCode;
  constructor({ message, cause, code = 'STORE' }: { message: string; cause?: unknown; code?: StoreErrorCode }) {
    super({ code, message, cause });
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
