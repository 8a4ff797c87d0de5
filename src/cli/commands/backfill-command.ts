import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import type {
  CampaignEndpoints,
  CampaignPlan,
  CampaignRunSummary,
  CampaignStatus,
  EnqueueSummary,
  ForkDecider,
  PlannedCampaign,
  RedecideMode,
  TriageOutcome,
} from '../../backfill/index.ts';
import { loadRedactionSalt } from '../../record/index.ts';
import { DEFAULT_PRICE_TABLE, endpointFromEnvironment, type PriceTable, parseModelTarget } from '../../replay/index.ts';
import { resolveStoreLocation, type Store } from '../../store/index.ts';
import { RetrialError } from '../../tape/index.ts';
import { actorOf } from '../actor.ts';
import { type GlobalOptions, output, withStore } from '../command-context.ts';
import { displayPath } from '../display-path.ts';
import { ExitCode, UsageError } from '../exit-codes.ts';
import { RETRIAL_COMMAND } from '../invocation.ts';
import { loadAgentModule } from '../load-agent-module.ts';
import { parseIntegerOption, parseRate, parseTimeOption } from '../parse-options.ts';
import { createProgress } from '../progress.ts';
import { requireQueueUrl, resolveQueueUrl } from '../queue-location.ts';
import { renderTable } from '../render-table.ts';
import { resolveCampaignId } from '../resolve-ids.ts';

/** Backfill (and the YAML parser behind triage) loads when a backfill command runs, not at start-up. */
const loadBackfill = () => import('../../backfill/index.ts');

function parseRedecide(value: string | undefined, REDECIDE_MODES: readonly RedecideMode[]): RedecideMode {
  if (value === undefined) return 'step';
  if (!(REDECIDE_MODES as readonly string[]).includes(value)) throw new UsageError(`--redecide must be one of ${REDECIDE_MODES.join(', ')}, not "${value}".`);
  return value as RedecideMode;
}

const date = (ms: number) => new Date(ms).toISOString().slice(0, 10);

function renderPlan({ campaignId, plan }: PlannedCampaign): string {
  const excluded = plan.excluded.length
    ? renderTable(
        ['EXCLUDED', 'COUNT', 'E.G.', 'WHY'],
        plan.excluded.map((entry) => [entry.reason, String(entry.count), entry.examples[0] ?? '', entry.description]),
      )
    : 'Excluded: none.';
  return [
    `Campaign ${campaignId}: ${plan.decisionType} decisions effective ${date(plan.window.since)} to ${date(plan.window.until)}, candidate ${plan.candidate.provider}:${plan.candidate.model}.`,
    `Population ${plan.population}; eligible ${plan.eligible}; selected ${plan.selected}${plan.sample ? ` (sample of ${plan.sample.size}${plan.sample.stratifyBy ? ` stratified by ${plan.sample.stratifyBy}` : ''})` : ''}; the incumbent re-decides ${plan.noiseFloor} of them for the noise floor.`,
    '',
    excluded,
    '',
    plan.redecide === 'run'
      ? `Re-decided by forking each run from its first model step with the agent in ${plan.agentModule} (reads served from the tape, writes stubbed).`
      : "Re-decided by sending each decision step's recorded request again with only the model changed.",
    `Answers map to values by tool: ${Object.entries(plan.mapping)
      .map(([tool, value]) => `${tool} → ${value}`)
      .join(', ')}.`,
    `Estimate${plan.redecide === 'run' ? ' (of the decision steps alone; --redecide run sends every model call of each run, a few times more)' : ''}: ${plan.estimate.requests} requests, ${plan.estimate.inputTokens.toLocaleString('en-US')} input and ${plan.estimate.outputTokens.toLocaleString('en-US')} output tokens, ${plan.estimate.costUsd === null ? 'cost unknown (a model is missing from the price table; pass --prices)' : `$${plan.estimate.costUsd.toFixed(2)}`} (prices: ${plan.estimate.prices}).`,
    '',
    plan.selected ? `Next: ${RETRIAL_COMMAND} backfill run ${campaignId}` : 'Nothing to run: no decision in the window is eligible (see the reasons above).',
  ].join('\n');
}

async function readPrices(path: string | undefined): Promise<{ prices: PriceTable; name: string }> {
  if (!path) return { prices: DEFAULT_PRICE_TABLE, name: 'built-in' };
  const { readFile } = await import('node:fs/promises');
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR' || code === 'EACCES')
      throw new RetrialError({
        code: 'FILE_NOT_FOUND',
        message: `--prices ${path}: ${code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'cannot be read (permission denied)' : 'no such file'}; pass a JSON file of prices.`,
        cause: error,
      });
    throw new RetrialError({ code: 'TAPE_FORMAT', message: `--prices ${path} could not be read as JSON (${(error as Error).message}).`, cause: error });
  }
  const valid =
    typeof parsed === 'object' &&
    parsed !== null &&
    Object.values(parsed).every(
      (entry) => typeof entry === 'object' && entry !== null && typeof entry.inputPerMillion === 'number' && typeof entry.outputPerMillion === 'number',
    );
  if (!valid)
    throw new RetrialError({
      code: 'TAPE_FORMAT',
      message: `--prices ${path} must map model-name prefixes to { "inputPerMillion": n, "outputPerMillion": n } in USD.`,
    });
  return { prices: { ...DEFAULT_PRICE_TABLE, ...(parsed as PriceTable) }, name: path };
}

/** How the in-process simulator answers `sim:` arms (the same options for `backfill run` and `worker`). */
export interface SimulatorOptions {
  /** Seed of the simulator's noise; with one, every request is answered as the first of its kind, so any process gives the same answer. */
  simSeed?: string;
  /** Added latency per simulated answer, ms (load tests). */
  simLatencyMs?: number;
}

/**
 * Where a campaign's requests go from this process: the simulator in process for `sim:` targets,
 * the environment's endpoints otherwise, and the agent module for `run`-mode campaigns.
 */
export async function campaignEndpointsFromCli(
  store: Store,
  campaignId: string,
  plan: CampaignPlan,
  options: SimulatorOptions & { agentModule?: string; db?: string },
): Promise<CampaignEndpoints> {
  const { campaignEndpoints, createForkDecider } = await loadBackfill();
  const usesSimulator = plan.candidate.provider === 'sim' || plan.incumbent.provider === 'sim';
  // The simulator (and the demo it lives in) loads only when a campaign uses it.
  const simulator = usesSimulator ? await import('../../demo/index.ts') : undefined;
  let simulatorFetch: typeof fetch | undefined;
  if (simulator) {
    const { simSeed, simLatencyMs } = options;
    // Seeded: a fresh model per request, so an answer depends on the request alone, not on what this process sent before.
    const shared = simSeed === undefined ? simulator.createSimulatorFetch(simulator.createSimulatedModel({ seed: randomBytes(8).toString('hex') })) : undefined;
    simulatorFetch = async (input, init) => {
      if (simLatencyMs) await sleep(simLatencyMs);
      return (shared ?? simulator.createSimulatorFetch(simulator.createSimulatedModel({ seed: simSeed })))(input, init);
    };
  }
  const simulatorEndpoint = simulatorFetch && { baseUrl: 'http://simulator.in-process/v1', fetch: simulatorFetch };
  const endpointFor = campaignEndpoints(plan, { simulator: simulatorEndpoint });
  let decideByFork: ForkDecider | undefined;
  if (plan.redecide === 'run') {
    const agentModule = options.agentModule ?? plan.agentModule;
    if (!agentModule) throw new UsageError(`Campaign ${campaignId} re-decides whole runs: pass --agent <module>.`);
    decideByFork = createForkDecider({
      store,
      campaignId,
      plan,
      agent: await loadAgentModule(agentModule),
      redactionSalt: await loadRedactionSalt(resolveStoreLocation(options.db)),
      endpointFor: (arm) => {
        const provider = arm === 'candidate' ? plan.candidate.provider : plan.incumbent.provider;
        if (provider === 'sim' && simulatorEndpoint) return { ...simulatorEndpoint, apiKey: 'sim' };
        return endpointFromEnvironment({ provider, model: arm === 'candidate' ? plan.candidate.model : (plan.incumbent.model ?? '') });
      },
    });
  }
  return { endpointFor, decideByFork };
}

/** Runs a campaign in this process (the local pool). */
export async function runCampaignFromCli(
  store: Store,
  campaignId: string,
  options: SimulatorOptions & { concurrency?: number; rate?: number | null; json?: boolean; actor: string; agentModule?: string; db?: string },
): Promise<CampaignRunSummary> {
  const { loadCampaignPlan, runCampaign } = await loadBackfill();
  const { plan } = await loadCampaignPlan(store, campaignId);
  const { endpointFor, decideByFork } = await campaignEndpointsFromCli(store, campaignId, plan, options);
  const progress = createProgress('Backfill', 'results', { json: options.json });
  try {
    return await runCampaign({
      store,
      campaignId,
      endpointFor,
      decideByFork,
      concurrency: options.concurrency,
      ratePerSecond: options.rate,
      actor: options.actor,
      onProgress: ({ done, total }) => progress.update(done, total),
    });
  } finally {
    progress.stop();
  }
}

function renderRun(summary: CampaignRunSummary): string {
  const rate = summary.written / Math.max(0.001, summary.durationMs / 1000);
  const lines = [
    `Campaign ${summary.campaignId}: ${summary.alreadyDone + summary.written} of ${summary.total} results in (${summary.written} new in this run, ${rate.toFixed(0)}/s; ${summary.alreadyDone} were already done).`,
  ];
  if (summary.pending)
    lines.push(
      `${summary.pending} still pending${summary.stoppedBecause ? `: stopped because ${summary.stoppedBecause}` : ''}. Rerun \`npx retrial backfill run ${summary.campaignId}\` to finish; nothing done is redone.`,
    );
  else lines.push(`Next: ${RETRIAL_COMMAND} backfill report ${summary.campaignId}`);
  return lines.join('\n');
}

function renderEnqueued(summary: EnqueueSummary): string {
  if (!summary.unfinished)
    return `Campaign ${summary.campaignId}: all ${summary.chunks} chunks are done; nothing to enqueue. Next: ${RETRIAL_COMMAND} backfill report ${summary.campaignId}`;
  return [
    `Campaign ${summary.campaignId}: ${summary.unfinished} of ${summary.chunks} chunks unfinished; ${summary.added} put on the queue, ${summary.requeued} put back after giving up, ${summary.alreadyQueued} were already queued or running.`,
    `Workers run them: ${RETRIAL_COMMAND} worker --db <this store> on any number of machines. Progress: ${RETRIAL_COMMAND} backfill status ${summary.campaignId}`,
  ].join('\n');
}

function renderStatus(status: CampaignStatus): string {
  const { chunks, arms } = status;
  const queueLine =
    status.queue === null
      ? 'Queue: none given (pass --queue postgres://... to tell running from queued chunks).'
      : `Queue: ${status.queue}${chunks.notQueued ? `; ${chunks.notQueued} unfinished chunks are on no queue (\`backfill run --distributed\` enqueues them)` : ''}.`;
  return [
    `Campaign ${status.campaignId}: ${chunks.done} of ${chunks.total} chunks done${status.queue === null ? '' : `, ${chunks.running} running, ${chunks.queued} queued, ${chunks.failed} failed`}.`,
    `Results: candidate ${arms.candidate.done}/${arms.candidate.total}, incumbent ${arms.incumbent.done}/${arms.incumbent.total}${status.refused ? ` (${status.refused} refused by the endpoint for good)` : ''}.`,
    queueLine,
  ].join('\n');
}

/** Polls the campaign's status until every chunk is done, or nothing is left queued or running. */
async function waitForCampaign(read: () => Promise<CampaignStatus>, json: boolean): Promise<CampaignStatus> {
  const progress = createProgress('Backfill', 'results', { json });
  try {
    for (;;) {
      const status = await read();
      const total = status.arms.candidate.total + status.arms.incumbent.total;
      progress.update(status.arms.candidate.done + status.arms.incumbent.done, total);
      if (status.chunks.done === status.chunks.total || status.chunks.running + status.chunks.queued === 0) return status;
      await sleep(2_000);
    }
  } finally {
    progress.stop();
  }
}

export function registerBackfillCommand(program: Command): void {
  const backfill = program
    .command('backfill')
    .description('Re-try shipped decisions through a new model on their point-in-time inputs: plan, run, report, triage');

  backfill
    .command('plan')
    .description('Select the decisions of a type in a window, say which can be re-decided and why not, estimate cost, create a campaign')
    .requiredOption('--type <decision-type>', 'decision type, e.g. refund.category')
    .requiredOption('--candidate <provider:name>', 'the new model, e.g. sim:support-sim-2026-04-01 or openai:gpt-4o-mini')
    .option('--since <when>', 'window start: 90d, 2w or an ISO date', '90d')
    .option('--until <when>', 'window end (default now)')
    .option('--incumbent <provider:name>', "the incumbent's provider, and a model to pin (default: the candidate's provider, each step's served version)")
    .option('--sample <n>', 're-decide a random sample of n decisions instead of all')
    .option('--stratify-by <attribute>', 'keep the sample proportional across this attribute (or `value`)')
    .option('--noise-floor <n>', 'how many decisions the incumbent re-decides to measure its own noise', '500')
    .option('--segment-by <attribute>', 'attribute the report breaks flips down by', 'plan')
    .option('--redecide <mode>', 'step: send the decision step’s recorded request again; run: fork the whole run with the agent’s code (needs --agent)', 'step')
    .option('--agent <module>', 'the agent module, for --redecide run')
    .option('--chunk-size <n>', 'decisions per unit of work: results are written chunk by chunk', '64')
    .option('--prices <file.json>', 'price table: { "model-prefix": { "inputPerMillion": n, "outputPerMillion": n } }')
    .option('--actor <name>', 'who is creating it, for the audit log (default $USER)')
    .action(async (options: GlobalOptions & Record<string, string | undefined>, command: Command) => {
      const all = command.optsWithGlobals() as GlobalOptions & Record<string, string | undefined>;
      const now = Date.now();
      const since = parseTimeOption(options.since, '--since', now) as number;
      const until = parseTimeOption(options.until, '--until', now) ?? now;
      if (since >= until) throw new UsageError(`--since (${new Date(since).toISOString()}) must be before --until (${new Date(until).toISOString()}).`);
      const candidate = parseModelTarget(options.candidate as string, '--candidate');
      const incumbent = options.incumbent ? parseModelTarget(options.incumbent, '--incumbent') : undefined;
      const { prices, name } = await readPrices(options.prices);
      await withStore(all, async (store) => {
        const { planCampaign, REDECIDE_MODES } = await loadBackfill();
        const planned = await planCampaign({
          store,
          decisionType: options.type as string,
          since,
          until,
          candidate,
          incumbent: incumbent && { provider: incumbent.provider, model: incumbent.model },
          sample: parseIntegerOption(options.sample, '--sample', { min: 1 }),
          stratifyBy: options.stratifyBy ?? null,
          noiseFloor: parseIntegerOption(options.noiseFloor, '--noise-floor'),
          segmentBy: options.segmentBy,
          chunkSize: parseIntegerOption(options.chunkSize, '--chunk-size', { min: 1, max: 10_000 }),
          redecide: parseRedecide(options.redecide, REDECIDE_MODES),
          agentModule: options.agent ? resolve(options.agent) : null,
          prices,
          pricesName: name,
          actor: actorOf({ actor: options.actor }),
          now,
        });
        output(all, planned, renderPlan);
      });
    });

  backfill
    .command('run')
    .description('Re-decide every selected decision with the candidate (and the noise-floor sample with the incumbent); resumable, never runs a tool')
    .argument('<campaign>', 'campaign id from `retrial backfill plan`')
    .option('--concurrency <n>', 'requests in flight', '16')
    .option('--rate <n/s>', 'at most this many requests per second, e.g. 50/s or 3000/min')
    .option('--actor <name>', 'who is running it, for the audit log (default $USER)')
    .option('--agent <module>', 'the agent module, for campaigns planned with --redecide run (default: the one named at plan time)')
    .option('--distributed', 'put the unfinished chunks on the PostgreSQL queue for `retrial worker` processes instead of running them here')
    .option('--queue <postgres-url>', 'with --distributed: the queue (default: --db when it is postgres://, else $RETRIAL_QUEUE)')
    .option('--job-timeout <seconds>', 'with --distributed: a chunk held this long (its worker died) goes to another worker', '600')
    .option('--wait', 'with --distributed: show progress until every chunk is done')
    .option('--sim-seed <seed>', 'seed of the in-process simulator for sim: models; with it each request gets the same answer in every process')
    .option('--sim-latency <ms>', 'added latency of each simulated answer (load tests)', '0')
    .action(async (typedCampaignId: string, options: Record<string, string | boolean | undefined>, command: Command) => {
      const all = command.optsWithGlobals() as GlobalOptions;
      const text = (name: string) => options[name] as string | undefined;
      const concurrency = parseIntegerOption(text('concurrency'), '--concurrency', { min: 1, max: 1024 });
      const rate = text('rate') ? parseRate(text('rate') as string) : null;
      const simLatencyMs = parseIntegerOption(text('simLatency'), '--sim-latency', { max: 600_000 });
      if (options.distributed) {
        const jobTimeoutSeconds = parseIntegerOption(text('jobTimeout'), '--job-timeout', { min: 1, max: 86_399 }) as number;
        const url = requireQueueUrl(text('queue'), all.db, 'backfill run --distributed');
        await withStore(all, async (store) => {
          const campaignId = await resolveCampaignId(store, typedCampaignId);
          const { enqueueCampaign, openBackfillQueue, campaignStatus } = await loadBackfill();
          const queue = await openBackfillQueue({ url, poolSize: 2 });
          try {
            const summary = await enqueueCampaign({ store, queue, campaignId, jobTimeoutSeconds, actor: actorOf({ actor: text('actor') }) });
            if (!options.wait) {
              output(all, summary, renderEnqueued);
              return;
            }
            if (!all.json) process.stdout.write(`${renderEnqueued(summary)}\n`);
            const status = await waitForCampaign(() => campaignStatus(store, campaignId, queue), all.json === true);
            output(all, status, renderStatus);
            if (status.chunks.done < status.chunks.total) process.exitCode = ExitCode.endpoint;
          } finally {
            await queue.close();
          }
        });
        return;
      }
      await withStore(all, async (store) => {
        const campaignId = await resolveCampaignId(store, typedCampaignId);
        const summary = await runCampaignFromCli(store, campaignId, {
          concurrency,
          rate,
          json: all.json,
          actor: actorOf({ actor: text('actor') }),
          agentModule: text('agent'),
          db: all.db,
          simSeed: text('simSeed'),
          simLatencyMs,
        });
        output(all, summary, renderRun);
        if (summary.pending) process.exitCode = ExitCode.endpoint;
      });
    });

  backfill
    .command('status')
    .description("A campaign's progress from any machine: chunks done, running and queued, and results per arm")
    .argument('<campaign>', 'campaign id')
    .option('--queue <postgres-url>', 'the queue, to tell running from queued chunks (default: --db when it is postgres://, else $RETRIAL_QUEUE)')
    .action(async (typedCampaignId: string, options: { queue?: string }, command: Command) => {
      const all = command.optsWithGlobals() as GlobalOptions;
      const url = resolveQueueUrl(options.queue, all.db);
      await withStore(all, async (store) => {
        const campaignId = await resolveCampaignId(store, typedCampaignId);
        const { openBackfillQueue, campaignStatus } = await loadBackfill();
        const queue = url === undefined ? undefined : await openBackfillQueue({ url, poolSize: 2 });
        try {
          output(all, await campaignStatus(store, campaignId, queue), renderStatus);
        } finally {
          await queue?.close();
        }
      });
    });

  backfill
    .command('report')
    .description('Flip matrix, flip rate against the noise floor, breakdowns, money at stake, triage and review; writes Markdown and JSON')
    .argument('<campaign>', 'campaign id')
    .option('-o, --out <file.md>', 'where to write the Markdown report (JSON goes next to it); default .retrial/reports/<campaign>.md')
    .action(async (typedCampaignId: string, options: { out?: string }, command: Command) => {
      const all = command.optsWithGlobals() as GlobalOptions;
      await withStore(all, async (store) => {
        const campaignId = await resolveCampaignId(store, typedCampaignId);
        const { writeCampaignReport, backfillHeadline } = await loadBackfill();
        const { comparison, markdownPath, jsonPath, json } = await writeCampaignReport(store, campaignId, options.out);
        output(all, { ...json, markdownPath, jsonPath }, () =>
          [
            `Backfill ${campaignId}: ${comparison.plan.decisionType} through ${comparison.plan.candidate.model}`,
            ...backfillHeadline(comparison).map((line) => `  ${line}`),
            ...(comparison.progress.candidateDone === 0 ? ['', `No results yet: run \`npx retrial backfill run ${campaignId}\` first.`] : []),
            ...(comparison.progress.candidateDone > 0 && !comparison.triage
              ? ['', `Next: ${RETRIAL_COMMAND} backfill triage ${campaignId} --policy examples/triage-policy.yaml`]
              : []),
            '',
            `Report: ${displayPath(markdownPath)} (and ${displayPath(jsonPath)})`,
          ].join('\n'),
        );
      });
    });

  backfill
    .command('triage')
    .description("Give every flip an action (none, annotate, review, correct, notify, disclose) under a policy file; rerunning replaces the campaign's triage")
    .argument('<campaign>', 'campaign id')
    .requiredOption('--policy <file>', 'YAML or JSON policy (see examples/triage-policy.yaml)')
    .option('--actor <name>', 'who is applying it, for the audit log (default $USER)')
    .action(async (typedCampaignId: string, options: { policy: string; actor?: string }, command: Command) => {
      const all = command.optsWithGlobals() as GlobalOptions;
      const { loadTriagePolicy, applyTriage } = await loadBackfill();
      const policy = await loadTriagePolicy(options.policy);
      await withStore(all, async (store) => {
        const campaignId = await resolveCampaignId(store, typedCampaignId);
        const outcome = await applyTriage({ store, campaignId, policy, actor: actorOf(options), now: Date.now() });
        output(all, outcome, (result: TriageOutcome) =>
          [
            `Triaged ${result.flips} flips of ${campaignId} under ${options.policy} (digest ${result.policyDigest.slice(0, 12)}).`,
            '',
            renderTable(
              ['ACTION', 'FLIPS'],
              Object.entries(result.byAction).map(([action, count]) => [action, String(count)]),
            ),
            '',
            renderTable(
              ['RULE', 'FLIPS'],
              Object.entries(result.byRule).map(([rule, count]) => [
                rule,
                count === 0 && rule !== 'default' ? '0 (matched no flip: check its values)' : String(count),
              ]),
            ),
            '',
            result.byAction.review
              ? `Next: ${RETRIAL_COMMAND} review ${campaignId}`
              : `Next: ${RETRIAL_COMMAND} remediate plan ${campaignId} -o corrections.csv (nothing was routed to review)`,
          ].join('\n'),
        );
      });
    });

  backfill
    .command('list')
    .description('List the campaigns in the store')
    .action(async (_options: unknown, command: Command) => {
      const all = command.optsWithGlobals() as GlobalOptions;
      await withStore(all, async (store) => {
        const campaigns = await store.campaigns.list();
        output(
          all,
          campaigns.map((campaign) => ({
            campaignId: campaign.campaignId,
            createdAt: new Date(campaign.createdAt).toISOString(),
            plan: campaign.plan as CampaignPlan,
          })),
          (rows) =>
            rows.length
              ? renderTable(
                  ['CAMPAIGN', 'CREATED', 'TYPE', 'CANDIDATE', 'SELECTED'],
                  rows.map((row) => [row.campaignId, row.createdAt.slice(0, 16), row.plan.decisionType, row.plan.candidate.model, String(row.plan.selected)]),
                )
              : 'No campaigns yet: `npx retrial backfill plan --type <decision-type> --candidate <provider:name>` creates one.',
        );
      });
    });
}
