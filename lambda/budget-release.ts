/**
 * Releasing failures held over their state machine's redrive budget (`over-budget`,
 * act/budget-gate.ts), run by the drain after the breakers: oldest first, each back through
 * the event path (source `release`), where the budget gate takes a redrive from the budget
 * or holds it again. A state machine whose budget is used up again is passed over for the
 * rest of the run (its failures stay held, in order), so one busy state machine does not
 * hold back another's releases. Also the budget's gauges (the alarm's metric).
 *
 * All state machines share one held family (HELD-BUDGET#<k>, like HELD-EXHAUSTED): a run
 * reads at most MAX_READ of it, so a state machine far behind another in stop order waits
 * until the older failures are released (the budget, not this read, is the bottleneck).
 */
import { HELD_BUDGET_SHARD } from '../contract/budget';
import { METRIC } from '../contract/metrics';
import { pool, releaseOne, take } from './breaker/release';
import type { ControllerDeps, Outcome } from './event-path';
import type { FailureRecord } from './record/failure-ledger';
import { type PolicySnapshot, resolvePolicy } from './policy/policy-source';

/** Held records one run reads at most (released or passed over). */
export const MAX_READ = 5_000;
const PAGE = 200;

export interface BudgetReleaseReport {
  readonly outcomes: Outcome[];
  /** Failures held over budget after the run (all state machines). */
  readonly held: number;
  readonly errors: number;
}

export async function releaseOverBudget(deps: ControllerDeps, snapshot: PolicySnapshot, options: { readonly deadline: number; readonly concurrency?: number }): Promise<BudgetReleaseReport> {
  const outcomes: Outcome[] = [];
  let errors = 0;
  // State machines at their budget in this run: their later failures stay held, in order.
  const atBudget = new Set<string>();
  const releaseInOrder = async (records: readonly FailureRecord[]) => {
    const resolution = resolvePolicy(snapshot, records[0].stateMachineArn);
    const perHour = resolution.kind === 'found' ? resolution.policy.maxRedrivesPerHour : undefined;
    for (const record of records) {
      if (atBudget.has(record.stateMachineArn) || deps.clock() >= options.deadline) return;
      try {
        // Still at its budget: left held as it is (no write, no audit entry each run). No
        // budget any more (the policy changed): released, the gate lets it through.
        if (perHour !== undefined && deps.budget && !(await deps.budget.available(record.stateMachineArn, perHour))) {
          atBudget.add(record.stateMachineArn);
          return;
        }
        const outcome = await releaseOne(record, deps);
        outcomes.push(outcome);
        if (outcome.decision.decision === 'hold' && outcome.decision.reason === 'over-budget') atBudget.add(record.stateMachineArn);
      } catch (e) {
        // It stays held; the next run tries again.
        errors++;
        deps.log.error('failure held over budget not released this time', { executionArn: record.executionArn, errorName: (e as Error).name, error: (e as Error).message });
      }
    }
  };
  // One merged read of the family's shards; nothing held (the usual case): no other call.
  const held = deps.ledger.held(HELD_BUDGET_SHARD);
  let oldest: FailureRecord | undefined;
  try {
    for (let read = 0; read < MAX_READ && deps.clock() < options.deadline; ) {
      const batch = await take(held, PAGE);
      if (batch.length === 0) break;
      oldest ??= batch[0];
      read += batch.length;
      if (snapshot.pause.paused) break;
      // One worker per state machine (oldest first within it), `concurrency` state machines at a time.
      const bySm = new Map<string, FailureRecord[]>();
      for (const r of batch) if (!atBudget.has(r.stateMachineArn)) bySm.set(r.stateMachineArn, [...(bySm.get(r.stateMachineArn) ?? []), r]);
      const groups = [...bySm.values()];
      await pool(groups, Math.min(groups.length, options.concurrency ?? 8), () => false, releaseInOrder);
    }
  } finally {
    await held.return(undefined);
  }
  // Gauges: how many are held, and since when the oldest (by stop time: a failure held
  // again on each release attempt keeps its place) has been (the budget alarm).
  const count = oldest ? await deps.ledger.heldCount(HELD_BUDGET_SHARD) : 0;
  const now = deps.clock();
  const since = oldest && count > 0 ? (oldest.stopDate ?? oldest.heldAt ?? now) : now;
  deps.metrics.count(METRIC.overBudgetHeld, {}, count);
  deps.metrics.seconds(METRIC.oldestOverBudgetAge, Math.max(0, Math.round((now - since) / 1000)));
  return { outcomes, held: count, errors };
}
