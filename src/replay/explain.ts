import { type LoadedTape, loadTape } from '../inspect/index.ts';
import type { AgentDefinition } from '../record/index.ts';
import { type ProportionEstimate, wilsonInterval } from '../stats/index.ts';
import { createMemoryStore, exportRun, importRun, type Store } from '../store/index.ts';
import { type CanonicalMessage, RetrialError, type TapeEvent } from '../tape/index.ts';
import { classifyResponse, NO_TOOL } from './classify-response.ts';
import { forkRun } from './fork.ts';
import { resampleStep } from './resample.ts';

/** The things that move between an incident and its investigation. */
export type ExplainFactor = 'model' | 'prompt' | 'toolData' | 'clock';
export const EXPLAIN_FACTORS: readonly ExplainFactor[] = ['model', 'prompt', 'toolData', 'clock'];

export interface FactorComparison {
  factor: ExplainFactor;
  recorded: string;
  current: string;
  moved: boolean;
}

export interface CounterfactualResult {
  /** `recorded` (everything as at the incident), one factor switched to now, or `current` (all now). */
  configuration: 'recorded' | ExplainFactor | 'current';
  runs: number;
  /** How often the decision step answers as recorded (e.g. calls close_account again). */
  estimate: ProportionEstimate;
  /** True when the rate differs from the all-recorded configuration (two-proportion z-test at p < 0.001 each). */
  changesOutcome: boolean;
}

export interface ExplainResult {
  runId: string;
  decision: { type: string; value: string; seq: number };
  /** The answer at the decision's model step on the tape (e.g. the tool it called). */
  recordedAnswer: string;
  factors: FactorComparison[];
  counterfactuals: CounterfactualResult[];
  /** Factors whose switch alone changes the rate of the recorded decision. */
  explainingFactors: ExplainFactor[];
  /** What the tape cannot capture, so cannot be switched. */
  notCaptured: string[];
}

export interface ExplainOptions {
  store: Store;
  runId: string;
  agent: AgentDefinition<never, unknown, unknown>;
  redactionSalt: string;
  /** The model endpoint as it is now (base URL ending in /v1 for OpenAI-compatible). */
  endpoint: { baseUrl: string; apiKey: string };
  /** The world the agent's read tools see now; undefined lets the agent module build its own. */
  servicesNow?: unknown;
  /** Samples of the decision step per configuration (default 1,000: tells 3.5% from 0.3% at p < 0.001 in about 95 of 100 runs). */
  repetitions?: number;
  /** Fetch for the model endpoint (tests answer in-process). */
  fetch?: typeof fetch;
  /** Store the result with the run (default true). */
  save?: boolean;
}

const NOT_CAPTURED = [
  'provider-side batching and numerics (the model is re-sampled, not re-computed)',
  'provider caches (prompt caching, routing to a different replica)',
  'third-party state behind tools, beyond what the tools returned',
  'network calls that did not go through rec.fetch or a wrapped tool',
];

/**
 * Two-proportion z-test, each at 0.1% (a family-wise 0.5% over the five comparisons with the
 * shared baseline, Bonferroni). A postmortem that names a factor wrongly sends people after the
 * wrong fix, so the bar is high; the sample sizes are chosen to clear it for real effects.
 */
const Z_PER_TEST = 3.2905267314919255;
function twoProportionsDiffer(a: ProportionEstimate, b: ProportionEstimate): boolean {
  const pooled = (a.successes + b.successes) / (a.trials + b.trials);
  const variance = pooled * (1 - pooled) * (1 / a.trials + 1 / b.trials);
  if (variance === 0) return a.rate !== b.rate;
  return Math.abs(a.rate - b.rate) / Math.sqrt(variance) > Z_PER_TEST;
}

function systemPromptOf(tape: LoadedTape, event: Extract<TapeEvent, { kind: 'model' }>): string {
  const messages = tape.messageRefs(event.request.messages).map((ref) => tape.blob<CanonicalMessage>(ref));
  const system = messages.find((message) => message.role === 'system');
  return system?.content.map((part) => (part.type === 'text' ? part.text : '')).join('') ?? '';
}

/** Read-tool and retrieval results by causal key, as JSON text. */
function readResults(tape: LoadedTape): Map<string, string> {
  const reads = tape.events.filter(
    (event): event is Extract<TapeEvent, { kind: 'tool' | 'retrieval' }> => (event.kind === 'tool' && event.effect === 'read') || event.kind === 'retrieval',
  );
  return new Map(reads.map((event) => [event.key, JSON.stringify(event.result ? tape.blob(event.result) : null)]));
}

function describeReadChanges(recorded: Map<string, string>, current: Map<string, string>): { recorded: string; current: string; moved: boolean } {
  const changed = [...new Set([...recorded.keys(), ...current.keys()])].filter((key) => recorded.get(key) !== current.get(key));
  return { recorded: `${recorded.size} read results`, current: changed.length ? `changed: ${changed.join(', ')}` : 'all the same', moved: changed.length > 0 };
}

/**
 * Answers "why does it work when I try it now?": compares what the tape recorded with the world
 * now for each factor, then re-runs the agent from its first model call with everything as
 * recorded, with one factor switched to now at a time, and with everything now; resamples the
 * decision step of each enough times to give an interval, and names the factors whose switch alone
 * changes how often the recorded answer comes back.
 */
export async function explainRun(options: ExplainOptions): Promise<ExplainResult> {
  const tape = await loadTape(options.store, options.runId);
  const decision = tape.events.find((event): event is Extract<TapeEvent, { kind: 'decision' }> => event.kind === 'decision');
  if (!decision)
    throw new RetrialError({
      code: 'USAGE',
      message: `Run ${options.runId} recorded no decision; explain compares how often a decision comes back, so it needs one.`,
    });
  const models = tape.events.filter((event): event is Extract<TapeEvent, { kind: 'model' }> => event.kind === 'model');
  const first = models[0];
  const basis = models.find((event) => event.seq === decision.basedOnSeq) ?? models.at(-1);
  if (!first || !basis) throw new RetrialError({ code: 'USAGE', message: `Run ${options.runId} has no model call to explain.` });
  const recordedServed = basis.response?.model.served ?? basis.request.model;

  // A scratch store: counterfactual runs never land in the user's store.
  const scratch = createMemoryStore();
  await importRun(scratch, await exportRun(options.store, options.runId));
  const repetitions = options.repetitions ?? 1000;
  let counter = 0;
  const runOnce = async (now: Set<ExplainFactor>) => {
    const child = `cf_${counter++}`;
    await forkRun({
      store: scratch,
      runId: options.runId,
      atSeq: first.seq,
      agent: options.agent,
      redactionSalt: options.redactionSalt,
      childRunId: child,
      overrides: { ...(now.has('model') ? {} : { model: recordedServed }), ...(now.has('prompt') ? {} : { systemPrompt: systemPromptOf(tape, first) }) },
      reads: now.has('toolData') ? 'current' : 'frozen',
      clock: now.has('clock') ? 'now' : 'recorded',
      endpoint: options.endpoint,
      services: options.servicesNow,
    });
    return loadTape(scratch, child);
  };

  // One run per configuration builds the request the decision step would see; that request is
  // then resampled, which measures the decision's rate far more cheaply than N whole runs.
  const recordedAnswer = basis?.response ? classifyResponse(basis.response, null) : NO_TOOL;
  const configurations: Array<[CounterfactualResult['configuration'], Set<ExplainFactor>]> = [
    ['recorded', new Set()],
    ...EXPLAIN_FACTORS.map((factor): [ExplainFactor, Set<ExplainFactor>] => [factor, new Set([factor])]),
    ['current', new Set(EXPLAIN_FACTORS)],
  ];
  const runs = new Map<CounterfactualResult['configuration'], LoadedTape>();
  const counterfactuals: CounterfactualResult[] = [];
  for (const [configuration, now] of configurations) {
    const child = await runOnce(now);
    runs.set(configuration, child);
    const step = child.events.find((event) => event.kind === 'model' && event.key === basis.key);
    let estimate = wilsonInterval(0, 0);
    if (step) {
      const sampled = await resampleStep({
        store: scratch,
        runId: child.run.header.runId,
        step: step.seq,
        n: repetitions,
        target: null,
        ...options.endpoint,
        fetch: options.fetch,
        hypothesis: recordedAnswer,
        save: false,
        concurrency: 8,
      });
      estimate = sampled.hypothesis.estimate;
    }
    counterfactuals.push({ configuration, runs: estimate.trials, estimate, changesOutcome: false });
  }
  const recorded = counterfactuals[0] as CounterfactualResult;
  for (const result of counterfactuals.slice(1)) result.changesOutcome = twoProportionsDiffer(recorded.estimate, result.estimate);

  const firstModel = (loaded: LoadedTape | undefined) =>
    loaded?.events.find((event): event is Extract<TapeEvent, { kind: 'model' }> => event.kind === 'model' && event.key === basis.key);
  const firstClock = (loaded: LoadedTape | undefined) => loaded?.events.find((event) => event.kind === 'clock' && event.source !== 'performance.now');
  const modelRun = firstModel(runs.get('model'));
  const promptRun = runs.get('prompt');
  const promptModel = promptRun?.events.find((event): event is Extract<TapeEvent, { kind: 'model' }> => event.kind === 'model');
  const recordedClock = firstClock(tape);
  const currentClock = firstClock(runs.get('clock'));
  const recordedPrompt = systemPromptOf(tape, first);
  const currentPrompt = promptRun && promptModel ? systemPromptOf(promptRun, promptModel) : '';
  const comparisons: FactorComparison[] = [
    {
      factor: 'model',
      recorded: `${basis.request.model} → ${recordedServed}`,
      current: `${basis.request.model} → ${modelRun?.response?.model.served ?? 'unknown'}`,
      moved: recordedServed !== modelRun?.response?.model.served,
    },
    {
      factor: 'prompt',
      recorded: `${recordedPrompt.length} characters`,
      current: `${currentPrompt.length} characters`,
      moved: recordedPrompt !== currentPrompt,
    },
    {
      factor: 'toolData',
      ...describeReadChanges(readResults(tape), readResults(runs.get('toolData') as LoadedTape)),
    },
    {
      factor: 'clock',
      recorded: recordedClock?.kind === 'clock' ? new Date(recordedClock.value).toISOString() : 'not read',
      current: currentClock?.kind === 'clock' ? new Date(currentClock.value).toISOString() : 'not read',
      moved: true,
    },
  ];
  const result: ExplainResult = {
    runId: options.runId,
    decision: { type: decision.type, value: decision.value, seq: decision.seq },
    recordedAnswer,
    factors: comparisons,
    counterfactuals,
    explainingFactors: counterfactuals
      .filter(
        (result): result is CounterfactualResult & { configuration: ExplainFactor } =>
          result.changesOutcome && EXPLAIN_FACTORS.includes(result.configuration as ExplainFactor),
      )
      .map((result) => result.configuration),
    notCaptured: NOT_CAPTURED,
  };
  if (options.save !== false) {
    const createdAt = Date.now();
    await options.store.saveRunAnalysis({
      analysisId: `ex_${createdAt.toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`,
      runId: options.runId,
      kind: 'explain',
      createdAt,
      result,
    });
  }
  return result;
}
