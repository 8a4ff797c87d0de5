import { createRequire, syncBuiltinESMExports } from 'node:module';
import { maybeCurrentRun, runOutsideScope } from '../record/index.ts';

let installed = false;
/** The fetch the guard wraps: what retrial's own live calls (a fork's model endpoint) go through. */
let unguarded: typeof fetch = globalThis.fetch;

/**
 * The fetch under the guard, called outside any run scope: retrial's own live calls (a fork's
 * model endpoint) are sanctioned, and undici's sockets must not meet the socket-level guard.
 */
export function unguardedFetch(): typeof fetch {
  return (input, init) => runOutsideScope(() => unguarded(input, init));
}

/**
 * Throws (through the run's blockEgress) when called inside a replay or fork; otherwise does
 * nothing. A read a fork lets go live runs in a scope without blockEgress (see the recorder's
 * wrapCall), so it reaches its world as in production.
 */
function refuseInsideReplay(describeTarget: () => string): void {
  const scope = maybeCurrentRun();
  if (scope?.blockEgress) scope.blockEgress(describeTarget());
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

function guard<F extends (...args: never[]) => unknown>(original: F, describe: (args: Args) => string): F {
  return function guarded(this: unknown, ...args: Parameters<F>) {
    refuseInsideReplay(() => describe(args));
    return original.apply(this, args);
  } as F;
}

/**
 * Makes network requests made inside a replay or fork fail instead of going live. The replayed
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
      refuseInsideReplay(() => (typeof input === 'string' ? input : input instanceof URL ? input.href : input.url));
    } catch (error) {
      return Promise.reject(error);
    }
    return liveFetch(input, init);
  };
  http.request = guard(http.request, (args) => httpTarget('http:', args));
  http.get = guard(http.get, (args) => httpTarget('http:', args));
  https.request = guard(https.request, (args) => httpTarget('https:', args));
  https.get = guard(https.get, (args) => httpTarget('https:', args));
  net.connect = guard(net.connect, (args) => socketTarget('tcp', args));
  net.createConnection = guard(net.createConnection, (args) => socketTarget('tcp', args));
  tls.connect = guard(tls.connect, (args) => socketTarget('tls', args));
  // Named ESM imports of builtins (`import { request } from 'node:http'`) see the guard from here on.
  syncBuiltinESMExports();
}
