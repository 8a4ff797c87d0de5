import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRecorder, type RecordingFailure, type RecordingRecorder } from '../../src/record/index.ts';
import { openSqliteStore, openStore, type Store, StoreError, verifyStore, type WriteBatch } from '../../src/store/index.ts';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** An agent with reads, a write tool (which flushes first), a plain HTTP call, a decision and a note. */
function supportAgent(rec: RecordingRecorder, payloadBytes = 512) {
  const lookup = rec.tool('lookup_account', async (id: string) => ({ id, history: randomBytes(payloadBytes).toString('hex') }), { effect: 'read' });
  const refund = rec.tool('issue_refund', async (id: string) => ({ refunded: id }), { effect: 'write' });
  return async (id: string) => {
    const account = await lookup(id);
    await tick();
    const response = await rec.fetch('http://crm.internal/tickets', { method: 'GET' });
    const tickets = (await response.json()) as { open: number };
    await lookup(`${id}/again`);
    rec.decide({ type: 'refund.category', subject: id, value: 'goodwill', amount: 5 });
    const refunded = await refund(id);
    rec.note('handled', { id });
    return { id: account.id, open: tickets.open, refunded };
  };
}

const crm: typeof fetch = async () => new Response(JSON.stringify({ open: 2 }), { headers: { 'content-type': 'application/json' } });

async function verdictsOf(store: Store, runIds: readonly string[]) {
  const verdicts = [];
  for await (const verdict of verifyStore(store, runIds)) verdicts.push(verdict);
  return verdicts;
}

describe('a store closed under a running recorder', () => {
  it('the agents keep working, nothing throws into them, and every run cut short is reported', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'retrial-closed-')), 'closed.db');
    const store = await openSqliteStore(path);
    const failures: RecordingFailure[] = [];
    const rec = createRecorder({ store, agent: 'support', baseFetch: crm, retryIntervalMs: 10, onRecordingError: (failure) => failures.push(failure) });
    const agent = supportAgent(rec);
    const before = await Promise.all(['C-1', 'C-2'].map((id) => rec.run(id, agent, { runId: `run_before_${id}` })));
    expect(before.map((output) => output.refunded)).toEqual([{ refunded: 'C-1' }, { refunded: 'C-2' }]);

    // Close the store while four runs are between their calls.
    let closing: Promise<void> | undefined;
    const midway = async (id: string) => {
      const lookup = rec.tool('lookup_account', async (value: string) => ({ value }), { effect: 'read' });
      await lookup(id);
      await rec.flush();
      closing ??= store.close();
      await closing;
      return agent(id);
    };
    const during = await Promise.all(['C-3', 'C-4', 'C-5', 'C-6'].map((id) => rec.run(id, midway, { runId: `run_during_${id}` })));
    expect(during.map((output) => output.refunded)).toEqual(['C-3', 'C-4', 'C-5', 'C-6'].map((id) => ({ refunded: id })));
    const after = await rec.run('C-7', agent, { runId: 'run_after' });
    expect(after.refunded).toEqual({ refunded: 'C-7' });
    await rec.flush();

    expect(failures.map((failure) => failure.runId).sort()).toEqual(['run_after', 'run_during_C-3', 'run_during_C-4', 'run_during_C-5', 'run_during_C-6']);
    for (const failure of failures) {
      expect(failure.kind).toBe('write');
      expect(failure.reason).toMatch(/has been closed/);
    }
    const health = rec.health();
    expect(health.runsDegraded).toBe(5);
    expect(health.marksPending).toBe(5);
    expect(health.bufferedEvents).toBe(0);

    // What committed before the close is intact; runs cut short verify up to where they stopped.
    const reopened = await openSqliteStore(path);
    try {
      expect((await reopened.getRunOrThrow('run_before_C-1')).status).toBe('complete');
      expect((await reopened.getRunOrThrow('run_during_C-3')).status).toBe('recording');
      expect(await reopened.getRun('run_after')).toBeUndefined();
      expect((await verdictsOf(reopened, await reopened.listRunIds())).filter((verdict) => !verdict.ok)).toEqual([]);
    } finally {
      await reopened.close();
    }
  });
});

describe('a store that refuses writes for a while (locked past maxLockWaitMs), then accepts them again', () => {
  it('runs in between are cut short and reported, then marked incomplete with their reason; new runs record in full without a restart', async () => {
    const real = await openSqliteStore(':memory:');
    let refusing = false;
    const locked = () =>
      new StoreError({
        message: 'Could not write to the SQLite store: database is locked.',
        cause: Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }),
      });
    const store = new Proxy(real, {
      get(target, property, receiver) {
        if (property === 'write' || property === 'getRun')
          return async (...args: unknown[]) => {
            if (refusing) throw locked();
            return (Reflect.get(target, property, receiver) as (...rest: unknown[]) => unknown).apply(target, args);
          };
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as Store;
    const failures: RecordingFailure[] = [];
    const rec = createRecorder({
      store,
      agent: 'support',
      baseFetch: crm,
      retryIntervalMs: 5,
      maxLockWaitMs: 50,
      onRecordingError: (failure) => failures.push(failure),
    });
    const agent = supportAgent(rec);
    refusing = true;
    const blocked = await Promise.all(['L-1', 'L-2', 'L-3'].map((id) => rec.run(id, agent, { runId: `run_locked_${id}` })));
    expect(blocked.map((output) => output.id)).toEqual(['L-1', 'L-2', 'L-3']);
    expect(failures.map((failure) => [failure.runId, failure.kind])).toEqual([
      ['run_locked_L-1', 'write'],
      ['run_locked_L-2', 'write'],
      ['run_locked_L-3', 'write'],
    ]);
    expect(rec.health().marksPending).toBe(3);

    refusing = false;
    const fresh = await Promise.all(['F-1', 'F-2'].map((id) => rec.run(id, agent, { runId: `run_fresh_${id}` })));
    expect(fresh.map((output) => output.id)).toEqual(['F-1', 'F-2']);
    await rec.flush();
    expect(rec.health().marksPending).toBe(0);
    expect(rec.health().runsMarkedIncomplete).toBe(3);
    for (const id of ['run_fresh_F-1', 'run_fresh_F-2']) expect((await real.getRunOrThrow(id)).status).toBe('complete');
    for (const id of ['run_locked_L-1', 'run_locked_L-2', 'run_locked_L-3']) {
      const run = await real.getRunOrThrow(id);
      expect(run.status).toBe('incomplete');
      expect(run.ending?.error?.message).toMatch(/^write: the store refused the run's events: .*database is locked/);
    }
    expect((await verdictsOf(real, await real.listRunIds())).filter((verdict) => !verdict.ok)).toEqual([]);
    expect((await real.listDecisions({ type: 'refund.category' })).map((decision) => decision.subject).sort()).toEqual(['F-1', 'F-2']);
  });
});

describe('a batch the store refuses because of one run', () => {
  it('is written again run by run: the culprit is cut short and reported, the runs that shared its batch commit', async () => {
    const real = await openSqliteStore(':memory:');
    const store = new Proxy(real, {
      get(target, property, receiver) {
        if (property === 'write')
          return async (batch: WriteBatch) => {
            if (batch.appends.some((append) => append.runId === 'run_culprit')) throw new StoreError({ message: 'CHECK constraint failed: events' });
            return target.write(batch);
          };
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as Store;
    const failures: RecordingFailure[] = [];
    const rec = createRecorder({ store, agent: 'support', baseFetch: crm, onRecordingError: (failure) => failures.push(failure) });
    const agent = supportAgent(rec);
    const ids = ['innocent_1', 'culprit', 'innocent_2', 'innocent_3'];
    const outputs = await Promise.all(ids.map((id) => rec.run(id, agent, { runId: `run_${id}` })));
    expect(outputs.map((output) => output.id)).toEqual(ids);
    expect(failures).toEqual([{ runId: 'run_culprit', kind: 'write', reason: "the store refused the run's events: CHECK constraint failed: events" }]);
    for (const id of ['run_innocent_1', 'run_innocent_2', 'run_innocent_3']) expect((await real.getRunOrThrow(id)).status).toBe('complete');
    expect((await real.getRunOrThrow('run_culprit')).status).toBe('incomplete');
    expect((await verdictsOf(real, await real.listRunIds())).filter((verdict) => !verdict.ok)).toEqual([]);
  });
});

/** A small tmpfs (or, failing that, a loop-mounted ext4 file) that the test can fill. */
function mountSmallFilesystem(sizeMb: number): { dir: string; kind: string; unmount: () => void } | { skip: string } {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return { skip: 'needs root on Linux to mount a size-limited filesystem' };
  const dir = mkdtempSync(join(tmpdir(), 'retrial-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir], { stdio: 'pipe' });
    return { dir, kind: 'tmpfs', unmount: () => execFileSync('umount', [dir], { stdio: 'pipe' }) };
  } catch (tmpfsError) {
    const image = `${dir}.img`;
    try {
      execFileSync('truncate', ['-s', `${sizeMb}M`, image]);
      execFileSync('mkfs.ext4', ['-q', image], { stdio: 'pipe' });
      execFileSync('mount', ['-o', 'loop', image, dir], { stdio: 'pipe' });
      return {
        dir,
        kind: 'ext4 loop file',
        unmount: () => {
          execFileSync('umount', [dir], { stdio: 'pipe' });
          rmSync(image, { force: true });
        },
      };
    } catch (loopError) {
      return {
        skip: `neither tmpfs (${(tmpfsError as Error).message.split('\n')[0]}) nor a loop-mounted ext4 file (${(loopError as Error).message.split('\n')[0]}) could be mounted`,
      };
    }
  }
}

describe('recording into a store on a filesystem that fills up', () => {
  // Mounted when the test runs (not when the file is collected), so a filtered run mounts nothing.
  let mounted: ReturnType<typeof mountSmallFilesystem> | undefined;
  let store: Store | undefined;
  afterAll(async () => {
    await store?.close();
    if (mounted && 'unmount' in mounted) mounted.unmount();
  });

  it('with 8 runs in flight: every agent call returns, runs are marked once space is freed, and new runs complete without a restart', async (context) => {
    mounted = mountSmallFilesystem(24);
    if ('skip' in mounted) {
      console.warn(`full-disk test skipped: ${mounted.skip}`);
      context.skip();
      return;
    }
    // Ballast taken before the store, freed later: "space freed" is this file going away. The
    // filesystem is large enough for SQLite to checkpoint its WAL (4 MB) into the file a few times.
    const ballast = join(mounted.dir, 'ballast');
    writeFileSync(ballast, randomBytes(6 * 1024 * 1024));
    store = await openSqliteStore(join(mounted.dir, 'full.db'));
    const failures: RecordingFailure[] = [];
    const rec = createRecorder({ store, agent: 'support', baseFetch: crm, retryIntervalMs: 5, onRecordingError: (failure) => failures.push(failure) });
    const agent = supportAgent(rec, 16 * 1024);
    let started = 0;
    let returned = 0;
    let afterFull = 0;
    const worker = async (lane: number) => {
      // Runs until the disk has refused writes for a while, bounded in case it never fills.
      while (started < 5000 && afterFull < 64) {
        const id = `W${lane}-${started++}`;
        const output = await rec.run(id, agent, { runId: `run_${id}` });
        expect(output.id).toBe(id);
        returned++;
        if (failures.some((failure) => failure.kind === 'write')) afterFull++;
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, lane) => worker(lane)));
    expect(returned).toBe(started);
    const writeFailures = failures.filter((failure) => failure.kind === 'write');
    expect(writeFailures.length).toBeGreaterThan(8);
    expect(writeFailures.some((failure) => /full/i.test(failure.reason))).toBe(true);
    expect(failures.filter((failure) => failure.kind !== 'write')).toEqual([]);

    rmSync(ballast);
    const fresh = await Promise.all(Array.from({ length: 8 }, (_, lane) => rec.run(`N${lane}`, agent, { runId: `run_new_${lane}` })));
    expect(fresh.map((output) => output.id)).toEqual(Array.from({ length: 8 }, (_, lane) => `N${lane}`));
    for (let attempt = 0; attempt < 100 && rec.health().marksPending > 0; attempt++) await rec.flush();
    expect(rec.health().marksPending).toBe(0);

    const newRuns = Array.from({ length: 8 }, (_, lane) => `run_new_${lane}`);
    for (const runId of newRuns) expect((await store.getRunOrThrow(runId)).status).toBe('complete');
    for (const failure of writeFailures) {
      const run = await store.getRunOrThrow(failure.runId);
      expect(run.status).toBe('incomplete');
      expect(run.ending?.error?.message).toContain(failure.reason.slice(0, 40));
    }
    expect(await store.countRuns({ status: 'recording' })).toBe(0);
    expect(await store.countRuns({ status: 'complete' })).toBeGreaterThan(8);
    expect((await verdictsOf(store, newRuns)).filter((verdict) => !verdict.ok)).toEqual([]);
    await store.close();
    store = undefined;
    // The next open finds nothing left to mark: the live process marked its own runs.
    const reopened = await openStore(join(mounted.dir, 'full.db'));
    expect(await reopened.countRuns({ status: 'recording' })).toBe(0);
    await reopened.close();
  }, 240_000);
});

describe('a run id given twice', () => {
  it('the second run is refused by the store and reported; the first, still recording, is not ended by the second one', async () => {
    const store = await openSqliteStore(':memory:');
    const failures: RecordingFailure[] = [];
    const rec = createRecorder({ store, agent: 'support', baseFetch: crm, onRecordingError: (failure) => failures.push(failure) });
    let releaseFirst: () => void = () => {};
    const firstMayEnd = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    const first = rec.run(
      'one',
      async () => {
        rec.note('first');
        await rec.flush();
        await firstMayEnd;
        return 'first';
      },
      { runId: 'run_twice' },
    );
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    await rec.flush();
    const second = await rec.run('two', async () => 'second', { runId: 'run_twice' });
    expect(second).toBe('second');
    expect(failures.map((failure) => [failure.runId, failure.kind])).toEqual([['run_twice', 'write']]);
    expect((await store.getRunOrThrow('run_twice')).status).toBe('recording');
    releaseFirst();
    expect(await first).toBe('first');
    expect((await store.getRunOrThrow('run_twice')).status).toBe('complete');
  });
});
