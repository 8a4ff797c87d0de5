/**
 * retrial/testing: recorded runs as regression tests in any test runner (vitest, jest, node:test).
 * A tape checked into the repository is imported into a throwaway memory store and replayed with
 * the agent as the code now is; a changed behaviour fails the test with the first divergence.
 * Runner-agnostic: failures are node:assert AssertionErrors, which every runner reports. Kept
 * apart from the package root so a recording service never loads it.
 */
import { AssertionError } from 'node:assert';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AgentDefinition, createRecorder, createRunId, originals, type RunOptions } from '../record/index.ts';
import { type Divergence, loadAgentModule, type ReplayResult, renderDivergence, replayRun } from '../replay/index.ts';
import { createMemoryStore, exportRun, importRun } from '../store/index.ts';

/**
 * The salt recordTape and expectReproduces use unless told otherwise. It is public: record test
 * tapes from made-up inputs, never from customers' data. For a tape exported from production,
 * pass the salt it was recorded with (RETRIAL_REDACTION_SALT or the store's redaction-salt file).
 */
export const TESTING_REDACTION_SALT = 'retrial-testing';

// Agents come in every input and output type; the helpers only pass values through.
// biome-ignore lint/suspicious/noExplicitAny: any agent definition, whatever it takes and returns.
type AnyAgent = AgentDefinition<never, unknown, any>;

export interface ExpectReproducesOptions {
  /** The portable tape (`.tape.jsonl`, as `retrial export` or recordTape writes it): a path (relative to the working directory) or a file URL. */
  tape: string | URL;
  /** The agent as the code now is: its definition, or the path of its module. */
  agent: AnyAgent | string;
  /** Salt the tape was recorded with; default TESTING_REDACTION_SALT. */
  salt?: string;
  /** What the agent's `create()` receives as env; default `process.env`. The model is served from the tape. */
  env?: Record<string, string | undefined>;
  /** Handed to `create()`; replay never runs a tool body, so a stub will do. */
  services?: unknown;
}

/** A tape that no longer reproduces: the AssertionError's message is its first divergence, code, step, both call sites and field diff. */
export class TapeDivergedError extends AssertionError {
  readonly divergences: Divergence[];
  readonly result: ReplayResult;
  constructor({ tape, agent, result }: { tape: string; agent: string; result: ReplayResult }) {
    const first = result.divergences[0];
    super({
      message: `${tape} (run ${result.runId}) no longer reproduces with the agent ${agent}:\n${first ? renderDivergence(first) : 'replay diverged'}`,
    });
    this.name = 'TapeDivergedError';
    this.divergences = result.divergences;
    this.result = result;
  }
}

function pathOf(file: string | URL): string {
  return file instanceof URL ? fileURLToPath(file) : file;
}

/**
 * Replays a checked-in tape with the agent and resolves with the result when calls, order,
 * decisions and output are as recorded; throws TapeDivergedError (an AssertionError) otherwise.
 * An unreadable tape or a broken agent module throws the library's RetrialError.
 */
export async function expectReproduces(options: ExpectReproducesOptions): Promise<ReplayResult> {
  const tapePath = pathOf(options.tape);
  const agent = typeof options.agent === 'string' ? await loadAgentModule(options.agent) : options.agent;
  const store = createMemoryStore();
  try {
    const { runId } = await importRun(store, await readFile(tapePath, 'utf8'));
    const result = await replayRun({
      store,
      runId,
      agent: agent as AgentDefinition<never, unknown, unknown>,
      redactionSalt: options.salt ?? TESTING_REDACTION_SALT,
      env: options.env,
      services: options.services,
    });
    if (!result.ok) throw new TapeDivergedError({ tape: tapePath, agent: agent.name, result });
    return result;
  } finally {
    await store.close();
  }
}

export interface RecordTapeOptions<I> {
  agent: AgentDefinition<I, unknown, unknown>;
  input: I;
  /** Where to write the portable tape (directories are created); leave out to only get its text. */
  file?: string | URL;
  /** Salt of redaction hashes; default TESTING_REDACTION_SALT (expectReproduces' default). */
  salt?: string;
  /** The agent's env while recording: where its model is (a simulator, a stub, a real endpoint). */
  env?: Record<string, string | undefined>;
  /** The world the agent's tools act on while recording. */
  services?: unknown;
  /** Run id, clock start, seed and external ids of the recorded run. */
  run?: Pick<RunOptions, 'runId' | 'startAt' | 'seed' | 'externalIds'>;
}

export interface RecordedTape<O = unknown> {
  runId: string;
  output: O;
  /** The portable tape's text (also written to `file` when given). */
  text: string;
}

/**
 * Records one run of the agent for real (its model calls go where `env` points) into a memory
 * store and exports it as a portable tape: the file to check in next to an expectReproduces test.
 */
export async function recordTape<I>(options: RecordTapeOptions<I>): Promise<RecordedTape> {
  const store = createMemoryStore();
  try {
    const rec = createRecorder({
      store,
      agent: options.agent.name,
      codeVersion: options.agent.codeVersion,
      redaction: { salt: options.salt ?? TESTING_REDACTION_SALT, rules: options.agent.piiRules },
    });
    const handle = await options.agent.create({ rec, env: options.env ?? process.env, services: options.services });
    const runId = options.run?.runId ?? createRunId(originals.dateNow());
    const output = await rec.run(options.input, (input) => handle(input), { ...options.run, runId });
    await rec.flush();
    const text = await exportRun(store, runId);
    if (options.file !== undefined) {
      const path = pathOf(options.file);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, text);
    }
    return { runId, output, text };
  } finally {
    await store.close();
  }
}
