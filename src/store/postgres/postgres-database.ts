import { RetrialError } from '../../tape/index.ts';
import { StoreError, type StoreErrorCode } from '../errors.ts';

/** The part of a node-postgres result the store reads. */
export interface PgResultLike {
  rows: Array<Record<string, unknown>>;
  rowCount: number | null;
}

/** The part of a node-postgres client (a pooled connection) the store uses; a fake can stand in. */
export interface PgClientLike {
  query(text: string, values?: readonly unknown[]): Promise<PgResultLike>;
  /** Returns the connection to the pool; `true` (or an error) destroys it instead. */
  release(destroy?: boolean | Error): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
  off(event: 'error', listener: (error: Error) => void): unknown;
}

/**
 * Takes a connection from the pool for `body`. While it is checked out the pool does not listen
 * for its errors: a server that goes away between two statements would make the connection emit
 * an error nobody handles, which ends the process (and an agent with it). The listener keeps
 * that error, and a connection that failed is destroyed instead of going back to the pool.
 */
export async function withConnection<Result>(pool: PgPoolLike, body: (client: PgClientLike) => Promise<Result>): Promise<Result> {
  const client = await pool.connect();
  let lost: Error | undefined;
  const onError = (error: Error) => {
    lost = error;
  };
  client.on('error', onError);
  try {
    return await body(client);
  } catch (error) {
    if (isConnectionError(error)) lost ??= error as Error;
    throw error;
  } finally {
    client.off('error', onError);
    client.release(lost);
  }
}

/** The part of a node-postgres Pool the store uses. */
export interface PgPoolLike {
  query(text: string, values?: readonly unknown[]): Promise<PgResultLike>;
  connect(): Promise<PgClientLike>;
  end(): Promise<void>;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** Connections per process when neither RETRIAL_PG_POOL_SIZE nor `?pool_size=` says otherwise. */
export const DEFAULT_POOL_SIZE = 4;
/** How long a connection attempt may take before the call fails as unavailable, ms. */
const CONNECT_TIMEOUT_MS = 10_000;

export interface PostgresConnectionOptions {
  /** Connections this process may hold at once. */
  poolSize: number;
  /** Every transaction is READ ONLY: the server refuses any write, whatever the code does. */
  readonly: boolean;
}

/** The URL with what is only ours (`pool_size`) taken out, and the pool size it asked for. */
export function parsePostgresUrl(url: string, environment: NodeJS.ProcessEnv = process.env): { connectionString: string; poolSize: number; location: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StoreError({ message: `"${redactPostgresUrl(url)}" is not a PostgreSQL URL; write it as postgres://user@host:5432/database.` });
  }
  const fromUrl = parsed.searchParams.get('pool_size');
  parsed.searchParams.delete('pool_size');
  const fromEnvironment = environment.RETRIAL_PG_POOL_SIZE;
  const asked = fromUrl ?? (fromEnvironment === '' ? undefined : fromEnvironment);
  let poolSize = DEFAULT_POOL_SIZE;
  if (asked !== undefined && asked !== null) {
    poolSize = Number(asked);
    if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > 1000)
      throw new StoreError({ message: `The PostgreSQL pool size "${asked}" (pool_size or RETRIAL_PG_POOL_SIZE) is not a whole number from 1 to 1000.` });
  }
  return { connectionString: parsed.toString(), poolSize, location: redactPostgresUrl(url) };
}

/** The URL as shown to people: user, host, port and database, never a password or query parameters. */
export function redactPostgresUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const user = parsed.username ? `${parsed.username}@` : '';
    return `${parsed.protocol}//${user}${parsed.host}${parsed.pathname}`;
  } catch {
    // Not parseable: keep the scheme only, since anything after it may hold a password.
    return `${url.split('://')[0] ?? 'postgres'}://…`;
  }
}

/** int8 (bigint, count(*), sum) as a JS number: the store's values are ms timestamps and counts, far below 2^53. */
const INT8_OID = 20;
const NUMERIC_OID = 1700;

/** Makes the pool. `pg` is imported here, on the open path only, so `import('retrial')` never loads it. */
export async function createPostgresPool(connectionString: string, options: PostgresConnectionOptions): Promise<PgPoolLike> {
  const { default: pg } = await import('pg');
  const types = {
    getTypeParser: (oid: number, format?: 'text' | 'binary') => {
      if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
      return pg.types.getTypeParser(oid, format);
    },
  };
  const pool = new pg.Pool({
    connectionString,
    max: options.poolSize,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: 10_000,
    // A command that forgets nothing still exits once its queries are done.
    allowExitOnIdle: true,
    application_name: 'retrial',
    types,
    ...(options.readonly ? { options: '-c default_transaction_read_only=on' } : {}),
  } as ConstructorParameters<typeof pg.Pool>[0]);
  // An idle connection the server closes (a restart, a failover) is dropped by the pool; without a
  // listener its error would end the process, and the agent with it.
  pool.on('error', () => {});
  return pool as unknown as PgPoolLike;
}

/** SQLSTATE classes and socket errors that mean the connection, not the statement, failed. */
const CONNECTION_LOST = /^(08|57P0[1-3]|53300)/;
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** True when the error says the server or the connection is gone, so the pool must not reuse it. */
export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (CONNECTION_LOST.test(code) || SOCKET_CODES.has(code))) return true;
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|connection timeout|timeout expired|Client has encountered a connection error|not queryable/i.test(message);
}

/**
 * One line for a driver error: what went wrong and what to do, with a code the CLI maps to an exit
 * status and the recorder reads (STORE_UNAVAILABLE is waited out, not blamed on a run).
 */
export function describePostgresError(action: string, location: string, error: unknown): StoreError {
  if (RetrialError.isInstance(error)) return error as StoreError;
  const code = (error as { code?: unknown } | null)?.code;
  const detail = error instanceof Error ? error.message : String(error);
  const make = (storeCode: StoreErrorCode, message: string) => new StoreError({ code: storeCode, message, cause: error });
  const database = (() => {
    try {
      return new URL(location).pathname.slice(1) || 'the database';
    } catch {
      return 'the database';
    }
  })();
  if (code === '28P01' || code === '28000')
    return make(
      'STORE_AUTH',
      `Cannot ${action} the PostgreSQL store at ${location}: the server refused the credentials (${detail}); check the user and password in the URL (or PGPASSWORD, ~/.pgpass).`,
    );
  if (code === '3D000')
    return make(
      'STORE_MISSING_DATABASE',
      `Cannot ${action} the PostgreSQL store at ${location}: the server has no database "${database}"; create it (createdb or CREATE DATABASE ${database}) or fix the name in the URL.`,
    );
  // The tables exist but belong to another role (the one that ran `retrial migrate`): privileges on
  // the schema do not reach them, only a grant on the tables does.
  if (code === '42501' && /permission denied for (table|relation|sequence)/i.test(detail))
    return make(
      'STORE_PERMISSION',
      `Cannot ${action} the PostgreSQL store at ${location}: permission denied (${detail}); its tables belong to another role: as their owner, run GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${userOf(location)}, or connect as the role that ran \`retrial migrate\`.`,
    );
  if (code === '42501')
    return make(
      'STORE_PERMISSION',
      `Cannot ${action} the PostgreSQL store at ${location}: permission denied (${detail}); grant the user CONNECT, CREATE and USAGE on the schema (or run \`retrial migrate\` once as its owner).`,
    );
  if (code === '25006') return make('STORE', `Cannot ${action} the PostgreSQL store at ${location}: it was opened readonly (${detail}).`);
  if (isConnectionError(error))
    return make(
      'STORE_UNAVAILABLE',
      `Cannot ${action} the PostgreSQL store at ${location}: the server cannot be reached or closed the connection (${detail}); check that it runs and accepts connections at that host and port, then retry.`,
    );
  return make('STORE', `Could not ${action} the PostgreSQL store at ${location}: ${detail}.`);
}

/** The user named in a shown location, or a placeholder when it names none. */
function userOf(location: string): string {
  try {
    return decodeURIComponent(new URL(location).username) || '<user>';
  } catch {
    return '<user>';
  }
}

/** A unique-key violation: a duplicate run, decision or campaign id. */
export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '23505';
}
