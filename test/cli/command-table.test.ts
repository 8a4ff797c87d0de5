import { Command, Help } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS, requestedCommand } from '../../src/cli/command-table.ts';
import { createProgram } from '../../src/cli/program.ts';

describe('lazy command table', () => {
  it('lists every command as its module registers it', async () => {
    const help = new Help();
    for (const entry of COMMANDS) {
      const program = new Command('retrial');
      (await entry.load())(program);
      expect(program.commands.map((command) => command.name())).toEqual(entry.names);
      expect(program.commands.map((command) => ({ term: help.subcommandTerm(command), description: command.description() }))).toEqual(entry.listing);
    }
  });

  it('prints the same top-level help from the table as with every command loaded', async () => {
    const full = await createProgram();
    for (const argv of [[], ['--help'], ['--db', 'x.db'], ['help']]) {
      const lazy = await createProgram(['node', 'retrial', ...argv]);
      expect(lazy.helpInformation()).toEqual(full.helpInformation());
    }
  });

  it('defines in full only the command asked for', async () => {
    const program = await createProgram(['node', 'retrial', '--db', 'store.db', 'runs', '--limit', '5']);
    const defined = program.commands.filter((command) => command.options.length > 0).map((command) => command.name());
    expect(defined).toEqual(['runs']);
  });

  it('finds the command after global options, and after help', () => {
    const argv = (...words: string[]) => ['node', 'retrial', ...words];
    expect(requestedCommand(argv('runs', '--limit', '5'))).toBe('runs');
    expect(requestedCommand(argv('--db', 'runs', 'show', 'r1'))).toBe('show');
    expect(requestedCommand(argv('--json', 'replay', 'r1'))).toBe('replay');
    expect(requestedCommand(argv('help', 'import'))).toBe('import');
    expect(requestedCommand(argv('--help'))).toBeUndefined();
    expect(requestedCommand(argv())).toBeUndefined();
  });
});
