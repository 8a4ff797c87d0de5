import { parseWireBody } from '../parse-wire-body.ts';
import { splitText } from '../split-text.ts';
import { type OpenaiResponsesOutputItem, openaiResponsesResponseSchema } from './openai-responses-api-types.ts';

type Part = Record<string, unknown> & { type: string };

/**
 * Renders a `response` body as the SSE events a streamed call would have produced, for replaying
 * a stream whose original chunks were not recorded: `response.created` and `.in_progress` with no
 * output, per output item an `output_item.added`, its content parts or argument fragments as
 * deltas, an `output_item.done`, then the lifecycle event the status calls for with the whole
 * response. The real OpenAI SDK's `responses.stream()` over these events gives back the body.
 */
export function renderOpenaiResponsesStream(body: unknown): string[] {
  const response = parseWireBody(openaiResponsesResponseSchema(), body, 'an OpenAI Responses response body');
  let sequenceNumber = 0;
  const events: string[] = [];
  const emit = (type: string, fields: Record<string, unknown>) => {
    events.push(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequenceNumber++, ...fields })}\n\n`);
  };
  const inProgress = { ...response, status: 'in_progress', output: [], usage: null, incomplete_details: null };
  emit('response.created', { response: inProgress });
  emit('response.in_progress', { response: inProgress });
  response.output.forEach((item, outputIndex) => {
    emit('response.output_item.added', { output_index: outputIndex, item: renderEmptyItem(item) });
    if (item.type === 'message' && Array.isArray(item.content)) {
      for (const [contentIndex, part] of (item.content as Part[]).entries()) renderPart(emit, item, outputIndex, part, contentIndex);
    }
    if (item.type === 'function_call') {
      const argumentsText = String(item.arguments ?? '');
      for (const delta of splitText(argumentsText, 12)) emit('response.function_call_arguments.delta', { item_id: item.id, output_index: outputIndex, delta });
      emit('response.function_call_arguments.done', { item_id: item.id, output_index: outputIndex, arguments: argumentsText });
    }
    emit('response.output_item.done', { output_index: outputIndex, item });
  });
  const terminal = response.status === 'incomplete' ? 'response.incomplete' : response.status === 'failed' ? 'response.failed' : 'response.completed';
  emit(terminal, { response });
  return events;
}

/** An item as `output_item.added` announces it: streamed fields empty, still in progress. */
function renderEmptyItem(item: OpenaiResponsesOutputItem): OpenaiResponsesOutputItem {
  const inProgress = 'status' in item ? { status: 'in_progress' } : {};
  if (item.type === 'message') return { ...item, ...inProgress, content: [] };
  if (item.type === 'function_call') return { ...item, ...inProgress, arguments: '' };
  return item;
}

function renderPart(
  emit: (type: string, fields: Record<string, unknown>) => void,
  item: OpenaiResponsesOutputItem,
  outputIndex: number,
  part: Part,
  contentIndex: number,
): void {
  const at = { item_id: item.id, output_index: outputIndex, content_index: contentIndex };
  if (part.type === 'output_text') {
    const text = String(part.text ?? '');
    emit('response.content_part.added', { ...at, part: { ...part, text: '', annotations: [] } });
    for (const delta of splitText(text)) emit('response.output_text.delta', { ...at, delta, logprobs: [] });
    emit('response.output_text.done', { ...at, text, logprobs: [] });
  } else if (part.type === 'refusal') {
    const refusal = String(part.refusal ?? '');
    emit('response.content_part.added', { ...at, part: { ...part, refusal: '' } });
    for (const delta of splitText(refusal)) emit('response.refusal.delta', { ...at, delta });
    emit('response.refusal.done', { ...at, refusal });
  } else {
    emit('response.content_part.added', { ...at, part });
  }
  emit('response.content_part.done', { ...at, part });
}
