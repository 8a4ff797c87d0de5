import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import type { Flip, Verdict } from '../../backfill/index.ts';
import { describeStep, loadTape } from '../../inspect/index.ts';
import { REVIEW_VERDICTS, type Store } from '../../store/index.ts';
import type { CanonicalPart } from '../../tape/index.ts';
import { actorOf } from '../actor.ts';
import { type GlobalOptions, output, withStore } from '../command-context.ts';
import { UsageError } from '../exit-codes.ts';
import { RETRIAL_COMMAND } from '../invocation.ts';
import { resolveCampaignId } from '../resolve-ids.ts';

const KEYS: Record<string, Verdict> = { i: 'incumbent-right', c: 'candidate-right', b: 'both-wrong', u: 'unsure' };

function partText(part: CanonicalPart): string {
  if (part.type === 'text') return part.text;
  if (part.type === 'tool-call') return `→ ${part.toolName}(${part.rawArguments ?? JSON.stringify(part.input)})`;
  if (part.type === 'tool-result') return `← ${typeof part.output === 'string' ? part.output : JSON.stringify(part.output)}`;
  return JSON.stringify(part);
}

/** What the reviewer sees: the decision, both verdicts, the amount, and the messages the model saw at the decision step. */
export async function renderFlipForReview(store: Store, flip: Flip, position: string): Promise<string> {
  const { item } = flip;
  const tape = await loadTape(store, item.runId);
  const step = describeStep(tape, item.stepSeq);
  const lines = [
    `── ${position}  ${flip.itemId}  subject ${item.subject}  ${item.amount === null ? '' : `${item.currency ?? ''} ${item.amount.toFixed(2)}`}`,
    `   shipped: ${flip.from}   candidate: ${flip.to}${flip.incumbentAlsoMoved === null ? '' : flip.incumbentAlsoMoved ? '   (the incumbent also moved when re-run)' : '   (the incumbent, re-run, kept its answer)'}`,
    `   effective ${new Date(item.effectiveAt).toISOString().slice(0, 16)}Z, ${item.reversible ? 'reversible' : 'irreversible'}; attributes ${JSON.stringify(item.attributes)}`,
    `   what the model saw at step ${item.stepSeq} (full: ${RETRIAL_COMMAND} show ${item.runId} --step ${item.stepSeq}):`,
  ];
  if (step.kind === 'model')
    for (const message of step.messages) {
      const text = message.content.map(partText).join(' ');
      const shown = message.role === 'system' && text.length > 240 ? `${text.slice(0, 240)}… (${text.length} chars)` : text;
      lines.push(`   [${message.role}] ${shown.replaceAll('\n', '\n      ')}`);
    }
  if (step.kind === 'model' && step.response) lines.push(`   [answer shipped] ${step.response.content.map(partText).join(' ')}`);
  return lines.join('\n');
}

export function registerReviewCommand(program: Command): void {
  program
    .command('review')
    .description('Walk the flips triage routed to review, one at a time, and record verdicts; or record one with --item and --verdict')
    .argument('<campaign>', 'campaign id')
    .option('--item <decision-id>', 'record a verdict on this flip without prompting')
    .option('--verdict <verdict>', `with --item: one of ${REVIEW_VERDICTS.join(', ')}`)
    .option('--note <text>', 'with --item: the reviewer note', '')
    .option('--reviewer <name>', 'who is reviewing (default $USER)')
    .option('--list', 'only list the flips waiting for review')
    .action(async (campaign: string, options: { item?: string; verdict?: string; note: string; reviewer?: string; list?: boolean }, command: Command) => {
      const all = command.optsWithGlobals() as GlobalOptions;
      const reviewer = options.reviewer ?? actorOf({});
      // Backfill loads when a review runs, not at start-up.
      const { recordVerdict, reviewQueue } = await import('../../backfill/index.ts');
      await withStore(all, async (store) => {
        const campaignId = await resolveCampaignId(store, campaign);
        if (options.item || options.verdict) {
          if (!options.item || !options.verdict) throw new UsageError('--item and --verdict go together.');
          const record = await recordVerdict({
            store,
            campaignId,
            itemId: options.item,
            verdict: options.verdict as Verdict,
            reviewer,
            note: options.note,
            now: Date.now(),
          });
          output(all, record, () => `Recorded ${record.verdict} on ${record.itemId} by ${record.reviewer}.`);
          return;
        }
        const queue = await reviewQueue(store, campaignId);
        if (options.list || all.json || !queue.waiting.length) {
          output(all, { ...queue, waiting: queue.waiting.map(({ item, ...flip }) => ({ ...flip, amount: item.amount, subject: item.subject })) }, () =>
            queue.waiting.length
              ? `${queue.waiting.length} flips wait for review (${queue.reviewed} reviewed)${queue.triaged ? '' : '; not triaged yet, so every flip is listed'}:\n${queue.waiting.map((flip) => `  ${flip.itemId}  ${flip.from} → ${flip.to}  ${flip.item.amount ?? ''}`).join('\n')}`
              : `No flips wait for review in ${campaignId} (${queue.reviewed} reviewed).`,
          );
          return;
        }
        // Lines are read as they come, so answers piped in ahead of the prompts are not lost;
        // the end of the input stops the walk as if the reviewer quit.
        const rl = createInterface({ input: process.stdin, output: process.stdin.isTTY ? process.stderr : undefined, terminal: process.stdin.isTTY });
        const lines = rl[Symbol.asyncIterator]();
        const prompt = {
          async question(text: string) {
            process.stderr.write(text);
            const line = await lines.next();
            return line.done ? 'q' : line.value;
          },
          close: () => rl.close(),
        };
        let recorded = 0;
        try {
          for (const [index, flip] of queue.waiting.entries()) {
            process.stdout.write(`${await renderFlipForReview(store, flip, `${index + 1}/${queue.waiting.length}`)}\n`);
            let answer = '';
            // Ask again until the answer is one of the keys: a typo must not skip a flip.
            for (;;) {
              answer = (await prompt.question('verdict: [i]ncumbent right, [c]andidate right, [b]oth wrong, [u]nsure, [s]kip, [q]uit > ')).trim().toLowerCase();
              if (answer === '' || ['i', 'c', 'b', 'u', 's', 'q'].includes(answer[0] ?? '')) break;
              process.stderr.write(`"${answer}" is not one of i, c, b, u, s, q.\n`);
            }
            if (answer === '' || answer.startsWith('q')) break;
            if (answer.startsWith('s')) continue;
            const verdict = KEYS[answer[0] ?? ''] as Verdict;
            const note = (await prompt.question('note (optional) > ')).trim();
            await recordVerdict({ store, campaignId, itemId: flip.itemId, verdict, reviewer, note, now: Date.now() });
            recorded++;
          }
        } finally {
          prompt.close();
        }
        process.stdout.write(`Recorded ${recorded} verdicts as ${reviewer}. \`npx retrial backfill report ${campaignId}\` includes them.\n`);
      });
    });
}
