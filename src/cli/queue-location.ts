import { resolveStoreLocation } from '../store/index.ts';
import { UsageError } from './exit-codes.ts';

const isPostgres = (location: string) => /^postgres(ql)?:\/\//i.test(location);

/**
 * The PostgreSQL that holds the backfill queue: --queue, else $RETRIAL_QUEUE, else the store itself
 * when it is PostgreSQL. Undefined when none of them names one (a SQLite store and no --queue).
 */
export function resolveQueueUrl(queue: string | undefined, db: string | undefined, environment: NodeJS.ProcessEnv = process.env): string | undefined {
  if (queue) return queue;
  if (environment.RETRIAL_QUEUE) return environment.RETRIAL_QUEUE;
  const store = resolveStoreLocation(db, environment);
  return isPostgres(store) ? store : undefined;
}

/** As resolveQueueUrl, for commands that cannot work without a queue. */
export function requireQueueUrl(queue: string | undefined, db: string | undefined, what: string): string {
  const url = resolveQueueUrl(queue, db);
  if (url === undefined)
    throw new UsageError(
      `${what} needs a queue in PostgreSQL: pass --queue postgres://user@host:port/database (or set RETRIAL_QUEUE), or use a postgres:// store with --db, where the queue defaults to live.`,
    );
  return url;
}
