import { describe, expect, it } from 'vitest';
import { WIRE_MESSAGES_PLACEHOLDER as MESSAGES, renderWireBody, WIRE_SYSTEM_PLACEHOLDER as SYSTEM, type WireBody, wireBodyMatches } from './wire-body.ts';

/** The rendering rule written the obvious way, as the oracle: substitute messages, then system. */
function oracle(template: string, messages: string[] | null, system: string | null): string {
  let out = template;
  if (messages) out = out.replace(MESSAGES, () => `[${messages.join(',')}]`);
  if (system !== null) out = out.replace(SYSTEM, () => system);
  return out;
}

function body(template: string, messages: string[] | null, system: string | null) {
  const parts = new Map<string, string>([['t', template]]);
  for (const [index, message] of (messages ?? []).entries()) parts.set(`m${index}`, message);
  if (system !== null) parts.set('s', system);
  const wire: WireBody = { kind: 'json-template', template: 't', messages: messages ? 'list' : null, system: system === null ? null : 's' };
  const text = (ref: string) => parts.get(ref) as string;
  const list = () => (messages ?? []).map((_, index) => `m${index}`);
  return { wire, text, list };
}

const user = '{"role":"user","content":"hi"}';
const assistant = '{"role":"assistant","content":"hello"}';
const cases: Array<[string, string, string[] | null, string | null]> = [
  ['messages only', `{"model":"m","messages":${MESSAGES},"stream":false}`, [user, assistant], null],
  ['no messages in the list', `{"messages":${MESSAGES}}`, [], null],
  ['system after messages', `{"messages":${MESSAGES},"system":${SYSTEM}}`, [user], '"Be brief."'],
  ['system before messages', `{"system":${SYSTEM},"messages":${MESSAGES}}`, [user, assistant], '"Be brief."'],
  ['system only', `{"system":${SYSTEM},"max_tokens":5}`, null, '[{"type":"text","text":"x"}]'],
  ['a message that quotes the system placeholder', `{"messages":${MESSAGES},"system":${SYSTEM}}`, [`{"role":"user","content":${SYSTEM}}`], '"S"'],
  ['the placeholder text also in another field before', `{"note":${MESSAGES},"messages":${MESSAGES}}`, [user], null],
  ['template without the messages placeholder', '{"prompt":"x"}', [user], null],
];

describe('wire bodies render the exact request text', () => {
  it.each(cases)('%s', (_name, template, messages, system) => {
    const { wire, text, list } = body(template, messages, system);
    const expected = oracle(template, messages, system);
    expect(renderWireBody(wire, text, list)).toBe(expected);
  });

  it.each(cases)('matches exactly its own text, and nothing one character off: %s', (_name, template, messages, system) => {
    const { wire, text, list } = body(template, messages, system);
    const expected = oracle(template, messages, system);
    expect(wireBodyMatches(wire, expected, text, list)).toBe(true);
    expect(wireBodyMatches(wire, `${expected} `, text, list)).toBe(false);
    expect(wireBodyMatches(wire, expected.slice(0, -1), text, list)).toBe(false);
    const middle = Math.floor(expected.length / 2);
    expect(wireBodyMatches(wire, `${expected.slice(0, middle)}#${expected.slice(middle + 1)}`, text, list)).toBe(false);
    expect(wireBodyMatches(wire, '', text, list)).toBe(false);
  });

  it('a text body is itself', () => {
    const wire: WireBody = { kind: 'text', text: 'not json at all' };
    expect(renderWireBody(wire, String, () => [])).toBe('not json at all');
  });
});
