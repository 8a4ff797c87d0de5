import { existsSync, statSync } from 'node:fs';
import { readFile, rm, rmdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { redactionSaltPath } from '../../record/index.ts';
import { exportRun, importRun, MEMORY_LOCATION, resolveStoreLocation } from '../../store/index.ts';
import { PORTABLE_TAPE_EXTENSION, RetrialError } from '../../tape/index.ts';
import { type GlobalOptions, output, withStore } from '../command-context.ts';
import { RETRIAL_COMMAND } from '../invocation.ts';
import { resolveRunId } from '../resolve-ids.ts';
import { writeUserFile } from '../user-files.ts';

class FileNotFoundError extends RetrialError {
  constructor(path: string, problem = 'No file at') {
    super({
      code: 'FILE_NOT_FOUND',
      message: `${problem} ${path}. Check the path; tapes are written by \`npx retrial export <run> -o file${PORTABLE_TAPE_EXTENSION}\`.`,
    });
  }
}

/** Checks a tape to import before the store is opened, so a wrong path creates nothing. */
function checkTapeFile(path: string): void {
  const stats = statSync(path, { throwIfNoEntry: false });
  if (stats === undefined) throw new FileNotFoundError(path);
  if (stats.isDirectory()) throw new FileNotFoundError(path, 'Expected a tape file, found a directory at');
}

export function registerExportImportCommands(program: Command): void {
  program
    .command('export')
    .description(`Write a run as a self-contained portable tape (${PORTABLE_TAPE_EXTENSION}): header, events, decisions, blobs`)
    .argument('<run>', 'run id, a unique prefix of one, or a ticket or customer id')
    .option('-o, --output <file>', `file to write (default <run>${PORTABLE_TAPE_EXTENSION}; - for stdout)`)
    .action(async (typedRunId: string, options: { output?: string }, command: Command) => {
      const all = { ...command.optsWithGlobals(), ...options } as GlobalOptions & { output?: string };
      await withStore(all, async (store) => {
        const runId = await resolveRunId(store, typedRunId);
        const text = await exportRun(store, runId);
        if (all.output === '-') {
          process.stdout.write(text);
          return;
        }
        const path = all.output ?? `${runId}${PORTABLE_TAPE_EXTENSION}`;
        await writeUserFile(path, text, '-o');
        output(
          all,
          { runId, path, bytes: Buffer.byteLength(text) },
          (result) => `Wrote ${result.path} (${result.bytes} bytes). Import it elsewhere with: ${RETRIAL_COMMAND} import ${result.path}`,
        );
      });
    });

  program
    .command('import')
    .description('Read portable tapes into the store; each file lands whole or not at all')
    .argument('<files...>', `${PORTABLE_TAPE_EXTENSION} files`)
    .action(async (files: string[], _options: unknown, command: Command) => {
      const all = command.optsWithGlobals() as GlobalOptions;
      for (const file of files) checkTapeFile(file);
      const undo = planNewStoreRemoval(resolveStoreLocation(all.db));
      try {
        await importInto(all, files);
      } catch (error) {
        await undo();
        throw error;
      }
    });
}

/**
 * What to delete if an import that creates a store fails: the database with its -wal and -shm, a
 * salt file and the directories made for it, so a failed first import leaves nothing behind that
 * a later command would take for a store. Paths that existed before are never touched.
 */
function planNewStoreRemoval(location: string): () => Promise<void> {
  if (location === MEMORY_LOCATION || /^postgres(ql)?:\/\//i.test(location)) return async () => {};
  const database = resolve(location);
  const created = [database, `${database}-wal`, `${database}-shm`, `${database}-journal`, redactionSaltPath(database)].filter((path) => !existsSync(path));
  if (!created.includes(database)) return async () => {};
  const directories: string[] = [];
  for (let directory = dirname(database); !existsSync(directory); directory = dirname(directory)) directories.push(directory);
  return async () => {
    for (const path of created) await rm(path, { force: true });
    // Innermost first; a directory something else has written into meanwhile stays.
    for (const directory of directories) await rmdir(directory).catch(() => undefined);
  };
}

async function importInto(all: GlobalOptions, files: string[]): Promise<void> {
  await withStore(
    all,
    async (store) => {
      const results = [];
      for (const file of files) {
        try {
          results.push({ file, ...(await importRun(store, await readFile(file, 'utf8'))) });
        } catch (error) {
          if (RetrialError.isInstance(error)) error.message = `${file}: ${error.message}`;
          throw error;
        }
      }
      output(all, results, (rows) =>
        rows
          .map(
            (row) => `${row.outcome === 'imported' ? 'Imported' : 'Already present'} ${row.runId} from ${row.file} (${row.events} events, ${row.blobs} blobs).`,
          )
          .join('\n'),
      );
      // Importing into a new path is how a store on another machine starts.
    },
    { create: true },
  );
}
