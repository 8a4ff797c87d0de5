import type { LoadedTape } from '../inspect/index.ts';
import type { WireFormat } from '../providers/index.ts';
import { comparableRequest, type Redactor, redactRequestBody } from '../record/index.ts';
import { type ModelEvent, requestBodyHash } from '../tape/index.ts';

/**
 * A model request about to be sent, against the recorded one. The bytes the tape holds, sent
 * again, are the recorded call: no canonicalising needed (checked by their digest, or piece by
 * piece on tapes without one). Any other text is judged by the canonical request, which ignores
 * key order and call ids: returned for the caller to hash against `recorded.requestHash` (and to
 * diff). Undefined when the bytes matched.
 */
export function comparableIfNotSameBytes(
  tape: LoadedTape,
  recorded: ModelEvent,
  format: WireFormat,
  requestText: string,
  redactor: Redactor,
): Record<string, unknown> | undefined {
  const recordedHash = recorded.wire.requestBodyHash;
  const matches = (text: string) =>
    recordedHash === undefined ? tape.wireRequestMatches(recorded.wire.requestBody, text) : requestBodyHash(text) === recordedHash;
  if (matches(requestText)) return undefined;
  const redacted = redactRequestBody(redactor, requestText, JSON.parse(requestText));
  if (matches(redacted.text)) return undefined;
  return comparableRequest(format.convertToCanonicalRequest(redacted.body));
}
