import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSqliteStore, openStore, verifyStore } from '../../src/store/index.ts';

/** Starts the recording process, waits until `completedBeforeKill` runs are durable, then SIGKILLs it. */
async function recordThenKill(databasePath: string, completedBeforeKill: number): Promise<{ completed: string[]; inFlight: string }> {
  // One process (node --import tsx), so SIGKILL hits the recorder itself and not a wrapper.
  const child = spawn(process.execPath, ['--import', 'tsx', join(process.cwd(), 'test/fixtures/record-until-killed.ts'), databasePath], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const completed: string[] = [];
  let inFlight = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  await new Promise<void>((resolve, reject) => {
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('completed ')) completed.push(line.slice(10));
        if (!line.startsWith('midway ')) continue;
        // Kill while a run is in flight: it waits at its midway point until told to go on.
        if (completed.length >= completedBeforeKill) {
          inFlight = line.slice(7);
          child.kill('SIGKILL');
          resolve();
        } else child.stdin.write('go\n');
      }
    });
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`recorder exited early (${code}): ${stderr}`));
    });
  });
  await new Promise((resolve) => child.once('close', resolve));
  return { completed, inFlight };
}

describe('crash safety: a recorder killed with SIGKILL mid-run', () => {
  it('leaves a database that opens, passes integrity_check and verify, with completed runs intact and in-flight runs incomplete', async () => {
    const databasePath = join(mkdtempSync(join(tmpdir(), 'retrial-crash-')), 'crash.db');
    const { completed, inFlight } = await recordThenKill(databasePath, 12);

    const raw = await openSqliteStore(databasePath);
    expect(await raw.integrityCheck()).toEqual([]);
    const recordingBefore = await raw.countRuns({ status: 'recording' });
    await raw.close();

    const store = await openStore(databasePath);
    try {
      expect(await store.countRuns({ status: 'recording' })).toBe(0);
      expect(recordingBefore).toBeGreaterThanOrEqual(1);
      expect(await store.countRuns({ status: 'incomplete' })).toBe(recordingBefore);
      expect((await store.getRunOrThrow(inFlight)).status).toBe('incomplete');
      for (const runId of completed) {
        const run = await store.getRunOrThrow(runId);
        expect(run.status).toBe('complete');
        expect(run.ending?.output).not.toBeNull();
      }
      const verdicts = [];
      for await (const verification of verifyStore(store)) verdicts.push(verification);
      expect(verdicts.filter((verification) => !verification.ok)).toEqual([]);
      expect(verdicts.length).toBeGreaterThanOrEqual(completed.length);
      const decisions = await store.listDecisions({ type: 'crash.test', limit: 100_000 });
      for (const runId of completed) expect(decisions.some((decision) => decision.runId === runId)).toBe(true);
    } finally {
      await store.close();
    }
  });
});
