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
      // The recorded model at a dead endpoint: a partial figure of the configuration the report is about.
      target: { provider: 'openai', model: 'support-sim' },
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
    const command = `retrial resample ${RUN} --step ${step} -n 50 --model openai:support-sim --hypothesis close_account`;
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

  it('never reports a resample against another model as the rate, lists it, and reports it when named', async () => {
    const other = await resampleStep({
      store,
      runId: RUN,
      step,
      n: 12,
      target: { provider: 'sim', model: 'support-sim-2026-04-01' },
      baseUrl: `${simulator.url}/v1`,
      apiKey: 'sim',
    });
    const rate = section(await report(), 'Behaviour rate');
    expect(rate).toMatch(/Resampled 30 times on \S+ with model `support-sim`/);
    expect(rate).toContain(
      `Also stored at this step, against other models (not the recorded configuration, so not reported above): \`${other.analysisId}\` (\`support-sim-2026-04-01\``,
    );
    const named = section(await renderPostmortemReport({ store, runId: RUN, agentModule: 'agents/mine.ts', resampleId: other.analysisId }), 'Behaviour rate');
    expect(named).toMatch(new RegExp(`Resampled 12 times on \\S+ with model \`support-sim-2026-04-01\`.*stored as \`${other.analysisId}\``));
    await expect(renderPostmortemReport({ store, runId: RUN, agentModule: 'agents/mine.ts', resampleId: 'rs_nope' })).rejects.toThrow(
      /has no stored resample rs_nope; it has: /,
    );
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

  it('shows a failed configuration as failed with its reason, a factor not measured as unknown, and a difference within the noise as not significant', async () => {
    // As explain stores it: the prompt run failed before the decision step, so it has no samples
    // and its factor is unknown; the clock moved the rate by less than the test can tell from noise.
    const reason = 'the run failed before model:openai-chat#1: TypeError: boom';
    const explain: ExplainResult = {
      runId: RUN,
      decision: { type: 'account.action', value: 'close', seq: step + 1 },
      recordedAnswer: 'close_account',
      factors: [
        { factor: 'model', recorded: 'support-sim → a', current: 'support-sim → b', moved: true },
        { factor: 'prompt', recorded: '1200 characters', current: 'unknown: its run failed', moved: null },
        { factor: 'toolData', recorded: '2 read results', current: 'no read changed', moved: false },
        { factor: 'clock', recorded: '2026-11-20T02:14:00.000Z', current: '2026-12-06T10:00:00.000Z', moved: true },
      ],
      counterfactuals: [
        { configuration: 'recorded', runs: 1000, estimate: wilsonInterval(32, 1000), changesOutcome: false },
        { configuration: 'model', runs: 1000, estimate: wilsonInterval(2, 1000), changesOutcome: true },
        { configuration: 'prompt', runs: 0, estimate: wilsonInterval(0, 0), changesOutcome: false, failure: reason },
        // A rate within the noise for a factor that did not move: nothing was switched, so "no".
        { configuration: 'toolData', runs: 1000, estimate: wilsonInterval(30, 1000), changesOutcome: false },
        { configuration: 'clock', runs: 1000, estimate: wilsonInterval(41, 1000), changesOutcome: false },
        { configuration: 'current', runs: 1000, estimate: wilsonInterval(1, 1000), changesOutcome: true },
      ],
      explainingFactors: ['model'],
      notCaptured: ['provider caches'],
    };
    await store.saveRunAnalysis({ analysisId: 'ex_failed', runId: RUN, kind: 'explain', createdAt: Date.UTC(2026, 10, 22), result: explain });
    const moved = section(await report(), 'What moved since');
    expect(moved).toContain('| prompt | run failed | not measured |');
    expect(moved).toContain(`- prompt failed: ${reason}`);
    expect(moved).not.toContain('0 of 0');
    expect(moved).not.toContain('0.0-100.0%');
    expect(moved).toContain('| prompt | 1200 characters | unknown: its run failed | unknown |');
    expect(moved).toContain('| toolData | 2 read results | no read changed | no |');
    expect(moved).toContain('| clock | 41 of 1000, 4.1% (95% CI 3.0-5.5%) | not significant at N=1000 |');
    expect(moved).toContain('| toolData | 30 of 1000, 3.0% (95% CI 2.1-4.3%) | no |');
    expect(moved).toContain('| model | 2 of 1000, 0.2% (95% CI 0.1-0.7%) | **YES** |');
    expect(moved).toContain('Explained by: **model** (two-proportion tests against everything-as-recorded, p < 0.001 each; failed configurations not tested).');
    expect(section(await report(), 'Rerun every figure')).toContain(`retrial explain ${RUN} --agent <agent module> -n 1000`);
  });

  it('shows an older stored result, which kept a failed run as 0 of 0, as not measured, and names no single factor at its N', async () => {
    const explain: ExplainResult = {
      runId: RUN,
      decision: { type: 'account.action', value: 'close', seq: step + 1 },
      recordedAnswer: 'close_account',
      factors: [
        { factor: 'model', recorded: 'a', current: 'b', moved: true },
        { factor: 'clock', recorded: 'a', current: 'b', moved: true },
      ],
      counterfactuals: [
        { configuration: 'recorded', runs: 1000, estimate: wilsonInterval(32, 1000), changesOutcome: false },
        { configuration: 'model', runs: 1000, estimate: wilsonInterval(32, 1000), changesOutcome: false },
        { configuration: 'prompt', runs: 0, estimate: wilsonInterval(0, 0), changesOutcome: false },
        { configuration: 'clock', runs: 1000, estimate: wilsonInterval(31, 1000), changesOutcome: false },
      ],
      explainingFactors: [],
      notCaptured: ['provider caches'],
    };
    await store.saveRunAnalysis({ analysisId: 'ex_older', runId: RUN, kind: 'explain', createdAt: Date.UTC(2026, 10, 23), result: explain });
    const moved = section(await report(), 'What moved since');
    expect(moved).toContain('| prompt | run failed | not measured |');
    expect(moved).toContain('- prompt failed: its run failed (this older result did not store why)');
    expect(moved).not.toContain('0 of 0');
    expect(moved).toContain('| clock | 31 of 1000, 3.1% (95% CI 2.2-4.4%) | not significant at N=1000 |');
    // The same rate as the baseline did not move, whatever the factor did.
    expect(moved).toContain('| model | 32 of 1000, 3.2% (95% CI 2.3-4.5%) | no |');
    expect(moved).toContain('Explained by: **no single factor at N=1000** (');
  });
});
