import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isPostgresLocation, type Store } from '../store/index.ts';
import { RetrialError } from '../tape/index.ts';
import { originals } from './patch-globals.ts';

/**
 * The redaction salt keys the hashes in redaction tokens, so the same e-mail address recorded twice
 * still matches itself. Replay must redact with the same salt to compare requests, so it has to
 * outlive the recording process, yet never sit inside the store (a tape that leaves the company
 * must not carry the key to its hashes). One environment variable names it everywhere.
 */
export const REDACTION_SALT_VARIABLE = 'RETRIAL_REDACTION_SALT';

/** Name of the salt file beside an embedded store's database file. */
export const REDACTION_SALT_FILE = 'redaction-salt';

/** Where the salt of the embedded store at `databasePath` lives. */
export function redactionSaltPath(databasePath: string): string {
  return join(dirname(databasePath), REDACTION_SALT_FILE);
}

function fromEnvironment(environment: NodeJS.ProcessEnv): string | undefined {
  const salt = environment[REDACTION_SALT_VARIABLE];
  return salt === undefined || salt === '' ? undefined : salt;
}

/**
 * A networked store has no directory for a salt file (and the salt must not sit in the store): its
 * recorders, replays and backfills all take it from RETRIAL_REDACTION_SALT.
 */
function networkedStoreNeedsSalt(_location: string): never {
  throw new RetrialError({
    code: 'USAGE',
    message: `A PostgreSQL store keeps no redaction salt file: set ${REDACTION_SALT_VARIABLE} to the salt its runs were recorded with (any secret string, the same for every process that records, replays or backfills them).`,
  });
}

/** Reads the salt file beside `databasePath`, creating it (mode 0600) when there is none. */
export function loadOrCreateRedactionSalt(databasePath: string, environment: NodeJS.ProcessEnv = process.env): string {
  const configured = fromEnvironment(environment);
  if (configured) return configured;
  if (isPostgresLocation(databasePath)) networkedStoreNeedsSalt(databasePath);
  const path = redactionSaltPath(databasePath);
  if (existsSync(path)) return readFileSync(path, 'utf8').trim() || emptySaltFile(path);
  const salt = originals.randomBytes(16).toString('hex');
  const cannotCreate = (error: unknown) =>
    new RetrialError({
      code: 'STORE',
      message: `Could not create the redaction salt file ${path}: ${(error as Error).message}. Make its directory writable, or set ${REDACTION_SALT_VARIABLE}.`,
      cause: error,
    });
  try {
    // A directory it creates is the owner's only, as the store's files are.
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  } catch (error) {
    throw cannotCreate(error);
  }
  // 'wx': two processes starting at once against a new store must not each write their own salt.
  try {
    writeFileSync(path, `${salt}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another process created it first: theirs is the salt (unless it is still empty, which is refused).
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(path, 'utf8').trim() || emptySaltFile(path);
    throw cannotCreate(error);
  }
  return salt;
}

function emptySaltFile(path: string): never {
  throw new RetrialError({
    code: 'STORE',
    message: `The redaction salt file ${path} is empty. Put the salt the store's runs were recorded with in it, or set ${REDACTION_SALT_VARIABLE}.`,
  });
}

/** The salt recordings of the store at `databasePath` were redacted with; an error saying where to put it when there is none. */
export function loadRedactionSalt(databasePath: string, environment: NodeJS.ProcessEnv = process.env): string {
  const configured = fromEnvironment(environment);
  if (configured) return configured;
  if (isPostgresLocation(databasePath)) networkedStoreNeedsSalt(databasePath);
  const path = redactionSaltPath(databasePath);
  const salt = existsSync(path) ? readFileSync(path, 'utf8').trim() : '';
  if (salt) return salt;
  throw new RetrialError({
    code: 'FILE_NOT_FOUND',
    message: `No redaction salt at ${path}. Replay needs the salt the runs were recorded with: copy the ${REDACTION_SALT_FILE} file from beside the recording service's store (the recorder creates it next to the database file) to ${path}, or set ${REDACTION_SALT_VARIABLE}.`,
  });
}

/**
 * The salt a recorder uses when it is given none: RETRIAL_REDACTION_SALT; else, for an embedded
 * store, the `redaction-salt` file beside its database (created on first use, then reused); without
 * a store (a collector) or with a PostgreSQL store an error, as the salt must be the one replay
 * and every other process of the fleet will use; else
 * (the memory store) a random salt, which lives only as long as the process: such runs replay in
 * this process only, unless the salt is set.
 */
export function defaultRedactionSalt(store: Store | undefined, environment: NodeJS.ProcessEnv = process.env): string {
  const configured = fromEnvironment(environment);
  if (configured) return configured;
  if (store === undefined)
    throw new RetrialError({
      code: 'USAGE',
      message: `A recorder that sends runs to a collector needs the redaction salt the store's runs are replayed with: set ${REDACTION_SALT_VARIABLE} (the same value where they are replayed), or pass redaction.salt.`,
    });
  // A fleet shares a networked store: a salt of this process's own would make pseudonyms differ
  // between processes and leave its runs unreplayable anywhere else.
  if (isPostgresLocation(store.location)) networkedStoreNeedsSalt(store.location);
  if (store.file) return loadOrCreateRedactionSalt(store.file, environment);
  return originals.randomBytes(16).toString('hex');
}

/**
 * Checks a salt the caller passed: `process.env.SOME_SALT!` with the variable unset arrives here as
 * undefined, and would otherwise fail inside the agent's code on the first e-mail address.
 */
export function assertRedactionSalt(salt: unknown): asserts salt is string {
  if (typeof salt === 'string' && salt !== '') return;
  throw new RetrialError({
    code: 'USAGE',
    message: `createRecorder: redaction.salt is ${salt === '' ? 'empty' : salt === undefined ? 'undefined' : `a ${typeof salt}, not a string`}; the variable it is read from is probably unset. Set ${REDACTION_SALT_VARIABLE} (and pass it), or leave salt out of redaction to use the ${REDACTION_SALT_FILE} file beside the store.`,
  });
}
