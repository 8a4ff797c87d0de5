import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRecorder, defineAgent } from '../../src/record/index.ts';
import { replayRun } from '../../src/replay/index.ts';
import { openSqliteStore, verifyRun } from '../../src/store/index.ts';
import { stallMeter } from '../fixtures/stall-meter.ts';

/**
 * About `mb` MB of JSON that deflate barely shrinks: attachments as MIME base64 of random bytes
 * (76-character lines), 1 MB each. Three quarters of it is left for the store to write, and its
 * few large strings leave garbage collection almost nothing to do, so what the event loop meets
 * is the store's write.
 */
function exportFile(mb: number): { attachments: string[] } {
  const attachment = () =>
    (
      randomBytes(768 * 1024)
        .toString('base64')
        .match(/.{1,76}/g) as string[]
    ).join('\r\n');
  return { attachments: Array.from({ length: mb }, attachment) };
}

const SALT = 'large-value-salt';
/** Three results of this many MB, written by the run's last flush in one batch. */
const VALUE_MB = 45;
/**
 * Written in one transaction, the ~100 MB the three results deflate to held the event loop for
 * about 0.5 s on an idle 2-core box and 2-3 s at load average 9; in chunks the longest stall is
 * the box's own scheduling noise (up to ~150 ms at load average 9, a few ms idle). A bound well
 * above that noise and well below the single write.
 */
const STALL_BOUND_MS = 300;

describe('large values on a real SQLite store', () => {
  const directory = mkdtempSync(join(tmpdir(), 'retrial-large-value-'));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('writes three ~45 MB tool results without holding the event loop, and replays them byte for byte', async () => {
    const store = await openSqliteStore(join(directory, 'store.db'));
    const values = [exportFile(VALUE_MB), exportFile(VALUE_MB), exportFile(VALUE_MB)];
    // No background flush: the run's end writes the three results in one batch.
    const rec = createRecorder({ store, agent: 'exporter', redaction: { salt: SALT }, flushIntervalMs: 3_600_000, onRecordingError: () => {} });
    const fetchExport = rec.tool('fetch_export', async (index: number) => values[index], { effect: 'read' });

    const meter = stallMeter();
    await rec.run(
      null,
      async () => {
        for (let index = 0; index < values.length; index++) await fetchExport(index);
        return null;
      },
      { runId: 'run_large' },
    );
    await store.idle();
    const longest = meter.stop();
    expect((await store.getRunOrThrow('run_large')).status).toBe('complete');
    expect(longest, 'the longest stall, ms').toBeLessThan(STALL_BOUND_MS);

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
    expect(replayed.ok).toBe(true);
    expect(received.length).toBe(values.length);
    for (let index = 0; index < values.length; index++) expect(received[index] === JSON.stringify(values[index])).toBe(true);
    expect((await verifyRun(store, 'run_large')).problems).toEqual([]);
    await store.close();
  }, 600_000);
});
