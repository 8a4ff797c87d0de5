import { describe, expect, it } from 'vitest';
import { RetrialError } from '../tape/index.ts';
import { asUserError, ExitCode, exitCodeForError } from './exit-codes.ts';
import { parseDuration } from './parse-options.ts';

const systemError = (code: string, syscall: string, path: string) => Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, syscall, path });

describe('asUserError', () => {
  it('turns a file-system error a user caused into one line with a documented exit code', () => {
    const missing = asUserError(systemError('ENOENT', 'open', '/nope/x.csv'));
    expect(RetrialError.isInstance(missing) && missing.message).toBe('Cannot open /nope/x.csv: no such file or directory.');
    expect(exitCodeForError(missing)).toBe(ExitCode.notFound);
    expect(exitCodeForError(asUserError(systemError('ENOSPC', 'write', '/full/x.db')))).toBe(ExitCode.store);
  });

  it('turns a stack overflow into a malformed-input error, and leaves other failures internal', () => {
    let overflow: unknown;
    const recurse = (depth: number): number => recurse(depth + 1) + 1;
    try {
      recurse(0);
    } catch (error) {
      overflow = error;
    }
    expect(exitCodeForError(asUserError(overflow))).toBe(ExitCode.badInput);
    const bug = new TypeError('x is undefined');
    expect(asUserError(bug)).toBe(bug);
    expect(exitCodeForError(asUserError(systemError('ECONNRESET', 'read', '')))).toBe(ExitCode.internal);
  });
});

describe('parseDuration', () => {
  it('reads ms, s, m and h, a bare number as seconds, and refuses anything else', () => {
    expect([
      parseDuration('500ms', '--t'),
      parseDuration('60s', '--t'),
      parseDuration('2m', '--t'),
      parseDuration('1h', '--t'),
      parseDuration('90', '--t'),
    ]).toEqual([500, 60_000, 120_000, 3_600_000, 90_000]);
    for (const bad of ['', 'soon', '-1s', '0', '1d']) expect(() => parseDuration(bad, '--t')).toThrow(/--t ".*" must be a positive duration/);
  });
});
