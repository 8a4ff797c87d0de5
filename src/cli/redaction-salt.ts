import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UsageError } from './exit-codes.ts';

/** The redaction salt lives next to the database (or in RETRIAL_REDACTION_SALT), never inside it. */
export function saltPath(databasePath: string): string {
  return join(dirname(databasePath), 'redaction-salt');
}

export async function loadOrCreateSalt(databasePath: string): Promise<string> {
  if (process.env.RETRIAL_REDACTION_SALT) return process.env.RETRIAL_REDACTION_SALT;
  const path = saltPath(databasePath);
  if (existsSync(path)) return (await readFile(path, 'utf8')).trim();
  const salt = randomBytes(16).toString('hex');
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${salt}\n`, { mode: 0o600 });
  return salt;
}

export async function loadSalt(databasePath: string): Promise<string> {
  if (process.env.RETRIAL_REDACTION_SALT) return process.env.RETRIAL_REDACTION_SALT;
  const path = saltPath(databasePath);
  if (existsSync(path)) return (await readFile(path, 'utf8')).trim();
  throw new UsageError(`No redaction salt: set RETRIAL_REDACTION_SALT or keep the redaction-salt file that recording wrote next to the database (${path}).`);
}
