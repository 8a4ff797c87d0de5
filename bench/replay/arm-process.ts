/**
 * Starts an arm of the replay benchmark in its own Node process (arm-child.ts says why) and
 * hands back its passes. Requests go one at a time: the parent waits for each pass, so only one
 * arm runs at any moment and "one core" holds.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import type { CannedResponse } from './canned-floor.ts';
import type { CorpusRun } from './demo-corpus.ts';
import type { ProfileSummary } from './replay-profile.ts';
import type { PassResult } from './retrial-arm.ts';

/** What an arm needs; everything crosses to the child by structured clone. */
export type ArmSpec =
  | { arm: 'retrial' | 'retrial-per-run' | 'retrial-again' | 'loadTape'; dbPath: string; runIds: string[] }
  | { arm: 'live'; runs: CorpusRun[]; modelBaseUrl: string }
  | { arm: 'polly'; runs: CorpusRun[]; pollyDir: string; simulatorUrl: string }
  | { arm: 'floor'; runs: CorpusRun[]; canned: Map<string, CannedResponse[]> };

export interface ArmProcess {
  pass(): Promise<PassResult>;
  profile(outDir: string): Promise<ProfileSummary>;
  close(): Promise<void>;
}

export async function startArmProcess(spec: ArmSpec): Promise<ArmProcess> {
  const child: ChildProcess = fork(join(import.meta.dirname, 'arm-child.ts'), [], {
    execArgv: ['--import', 'tsx'],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const request = <T>(message: object, type: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the ${spec.arm} arm's process exited (code ${code}) during ${type}`));
      child.once('exit', onExit);
      child.once('message', (reply: { type: string; message?: string } & Record<string, unknown>) => {
        child.off('exit', onExit);
        if (reply.type === 'error') reject(new Error(`the ${spec.arm} arm failed: ${reply.message}`));
        else resolve(reply as T);
      });
      child.send(message);
    });
  await request({ type: 'init', spec }, 'init');
  return {
    pass: async () => (await request<{ result: PassResult }>({ type: 'pass' }, 'a pass')).result,
    profile: async (outDir) => (await request<{ summary: ProfileSummary }>({ type: 'profile', outDir }, 'profiling')).summary,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || !child.connected) return resolve();
        child.once('exit', () => resolve());
        child.disconnect();
      }),
  };
}

/** Starts one process per spec, hands `body` a lookup by arm name, and ends them all after. */
export async function withArmProcesses<T>(specs: readonly ArmSpec[], body: (armOf: (name: string) => ArmProcess) => Promise<T>): Promise<T> {
  const processes = new Map<string, ArmProcess>();
  try {
    for (const spec of specs) processes.set(spec.arm, await startArmProcess(spec));
    return await body((name) => {
      const found = processes.get(name);
      if (!found) throw new Error(`no arm process named ${name}`);
      return found;
    });
  } finally {
    for (const armProcess of processes.values()) await armProcess.close();
  }
}
