import type { FinishReason } from '../../tape/index.ts';

/** Maps OpenAI's `finish_reason` to the unified set; the raw value is kept beside it by callers. */
export function mapOpenaiChatFinishReason(finishReason: string | null | undefined): FinishReason['unified'] {
  switch (finishReason) {
    case 'stop':
      return 'stop';
    case 'length':
      return 'length';
    case 'tool_calls':
    case 'function_call':
      return 'tool-calls';
    case 'content_filter':
      return 'content-filter';
    default:
      return 'other';
  }
}
