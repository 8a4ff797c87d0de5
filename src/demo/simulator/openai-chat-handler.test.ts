import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { incidentRequest, MORE_TIME_MESSAGE, OPENAI_TOOLS, SYSTEM_PROMPT } from './__fixtures__/support-conversation.ts';
import { CANDIDATE_VERSION_ID, INCUMBENT_VERSION_ID } from './model-versions.ts';
import { type SimulatorServer, startSimulatorServer } from './simulator-server.ts';

/** The real `openai` client against the simulator on loopback: it parses everything we send. */
let server: SimulatorServer;
let openai: OpenAI;

beforeAll(async () => {
  server = await startSimulatorServer({ seed: 'openai-handler-test' });
  openai = new OpenAI({ apiKey: 'sk-test', baseURL: `${server.url}/v1`, maxRetries: 0 });
});
afterAll(() => server.close());

describe('OpenAI chat completions', () => {
  it('looks the customer up first, with JSON arguments, the dated version, fingerprint, usage and the simulator header', async () => {
    const { data, response } = await openai.chat.completions
      .create({ model: 'support-sim', temperature: 0, tools: OPENAI_TOOLS, messages: [{ role: 'user', content: MORE_TIME_MESSAGE }] })
      .withResponse();
    expect(response.headers.get('x-simulator')).toBe('retrial-sim');
    expect(data.model).toBe(INCUMBENT_VERSION_ID);
    expect(data.system_fingerprint).toBe('fp_sim_20260115');
    expect(data.choices[0]?.finish_reason).toBe('tool_calls');
    const call = data.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === 'function' && call.function.name).toBe('lookup_account');
    expect(call?.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ customer_id: 'C-1042' });
    expect(data.usage?.prompt_tokens).toBeGreaterThan(10);
    expect(data.usage?.total_tokens).toBe((data.usage?.prompt_tokens ?? 0) + (data.usage?.completion_tokens ?? 0));
  });

  it('streams a tool call in argument fragments that the client assembles, with a usage chunk', async () => {
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    const stream = openai.chat.completions.stream({ ...incidentRequest(), stream_options: { include_usage: true } } as Parameters<
      typeof openai.chat.completions.stream
    >[0]);
    stream.on('chunk', (chunk) => chunks.push(chunk));
    const completion = await stream.finalChatCompletion();
    const call = completion.choices[0]?.message.tool_calls?.[0];
    expect(call?.type).toBe('function');
    const parsedArguments = call?.type === 'function' ? JSON.parse(call.function.arguments) : undefined;
    expect(parsedArguments.customer_id).toBe('C-1042');
    expect(chunks.filter((chunk) => chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments).length).toBeGreaterThan(2);
    expect(completion.model).toBe(INCUMBENT_VERSION_ID);
    expect(completion.system_fingerprint).toBe('fp_sim_20260115');
    expect(chunks.at(-1)?.usage?.total_tokens).toBeGreaterThan(0);
  });

  it('streams exactly what the JSON answer says for the same seed and request', async () => {
    const twin = await startSimulatorServer({ seed: 'server-test-twin' });
    const other = await startSimulatorServer({ seed: 'server-test-twin' });
    try {
      const request = { model: 'support-sim', temperature: 0, tools: OPENAI_TOOLS, messages: [{ role: 'user' as const, content: 'What plan am I on?' }] };
      const plain = await new OpenAI({ apiKey: 'k', baseURL: `${twin.url}/v1` }).chat.completions.create(request);
      const streamed = await new OpenAI({ apiKey: 'k', baseURL: `${other.url}/v1` }).chat.completions.stream(request).finalChatCompletion();
      expect(streamed.id).toBe(plain.id);
      expect(streamed.choices[0]?.message.content).toBe(plain.choices[0]?.message.content);
      expect(plain.choices[0]?.message.content).toMatch(/customer ID/);
    } finally {
      await twin.close();
      await other.close();
    }
  });

  it('runs a whole support conversation: lookup, decision, confirmation', async () => {
    const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
      { role: 'system', content: SYSTEM_PROMPT },
      { role: 'user', content: 'Please close my account, I am moving abroad. C-2001' },
    ];
    const account = {
      customer_id: 'C-2001',
      name: 'Sam',
      plan: 'plus',
      status: 'active',
      balance_due: 0,
      days_overdue: 0,
      tenure_months: 14,
      grace_eligible: true,
      grace_used_this_year: false,
      last_charge: { amount: 39, age_days: 5, duplicate: false },
      prior_refunds_90d: 0,
    };
    const actions: string[] = [];
    for (let step = 0; step < 4; step++) {
      const completion = await openai.chat.completions.create({ model: 'support-sim', temperature: 0, tools: OPENAI_TOOLS, messages });
      const message = completion.choices[0]?.message;
      if (!message) throw new Error('no message');
      messages.push(message);
      const call = message.tool_calls?.[0];
      if (call?.type !== 'function') break;
      actions.push(call.function.name);
      messages.push({ role: 'tool', tool_call_id: call.id, content: call.function.name === 'lookup_account' ? JSON.stringify(account) : '{"ok":true}' });
    }
    expect(actions).toEqual(['lookup_account', 'close_account']);
    expect(messages.at(-1)).toMatchObject({ role: 'assistant', content: expect.stringContaining('has been closed') });
  });

  it('lists versions and aliases, and follows an alias moved at runtime', async () => {
    const ids = [];
    for await (const entry of openai.models.list()) ids.push(entry.id);
    expect(ids).toEqual(expect.arrayContaining([INCUMBENT_VERSION_ID, CANDIDATE_VERSION_ID, 'support-sim']));
    server.setAlias('support-sim', CANDIDATE_VERSION_ID);
    try {
      const completion = await openai.chat.completions.create(incidentRequest() as OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming);
      expect(completion.model).toBe(CANDIDATE_VERSION_ID);
      expect(completion.system_fingerprint).toBe('fp_sim_20260401');
    } finally {
      server.setAlias('support-sim', INCUMBENT_VERSION_ID);
    }
  });

  it('answers an unknown model with a 404 the client raises as NotFoundError, naming the simulator', async () => {
    const failure = await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.NotFoundError);
    expect((failure as InstanceType<typeof OpenAI.NotFoundError>).message).toMatch(/simulator/);
  });
});
