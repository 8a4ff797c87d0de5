import { spawn } from 'node:child_process';
import { join } from 'node:path';

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

const BIN = join(process.cwd(), 'bin', 'retrial.js');

/** Runs the real `retrial` executable as a person would, and collects what it prints. */
export function runCli(args: string[], options: { env?: Record<string, string>; cwd?: string; uid?: number; gid?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? process.cwd(),
      // RETRIAL_FROM_SOURCE=1: bin/retrial.js runs src/ through tsx, so the tests exercise the
      // current source and never a stale dist/ (vitest.config.ts sets it too).
      env: { ...process.env, RETRIAL_FROM_SOURCE: '1', ...options.env },
      // As another user (only root may): to see what file modes really allow.
      ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status: status ?? -1, stdout, stderr }));
  });
}
