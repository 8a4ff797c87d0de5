import { parseSseJson } from '../parse-sse-json.ts';
import { parseWireBody } from '../parse-wire-body.ts';
import { type OpenaiChatChunk, openaiChatChunkSchema } from './openai-chat-api-types.ts';

type ChunkChoice = OpenaiChatChunk['choices'][number];
interface ToolCallState {
  id: string | null;
  type: string | null;
  name: string;
  arguments: string;
}
interface ChoiceState {
  index: number;
  /** Delta fields other than the streamed ones (e.g. `annotations`), last value wins. */
  messageExtras: Record<string, unknown>;
  /** Choice fields other than the known ones (e.g. Azure's `content_filter_results`), last value wins. */
  choiceExtras: Record<string, unknown>;
  role: string;
  content: string | null;
  refusal: string | null;
  toolCalls: Map<number, ToolCallState>;
  logprobs: { content: unknown[] | null; refusal: unknown[] | null } | null;
  finishReason: string | null;
}

/**
 * Rebuilds the `chat.completion` body a non-streamed call would have returned from the SSE text
 * of a streamed one: content and tool-call argument fragments are joined by index, the usage
 * chunk (sent with `stream_options.include_usage`) becomes `usage`, and the per-chunk
 * `obfuscation` padding is dropped because it is noise, not part of the answer.
 * An `error` payload mid-stream is returned as is: it is what a non-streamed call would have returned.
 */
export function assembleOpenaiChatStream(sseText: string): unknown {
  let header: Record<string, unknown> | undefined;
  let usage: unknown;
  const choices = new Map<number, ChoiceState>();
  for (const { json } of parseSseJson(sseText)) {
    if (typeof json === 'object' && json !== null && 'error' in json) return json;
    const chunk = parseWireBody(openaiChatChunkSchema(), json, 'an OpenAI chat.completion.chunk');
    const { choices: chunkChoices, usage: chunkUsage, object: _object, obfuscation: _obfuscation, ...topLevel } = chunk;
    // Some compatible servers send a first chunk with an empty id (Azure's prompt filter results).
    if (header === undefined) header = { ...topLevel };
    else if (chunk.id !== '') Object.assign(header, topLevel);
    if (chunkUsage != null) usage = chunkUsage;
    for (const choice of chunkChoices) accumulateChoice(choices, choice);
  }
  if (header === undefined) throw new TypeError('Expected an OpenAI chat completions SSE stream, but it held no chunks.');
  const { id, created, model, ...rest } = header;
  return {
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [...choices.values()].sort((left, right) => left.index - right.index).map(renderChoice),
    ...(usage === undefined ? {} : { usage }),
    ...rest,
  };
}

function accumulateChoice(choices: Map<number, ChoiceState>, choice: ChunkChoice): void {
  let state = choices.get(choice.index);
  if (state === undefined) {
    state = {
      index: choice.index,
      messageExtras: {},
      choiceExtras: {},
      role: 'assistant',
      content: null,
      refusal: null,
      toolCalls: new Map(),
      logprobs: null,
      finishReason: null,
    };
    choices.set(choice.index, state);
  }
  const { index: _index, delta, finish_reason: finishReason, logprobs, ...choiceExtras } = choice;
  Object.assign(state.choiceExtras, choiceExtras);
  const { role, content, refusal, tool_calls: toolCalls, ...messageExtras } = delta;
  Object.assign(state.messageExtras, messageExtras);
  if (role != null) state.role = role;
  if (content != null) state.content = (state.content ?? '') + content;
  if (refusal != null) state.refusal = (state.refusal ?? '') + refusal;
  for (const fragment of toolCalls ?? []) {
    const toolCall = state.toolCalls.get(fragment.index) ?? { id: null, type: null, name: '', arguments: '' };
    state.toolCalls.set(fragment.index, toolCall);
    if (fragment.id) toolCall.id = fragment.id;
    if (fragment.type) toolCall.type = fragment.type;
    if (fragment.function?.name) toolCall.name = fragment.function.name;
    if (fragment.function?.arguments) toolCall.arguments += fragment.function.arguments;
  }
  if (logprobs != null) {
    state.logprobs ??= { content: null, refusal: null };
    if (logprobs.content != null) state.logprobs.content = [...(state.logprobs.content ?? []), ...logprobs.content];
    if (logprobs.refusal != null) state.logprobs.refusal = [...(state.logprobs.refusal ?? []), ...logprobs.refusal];
  }
  if (finishReason != null) state.finishReason = finishReason;
}

function renderChoice(state: ChoiceState) {
  const toolCalls = [...state.toolCalls.entries()]
    .sort(([left], [right]) => left - right)
    .map(([, toolCall]) => ({ id: toolCall.id, type: toolCall.type ?? 'function', function: { name: toolCall.name, arguments: toolCall.arguments } }));
  const { annotations = [], ...messageExtras } = state.messageExtras;
  return {
    index: state.index,
    message: {
      role: state.role,
      content: state.content,
      ...(toolCalls.length === 0 ? {} : { tool_calls: toolCalls }),
      refusal: state.refusal,
      // Non-streamed responses always carry `annotations`; streams only mention it when non-empty.
      annotations,
      ...messageExtras,
    },
    logprobs: state.logprobs,
    finish_reason: state.finishReason,
    ...state.choiceExtras,
  };
}
