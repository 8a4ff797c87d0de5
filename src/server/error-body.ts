import type { CollectorErrorBody } from '../record/index.ts';

/** The JSON every error answer has: a code to branch on and one line saying what was wrong. */
export function errorBody(code: string, message: string, extra: Omit<CollectorErrorBody, 'error'> & { issues?: string[] } = {}): CollectorErrorBody {
  const { issues, ...rest } = extra;
  return { error: { code, message, ...(issues ? { issues } : {}) }, ...rest };
}
