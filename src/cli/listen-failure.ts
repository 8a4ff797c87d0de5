import { UsageError } from './exit-codes.ts';

/** A port a server cannot listen on is the user's to change: one line saying which and how. */
export function listenFailure(error: unknown, { host, port, what, defaultPort }: { host: string; port: number; what: string; defaultPort: number }): unknown {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === 'EADDRINUSE')
    return new UsageError(
      `Port ${port} on ${host} is already in use (another ${what}?). Stop what listens there, or pass --port <another> (--port 0 picks a free one).`,
    );
  if (code === 'EACCES')
    return new UsageError(`Listening on port ${port} of ${host} is not permitted; ports below 1024 need privileges. Pass --port ${defaultPort} or --port 0.`);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
    return new UsageError(`Cannot listen on ${host}: no such local interface. Pass --host 127.0.0.1 (or 0.0.0.0 for every interface).`);
  return error;
}
