/**
 * One arm of the replay benchmark in a Node process of its own (started by arm-process.ts).
 *
 * Why a process per arm: in one shared process every arm ran with the others' heap (Polly's
 * recordings, the canned responses, the corpus) and on code V8 had optimised for the others'
 * objects. A standalone loop of retrial's replays ran 460-540/s where the same replays between
 * the other arms ran 300-425/s, and a replay loop holding 430 MB of unrelated objects dropped
 * from about 500/s to about 370/s. A replayer runs in its own process in use (`retrial replay`, a
 * CI job), so each arm is measured that way; the rounds still interleave them in time.
 *
 * Protocol (IPC, advanced serialization): the parent sends `{ type: 'init', spec }`, then any
 * number of `{ type: 'pass' }` and, for the retrial arm, `{ type: 'profile', outDir }`; the child
 * answers each with a message of the same type. Disconnecting ends it.
 */
import { openSqliteStore, type Store } from '../../src/store/index.ts';
import type { ArmSpec } from './arm-process.ts';
import { cannedFloorPass } from './canned-floor.ts';
import { agentPass } from './live-arm.ts';
import { pollyReplayPass } from './polly-arm.ts';
import { profileReplayLoop } from './replay-profile.ts';
import { loadTapePass, type PassResult, replayPass, replayPassWarm } from './retrial-arm.ts';
import { withZeroDelayTimersAsImmediate } from './zero-delay-timers.ts';

type Request = { type: 'init'; spec: ArmSpec } | { type: 'pass' } | { type: 'profile'; outDir: string };

let spec: ArmSpec | null = null;
let warmStore: Store | null = null;

async function pass(arm: ArmSpec): Promise<PassResult> {
  switch (arm.arm) {
    case 'retrial':
      return replayPass(arm.dbPath, arm.runIds, 'replayer');
    case 'retrial-per-run':
      return replayPass(arm.dbPath, arm.runIds, 'per-run');
    case 'retrial-again':
      warmStore ??= await openSqliteStore(arm.dbPath);
      return replayPassWarm(warmStore, arm.runIds);
    case 'loadTape':
      return loadTapePass(arm.dbPath, arm.runIds);
    case 'live':
      return agentPass(arm.runs, { modelBaseUrl: arm.modelBaseUrl });
    case 'polly':
      return pollyReplayPass(arm.runs, arm.pollyDir, arm.simulatorUrl);
    case 'floor':
      return withZeroDelayTimersAsImmediate(() => cannedFloorPass(arm.runs, arm.canned));
  }
}

async function handle(request: Request): Promise<unknown> {
  if (request.type === 'init') {
    spec = request.spec;
    return { type: 'init' };
  }
  if (spec === null) throw new Error('arm child: no init before the first request');
  if (request.type === 'pass') return { type: 'pass', result: await pass(spec) };
  if (spec.arm !== 'retrial') throw new Error(`arm child: only the retrial arm profiles, not ${spec.arm}`);
  return { type: 'profile', summary: await profileReplayLoop(spec.dbPath, spec.runIds, request.outDir) };
}

process.on('message', (request: Request) => {
  handle(request).then(
    (reply) => process.send?.(reply),
    (error: unknown) => process.send?.({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  );
});
process.on('disconnect', () => {
  void warmStore?.close();
  process.exit(0);
});
