import type { z } from 'zod';
import { lazySchema } from '../../tape/index.ts';

/**
 * Zod schemas of the Anthropic Messages wire format: only the fields retrial reads are declared,
 * and every object is loose, so new block types and fields pass through untouched.
 */

/** A content block (`text`, `image`, `tool_use`, `tool_result`, `thinking`, `document`, ...). */
export const anthropicMessagesBlockSchema = lazySchema((z) => z.looseObject({ type: z.string() }));
export type AnthropicMessagesBlock = z.infer<ReturnType<typeof anthropicMessagesBlockSchema>>;

export const anthropicMessagesMessageSchema = lazySchema((z) =>
  z.looseObject({
    role: z.enum(['user', 'assistant']),
    content: z.union([z.string(), z.array(anthropicMessagesBlockSchema())]),
  }),
);
export type AnthropicMessagesMessage = z.infer<ReturnType<typeof anthropicMessagesMessageSchema>>;

export const anthropicMessagesToolSchema = lazySchema((z) =>
  z.looseObject({
    /** Absent or 'custom' for client tools; a dated type such as 'web_search_20250305' for server tools. */
    type: z.string().nullish(),
    name: z.string(),
    description: z.string().optional(),
    input_schema: z.unknown().optional(),
  }),
);

export const anthropicMessagesRequestSchema = lazySchema((z) =>
  z.looseObject({
    model: z.string(),
    max_tokens: z.number(),
    messages: z.array(anthropicMessagesMessageSchema()),
    system: z.union([z.string(), z.array(anthropicMessagesBlockSchema())]).optional(),
    tools: z.array(anthropicMessagesToolSchema()).optional(),
    tool_choice: z.looseObject({ type: z.string(), name: z.string().optional(), disable_parallel_tool_use: z.boolean().optional() }).optional(),
    output_config: z.looseObject({ effort: z.string().nullish(), format: z.unknown().optional() }).optional(),
    stream: z.boolean().optional(),
  }),
);
export type AnthropicMessagesRequest = z.infer<ReturnType<typeof anthropicMessagesRequestSchema>>;

export const anthropicMessagesUsageSchema = lazySchema((z) =>
  z.looseObject({
    input_tokens: z.number(),
    output_tokens: z.number(),
    cache_creation_input_tokens: z.number().nullish(),
    cache_read_input_tokens: z.number().nullish(),
  }),
);

export const anthropicMessagesResponseSchema = lazySchema((z) =>
  z.looseObject({
    id: z.string(),
    type: z.literal('message'),
    role: z.literal('assistant'),
    model: z.string(),
    content: z.array(anthropicMessagesBlockSchema()),
    /** Null only in a stream's `message_start`; always set on a finished message. */
    stop_reason: z.string().nullable(),
    stop_sequence: z.string().nullish(),
    usage: anthropicMessagesUsageSchema(),
  }),
);
export type AnthropicMessagesResponse = z.infer<ReturnType<typeof anthropicMessagesResponseSchema>>;

/** The events of a Messages stream. `ping` carries nothing; unknown event types are skipped. */
export const anthropicMessagesStreamEventSchema = lazySchema((z) =>
  z.discriminatedUnion('type', [
    z.looseObject({ type: z.literal('message_start'), message: anthropicMessagesResponseSchema() }),
    z.looseObject({ type: z.literal('content_block_start'), index: z.number(), content_block: anthropicMessagesBlockSchema() }),
    z.looseObject({
      type: z.literal('content_block_delta'),
      index: z.number(),
      /** `text_delta`, `input_json_delta` (`partial_json`), `thinking_delta`, `signature_delta`, `citations_delta`. */
      delta: z.looseObject({ type: z.string() }),
    }),
    z.looseObject({ type: z.literal('content_block_stop'), index: z.number() }),
    z.looseObject({
      type: z.literal('message_delta'),
      delta: z.looseObject({ stop_reason: z.string().nullish(), stop_sequence: z.string().nullish() }),
      /** Cumulative totals; fields that don't apply are null or absent. */
      usage: z.record(z.string(), z.unknown()),
    }),
    z.looseObject({ type: z.literal('message_stop') }),
    z.looseObject({ type: z.literal('ping') }),
    z.looseObject({ type: z.literal('error'), error: z.looseObject({ type: z.string(), message: z.string() }) }),
  ]),
);
export type AnthropicMessagesStreamEvent = z.infer<ReturnType<typeof anthropicMessagesStreamEventSchema>>;
