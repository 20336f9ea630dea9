/** The seed story that `npm start` prints ends as the README says. */
import { runStory } from '../../local/story';

test('IAM deny redriven after backoff and recovered after the fix; bad input not redriven; a dead downstream exhausted', async () => {
  const result = await runStory();
  expect(result.executions.map((e) => [e.label, e.finalStatus, e.redriveCount])).toEqual([
    ['orders-pipeline/order-1001', 'SUCCEEDED', 2],
    ['invoice-render/invoice-2002', 'FAILED', 0],
    ['inventory-sync/sync-3003', 'FAILED', 3],
  ]);
  expect(result.redriveCalls).toBe(5);
  expect(result.ownerEvents.map((e) => [e.detailType, e.detail.reason])).toEqual([
    ['Auto Redrive Skipped', 'error-not-retryable'],
    ['Auto Redrive Exhausted', 'limit-reached'],
  ]);
  const decisions = result.timeline.filter((t) => t.kind === 'decision');
  // Every redrive came after a scheduled backoff, none immediately.
  expect(decisions.filter((d) => d.kind === 'decision' && d.outcome.decision.decision === 'redrive').every((d) => d.kind === 'decision' && d.outcome.source === 'drain')).toBe(true);
  expect(result.elapsedSimulatedMs).toBeGreaterThan(60_000);
});
