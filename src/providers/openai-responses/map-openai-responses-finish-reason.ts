import type { FinishReason } from '../../tape/index.ts';

/**
 * The Responses API has no finish reason: a response has a `status`, an `incomplete_details.reason`
 * when it stopped early, and function calls among its output items. This is the finish reason
 * those add up to, and the raw value callers keep beside it: the incomplete reason when there is
 * one, the status otherwise.
 */
export function mapOpenaiResponsesFinishReason(
  status: string | null | undefined,
  incompleteReason: string | null | undefined,
  hasToolCalls: boolean,
): { unified: FinishReason['unified']; raw: string | null } {
  const raw = incompleteReason ?? status ?? null;
  switch (status) {
    case 'completed':
      return { unified: hasToolCalls ? 'tool-calls' : 'stop', raw };
    case 'incomplete':
      if (incompleteReason === 'max_output_tokens') return { unified: 'length', raw };
      if (incompleteReason === 'content_filter') return { unified: 'content-filter', raw };
      return { unified: 'other', raw };
    case 'failed':
      return { unified: 'error', raw };
    default:
      return { unified: 'other', raw };
  }
}
