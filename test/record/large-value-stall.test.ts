import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRecorder, defineAgent } from '../../src/record/index.ts';
import { replayRun } from '../../src/replay/index.ts';
import { openSqliteStore, verifyRun } from '../../src/store/index.ts';
import { cpuStallMeter } from '../fixtures/stall-meter.ts';

/**
 * About `mb` MB of JSON that deflate shrinks only by half: attachments as hex of random bytes
 * (76-character lines), 1 MB each. Hex, not base64: random base64 holds something shaped like an
 * API key (`/AIza` and 30 more letters) in about one run of five, which redaction rightly replaces.
 * Its few large strings leave garbage collection almost nothing to do, so what the event loop
 * meets is the store's write.
 */
function exportFile(mb: number): { attachments: string[] } {
  const attachment = () =>
    (
      randomBytes(512 * 1024)
        .toString('hex')
        .match(/.{1,76}/g) as string[]
    ).join('\r\n');
  return { attachments: Array.from({ length: mb }, attachment) };
}

const SALT = 'large-value-salt';
/** Three results of this many MB, written by the run's last flush in one batch. */
const VALUE_MB = 45;
/**
 * Written in one transaction, the ~70 MB the three results deflate to held the event loop for
 * 546 ms of the main thread's time on a CPU (1.4 s of wall time at load average 10). In chunks, no
 * gap between two turns of the loop held more than ~30 ms of it. The bound is on the time on a CPU
 * because the wall time of a gap is mostly the box's scheduling: 80-200 ms alone at load average
 * 9-17, 650 ms beside other test files, none of it our work.
 */
const CPU_STALL_BOUND_MS = 100;

describe('large values on a real SQLite store', () => {
  const directory = mkdtempSync(join(tmpdir(), 'retrial-large-value-'));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('writes three ~45 MB tool results without holding the event loop, and replays them byte for byte', async () => {
    const store = await openSqliteStore(join(directory, 'store.db'));
    const values = [exportFile(VALUE_MB), exportFile(VALUE_MB), exportFile(VALUE_MB)];
    // No background flush: the run's end writes the three results in one batch.
    const rec = createRecorder({ store, agent: 'exporter', redaction: { salt: SALT }, flushIntervalMs: 3_600_000, onRecordingError: () => {} });
    const fetchExport = rec.tool('fetch_export', async (index: number) => values[index], { effect: 'read' });

    const meter = cpuStallMeter();
    await rec.run(
      null,
      async () => {
        for (let index = 0; index < values.length; index++) await fetchExport(index);
        return null;
      },
      { runId: 'run_large' },
    );
    await store.idle();
    const { longestOnCpu } = meter.stop();
    expect((await store.getRunOrThrow('run_large')).status).toBe('complete');
    expect(longestOnCpu, 'the longest stall, ms of the main thread on a CPU').toBeLessThan(CPU_STALL_BOUND_MS);

    // Replay serves each result from the tape: the agent gets exactly the JSON it got when recorded.
    const received: string[] = [];
    const agent = defineAgent<null, null>({
      name: 'exporter',
      codeVersion: 'test',
      create({ rec: replaying }) {
        const fetchAgain = replaying.tool('fetch_export', async (_index: number): Promise<{ attachments: string[] }> => ({ attachments: [] }), {
          effect: 'read',
        });
        return async () => {
          for (let index = 0; index < values.length; index++) received.push(JSON.stringify(await fetchAgain(index)));
          return null;
        };
      },
    });
    const replayed = await replayRun({ store, runId: 'run_large', agent, redactionSalt: SALT });
    expect(replayed.ok ? [] : replayed.divergences).toEqual([]);
    expect(received.length).toBe(values.length);
    for (let index = 0; index < values.length; index++)
      expect(received[index] === JSON.stringify(values[index]), `result ${index} replayed byte for byte`).toBe(true);
    expect((await verifyRun(store, 'run_large')).problems).toEqual([]);
    await store.close();
  }, 600_000);
});
