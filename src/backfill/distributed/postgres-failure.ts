import { RetrialError } from '../../tape/index.ts';

/** The URL as it may be printed: without its password. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(not a URL)';
  }
}

/** Checks the shape of a PostgreSQL URL before anything connects, so a typo is a usage error. */
export function parsePostgresUrl(url: string, option: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RetrialError({ code: 'USAGE', message: `${option} is not a URL; expected postgres://user@host:port/database.` });
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')
    throw new RetrialError({ code: 'USAGE', message: `${option} must be a postgres:// URL (the queue lives in PostgreSQL), not ${parsed.protocol}//...` });
  return parsed;
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is the server running, and on this port?)',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name could not be resolved',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'the host is unreachable',
  '28P01': 'wrong user name or password',
  '28000': 'the server refused this user (check pg_hba.conf and the user name)',
  '3D000': 'the database does not exist (create it first)',
  '42501': 'the user lacks a permission it needs (it must be able to create the pgboss schema and its tables)',
  '57P03': 'the server is starting up or shutting down; try again in a moment',
  '53300': 'the server has too many connections; lower --pool-size or raise max_connections',
};

/**
 * One clear line for a PostgreSQL connection failure of the queue: which server, and what to do.
 * Anything that is not a connection failure is returned as it is.
 */
export function describePostgresFailure(error: unknown, url: string, what: string): unknown {
  if (RetrialError.isInstance(error)) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const reason = typeof code === 'string' ? REASONS[code] : undefined;
  const message = (error as Error | null)?.message ?? String(error);
  const known = reason ?? (/timeout|terminat|connect/i.test(message) ? message : undefined);
  if (known === undefined) return error;
  return new RetrialError({ code: 'STORE', message: `Cannot use ${what} at ${redactedUrl(url)}: ${known}.`, cause: error });
}

/** Whether an error is PostgreSQL going away or not answering (restart, failover, network), which a retry later can cure. */
export function isTransientPostgresFailure(error: unknown, depth = 0): boolean {
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (cause !== undefined && depth < 4 && isTransientPostgresFailure(cause, depth + 1)) return true;
  const code = (error as { code?: unknown } | null)?.code;
  // STORE_UNAVAILABLE: the PostgreSQL store's own name for a server it cannot reach.
  if (code === 'STORE_UNAVAILABLE') return true;
  if (typeof code === 'string' && (/^(08|57P|53)/.test(code) || code in REASONS)) return code !== '28P01' && code !== '3D000' && code !== '42501';
  const message = (error as Error | null)?.message ?? '';
  return /Connection terminated|connection timeout|ECONNRESET|ECONNREFUSED|Client has encountered a connection error|not queryable/i.test(message);
}
