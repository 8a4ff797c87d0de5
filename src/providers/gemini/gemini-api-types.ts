import type { z } from 'zod';
import { lazySchema } from '../../tape/index.ts';

/**
 * Zod schemas of Google's Gemini `generateContent` wire format (REST, camelCase as the
 * `@google/genai` client sends it): only the fields retrial reads are declared, and every object
 * is loose, so new part types and fields pass through untouched.
 */

/** A part: exactly one of `text`, `functionCall`, `functionResponse`, `inlineData`, `fileData`, ... */
export const geminiPartSchema = lazySchema((z) =>
  z.looseObject({
    text: z.string().optional(),
    thought: z.boolean().optional(),
    thoughtSignature: z.string().optional(),
    functionCall: z.looseObject({ name: z.string(), args: z.unknown().optional(), id: z.string().optional() }).optional(),
    functionResponse: z.looseObject({ name: z.string(), response: z.unknown().optional(), id: z.string().optional() }).optional(),
    inlineData: z.looseObject({ mimeType: z.string().optional(), data: z.string().optional() }).optional(),
    fileData: z.looseObject({ mimeType: z.string().optional(), fileUri: z.string().optional() }).optional(),
  }),
);
export type GeminiPart = z.infer<ReturnType<typeof geminiPartSchema>>;

export const geminiContentSchema = lazySchema((z) =>
  z.looseObject({
    /** 'user' or 'model'; the API treats an absent role as 'user'. */
    role: z.string().optional(),
    parts: z.array(geminiPartSchema()).default([]),
  }),
);
export type GeminiContent = z.infer<ReturnType<typeof geminiContentSchema>>;

export const geminiFunctionDeclarationSchema = lazySchema((z) =>
  z.looseObject({
    name: z.string(),
    description: z.string().optional(),
    parameters: z.unknown().optional(),
    parametersJsonSchema: z.unknown().optional(),
  }),
);

/** A tool: a list of function declarations, or a built-in tool (`googleSearch`, `codeExecution`, ...). */
export const geminiToolSchema = lazySchema((z) => z.looseObject({ functionDeclarations: z.array(geminiFunctionDeclarationSchema()).optional() }));

export const geminiRequestSchema = lazySchema((z) =>
  z.looseObject({
    contents: z.array(geminiContentSchema()),
    systemInstruction: z.union([z.string(), geminiContentSchema()]).optional(),
    tools: z.array(geminiToolSchema()).optional(),
    toolConfig: z
      .looseObject({
        functionCallingConfig: z.looseObject({ mode: z.string().optional(), allowedFunctionNames: z.array(z.string()).optional() }).optional(),
      })
      .optional(),
    generationConfig: z.record(z.string(), z.unknown()).optional(),
    safetySettings: z.unknown().optional(),
    cachedContent: z.string().optional(),
  }),
);
export type GeminiRequest = z.infer<ReturnType<typeof geminiRequestSchema>>;

export const geminiCandidateSchema = lazySchema((z) =>
  z.looseObject({
    content: z.looseObject({ role: z.string().optional(), parts: z.array(geminiPartSchema()).optional() }).optional(),
    finishReason: z.string().optional(),
    index: z.number().int().optional(),
  }),
);
export type GeminiCandidate = z.infer<ReturnType<typeof geminiCandidateSchema>>;

export const geminiUsageSchema = lazySchema((z) =>
  z.looseObject({
    promptTokenCount: z.number().optional(),
    candidatesTokenCount: z.number().optional(),
    thoughtsTokenCount: z.number().optional(),
    totalTokenCount: z.number().optional(),
  }),
);

/** A `GenerateContentResponse`; each chunk of a stream has the same shape. */
export const geminiResponseSchema = lazySchema((z) =>
  z.looseObject({
    candidates: z.array(geminiCandidateSchema()).optional(),
    usageMetadata: geminiUsageSchema().optional(),
    modelVersion: z.string().optional(),
    responseId: z.string().optional(),
    promptFeedback: z.unknown().optional(),
  }),
);
export type GeminiResponse = z.infer<ReturnType<typeof geminiResponseSchema>>;
