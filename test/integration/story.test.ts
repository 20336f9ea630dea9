/** The seed story that `npm start` prints ends as the README says. */
import { runStory } from '../../local/story';

test('IAM deny redriven after backoff and recovered after the fix; bad input not redriven; a dead downstream held by its breaker, then exhausted by a probe', async () => {
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
  // Every redrive came after a scheduled backoff, none immediately; the dead downstream's last
  // one was a probe, after its second failed redrive opened the breaker and held it.
  const redrives = decisions.flatMap((d) => (d.kind === 'decision' && d.outcome.decision.decision === 'redrive' ? [[d.execution, d.outcome.source]] : []));
  expect(redrives).toEqual([
    ['inventory-sync/sync-3003', 'drain'],
    ['orders-pipeline/order-1001', 'drain'],
    ['inventory-sync/sync-3003', 'drain'],
    ['orders-pipeline/order-1001', 'drain'],
    ['inventory-sync/sync-3003', 'probe'],
  ]);
  expect(decisions.some((d) => d.kind === 'decision' && d.execution === 'inventory-sync/sync-3003' && d.outcome.decision.decision === 'hold')).toBe(true);
  expect(result.elapsedSimulatedMs).toBeGreaterThan(60_000);
});
