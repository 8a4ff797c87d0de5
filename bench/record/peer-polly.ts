/**
 * The peer arm: Polly.js (Netflix's record/replay library) recording the same calls.
 *
 * Why Polly and not nock: Polly was the first choice of the brief and it works here. It installs
 * under `engine-strict=true` on Node 20 (@pollyjs/core 6.0.6, adapter-fetch 6.0.7, persister-fs
 * 6.0.6, pinned exactly), and its fetch adapter hooks Node 20's global `fetch`, which the openai
 * client calls through the `fetch` we hand it. Each session checks that Polly really recorded
 * something, so a silent failure to hook cannot pass as a fast peer.
 *
 * Setup mirrors how Polly is used: one Polly instance per recording (here, per block of calls
 * that retrial records as one run), mode `record` (always hit the network and record), the fs
 * persister writing one HAR file per recording when the instance stops. Polly patches
 * `globalThis.fetch` while connected, so the other arms must hold the native fetch captured
 * before any Polly instance starts (see `NATIVE_FETCH`).
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import FetchAdapter from '@pollyjs/adapter-fetch';
import { Polly } from '@pollyjs/core';
import FSPersister from '@pollyjs/persister-fs';

/** Node's own fetch, taken when this module loads, before Polly can replace the global. */
export const NATIVE_FETCH: typeof fetch = globalThis.fetch;

export const PEER_NAME = 'Polly.js 6.0.6 (adapter-fetch 6.0.7, persister-fs 6.0.6, mode "record")';

Polly.register(FetchAdapter);
Polly.register(FSPersister);

export interface PeerSession {
  /** Hand this to the openai client: it calls whatever `globalThis.fetch` is now, i.e. Polly's. */
  fetch: typeof fetch;
  /** Stops the instance, which writes its HAR file; throws if Polly recorded nothing. */
  stop(): Promise<void>;
}

/** `fetch` that resolves the global at call time, so it reaches the connected Polly instance. */
export const pollyRoutedFetch: typeof fetch = (input, init) => globalThis.fetch(input, init);

export function startPollySession(recordingsDir: string, recordingName: string): PeerSession {
  const polly = new Polly(recordingName, {
    mode: 'record',
    adapters: ['fetch'],
    persister: 'fs',
    persisterOptions: { fs: { recordingsDir } },
    recordFailedRequests: true,
    logLevel: 'silent',
  });
  let seen = 0;
  polly.server.any().on('response', () => {
    seen++;
  });
  return {
    fetch: pollyRoutedFetch,
    async stop() {
      await polly.stop();
      if (seen === 0) throw new Error(`Polly recorded nothing for ${recordingName}: its fetch adapter did not see the calls.`);
    },
  };
}

/** Total bytes of every file under `dir` (Polly writes `<name>_<hash>/recording.har`). */
export function directoryBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? directoryBytes(path) : statSync(path).size;
  }
  return total;
}
