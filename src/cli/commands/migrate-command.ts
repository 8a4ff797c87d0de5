import type { Command } from 'commander';
import { type MigrationReport, migrateStore } from '../../store/index.ts';
import { type GlobalOptions, output } from '../command-context.ts';

function renderMigration(report: MigrationReport): string {
  const store = `${report.backend === 'postgres' ? 'PostgreSQL' : 'SQLite'} store at ${report.location}`;
  if (report.applied.length === 0) return `The ${store} is up to date (schema version ${report.version}); nothing to do.`;
  const first = report.applied[0] as number;
  const from = first === 1 ? 'a new store' : `schema version ${first - 1}`;
  return `Migrated the ${store} from ${from} to schema version ${report.version} (applied ${report.applied.join(', ')}).`;
}

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description("Bring the store's schema up to date (opening a store does this too); for PostgreSQL, run it once as the database owner before a fleet starts")
    .action(async (_options: unknown, command: Command) => {
      const options = command.optsWithGlobals() as GlobalOptions;
      output(options, await migrateStore(options.db), renderMigration);
    });
}
