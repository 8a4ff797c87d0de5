import { describe, expect, it } from 'vitest';
import { nextSteps } from './demo-command.ts';

describe("the demo's Next lines", () => {
  it('start with npx retrial, which runs in a fresh clone where a bare retrial is not on the PATH', () => {
    const lines = nextSteps({ runId: 'run_t-inc-0214_x', decisionStep: 12, campaignId: 'bf_x' });
    expect(lines.length).toBeGreaterThanOrEqual(10);
    for (const line of lines) expect(line).toMatch(/^ {2}npx retrial [a-z]/);
    expect(lines).toContain('  npx retrial show run_t-inc-0214_x --step 12     # exactly what the model saw and answered');
  });
});
