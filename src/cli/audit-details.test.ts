import { describe, expect, it } from 'vitest';
import { formatAuditDetails } from './audit-details.ts';

describe('formatAuditDetails', () => {
  it('keeps ids whole, in key order, and quotes strings with spaces', () => {
    const decisionId = 'run_t-200063_mtdadpxf:16';
    expect(formatAuditDetails({ idempotencyKey: 'bf_x:run_t-200063_mtdadpxf:16', decisionId, from: 'approve', to: 'deny', amount: 42.5 }, 200)).toBe(
      `idempotencyKey=bf_x:run_t-200063_mtdadpxf:16 decisionId=${decisionId} from=approve to=deny amount=42.5`,
    );
    expect(formatAuditDetails({ itemId: 'a', verdict: 'confirm', note: 'checked with the customer', reason: null })).toBe(
      'itemId=a verdict=confirm note="checked with the customer" reason=—',
    );
  });

  it('leaves whole pairs off when the cell is full and says how many', () => {
    const cell = formatAuditDetails({ decisionId: 'd'.repeat(40), from: 'approve', to: 'deny', amount: 12, currency: 'EUR' }, 70);
    expect(cell).toBe(`decisionId=${'d'.repeat(40)} from=approve … +3 more (--json)`);
    // A first pair wider than the cell is still shown whole.
    expect(formatAuditDetails({ decisionId: 'x'.repeat(120) }, 60)).toBe(`decisionId=${'x'.repeat(120)}`);
  });

  it('summarises lists and objects', () => {
    expect(formatAuditDetails({ ids: ['a', 'b'], many: ['a', 'b', 'c', 'd'], byAction: { review: 3, notify: 1 } })).toBe(
      'ids=[a,b] many=[4 items] byAction={"review":3,"notify":1}',
    );
    expect(formatAuditDetails({ policy: { rules: 'x'.repeat(80) } })).toBe('policy={1 fields}');
  });
});
