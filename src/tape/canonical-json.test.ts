import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json.ts';
import { hashJson } from './hash.ts';

describe('canonicalJson', () => {
  it.each([
    [{ b: 1, a: [true, null, 'x'] }, '{"a":[true,null,"x"],"b":1}'],
    [{ z: { y: 2, x: 1 } }, '{"z":{"x":1,"y":2}}'],
    [{ a: undefined, b: 1 }, '{"b":1}'],
    ['é\n"', '"é\\n\\""'],
    [1e21, '1e+21'],
    [-0.5, '-0.5'],
    [[], '[]'],
  ])('%j → %s', (value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
  });

  it('gives equal JSON values the same hash whatever their key order', () => {
    expect(hashJson({ a: 1, b: { c: [1, 2] } })).toBe(hashJson({ b: { c: [1, 2] }, a: 1 }));
    expect(hashJson({ a: 1 })).not.toBe(hashJson({ a: 2 }));
  });

  it.each([[Number.NaN], [Number.POSITIVE_INFINITY], [[undefined]], [10n]])('refuses %s, which has no JSON form', (value) => {
    expect(() => canonicalJson(value)).toThrow(TypeError);
  });

  it('uses toJSON, so dates become ISO strings', () => {
    expect(canonicalJson({ at: new Date(0) })).toBe('{"at":"1970-01-01T00:00:00.000Z"}');
  });
});
