/**
 * Canonical JSON: object keys sorted by UTF-16 code unit, no insignificant whitespace, numbers as
 * JavaScript prints them (the same rule as RFC 8785 for finite numbers). Two values that are equal
 * as JSON always give the same string, so hashes of this string identify content.
 *
 * `undefined` object members are omitted (as JSON.stringify does); non-finite numbers, `undefined`
 * inside arrays, bigint and functions are refused because they have no JSON form.
 */
export function canonicalJson(value: unknown): string {
  return write(value);
}

function write(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} has no JSON form; store it as a string.`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          const item = value[i];
          if (item === undefined) throw new TypeError('canonicalJson: undefined inside an array has no JSON form; use null.');
          out += (i === 0 ? '' : ',') + write(item);
        }
        return `${out}]`;
      }
      const toJSON = (value as { toJSON?: () => unknown }).toJSON;
      if (typeof toJSON === 'function') return write(toJSON.call(value));
      const keys = Object.keys(value).sort();
      let out = '{';
      let first = true;
      for (const key of keys) {
        const member = (value as Record<string, unknown>)[key];
        if (member === undefined) continue;
        out += `${first ? '' : ','}${JSON.stringify(key)}:${write(member)}`;
        first = false;
      }
      return `${out}}`;
    }
    default:
      throw new TypeError(`canonicalJson: a ${typeof value} has no JSON form.`);
  }
}
