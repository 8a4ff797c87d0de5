import type { CanonicalTool } from '../../tape/index.ts';
import { fillSamplingDefaults } from '../fill-sampling-defaults.ts';
import { parseWireBody } from '../parse-wire-body.ts';
import type { CanonicalRequestDraft } from '../wire-format.ts';
import { convertToCanonicalMessages } from './convert-to-canonical-messages.ts';
import { type OpenaiResponsesRequest, openaiResponsesRequestSchema } from './openai-responses-api-types.ts';

/**
 * OpenAI's documented defaults for the Responses parameters that change what the model does.
 * `verbosity` lives in `text` on the wire and is lifted here. `previous_response_id` and
 * `conversation` are not sampling, but they bring context the server holds into the prompt, so
 * they must take part in what a replay compares; this is the place the canonical form has for them.
 */
const samplingDefaults = {
  temperature: 1,
  top_p: 1,
  max_output_tokens: null,
  max_tool_calls: null,
  top_logprobs: null,
  reasoning: null,
  truncation: 'disabled',
  service_tier: 'auto',
  verbosity: 'medium',
  previous_response_id: null,
  conversation: null,
} as const;

/** Converts an OpenAI Responses request body to its canonical form. */
export function convertToCanonicalRequest(body: unknown): CanonicalRequestDraft {
  const request = parseWireBody(openaiResponsesRequestSchema(), body, 'an OpenAI Responses request body');
  const tools = convertTools(request.tools);
  const format = request.text?.format;
  return {
    model: request.model,
    messages: convertToCanonicalMessages(request.instructions, request.input),
    tools,
    toolChoice: convertToolChoice(request.tool_choice, tools !== null),
    // Plain text is the default format: sending it spelled out asks for nothing different.
    responseFormat: format == null || (format as { type?: unknown }).type === 'text' ? null : format,
    sampling: fillSamplingDefaults(
      { ...request, verbosity: request.text?.verbosity },
      {
        ...samplingDefaults,
        // Parallel tool calls only mean something when tools are offered.
        parallel_tool_calls: tools === null ? null : true,
      },
    ),
    stream: request.stream === true,
  };
}

function convertTools(tools: OpenaiResponsesRequest['tools']): CanonicalTool[] | null {
  if (tools == null || tools.length === 0) return null;
  return tools.map((tool): CanonicalTool => {
    if (tool.type === 'function' && tool.name !== undefined) {
      return {
        name: tool.name,
        ...(tool.description == null ? {} : { description: tool.description }),
        inputSchema: tool.parameters ?? null,
        ...(tool.strict == null ? {} : { strict: tool.strict }),
      };
    }
    // Hosted tools (web search, file search, MCP, custom) are told apart by their type.
    return { name: tool.name ?? tool.type, inputSchema: null, type: tool.type, raw: tool };
  });
}

/** Absent means 'auto' when tools are offered and 'none' otherwise. */
function convertToolChoice(toolChoice: unknown, hasTools: boolean): unknown {
  if (toolChoice === undefined || toolChoice === null) return hasTools ? 'auto' : 'none';
  if (typeof toolChoice === 'string') return toolChoice;
  const choice = toolChoice as { type?: unknown; name?: unknown };
  if ((choice.type === 'function' || choice.type === 'custom') && typeof choice.name === 'string') return { type: 'tool', toolName: choice.name };
  return toolChoice;
}
