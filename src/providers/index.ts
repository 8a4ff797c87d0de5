export { anthropicMessagesWireFormat } from './anthropic-messages/index.ts';
export { detectWireFormat, detectWireFormatFromText, wireFormats } from './detect-wire-format.ts';
export { geminiWireFormat, parseGeminiPath } from './gemini/index.ts';
export { openaiChatWireFormat } from './openai-chat/index.ts';
export { openaiResponsesWireFormat } from './openai-responses/index.ts';
export { parseSse, type SseEvent } from './parse-sse.ts';
export type { CanonicalRequestDraft, SamplingValue, WireFormat, WireFormatId } from './wire-format.ts';
