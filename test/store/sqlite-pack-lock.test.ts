import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createRecorder } from '../../src/record/index.ts';
import { openSqliteStore, type Store } from '../../src/store/index.ts';
import { stallMeter } from '../fixtures/stall-meter.ts';

describe("packing a run that ended while another connection holds the store's write lock", () => {
  it('does not hold the event loop for the busy timeout: it waits a few ms, comes back, and packs once the lock is gone', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'retrial-pack-lock-')), 'pack.db');
    const real = await openSqliteStore(path);
    const other = new Database(path);
    // The lock is taken right after the write that ended the run, while its pack is being deflated.
    const store = new Proxy(real, {
      get(target, property, receiver) {
        if (property === 'write')
          return async (...args: Parameters<Store['write']>) => {
            await target.write(...args);
            if (args[0].runsEnded.length) other.exec('BEGIN IMMEDIATE');
          };
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as Store;
    const rec = createRecorder({ store, agent: 'packer', onRecordingError: (failure) => expect.fail(failure.reason) });
    const stall = stallMeter();
    expect(await rec.run({ order: 7 }, async (input) => ({ ...input, done: true }), { runId: 'run_packed' })).toEqual({ order: 7, done: true });
    expect(other.inTransaction).toBe(true);
    // The pack has met the lock by now.
    await real.idle();
    expect(stall.stop()).toBeLessThan(250);
    const packId = () => (other.prepare('SELECT run_pack_id FROM runs WHERE run_id = ?').get('run_packed') as { run_pack_id: number | null }).run_pack_id;
    expect(packId()).toBeNull();
    other.exec('COMMIT');
    while (packId() === null) await new Promise<void>((resolve) => setTimeout(resolve, 5));
    expect((await real.getRunOrThrow('run_packed')).status).toBe('complete');
    other.close();
    await real.close();
  }, 60_000);
});
