import { parseWireBody } from '../parse-wire-body.ts';
import { splitText } from '../split-text.ts';
import { type OpenaiChatResponse, openaiChatResponseSchema } from './openai-chat-api-types.ts';

type ResponseChoice = OpenaiChatResponse['choices'][number];

/**
 * Renders a `chat.completion` body as the SSE chunks a streamed call would have produced, for
 * replaying a stream whose original chunks were not recorded. Per choice: a role chunk, content
 * and tool-call argument fragments, a finish chunk; then a usage chunk when the body has usage
 * (as with `stream_options.include_usage`), then `[DONE]`. The real OpenAI SDK's
 * `finalChatCompletion()` over these chunks gives back the body.
 */
export function renderOpenaiChatStream(body: unknown): string[] {
  const response = parseWireBody(openaiChatResponseSchema(), body, 'an OpenAI chat completion response body');
  const { id, object: _object, created, model, choices, usage, ...rest } = response;
  const hasUsage = usage != null;
  const renderChunk = (chunkChoices: unknown[], chunkUsage: unknown = null) =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, ...rest, choices: chunkChoices, ...(hasUsage ? { usage: chunkUsage } : {}) })}\n\n`;
  const chunks = choices.flatMap((choice) => renderChoiceDeltas(choice).map((delta) => renderChunk([delta])));
  if (hasUsage) chunks.push(renderChunk([], usage));
  chunks.push('data: [DONE]\n\n');
  return chunks;
}

/** The per-chunk `choices[0]` entries for one choice, in the order OpenAI sends them. */
function renderChoiceDeltas(choice: ResponseChoice): unknown[] {
  const { index, message, finish_reason: finishReason, logprobs = null, ...choiceExtras } = choice;
  const { role, content, refusal, tool_calls: toolCalls, ...messageExtras } = message;
  const delta = (fields: Record<string, unknown>) => ({ index, delta: fields, logprobs: null, finish_reason: null });
  const deltas: unknown[] = [delta({ role, content: content == null ? null : '', refusal: null, ...messageExtras })];
  for (const piece of splitText(content ?? '')) deltas.push(delta({ content: piece }));
  for (const piece of splitText(refusal ?? '')) deltas.push(delta({ refusal: piece }));
  (toolCalls ?? []).forEach((toolCall, toolCallIndex) => {
    const { function: fn, ...toolCallRest } = toolCall;
    if (fn === undefined) {
      deltas.push(delta({ tool_calls: [{ index: toolCallIndex, ...toolCall }] }));
      return;
    }
    deltas.push(delta({ tool_calls: [{ index: toolCallIndex, ...toolCallRest, function: { name: fn.name, arguments: '' } }] }));
    for (const piece of splitText(fn.arguments, 12)) {
      deltas.push(delta({ tool_calls: [{ index: toolCallIndex, function: { arguments: piece } }] }));
    }
  });
  deltas.push({ index, delta: {}, logprobs, finish_reason: finishReason, ...choiceExtras });
  return deltas;
}
