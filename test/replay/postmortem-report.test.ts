import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountSystem, createDemoWorld, startSimulatorServer, supportAgent } from '../../src/demo/index.ts';
import { loadTape } from '../../src/inspect/index.ts';
import { createRecorder } from '../../src/record/index.ts';
import { type ExplainResult, renderPostmortemReport, resampleStep } from '../../src/replay/index.ts';
import { wilsonInterval } from '../../src/stats/index.ts';
import { openStore, type Store } from '../../src/store/index.ts';

const RUN = 'run_incident';
let store: Store;
let simulator: Awaited<ReturnType<typeof startSimulatorServer>>;
let step: number;

/** The endpoint died: every request fails, so resample stores what it has (nothing) and throws. */
const deadFetch: typeof fetch = async () => {
  throw new TypeError('fetch failed: connect ECONNREFUSED 127.0.0.1:59999');
};

const section = (markdown: string, heading: string) => {
  const start = markdown.indexOf(`## ${heading}`);
  expect(start).toBeGreaterThanOrEqual(0);
  const end = markdown.indexOf('\n## ', start + 3);
  return markdown.slice(start, end === -1 ? undefined : end);
};

async function partialResample(n: number): Promise<void> {
  await expect(
    resampleStep({
      store,
      runId: RUN,
      step,
      n,
      target: { provider: 'openai', model: 'gpt-4o-mini' },
      baseUrl: 'http://127.0.0.1:59999/v1',
      apiKey: 'd',
      fetch: deadFetch,
      hypothesis: 'close_account',
    }),
  ).rejects.toThrow(/partial result/);
}

const report = () => renderPostmortemReport({ store, runId: RUN, agentModule: 'agents/mine.ts' });

beforeAll(async () => {
  simulator = await startSimulatorServer({ port: 0, seed: 'retrial-demo-history-38' });
  store = await openStore(join(mkdtempSync(join(tmpdir(), 'retrial-report-')), 'report.db'));
  const world = createDemoWorld({ runs: 2, endAt: Date.UTC(2026, 10, 20) });
  const incident = world.tickets.find((scheduled) => scheduled.ticket.ticketId === world.incidentTicketId);
  if (!incident) throw new Error('no incident');
  const rec = createRecorder({ store, agent: supportAgent.name, redaction: { salt: 'report', rules: supportAgent.piiRules } });
  const handle = supportAgent.create({ rec, env: { RETRIAL_MODEL_BASE_URL: `${simulator.url}/v1` }, services: createAccountSystem([incident.account]) });
  await rec.run(incident.ticket, handle, { runId: RUN, startAt: incident.at });
  const tape = await loadTape(store, RUN);
  const decision = tape.events.find((event) => event.kind === 'decision');
  if (decision?.kind !== 'decision' || decision.basedOnSeq === null) throw new Error('no decision step');
  step = decision.basedOnSeq;
});
afterAll(async () => {
  await simulator.close();
  await store.close();
});

// The cases build on each other's stored analyses, in order.
describe('postmortem report: every figure with the command that reproduces it', () => {
  it('with nothing stored, says so and gives the command that produces a resample', async () => {
    const rate = section(await report(), 'Behaviour rate');
    expect(rate).toContain(`\`retrial resample ${RUN} --step ${step} -n 200\``);
    expect(rate).toContain(`No resample of step ${step} is stored`);
  });

  it('shows a partial-only resample as partial, k of N, with its own N and model in the command and no rate table', async () => {
    await partialResample(50);
    const markdown = await report();
    const rate = section(markdown, 'Behaviour rate');
    const command = `retrial resample ${RUN} --step ${step} -n 50 --model openai:gpt-4o-mini --hypothesis close_account`;
    expect(rate).toContain(`\`${command}\``);
    expect(rate).toContain('**PARTIAL: 0 of 50 answers**');
    expect(rate).toContain('ECONNREFUSED');
    expect(rate).not.toMatch(/Resampled \d+ times/);
    expect(rate).not.toContain('| answer |');
    expect(rate).not.toContain('-n 200');
    expect(section(markdown, 'Rerun every figure')).toContain(command);
  });

  it('prefers the newest complete resample over a newer partial one, naming its own N and model', async () => {
    await resampleStep({
      store,
      runId: RUN,
      step,
      n: 30,
      target: { provider: 'sim', model: 'support-sim' },
      baseUrl: `${simulator.url}/v1`,
      apiKey: 'sim',
      classifyBy: 'content[0].toolName',
      hypothesis: 'close_account',
    });
    await partialResample(70);
    const markdown = await report();
    const rate = section(markdown, 'Behaviour rate');
    const command = `retrial resample ${RUN} --step ${step} -n 30 --model sim:support-sim --classify-by 'content[0].toolName' --hypothesis close_account`;
    expect(rate).toContain(`\`${command}\``);
    expect(rate).toMatch(/Resampled 30 times on \S+ with model `support-sim`/);
    expect(rate).toContain('| answer | count | rate | 95% CI |');
    expect(rate).not.toContain('**PARTIAL');
    // The older partial one (N=50) is not newer than the figure shown, so not listed.
    expect(rate).toContain('Not shown: 1 newer partial resample at this step (0 of 70 answers');
    expect(rate).not.toContain('0 of 50');
    expect(section(markdown, 'Rerun every figure')).toContain(command);
    expect(markdown).not.toContain('-n 200');
  });

  it('prints an explanation under its own N and never names an agent module it did not store', async () => {
    const estimate = wilsonInterval(70, 2000);
    const explain: ExplainResult = {
      runId: RUN,
      decision: { type: 'account.action', value: 'close', seq: step + 1 },
      recordedAnswer: 'close_account',
      factors: [{ factor: 'model', recorded: 'a', current: 'b', moved: true }],
      counterfactuals: [
        { configuration: 'recorded', runs: 2000, estimate, changesOutcome: false },
        { configuration: 'model', runs: 2000, estimate: wilsonInterval(2, 2000), changesOutcome: true },
      ],
      explainingFactors: ['model'],
      notCaptured: ['provider caches'],
    };
    await store.saveRunAnalysis({ analysisId: 'ex_test', runId: RUN, kind: 'explain', createdAt: Date.UTC(2026, 10, 21), result: explain });
    const markdown = await report();
    const moved = section(markdown, 'What moved since');
    const command = `retrial explain ${RUN} --agent <agent module> -n 2000`;
    expect(moved).toContain(`\`${command}\``);
    expect(moved).toContain('Explained on 2026-11-21T00:00:00.000Z');
    expect(moved).toContain('run with the agent module you replay with');
    expect(moved).not.toContain('agents/mine.ts');
    expect(section(markdown, 'Rerun every figure')).toContain(command);
    // The replay is the report's own: it names the module the caller passed.
    expect(section(markdown, 'Exact reproduction')).toContain(`retrial replay ${RUN} --agent agents/mine.ts`);
  });
});
