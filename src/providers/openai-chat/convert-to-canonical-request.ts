import type { CanonicalTool } from '../../tape/index.ts';
import { fillSamplingDefaults } from '../fill-sampling-defaults.ts';
import { parseWireBody } from '../parse-wire-body.ts';
import type { CanonicalRequestDraft } from '../wire-format.ts';
import { convertToCanonicalMessages } from './convert-to-canonical-messages.ts';
import { type OpenaiChatRequest, openaiChatRequestSchema } from './openai-chat-api-types.ts';

/**
 * OpenAI's documented defaults for every sampling parameter of chat completions. A request that
 * leaves one out behaves exactly as if it had sent the default, so the canonical form fills it in.
 */
const samplingDefaults = {
  temperature: 1,
  top_p: 1,
  n: 1,
  presence_penalty: 0,
  frequency_penalty: 0,
  max_tokens: null,
  max_completion_tokens: null,
  stop: null,
  seed: null,
  logit_bias: null,
  logprobs: false,
  top_logprobs: null,
  reasoning_effort: null,
  service_tier: 'auto',
} as const;

/** Converts an OpenAI chat completions request body to its canonical form. */
export function convertToCanonicalRequest(body: unknown): CanonicalRequestDraft {
  const request = parseWireBody(openaiChatRequestSchema(), body, 'an OpenAI chat completions request body');
  const tools = convertTools(request.tools);
  return {
    model: request.model,
    messages: convertToCanonicalMessages(request.messages),
    tools,
    toolChoice: convertToolChoice(request.tool_choice, tools !== null),
    responseFormat: request.response_format ?? null,
    sampling: fillSamplingDefaults(request, {
      ...samplingDefaults,
      // Parallel tool calls only mean something when tools are offered.
      parallel_tool_calls: tools === null ? null : true,
    }),
    stream: request.stream === true,
  };
}

function convertTools(tools: OpenaiChatRequest['tools']): CanonicalTool[] | null {
  if (tools == null || tools.length === 0) return null;
  return tools.map((tool): CanonicalTool => {
    if (tool.function !== undefined) {
      const { name, description, parameters, strict } = tool.function;
      return {
        name,
        ...(description === undefined ? {} : { description }),
        inputSchema: parameters ?? null,
        ...(strict == null ? {} : { strict }),
      };
    }
    if (tool.custom !== undefined) return { ...tool.custom, inputSchema: null, type: tool.type };
    return { name: tool.type, inputSchema: null, raw: tool };
  });
}

/** Absent means 'auto' when tools are offered and 'none' otherwise, as OpenAI documents. */
function convertToolChoice(toolChoice: unknown, hasTools: boolean): unknown {
  if (toolChoice === undefined || toolChoice === null) return hasTools ? 'auto' : 'none';
  if (typeof toolChoice === 'string') return toolChoice;
  const choice = toolChoice as { type?: unknown; function?: { name?: unknown }; custom?: { name?: unknown } };
  if (choice.type === 'function' && typeof choice.function?.name === 'string') {
    return { type: 'tool', toolName: choice.function.name };
  }
  if (choice.type === 'custom' && typeof choice.custom?.name === 'string') {
    return { type: 'tool', toolName: choice.custom.name };
  }
  return toolChoice;
}
