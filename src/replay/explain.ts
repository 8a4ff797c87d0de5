import { type LoadedTape, loadTape } from '../inspect/index.ts';
import type { AgentDefinition } from '../record/index.ts';
import { type ProportionEstimate, wilsonInterval } from '../stats/index.ts';
import { createMemoryStore, exportRun, importRun, type Store } from '../store/index.ts';
import { type CanonicalMessage, type ConfigEvent, type ModelEvent, RetrialError, type TapeEvent } from '../tape/index.ts';
import { classifyResponse, NO_TOOL } from './classify-response.ts';
import type { Divergence, RefusedRequest } from './divergence.ts';
import { sealEgress } from './egress-guard.ts';
import { ForkError, type ForkResult, forkRun } from './fork.ts';
import { diffJson } from './json-diff.ts';
import { replayRun } from './replay-run.ts';
import { resampleStep } from './resample.ts';

/** The things that move between an incident and its investigation. */
export type ExplainFactor = 'model' | 'prompt' | 'toolData' | 'clock';
export const EXPLAIN_FACTORS: readonly ExplainFactor[] = ['model', 'prompt', 'toolData', 'clock'];

export interface FactorComparison {
  factor: ExplainFactor;
  recorded: string;
  current: string;
  /** Null when the run that measures it now failed (see that counterfactual's `failure`). */
  moved: boolean | null;
}

export interface CounterfactualResult {
  /** `recorded` (everything as at the incident), one factor switched to now, or `current` (all now). */
  configuration: 'recorded' | ExplainFactor | 'current';
  runs: number;
  /** How often the decision step answers as recorded (e.g. calls close_account again). */
  estimate: ProportionEstimate;
  /** True when the rate differs from the all-recorded configuration (two-proportion z-test at p < 0.001 each). */
  changesOutcome: boolean;
  /**
   * Why this configuration could not be measured (its run failed or never reached the decision
   * step); absent when it was measured. A failed configuration has no samples and takes no part
   * in the conclusion.
   */
  failure?: string;
}

/**
 * Whether switching a configuration moved the rate, in the words `retrial explain` and the
 * postmortem report both print. Results stored before failures were recorded kept a failed run as
 * 0 of 0: no samples is what makes one unmeasured.
 */
export function outcomeOf(entry: CounterfactualResult, result: ExplainResult): string {
  if (entry.configuration === 'recorded') return '(baseline)';
  if (entry.failure !== undefined || entry.estimate.trials === 0) return 'not measured';
  if (entry.changesOutcome) return 'YES';
  const factor = result.factors.find((candidate) => candidate.factor === entry.configuration);
  const baseline = result.counterfactuals.find((candidate) => candidate.configuration === 'recorded');
  if (factor?.moved === false || entry.estimate.rate === baseline?.estimate.rate) return 'no';
  return `not significant at N=${entry.estimate.trials}`;
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
  /**
   * Requests made outside the runs while explain ran (timers, an SDK's exporters), refused: the
   * process is sealed throughout. Absent in results stored before it was kept.
   */
  refusedRequests?: RefusedRequest[];
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
  /** The environment the agent's `create()` receives (default `process.env`). */
  env?: Record<string, string | undefined>;
}

/**
 * There is no run as recorded to compare the counterfactuals with: the agent's code does not
 * reproduce the run up to its decision step, or the run with everything as recorded failed before
 * it. Explain stops rather than report rates of nothing. Code NOT_REPRODUCED; the CLI exits 1,
 * as a replay that diverged does.
 */
export class ExplainNotReproducedError extends RetrialError {
  readonly runId: string;
  /** What failed, in one line. */
  readonly headline: string;
  /** Why: the first divergence before the decision step, or the as-recorded run's error. */
  readonly reason: string;
  readonly divergence: Divergence | null;
  constructor({ runId, headline, reason, divergence }: { runId: string; headline: string; reason: string; divergence: Divergence | null }) {
    super({
      code: 'NOT_REPRODUCED',
      message: `${headline}: ${reason}.${divergence ? ` Run \`npx retrial replay ${runId} --agent <module>\` to see where.` : ''} Nothing was stored.`,
    });
    this.name = 'ExplainNotReproducedError';
    this.runId = runId;
    this.headline = headline;
    this.reason = reason;
    this.divergence = divergence;
  }
}

const NOT_CAPTURED = [
  'provider-side batching and numerics (the model is re-sampled, not re-computed)',
  'provider caches (prompt caching, routing to a different replica)',
  'third-party state behind tools, beyond what the tools returned',
  'network calls that did not go through rec.fetch or a wrapped tool',
];

/** One counterfactual run: the child's tape and its decision step, or why there is none. */
type Attempt = { child: LoadedTape; step: ModelEvent; failure: null } | { failure: string };

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

function systemPromptOf(tape: LoadedTape, event: ModelEvent): string {
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

function describeReadChanges(recorded: Map<string, string>, current: Map<string, string>): { current: string; moved: boolean } {
  const changed = [...new Set([...recorded.keys(), ...current.keys()])].filter((key) => recorded.get(key) !== current.get(key));
  return { current: changed.length ? `changed: ${changed.join(', ')}` : 'all the same', moved: changed.length > 0 };
}

/** What moved in the config event, e.g. `graceDays 30 -> 14`; settings are a hash, so only "settings". */
function describeConfigChanges(recorded: ConfigEvent | undefined, current: ConfigEvent | undefined): string[] {
  const shape = (event: ConfigEvent | undefined) => ({
    promptVersion: event?.promptVersion ?? null,
    flags: event?.flags ?? {},
    settings: event?.settings ?? null,
  });
  const show = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));
  return diffJson(shape(recorded), shape(current)).map((difference) =>
    difference.path === 'settings' ? 'settings' : `${difference.path.replace(/^flags\./, '')} ${show(difference.expected)} -> ${show(difference.received)}`,
  );
}

/**
 * Replays the run with the agent's code and returns the first divergence that makes the
 * counterfactuals meaningless: one at or before the decision step that no factor accounts for.
 * A changed config, or a model request that differs only in its first system message (what the
 * fork restores for "prompt as recorded"), is the prompt factor moving, not a failure.
 */
async function firstBlockingDivergence(options: ExplainOptions, tape: LoadedTape, basis: ModelEvent): Promise<Divergence | undefined> {
  const replay = await replayRun({
    store: options.store,
    runId: options.runId,
    agent: options.agent,
    redactionSalt: options.redactionSalt,
    lenient: true,
    env: options.env,
  });
  const bySeq = new Map(tape.events.map((event) => [event.seq, event]));
  const promptOnly = (divergence: Divergence) => {
    const event = divergence.seq === null ? undefined : bySeq.get(divergence.seq);
    if (event?.kind !== 'model' || divergence.differences.length === 0) return false;
    const system = tape
      .messageRefs(event.request.messages)
      .map((ref) => tape.blob<CanonicalMessage>(ref))
      .findIndex((message) => message.role === 'system');
    return system !== -1 && divergence.differences.every((difference) => difference.path.startsWith(`messages[${system}].`));
  };
  return replay.divergences.find((divergence) => {
    // One with no recorded step (a new call, an unrecorded read) may have come before the decision: it counts.
    if (divergence.seq !== null && divergence.seq > basis.seq) return false;
    if (divergence.code === 'OUTPUT_MISMATCH' && divergence.seq === null) return false;
    if (divergence.code === 'PAYLOAD_MISMATCH' && (bySeq.get(divergence.seq ?? -1)?.kind === 'config' || promptOnly(divergence))) return false;
    return true;
  });
}

/**
 * Answers "why does it work when I try it now?": compares what the tape recorded with the world
 * now for each factor, then re-runs the agent from its first model call with everything as
 * recorded, with one factor switched to now at a time, and with everything now; resamples the
 * decision step of each enough times to give an interval, and names the factors whose switch alone
 * changes how often the recorded answer comes back.
 */
export async function explainRun(options: ExplainOptions): Promise<ExplainResult> {
  const refusedRequests: RefusedRequest[] = [];
  // Sealed from first to last, not only during each replay and fork: the gaps between them too.
  const unseal = sealEgress((refused) => refusedRequests.push(refused));
  try {
    return await explainSealed(options, refusedRequests);
  } finally {
    unseal();
  }
}

async function explainSealed(options: ExplainOptions, refusedRequests: RefusedRequest[]): Promise<ExplainResult> {
  const tape = await loadTape(options.store, options.runId);
  const decision = tape.events.find((event): event is Extract<TapeEvent, { kind: 'decision' }> => event.kind === 'decision');
  if (!decision)
    throw new RetrialError({
      code: 'USAGE',
      message: `Run ${options.runId} recorded no decision; explain compares how often a decision comes back, so it needs one.`,
    });
  const models = tape.events.filter((event): event is ModelEvent => event.kind === 'model');
  const first = models[0];
  const basis = models.find((event) => event.seq === decision.basedOnSeq) ?? models.at(-1);
  if (!first || !basis) throw new RetrialError({ code: 'USAGE', message: `Run ${options.runId} has no model call to explain.` });
  const recordedServed = basis.response?.model.served ?? basis.request.model;

  const decisionStep = `step ${basis.seq}, ${basis.key}`;
  // Counterfactuals are compared with the run as recorded; code that no longer makes the same
  // calls up to the decision step has no such run to offer.
  const divergence = await firstBlockingDivergence(options, tape, basis);
  if (divergence)
    throw new ExplainNotReproducedError({
      runId: options.runId,
      headline: `explain stopped: the agent's code does not reproduce ${options.runId} up to its decision step (${decisionStep})`,
      reason: `${divergence.code} at ${divergence.causalKey}: ${divergence.message}`,
      divergence,
    });

  // A scratch store: counterfactual runs never land in the user's store.
  const scratch = createMemoryStore();
  await importRun(scratch, await exportRun(options.store, options.runId));
  const repetitions = options.repetitions ?? 1000;
  let counter = 0;
  const runOnce = async (now: Set<ExplainFactor>): Promise<Attempt> => {
    let forked: ForkResult;
    try {
      forked = await forkRun({
        store: scratch,
        runId: options.runId,
        atSeq: first.seq,
        agent: options.agent,
        redactionSalt: options.redactionSalt,
        childRunId: `cf_${counter++}`,
        overrides: { ...(now.has('model') ? {} : { model: recordedServed }), ...(now.has('prompt') ? {} : { systemPrompt: systemPromptOf(tape, first) }) },
        reads: now.has('toolData') ? 'current' : 'frozen',
        clock: now.has('clock') ? 'now' : 'recorded',
        endpoint: options.endpoint,
        services: options.servicesNow,
        env: options.env,
      });
    } catch (error) {
      if (!(error instanceof ForkError)) throw error;
      return { failure: `the fork refused: ${error.message}` };
    }
    // The code left the parent's path before the step: whatever it built there is not the run's.
    if (forked.refusal) return { failure: `the fork refused: ${forked.refusal}` };
    const child = await loadTape(scratch, forked.childRunId);
    const step = child.events.find((event): event is ModelEvent => event.kind === 'model' && event.key === basis.key);
    if (step) return { child, step, failure: null };
    return { failure: forked.error ? `the run failed before ${basis.key}: ${forked.error}` : `the run ended without reaching ${basis.key}` };
  };

  // One run per configuration builds the request the decision step would see; that request is
  // then resampled, which measures the decision's rate far more cheaply than N whole runs.
  const recordedAnswer = basis?.response ? classifyResponse(basis.response, null) : NO_TOOL;
  const configurations: Array<[CounterfactualResult['configuration'], Set<ExplainFactor>]> = [
    ['recorded', new Set()],
    ...EXPLAIN_FACTORS.map((factor): [ExplainFactor, Set<ExplainFactor>] => [factor, new Set([factor])]),
    ['current', new Set(EXPLAIN_FACTORS)],
  ];
  const runs = new Map<CounterfactualResult['configuration'], Attempt>();
  const counterfactuals: CounterfactualResult[] = [];
  for (const [configuration, now] of configurations) {
    const attempt = await runOnce(now);
    // Every other configuration is compared with this one: without it there is nothing to conclude.
    if (configuration === 'recorded' && attempt.failure !== null)
      throw new ExplainNotReproducedError({
        runId: options.runId,
        headline: `explain stopped: with everything as recorded, the run did not reach its decision step (${decisionStep})`,
        reason: attempt.failure,
        divergence: null,
      });
    runs.set(configuration, attempt);
    if (attempt.failure !== null) {
      counterfactuals.push({ configuration, runs: 0, estimate: wilsonInterval(0, 0), changesOutcome: false, failure: attempt.failure });
      continue;
    }
    const sampled = await resampleStep({
      store: scratch,
      runId: attempt.child.run.header.runId,
      step: attempt.step.seq,
      n: repetitions,
      target: null,
      ...options.endpoint,
      fetch: options.fetch,
      hypothesis: recordedAnswer,
      save: false,
      concurrency: 8,
    });
    const estimate = sampled.hypothesis.estimate;
    counterfactuals.push({ configuration, runs: estimate.trials, estimate, changesOutcome: false });
  }
  const recorded = counterfactuals[0] as CounterfactualResult;
  for (const result of counterfactuals.slice(1))
    if (result.failure === undefined) result.changesOutcome = twoProportionsDiffer(recorded.estimate, result.estimate);

  const firstClock = (loaded: LoadedTape) => loaded.events.find((event) => event.kind === 'clock' && event.source !== 'performance.now');
  const clockText = (event: TapeEvent | undefined) => (event?.kind === 'clock' ? new Date(event.value).toISOString() : 'not read');
  const configOf = (loaded: LoadedTape) => loaded.events.find((event): event is ConfigEvent => event.kind === 'config');
  const recordedPrompt = systemPromptOf(tape, first);
  const recordedReads = readResults(tape);
  const recordedText: Record<ExplainFactor, string> = {
    model: `${basis.request.model} → ${recordedServed}`,
    prompt: `${recordedPrompt.length} characters`,
    toolData: `${recordedReads.size} read results`,
    clock: clockText(firstClock(tape)),
  };
  // The factor as it is now, read from the run that switched it; unknown when that run failed.
  const compare = (factor: ExplainFactor, now: (child: LoadedTape, step: ModelEvent) => { current: string; moved: boolean }): FactorComparison => {
    const attempt = runs.get(factor);
    if (!attempt || attempt.failure !== null) return { factor, recorded: recordedText[factor], current: 'unknown: its run failed', moved: null };
    return { factor, recorded: recordedText[factor], ...now(attempt.child, attempt.step) };
  };
  const comparisons: FactorComparison[] = [
    compare('model', (_child, step) => {
      const served = step.response?.model.served;
      return { current: `${basis.request.model} → ${served ?? 'unknown'}`, moved: recordedServed !== served };
    }),
    compare('prompt', (child) => {
      const model = child.events.find((event): event is ModelEvent => event.kind === 'model');
      const prompt = model ? systemPromptOf(child, model) : '';
      const config = describeConfigChanges(configOf(tape), configOf(child));
      return {
        current: `${prompt.length} characters${config.length ? `; config changed: ${config.join(', ')}` : ''}`,
        moved: prompt !== recordedPrompt || config.length > 0,
      };
    }),
    compare('toolData', (child) => describeReadChanges(recordedReads, readResults(child))),
    compare('clock', (child) => ({ current: clockText(firstClock(child)), moved: true })),
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
    refusedRequests,
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
