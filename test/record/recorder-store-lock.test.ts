import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRecorder, type RecordingFailure, type RecordingRecorder } from '../../src/record/index.ts';
import { openSqliteStore, type SqliteStore, type Store, verifyStore } from '../../src/store/index.ts';
import { stallMeter } from '../fixtures/stall-meter.ts';

/**
 * Another process that takes the store's write lock (BEGIN IMMEDIATE), says "locked", and holds
 * it until told to let go on stdin.
 */
const HOLDER = `
const Database = require('better-sqlite3');
const db = new Database(process.env.RETRIAL_LOCK_DB);
db.exec('BEGIN IMMEDIATE');
process.stdout.write('locked\\n');
process.stdin.once('data', () => {
  db.exec('COMMIT');
  db.close();
  process.stdout.write('released\\n');
  process.exit(0);
});
`;

interface LockHolder {
  release(): Promise<void>;
}

async function holdWriteLock(path: string): Promise<LockHolder> {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, ['-e', HOLDER], {
    cwd: process.cwd(),
    env: { ...process.env, RETRIAL_LOCK_DB: path },
  });
  let output = '';
  const said = (word: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (output.includes(word)) resolve();
      };
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        check();
      });
      child.once('exit', (code) => (output.includes(word) ? resolve() : reject(new Error(`lock holder exited (${code}) before saying ${word}`))));
      check();
    });
  child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  await said('locked');
  return {
    async release() {
      const released = said('released');
      child.stdin.write('release\n');
      await released;
    },
  };
}

/** A store whose writes count the times they met the lock. */
function countingLocks(real: SqliteStore): { store: Store; locked: () => number } {
  let locked = 0;
  const store = new Proxy(real, {
    get(target, property, receiver) {
      if (property === 'write')
        return async (...args: Parameters<Store['write']>) => {
          try {
            return await target.write(...args);
          } catch (error) {
            if (/locked/.test(String((error as Error).message))) locked++;
            throw error;
          }
        };
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as Store;
  return { store, locked: () => locked };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise<void>((resolve) => setTimeout(resolve, 5));
}

/** Reads, decides, then calls a write tool, which waits until what led to it is durable. */
function agentOf(rec: RecordingRecorder) {
  const lookup = rec.tool('lookup_account', async (id: string) => ({ id, plan: 'pro' }), { effect: 'read' });
  const refund = rec.tool('issue_refund', async (id: string) => ({ refunded: id }), { effect: 'write' });
  return async (id: string) => {
    const account = await lookup(id);
    rec.decide({ type: 'refund.category', subject: id, value: 'goodwill', amount: 5 });
    const refunded = await refund(account.id);
    rec.note('handled', { id });
    return refunded;
  };
}

const ids = ['K-1', 'K-2', 'K-3', 'K-4'];

describe('another process holds the store write lock while runs record (a real SQLite file and process)', () => {
  it('shorter than maxLockWaitMs: the event loop never stalls, the write tools wait for the lock, and the runs complete once it is released', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'retrial-lock-')), 'lock.db');
    const real = await openSqliteStore(path);
    const { store, locked } = countingLocks(real);
    const failures: RecordingFailure[] = [];
    const rec = createRecorder({ store, agent: 'support', onRecordingError: (failure) => failures.push(failure) });
    const agent = agentOf(rec);
    expect(await rec.run('W-0', agent, { runId: 'run_warm' })).toEqual({ refunded: 'W-0' });

    const holder = await holdWriteLock(path);
    const stall = stallMeter();
    let returned = 0;
    const runs = Promise.all(
      ids.map(async (id) => {
        const output = await rec.run(id, agent, { runId: `run_${id}` });
        returned++;
        return output;
      }),
    );
    // The recorder has met the lock over and over: about a second of backoff.
    await until(() => locked() >= 12);
    expect(returned).toBe(0);
    expect(rec.health().bufferedEvents).toBeGreaterThan(0);
    await holder.release();
    expect(await runs).toEqual(ids.map((id) => ({ refunded: id })));
    const longestStallMs = stall.stop();

    // On the order of a few ms per write; the store's own 5 s wait would show here as seconds.
    expect(longestStallMs).toBeLessThan(250);
    expect(failures).toEqual([]);
    for (const id of ids) expect((await real.getRunOrThrow(`run_${id}`)).status).toBe('complete');
    const health = rec.health();
    expect(health.bufferedEvents).toBe(0);
    expect(health.runsDegraded).toBe(0);
    for await (const verdict of verifyStore(real)) expect(verdict.problems).toEqual([]);
    expect((await real.listDecisions({ type: 'refund.category' })).map((decision) => decision.subject).sort()).toEqual([...ids, 'W-0']);
    await real.close();
  }, 60_000);

  it('longer than maxLockWaitMs: the calls return while the lock is still held, the runs are cut short, and marked incomplete once it is released', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'retrial-lock-')), 'lock.db');
    const real = await openSqliteStore(path);
    const failures: RecordingFailure[] = [];
    const rec = createRecorder({
      store: real,
      agent: 'support',
      maxLockWaitMs: 300,
      retryIntervalMs: 10,
      onRecordingError: (failure) => failures.push(failure),
    });
    const agent = agentOf(rec);

    const holder = await holdWriteLock(path);
    const stall = stallMeter();
    // Every call returns while the other process still holds the lock.
    expect(await Promise.all(ids.map((id) => rec.run(id, agent, { runId: `run_${id}` })))).toEqual(ids.map((id) => ({ refunded: id })));
    expect(stall.stop()).toBeLessThan(250);
    expect(failures.map((failure) => failure.runId).sort()).toEqual(ids.map((id) => `run_${id}`));
    for (const failure of failures) {
      expect(failure.kind).toBe('write');
      expect(failure.reason).toMatch(/database is locked: another process held its write lock for more than 300 ms \(maxLockWaitMs\)$/);
    }
    expect(rec.health().marksPending).toBe(ids.length);

    await holder.release();
    await until(() => rec.health().marksPending === 0);
    for (const id of ids) {
      const run = await real.getRunOrThrow(`run_${id}`);
      expect(run.status).toBe('incomplete');
      expect(run.ending?.error?.message).toMatch(/^write: the store refused the run's events: .*database is locked/);
    }
    expect(await rec.run('N-1', agent, { runId: 'run_after' })).toEqual({ refunded: 'N-1' });
    expect((await real.getRunOrThrow('run_after')).status).toBe('complete');
    for await (const verdict of verifyStore(real)) expect(verdict.problems).toEqual([]);
    await real.close();
  }, 60_000);

  it('events waiting for the lock count against maxPendingEvents: a run that pushes past it meanwhile stops (buffer-full), the waiting one completes', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'retrial-lock-')), 'lock.db');
    const real = await openSqliteStore(path);
    const { store, locked } = countingLocks(real);
    const failures: RecordingFailure[] = [];
    const rec = createRecorder({ store, agent: 'support', maxPendingEvents: 50, onRecordingError: (failure) => failures.push(failure) });
    const refund = rec.tool('issue_refund', async (id: string) => ({ refunded: id }), { effect: 'write' });
    const draws = (count: number) => {
      let sum = 0;
      for (let draw = 0; draw < count; draw++) sum += Math.random() >= 0 ? 1 : 0;
      return sum;
    };

    const holder = await holdWriteLock(path);
    // 40 events, then a write tool: they wait in memory for the lock.
    const waiting = rec.run('A', async () => ({ sum: draws(40), refunded: await refund('A') }), { runId: 'run_waiting' });
    await until(() => locked() >= 1);
    // 20 more events: alone under the limit, past it with the 40 that wait.
    const chatty = rec.run('B', async () => draws(20), { runId: 'run_chatty' });
    await until(() => failures.length > 0);
    expect(failures.map((failure) => [failure.runId, failure.kind])).toEqual([['run_chatty', 'buffer-full']]);
    await holder.release();
    expect(await waiting).toEqual({ sum: 40, refunded: { refunded: 'A' } });
    expect(await chatty).toBe(20);
    expect((await real.getRunOrThrow('run_waiting')).status).toBe('complete');
    expect((await real.getRunOrThrow('run_chatty')).status).toBe('incomplete');
    expect(rec.health().bufferedEvents).toBe(0);
    for await (const verdict of verifyStore(real)) expect(verdict.problems).toEqual([]);
    await real.close();
  }, 60_000);
});
