import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { batchesOf, buildRun } from '../../test/store/tape-builder.ts';
import { DEFAULT_STORE_PATH, openStore, resolveStoreLocation } from './open-store.ts';
import { openSqliteStore } from './sqlite/sqlite-store.ts';

describe('openStore', () => {
  let directory: string;
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'retrial-open-'));
  });
  afterEach(() => {
    rmSync(directory, { recursive: true, force: true });
  });

  it('resolves the given location, then RETRIAL_DB, then the default path', () => {
    expect(resolveStoreLocation('given.db', { RETRIAL_DB: 'env.db' })).toBe('given.db');
    expect(resolveStoreLocation(undefined, { RETRIAL_DB: 'env.db' })).toBe('env.db');
    expect(resolveStoreLocation(undefined, {})).toBe(DEFAULT_STORE_PATH);
    expect(resolveStoreLocation('', { RETRIAL_DB: '' })).toBe('.retrial/retrial.db');
  });

  it('opens the memory store for :memory: and a SQLite file for a path', async () => {
    const memory = await openStore(':memory:');
    expect(memory.location).toBe(':memory:');
    await memory.close();
    const path = join(directory, 'sub', 'retrial.db');
    const sqlite = await openStore(path);
    expect(sqlite.location).toBe(path);
    expect(sqlite.capabilities.multiProcessWriters).toBe(true);
    await sqlite.close();
  });

  it('marks the runs of a writer that died as incomplete on open', async () => {
    const child = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => child.once('exit', resolve));
    const path = join(directory, 'retrial.db');
    const store = await openSqliteStore(path);
    await store.write(batchesOf(buildRun({ runId: 'crashed', ending: null }), { writer: { pid: child.pid as number, host: hostname() } })[0]);
    await store.write(batchesOf(buildRun({ runId: 'running', ending: null }), { writer: { pid: process.pid, host: hostname() } })[0]);
    await store.close();

    const reopened = await openStore(path);
    expect((await reopened.getRun('crashed'))?.status).toBe('incomplete');
    expect((await reopened.getRun('running'))?.status).toBe('recording');
    await reopened.close();
  });
});
