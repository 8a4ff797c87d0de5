import { anthropicMessagesWireFormat } from './anthropic-messages/index.ts';
import { openaiChatWireFormat } from './openai-chat/index.ts';
import type { WireFormat } from './wire-format.ts';

/** Every wire format retrial records, in the order requests are tested against them. */
export const wireFormats: WireFormat[] = [openaiChatWireFormat, anthropicMessagesWireFormat];

/**
 * The wire format of a request, or undefined when it is not a model call retrial understands
 * (the recorder then passes it through untouched). Matching looks at the path and body only,
 * never the host, so proxies and self-hosted compatible servers are recorded too.
 */
export function detectWireFormat(url: URL, body: unknown): WireFormat | undefined {
  return wireFormats.find((wireFormat) => wireFormat.matchesRequest(url, body));
}
