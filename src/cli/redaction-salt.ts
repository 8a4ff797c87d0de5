import { loadOrCreateRedactionSalt, loadRedactionSalt, redactionSaltPath } from '../record/index.ts';

/** The redaction salt lives next to the database (or in RETRIAL_REDACTION_SALT), never inside it; the recorder writes it. */
export function saltPath(databasePath: string): string {
  return redactionSaltPath(databasePath);
}

export async function loadOrCreateSalt(databasePath: string): Promise<string> {
  return loadOrCreateRedactionSalt(databasePath);
}

/** The salt a store's recordings were redacted with; commands read it once the store has opened. */
export async function loadSalt(databasePath: string): Promise<string> {
  return loadRedactionSalt(databasePath);
}
