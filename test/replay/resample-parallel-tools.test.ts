import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { loadTape } from '../../src/inspect/index.ts';
import { createFakeFetch } from '../../src/providers/__fixtures__/create-fake-fetch.ts';
import { createRecorder, defineAgent } from '../../src/record/index.ts';
import { resampleStep } from '../../src/replay/index.ts';
import { createMemoryStore } from '../../src/store/index.ts';

/** A chat completion choosing these tools in one answer (parallel tool calls), in this order. */
function completionWith(tools: string[]) {
  return {
    id: 'chatcmpl-parallel',
    object: 'chat.completion',
    created: 1_780_000_000,
    model: 'gpt-4.1',
    choices: [
      {
        index: 0,
        finish_reason: 'tool_calls',
        message: {
          role: 'assistant',
          content: null,
          tool_calls: tools.map((name, index) => ({ id: `call_${index}`, type: 'function', function: { name, arguments: '{"order_id":"A-1"}' } })),
        },
      },
    ],
    usage: { prompt_tokens: 20, completion_tokens: 10, total_tokens: 30 },
  };
}

const agent = defineAgent<{ question: string }, string>({
  name: 'parallel-agent',
  codeVersion: 'v1',
  create({ rec }) {
    const openai = new OpenAI({ apiKey: 'sk-test', baseURL: 'http://model.invalid/v1', fetch: rec.fetch, maxRetries: 0 });
    return async ({ question }) => {
      const completion = await openai.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: question }] });
      return (completion.choices[0]?.message.tool_calls ?? []).map((call) => (call.type === 'function' ? call.function.name : '')).join(',');
    };
  },
});

describe('resample --classify-by tools', () => {
  it('classifies an answer with parallel tool calls by the set of tools it chose, whichever order the model wrote them in', async () => {
    const store = createMemoryStore();
    const recording = createFakeFetch(() => ({ json: completionWith(['lookup_order', 'refund']) }));
    const rec = createRecorder({ store, agent: 'parallel-agent', redaction: { salt: 's' }, baseFetch: recording.fetch });
    await rec.run({ question: 'Refund order A-1' }, agent.create({ rec, env: {} }), { runId: 'run_parallel' });
    const step = (await loadTape(store, 'run_parallel')).events.find((event) => event.kind === 'model')?.seq ?? -1;

    // Live answers: the same two tools in the other order, the same in recorded order, and one tool alone.
    const answers = [['refund', 'lookup_order'], ['lookup_order', 'refund'], ['lookup_order']];
    let next = 0;
    const live = createFakeFetch(() => ({ json: completionWith(answers[next++ % answers.length] ?? []) }));
    const resample = (classifyBy: string | null) =>
      resampleStep({
        store,
        runId: 'run_parallel',
        step,
        n: 6,
        target: null,
        baseUrl: 'http://model.invalid/v1',
        apiKey: 'k',
        fetch: live.fetch,
        classifyBy,
        concurrency: 1,
        save: false,
      });

    const bySet = await resample('tools');
    expect(bySet.classifiedBy).toBe('tools');
    expect(bySet.recordedClass).toBe('lookup_order + refund');
    expect(Object.fromEntries(bySet.distribution.map((entry) => [entry.class, entry.count]))).toEqual({ 'lookup_order + refund': 4, lookup_order: 2 });
    expect(bySet.hypothesis.class).toBe('lookup_order + refund');

    // The default stays the first tool: it cannot tell the answers apart that way.
    next = 0;
    const byFirst = await resample(null);
    expect(byFirst.recordedClass).toBe('lookup_order');
    expect(Object.fromEntries(byFirst.distribution.map((entry) => [entry.class, entry.count]))).toEqual({ refund: 2, lookup_order: 4 });
  });
});
