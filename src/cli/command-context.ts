import { openStore, type Store } from '../store/index.ts';

/** Options every command takes. */
export interface GlobalOptions {
  db?: string;
  json?: boolean;
}

/**
 * Opens the store a command works on and closes it when the command is done. The store must
 * exist unless `create` is set (import): a mistyped --db is an error, not an empty store.
 * `readonly` (verify) opens it without writing anything, so a read-only copy can be checked.
 */
export async function withStore<T>(
  options: GlobalOptions,
  fn: (store: Store) => Promise<T>,
  { create = false, readonly = false }: { create?: boolean; readonly?: boolean } = {},
): Promise<T> {
  const store = await openStore(options.db, { create, readonly });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Prints `value` as JSON with --json, otherwise the text `render` makes of it. */
export function output<T>(options: GlobalOptions, value: T, render: (value: T) => string): void {
  if (options.json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  else process.stdout.write(`${render(value)}\n`);
}
