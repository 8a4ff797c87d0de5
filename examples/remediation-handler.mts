// A remediation handler: `retrial remediate apply <campaign> --handler examples/remediation-handler.mts`
// calls its default export once per correction not yet applied. In your project the type comes from
// 'retrial', and `billing` and `tickets` are your own clients; here they are stand-ins that append
// what they would do to a JSON Lines file (REMEDIATION_LOG, default .retrial/remediation.jsonl).
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Correction } from '../src/index.ts';

const LOG = process.env.REMEDIATION_LOG ?? '.retrial/remediation.jsonl';

async function record(system: string, action: string, details: Record<string, unknown>): Promise<void> {
  await mkdir(dirname(LOG), { recursive: true });
  await appendFile(LOG, `${JSON.stringify({ system, action, ...details })}\n`);
}

const billing = {
  refund: (request: { customer: string; amount: number | null; idempotencyKey: string }) => record('billing', 'refund', request),
};
const tickets = {
  open: (request: { subject: string; text: string; idempotencyKey: string }) => record('tickets', 'open', request),
};

export default async function (correction: Correction) {
  // Corrections go both ways: a wrongly denied refund is paid, a wrongly approved one goes to a person.
  if (correction.type === 'refund.category' && correction.from === 'deny' && correction.to === 'approve')
    await billing.refund({ customer: correction.subject, amount: correction.amount, idempotencyKey: correction.idempotencyKey });
  else
    await tickets.open({
      subject: correction.subject,
      text: `${correction.type}: ${correction.from} -> ${correction.to} (${correction.reason})`,
      idempotencyKey: correction.idempotencyKey,
    });
}
