import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/run-cli.ts';

/**
 * Exactly-once under SIGKILL: `retrial backfill run` is killed at random moments while it works,
 * then rerun to completion. Every (item, arm) must end with exactly one result, every result
 * written before a kill must survive unchanged, and the store must stay sound.
 *
 * Two knobs differ from a default run, both so that kills land in the middle of real work:
 * - The CLI plans the campaign in chunks of 64 decisions (two arms each), and a chunk's results are
 *   committed in one transaction at its end, so the demo's ~130 decisions make only 3 commits. The
 *   test re-chunks the planned items into chunks of CHUNK decisions (what `planCampaign({ chunkSize })`
 *   does; the CLI has no flag for it), so a run commits every few requests.
 * - The demo campaign is ~260 requests, and the rate gate lets a full second's worth start at once,
 *   so at 300/s the whole campaign is one burst done ~0.5 s after start. At RATE a process lives
 *   long enough to be killed several times mid-campaign.
 */

const RATE = '20/s';
const CHUNK = 2;
const KILLS = 4;
const BIN = join(process.cwd(), 'bin', 'retrial.js');
const directory = mkdtempSync(join(tmpdir(), 'retrial-backfill-sigkill-'));
const db = join(directory, 'demo.db');

let campaignId: string;
let selected: number;
let reader: Database.Database;

/** Every result of the campaign: (item, arm) -> what was stored (its time and payload). */
function snapshot(): Map<string, string> {
  const rows = reader.prepare('SELECT item_id, arm, at, result_json FROM campaign_results WHERE campaign_id = ?').all(campaignId) as Array<{
    item_id: string;
    arm: string;
    at: number;
    result_json: string;
  }>;
  return new Map(rows.map((row) => [`${row.item_id}\n${row.arm}`, `${row.at}\n${row.result_json}`]));
}

function runsStarted(): number {
  return (
    reader.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE campaign_id = ? AND action = 'campaign.run.started'").get(campaignId) as {
      n: number;
    }
  ).n;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with how the child ended: its exit code, or the signal that ended it. */
function ended(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
}

beforeAll(async () => {
  const demo = await runCli(['demo', '--runs', '300', '--db', db, '--json']);
  expect(demo.stderr).toBe('');
  expect(demo.status).toBe(0);
  const planned = await runCli([
    'backfill',
    'plan',
    '--type',
    'refund.category',
    '--since',
    '400d',
    '--candidate',
    'sim:support-sim-2026-04-01',
    '--db',
    db,
    '--json',
  ]);
  expect(planned.status, planned.stderr).toBe(0);
  const { plan, ...rest } = JSON.parse(planned.stdout) as { campaignId: string; plan: { selected: number; noiseFloor: number } };
  campaignId = rest.campaignId;
  selected = plan.selected;
  // Noise floor on: the incumbent re-decides every selected decision, so every item has two arms.
  expect(plan.noiseFloor).toBe(selected);

  reader = new Database(db, { fileMustExist: true });
  reader.transaction(() => {
    const items = reader.prepare('SELECT item_id FROM campaign_items WHERE campaign_id = ? ORDER BY chunk, item_id').all(campaignId) as Array<{
      item_id: string;
    }>;
    const update = reader.prepare('UPDATE campaign_items SET chunk = ? WHERE campaign_id = ? AND item_id = ?');
    for (const [index, item] of items.entries()) update.run(Math.floor(index / CHUNK), campaignId, item.item_id);
    const stored = reader.prepare('SELECT plan_json FROM campaigns WHERE campaign_id = ?').get(campaignId) as { plan_json: string };
    const rechunked = { ...JSON.parse(stored.plan_json), chunkSize: CHUNK, chunks: Math.ceil(items.length / CHUNK) };
    reader.prepare('UPDATE campaigns SET plan_json = ? WHERE campaign_id = ?').run(JSON.stringify(rechunked), campaignId);
  })();
}, 180_000);

afterAll(() => {
  reader?.close();
});

describe('backfill run killed with SIGKILL at random moments', () => {
  it('ends with exactly one result per item and arm, loses nothing written, and leaves a sound store', { timeout: 300_000 }, async () => {
    const total = (reader.prepare('SELECT SUM(json_array_length(arms)) AS n FROM campaign_items WHERE campaign_id = ?').get(campaignId) as { n: number }).n;
    expect(total).toBe(selected * 2);

    let previous = snapshot();
    expect(previous.size).toBe(0);
    const timeline: string[] = [];
    const doneAtEachStart = [0];
    for (let kill = 1; kill <= KILLS; kill++) {
      const startedBefore = runsStarted();
      const child = spawn(process.execPath, [BIN, 'backfill', 'run', campaignId, '--db', db, '--rate', RATE], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr?.on('data', (chunk) => {
        stderr += chunk;
      });
      child.stdout?.resume();
      const end = ended(child);
      // Wait until this process has started and written a result of its own (events, not time: on a
      // loaded box start-up alone can take seconds), then kill it at a random moment after that.
      while (runsStarted() === startedBefore || snapshot().size === previous.size) {
        if (child.exitCode !== null) throw new Error(`backfill run ended (exit ${child.exitCode}) before writing a result: ${stderr}`);
        await sleep(10);
      }
      const delay = Math.floor(Math.random() * 1000);
      await sleep(delay);
      child.kill('SIGKILL');
      const { signal, code } = await end;
      expect(signal, `kill ${kill}: the run ended by itself (exit ${code}) before the kill; ${stderr}`).toBe('SIGKILL');

      const current = snapshot();
      timeline.push(`kill ${kill} at ${delay} ms after its first result: ${previous.size} -> ${current.size} of ${total}`);
      // Results only grow, and whatever was written before survives byte for byte.
      expect(current.size, timeline.join('\n')).toBeGreaterThan(previous.size);
      expect(current.size, timeline.join('\n')).toBeLessThan(total);
      for (const [key, value] of previous) expect(current.get(key), `${key} changed or vanished after kill ${kill}`).toBe(value);
      previous = current;
      doneAtEachStart.push(current.size);
    }

    const finished = await runCli(['backfill', 'run', campaignId, '--db', db, '--rate', RATE, '--json']);
    expect(finished.status, finished.stderr).toBe(0);
    expect(JSON.parse(finished.stdout)).toMatchObject({ total, alreadyDone: previous.size, written: total - previous.size, pending: 0, stoppedBecause: null });
    const final = snapshot();
    for (const [key, value] of previous) expect(final.get(key), `${key} changed in the final run`).toBe(value);

    // Exactly one result per (item, arm): as many rows as arms, none missing, none extra.
    const rows = (reader.prepare('SELECT COUNT(*) AS n FROM campaign_results WHERE campaign_id = ?').get(campaignId) as { n: number }).n;
    expect(rows).toBe(total);
    expect(final.size).toBe(total);
    const missing = reader
      .prepare(
        `SELECT i.item_id, arm.value AS arm FROM campaign_items i, json_each(i.arms) arm
         WHERE i.campaign_id = ? AND NOT EXISTS (SELECT 1 FROM campaign_results r WHERE r.campaign_id = i.campaign_id AND r.item_id = i.item_id AND r.arm = arm.value)`,
      )
      .all(campaignId);
    expect(missing).toEqual([]);
    const extra = reader
      .prepare(
        `SELECT r.item_id, r.arm FROM campaign_results r WHERE r.campaign_id = ? AND NOT EXISTS
           (SELECT 1 FROM campaign_items i, json_each(i.arms) arm WHERE i.campaign_id = r.campaign_id AND i.item_id = r.item_id AND arm.value = r.arm)`,
      )
      .all(campaignId);
    expect(extra).toEqual([]);

    expect(reader.pragma('integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    const [verify, audit] = await Promise.all([runCli(['verify', '--db', db]), runCli(['audit', '--verify', '--campaign', campaignId, '--db', db, '--json'])]);
    expect(verify.status, verify.stdout).toBe(0);
    expect(verify.stdout).toMatch(/^OK: 300 runs/m);
    expect(audit.status, audit.stdout).toBe(0);
    const { entries, verified } = JSON.parse(audit.stdout) as { entries: Array<{ action: string; details: Record<string, unknown> }>; verified: boolean };
    expect(verified).toBe(true);
    // Each process found exactly what the ones before it had committed; only the last one finished.
    expect(entries.filter((entry) => entry.action === 'campaign.run.started').map((entry) => entry.details)).toEqual(
      doneAtEachStart.map((alreadyDone) => ({ total, alreadyDone })),
    );
    expect(entries.filter((entry) => entry.action === 'campaign.run.finished').map((entry) => entry.details)).toEqual([
      { written: total - previous.size, pending: 0, stoppedBecause: null },
    ]);

    // The report counts exactly what the results table holds.
    const report = await runCli(['backfill', 'report', campaignId, '--db', db, '--json']);
    expect(report.status, report.stderr).toBe(0);
    const comparison = JSON.parse(report.stdout) as {
      progress: { items: number; candidateDone: number; incumbentDone: number; failed: number };
      flipRate: { successes: number; trials: number };
      noiseFloor: { successes: number; trials: number };
      flips: Array<{ itemId: string }>;
      flipMatrix: { counts: Record<string, Record<string, number>> };
    };
    const joined = reader
      .prepare(
        `SELECT r.item_id, r.arm, json_extract(r.result_json, '$.value') AS value, json_extract(i.item_json, '$.value') AS shipped
         FROM campaign_results r JOIN campaign_items i USING (campaign_id, item_id) WHERE r.campaign_id = ?`,
      )
      .all(campaignId) as Array<{ item_id: string; arm: string; value: string | null; shipped: string }>;
    expect(joined.every((row) => row.value !== null)).toBe(true);
    const movedItems = (arm: string) =>
      joined
        .filter((row) => row.arm === arm && row.value !== row.shipped)
        .map((row) => row.item_id)
        .sort();
    expect(comparison.progress).toMatchObject({ items: selected, candidateDone: selected, incumbentDone: selected, failed: 0 });
    expect(comparison.flipRate).toMatchObject({ successes: movedItems('candidate').length, trials: selected });
    expect(comparison.noiseFloor).toMatchObject({ successes: movedItems('incumbent').length, trials: selected });
    expect(comparison.flips.map((flip) => flip.itemId).sort()).toEqual(movedItems('candidate'));
    for (const [from, row] of Object.entries(comparison.flipMatrix.counts))
      for (const [to, count] of Object.entries(row))
        expect(count, `${from} -> ${to}`).toBe(joined.filter((result) => result.arm === 'candidate' && result.shipped === from && result.value === to).length);

    // And a rerun finds nothing to do.
    const again = await runCli(['backfill', 'run', campaignId, '--db', db, '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ total, alreadyDone: total, written: 0, pending: 0 });
    expect(snapshot()).toEqual(final);
  });
});
