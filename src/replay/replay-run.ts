import { loadTape } from '../inspect/index.ts';
import {
  type AgentDefinition,
  captureAgentSite,
  createRedactor,
  installGlobalPatches,
  type RunScope,
  RunTapeWriter,
  runInScope,
  takeCausalKey,
} from '../record/index.ts';
import type { Store } from '../store/index.ts';
import { canonicalJson, createBlob, type InputEvent } from '../tape/index.ts';
import { AgentCreateError, type Divergence, EgressBlockedError, type RefusedRequest, ReplayDivergenceError } from './divergence.ts';
import { installEgressGuard, sealEgress } from './egress-guard.ts';
import type { ForkOverrides } from './fork-overrides.ts';
import { diffJson } from './json-diff.ts';
import { ReplayLedger } from './replay-ledger.ts';
import { bindReplayedRun, createReplayRecorder, endReplayedRun } from './replay-recorder.ts';
import { installZeroDelayTimers } from './zero-delay-timers.ts';

export interface ReplayerOptions {
  store: Store;
  agent: AgentDefinition<never, unknown, unknown>;
  /** Salt the recording used for redaction hashes (the agent module supplies the rules). */
  redactionSalt: string;
  /** Report every divergence instead of stopping at the first. */
  lenient?: boolean;
  /** Re-stream recorded chunks at their recorded pace. */
  paceStreams?: boolean;
  /**
   * The environment `create()` receives (default `process.env`, as the recording service had its
   * own). The model is served from the tape, so base URLs and keys in it need not be real.
   */
  env?: Record<string, string | undefined>;
  /** The world the agent's tools would act on; replay never calls them, tests pass counters. */
  services?: unknown;
}

export interface ReplayOptions extends ReplayerOptions {
  runId: string;
}

export interface ReplayResult {
  runId: string;
  /** True when calls, order, output and decisions matched and nothing was left unconsumed. */
  ok: boolean;
  divergences: Divergence[];
  /**
   * Requests made outside the run while it replayed (a timer, an SDK's tracing exporter or
   * telemetry flush), refused: nothing leaves the process during a replay. The agent's own
   * requests are divergences instead.
   */
  refusedRequests: RefusedRequest[];
  /** Recorded events served to the agent. */
  served: number;
  recordedEvents: number;
  durationMs: number;
}

/** Replays run after run with one instance of the agent (see createReplayer). */
export interface Replayer {
  replay(runId: string): Promise<ReplayResult>;
}

/**
 * Re-executes the agent's own code with every model call, tool call, retrieval, clock read and
 * random draw served from the tape. Fails loudly on the first difference (or lists them all when
 * lenient); never falls back to the live world.
 */
export function replayRun(options: ReplayOptions): Promise<ReplayResult> {
  return createReplayer(options).replay(options.runId);
}

/**
 * A replayer creates the agent once, on its first replay, and hands it one recorded run after
 * another, as the service that recorded them did with its recorder: `create` builds clients and
 * tools, its handler takes one input. Each replay still gets its own ledger, clock and causal
 * keys. An agent whose handler keeps state from one input to the next, outside the recorder, may
 * replay differently here than alone; a difference it makes is reported as a divergence, never
 * passed over.
 */
export function createReplayer(options: ReplayerOptions): Replayer {
  installGlobalPatches();
  installEgressGuard();
  installZeroDelayTimers();
  const recorder = createReplayRecorder({
    redaction: { salt: options.redactionSalt, rules: options.agent.piiRules },
    paceStreams: options.paceStreams,
  });
  const redactor = createRedactor({ salt: options.redactionSalt, rules: options.agent.piiRules });
  let handle: ((input: never) => Promise<unknown>) | undefined;
  const createAgent = () => {
    try {
      return options.agent.create({ rec: recorder, env: options.env ?? process.env, services: options.services });
    } catch (error) {
      throw new AgentCreateError({ agent: options.agent.name, cause: error });
    }
  };
  return {
    async replay(runId) {
      const started = performance.now();
      const refusedRequests: RefusedRequest[] = [];
      const unseal = sealEgress((refused) => refusedRequests.push(refused));
      try {
        return await replayOne(runId, started, refusedRequests);
      } finally {
        unseal();
      }
    },
  };

  async function replayOne(runId: string, started: number, refusedRequests: RefusedRequest[]): Promise<ReplayResult> {
    const tape = await loadTape(options.store, runId, { blobs: 'served' });
    const ledger = new ReplayLedger(tape, !options.lenient);
    const forkOrigin = tape.run.header.fork;
    const liveFrom = typeof forkOrigin?.overrides.liveFrom === 'string' ? forkOrigin.overrides.liveFrom : undefined;
    const fork =
      forkOrigin && liveFrom
        ? { fromOrdinal: Number(liveFrom.slice(liveFrom.lastIndexOf('#') + 1)), overrides: forkOrigin.overrides as ForkOverrides }
        : undefined;
    if (handle === undefined) handle = createAgent();
    const agentHandle = handle;
    const replayed = { ledger, fork };

    let clock = Date.parse(tape.run.header.recordedAt);
    let scope: RunScope;
    const reads = recorder.reads(() => scope, replayed);
    scope = {
      runId: tape.run.header.runId,
      tape: new RunTapeWriter(tape.run),
      now: () => clock,
      seed: tape.run.header.seed,
      parentKey: '',
      mode: 'record',
      reads: {
        clock: (source, read) => {
          const value = reads.clock(source, read);
          if (Number.isFinite(value) && source !== 'performance.now') clock = value;
          return value;
        },
        random: reads.random,
      },
      ordinals: new Map(),
      blockEgress: (url) => {
        ledger.diverge({
          code: 'UNSANCTIONED_NONDETERMINISM',
          seq: null,
          causalKey: `egress:${url}`,
          site: captureAgentSite(),
          message: `the code sent a request to ${url} that did not go through rec.fetch`,
        });
        throw new EgressBlockedError({ url });
      },
    };

    bindReplayedRun(scope, replayed);
    try {
      const inputEvent = tape.events.find((event): event is InputEvent => event.kind === 'input');
      const inputKey = takeCausalKey(scope, 'input', 'input');
      if (inputEvent) ledger.consume(inputEvent.seq);
      const input = inputEvent ? tape.received(inputEvent) : null;

      let outcome: { ok: true; output: unknown } | { ok: false; error: Error };
      try {
        outcome = { ok: true, output: await runInScope(scope, () => agentHandle(input as never)) };
      } catch (error) {
        outcome = { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
      }
      // Strict replay throws at the first divergence; whatever the agent did after that is noise.
      const stoppedEarly = !options.lenient && ledger.divergences.length > 0;
      if (!stoppedEarly) {
        // Recorded calls never made come first: they sit earlier on the tape than the run's ending.
        for (const event of ledger.unconsumed()) {
          ledger.divergences.push({
            code: 'EXTRA_RECORDED',
            seq: event.seq,
            causalKey: event.key,
            message: `the tape has ${event.key}, which the replay never called`,
            differences: [],
            site: null,
            recordedSite: event.site ?? null,
          });
          if (!options.lenient) break;
        }
        if (options.lenient || ledger.divergences.length === 0) await compareEnding(ledger, tape.run.ending, outcome, redactor.value.bind(redactor), inputKey);
      }
      return {
        runId: tape.run.header.runId,
        ok: ledger.divergences.length === 0,
        divergences: options.lenient ? ledger.divergences : ledger.divergences.slice(0, 1),
        refusedRequests,
        served: ledger.served,
        recordedEvents: tape.events.length,
        durationMs: performance.now() - started,
      };
    } finally {
      // The result is taken: later calls through this scope are refused, and the tape can go.
      endReplayedRun(scope);
    }
  }
}

async function compareEnding(
  ledger: ReplayLedger,
  ending: { status: string; output: string | null; error: { name: string; message: string } | null } | null,
  outcome: { ok: true; output: unknown } | { ok: false; error: Error },
  redact: (value: unknown) => unknown,
  inputKey: string,
): Promise<void> {
  if (ReplayDivergenceError.isInstance((outcome as { error?: unknown }).error)) return;
  // The output blob's ref is the hash of its canonical JSON: equal hashes, equal outputs.
  if (outcome.ok && ending?.status === 'complete' && ending.output && createBlob(redact(outcome.output ?? null)).hash === ending.output) return;
  if (ending?.output) await ledger.tape.loadBlobs([ending.output]);
  const expected =
    ending === null
      ? { status: 'incomplete' }
      : ending.status === 'complete'
        ? { status: 'complete', output: ending.output ? ledger.tape.blob(ending.output) : null }
        : { status: ending.status, error: ending.error?.message ?? null };
  const received = outcome.ok
    ? { status: 'complete', output: JSON.parse(canonicalJson(redact(outcome.output ?? null))) }
    : { status: 'failed', error: outcome.error.message };
  const differences = diffJson(expected, received);
  if (differences.length) {
    ledger.divergences.push({
      code: 'OUTPUT_MISMATCH',
      seq: null,
      causalKey: inputKey.replace('input:input', 'output:output'),
      message: 'the run ended with a different output than recorded',
      differences,
      site: null,
      recordedSite: null,
    });
  }
}
