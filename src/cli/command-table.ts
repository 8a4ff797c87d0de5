import type { Command } from 'commander';

/**
 * Every top-level command: how it is listed in `retrial --help`, and the module that defines it.
 * Start-up reads only this table: the module behind a command (and the store, replay, backfill,
 * demo and SDK code it pulls in) is imported only when that command runs or its own help is asked
 * for, so `retrial --help` and `retrial runs` do not pay for all the others.
 * test/cli/command-table.test.ts checks each entry against what its module really registers.
 */
export interface CommandEntry {
  /** The command names the module registers (export-import registers two). */
  names: readonly string[];
  /** Each name's line in the command list: `term` as commander prints it, and the description. */
  listing: readonly { term: string; description: string }[];
  load: () => Promise<(program: Command) => void>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    names: ['demo'],
    listing: [
      {
        term: 'demo [options]',
        description: 'Start the model simulator, record 90 days of a customer-support agent, investigate the incident, and backfill its refund decisions',
      },
    ],
    load: async () => (await import('./commands/demo-command.ts')).registerDemoCommand,
  },
  {
    names: ['runs'],
    listing: [{ term: 'runs [options]', description: 'List recorded runs, newest first, with filters' }],
    load: async () => (await import('./commands/runs-command.ts')).registerRunsCommand,
  },
  {
    names: ['show'],
    listing: [{ term: 'show [options] <run>', description: "Show a run's timeline, or exactly what happened at one step" }],
    load: async () => (await import('./commands/show-command.ts')).registerShowCommand,
  },
  {
    names: ['decisions'],
    listing: [{ term: 'decisions [options]', description: 'List the decision ledger: durable decisions agents shipped' }],
    load: async () => (await import('./commands/decisions-command.ts')).registerDecisionsCommand,
  },
  {
    names: ['verify'],
    listing: [
      {
        term: 'verify [runs...]',
        description:
          "Check every run's hash chain, seal and blob hashes, its row, and each decision ledger row against the event (or audit entry) that vouches for it; read-only",
      },
    ],
    load: async () => (await import('./commands/verify-command.ts')).registerVerifyCommand,
  },
  {
    names: ['replay'],
    listing: [
      {
        term: 'replay [options] [runs...]',
        description: "Re-execute the agent's own code with every call, read and draw served from the tape; report the first divergence",
      },
    ],
    load: async () => (await import('./commands/replay-command.ts')).registerReplayCommand,
  },
  {
    names: ['resample'],
    listing: [
      {
        term: 'resample [options] <run>',
        description: 'Send the exact request recorded at a step N times to a live model; report how often each answer comes back, with 95% intervals',
      },
    ],
    load: async () => (await import('./commands/resample-command.ts')).registerResampleCommand,
  },
  {
    names: ['fork'],
    listing: [
      {
        term: 'fork [options] <run>',
        description:
          'Replay a run strictly up to model step k, then go live from k with another model, prompt or sampling; the child run is stored with its lineage',
      },
    ],
    load: async () => (await import('./commands/fork-command.ts')).registerForkCommand,
  },
  {
    names: ['explain'],
    listing: [
      {
        term: 'explain [options] <run>',
        description: 'Why does it work when I try it now? Compare recorded vs now for model, prompt, tool data and clock, and switch one at a time',
      },
    ],
    load: async () => (await import('./commands/explain-command.ts')).registerExplainCommand,
  },
  {
    names: ['report'],
    listing: [
      {
        term: 'report [options] <run>',
        description:
          'Write a Markdown repro report for a postmortem: the step and what the model saw, the reproduction, the behaviour rate, what moved, limits, and the commands behind every figure',
      },
    ],
    load: async () => (await import('./commands/report-command.ts')).registerReportCommand,
  },
  {
    names: ['backfill'],
    listing: [
      {
        term: 'backfill',
        description: 'Re-try shipped decisions through a new model on their point-in-time inputs: plan, run, report, triage',
      },
    ],
    load: async () => (await import('./commands/backfill-command.ts')).registerBackfillCommand,
  },
  {
    names: ['worker'],
    listing: [
      {
        term: 'worker [options]',
        description: 'Run backfill chunks from the PostgreSQL queue that `backfill run --distributed` fills, on this machine, until stopped',
      },
    ],
    load: async () => (await import('./commands/worker-command.ts')).registerWorkerCommand,
  },
  {
    names: ['review'],
    listing: [
      {
        term: 'review [options] <campaign>',
        description: 'Walk the flips triage routed to review, one at a time, and record verdicts; or record one with --item and --verdict',
      },
    ],
    load: async () => (await import('./commands/review-command.ts')).registerReviewCommand,
  },
  {
    names: ['remediate'],
    listing: [{ term: 'remediate', description: 'Plan and apply corrections of flipped decisions, idempotently, with an audit trail' }],
    load: async () => (await import('./commands/remediate-command.ts')).registerRemediateCommand,
  },
  {
    names: ['audit'],
    listing: [
      {
        term: 'audit [options]',
        description: 'List the append-only audit log (campaigns, triage, verdicts, corrections); --verify checks its hash chain',
      },
    ],
    load: async () => (await import('./commands/audit-command.ts')).registerAuditCommand,
  },
  {
    names: ['migrate'],
    listing: [
      {
        term: 'migrate',
        description:
          "Bring the store's schema up to date (opening a store does this too); for PostgreSQL, run it once as the database owner before a fleet starts",
      },
    ],
    load: async () => (await import('./commands/migrate-command.ts')).registerMigrateCommand,
  },
  {
    names: ['export', 'import'],
    listing: [
      {
        term: 'export [options] <run>',
        description: 'Write a run as a self-contained portable tape (.tape.jsonl): header, events, decisions, blobs',
      },
      { term: 'import <files...>', description: 'Read portable tapes into the store; each file lands whole or not at all' },
    ],
    load: async () => (await import('./commands/export-import-commands.ts')).registerExportImportCommands,
  },
  {
    names: ['copy'],
    listing: [
      {
        term: 'copy [options]',
        description: 'Copy every run, decision, campaign and audit entry of one store into another (e.g. SQLite into PostgreSQL), then verify the target',
      },
    ],
    load: async () => (await import('./commands/copy-command.ts')).registerCopyCommand,
  },
  {
    names: ['server'],
    listing: [
      {
        term: 'server [options]',
        description: 'Serve the HTTP API over the store: a collector recorders send runs to (RETRIAL_URL, RETRIAL_TOKEN) when they cannot reach the store',
      },
    ],
    load: async () => (await import('./commands/server-command.ts')).registerServerCommand,
  },
  {
    names: ['sim'],
    listing: [{ term: 'sim', description: 'The built-in model SIMULATOR (OpenAI- and Anthropic-compatible; not a real model)' }],
    load: async () => (await import('./commands/sim-command.ts')).registerSimCommand,
  },
];

/** Global options that take a value: the token after them is not a command name. */
const GLOBAL_OPTIONS_WITH_VALUE = new Set(['--db']);

/**
 * The command `argv` (process.argv: node, script, ...) asks for: the first word that is not a
 * global option or its value; for `help <command>`, the command after `help`. Undefined when
 * only global options (or nothing) were given.
 */
export function requestedCommand(argv: readonly string[]): string | undefined {
  const words: string[] = [];
  const args = argv.slice(2);
  for (let index = 0; index < args.length && words.length < 2; index++) {
    const arg = args[index] as string;
    if (arg === '--') break;
    if (arg.startsWith('-')) {
      if (GLOBAL_OPTIONS_WITH_VALUE.has(arg)) index++;
      if (words.length === 0) continue;
      break;
    }
    words.push(arg);
    if (arg !== 'help') break;
  }
  return words[0] === 'help' ? words[1] : words[0];
}
