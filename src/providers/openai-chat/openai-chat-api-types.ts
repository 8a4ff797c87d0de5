import type { z } from 'zod';
import { lazySchema } from '../../tape/index.ts';

/**
 * Zod schemas of the OpenAI chat completions wire format: only the fields retrial reads are
 * declared, and every object is loose, so fields OpenAI adds later (or that compatible servers
 * add) pass through untouched instead of failing a recording.
 */

/** A content part (`text`, `image_url`, `input_audio`, `file`, `refusal`, ...). */
export const openaiChatContentPartSchema = lazySchema((z) => z.looseObject({ type: z.string() }));
const contentSchema = lazySchema((z) => z.union([z.string(), z.array(openaiChatContentPartSchema())]));

export const openaiChatToolCallSchema = lazySchema((z) =>
  z.looseObject({
    id: z.string(),
    type: z.string(),
    /** Present for `type: 'function'`; `arguments` is the model's JSON text, not always valid JSON. */
    function: z.looseObject({ name: z.string(), arguments: z.string() }).optional(),
    /** Present for `type: 'custom'` (free-form tools). */
    custom: z.looseObject({ name: z.string(), input: z.string() }).optional(),
  }),
);
export type OpenaiChatToolCall = z.infer<ReturnType<typeof openaiChatToolCallSchema>>;

export const openaiChatMessageSchema = lazySchema((z) =>
  z.discriminatedUnion('role', [
    z.looseObject({ role: z.enum(['system', 'developer']), content: contentSchema(), name: z.string().optional() }),
    z.looseObject({ role: z.literal('user'), content: contentSchema(), name: z.string().optional() }),
    z.looseObject({
      role: z.literal('assistant'),
      content: contentSchema().nullish(),
      refusal: z.string().nullish(),
      tool_calls: z.array(openaiChatToolCallSchema()).nullish(),
      name: z.string().optional(),
    }),
    z.looseObject({ role: z.literal('tool'), content: contentSchema(), tool_call_id: z.string() }),
    /** Deprecated predecessor of `tool`. */
    z.looseObject({ role: z.literal('function'), content: z.string().nullable(), name: z.string() }),
  ]),
);
export type OpenaiChatMessage = z.infer<ReturnType<typeof openaiChatMessageSchema>>;

export const openaiChatToolSchema = lazySchema((z) =>
  z.looseObject({
    type: z.string(),
    function: z
      .looseObject({
        name: z.string(),
        description: z.string().optional(),
        parameters: z.unknown().optional(),
        strict: z.boolean().nullish(),
      })
      .optional(),
    custom: z.looseObject({ name: z.string(), description: z.string().optional() }).optional(),
  }),
);

export const openaiChatRequestSchema = lazySchema((z) =>
  z.looseObject({
    model: z.string(),
    messages: z.array(openaiChatMessageSchema()),
    tools: z.array(openaiChatToolSchema()).nullish(),
    tool_choice: z.unknown().optional(),
    response_format: z.unknown().optional(),
    stream: z.boolean().nullish(),
  }),
);
export type OpenaiChatRequest = z.infer<ReturnType<typeof openaiChatRequestSchema>>;

export const openaiChatUsageSchema = lazySchema((z) =>
  z.looseObject({
    prompt_tokens: z.number(),
    completion_tokens: z.number(),
    total_tokens: z.number(),
  }),
);

export const openaiChatResponseSchema = lazySchema((z) =>
  z.looseObject({
    id: z.string(),
    object: z.string().optional(),
    created: z.number(),
    model: z.string(),
    choices: z.array(
      z.looseObject({
        index: z.number(),
        message: z.looseObject({
          role: z.string(),
          content: z.string().nullish(),
          refusal: z.string().nullish(),
          tool_calls: z.array(openaiChatToolCallSchema()).nullish(),
        }),
        finish_reason: z.string().nullable(),
        logprobs: z.unknown().optional(),
      }),
    ),
    usage: openaiChatUsageSchema().nullish(),
    system_fingerprint: z.string().nullish(),
    service_tier: z.string().nullish(),
  }),
);
export type OpenaiChatResponse = z.infer<ReturnType<typeof openaiChatResponseSchema>>;

/** One `chat.completion.chunk` of a stream. Tool calls arrive as fragments keyed by `index`. */
export const openaiChatChunkSchema = lazySchema((z) =>
  z.looseObject({
    id: z.string(),
    created: z.number(),
    model: z.string(),
    choices: z.array(
      z.looseObject({
        index: z.number(),
        delta: z.looseObject({
          role: z.string().nullish(),
          content: z.string().nullish(),
          refusal: z.string().nullish(),
          tool_calls: z
            .array(
              z.looseObject({
                index: z.number(),
                id: z.string().nullish(),
                type: z.string().nullish(),
                function: z.looseObject({ name: z.string().nullish(), arguments: z.string().nullish() }).nullish(),
              }),
            )
            .nullish(),
        }),
        finish_reason: z.string().nullish(),
        logprobs: z.looseObject({ content: z.array(z.unknown()).nullish(), refusal: z.array(z.unknown()).nullish() }).nullish(),
      }),
    ),
    /** Null on every chunk but the last when `stream_options.include_usage` is set; absent otherwise. */
    usage: openaiChatUsageSchema().nullish(),
    system_fingerprint: z.string().nullish(),
    service_tier: z.string().nullish(),
  }),
);
export type OpenaiChatChunk = z.infer<ReturnType<typeof openaiChatChunkSchema>>;
