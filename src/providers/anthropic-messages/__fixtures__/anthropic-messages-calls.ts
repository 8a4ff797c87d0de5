import type Anthropic from '@anthropic-ai/sdk';

/**
 * The calls the fixtures were captured from: a weather agent's first turn (tools offered, the
 * model says a sentence and calls two tools) and its follow-up turn (tool results sent back in a
 * user message, streamed answer). `*-request.json` is exactly what @anthropic-ai/sdk@1 serializes.
 */
const getWeatherTool: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Current weather for a city.',
  input_schema: {
    type: 'object',
    properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
    required: ['city', 'unit'],
  },
};

const system: Anthropic.TextBlockParam[] = [
  { type: 'text', text: 'You are a travel assistant. Use tools for anything live.', cache_control: { type: 'ephemeral' } },
];
const firstUserMessage: Anthropic.MessageParam = { role: 'user', content: 'What is the weather in Paris and Tokyo right now?' };

export const toolCallParams: Anthropic.MessageCreateParamsNonStreaming = {
  model: 'claude-sonnet-5-5',
  max_tokens: 1024,
  system,
  messages: [firstUserMessage],
  tools: [getWeatherTool],
};

/** Sent through `client.messages.stream(...)`, which adds `stream: true` itself. */
export const followUpParams: Anthropic.MessageStreamParams = {
  model: 'claude-sonnet-5-5',
  max_tokens: 1024,
  system,
  messages: [
    firstUserMessage,
    {
      role: 'assistant',
      content: [
        { type: 'text', text: "I'll check the current weather in both cities." },
        { type: 'tool_use', id: 'toolu_01A9bC3dE5fG7hJ9kL1mN3pQ', name: 'get_weather', input: { city: 'Paris', unit: 'celsius' } },
        { type: 'tool_use', id: 'toolu_01R5sT7uV9wX1yZ3aB5cD7eF', name: 'get_weather', input: { city: 'Tokyo', unit: 'celsius' } },
      ],
    },
    {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'toolu_01A9bC3dE5fG7hJ9kL1mN3pQ', content: '{"temperature": 18, "conditions": "partly cloudy"}' },
        { type: 'tool_result', tool_use_id: 'toolu_01R5sT7uV9wX1yZ3aB5cD7eF', content: [{ type: 'text', text: '{"temperature": 24, "conditions": "clear"}' }] },
      ],
    },
  ],
  tools: [getWeatherTool],
  tool_choice: { type: 'auto', disable_parallel_tool_use: false },
  stop_sequences: ['\n\nHuman:'],
  output_config: { effort: 'medium' },
};
