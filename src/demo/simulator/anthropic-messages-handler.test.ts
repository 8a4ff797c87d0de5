import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANTHROPIC_TOOLS, anthropicDecisionMessages, MORE_TIME_MESSAGE, SYSTEM_PROMPT } from './__fixtures__/support-conversation.ts';
import { INCUMBENT_VERSION_ID } from './model-versions.ts';
import { type SimulatorServer, startSimulatorServer } from './simulator-server.ts';

/** The real `@anthropic-ai/sdk` client against the simulator on loopback. */
let server: SimulatorServer;
let anthropic: Anthropic;

beforeAll(async () => {
  server = await startSimulatorServer({ seed: 'anthropic-handler-test' });
  anthropic = new Anthropic({ apiKey: 'sk-ant-test', baseURL: server.url, maxRetries: 0 });
});
afterAll(() => server.close());

describe('Anthropic messages', () => {
  const decision = {
    model: 'support-sim',
    max_tokens: 512,
    temperature: 0,
    system: SYSTEM_PROMPT,
    tools: ANTHROPIC_TOOLS,
    messages: anthropicDecisionMessages(MORE_TIME_MESSAGE),
  };

  it('answers the decision step with a tool_use block', async () => {
    const message = await anthropic.messages.create(decision);
    expect(message.model).toBe(INCUMBENT_VERSION_ID);
    expect(message.stop_reason).toBe('tool_use');
    const block = message.content[0];
    expect(block?.type).toBe('tool_use');
    expect(block?.type === 'tool_use' && (block.input as { customer_id: string }).customer_id).toBe('C-1042');
    expect(message.usage.input_tokens).toBeGreaterThan(10);
  });

  it('streams tool input as input_json_delta pieces that the SDK assembles', async () => {
    const stream = anthropic.messages.stream(decision);
    const eventTypes: string[] = [];
    stream.on('streamEvent', (event) => eventTypes.push(event.type));
    const message = await stream.finalMessage();
    const block = message.content[0];
    expect(block?.type === 'tool_use' && typeof (block.input as { customer_id?: unknown }).customer_id).toBe('string');
    expect(eventTypes[0]).toBe('message_start');
    expect(eventTypes.at(-1)).toBe('message_stop');
    expect(eventTypes.filter((type) => type === 'content_block_delta').length).toBeGreaterThan(2);
    expect(message.usage.output_tokens).toBeGreaterThan(1);
  });

  it('streams a text reply with end_turn', async () => {
    const message = await anthropic.messages
      .stream({ model: 'support-sim', max_tokens: 128, messages: [{ role: 'user', content: 'hello there' }] })
      .finalMessage();
    expect(message.stop_reason).toBe('end_turn');
    expect(message.content[0]?.type === 'text' && message.content[0].text).toMatch(/customer ID/);
  });

  it('uses Anthropic error bodies', async () => {
    const failure = await anthropic.messages.create({ ...decision, model: 'claude-nope' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Anthropic.NotFoundError);
    expect(String((failure as Error).message)).toMatch(/simulator/);
  });
});
