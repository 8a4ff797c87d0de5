import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { RetrialError } from '../tape/index.ts';

/** The redaction salt lives next to the database (or in RETRIAL_REDACTION_SALT), never inside it. */
export function saltPath(databasePath: string): string {
  return join(dirname(databasePath), 'redaction-salt');
}

export async function loadOrCreateSalt(databasePath: string): Promise<string> {
  if (process.env.RETRIAL_REDACTION_SALT) return process.env.RETRIAL_REDACTION_SALT;
  const path = saltPath(databasePath);
  if (existsSync(path)) return (await readFile(path, 'utf8')).trim();
  const salt = randomBytes(16).toString('hex');
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, `${salt}\n`, { mode: 0o600 });
  return salt;
}

/** The salt a store's recordings were redacted with; commands read it once the store has opened. */
export async function loadSalt(databasePath: string): Promise<string> {
  if (process.env.RETRIAL_REDACTION_SALT) return process.env.RETRIAL_REDACTION_SALT;
  const path = saltPath(databasePath);
  if (existsSync(path)) return (await readFile(path, 'utf8')).trim();
  throw new RetrialError({
    code: 'FILE_NOT_FOUND',
    message: `No redaction salt at ${path}. Replay needs the salt the runs were recorded with: copy the redaction-salt file from beside the recording store (e.g. .retrial/redaction-salt) to ${path}, or set RETRIAL_REDACTION_SALT.`,
  });
}
