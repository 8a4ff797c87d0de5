import { readFileSync } from 'node:fs';
import { Command, Help } from 'commander';
import { COMMANDS, requestedCommand } from './command-table.ts';

/** The installed package's version (package.json sits two levels above both src/cli and dist/cli). */
function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/**
 * The program, with only the command `argv` asks for defined in full (its module imported); every
 * other command is a stub that only lists itself in `retrial --help`. Without `argv`, every
 * command is defined in full.
 */
export async function createProgram(argv?: readonly string[]): Promise<Command> {
  const program = new Command('retrial')
    .description('Record LLM agent runs completely, reproduce them exactly, measure behaviour rates, and backfill shipped decisions through a new model.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('--db <location>', 'store: a SQLite file path (default .retrial/retrial.db, or $RETRIAL_DB)')
    .option('--json', 'print machine-readable JSON')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const stubTerms = new Map<Command, string>();
  program.configureHelp({
    subcommandTerm(this: Help, command: Command): string {
      return stubTerms.get(command) ?? Help.prototype.subcommandTerm.call(this, command);
    },
  });
  const wanted = argv && requestedCommand(argv);
  for (const entry of COMMANDS) {
    if (!argv || (wanted !== undefined && entry.names.includes(wanted))) {
      (await entry.load())(program);
      continue;
    }
    for (const [index, name] of entry.names.entries()) {
      const listing = entry.listing[index] as { term: string; description: string };
      stubTerms.set(program.command(name).description(listing.description), listing.term);
    }
  }
  return program;
}
