import type OpenAI from 'openai';

/**
 * The calls the fixtures were captured from: a weather agent's first turn (tools offered, the
 * model calls two tools in parallel) and its follow-up turn (tool results sent back, streamed
 * answer). `*-request.json` is exactly what openai@6 serializes for these.
 */
const getWeatherTool: OpenAI.Chat.ChatCompletionFunctionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city.',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
      required: ['city', 'unit'],
      additionalProperties: false,
    },
    strict: true,
  },
};

const firstTurn: OpenAI.Chat.ChatCompletionMessageParam[] = [
  { role: 'system', content: 'You are a travel assistant. Use tools for anything live.' },
  { role: 'user', content: 'What is the weather in Paris and Tokyo right now?' },
];

export const toolCallParams: OpenAI.Chat.ChatCompletionCreateParamsNonStreaming = {
  model: 'gpt-4.1',
  messages: firstTurn,
  tools: [getWeatherTool],
  temperature: 0.2,
  seed: 7,
};

export const followUpParams: OpenAI.Chat.ChatCompletionCreateParamsStreaming = {
  model: 'gpt-4.1',
  messages: [
    ...firstTurn,
    {
      role: 'assistant',
      content: null,
      tool_calls: [
        { id: 'call_7QhN2vXk9LmP4rTs8WbJ1cYe', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' } },
        { id: 'call_R5dF3gHj6KlZ0xCv2BnM8aQw', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Tokyo","unit":"celsius"}' } },
      ],
    },
    { role: 'tool', tool_call_id: 'call_7QhN2vXk9LmP4rTs8WbJ1cYe', content: '{"temperature": 18, "conditions": "partly cloudy"}' },
    { role: 'tool', tool_call_id: 'call_R5dF3gHj6KlZ0xCv2BnM8aQw', content: '{"temperature": 24, "conditions": "clear"}' },
  ],
  tools: [getWeatherTool],
  tool_choice: 'none',
  max_completion_tokens: 400,
  stream: true,
  stream_options: { include_usage: true },
};
