/**
 * Triage policy: a declarative, user-written file (YAML or JSON) that maps every flip in a backfill
 * — a decision where the candidate model's value differs from the value originally shipped — to an
 * action. The file shape (version 1):
 *
 * ```yaml
 * version: 1                   # required; the only version this code reads
 * default: annotate            # required; action for a flip no rule matches
 * rules:                       # required (may be empty); first match wins
 *   - name: irreversible-money-out   # required, unique, not "default"
 *     when:                    # optional; a rule without `when` matches every flip
 *       type: refund.category  # a string or a list of strings
 *       from: approve          # value originally shipped; a string or a list
 *       to: [deny, escalate]   # candidate's value ('none' = candidate made no decision); a string or a list
 *       reversible: false      # true or false
 *       reviewed: false        # true or false: a person already reviewed the decision
 *       amount: { gte: 100 }   # any of gt, gte, lt, lte; all given must hold; a null amount never matches
 *       ageDays: { lte: 60 }   # same range form, days since the decision took effect
 *       attributes: { plan: business }  # each value a string or a list; a missing attribute never matches
 *     action: review           # one of none, annotate, review, correct, notify, disclose
 * ```
 *
 * Every condition given must hold for a rule to match. Unknown keys anywhere are errors, as is a
 * rule placed after a rule that matches every flip (it could never be reached). Problems are
 * reported with the file's line and column. examples/triage-policy.yaml is a commented example.
 */
import { readFile } from 'node:fs/promises';
import { isMap, isScalar, LineCounter, type Node, parseDocument } from 'yaml';
import type { z } from 'zod';
import { canonicalJson, lazySchema, RetrialError, sha256Hex } from '../tape/index.ts';

export const TRIAGE_ACTIONS = ['none', 'annotate', 'review', 'correct', 'notify', 'disclose'] as const;
export type TriageAction = (typeof TRIAGE_ACTIONS)[number];

/** What triage knows about one flip. */
export interface FlipFacts {
  itemId: string;
  /** decision type, e.g. refund.category */
  type: string;
  /** value originally shipped (incumbent), e.g. approve */
  from: string;
  /** candidate's value, e.g. deny ('none' when the candidate made no decision) */
  to: string;
  /** money at stake */
  amount: number | null;
  /** whether the original action can be undone in the system it landed in */
  reversible: boolean;
  /** days since the decision took effect */
  ageDays: number;
  /** a person already reviewed this decision */
  reviewed: boolean;
  /** e.g. { plan: 'business', channel: 'chat' } */
  attributes: Record<string, string>;
}

/** A numeric range; every bound given must hold. */
export interface TriageRange {
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
}

/**
 * The conditions of one rule, normalised: a single string in the file becomes a one-element list,
 * lists are sorted and de-duplicated. An absent condition is not checked.
 */
export interface TriageConditions {
  type?: string[];
  from?: string[];
  to?: string[];
  reversible?: boolean;
  reviewed?: boolean;
  amount?: TriageRange;
  ageDays?: TriageRange;
  attributes?: Record<string, string[]>;
}

export interface TriageRule {
  name: string;
  /** `{}` when the file gives no `when`: the rule matches every flip. */
  when: TriageConditions;
  action: TriageAction;
}

export interface TriagePolicy {
  version: 1;
  default: TriageAction;
  rules: TriageRule[];
  /** sha256 hex of the canonical policy, to name it in audit entries */
  digest: string;
  source: string;
}

export interface TriagePolicyProblem {
  /** 1-based */
  line: number;
  /** 1-based */
  column: number;
  /** where in the policy, e.g. rules[2].when.amount.gte; '(top level)' for the document itself */
  path: string;
  message: string;
}

const EXAMPLE = 'examples/triage-policy.yaml';

/** A triage policy that cannot be read or does not follow the format; `problems` has each one with its position. */
export class TriagePolicyError extends RetrialError {
  readonly source: string;
  readonly problems: TriagePolicyProblem[];
  constructor({
    source,
    problems,
    message,
    cause,
    code = 'POLICY',
  }: { source: string; problems: TriagePolicyProblem[]; message?: string; cause?: unknown; code?: 'POLICY' | 'FILE_NOT_FOUND' }) {
    super({ code, message: message ?? describeProblems(source, problems), cause });
    this.name = 'TriagePolicyError';
    this.source = source;
    this.problems = problems;
  }
}

function describeProblems(source: string, problems: TriagePolicyProblem[]): string {
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  const lines = problems.map((p) => `${source}:${p.line}:${p.column}: ${p.path}: ${p.message}`);
  return [
    `Triage policy ${source} has ${count}:`,
    ...lines,
    `Fix each line above in ${source}; ${EXAMPLE} shows the policy format (version, default, rules with name, when and action) with comments.`,
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Schema

const KEYS = {
  top: ['version', 'default', 'rules'],
  rule: ['name', 'when', 'action'],
  when: ['type', 'from', 'to', 'reversible', 'reviewed', 'amount', 'ageDays', 'attributes'],
  range: ['gt', 'gte', 'lt', 'lte'],
} as const;

function describeInput(input: unknown): string {
  if (input === undefined) return 'nothing';
  if (input === null) return 'an empty value';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  if (typeof input === 'string') return `the string ${JSON.stringify(input)}`;
  return `${typeof input} ${String(input)}`;
}

function expected(what: string) {
  return (issue: { input?: unknown }) => (issue.input === undefined ? `required: give ${what}` : `expected ${what}, got ${describeInput(issue.input)}`);
}

// Built on first use: zod loads only when a policy is parsed (see lazySchema).
const policySchema = lazySchema((z) => {
  const actionSchema = z.enum(TRIAGE_ACTIONS, {
    error: (issue) =>
      issue.input === undefined
        ? `required: give one of ${TRIAGE_ACTIONS.join(', ')}`
        : `unknown action ${typeof issue.input === 'string' ? JSON.stringify(issue.input) : describeInput(issue.input)}; use one of ${TRIAGE_ACTIONS.join(', ')}`,
  });

  const valueString = z.string({ error: expected('a string (quote values such as "2" or "true")') }).min(1, { error: 'must not be empty' });
  const stringOrList = z.union(
    [valueString, z.array(valueString, { error: expected('a string or a list of strings') }).min(1, { error: 'list must not be empty' })],
    {
      error: (issue) =>
        typeof issue.input === 'number' || typeof issue.input === 'boolean'
          ? `expected a string or a list of strings, got ${describeInput(issue.input)}; quote it: "${String(issue.input)}"`
          : expected('a string or a list of strings')(issue),
    },
  );
  const bound = z.number({ error: expected('a number') });
  const rangeSchema = z
    .strictObject(
      { gt: bound.optional(), gte: bound.optional(), lt: bound.optional(), lte: bound.optional() },
      { error: expected('a range such as { gte: 100 }') },
    )
    .refine((r) => r.gt !== undefined || r.gte !== undefined || r.lt !== undefined || r.lte !== undefined, {
      error: 'give at least one of gt, gte, lt, lte',
    });
  const flag = z.boolean({ error: expected('true or false') });

  const whenSchema = z.strictObject(
    {
      type: stringOrList.optional(),
      from: stringOrList.optional(),
      to: stringOrList.optional(),
      reversible: flag.optional(),
      reviewed: flag.optional(),
      amount: rangeSchema.optional(),
      ageDays: rangeSchema.optional(),
      attributes: z.record(z.string(), stringOrList, { error: expected('a mapping of attribute names to a string or a list') }).optional(),
    },
    { error: expected('a mapping of conditions (omit `when` to match every flip)') },
  );

  const ruleSchema = z.strictObject(
    {
      name: z.string({ error: expected('a rule name') }).min(1, { error: 'must not be empty' }),
      when: whenSchema.optional(),
      action: actionSchema,
    },
    { error: expected('a rule (a mapping with name, when and action)') },
  );

  return z
    .strictObject(
      {
        version: z.literal(1, {
          error: (issue) =>
            issue.input === undefined
              ? 'required: add `version: 1` at the top'
              : `unsupported version ${describeInput(issue.input)}; this retrial reads version 1`,
        }),
        default: actionSchema,
        rules: z.array(ruleSchema, { error: expected('a list of rules (use [] for none)') }),
      },
      { error: expected('a mapping with version, default and rules') },
    )
    .superRefine((policy, ctx) => {
      const seen = new Map<string, number>();
      let catchAll: string | undefined;
      policy.rules.forEach((rule, index) => {
        if (rule.name === 'default') {
          ctx.addIssue({ code: 'custom', path: ['rules', index, 'name'], message: 'the name "default" is reserved for flips no rule matches; choose another' });
        }
        const first = seen.get(rule.name);
        if (first !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['rules', index, 'name'],
            message: `duplicate rule name ${JSON.stringify(rule.name)}; rules[${first}] already uses it`,
          });
        } else {
          seen.set(rule.name, index);
        }
        if (catchAll !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['rules', index],
            message: `unreachable: rule ${JSON.stringify(catchAll)} above matches every flip; move this rule above it or remove it`,
          });
        } else if (rule.when === undefined || Object.keys(rule.when).length === 0) {
          catchAll = rule.name;
        }
      });
    });
});

type ParsedPolicy = z.output<ReturnType<typeof policySchema>>;

// ---------------------------------------------------------------------------------------------
// Parsing

/**
 * Parse and validate a triage policy (YAML or JSON text). `source` is the file name used in
 * messages. Throws TriagePolicyError listing every problem with its line and column.
 */
export function parseTriagePolicy(text: string, source: string): TriagePolicy {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const position = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return line < 1 ? { line: 1, column: 1 } : { line, column: col };
  };

  if (doc.errors.length > 0) {
    const problems = doc.errors.map((error) => ({ ...position(error.pos[0]), path: '(syntax)', message: `${error.message} (YAML ${error.code})` }));
    throw new TriagePolicyError({ source, problems: sortProblems(problems) });
  }
  if (doc.contents === null) {
    throw new TriagePolicyError({
      source,
      problems: [{ line: 1, column: 1, path: '(top level)', message: 'the file has no policy in it; start with `version: 1`, `default:` and `rules:`' }],
    });
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new TriagePolicyError({ source, problems: [{ ...position(doc.contents.range[0]), path: '(top level)', message }], cause });
  }

  // A file for another version likely has another shape: report only the version.
  if (typeof data === 'object' && data !== null && !Array.isArray(data)) {
    const version = (data as Record<string, unknown>).version;
    if (version !== undefined && version !== 1) {
      const node = nodeAt(doc.contents, ['version']);
      throw new TriagePolicyError({
        source,
        problems: [
          {
            ...position(node.range[0]),
            path: 'version',
            message: `unsupported version ${describeInput(version)}; this retrial reads version 1 policies only`,
          },
        ],
      });
    }
  }

  const result = policySchema().safeParse(data);
  if (!result.success) {
    const problems: TriagePolicyProblem[] = [];
    for (const issue of result.error.issues) {
      const path = issue.path.filter((key): key is string | number => typeof key !== 'symbol');
      if (issue.code === 'unrecognized_keys') {
        const allowed = allowedKeys(path);
        for (const key of issue.keys) {
          const keyNode = keyNodeAt(doc.contents, path, key);
          const suggestion = allowed ? closest(key, allowed) : undefined;
          const known = allowed ? `; known keys here: ${allowed.join(', ')}` : '';
          problems.push({
            ...position((keyNode ?? nodeAt(doc.contents, path)).range[0]),
            path: formatPath([...path, key]),
            message: `unknown key ${JSON.stringify(key)}${suggestion ? ` (did you mean ${JSON.stringify(suggestion)}?)` : ''}${known}`,
          });
        }
        continue;
      }
      problems.push({ ...position(nodeAt(doc.contents, path).range[0]), path: formatPath(path), message: issue.message });
    }
    throw new TriagePolicyError({ source, problems: sortProblems(problems) });
  }

  const body = normalise(result.data);
  return { ...body, digest: sha256Hex(canonicalJson(body)), source };
}

/** Read and parse a policy file. A missing or unreadable file is a TriagePolicyError naming the path. */
export async function loadTriagePolicy(path: string): Promise<TriagePolicy> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    const reason =
      (cause as NodeJS.ErrnoException)?.code === 'ENOENT' ? 'does not exist' : `cannot be read (${cause instanceof Error ? cause.message : String(cause)})`;
    throw new TriagePolicyError({
      source: path,
      problems: [],
      // A path that leads nowhere is a missing file (exit 3), not a malformed policy (exit 5).
      code: (cause as NodeJS.ErrnoException)?.code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'POLICY',
      message: `Triage policy file ${path} ${reason}. Check the path, or start from ${EXAMPLE}.`,
      cause,
    });
  }
  return parseTriagePolicy(text, path);
}

type Positioned = Node & { range: [number, number, number] };

/** The node at `path`, or its nearest ancestor that exists in the document. */
function nodeAt(root: Node, path: ReadonlyArray<string | number>): Positioned {
  let node: Node = root;
  for (const key of path) {
    if (!('get' in node) || typeof node.get !== 'function') break;
    const child: unknown = (node as { get(key: unknown, keepScalar: true): unknown }).get(key, true);
    if (!isNode(child) || !child.range) break;
    node = child;
  }
  return node as Positioned;
}

/** The key node of `key` in the mapping at `path`, so an unknown key is reported where it is written. */
function keyNodeAt(root: Node, path: ReadonlyArray<string | number>, key: string): Positioned | undefined {
  const map = nodeAt(root, path);
  if (!isMap(map)) return undefined;
  for (const pair of map.items) {
    if (isScalar(pair.key) && String(pair.key.value) === key && pair.key.range) return pair.key as Positioned;
  }
  return undefined;
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && 'range' in value;
}

function allowedKeys(path: ReadonlyArray<string | number>): readonly string[] | undefined {
  if (path.length === 0) return KEYS.top;
  if (path[0] !== 'rules') return undefined;
  if (path.length === 2) return KEYS.rule;
  if (path.length === 3 && path[2] === 'when') return KEYS.when;
  if (path.length === 4 && path[2] === 'when' && (path[3] === 'amount' || path[3] === 'ageDays')) return KEYS.range;
  return undefined;
}

/** The allowed key within edit distance 2 of `key` (case-insensitive), if any. */
function closest(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of allowed) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

function formatPath(path: ReadonlyArray<string | number>): string {
  if (path.length === 0) return '(top level)';
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

function sortProblems(problems: TriagePolicyProblem[]): TriagePolicyProblem[] {
  return problems.sort((a, b) => a.line - b.line || a.column - b.column);
}

function list(value: string | string[]): string[] {
  return [...new Set(typeof value === 'string' ? [value] : value)].sort();
}

/** The canonical policy: single strings become lists, lists sorted and de-duplicated, `when` always present. */
function normalise(parsed: ParsedPolicy): Omit<TriagePolicy, 'digest' | 'source'> {
  return {
    version: 1,
    default: parsed.default,
    rules: parsed.rules.map((rule) => {
      const w = rule.when ?? {};
      const when: TriageConditions = {};
      if (w.type !== undefined) when.type = list(w.type);
      if (w.from !== undefined) when.from = list(w.from);
      if (w.to !== undefined) when.to = list(w.to);
      if (w.reversible !== undefined) when.reversible = w.reversible;
      if (w.reviewed !== undefined) when.reviewed = w.reviewed;
      if (w.amount !== undefined) when.amount = { ...w.amount };
      if (w.ageDays !== undefined) when.ageDays = { ...w.ageDays };
      if (w.attributes !== undefined) {
        when.attributes = Object.fromEntries(Object.entries(w.attributes).map(([key, value]) => [key, list(value)]));
      }
      return { name: rule.name, when, action: rule.action };
    }),
  };
}

// ---------------------------------------------------------------------------------------------
// Matching

/** The action for one flip: the first rule whose every condition holds, else the policy default. */
export function triageFlip(policy: TriagePolicy, flip: FlipFacts): { action: TriageAction; rule: string } {
  for (const rule of policy.rules) {
    if (matches(rule.when, flip)) return { action: rule.action, rule: rule.name };
  }
  return { action: policy.default, rule: 'default' };
}

function matches(when: TriageConditions, flip: FlipFacts): boolean {
  if (when.type && !when.type.includes(flip.type)) return false;
  if (when.from && !when.from.includes(flip.from)) return false;
  if (when.to && !when.to.includes(flip.to)) return false;
  if (when.reversible !== undefined && when.reversible !== flip.reversible) return false;
  if (when.reviewed !== undefined && when.reviewed !== flip.reviewed) return false;
  if (when.amount && !inRange(when.amount, flip.amount)) return false;
  if (when.ageDays && !inRange(when.ageDays, flip.ageDays)) return false;
  if (when.attributes) {
    for (const [key, allowed] of Object.entries(when.attributes)) {
      const value = Object.hasOwn(flip.attributes, key) ? flip.attributes[key] : undefined;
      if (value === undefined || !allowed.includes(value)) return false;
    }
  }
  return true;
}

function inRange(range: TriageRange, value: number | null): boolean {
  if (value === null || Number.isNaN(value)) return false;
  if (range.gt !== undefined && !(value > range.gt)) return false;
  if (range.gte !== undefined && !(value >= range.gte)) return false;
  if (range.lt !== undefined && !(value < range.lt)) return false;
  if (range.lte !== undefined && !(value <= range.lte)) return false;
  return true;
}
