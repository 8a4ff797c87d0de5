import type { FinishReason } from '../../tape/index.ts';

/**
 * Maps Gemini's `finishReason` to the unified set. Gemini answers STOP also when the answer holds
 * function calls, so the caller says whether it did: such an answer is 'tool-calls', as with the
 * other providers.
 */
export function mapGeminiFinishReason(finishReason: string | null | undefined, hasFunctionCalls: boolean): FinishReason['unified'] {
  switch (finishReason) {
    case 'STOP':
      return hasFunctionCalls ? 'tool-calls' : 'stop';
    case 'MAX_TOKENS':
      return 'length';
    case 'SAFETY':
    case 'RECITATION':
    case 'BLOCKLIST':
    case 'PROHIBITED_CONTENT':
    case 'SPII':
    case 'IMAGE_SAFETY':
      return 'content-filter';
    case 'MALFORMED_FUNCTION_CALL':
    case 'UNEXPECTED_TOOL_CALL':
      return 'error';
    default:
      return hasFunctionCalls ? 'tool-calls' : 'other';
  }
}
