import type { Command } from 'commander';
import { buildTimeline, describeStep, loadTape, type StepDetail, type TimelineRow } from '../../inspect/index.ts';
import type { CanonicalMessage, CanonicalPart, RunRecord } from '../../tape/index.ts';
import { type GlobalOptions, output, withStore } from '../command-context.ts';
import { RETRIAL_COMMAND } from '../invocation.ts';
import { parseIntegerOption } from '../parse-options.ts';
import { renderTable } from '../render-table.ts';
import { resolveRunId } from '../resolve-ids.ts';

interface ShowOptions extends GlobalOptions {
  step?: string;
  all?: boolean;
  raw?: boolean;
}

const QUIET_KINDS = new Set(['clock', 'random']);

function renderRunHeader(run: RunRecord, modelsServed: string[]): string {
  const { header } = run;
  const lines = [
    `Run ${header.runId} (${run.status})`,
    `  agent ${header.agent} @ ${header.codeVersion}, recorded at ${header.recordedAt} (${header.timeZone}), seed ${header.seed}`,
    `  external ids: ${
      Object.entries(header.externalIds)
        .map(([name, value]) => `${name}=${value}`)
        .join(', ') || '—'
    }`,
    `  models served: ${modelsServed.join(', ') || '—'}; ${run.eventCount} events; chain head ${run.headHash.slice(0, 16)}…`,
  ];
  if (header.fork) {
    const { endpoint } = header.fork.overrides;
    lines.push(
      `  forked from ${header.fork.fromRun} at step ${header.fork.atSeq}${typeof endpoint === 'string' ? `; live model calls went to ${endpoint}` : ''}`,
    );
  }
  if (run.ending?.error) lines.push(`  failed: ${run.ending.error.name}: ${run.ending.error.message}`);
  return lines.join('\n');
}

function renderTimeline({ run, modelsServed, rows, hidden }: { run: RunRecord; modelsServed: string[]; rows: TimelineRow[]; hidden: number }): string {
  const table = renderTable(
    ['STEP', 'AT (UTC)', 'KIND', 'MS', 'WHAT'],
    rows.map((row) => [String(row.step), row.at.slice(11, 23), row.kind, row.durationMs ? row.durationMs.toFixed(1) : '', row.summary]),
  );
  const footer = hidden ? `\n\n${hidden} clock/random reads hidden (--all shows them).` : '';
  return `${renderRunHeader(run, modelsServed)}\n\n${table}${footer}\n\nSee exactly what the model saw at a step: ${RETRIAL_COMMAND} show ${run.header.runId} --step <STEP>`;
}

function indent(text: string, by = '      '): string {
  return text
    .split('\n')
    .map((line) => by + line)
    .join('\n');
}

function renderPart(part: CanonicalPart): string {
  switch (part.type) {
    case 'text':
      return part.text;
    case 'tool-call':
      return `→ tool call ${part.toolName} [${part.toolCallId}] ${part.rawArguments ?? JSON.stringify(part.input)}`;
    case 'tool-result':
      return `← tool result [${part.toolCallId}] ${typeof part.output === 'string' ? part.output : JSON.stringify(part.output)}`;
    default:
      return `(${part.type}) ${JSON.stringify(part)}`;
  }
}

function renderMessage(message: CanonicalMessage, index: number): string {
  return `  [${index}] ${message.role}${message.name ? ` (${message.name})` : ''}\n${indent(message.content.map(renderPart).join('\n'))}`;
}

export function renderStep(detail: StepDetail, raw: boolean): string {
  const head = `Step ${detail.step} · ${detail.kind} · ${detail.key} · ${detail.at} · ${detail.durationMs.toFixed(1)} ms`;
  if (detail.kind === 'model') {
    const sampling = Object.entries(detail.sampling).map(
      ([name, sampled]) => `${name}=${JSON.stringify(sampled.value)}${sampled.source === 'default' ? ' (default)' : ''}`,
    );
    const lines = [
      head,
      `Model        requested ${detail.model.requested} → served ${detail.model.served ?? '—'}; system_fingerprint ${detail.systemFingerprint ?? '—'}`,
      `Endpoint     ${detail.wire.method} ${detail.wire.url} → ${detail.wire.status ?? 'no response'} (${detail.provider}${detail.stream ? `, streamed in ${detail.wire.streamChunks} chunks` : ''})`,
      `Sampling     ${sampling.join(', ')}`,
      `Tool choice  ${JSON.stringify(detail.toolChoice)}; response format ${JSON.stringify(detail.responseFormat)}`,
      `Tools (${detail.tools.length})`,
      ...detail.tools.map((tool) => `  ${tool.name}: ${tool.description ?? ''}\n      parameters ${JSON.stringify(tool.inputSchema)}`),
      `Messages the model saw (${detail.messages.length})`,
      ...detail.messages.map(renderMessage),
    ];
    if (detail.response) {
      lines.push(`Answer (finish ${detail.response.finishReason.unified}, raw ${detail.response.finishReason.raw ?? '—'}; id ${detail.response.id ?? '—'})`);
      lines.push(indent(detail.response.content.map(renderPart).join('\n'), '  '));
      const usage = detail.response.usage;
      lines.push(`Usage        input ${usage.inputTokens ?? '—'} tokens, output ${usage.outputTokens ?? '—'}, total ${usage.totalTokens ?? '—'}`);
    } else lines.push(`Failed       ${detail.error?.message ?? 'no response'}`);
    lines.push(`Request hash ${detail.requestHash}`);
    if (raw) {
      lines.push(`Request headers (credentials never stored) ${JSON.stringify(detail.wire.requestHeaders)}`);
      lines.push(`Request body, exactly as sent:\n${detail.wire.requestText}`);
      lines.push(`Response headers ${JSON.stringify(detail.wire.responseHeaders)}`);
      lines.push(`Response body${detail.stream ? ' (assembled from the stream)' : ', exactly as received'}:\n${detail.wire.responseText ?? '—'}`);
    } else lines.push('Add --raw for the exact wire request and response.');
    return lines.join('\n');
  }
  if (detail.kind === 'tool' || detail.kind === 'retrieval') {
    return [
      head,
      `${detail.kind === 'tool' ? 'Tool' : 'Retrieval'}  ${detail.name} (${detail.effect}${detail.serving === 'ran' ? '' : `, ${detail.serving}`})`,
      `Arguments\n${indent(JSON.stringify(detail.arguments, null, 2))}`,
      detail.error ? `Threw ${detail.error.name}: ${detail.error.message}` : `Result\n${indent(JSON.stringify(detail.result, null, 2))}`,
    ].join('\n');
  }
  const other = detail as Extract<StepDetail, { event: unknown }>;
  return [head, JSON.stringify(other.event, null, 2), other.value === null ? '' : `Value\n${indent(JSON.stringify(other.value, null, 2))}`]
    .join('\n')
    .trimEnd();
}

export function registerShowCommand(program: Command): void {
  program
    .command('show')
    .description("Show a run's timeline, or exactly what happened at one step")
    .argument('<run>', 'run id, a unique prefix of one, or a ticket or customer id')
    .option('--step <k>', 'show step k in full: messages, tools, sampling, model served, usage, tool arguments and results')
    .option('--all', 'include clock and random reads in the timeline')
    .option('--raw', 'with --step: print the exact wire request and response')
    .action(async (runArgument: string, options: ShowOptions, command: Command) => {
      const all = { ...command.optsWithGlobals(), ...options } as ShowOptions;
      const step = parseIntegerOption(all.step, '--step');
      await withStore(all, async (store) => {
        const runId = await resolveRunId(store, runArgument);
        const tape = await loadTape(store, runId);
        if (step !== undefined) {
          output(all, describeStep(tape, step), (detail) => renderStep(detail, all.raw ?? false));
          return;
        }
        const rows = buildTimeline(tape);
        const visible = all.all ? rows : rows.filter((row) => !QUIET_KINDS.has(row.kind));
        output(all, { run: tape.run, modelsServed: tape.modelsServed, rows: visible, hidden: rows.length - visible.length }, renderTimeline);
      });
    });
}
