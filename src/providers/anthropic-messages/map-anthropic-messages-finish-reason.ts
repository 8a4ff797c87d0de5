import type { FinishReason } from '../../tape/index.ts';

/** Maps Anthropic's `stop_reason` to the unified set; the raw value is kept beside it by callers. */
export function mapAnthropicMessagesFinishReason(stopReason: string | null | undefined): FinishReason['unified'] {
  switch (stopReason) {
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool-calls';
    case 'refusal':
      return 'content-filter';
    default:
      // Includes 'pause_turn': a long server-tool turn the caller must continue.
      return 'other';
  }
}
