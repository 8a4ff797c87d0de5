import type { LoadedTape } from '../inspect/index.ts';
import { parseGeminiPath, type WireFormat } from '../providers/index.ts';
import { comparableRequest, type Redactor, redactRequestBody } from '../record/index.ts';
import { type CanonicalMessage, type CanonicalTool, createBlob, type ModelEvent, requestBodyHash } from '../tape/index.ts';

/** The recorded request of a model event in the comparable form the hash is taken over (its blobs loaded). */
export function recordedComparable(tape: LoadedTape, event: ModelEvent): Record<string, unknown> {
  return comparableRequest({
    model: event.request.model,
    messages: tape.messageRefs(event.request.messages).map((ref) => tape.blob<CanonicalMessage>(ref)),
    tools: event.request.tools ? tape.blob<CanonicalTool[]>(event.request.tools) : null,
    toolChoice: event.request.toolChoice,
    responseFormat: event.request.responseFormat,
    sampling: tape.blob(event.request.sampling),
    stream: event.request.stream,
  });
}

/** The blobs recordedComparable reads. */
export function recordedRequestRefs(event: ModelEvent): string[] {
  return [event.request.messages, event.request.sampling, ...(event.request.tools ? [event.request.tools] : [])];
}

/**
 * For a tape recorded before RecorderFlag.WideRedaction (see old-redaction.ts): whether the
 * recorded request and the replayed comparable one are the same once both are redacted by today's
 * rules. The recorded request must still be the one its hash was taken over: a tape whose hash
 * was changed stays a divergence. Its blobs must be loaded.
 */
export function sameRedactedToday(tape: LoadedTape, recorded: ModelEvent, comparable: Record<string, unknown>, redactor: Redactor): boolean {
  const recordedRequest = recordedComparable(tape, recorded);
  return (
    createBlob(recordedRequest).hash === recorded.requestHash &&
    createBlob(redactor.value(recordedRequest)).hash === createBlob(redactor.value(comparable)).hash
  );
}

/**
 * A model request about to be sent, against the recorded one. The bytes the tape holds, sent
 * again, are the recorded call: no canonicalising needed (checked by their digest, or piece by
 * piece on tapes without one). Any other text is judged by the canonical request, which ignores
 * key order and call ids: returned for the caller to hash against `recorded.requestHash` (and to
 * diff). Undefined when the bytes matched. `url` is where the request is going (the recorded
 * URL when not given): a format may read the model from its path.
 */
export function comparableIfNotSameBytes(
  tape: LoadedTape,
  recorded: ModelEvent,
  format: WireFormat,
  requestText: string,
  redactor: Redactor,
  url: string = recorded.wire.url,
): Record<string, unknown> | undefined {
  const recordedHash = recorded.wire.requestBodyHash;
  const matches = (text: string) =>
    recordedHash === undefined ? tape.wireRequestMatches(recorded.wire.requestBody, text) : requestBodyHash(text) === recordedHash;
  // Gemini names the model in the URL, not the body: the same body sent to another model is another request.
  const sameModel = format.id !== 'gemini' || parseGeminiPath(url)?.model === recorded.request.model;
  if (sameModel && matches(requestText)) return undefined;
  const redacted = redactRequestBody(redactor, requestText, JSON.parse(requestText));
  if (sameModel && matches(redacted.text)) return undefined;
  return comparableRequest(format.convertToCanonicalRequest(redacted.body, url));
}
