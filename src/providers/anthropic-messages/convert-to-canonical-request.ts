import type { CanonicalTool } from '../../tape/index.ts';
import { fillSamplingDefaults } from '../fill-sampling-defaults.ts';
import { parseWireBody } from '../parse-wire-body.ts';
import type { CanonicalRequestDraft } from '../wire-format.ts';
import { type AnthropicMessagesRequest, anthropicMessagesRequestSchema } from './anthropic-messages-api-types.ts';
import { convertToCanonicalMessages } from './convert-to-canonical-messages.ts';

/**
 * Anthropic's defaults for the parameters that shape sampling. `max_tokens` is required, so it
 * is always 'sent'. `effort` and `disable_parallel_tool_use` live in nested objects on the wire
 * (`output_config`, `tool_choice`) and are lifted here because they change what the model does.
 */
const samplingDefaults = {
  max_tokens: null,
  temperature: 1,
  top_p: null,
  top_k: null,
  stop_sequences: null,
  thinking: null,
  effort: null,
  disable_parallel_tool_use: false,
} as const;

/** Converts an Anthropic Messages request body to its canonical form. */
export function convertToCanonicalRequest(body: unknown): CanonicalRequestDraft {
  const request = parseWireBody(anthropicMessagesRequestSchema(), body, 'an Anthropic Messages request body');
  const tools = convertTools(request.tools);
  return {
    model: request.model,
    messages: convertToCanonicalMessages(request.system, request.messages),
    tools,
    toolChoice: convertToolChoice(request.tool_choice, tools !== null),
    responseFormat: request.output_config?.format ?? request.output_format ?? null,
    sampling: fillSamplingDefaults(
      {
        ...request,
        effort: request.output_config?.effort,
        disable_parallel_tool_use: request.tool_choice?.disable_parallel_tool_use,
      },
      samplingDefaults,
    ),
    stream: request.stream === true,
  };
}

function convertTools(tools: AnthropicMessagesRequest['tools']): CanonicalTool[] | null {
  if (tools === undefined || tools.length === 0) return null;
  return tools.map(({ name, description, input_schema: inputSchema, type }) => ({
    name,
    ...(description === undefined ? {} : { description }),
    inputSchema: inputSchema ?? null,
    // Server tools (web search, code execution) are told apart by their dated type.
    ...(type == null || type === 'custom' ? {} : { type }),
  }));
}

/** Maps Anthropic's `{ type: 'auto' | 'any' | 'none' | 'tool' }` to the canonical choices. */
function convertToolChoice(toolChoice: AnthropicMessagesRequest['tool_choice'], hasTools: boolean): unknown {
  if (toolChoice === undefined) return hasTools ? 'auto' : 'none';
  switch (toolChoice.type) {
    case 'auto':
      return 'auto';
    case 'none':
      return 'none';
    case 'any':
      return 'required';
    case 'tool':
      return toolChoice.name === undefined ? toolChoice : { type: 'tool', toolName: toolChoice.name };
    default:
      return toolChoice;
  }
}
