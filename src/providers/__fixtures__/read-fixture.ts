import { readFileSync } from 'node:fs';

/** Reads a fixture file as text, resolved against the test file's own `__fixtures__` folder. */
export function readFixture(testFileUrl: string, name: string): string {
  return readFileSync(new URL(`./__fixtures__/${name}`, testFileUrl), 'utf8');
}

/** Reads and parses a JSON fixture; a fresh object each call, so tests cannot leak edits. */
export function readJsonFixture(testFileUrl: string, name: string): unknown {
  return JSON.parse(readFixture(testFileUrl, name));
}
