import { describe, expect, it } from 'vitest';
import { parseIntegerOption, parseRate } from './parse-options.ts';

describe('command-line numbers', () => {
  it('takes whole numbers written as digits, within bounds, and refuses anything else with the flag named', () => {
    expect(parseIntegerOption(undefined, '-n')).toBeUndefined();
    expect(parseIntegerOption('12', '--step')).toBe(12);
    expect(parseIntegerOption('0', '--step')).toBe(0);
    for (const text of ['', ' 4 ', '1e2', '0x14', '1.5', '-3', 'abc', '99999999999999999999'])
      expect(() => parseIntegerOption(text, '--step'), text).toThrow(/^--step must be a whole number from 0 to \d+, not ".*"\.$/);
    expect(() => parseIntegerOption('0', '-n', { min: 1 })).toThrow('-n must be a whole number from 1 to');
    expect(() => parseIntegerOption('11', '--concurrency', { max: 10 })).toThrow('from 0 to 10');
  });

  it('reads a rate per second or per minute', () => {
    expect(parseRate('5')).toBe(5);
    expect(parseRate('50/s')).toBe(50);
    expect(parseRate('300/min')).toBe(5);
    expect(() => parseRate('abc')).toThrow('--rate "abc" must look like 50/s or 3000/min');
    expect(() => parseRate('0')).toThrow();
  });
});
