import type { Command } from 'commander';
import { loadRedactionSalt } from '../../record/index.ts';
import { AgentCreateError, createReplayer, type Replayer, type ReplayResult, renderDivergence, renderRefusedRequests, replayRun } from '../../replay/index.ts';
import { RunNotFoundError, resolveStoreLocation, type Store, StoreError } from '../../store/index.ts';
import { RetrialError } from '../../tape/index.ts';
import { type GlobalOptions, output, withStore } from '../command-context.ts';
import { ExitCode, UsageError } from '../exit-codes.ts';
import { loadAgentModule } from '../load-agent-module.ts';
import { parseIntegerOption, parseTimeOption } from '../parse-options.ts';
import { createProgress } from '../progress.ts';
import { resolveRunIds } from '../resolve-ids.ts';

interface ReplayCommandOptions extends GlobalOptions {
  agent: string;
  lenient?: boolean;
  pace?: boolean;
  all?: boolean;
  since?: string;
  until?: string;
  limit?: string;
}

/** What replaying several runs found: each run's result, or why it could not be replayed. */
export interface ReplayBatch {
  results: ReplayResult[];
  /**
   * Runs whose tape could not be read or replayed at all: a damaged tape, or (`internal`) an
   * error in retrial itself, which the exit status reports as such.
   */
  failed: Array<{ runId: string; error: string; internal: boolean }>;
  reproduced: number;
  diverged: number;
  /** Runs --all left out because they never ended (still recording, or abandoned). */
  skippedUnended: number;
  /** Runs --all left out because --limit was reached (the oldest are replayed first). */
  beyondLimit: number;
  durationMs: number;
}

export { renderDivergence };

/** The end of a summary line: nothing left the process, or what tried to and was refused. */
function egressSentence(refused: ReplayResult['refusedRequests']): string {
  return renderRefusedRequests(refused) === null
    ? 'No tool ran; nothing left the process.'
    : `No tool ran; nothing was sent, but ${renderRefusedRequests(refused)}`;
}

export function renderReplayResult(result: ReplayResult): string {
  if (result.ok)
    return `REPRODUCED ${result.runId}: ${result.served} of ${result.recordedEvents} recorded events served from the tape, same calls, order, decisions and output (${result.durationMs.toFixed(0)} ms). ${egressSentence(result.refusedRequests)}`;
  const refused = renderRefusedRequests(result.refusedRequests);
  return [
    `DIVERGED ${result.runId} (${result.divergences.length} divergence${result.divergences.length === 1 ? '' : 's'}):`,
    ...result.divergences.map(renderDivergence),
    ...(refused ? [refused] : []),
  ].join('\n');
}

function renderBatch(batch: ReplayBatch): string {
  const lines: string[] = [];
  for (const result of batch.results) if (!result.ok) lines.push(renderReplayResult(result), '');
  for (const { runId, error } of batch.failed) lines.push(`NOT REPLAYED ${runId}: ${error}`, '');
  const total = batch.results.length + batch.failed.length;
  const rate = total / Math.max(0.001, batch.durationMs / 1000);
  lines.push(
    `${batch.reproduced} of ${total} run${total === 1 ? '' : 's'} reproduced exactly, ${batch.diverged} diverged` +
      `${batch.failed.length ? `, ${batch.failed.length} could not be replayed` : ''} ` +
      `(${(batch.durationMs / 1000).toFixed(1)} s, ${rate.toFixed(0)} replays/s). ${egressSentence(batch.results.flatMap((result) => result.refusedRequests))}`,
  );
  if (batch.beyondLimit)
    lines.push(
      `${batch.beyondLimit} later run${batch.beyondLimit === 1 ? '' : 's'} matched beyond --limit and were not replayed; raise --limit or narrow with --since.`,
    );
  if (batch.skippedUnended)
    lines.push(
      batch.skippedUnended === 1
        ? '1 run never ended (recording or abandoned) and was left out.'
        : `${batch.skippedUnended} runs never ended (recording or abandoned) and were left out.`,
    );
  return lines.join('\n');
}

/**
 * The runs a batch replays: the ids given (each must exist), or with --all this agent's ended
 * runs, oldest first. A regression check that replays nothing must not pass, so --all matching
 * no ended run is an error.
 */
async function selectRuns(
  store: Store,
  runIds: string[],
  options: ReplayCommandOptions,
  agentName: string,
): Promise<{ runIds: string[]; skippedUnended: number; beyondLimit: number }> {
  if (!options.all) {
    // Checked before any replay starts; getTape of a missing run throws the error that names similar ids.
    for (const runId of runIds) if ((await store.getRun(runId)) === undefined) await store.getTape(runId);
    return { runIds, skippedUnended: 0, beyondLimit: 0 };
  }
  const filter = {
    agent: agentName,
    since: parseTimeOption(options.since, '--since'),
    until: parseTimeOption(options.until, '--until'),
    forks: 'include' as const,
  };
  const limit = parseIntegerOption(options.limit, '--limit', { min: 1, max: 1_000_000 }) ?? 1000;
  // Ended runs only, so --limit counts runs that replay: complete and failed, merged oldest first.
  const ended = [
    ...(await store.listRuns({ ...filter, status: 'complete', order: 'asc', limit })),
    ...(await store.listRuns({ ...filter, status: 'failed', order: 'asc', limit })),
  ]
    .sort((a, b) => a.recordedAt - b.recordedAt || (a.runId < b.runId ? -1 : 1))
    .slice(0, limit);
  const endedCount = (await store.countRuns({ ...filter, status: 'complete' })) + (await store.countRuns({ ...filter, status: 'failed' }));
  if (endedCount === 0)
    throw new RetrialError({
      code: 'NOT_FOUND',
      message: `No ended runs of agent "${agentName}" match${options.since || options.until ? ' --since/--until' : ''} in this store, so there is nothing to replay. List them with \`npx retrial runs --agent ${agentName}\`; the agent module's name must be the one the runs were recorded with.`,
    });
  return { runIds: ended.map((run) => run.runId), skippedUnended: (await store.countRuns(filter)) - endedCount, beyondLimit: endedCount - ended.length };
}

/** A StoreError raised by the database driver itself (busy, I/O, corrupt file), not by bad bytes in one run. */
function isDriverFailure(error: unknown): boolean {
  const code = (error instanceof StoreError ? (error.cause as { code?: unknown } | undefined) : undefined)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_');
}

/**
 * Replays runs one after another with one replayer, so the agent is created once, as the service
 * that recorded them created it. A run that cannot be replayed at all is reported and the rest go on.
 */
export async function replayBatch(
  replayer: Replayer,
  runIds: readonly string[],
  onProgress: (done: number) => void = () => {},
): Promise<Omit<ReplayBatch, 'skippedUnended' | 'beyondLimit'>> {
  const started = performance.now();
  const results: ReplayResult[] = [];
  const failed: ReplayBatch['failed'] = [];
  for (const runId of runIds) {
    try {
      results.push(await replayer.replay(runId));
    } catch (error) {
      // The store itself failing (a driver error, not one run's damaged bytes) or the agent failing
      // to build ends the batch with its own exit status; one run's tape does not.
      if (error instanceof RunNotFoundError || error instanceof AgentCreateError || isDriverFailure(error)) throw error;
      const internal = !RetrialError.isInstance(error);
      failed.push({ runId, error: internal ? `internal error: ${error instanceof Error ? error.message : String(error)}` : error.message, internal });
    }
    onProgress(results.length + failed.length);
  }
  const reproduced = results.filter((result) => result.ok).length;
  return { results, failed, reproduced, diverged: results.length - reproduced, durationMs: performance.now() - started };
}

export function registerReplayCommand(program: Command): void {
  program
    .command('replay')
    .description("Re-execute the agent's own code with every call, read and draw served from the tape; report the first divergence")
    .argument('[runs...]', 'run ids; several are replayed one after another by one instance of the agent')
    .requiredOption('--agent <module>', 'file whose default export is the agent (defineAgent), e.g. src/demo/support-agent.ts')
    .option('--all', 'replay every ended run of this agent, oldest first (a regression check: does changed code still reproduce them?)')
    .option('--since <when>', 'with --all: runs recorded from then (90d, 12h, or an ISO date)')
    .option('--until <when>', 'with --all: runs recorded before then')
    .option('--limit <n>', 'with --all: at most this many runs (default 1000)')
    .option('--lenient', 'report every divergence instead of stopping at the first')
    .option('--pace', 're-stream recorded streams at their recorded pace')
    .action(async (typedRunIds: string[], options: ReplayCommandOptions, command: Command) => {
      const all = { ...command.optsWithGlobals(), ...options } as ReplayCommandOptions;
      if (all.all && typedRunIds.length) throw new UsageError('Give run ids or --all, not both.');
      if (!all.all && typedRunIds.length === 0)
        throw new UsageError('Name the run to replay (see `npx retrial runs`), several run ids, or --all for every run of the agent.');
      if (!all.all && (all.since || all.until || all.limit))
        throw new UsageError('--since, --until and --limit choose runs for --all; with run ids, leave them out.');
      const agent = await loadAgentModule(all.agent);
      await withStore(all, async (store) => {
        const runIds = await resolveRunIds(store, typedRunIds);
        const salt = await loadRedactionSalt(resolveStoreLocation(all.db));
        const replayerOptions = { store, agent, redactionSalt: salt, lenient: all.lenient, paceStreams: all.pace };
        if (!all.all && runIds.length === 1) {
          const result = await replayRun({ ...replayerOptions, runId: runIds[0] as string });
          output(all, result, renderReplayResult);
          if (!result.ok) process.exitCode = ExitCode.checkFailed;
          return;
        }
        const selected = await selectRuns(store, runIds, all, agent.name);
        const progress = createProgress('replay', 'runs', { json: all.json });
        const batch = await replayBatch(createReplayer(replayerOptions), selected.runIds, (done) => progress.update(done, selected.runIds.length));
        progress.stop();
        output(all, { ...batch, skippedUnended: selected.skippedUnended, beyondLimit: selected.beyondLimit }, renderBatch);
        if (batch.failed.some((failure) => failure.internal)) process.exitCode = ExitCode.internal;
        else if (batch.diverged || batch.failed.length) process.exitCode = ExitCode.checkFailed;
      });
    });
}
