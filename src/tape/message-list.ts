import type { z } from 'zod';
import { lazySchema } from './lazy-schema.ts';

/**
 * An ordered list of message blob refs, stored as a blob that extends an earlier list. A tool
 * loop sends the same conversation again plus one or two new messages each step; chaining each
 * step's list to the previous one keeps a 20-step run at O(new messages) refs, not O(N^2).
 */
export const messageListSchema = lazySchema((z) =>
  z.object({
    kind: z.literal('message-list'),
    /** Ref of the list this one extends, or null for a list that starts from scratch. */
    prefix: z.string().nullable(),
    /** Refs of the messages after the prefix, in order. */
    messages: z.array(z.string()),
  }),
);
export type MessageList = z.infer<ReturnType<typeof messageListSchema>>;

export function isMessageList(value: unknown): value is MessageList {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'message-list';
}

/** Expands a list ref into the full ordered refs, following prefixes. */
export function resolveMessageList(ref: string, blob: (ref: string) => unknown): string[] {
  const chunks: string[][] = [];
  let current: string | null = ref;
  for (let depth = 0; current !== null; depth++) {
    if (depth > 100_000) throw new TypeError('resolveMessageList: prefix chain too long or cyclic');
    const list = blob(current);
    if (!isMessageList(list)) throw new TypeError(`resolveMessageList: blob ${current.slice(0, 12)}… is not a message list`);
    chunks.push(list.messages);
    current = list.prefix;
  }
  return chunks.reverse().flat();
}
