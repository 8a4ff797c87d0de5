/**
 * The peer: the script a team would write to re-decide shipped decisions without retrial's
 * engine, using retrial only to read its tapes. For each selected decision: loadTape(store, runId),
 * find the decision event and the model step it was based on, describeStep to get the exact
 * recorded request text, then the real `openai` client sends it with the candidate's model
 * (streaming requests are streamed, as recorded), and the answer is classified by the tool it
 * chose. Results stay in memory: no campaign, no chunks, no persistence, no resume, no noise
 * floor (one request per decision, where the engine also re-runs the incumbent on 500), no
 * exclusions (the decisions are the engine's already-eligible selection), no report.
 * Concurrency 16 with a simple worker pool; the model is the same in-process simulator fetch.
 */
import OpenAI from 'openai';
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionCreateParams } from 'openai/resources/chat/completions';
import type { Stream } from 'openai/streaming';
import { CANDIDATE_VERSION_ID, createSimulatedModel, createSimulatorFetch } from '../../src/demo/simulator/index.ts';
import { describeStep, loadTape } from '../../src/inspect/index.ts';
import type { Store } from '../../src/store/index.ts';
import { ms, nowMs } from '../record/percentiles.ts';
import { SIM_BASE_URL } from './engine-arm.ts';
import type { TimedPass } from './rounds.ts';
import { cpuMsSince, forEachConcurrently } from './worker-pool.ts';

/** What the script's author knows about the agent: which tool means which refund decision. */
export const NAIVE_MAPPING: Record<string, string> = { issue_refund: 'approve', deny_refund: 'deny', escalate_to_human: 'escalate' };

export interface NaiveDecision {
  decisionId: string;
  runId: string;
  /** Seq of the decision event in its run. */
  seq: number;
}

export interface NaivePass extends TimedPass {
  decisions: number;
  wallMs: number;
  cpuMs: number;
  /** value -> count of what the candidate decided. */
  values: Record<string, number>;
}

async function redecide(store: Store, client: OpenAI, decision: NaiveDecision): Promise<string> {
  const tape = await loadTape(store, decision.runId);
  const event = tape.events.find((candidate) => candidate.seq === decision.seq);
  if (event?.kind !== 'decision' || event.basedOnSeq === null) throw new Error('no decision step');
  const step = describeStep(tape, event.basedOnSeq);
  if (step.kind !== 'model') throw new Error(`step ${event.basedOnSeq} is not a model call`);
  const body = { ...(JSON.parse(step.wire.requestText) as ChatCompletionCreateParams), model: CANDIDATE_VERSION_ID };
  if (body.stream) {
    const stream = (await client.chat.completions.create(body)) as Stream<ChatCompletionChunk>;
    let tool: string | undefined;
    for await (const chunk of stream) tool ??= chunk.choices[0]?.delta.tool_calls?.[0]?.function?.name;
    return tool ?? '(no tool)';
  }
  const completion = (await client.chat.completions.create(body)) as ChatCompletion;
  const call = completion.choices[0]?.message.tool_calls?.[0];
  return call?.type === 'function' ? call.function.name : '(no tool)';
}

export async function naivePass(store: Store, decisions: readonly NaiveDecision[], seed: string, concurrency = 16): Promise<NaivePass> {
  const client = new OpenAI({ baseURL: SIM_BASE_URL, apiKey: 'sim', fetch: createSimulatorFetch(createSimulatedModel({ seed })) });
  const results = new Map<string, string>();
  const failures: string[] = [];
  const cpu = process.cpuUsage();
  const started = nowMs();
  await forEachConcurrently(decisions, concurrency, async (decision) => {
    try {
      const tool = await redecide(store, client, decision);
      results.set(decision.decisionId, NAIVE_MAPPING[tool] ?? 'none');
    } catch (error) {
      failures.push(`${decision.decisionId}: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
  const wallMs = nowMs() - started;
  const cpuMs = cpuMsSince(cpu);
  const values: Record<string, number> = {};
  for (const value of results.values()) values[value] = (values[value] ?? 0) + 1;
  const headline = (1000 * results.size) / wallMs;
  return {
    headline,
    failures,
    decisions: results.size,
    wallMs,
    cpuMs,
    values,
    line: `${results.size} decisions in ${ms(wallMs)} ms -> ${headline.toFixed(0)} decisions/s; CPU ${ms(cpuMs / Math.max(1, results.size))} ms per decision; candidate decided ${Object.entries(
      values,
    )
      .map(([value, count]) => `${value} ${count}`)
      .join(', ')}`,
  };
}
