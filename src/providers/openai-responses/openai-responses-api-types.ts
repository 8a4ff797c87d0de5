import type { z } from 'zod';
import { lazySchema } from '../../tape/index.ts';

/**
 * Zod schemas of the OpenAI Responses wire format (`POST /v1/responses`): only the fields retrial
 * reads are declared, and every object is loose, so item types and fields OpenAI adds later pass
 * through untouched instead of failing a recording.
 */

/**
 * One input item: a message (`type` absent or 'message', with `role` and string-or-parts
 * content), a `function_call` the model made earlier, a `function_call_output`, a `reasoning`
 * item, or any other item type (kept whole).
 */
export const openaiResponsesItemSchema = lazySchema((z) => z.looseObject({ type: z.string().optional(), role: z.string().optional() }));
export type OpenaiResponsesItem = z.infer<ReturnType<typeof openaiResponsesItemSchema>>;

export const openaiResponsesToolSchema = lazySchema((z) =>
  z.looseObject({
    /** 'function' for the caller's tools; 'web_search', 'file_search', 'mcp', ... for hosted ones. */
    type: z.string(),
    name: z.string().optional(),
    description: z.string().nullish(),
    parameters: z.unknown().optional(),
    strict: z.boolean().nullish(),
  }),
);

export const openaiResponsesRequestSchema = lazySchema((z) =>
  z.looseObject({
    model: z.string(),
    input: z.union([z.string(), z.array(openaiResponsesItemSchema())]).optional(),
    instructions: z.string().nullish(),
    tools: z.array(openaiResponsesToolSchema()).nullish(),
    tool_choice: z.unknown().optional(),
    /** `text.format` is the structured-output setting; `text.verbosity` steers length. */
    text: z.looseObject({ format: z.unknown().optional(), verbosity: z.string().nullish() }).nullish(),
    stream: z.boolean().nullish(),
  }),
);
export type OpenaiResponsesRequest = z.infer<ReturnType<typeof openaiResponsesRequestSchema>>;

export const openaiResponsesUsageSchema = lazySchema((z) =>
  z.looseObject({
    input_tokens: z.number(),
    output_tokens: z.number(),
    total_tokens: z.number().optional(),
  }),
);

/** An output item: `message`, `function_call`, `reasoning`, or a hosted tool's call. */
export const openaiResponsesOutputItemSchema = lazySchema((z) => z.looseObject({ type: z.string() }));
export type OpenaiResponsesOutputItem = z.infer<ReturnType<typeof openaiResponsesOutputItemSchema>>;

export const openaiResponsesResponseSchema = lazySchema((z) =>
  z.looseObject({
    id: z.string(),
    object: z.literal('response'),
    model: z.string(),
    /** 'completed', 'incomplete', 'failed', or 'in_progress' in a stream's first events. */
    status: z.string().nullish(),
    output: z.array(openaiResponsesOutputItemSchema()),
    incomplete_details: z.looseObject({ reason: z.string().nullish() }).nullish(),
    usage: openaiResponsesUsageSchema().nullish(),
  }),
);
export type OpenaiResponsesResponse = z.infer<ReturnType<typeof openaiResponsesResponseSchema>>;

/** One event of a Responses stream; fields beyond `type` are read per type by the assembler. */
export const openaiResponsesStreamEventSchema = lazySchema((z) =>
  z.looseObject({
    type: z.string(),
    response: openaiResponsesResponseSchema().optional(),
    output_index: z.number().optional(),
    content_index: z.number().optional(),
    item: openaiResponsesOutputItemSchema().optional(),
    part: z.looseObject({ type: z.string() }).optional(),
    delta: z.string().optional(),
  }),
);
export type OpenaiResponsesStreamEvent = z.infer<ReturnType<typeof openaiResponsesStreamEventSchema>>;
