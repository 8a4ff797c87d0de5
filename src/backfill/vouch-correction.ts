import { deriveLedgerRows, runChainProblem, type Store, unvouchedReason } from '../store/index.ts';
import { canonicalJson, RetrialError } from '../tape/index.ts';
import type { Correction } from './campaign-types.ts';

/**
 * Why the run's hash chain does not vouch for the decision a correction is about to change, or
 * null when it does: the run's whole chain holds, the decision's ledger row says what its decision
 * event says, and what the handler would receive (type, subject, shipped value, amount, currency)
 * is that event's. Checked right before the handler is called, so neither a ledger row nor a
 * campaign item changed after the plan can move money.
 */
export async function correctionLedgerProblem(store: Store, correction: Correction): Promise<string | null> {
  const { runId, decisionId } = correction;
  try {
    const run = await store.getRun(runId);
    if (run === undefined) return `run ${runId} of decision ${decisionId} is not in the store`;
    const events = await store.getEvents(runId);
    const chain = runChainProblem(run, events);
    if (chain !== null) return `the hash chain of run ${runId} does not hold: ${chain}`;
    const vouched = deriveLedgerRows(run.header, events);
    const expected = vouched.get(decisionId);
    if (expected === undefined) return `no decision event of run ${runId} vouches for decision ${decisionId}`;
    const row = (await store.listDecisions({ runId, includeSuperseded: true })).find((decision) => decision.decisionId === decisionId);
    const rowProblem = row === undefined ? `decision ${decisionId} has no ledger row` : unvouchedReason(vouched, row);
    if (rowProblem !== null) return rowProblem;
    const sent: Record<string, unknown> = {
      type: correction.type,
      subject: correction.subject,
      value: correction.from,
      amount: correction.amount,
      currency: correction.currency,
    };
    const differing = Object.keys(sent).filter((field) => canonicalJson(sent[field]) !== canonicalJson(expected[field as keyof typeof expected]));
    return differing.length ? `the correction's ${differing.join(', ')} differ from decision event ${expected.seq} of run ${runId}` : null;
  } catch (error) {
    // A damaged run vouches for nothing; the other corrections go on.
    if (RetrialError.isInstance(error) && error.code === 'STORE') return `run ${runId} cannot be read: ${error.message}`;
    throw error;
  }
}
