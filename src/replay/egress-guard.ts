import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { captureAgentSite, maybeCurrentRun, runOutsideScope } from '../record/index.ts';
import { EgressBlockedError, type RefusedRequest } from './divergence.ts';

let installed = false;
/** The fetch the guard wraps: what retrial's own live calls (a fork's model endpoint) go through. */
let unguarded: typeof fetch = globalThis.fetch;
/** Marks retrial's own live calls (and the sockets undici opens for them) while a replay is sealed. */
const sanctioned = new AsyncLocalStorage<true>();
/** One listener per replay, fork or explain under way: while any is, the process is sealed. */
const sealedBy = new Set<(refused: RefusedRequest) => void>();

/**
 * The fetch under the guard, called outside any run scope: retrial's own live calls (a fork's
 * model endpoint) are sanctioned, and undici's sockets must not meet the socket-level guard.
 */
export function unguardedFetch(): typeof fetch {
  return (input, init) => sanctioned.run(true, () => runOutsideScope(() => unguarded(input, init)));
}

/**
 * Runs `fn` as retrial's own sanctioned I/O: a live model call resample or backfill makes while a
 * replay elsewhere in the process has sealed it is not refused.
 */
export function runSanctioned<T>(fn: () => T): T {
  return sanctioned.run(true, fn);
}

/**
 * Seals the process until the returned function is called: a request made outside any run (a
 * timer, a tracing exporter or telemetry flush an SDK started) is refused and passed to
 * `onRefused` with the site it came from. Requests inside a run are the run's to judge (its
 * blockEgress); retrial's own live calls go through unguardedFetch.
 */
export function sealEgress(onRefused: (refused: RefusedRequest) => void): () => void {
  const listener = (refused: RefusedRequest) => onRefused(refused);
  sealedBy.add(listener);
  return () => sealedBy.delete(listener);
}

/** Set when a request outside any run was refused: the error to fail it with. */
type Refusal = { error: EgressBlockedError } | undefined;

/**
 * Inside a replay or fork, throws through the run's blockEgress. Outside any run while the
 * process is sealed, reports the request to every sealed replay and returns the error to fail it
 * with: thrown where it was made, it would end the process from a timer, so it fails the way a
 * dead network fails. Otherwise allows it. A read a fork lets go live runs in a scope without
 * blockEgress (see the recorder's wrapCall), so it reaches its world as in production.
 */
function refuse(describeTarget: () => string): Refusal {
  const scope = maybeCurrentRun();
  if (scope) {
    if (scope.blockEgress) scope.blockEgress(describeTarget());
    return undefined;
  }
  if (sealedBy.size === 0 || sanctioned.getStore()) return undefined;
  const target = describeTarget();
  const refused: RefusedRequest = { target, site: captureAgentSite() };
  for (const listener of sealedBy) listener(refused);
  return { error: new EgressBlockedError({ url: target }) };
}

type Args = readonly unknown[];

/** `http.request(url | options, [options], [callback])` as a URL, for the divergence report. */
function httpTarget(defaultProtocol: string, args: Args): string {
  const [first] = args;
  if (typeof first === 'string') return first;
  if (first instanceof URL) return first.href;
  const options = (first ?? {}) as { protocol?: string; hostname?: string; host?: string; port?: number | string; path?: string };
  const port = options.port === undefined ? '' : `:${options.port}`;
  return `${options.protocol ?? defaultProtocol}//${options.hostname ?? options.host ?? 'localhost'}${port}${options.path ?? '/'}`;
}

/** `net.connect(options | port | path, [host])` as a URL-like name. */
function socketTarget(scheme: string, args: Args): string {
  const [first, second] = args;
  if (typeof first === 'number') return `${scheme}://${typeof second === 'string' ? second : 'localhost'}:${first}`;
  if (typeof first === 'string') return /^\d+$/.test(first) ? `${scheme}://localhost:${first}` : `unix:${first}`;
  const options = (first ?? {}) as { host?: string; port?: number | string; path?: string };
  return options.path ? `unix:${options.path}` : `${scheme}://${options.host ?? 'localhost'}:${options.port ?? ''}`;
}

type Net = typeof import('node:net');

/** A socket that fails with `error` once its user has had a chance to listen: what a dead network gives. */
function failedSocket(net: Net, error: Error): import('node:net').Socket {
  const socket = new net.Socket();
  process.nextTick(() => socket.destroy(error));
  return socket;
}

/** Guards `net.connect`-like functions: refused outside a run, the caller gets a failing socket. */
function guardSocket<F extends (...args: never[]) => unknown>(net: Net, original: F, describe: (args: Args) => string): F {
  return function guarded(this: unknown, ...args: Parameters<F>) {
    const refusal = refuse(() => describe(args));
    if (refusal) return failedSocket(net, refusal.error);
    return original.apply(this, args);
  } as F;
}

/**
 * Guards `http.request`-like functions. Refused outside a run, the request is still made, on a
 * socket that fails: the caller gets its request object and an 'error' event, as from a dead
 * network, and no connection is attempted.
 */
function guardRequest<F extends (...args: never[]) => unknown>(net: Net, original: F, describe: (args: Args) => string): F {
  return function guarded(this: unknown, ...args: Parameters<F>) {
    const refusal = refuse(() => describe(args));
    if (!refusal) return original.apply(this, args);
    const failing = { agent: undefined, createConnection: () => failedSocket(net, refusal.error) };
    const [first, second, ...rest] = args as unknown[];
    const withFailingSocket =
      typeof first === 'string' || first instanceof URL
        ? second !== null && typeof second === 'object'
          ? [first, { ...second, ...failing }, ...rest]
          : [first, failing, ...args.slice(1)]
        : [{ ...(first as object | undefined), ...failing }, ...args.slice(1)];
    return original.apply(this, withFailingSocket as Parameters<F>);
  } as F;
}

/**
 * Makes network requests made inside a replay or fork fail instead of going live, and while one
 * is sealed (sealEgress), requests made outside any run too. The replayed
 * agent's SDKs get the replayer's fetch (served from the tape); anything else that reaches the
 * network from inside the run is unsanctioned: the global `fetch`, `http`/`https` requests (axios,
 * got and most older SDKs) and raw `net`/`tls` connections. Outside a replay nothing changes.
 * Sockets made with `new net.Socket().connect()` (database drivers) are left alone: retrial's own
 * stores use them, and they run outside the run scope anyway.
 */
export function installEgressGuard(): void {
  if (installed) return;
  installed = true;
  // Required here, not imported: loading http, https, net and tls costs import('retrial') about
  // 15 ms, and only a replay or fork needs them. require gives the same objects a default import does.
  const require = createRequire(import.meta.url);
  const http: typeof import('node:http') = require('node:http');
  const https: typeof import('node:https') = require('node:https');
  const net: typeof import('node:net') = require('node:net');
  const tls: typeof import('node:tls') = require('node:tls');
  const liveFetch = globalThis.fetch;
  unguarded = liveFetch;
  globalThis.fetch = function guardedFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    try {
      const refusal = refuse(() => (typeof input === 'string' ? input : input instanceof URL ? input.href : input.url));
      if (refusal) return Promise.reject(refusal.error);
    } catch (error) {
      return Promise.reject(error);
    }
    return liveFetch(input, init);
  };
  http.request = guardRequest(net, http.request, (args) => httpTarget('http:', args));
  http.get = guardRequest(net, http.get, (args) => httpTarget('http:', args));
  https.request = guardRequest(net, https.request, (args) => httpTarget('https:', args));
  https.get = guardRequest(net, https.get, (args) => httpTarget('https:', args));
  net.connect = guardSocket(net, net.connect, (args) => socketTarget('tcp', args));
  net.createConnection = guardSocket(net, net.createConnection, (args) => socketTarget('tcp', args));
  tls.connect = guardSocket(net, tls.connect, (args) => socketTarget('tls', args));
  // Named ESM imports of builtins (`import { request } from 'node:http'`) see the guard from here on.
  syncBuiltinESMExports();
}
