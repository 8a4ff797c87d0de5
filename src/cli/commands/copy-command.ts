import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Command } from 'commander';
import { REDACTION_SALT_VARIABLE, redactionSaltPath } from '../../record/index.ts';
import { type CopyPhase, type CopyStoreResult, copyStore, MEMORY_LOCATION, openStore, resolveStoreLocation, type Store } from '../../store/index.ts';
import type { GlobalOptions } from '../command-context.ts';
import { displayPath } from '../display-path.ts';
import { ExitCode, UsageError } from '../exit-codes.ts';
import { createProgress, type Progress } from '../progress.ts';

interface CopyOptions extends GlobalOptions {
  from?: string;
  to?: string;
}

const PHASES: Record<CopyPhase, { label: string; unit: string }> = {
  check: { label: 'Checking', unit: 'runs' },
  runs: { label: 'Copying', unit: 'runs' },
  campaigns: { label: 'Campaigns', unit: 'campaigns' },
  audit: { label: 'Audit', unit: 'entries' },
  verify: { label: 'Verifying', unit: 'runs' },
};

const isUrl = (location: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(location);

/** What names one store: a URL as given, a file by its real path (so `./a.db` and a link to it are one store). */
function storeIdentity(location: string): string {
  if (isUrl(location)) return location;
  const path = resolve(location);
  return existsSync(path) ? realpathSync(path) : path;
}

const shown = (location: string) => (isAbsolute(location) ? displayPath(location) : location);
const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

/**
 * The redaction salt never goes into a store, yet replaying the copied runs needs the one they were
 * recorded with. A new SQLite target gets the source's salt beside it (the source's file, or for a
 * PostgreSQL source RETRIAL_REDACTION_SALT, which its recorders used); otherwise a line says where
 * the salt is and how to hand it to replay.
 */
interface SaltOutcome {
  /**
   * `copied`: written beside an SQLite target that had none. `same`: it already had this salt.
   * `elsewhere`: replay needs RETRIAL_REDACTION_SALT. `unknown`: the source keeps no salt file and
   * RETRIAL_REDACTION_SALT is unset, so the target was given none.
   */
  outcome: 'copied' | 'same' | 'elsewhere' | 'unknown';
  /** The source's salt file, or `$RETRIAL_REDACTION_SALT`. */
  from: string;
  /** The salt file written or found beside the target, when it is an SQLite store. */
  to?: string;
}

const SALT_FROM_ENVIRONMENT = `$${REDACTION_SALT_VARIABLE}`;

function carryRedactionSalt(source: Store, target: Store): SaltOutcome | undefined {
  const fromEnvironment = process.env[REDACTION_SALT_VARIABLE] || undefined;
  if (source.file === undefined) {
    // A networked source keeps no salt file: its recorders used the variable.
    if (target.file === undefined) return undefined;
    const to = redactionSaltPath(target.file);
    if (fromEnvironment === undefined) return { outcome: 'unknown', from: SALT_FROM_ENVIRONMENT, to };
    return placeSalt(fromEnvironment, SALT_FROM_ENVIRONMENT, to);
  }
  if (fromEnvironment !== undefined) return undefined;
  const from = redactionSaltPath(source.file);
  if (!existsSync(from)) return undefined;
  if (target.file === undefined) return { outcome: 'elsewhere', from };
  return placeSalt(readFileSync(from, 'utf8'), from, redactionSaltPath(target.file));
}

function placeSalt(salt: string, from: string, to: string): SaltOutcome {
  if (!existsSync(to)) {
    writeFileSync(to, salt, { mode: 0o600, flag: 'wx' });
    return { outcome: 'copied', from, to };
  }
  return { outcome: readFileSync(to, 'utf8').trim() === salt.trim() ? 'same' : 'elsewhere', from, to };
}

function renderSalt(salt: SaltOutcome): string | undefined {
  const from = salt.from === SALT_FROM_ENVIRONMENT ? REDACTION_SALT_VARIABLE : displayPath(salt.from);
  if (salt.outcome === 'copied') return `Copied the redaction salt ${from} to ${displayPath(salt.to as string)}.`;
  if (salt.outcome === 'same') return undefined;
  if (salt.outcome === 'unknown')
    return `Replaying the copied runs needs the salt their recorders used (${REDACTION_SALT_VARIABLE}), which stores never hold: set it where you replay, or run the copy again with it set to write it to ${displayPath(salt.to as string)}.`;
  const where = salt.to === undefined ? 'the target' : `${displayPath(salt.to)}, which holds another salt`;
  const what = salt.from === SALT_FROM_ENVIRONMENT ? `the salt the source's runs were recorded with (${REDACTION_SALT_VARIABLE})` : `the contents of ${from}`;
  return `Replaying the copied runs needs the salt they were recorded with, which stores never hold and ${where} does not give: set ${REDACTION_SALT_VARIABLE} to ${what} where you replay.`;
}

function render(result: CopyStoreResult): string {
  const { runs, campaigns, audit, analyses, verification } = result;
  const lines: string[] = [];
  const campaignCount = campaigns.copied + campaigns.updated;
  if (result.nothingToCopy)
    lines.push(
      `Nothing to copy: ${shown(result.to)} already holds all ${plural(runs.alreadyPresent, 'run')}, ${plural(campaigns.inSource, 'campaign')} and ${plural(audit.inSource, 'audit entry', 'audit entries')} of ${shown(result.from)}.`,
    );
  else
    lines.push(
      `Copied ${plural(runs.copied, 'run')} (${runs.alreadyPresent} already there), ${plural(analyses.copied, 'analysis', 'analyses')}, ${plural(campaignCount, 'campaign')} and ${plural(audit.copied, 'audit entry', 'audit entries')} from ${shown(result.from)} to ${shown(result.to)}${runs.copied ? ` (${result.runsPerSecond} runs/s)` : ''}.`,
    );
  if (runs.stillRecording.length)
    lines.push(
      `Left ${plural(runs.stillRecording.length, 'run')} still being recorded into the source (${runs.stillRecording.slice(0, 3).join(', ')}${runs.stillRecording.length > 3 ? ', …' : ''}); copy again once they end.`,
    );
  for (const problem of verification.problems)
    lines.push(`FAIL ${problem.runId ?? 'audit log'}${problem.seq === null ? '' : ` event ${problem.seq}`}: ${problem.code}: ${problem.message}`);
  for (const difference of verification.differences) lines.push(`FAIL ${difference}`);
  const checked = `${plural(verification.runs, 'run')}, ${verification.events} events, ${verification.blobsChecked} blobs, ${result.decisions.inSource} ledger rows, ${plural(campaigns.inSource, 'campaign')} and ${plural(audit.inSource, 'audit entry', 'audit entries')}`;
  lines.push(
    verification.ok
      ? `OK: verified in the target, equal to the source: ${checked}.`
      : `FAILED: the target does not verify or differs from the source (${verification.problems.length} problems, ${verification.differences.length} differences) in ${checked}.`,
  );
  return lines.join('\n');
}

export function registerCopyCommand(program: Command): void {
  program
    .command('copy')
    .description('Copy every run, decision, campaign and audit entry of one store into another (e.g. SQLite into PostgreSQL), then verify the target')
    .option('--from <store>', 'store to copy from: a SQLite path or postgres:// URL (default --db, $RETRIAL_DB, or .retrial/retrial.db)')
    .option('--to <store>', 'store to copy into: a SQLite path (created if absent) or postgres:// URL')
    .addHelpText(
      'after',
      `
Runs already in the target are not copied again, so a copy that was stopped (even killed) finishes
when run again, and a second copy writes nothing. Before writing anything, copy refuses a target
that holds another run, campaign or audit history under the source's ids.

Exit status: 0 copied and verified; 1 the target does not verify or differs from the source;
2 bad command line; 3 no store at --from; 4 a store cannot be opened, read or written; 7 refused,
nothing written; 130 interrupted (Ctrl-C): what was written stays.
`,
    )
    .action(async (_options: unknown, command: Command) => {
      const options = command.optsWithGlobals() as CopyOptions;
      if (options.to === undefined || options.to === '') throw new UsageError('Name the store to copy into with --to (a SQLite path or a postgres:// URL).');
      const from = resolveStoreLocation(options.from ?? options.db);
      const to = options.to;
      if (from === MEMORY_LOCATION || to === MEMORY_LOCATION)
        throw new UsageError(`A ${MEMORY_LOCATION} store lives only as long as one command: copy from and into a SQLite path or a postgres:// URL.`);
      if (storeIdentity(from) === storeIdentity(to)) throw new UsageError(`--from and --to name the same store (${from}); nothing to copy.`);

      const source = await openStore(from, { create: false });
      let progress: Progress | undefined;
      let phase: CopyPhase | undefined;
      const controller = new AbortController();
      const interrupt = () => controller.abort();
      process.once('SIGINT', interrupt);
      process.once('SIGTERM', interrupt);
      try {
        const target = await openStore(to, { create: true });
        try {
          const result = await copyStore(source, target, {
            signal: controller.signal,
            onProgress: (update) => {
              if (update.phase !== phase) {
                progress?.stop();
                phase = update.phase;
                progress = createProgress(PHASES[phase].label, PHASES[phase].unit, { json: options.json });
              }
              if (update.total > 0) progress?.update(update.done, update.total);
            },
          });
          progress?.stop();
          const salt = carryRedactionSalt(source, target);
          if (options.json) process.stdout.write(`${JSON.stringify({ ...result, redactionSalt: salt ?? null }, null, 2)}\n`);
          else process.stdout.write(`${[render(result), salt && renderSalt(salt)].filter(Boolean).join('\n')}\n`);
          if (!result.verification.ok) process.exitCode = ExitCode.checkFailed;
        } finally {
          await target.close();
        }
      } catch (error) {
        progress?.stop();
        if (!controller.signal.aborted) throw error;
        const message = 'copy interrupted; what it wrote stays, and the same command run again finishes the copy.';
        if (options.json) process.stdout.write(`${JSON.stringify({ error: { code: 'INTERRUPTED', message } })}\n`);
        process.stderr.write(`retrial: ${message}\n`);
        process.exitCode = ExitCode.interrupted;
      } finally {
        process.off('SIGINT', interrupt);
        process.off('SIGTERM', interrupt);
        await source.close();
      }
    });
}
