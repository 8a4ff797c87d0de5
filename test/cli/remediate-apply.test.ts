import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyTriage, campaignEndpoints, parseTriagePolicy, planCampaign, planRemediation, runCampaign } from '../../src/backfill/index.ts';
import { CANDIDATE_VERSION_ID, createSimulatedModel, createSimulatorFetch } from '../../src/demo/index.ts';
import { type RecordedStore, recordHistoryIntoTempStore } from '../backfill/recorded-history.ts';
import { runCli } from './run-cli.ts';

/**
 * `remediate apply` with handlers that misbehave: one that never settles must not hang the apply,
 * one that ends the process must be named, and the claim a dead process left must not block the
 * next apply for the lease's ten minutes.
 */
let recorded: RecordedStore;
let campaignId: string;
let planned: string[];
const directory = mkdtempSync(join(tmpdir(), 'retrial-remediate-'));
const appliedLog = join(directory, 'applied.log');

/** A handler module: appends each key it applies to applied.log; `before` runs first with the correction in scope. */
function handler(name: string, before = ''): string {
  const path = join(directory, name);
  writeFileSync(
    path,
    `import { appendFileSync, existsSync, rmSync } from 'node:fs';
export default async function (correction) {
  ${before}
  appendFileSync(${JSON.stringify(appliedLog)}, correction.idempotencyKey + '\\n');
}
`,
  );
  return path;
}

const apply = (handlerPath: string, ...extra: string[]) =>
  runCli(['remediate', 'apply', campaignId, '--handler', handlerPath, '--db', recorded.path, ...extra]);

async function plan(): Promise<Array<{ idempotencyKey: string; status: string; lastError: string | null }>> {
  const result = await runCli(['remediate', 'plan', campaignId, '--db', recorded.path, '--json']);
  expect(result.status).toBe(0);
  return JSON.parse(result.stdout);
}

beforeAll(async () => {
  recorded = await recordHistoryIntoTempStore({ runs: 300, seed: 'remediation-safety', redactionSalt: 's' });
  const { store, history } = recorded;
  const campaign = await planCampaign({
    store,
    decisionType: 'refund.category',
    since: history.world.startAt,
    until: history.world.endAt + 1,
    candidate: { provider: 'sim', model: CANDIDATE_VERSION_ID },
    noiseFloor: 0,
    actor: 'alice',
    now: Date.now(),
  });
  const simulator = { baseUrl: 'http://sim.test/v1', fetch: createSimulatorFetch(createSimulatedModel({ seed: 'remediation-safety-backfill' })) };
  await runCampaign({ store, campaignId: campaign.campaignId, endpointFor: campaignEndpoints(campaign.plan, { simulator }), actor: 'alice' });
  await applyTriage({
    store,
    campaignId: campaign.campaignId,
    policy: parseTriagePolicy('version: 1\ndefault: correct\nrules: []\n', 'all.yaml'),
    actor: 'alice',
    now: Date.now(),
  });
  planned = (await planRemediation({ store, campaignId: campaign.campaignId, actor: 'alice', now: Date.now() })).map((entry) => entry.idempotencyKey);
  expect(planned.length).toBeGreaterThanOrEqual(3);
  campaignId = campaign.campaignId;
  // The CLI processes below are the only writers from here on.
  await recorded.store.close();
}, 300_000);

afterAll(async () => recorded?.dispose());

describe('remediate apply with a misbehaving handler', () => {
  // The cases build on each other: each leaves the rest of the plan for the next.
  it('a handler call that never settles times out: marked failed with why, the apply ends, and the next apply retries it', async () => {
    const flag = join(directory, 'hang-once');
    writeFileSync(flag, '');
    // Hangs on its first call, with a timer that would keep the process alive for ever; refuses the others (left for later cases).
    const hanging = handler(
      'hangs.mjs',
      `if (!existsSync(${JSON.stringify(flag)})) throw new Error('not in this case');
  rmSync(${JSON.stringify(flag)});
  setInterval(() => {}, 1000);
  await new Promise(() => {});`,
    );
    const result = await apply(hanging, '--handler-timeout', '1s');
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/rc_\w+: timed out: the handler did not settle within 1 s/);
    expect(result.status).toBe(1);
    const timedOut = (await plan()).filter((entry) => entry.lastError?.startsWith('timed out'));
    expect(timedOut).toHaveLength(1);
    expect(timedOut[0]?.status).toBe('failed');
    const key = timedOut[0]?.idempotencyKey as string;

    const retried = await apply(handler('only-that-one.mjs', `if (correction.idempotencyKey !== ${JSON.stringify(key)}) throw new Error('not in this case');`));
    expect(retried.stdout).toMatch(/^Applied 1 corrections;/);
    expect((await plan()).find((entry) => entry.idempotencyKey === key)?.status).toBe('applied');
  }, 300_000);

  it('a handler that ends the process is named with the correction it was at, and the next apply takes over the dead claim at once', async () => {
    const flag = join(directory, 'exit-once');
    writeFileSync(flag, '');
    const exiting = handler('exits.mjs', `if (existsSync(${JSON.stringify(flag)})) { rmSync(${JSON.stringify(flag)}); process.exit(13); }`);
    const before = new Set(readFileSync(appliedLog, 'utf8').split('\n').filter(Boolean));
    const result = await apply(exiting);
    expect(result.status).toBe(13);
    expect(result.stderr).toMatch(
      /^retrial: the handler \S+exits\.mjs ended the process \(exit status 13\) while applying (rc_\w+) \(decision \S+\); whether that correction was made is unknown\. Run apply again: it takes over this process's claim/,
    );
    const key = /while applying (rc_\w+)/.exec(result.stderr)?.[1] as string;

    // Within the ten-minute lease: the claim's process is gone, so it is taken over, audited, and applied.
    const next = await apply(handler('works.mjs'));
    expect(next.stderr).toBe('');
    expect(next.stdout).toContain(`${key}: taken over from process`);
    expect(next.stdout).not.toMatch(/left alone/);
    expect(next.status).toBe(0);
    expect((await plan()).every((entry) => entry.status === 'applied')).toBe(true);
    const applied = readFileSync(appliedLog, 'utf8').split('\n').filter(Boolean);
    expect(applied.filter((entry) => !before.has(entry))).toContain(key);
    const audit = await runCli(['audit', '--campaign', campaignId, '--db', recorded.path, '--json']);
    const takeovers = (JSON.parse(audit.stdout).entries as Array<{ action: string; details: { idempotencyKey: string; reason: string } }>).filter(
      (entry) => entry.action === 'correction.claim.taken-over',
    );
    expect(takeovers).toEqual([
      expect.objectContaining({ details: expect.objectContaining({ idempotencyKey: key, reason: 'the process holding the claim is gone' }) }),
    ]);
  }, 300_000);

  it('plan -o into a directory that does not exist names the directory, exit 3', async () => {
    const missing = join(directory, 'no-such-dir');
    const result = await runCli(['remediate', 'plan', campaignId, '--db', recorded.path, '-o', join(missing, 'corrections.csv')]);
    expect(result.stderr).toBe(
      `retrial: Cannot write ${join(missing, 'corrections.csv')}: the directory ${missing} does not exist; create it or pass another -o.\n`,
    );
    expect(result.status).toBe(3);
  }, 120_000);

  it('refuses a --handler-timeout that is not a duration, exit 2', async () => {
    const result = await apply(handler('works.mjs'), '--handler-timeout', 'soon');
    expect(result.stderr).toBe('retrial: --handler-timeout "soon" must be a positive duration such as 60s, 2m, 500ms or 1h.\n');
    expect(result.status).toBe(2);
  }, 120_000);
});
