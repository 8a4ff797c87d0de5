import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimulatorServer, startSimulatorServer } from '../../src/demo/index.ts';
import { describeStep, loadTape } from '../../src/inspect/index.ts';
import { createRecorder } from '../../src/record/index.ts';
import { createMemoryStore, type Store } from '../../src/store/index.ts';
import { type ModelEvent, type StreamChunk, sha256Hex, type TapeEvent } from '../../src/tape/index.ts';

const API_KEY = 'sk-test-THIS-KEY-MUST-NEVER-BE-STORED-7f3a';
let simulator: SimulatorServer;

beforeAll(async () => {
  simulator = await startSimulatorServer({ port: 0, seed: 'record-real-clients', chunkDelayMs: 15 });
});
afterAll(async () => simulator.close());

/** A base fetch that keeps the exact body of every request that really went out. */
function capturingFetch() {
  const sent: string[] = [];
  const fetchImpl: typeof fetch = async (input, init) => {
    if (typeof init?.body === 'string') sent.push(init.body);
    return fetch(input, init);
  };
  return { sent, fetchImpl };
}

const TOOLS: OpenAI.Chat.Completions.ChatCompletionTool[] = [
  {
    type: 'function',
    function: {
      name: 'lookup_account',
      description: 'Look up an account',
      parameters: { type: 'object', properties: { customer_id: { type: 'string' } }, required: ['customer_id'] },
    },
  },
];

const modelEvents = (events: TapeEvent[]) => events.filter((event): event is ModelEvent => event.kind === 'model');

async function recordOne(store: Store, body: (rec: ReturnType<typeof createRecorder>) => Promise<unknown>) {
  const capture = capturingFetch();
  const rec = createRecorder({ store, agent: 'client-test', baseFetch: capture.fetchImpl });
  const runId = `run_${Math.random().toString(36).slice(2)}`;
  const output = await rec.run('hi', () => body(rec), { runId });
  return { tape: await loadTape(store, runId), sent: capture.sent, output };
}

describe('recording the real openai client against the simulator', () => {
  it('stores every field of a JSON chat completion with tool calls, and the exact wire request', async () => {
    const store = createMemoryStore();
    const { tape, sent } = await recordOne(store, async (rec) => {
      const client = new OpenAI({ apiKey: API_KEY, baseURL: `${simulator.url}/v1`, fetch: rec.fetch, maxRetries: 0 });
      return client.chat.completions.create({
        model: 'support-sim',
        temperature: 0,
        tools: TOOLS,
        messages: [
          { role: 'system', content: 'You help.' },
          { role: 'user', content: 'Customer C-1042 asks about the bill.' },
        ],
      });
    });
    const [event] = modelEvents(tape.events);
    expect(event).toBeDefined();
    const detail = describeStep(tape, event?.seq ?? -1);
    if (detail.kind !== 'model') throw new Error('expected a model step');
    expect(detail.provider).toBe('openai-chat');
    expect(detail.model).toEqual({ requested: 'support-sim', served: 'support-sim-2026-01-15' });
    expect(detail.systemFingerprint).toMatch(/^fp_sim_/);
    expect(detail.sampling.temperature).toEqual({ value: 0, source: 'sent' });
    expect(detail.sampling.top_p).toEqual({ value: 1, source: 'default' });
    expect(detail.sampling.presence_penalty).toEqual({ value: 0, source: 'default' });
    expect(detail.tools.map((tool) => tool.name)).toEqual(['lookup_account']);
    expect(detail.toolChoice).toBe('auto');
    expect(detail.messages.map((message) => message.role)).toEqual(['system', 'user']);
    expect(detail.response?.content[0]).toMatchObject({ type: 'tool-call', toolName: 'lookup_account', input: { customer_id: 'C-1042' } });
    expect(detail.response?.finishReason).toEqual({ unified: 'tool-calls', raw: 'tool_calls' });
    expect(detail.response?.usage.inputTokens).toBeGreaterThan(0);
    expect(detail.wire.requestText).toBe(sent[0]);
    // What replay checks a request sent again against, without reading the body's pieces.
    expect(event?.wire.requestBodyHash).toBe(sha256Hex(sent[0] ?? '').slice(0, 16));
    expect(detail.wire.status).toBe(200);
    expect(JSON.stringify(detail.wire.requestHeaders)).not.toContain(API_KEY);
    expect(detail.wire.requestHeaders.authorization).toBeUndefined();
  });

  it('passes stream chunks through as they arrive and records them with their timing', async () => {
    const store = createMemoryStore();
    const arrivals: number[] = [];
    let finishedAt = 0;
    const { tape, output } = await recordOne(store, async (rec) => {
      const client = new OpenAI({ apiKey: API_KEY, baseURL: `${simulator.url}/v1`, fetch: rec.fetch, maxRetries: 0 });
      const started = performance.now();
      const stream = await client.chat.completions.create({
        model: 'support-sim',
        temperature: 0,
        stream: true,
        stream_options: { include_usage: true },
        tools: TOOLS,
        messages: [{ role: 'user', content: 'Customer C-2001 wants a refund.' }],
      });
      let toolArguments = '';
      for await (const chunk of stream) {
        arrivals.push(performance.now() - started);
        toolArguments += chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? '';
      }
      finishedAt = performance.now() - started;
      return toolArguments;
    });
    // The first chunk reached the caller long before the stream ended (chunks are 15 ms apart).
    expect(arrivals.length).toBeGreaterThan(3);
    expect(finishedAt - (arrivals[0] ?? 0)).toBeGreaterThan(30);
    const [event] = modelEvents(tape.events);
    expect(event?.request.stream).toBe(true);
    const chunks = tape.blob<StreamChunk[]>(event?.wire.streamChunks ?? '');
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks.at(-1)?.t).toBeGreaterThan(chunks[0]?.t ?? 0);
    expect(event?.response?.content[0]).toMatchObject({ type: 'tool-call', toolName: 'lookup_account', input: JSON.parse(output as string) });
    expect(event?.response?.usage.totalTokens).toBeGreaterThan(0);
  });

  it('makes the end of a stream wait until its event is durable', async () => {
    const store = createMemoryStore();
    const writes: number[] = [];
    const originalWrite = store.write.bind(store);
    store.write = async (batch) => {
      writes.push(batch.appends.reduce((sum, append) => sum + append.events.filter((event) => event.kind === 'model').length, 0));
      return originalWrite(batch);
    };
    await recordOne(store, async (rec) => {
      const client = new OpenAI({ apiKey: API_KEY, baseURL: `${simulator.url}/v1`, fetch: rec.fetch, maxRetries: 0 });
      const stream = await client.chat.completions.create({
        model: 'support-sim',
        stream: true,
        temperature: 0,
        messages: [{ role: 'user', content: 'hello' }],
      });
      for await (const _chunk of stream) {
        // drain
      }
      // By the time the caller sees the end, the model event has been written.
      expect(writes.reduce((sum, count) => sum + count, 0)).toBe(1);
    });
  });
});

describe('recording the real @anthropic-ai/sdk client against the simulator', () => {
  it('records JSON and streamed messages with tool use', async () => {
    const store = createMemoryStore();
    const { tape } = await recordOne(store, async (rec) => {
      const client = new Anthropic({ apiKey: API_KEY, baseURL: simulator.url, fetch: rec.fetch, maxRetries: 0 });
      const tools = [
        {
          name: 'lookup_account',
          description: 'Look up an account',
          input_schema: { type: 'object' as const, properties: { customer_id: { type: 'string' } } },
        },
      ];
      const json = await client.messages.create({
        model: 'support-sim',
        max_tokens: 256,
        system: 'You help.',
        tools,
        messages: [{ role: 'user', content: 'Customer C-3003 has a question.' }],
      });
      const streamed = await client.messages
        .stream({ model: 'support-sim', max_tokens: 256, tools, messages: [{ role: 'user', content: 'Customer C-3004 has a question.' }] })
        .finalMessage();
      return { json: json.content[0]?.type, streamed: streamed.content[0]?.type };
    });
    const [json, streamed] = modelEvents(tape.events);
    expect(json?.provider).toBe('anthropic-messages');
    expect(json?.request.stream).toBe(false);
    expect(tape.blob(tape.messageRefs(json?.request.messages ?? '')[0] ?? '')).toMatchObject({ role: 'system' });
    expect(tape.blob<Record<string, unknown>>(json?.request.sampling ?? '').max_tokens).toEqual({ value: 256, source: 'sent' });
    expect(json?.response?.model.served).toBe('support-sim-2026-01-15');
    expect(json?.response?.content[0]).toMatchObject({ type: 'tool-call', toolName: 'lookup_account', input: { customer_id: 'C-3003' } });
    expect(json?.response?.finishReason).toEqual({ unified: 'tool-calls', raw: 'tool_use' });
    expect(streamed?.request.stream).toBe(true);
    expect(tape.blob<unknown[]>(streamed?.wire.streamChunks ?? '').length).toBeGreaterThan(2);
    expect(streamed?.response?.content[0]).toMatchObject({ type: 'tool-call', toolName: 'lookup_account', input: { customer_id: 'C-3004' } });
    for (const event of [json, streamed]) {
      expect(JSON.stringify(tape.blob(event?.wire.requestHeaders ?? ''))).not.toContain(API_KEY);
    }
  });
});
