import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { RetrialError } from '../tape/index.ts';
import { type FlipFacts, loadTriagePolicy, parseTriagePolicy, TriagePolicyError, type TriagePolicyProblem, triageFlip } from './triage-policy.ts';

const EXAMPLE = fileURLToPath(new URL('../../examples/triage-policy.yaml', import.meta.url));

function yaml(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

function flip(overrides: Partial<FlipFacts> = {}): FlipFacts {
  return {
    itemId: 'item-1',
    type: 'refund.category',
    from: 'approve',
    to: 'deny',
    amount: 150,
    reversible: true,
    ageDays: 10,
    reviewed: false,
    attributes: { plan: 'business', channel: 'chat' },
    ...overrides,
  };
}

/** A policy with one rule `hit` (action review) with the given `when` lines; default annotate. */
function oneRule(...whenLines: string[]) {
  return parseTriagePolicy(
    yaml('version: 1', 'default: annotate', 'rules:', '  - name: hit', '    when:', ...whenLines.map((l) => `      ${l}`), '    action: review'),
    'policy.yaml',
  );
}

function problemsOf(text: string, source = 'policy.yaml'): { error: TriagePolicyError; problems: TriagePolicyProblem[] } {
  try {
    parseTriagePolicy(text, source);
  } catch (error) {
    expect(error).toBeInstanceOf(TriagePolicyError);
    return { error: error as TriagePolicyError, problems: (error as TriagePolicyError).problems };
  }
  throw new Error('expected parseTriagePolicy to throw');
}

describe('triageFlip', () => {
  it('takes the first matching rule in file order', () => {
    const policy = parseTriagePolicy(
      yaml(
        'version: 1',
        'default: none',
        'rules:',
        '  - name: first',
        '    when: { from: approve }',
        '    action: notify',
        '  - name: second',
        '    when: { from: approve, to: deny }',
        '    action: review',
      ),
      'p.yaml',
    );
    expect(triageFlip(policy, flip())).toEqual({ action: 'notify', rule: 'first' });
    expect(triageFlip(policy, flip({ from: 'deny' }))).toEqual({ action: 'none', rule: 'default' });
  });

  it('falls back to the default when no rule matches', () => {
    const policy = oneRule('type: account.action');
    expect(triageFlip(policy, flip())).toEqual({ action: 'annotate', rule: 'default' });
  });

  it('a rule without when matches every flip', () => {
    const policy = parseTriagePolicy(yaml('version: 1', 'default: annotate', 'rules:', '  - name: all', '    action: disclose'), 'p.yaml');
    expect(triageFlip(policy, flip())).toEqual({ action: 'disclose', rule: 'all' });
    expect(triageFlip(policy, flip({ type: 'x', from: 'a', to: 'b', amount: null, attributes: {} }))).toEqual({ action: 'disclose', rule: 'all' });
  });

  it('matches from and to as a single string or a list', () => {
    const policy = oneRule('from: approve', 'to: [deny, escalate]');
    expect(triageFlip(policy, flip({ to: 'deny' })).rule).toBe('hit');
    expect(triageFlip(policy, flip({ to: 'escalate' })).rule).toBe('hit');
    expect(triageFlip(policy, flip({ to: 'none' })).rule).toBe('default');
    expect(triageFlip(policy, flip({ from: 'deny' })).rule).toBe('default');

    const listFrom = oneRule('from: [deny, escalate]');
    expect(triageFlip(listFrom, flip({ from: 'escalate' })).rule).toBe('hit');
    expect(triageFlip(listFrom, flip({ from: 'approve' })).rule).toBe('default');
  });

  it('matches type', () => {
    const policy = oneRule('type: account.action');
    expect(triageFlip(policy, flip({ type: 'account.action' })).rule).toBe('hit');
    expect(triageFlip(policy, flip({ type: 'refund.category' })).rule).toBe('default');
  });

  it('matches reversible and reviewed exactly, including false', () => {
    const irreversible = oneRule('reversible: false');
    expect(triageFlip(irreversible, flip({ reversible: false })).rule).toBe('hit');
    expect(triageFlip(irreversible, flip({ reversible: true })).rule).toBe('default');

    const unreviewed = oneRule('reviewed: false');
    expect(triageFlip(unreviewed, flip({ reviewed: false })).rule).toBe('hit');
    expect(triageFlip(unreviewed, flip({ reviewed: true })).rule).toBe('default');

    const reviewed = oneRule('reviewed: true');
    expect(triageFlip(reviewed, flip({ reviewed: true })).rule).toBe('hit');
    expect(triageFlip(reviewed, flip({ reviewed: false })).rule).toBe('default');
  });

  it('matches amount ranges with inclusive and exclusive bounds, and a null amount never matches', () => {
    const gte = oneRule('amount: { gte: 100 }');
    expect(triageFlip(gte, flip({ amount: 100 })).rule).toBe('hit');
    expect(triageFlip(gte, flip({ amount: 99.99 })).rule).toBe('default');
    expect(triageFlip(gte, flip({ amount: null })).rule).toBe('default');

    const gt = oneRule('amount: { gt: 100 }');
    expect(triageFlip(gt, flip({ amount: 100 })).rule).toBe('default');
    expect(triageFlip(gt, flip({ amount: 100.01 })).rule).toBe('hit');

    const between = oneRule('amount: { gte: 10, lt: 50 }');
    expect(triageFlip(between, flip({ amount: 10 })).rule).toBe('hit');
    expect(triageFlip(between, flip({ amount: 49 })).rule).toBe('hit');
    expect(triageFlip(between, flip({ amount: 50 })).rule).toBe('default');
    expect(triageFlip(between, flip({ amount: 9 })).rule).toBe('default');
    expect(triageFlip(between, flip({ amount: null })).rule).toBe('default');

    const lte = oneRule('amount: { lte: 0 }');
    expect(triageFlip(lte, flip({ amount: 0 })).rule).toBe('hit');
    expect(triageFlip(lte, flip({ amount: null })).rule).toBe('default');
  });

  it('matches ageDays ranges', () => {
    const policy = oneRule('ageDays: { gt: 7, lte: 60 }');
    expect(triageFlip(policy, flip({ ageDays: 7 })).rule).toBe('default');
    expect(triageFlip(policy, flip({ ageDays: 8 })).rule).toBe('hit');
    expect(triageFlip(policy, flip({ ageDays: 60 })).rule).toBe('hit');
    expect(triageFlip(policy, flip({ ageDays: 61 })).rule).toBe('default');
  });

  it('matches attributes by string or list, and a missing attribute does not match', () => {
    const policy = oneRule('attributes: { plan: business, channel: [chat, email] }');
    expect(triageFlip(policy, flip({ attributes: { plan: 'business', channel: 'email' } })).rule).toBe('hit');
    expect(triageFlip(policy, flip({ attributes: { plan: 'business', channel: 'phone' } })).rule).toBe('default');
    expect(triageFlip(policy, flip({ attributes: { plan: 'free', channel: 'chat' } })).rule).toBe('default');
    expect(triageFlip(policy, flip({ attributes: { channel: 'chat' } })).rule).toBe('default');
    expect(triageFlip(oneRule('attributes: { toString: x }'), flip({ attributes: {} })).rule).toBe('default');
  });

  it('requires every condition of a rule to hold', () => {
    const policy = oneRule('from: approve', 'reversible: false', 'amount: { gte: 100 }');
    expect(triageFlip(policy, flip({ reversible: false, amount: 100 })).rule).toBe('hit');
    expect(triageFlip(policy, flip({ reversible: true, amount: 100 })).rule).toBe('default');
    expect(triageFlip(policy, flip({ reversible: false, amount: 50 })).rule).toBe('default');
  });
});

describe('parseTriagePolicy', () => {
  it('parses a JSON policy', () => {
    const text = JSON.stringify(
      {
        version: 1,
        default: 'none',
        rules: [{ name: 'money', when: { amount: { gte: 100 }, to: ['deny'] }, action: 'review' }],
      },
      null,
      2,
    );
    const policy = parseTriagePolicy(text, 'policy.json');
    expect(policy.version).toBe(1);
    expect(policy.default).toBe('none');
    expect(policy.source).toBe('policy.json');
    expect(triageFlip(policy, flip({ amount: 120 }))).toEqual({ action: 'review', rule: 'money' });
    expect(triageFlip(policy, flip({ amount: 20 }))).toEqual({ action: 'none', rule: 'default' });
  });

  it('names the policy by a digest that ignores formatting but not meaning', () => {
    const a = parseTriagePolicy(
      yaml('version: 1', 'default: annotate', 'rules:', '  - name: r', '    when: { from: approve }', '    action: review'),
      'a.yaml',
    );
    const b = parseTriagePolicy(
      JSON.stringify({ version: 1, default: 'annotate', rules: [{ name: 'r', when: { from: ['approve'] }, action: 'review' }] }),
      'b.json',
    );
    const c = parseTriagePolicy(
      yaml('version: 1', 'default: annotate', 'rules:', '  - name: r', '    when: { from: approve }', '    action: correct'),
      'c.yaml',
    );
    expect(a.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(b.digest).toBe(a.digest);
    expect(c.digest).not.toBe(a.digest);
  });

  it('parses the example policy, which routes refund flips sensibly', async () => {
    const policy = await loadTriagePolicy(EXAMPLE);
    expect(policy.rules.length).toBeGreaterThan(3);
    expect(policy.default).toBe('annotate');
    const refund = (o: Partial<FlipFacts>) => triageFlip(policy, flip({ type: 'refund.category', ...o })).action;
    expect(refund({ from: 'approve', to: 'deny', reversible: false, amount: 500 })).toBe('review');
    expect(refund({ from: 'deny', to: 'approve', amount: 40 })).toBe('correct');
    expect(refund({ from: 'deny', to: 'approve', amount: 400 })).toBe('review');
    expect(refund({ from: 'deny', to: 'approve', amount: 40, reviewed: true })).toBe('annotate');
    expect(triageFlip(policy, flip({ type: 'account.action', from: 'close', to: 'grace_period' })).action).toBe('disclose');
  });
});

describe('parseTriagePolicy errors', () => {
  it('reports an unknown action with its line, column and path, in file:line:column form with a hint', () => {
    const { error, problems } = problemsOf(
      yaml('version: 1', 'default: annotate', 'rules:', '  - name: a', '    action: review', '  - name: b', '    action: reveiw'),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line: 7, column: 13, path: 'rules[1].action' });
    expect(problems[0]!.message).toContain('reveiw');
    expect(error.code).toBe('POLICY');
    expect(RetrialError.isInstance(error)).toBe(true);
    const lines = error.message.split('\n');
    expect(lines).toContain(`policy.yaml:7:13: rules[1].action: ${problems[0]!.message}`);
    expect(lines.at(-1)).toContain('examples/triage-policy.yaml');
  });

  it('reports a misspelled key under when at the key, suggesting the right one', () => {
    const { problems } = problemsOf(yaml('version: 1', 'default: annotate', 'rules:', '  - name: a', '    when:', '      form: approve', '    action: review'));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line: 6, column: 7, path: 'rules[0].when.form' });
    expect(problems[0]!.message).toContain('"from"');
  });

  it('reports an amount range bound given as a string at the value', () => {
    const { problems } = problemsOf(
      yaml('version: 1', 'default: annotate', 'rules:', '  - name: a', '    when:', '      amount: { gte: "100" }', '    action: review'),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line: 6, column: 22, path: 'rules[0].when.amount.gte' });
    expect(problems[0]!.message).toContain('number');
  });

  it('reports a duplicate rule name at the second use', () => {
    const { problems } = problemsOf(
      yaml(
        'version: 1',
        'default: annotate',
        'rules:',
        '  - name: same',
        '    when: { from: approve }',
        '    action: review',
        '  - name: same',
        '    action: correct',
      ),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line: 7, column: 11, path: 'rules[1].name' });
    expect(problems[0]!.message).toContain('duplicate');
  });

  it('reports a YAML syntax error with its line and column', () => {
    const { error, problems } = problemsOf(yaml('version: 1', 'default: annotate', 'rules:', '  - name: a', '    action: review: now'));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line: 5, column: 13, path: '(syntax)' });
    expect(error.message).toContain('policy.yaml:5:13: (syntax): ');
  });

  it('reports a missing version at the top-level mapping', () => {
    const { problems } = problemsOf(yaml('# no version here', 'default: annotate', 'rules: []'));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line: 2, column: 1, path: 'version' });
    expect(problems[0]!.message).toContain('version: 1');
  });

  it('reports version 2 at the value, and only that', () => {
    const { problems } = problemsOf(yaml('version: 2', 'default: annotate', 'rules: []', 'extra: true'));
    expect(problems).toEqual([{ line: 1, column: 10, path: 'version', message: expect.stringContaining('version 1') }]);
  });

  it('lists every problem, in file order', () => {
    const { error, problems } = problemsOf(
      yaml(
        'version: 1',
        'default: maybe',
        'rules:',
        '  - name: a',
        '    when: { amount: { gte: x } }',
        '    action: review',
        '  - nam: b',
        '    action: review',
      ),
      'multi.yaml',
    );
    expect(problems.map((p) => `${p.line}:${p.column} ${p.path}`)).toEqual([
      '2:10 default',
      '5:28 rules[0].when.amount.gte',
      '7:5 rules[1].name',
      '7:5 rules[1].nam',
    ]);
    expect(error.message.split('\n').filter((l) => l.startsWith('multi.yaml:'))).toHaveLength(4);
  });

  it('rejects a rule after a rule that matches every flip, and the reserved name default', () => {
    const { problems } = problemsOf(
      yaml('version: 1', 'default: annotate', 'rules:', '  - name: default', '    action: review', '  - name: later', '    action: correct'),
    );
    expect(problems.map((p) => [p.line, p.column, p.path])).toEqual([
      [4, 11, 'rules[0].name'],
      [6, 5, 'rules[1]'],
    ]);
    expect(problems[1]!.message).toContain('unreachable');
  });

  it('rejects an empty file', () => {
    const { problems } = problemsOf('# nothing\n');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line: 1, column: 1 });
  });
});

describe('loadTriagePolicy', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('throws a TriagePolicyError naming a missing file', async () => {
    dir = await mkdtemp(join(tmpdir(), 'triage-policy-'));
    const missing = join(dir, 'nope.yaml');
    const error = await loadTriagePolicy(missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TriagePolicyError);
    expect((error as TriagePolicyError).code).toBe('FILE_NOT_FOUND');
    expect((error as Error).message).toContain(missing);
  });

  it('uses the path as the source in messages', async () => {
    dir = await mkdtemp(join(tmpdir(), 'triage-policy-'));
    const file = join(dir, 'bad.yaml');
    await writeFile(file, yaml('version: 1', 'default: annotate', 'rules:', '  - name: a', '    action: nope'));
    const error = await loadTriagePolicy(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TriagePolicyError);
    expect((error as Error).message).toContain(`${file}:5:13: rules[0].action:`);
  });
});
