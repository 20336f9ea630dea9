/** The seed story that `npm start` prints ends as the README says. */
import { runStory } from '../../local/story';

test('IAM deny redriven after backoff and recovered after the fix; bad input not redriven; a dead downstream (one execution, not an outage) redriven to its policy\'s limit, never held, then exhausted', async () => {
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
  // Every redrive came after a scheduled backoff, none immediately. The dead downstream is one
  // execution whose redrives fail again: a bug to its breaker, not an outage, so it is never
  // held and its policy's backoff spends all three redrives (breaker on or off alike).
  const redrives = decisions.flatMap((d) => (d.kind === 'decision' && d.outcome.decision.decision === 'redrive' ? [[d.execution, d.outcome.source]] : []));
  expect(redrives).toEqual([
    ['inventory-sync/sync-3003', 'drain'],
    ['orders-pipeline/order-1001', 'drain'],
    ['inventory-sync/sync-3003', 'drain'],
    ['orders-pipeline/order-1001', 'drain'],
    ['inventory-sync/sync-3003', 'drain'],
  ]);
  expect(decisions.filter((d) => d.kind === 'decision' && d.outcome.decision.decision === 'hold')).toEqual([]);
  expect(result.elapsedSimulatedMs).toBeGreaterThan(60_000);
});
