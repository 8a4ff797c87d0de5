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

describe('the Next lines after a demo into a store named by --db', () => {
  it('name that store in every command, so each opens what the demo recorded instead of the default store', () => {
    const lines = nextSteps({ runId: 'run_x', decisionStep: 12, campaignId: 'bf_x', db: 'postgres://retrial@db.internal:5432/retrial' });
    for (const line of lines) expect(line).toMatch(/ --db postgres:\/\/retrial@db\.internal:5432\/retrial( |$)/);
    expect(lines).toContain('  npx retrial verify --db postgres://retrial@db.internal:5432/retrial');
  });

  it('quote a path the shell would split', () => {
    const lines = nextSteps({ runId: 'run_x', decisionStep: 12, campaignId: 'bf_x', db: "my stores/it's.db" });
    expect(lines).toContain(`  npx retrial verify --db 'my stores/it'\\''s.db'`);
  });
});
