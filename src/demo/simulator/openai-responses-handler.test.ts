import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MORE_TIME_MESSAGE, SYSTEM_PROMPT } from './__fixtures__/support-conversation.ts';
import { INCUMBENT_VERSION_ID } from './model-versions.ts';
import { type SimulatorServer, startSimulatorServer } from './simulator-server.ts';

/** The real `openai` client's Responses calls against the simulator on loopback. */
let server: SimulatorServer;
let openai: OpenAI;
const TOOLS: OpenAI.Responses.FunctionTool[] = [
  { type: 'function', name: 'lookup_account', parameters: { type: 'object', properties: { customer_id: { type: 'string' } } }, strict: false },
];

beforeAll(async () => {
  server = await startSimulatorServer({ seed: 'responses-handler-test' });
  openai = new OpenAI({ apiKey: 'sk-test', baseURL: `${server.url}/v1`, maxRetries: 0 });
});
afterAll(() => server.close());

describe('OpenAI Responses on the simulator', () => {
  it('answers a JSON call with a function_call item, the dated version and usage', async () => {
    const { data, response } = await openai.responses
      .create({ model: 'support-sim', instructions: SYSTEM_PROMPT, input: MORE_TIME_MESSAGE, tools: TOOLS, temperature: 0 })
      .withResponse();
    expect(response.headers.get('x-simulator')).toBe('retrial-sim');
    expect(data.model).toBe(INCUMBENT_VERSION_ID);
    expect(data.status).toBe('completed');
    const [call] = data.output;
    expect(call?.type === 'function_call' && call.name).toBe('lookup_account');
    expect(call?.type === 'function_call' && JSON.parse(call.arguments)).toEqual({ customer_id: 'C-1042' });
    expect(data.usage?.total_tokens).toBe((data.usage?.input_tokens ?? 0) + (data.usage?.output_tokens ?? 0));
  });

  it('streams the same answer as named events the SDK accumulates into the JSON response', async () => {
    const request = { model: 'support-sim', instructions: SYSTEM_PROMPT, input: MORE_TIME_MESSAGE, tools: TOOLS, temperature: 0 };
    const fresh = await startSimulatorServer({ seed: 'responses-handler-test' });
    const twin = await startSimulatorServer({ seed: 'responses-handler-test' });
    try {
      const client = new OpenAI({ apiKey: 'sk-test', baseURL: `${fresh.url}/v1`, maxRetries: 0 });
      const types: string[] = [];
      const stream = client.responses.stream(request);
      stream.on('event', (event) => types.push(event.type));
      const final = await stream.finalResponse();
      const json = await new OpenAI({ apiKey: 'sk-test', baseURL: `${twin.url}/v1`, maxRetries: 0 }).responses.create(request);
      expect(types[0]).toBe('response.created');
      expect(types.at(-1)).toBe('response.completed');
      expect(types.filter((type) => type === 'response.function_call_arguments.delta').length).toBeGreaterThan(1);
      // Same seed, content and occurrence on both servers: the same answer, streamed or not.
      expect(final.output).toMatchObject(json.output);
      expect(final.usage).toEqual(json.usage);
    } finally {
      await Promise.all([fresh.close(), twin.close()]);
    }
  });

  it('refuses a body without input with the OpenAI error body', async () => {
    await expect(openai.responses.create({ model: 'support-sim' } as never)).rejects.toMatchObject({ status: 400 });
  });
});
