import { describe, expect, it } from 'vitest';
import { DIVERGENCE_CODES, DIVERGENCE_TITLES } from './divergence.ts';
import { diffJson } from './json-diff.ts';

describe('divergence codes', () => {
  it('every code has a title people read (the CLI prints it; the UI will show it)', () => {
    for (const code of DIVERGENCE_CODES) expect(DIVERGENCE_TITLES[code]?.length).toBeGreaterThan(10);
    expect(Object.keys(DIVERGENCE_TITLES).sort()).toEqual([...DIVERGENCE_CODES].sort());
  });
});

describe('diffJson', () => {
  it('names each differing field by path', () => {
    expect(diffJson({ a: 1, b: [1, { c: 'x' }] }, { a: 1, b: [1, { c: 'y' }], d: true })).toEqual([
      { path: 'b[1].c', expected: 'x', received: 'y' },
      { path: 'd', expected: '(absent)', received: true },
    ]);
  });

  it('cuts long strings around their first difference', () => {
    const long = 'policy '.repeat(100);
    const [difference] = diffJson({ text: `${long}A` }, { text: `${long}B` });
    expect(String(difference?.expected).length).toBeLessThan(80);
    expect(String(difference?.expected)).toMatch(/^….*A$/);
    expect(String(difference?.received)).toMatch(/B$/);
  });

  it('finds nothing in equal values', () => {
    expect(diffJson({ a: [1, 2], b: null }, { b: null, a: [1, 2] })).toEqual([]);
  });
});
