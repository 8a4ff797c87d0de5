import { anthropicMessagesWireFormat } from './anthropic-messages/index.ts';
import { geminiWireFormat } from './gemini/index.ts';
import { openaiChatWireFormat } from './openai-chat/index.ts';
import { openaiResponsesWireFormat } from './openai-responses/index.ts';
import type { WireFormat } from './wire-format.ts';

/** Every wire format retrial records, in the order requests are tested against them. */
export const wireFormats: WireFormat[] = [openaiChatWireFormat, anthropicMessagesWireFormat, openaiResponsesWireFormat, geminiWireFormat];

/**
 * The wire format of a request, or undefined when it is not a model call retrial understands
 * (the recorder then passes it through untouched). Matching looks at the path and body only,
 * never the host, so proxies and self-hosted compatible servers are recorded too.
 */
export function detectWireFormat(url: URL, body: unknown): WireFormat | undefined {
  return wireFormats.find((wireFormat) => wireFormat.matchesRequest(url, body));
}

/**
 * The same decision from the raw request, without parsing the body: the recorder takes it on the
 * caller's path, where a JSON.parse of a 16 KB body would be most of its cost. The full parse
 * happens later, off that path, and a body that turns out not to match is recorded as plain HTTP.
 */
export function detectWireFormatFromText(url: string, bodyText: string): WireFormat | undefined {
  if (bodyText.charCodeAt(0) !== 123 /* { */) return undefined;
  const queryAt = url.indexOf('?');
  const path = (queryAt === -1 ? url : url.slice(0, queryAt)).replace(/\/+$/, '');
  if (path.endsWith('/chat/completions')) return openaiChatWireFormat;
  if (path.endsWith('/messages') && bodyText.includes('"messages"') && bodyText.includes('"max_tokens"')) return anthropicMessagesWireFormat;
  if (path.endsWith('/responses') && bodyText.includes('"model"')) return openaiResponsesWireFormat;
  if ((path.endsWith(':generateContent') || path.endsWith(':streamGenerateContent')) && bodyText.includes('"contents"')) return geminiWireFormat;
  return undefined;
}
