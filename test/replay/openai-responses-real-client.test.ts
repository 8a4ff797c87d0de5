import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderStep } from '../../src/cli/commands/show-command.ts';
import { startSimulatorServer } from '../../src/demo/index.ts';
import { describeStep, loadTape } from '../../src/inspect/index.ts';
import { createRecorder, defineAgent } from '../../src/record/index.ts';
import { forkRun, replayRun, resampleStep } from '../../src/replay/index.ts';
import { createMemoryStore, type Store } from '../../src/store/index.ts';
import type { ModelEvent, StreamChunk } from '../../src/tape/index.ts';

type Variant = 'original' | 'prompt-edited' | 'sdk-upgraded';
type Output = { text: string; events: number; toolCalls: number };
/** What the agent's last run returned, to compare a replay's with the recording's. */
let lastOutput: Output | undefined;

const SALT = 'responses-salt';
const TOOLS: OpenAI.Responses.FunctionTool[] = [
  {
    type: 'function',
    name: 'lookup_account',
    description: 'Look up an account',
    parameters: { type: 'object', properties: { customer_id: { type: 'string' } }, required: ['customer_id'] },
    strict: false,
  },
];

/**
 * A small agent on the Responses API: a JSON call with a function tool, the tool, and a streamed
 * follow-up whose input carries two parallel function calls and their outputs.
 */
function responsesAgent(variant: Variant) {
  return defineAgent<{ customer: string }, Output>({
    name: 'responses-agent',
    codeVersion: variant,
    create({ rec, env }) {
      const openai = new OpenAI({
        apiKey: 'sk-test',
        baseURL: env.BASE_URL,
        fetch: rec.fetch,
        maxRetries: 0,
        // An upgraded SDK sends other version headers; what the model was asked is unchanged.
        ...(variant === 'sdk-upgraded' ? { defaultHeaders: { 'x-stainless-package-version': '99.0.0', 'x-stainless-runtime-version': 'v99.0.0' } } : {}),
      });
      const lookup = rec.tool('lookup_account', async (args: { customer_id: string }) => ({ customer_id: args.customer_id, balance: 10 }), { effect: 'read' });
      return async function handle({ customer }) {
        const instructions = variant === 'prompt-edited' ? 'You help customers. Be brief.' : 'You help customers.';
        const first = await openai.responses.create({
          model: 'support-sim',
          instructions,
          input: [{ role: 'user', content: `Customer ${customer} asks about the bill.` }],
          tools: TOOLS,
          parallel_tool_calls: true,
          temperature: 0,
        });
        const calls = first.output.filter((item): item is OpenAI.Responses.ResponseFunctionToolCall => item.type === 'function_call');
        // A second call as if the model had asked for both customers at once: parallel tool calls.
        const [call] = calls;
        if (call === undefined) throw new Error('expected a function call');
        const parallel = [call, { ...call, id: `${call.id}_2`, call_id: `${call.call_id}_2`, arguments: JSON.stringify({ customer_id: `${customer}-B` }) }];
        const outputs = await Promise.all(parallel.map((item) => lookup(JSON.parse(item.arguments))));
        const stream = await openai.responses.create({
          model: 'support-sim',
          instructions,
          input: [
            { role: 'user', content: `Customer ${customer} asks about the bill.` },
            ...parallel,
            ...parallel.map((item, index) => ({ type: 'function_call_output' as const, call_id: item.call_id, output: JSON.stringify(outputs[index]) })),
          ],
          tools: TOOLS,
          stream: true,
        });
        let text = '';
        let events = 0;
        for await (const event of stream) {
          events++;
          if (event.type === 'response.output_text.delta') text += event.delta;
          if (event.type === 'response.function_call_arguments.delta') text += event.delta;
        }
        rec.decide({ type: 'account.action', subject: customer, value: 'none', reversible: true });
        lastOutput = { text, events, toolCalls: calls.length };
        return lastOutput;
      };
    },
  });
}

let store: Store;
let closeSimulator: () => Promise<void>;
let recordedOutput: Output;
const modelEvents = async () => (await loadTape(store, 'run_responses')).events.filter((event): event is ModelEvent => event.kind === 'model');

beforeAll(async () => {
  const simulator = await startSimulatorServer({ port: 0, seed: 'responses' });
  closeSimulator = simulator.close;
  store = createMemoryStore();
  const rec = createRecorder({ store, agent: 'responses-agent', redaction: { salt: SALT } });
  const handle = responsesAgent('original').create({ rec, env: { BASE_URL: `${simulator.url}/v1` } });
  recordedOutput = await rec.run({ customer: 'C-1042' }, handle, { runId: 'run_responses' });
  // Everything below runs with the simulator stopped: only the tape can answer.
  await simulator.close();
}, 60_000);
afterAll(async () => closeSimulator?.().catch(() => undefined));

async function replayAs(variant: Variant, baseUrl: string) {
  return replayRun({ store, runId: 'run_responses', agent: responsesAgent(variant) as never, redactionSalt: SALT, env: { BASE_URL: baseUrl } });
}

describe('the OpenAI Responses API through the real openai client', () => {
  it('records both calls as model steps with canonical requests and answers, and keys without host or port', async () => {
    const [json, streamed] = await modelEvents();
    expect(json?.provider).toBe('openai-responses');
    expect(json?.key).toBe('model:openai-responses#0');
    expect(streamed?.key).toBe('model:openai-responses#1');
    expect(json?.response?.content[0]).toMatchObject({ type: 'tool-call', toolName: 'lookup_account', input: { customer_id: 'C-1042' } });
    expect(json?.response?.finishReason).toEqual({ unified: 'tool-calls', raw: 'completed' });
    expect(json?.response?.model.served).toBe('support-sim-2026-01-15');
    expect(json?.response?.usage.totalTokens).toBeGreaterThan(0);
    expect(streamed?.request.stream).toBe(true);
    const tape = await loadTape(store, 'run_responses');
    const chunks = tape.blob<StreamChunk[]>(streamed?.wire.streamChunks ?? '');
    expect(chunks.map((chunk) => chunk.data).join('')).toContain('event: response.completed');
    // The stream's answer is assembled from its events, as the JSON call's is read from its body.
    expect(streamed?.response?.content.length).toBe(1);
    expect(recordedOutput.toolCalls).toBe(1);
  });

  it('show --step renders the messages the model saw, the tools, the parallel calls and what came back', async () => {
    const [, streamed] = await modelEvents();
    const tape = await loadTape(store, 'run_responses');
    const detail = describeStep(tape, streamed?.seq ?? -1);
    if (detail.kind !== 'model') throw new Error('expected a model step');
    expect(detail.messages.map((message) => message.role)).toEqual(['system', 'user', 'assistant', 'tool', 'tool']);
    expect(detail.messages[2]?.content.map((part) => part.type)).toEqual(['tool-call', 'tool-call']);
    expect(detail.sampling.parallel_tool_calls).toEqual({ value: true, source: 'default' });
    const text = renderStep(detail, false);
    expect(text).toContain('(openai-responses, streamed in');
    expect(text).toContain('Messages the model saw (5)');
    expect(text).toContain('  [0] system\n      You help customers.');
    expect(text).toMatch(/→ tool call lookup_account \[call_\w+_2\] \{"customer_id":"C-1042-B"\}/);
    expect(text).toMatch(/← tool result \[call_\w+\] \{"balance":10,"customer_id":"C-1042"\}/);
    expect(text).toContain('lookup_account: Look up an account');
    expect(text).toMatch(/Answer \(finish (stop|tool-calls), raw completed; id resp_/);
  });

  it('replays REPRODUCED with the simulator stopped, against another base URL, re-streaming the recorded events', async () => {
    lastOutput = undefined;
    const result = await replayAs('original', 'http://127.0.0.1:9/elsewhere/v1');
    expect(result.divergences).toEqual([]);
    expect(result.ok).toBe(true);
    // The same stream events reached the SDK, in the same number, with the same text.
    expect(lastOutput).toEqual(recordedOutput);
    expect(recordedOutput.events).toBeGreaterThan(5);
  });

  it('does not read an SDK upgrade (other version headers) as a change', async () => {
    const result = await replayAs('sdk-upgraded', 'http://127.0.0.1:9/v1');
    expect(result.divergences).toEqual([]);
    expect(result.ok).toBe(true);
  });

  it('a changed prompt is a PAYLOAD_MISMATCH at the model call, with a diff of the instructions', async () => {
    const result = await replayAs('prompt-edited', 'http://127.0.0.1:9/v1');
    const [first] = result.divergences;
    expect(first?.code).toBe('PAYLOAD_MISMATCH');
    expect(first?.causalKey).toBe('model:openai-responses#0');
    expect(first?.differences?.map((difference) => difference.path)).toContain('messages[0].content[0].text');
    expect(JSON.stringify(first?.differences)).toContain('Be brief.');
  });

  it('resample sends the recorded request to a live Responses endpoint and classifies the answers', async () => {
    const simulator = await startSimulatorServer({ port: 0, seed: 'responses-resample' });
    try {
      const [json] = await modelEvents();
      const result = await resampleStep({
        store,
        runId: 'run_responses',
        step: json?.seq ?? -1,
        n: 6,
        target: null,
        baseUrl: `${simulator.url}/v1`,
        apiKey: 'sk-test',
        save: false,
      });
      expect(result.complete).toBe(true);
      expect(result.error).toBeNull();
      expect(result.distribution.reduce((sum, entry) => sum + entry.count, 0)).toBe(6);
      expect(result.distribution.map((entry) => entry.class)).toContain('lookup_account');
      expect(simulator.stats().modelRequests).toBe(6);
    } finally {
      await simulator.close();
    }
  });

  it('fork goes live at a Responses step: the child sends it to the fork endpoint with the overrides', async () => {
    const simulator = await startSimulatorServer({ port: 0, seed: 'responses-fork' });
    const sent: string[] = [];
    const capture: typeof fetch = async (input, init) => {
      sent.push(`${String(input)} ${typeof init?.body === 'string' ? init.body : ''}`);
      return fetch(input, init);
    };
    try {
      const [, streamed] = await modelEvents();
      const result = await forkRun({
        store,
        runId: 'run_responses',
        atSeq: streamed?.seq ?? -1,
        agent: responsesAgent('original') as never,
        redactionSalt: SALT,
        overrides: { model: 'support-sim-2026-04-01', systemPrompt: 'You help customers. Forked.' },
        reads: 'frozen',
        endpoint: { baseUrl: `${simulator.url}/v1`, apiKey: 'sim' },
        env: { BASE_URL: 'http://127.0.0.1:9/v1' },
        fetch: capture,
        childRunId: 'run_responses_fork',
      });
      expect(result.error).toBeNull();
      expect(result.endpointError).toBeNull();
      expect(result.liveFrom).toBe('model:openai-responses#1');
      // Only the step forked at went live, to the fork endpoint's Responses route, with the overrides.
      expect(sent).toHaveLength(1);
      expect(sent[0]).toContain(`${simulator.url}/v1/responses `);
      const body = JSON.parse((sent[0] ?? '').slice((sent[0] ?? '').indexOf(' ') + 1)) as Record<string, unknown>;
      expect(body).toMatchObject({ model: 'support-sim-2026-04-01', instructions: 'You help customers. Forked.', stream: true });
      const child = (await loadTape(store, 'run_responses_fork')).events.filter((event): event is ModelEvent => event.kind === 'model');
      expect(child.at(-1)?.response?.model.served).toBe('support-sim-2026-04-01');
    } finally {
      await simulator.close();
    }
  });
});
