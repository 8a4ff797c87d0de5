import { describe, expect, it } from 'vitest';
import { createRedactor } from './redaction.ts';

const redactor = createRedactor({
  salt: 'pepper',
  rules: [
    { name: 'email', pattern: /[\w.+-]+@[\w-]+\.[\w.]+/g },
    { name: 'phone', field: 'phone' },
  ],
});

describe('redaction', () => {
  it('drops credential headers and keeps the rest', () => {
    const headers = redactor.headers(
      Object.entries({
        Authorization: 'Bearer sk-live-123',
        'x-api-key': 'k',
        'X-Goog-Api-Key': 'g',
        Cookie: 'a=b',
        'content-type': 'application/json',
        'x-stainless-retry-count': '0',
      }),
    );
    expect(headers).toEqual({ 'content-type': 'application/json', 'x-stainless-retry-count': '0' });
  });

  it('applies a rule to the text between existing tokens, where an anchored pattern can match', () => {
    const pins = createRedactor({
      salt: 'pepper',
      rules: [
        { name: 'email', pattern: /[\w.+-]+@[\w-]+\.[\w.]+/g },
        { name: 'pin', pattern: /^\d{4}/ },
      ],
    });
    const once = pins.text('ana@example.com');
    const twice = pins.text(`${once}1234`);
    expect(twice.startsWith(once)).toBe(true);
    expect(twice).toMatch(/\[redacted:pin:[0-9a-f]{12}\]$/);
    expect(pins.text(twice)).toBe(twice);
  });

  it('hides credential query parameters and userinfo in URLs', () => {
    expect(redactor.url('https://u:p@api.example.com/v1/chat?api-key=secret&x=1')).toBe('https://api.example.com/v1/chat?api-key=%5Bredacted%5D&x=1');
    expect(redactor.url('http://127.0.0.1:1/v1/chat/completions')).toBe('http://127.0.0.1:1/v1/chat/completions');
  });

  it('replaces PII with a salted hash token, the same for the same value', () => {
    const once = redactor.value({ message: 'mail me at ann@example.com or ann@example.com', phone: '+1 555 0100' });
    expect(once.message).not.toContain('ann@example.com');
    const tokens = once.message.match(/\[redacted:email:[0-9a-f]{12}\]/g);
    expect(tokens).toHaveLength(2);
    expect(tokens?.[0]).toBe(tokens?.[1]);
    expect(once.phone).toMatch(/^\[redacted:phone:[0-9a-f]{12}\]$/);
  });

  it('is idempotent', () => {
    const once = redactor.value({ message: 'ann@example.com', phone: '555', nested: [{ phone: 1 }] });
    expect(redactor.value(once)).toEqual(once);
    expect(redactor.text(redactor.text('x bob@example.org y'))).toBe(redactor.text('x bob@example.org y'));
  });

  it('depends on the salt, so tokens cannot be matched across installations', () => {
    const other = createRedactor({ salt: 'other', rules: [{ name: 'email', pattern: /[\w.+-]+@[\w-]+\.[\w.]+/g }] });
    expect(other.text('ann@example.com')).not.toBe(redactor.text('ann@example.com'));
  });
});
