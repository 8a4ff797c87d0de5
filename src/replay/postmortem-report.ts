import { describeStep, loadTape } from '../inspect/index.ts';
import { formatProportion } from '../stats/index.ts';
import type { Store } from '../store/index.ts';
import { type CanonicalPart, RetrialError, type TapeEvent } from '../tape/index.ts';
import { type CounterfactualResult, type ExplainResult, outcomeOf } from './explain.ts';
import type { ReplayResult } from './replay-run.ts';
import type { ResampleResult } from './resample.ts';

export interface PostmortemOptions {
  store: Store;
  runId: string;
  /** The agent module path, for the commands printed in the report. */
  agentModule: string;
  /** A replay result to include, when the caller ran one. */
  replay?: ReplayResult;
  /**
   * The stored resample to report (its analysis id). By default the newest complete one at the
   * decision step against the model the run requested there; resamples against another model
   * measure something else and are only listed.
   */
  resampleId?: string;
}

/** What `retrial resample` does without -n. */
const DEFAULT_RESAMPLE_N = 200;

/** What `retrial explain` does without -n. */
const DEFAULT_EXPLAIN_N = 1000;

/** Older results lack `complete`; then all N answers having come back is what makes one complete. */
const isComplete = (result: ResampleResult) => result.complete !== false && result.completed >= result.n;

/** A shell word: bare when it is safe, single-quoted otherwise. */
const shellArg = (value: string) => (/^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`);

/** The command that reproduces a stored resample, from what was stored with it. */
function commandForResample(runId: string, result: ResampleResult, recordedModel: string): string {
  const words = ['retrial', 'resample', runId, '--step', String(result.step), '-n', String(result.n)];
  // provider null: no target was given, so the recorded model at its recorded endpoint.
  if (result.model.provider) words.push('--model', shellArg(`${result.model.provider}:${result.model.sent}`));
  else if (result.model.sent !== recordedModel) words.push('--model', shellArg(`<provider>:${result.model.sent}`));
  if (result.classifiedBy !== 'tool chosen') words.push('--classify-by', shellArg(result.classifiedBy));
  words.push('--hypothesis', shellArg(result.hypothesis.class));
  return words.join(' ');
}

/**
 * Why a stored configuration was not measured, or undefined when it was. Older results lack
 * `failure` and stored a failed run as 0 of 0: no samples is what makes one unmeasured.
 */
const unmeasured = (entry: CounterfactualResult): string | undefined =>
  entry.failure ?? (entry.estimate.trials === 0 ? 'its run failed (this older result did not store why)' : undefined);

const fence = (text: string) => `\`\`\`\n${text.replace(/```/g, '` ` `')}\n\`\`\``;

function renderPart(part: CanonicalPart): string {
  if (part.type === 'text') return part.text;
  if (part.type === 'tool-call') return `→ tool call ${part.toolName} ${part.rawArguments ?? JSON.stringify(part.input)}`;
  if (part.type === 'tool-result') return `← tool result ${typeof part.output === 'string' ? part.output : JSON.stringify(part.output)}`;
  return JSON.stringify(part);
}

/**
 * A Markdown repro report for a postmortem: what happened at which step and what the model saw,
 * the exact reproduction, the behaviour rate with its interval, what moved since, what the tape
 * cannot capture, and the command behind every figure. Uses the analyses stored with the run.
 */
export async function renderPostmortemReport(options: PostmortemOptions): Promise<string> {
  const tape = await loadTape(options.store, options.runId);
  const { header } = tape.run;
  const decision = tape.events.find((event): event is Extract<TapeEvent, { kind: 'decision' }> => event.kind === 'decision');
  const models = tape.events.filter((event) => event.kind === 'model');
  const stepSeq = decision?.basedOnSeq ?? models.at(-1)?.seq;
  if (stepSeq === undefined || stepSeq === null) throw new RetrialError({ code: 'USAGE', message: `Run ${options.runId} has no model step to report on.` });
  const step = describeStep(tape, stepSeq);
  if (step.kind !== 'model') throw new RetrialError({ code: 'USAGE', message: `Step ${stepSeq} is not a model step.` });
  const stored = (await options.store.listRunAnalyses(options.runId, 'resample')).map((analysis) => analysis.result as ResampleResult);
  const atStep = stored.filter((result) => result.step === stepSeq);
  const chosen = options.resampleId === undefined ? undefined : chooseResample(stored, options.resampleId, options.runId, stepSeq);
  const resamples = chosen ? [chosen] : atStep.filter((result) => result.model.sent === step.model.requested);
  const otherModels = chosen ? [] : atStep.filter((result) => result.model.sent !== step.model.requested);
  // A partial resample (endpoint died) never stands in for a complete one, however new it is.
  const resample = resamples.filter(isComplete).at(-1) ?? resamples.at(-1);
  const newerPartials = resample ? resamples.slice(resamples.indexOf(resample) + 1) : [];
  const explainAnalysis = (await options.store.listRunAnalyses(options.runId, 'explain')).at(-1);
  const explain = explainAnalysis?.result as ExplainResult | undefined;
  const run = `retrial`;
  const agent = `--agent ${shellArg(options.agentModule)}`;
  const resampleCommand = resample
    ? commandForResample(options.runId, resample, step.model.requested)
    : `${run} resample ${options.runId} --step ${stepSeq} -n ${DEFAULT_RESAMPLE_N}`;
  // Explain results do not record the agent module they ran with: never name one for them.
  const explainCommand = explain
    ? `${run} explain ${options.runId} --agent <agent module> -n ${Math.max(0, ...explain.counterfactuals.map((entry) => entry.runs)) || DEFAULT_EXPLAIN_N}`
    : `${run} explain ${options.runId} ${agent}`;
  const lines: string[] = [];
  lines.push(`# Repro report: ${options.runId}`, '');
  lines.push(
    `Generated ${new Date().toISOString()} by retrial from the run's tape (chain head \`${tape.run.headHash.slice(0, 16)}\`). Every figure names the command that reproduces it.`,
    '',
  );
  lines.push('## What happened', '');
  lines.push(
    `- Agent \`${header.agent}\` at code version \`${header.codeVersion}\`; run clock ${header.recordedAt} (${header.timeZone}); ${
      Object.entries(header.externalIds)
        .map(([name, value]) => `${name} ${value}`)
        .join(', ') || 'no external ids'
    }.`,
  );
  if (decision)
    lines.push(
      `- Decision **${decision.type} = ${decision.value}** for ${decision.subject}${decision.amount === null ? '' : ` (${decision.amount} ${decision.currency ?? ''})`}, ${decision.reversible ? 'reversible' : '**irreversible**'}, at step ${decision.seq}, based on model step ${stepSeq}.`,
    );
  lines.push(
    `- Model step ${stepSeq}: requested \`${step.model.requested}\`, served \`${step.model.served ?? 'unknown'}\` (system_fingerprint \`${step.systemFingerprint ?? '—'}\`); sampling ${
      Object.entries(step.sampling)
        .filter(([, value]) => value.source === 'sent')
        .map(([name, value]) => `${name}=${JSON.stringify(value.value)}`)
        .join(', ') || 'all defaults'
    }.`,
  );
  lines.push(
    `- Its answer: ${step.response ? step.response.content.map(renderPart).join('; ') : 'none'} (finish ${step.response?.finishReason.unified ?? '—'}).`,
    '',
  );
  lines.push(`## What the model saw at step ${stepSeq}`, '', `\`${run} show ${options.runId} --step ${stepSeq}\``, '');
  for (const [index, message] of step.messages.entries()) {
    const text = message.content.map(renderPart).join('\n');
    if (message.role === 'system' && text.length > 600)
      lines.push(`<details><summary>[${index}] system (${text.length} characters)</summary>`, '', fence(text), '', '</details>', '');
    else lines.push(`**[${index}] ${message.role}**`, '', fence(text), '');
  }
  lines.push('## Exact reproduction', '', `\`${run} replay ${options.runId} ${agent}\``, '');
  if (options.replay)
    lines.push(
      options.replay.ok
        ? `REPRODUCED: ${options.replay.served} recorded events served from the tape; the same calls, order, decisions and output. No tool ran.`
        : `DIVERGED: ${options.replay.divergences.map((divergence) => `${divergence.code} at ${divergence.causalKey}`).join('; ')}.`,
      '',
    );
  else lines.push('Not run for this report (pass `--agent` to include it).', '');
  lines.push(`## Behaviour rate at step ${stepSeq}`, '', `\`${resampleCommand}\``, '');
  if (resample) {
    const served = Object.keys(resample.model.served).join(', ') || '—';
    const classifier = resample.classifiedBy === 'tool chosen' ? 'tool chosen' : `\`${resample.classifiedBy}\``;
    if (isComplete(resample))
      lines.push(
        `Resampled ${resample.completed} times on ${resample.startedAt} with model \`${resample.model.sent}\` (served ${served}), classified by ${classifier}, hypothesis fixed before sampling: **${resample.hypothesis.class}: ${formatProportion(resample.hypothesis.estimate)}** (stored as \`${resample.analysisId}\`).`,
        '',
      );
    else
      lines.push(
        `**PARTIAL: ${resample.completed} of ${resample.n} answers** came back on ${resample.startedAt} with model \`${resample.model.sent}\` (served ${served})${resample.error ? ` before the endpoint failed (${resample.error.replace(/`/g, "'")})` : `; ${resample.n - resample.completed} requests got no usable answer`}. No complete resample is stored at this step; rerun the command above against a working endpoint for the rate.`,
        '',
      );
    if (resample.model.provider === undefined && resample.model.sent !== step.model.requested)
      lines.push('The provider of that model was not stored with this result: put `sim`, `openai`, `anthropic` or `gemini` in `--model`.', '');
    if (resample.completed > 0) {
      if (!isComplete(resample))
        lines.push(
          `Rates over the ${resample.completed} answers received, hypothesis **${resample.hypothesis.class}: ${formatProportion(resample.hypothesis.estimate)}**:`,
          '',
        );
      lines.push('| answer | count | rate | 95% CI |', '|---|---:|---:|---|');
      for (const entry of resample.distribution)
        lines.push(
          `| ${entry.class} | ${entry.count} | ${(entry.estimate.rate * 100).toFixed(1)}% | ${(entry.estimate.low * 100).toFixed(1)}-${(entry.estimate.high * 100).toFixed(1)}% |`,
        );
      lines.push('');
    }
    if (newerPartials.length)
      lines.push(
        `Not shown: ${newerPartials.length} newer partial resample${newerPartials.length === 1 ? '' : 's'} at this step (${newerPartials.map((result) => `${result.completed} of ${result.n} answers on ${result.startedAt}`).join('; ')}).`,
        '',
      );
  } else
    lines.push(`No resample of step ${stepSeq} is stored with this run yet for the recorded model \`${step.model.requested}\`; run the command above.`, '');
  if (otherModels.length)
    lines.push(
      `Also stored at this step, against other models (not the recorded configuration, so not reported above): ${otherModels
        .map(
          (result) =>
            `\`${result.analysisId}\` (\`${result.model.sent}\`, ${isComplete(result) ? `${result.hypothesis.class} ${formatProportion(result.hypothesis.estimate)}` : `partial: ${result.completed} of ${result.n} answers`})`,
        )
        .join('; ')}. Pass \`--resample <id>\` to report one of them.`,
      '',
    );
  lines.push('## What moved since', '', `\`${explainCommand}\``, '');
  if (explain) {
    lines.push(
      `Explained on ${new Date(explainAnalysis?.createdAt ?? 0).toISOString()}. The agent module it ran with is not stored with the result: run with the agent module you replay with.`,
      '',
    );
    lines.push('| factor | recorded | now | moved |', '|---|---|---|---|');
    for (const factor of explain.factors)
      lines.push(`| ${factor.factor} | ${factor.recorded} | ${factor.current} | ${factor.moved === null ? 'unknown' : factor.moved ? 'yes' : 'no'} |`);
    const baseline = explain.counterfactuals.find((entry) => entry.configuration === 'recorded');
    lines.push('', `| configuration | ${explain.recordedAnswer} again | changes the outcome |`, '|---|---|---|');
    for (const entry of explain.counterfactuals)
      lines.push(
        `| ${entry.configuration} | ${unmeasured(entry) === undefined ? formatProportion(entry.estimate) : 'run failed'} | ${outcomeOf(entry, explain).replace(/^YES$/, '**YES**')} |`,
      );
    const failed = explain.counterfactuals.flatMap((entry) => {
      const reason = unmeasured(entry);
      return reason === undefined ? [] : [`- ${entry.configuration} failed: ${reason.replace(/\s*\n\s*/g, ' ')}`];
    });
    if (failed.length) lines.push('', ...failed);
    const named = explain.explainingFactors.length
      ? explain.explainingFactors.join(' and ')
      : `no single factor${baseline?.estimate.trials ? ` at N=${baseline.estimate.trials}` : ''}`;
    lines.push(
      '',
      `Explained by: **${named}** (two-proportion tests against everything-as-recorded, p < 0.001 each${failed.length ? '; failed configurations not tested' : ''}).`,
      '',
    );
  } else lines.push('No explanation is stored with this run yet; run the command above.', '');
  lines.push('## Fidelity limits', '');
  for (const limit of explain?.notCaptured ?? [
    'provider-side batching and numerics',
    'provider caches',
    'third-party state behind tools',
    'network calls outside rec.fetch',
  ])
    lines.push(`- Not captured: ${limit}.`);
  lines.push('- Values redacted at record time (PII rules) reach replays as their redaction tokens.', '');
  lines.push(
    '## Rerun every figure',
    '',
    fence(
      [
        `${run} verify ${options.runId}`,
        `${run} show ${options.runId} --step ${stepSeq}`,
        `${run} replay ${options.runId} ${agent}`,
        resampleCommand,
        explainCommand,
        `${run} export ${options.runId} -o ${options.runId}.tape.jsonl   # attach to the ticket`,
      ].join('\n'),
    ),
    '',
  );
  return lines.join('\n');
}

/** The stored resample the caller named, which must be of this run's reported step. */
function chooseResample(stored: ResampleResult[], analysisId: string, runId: string, stepSeq: number): ResampleResult {
  const found = stored.find((result) => result.analysisId === analysisId);
  const known = stored.map((result) => `${result.analysisId} (step ${result.step}, ${result.model.sent})`).join(', ') || 'none';
  if (!found) throw new RetrialError({ code: 'NOT_FOUND', message: `Run ${runId} has no stored resample ${analysisId}; it has: ${known}.` });
  if (found.step !== stepSeq)
    throw new RetrialError({
      code: 'USAGE',
      message: `Resample ${analysisId} is of step ${found.step}; the report is about the decision step ${stepSeq}. Pick one of: ${known}.`,
    });
  return found;
}
