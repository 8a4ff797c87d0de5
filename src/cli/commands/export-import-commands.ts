import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { exportRun, importRun } from '../../store/index.ts';
import { PORTABLE_TAPE_EXTENSION, RetrialError } from '../../tape/index.ts';
import { type GlobalOptions, output, withStore } from '../command-context.ts';

class FileNotFoundError extends RetrialError {
  constructor(path: string) {
    super({
      code: 'FILE_NOT_FOUND',
      message: `No file at ${path}. Check the path; tapes are written by \`retrial export <run> -o file${PORTABLE_TAPE_EXTENSION}\`.`,
    });
  }
}

export function registerExportImportCommands(program: Command): void {
  program
    .command('export')
    .description(`Write a run as a self-contained portable tape (${PORTABLE_TAPE_EXTENSION}): header, events, decisions, blobs`)
    .argument('<run>', 'run id')
    .option('-o, --output <file>', `file to write (default <run>${PORTABLE_TAPE_EXTENSION}; - for stdout)`)
    .action(async (runId: string, options: { output?: string }, command: Command) => {
      const all = { ...command.optsWithGlobals(), ...options } as GlobalOptions & { output?: string };
      await withStore(all, async (store) => {
        const text = await exportRun(store, runId);
        if (all.output === '-') {
          process.stdout.write(text);
          return;
        }
        const path = all.output ?? `${runId}${PORTABLE_TAPE_EXTENSION}`;
        // Owner-only, as the store is: a tape holds everything the run saw.
        await writeFile(path, text, { mode: 0o600 });
        output(
          all,
          { runId, path, bytes: Buffer.byteLength(text) },
          (result) => `Wrote ${result.path} (${result.bytes} bytes). Import it elsewhere with: retrial import ${result.path}`,
        );
      });
    });

  program
    .command('import')
    .description('Read portable tapes into the store; each file lands whole or not at all')
    .argument('<files...>', `${PORTABLE_TAPE_EXTENSION} files`)
    .action(async (files: string[], _options: unknown, command: Command) => {
      const all = command.optsWithGlobals() as GlobalOptions;
      for (const file of files) if (!existsSync(file)) throw new FileNotFoundError(file);
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
                (row) =>
                  `${row.outcome === 'imported' ? 'Imported' : 'Already present'} ${row.runId} from ${row.file} (${row.events} events, ${row.blobs} blobs).`,
              )
              .join('\n'),
          );
          // Importing into a new path is how a store on another machine starts.
        },
        { create: true },
      );
    });
}
