/**
 * Parked failures come back: a held or pending failure that was skipped for a reason that
 * may change (paused, policy-disabled, no-policy, policy-invalid, dry-run) is parked in its
 * (reason, state machine) family (FailureLedger.park). Each drain run that is not paused
 * reads the families' directory, and every family whose reason no longer holds (the
 * controller resumed; a policy now resolves, is enabled, is valid, is not a dry run) has
 * its failures decided again through the event path (source `drain`), oldest first, until
 * the run's budget: redriven, scheduled, held by an open breaker, or parked again for
 * another reason. Families whose reason still holds are not read at all, so a policy left
 * disabled over many parked failures costs nothing per run but the directory read and the
 * gauge. Unlike the reconciliation sweep, this does not depend on when the failure stopped.
 *
 * Gauge: ParkedFailures (every family, whether its reason holds or not).
 */
import { METRIC } from '../contract/metrics';
import { eventFromRecord } from './event/from-record';
import { type ControllerDeps, type Outcome, processStatusChange } from './event-path';
import { type PolicySnapshot, resolvePolicy } from './policy/policy-source';
import { skipStillHolds } from './reconcile';
import type { SkipReason } from './decide/decision';
import { pool, take } from './breaker/release';

export interface ReconsiderOptions {
  /** Epoch ms (deps.clock) after which no new failure is taken. */
  readonly deadline: number;
  /** Most failures decided again in one run. @default 5000 */
  readonly maxItems?: number;
  /** Failures decided at once. @default 8 */
  readonly concurrency?: number;
}

export interface ReconsiderReport {
  readonly outcomes: Outcome[];
  /** Parked failures left after this run (every family). */
  readonly parked: number;
  readonly errors: number;
}

/** A page of a family's parked failures (oldest first) at a time. */
const PAGE = 100;

export async function reconsiderParked(deps: ControllerDeps, snapshot: PolicySnapshot, options: ReconsiderOptions): Promise<ReconsiderReport> {
  const outcomes: Outcome[] = [];
  let errors = 0;
  const limit = options.maxItems ?? 5_000;
  const families = await deps.ledger.parked.families();
  if (!snapshot.pause.paused) {
    for (const family of families) {
      if (outcomes.length + errors >= limit || deps.clock() >= options.deadline) break;
      const resolution = resolvePolicy(snapshot, family.stateMachineArn);
      if (skipStillHolds(family.reason as SkipReason, resolution, false)) continue;
      const stream = deps.ledger.held(family.base, { pageSize: PAGE });
      try {
        for (;;) {
          const batch = await take(stream, Math.min(PAGE, limit - outcomes.length - errors));
          if (batch.length === 0) break;
          await pool(batch, options.concurrency ?? 8, () => deps.clock() >= options.deadline, async (record) => {
            try {
              outcomes.push(await processStatusChange(eventFromRecord(record, deps.clock()), deps, { source: 'drain', parkIfNotNow: true }));
            } catch (e) {
              // It stays parked; the next run tries again.
              errors++;
              deps.log.error('parked failure not decided again this run', { executionArn: record.executionArn, errorName: (e as Error).name, error: (e as Error).message });
            }
          });
          if (deps.clock() >= options.deadline) break;
        }
      } finally {
        await stream.return(undefined);
      }
    }
  }
  // Gauge, and the directory entries of families that emptied (a writer touching one keeps it).
  let parked = 0;
  for (const family of families) {
    const count = await deps.ledger.heldCount(family.base);
    parked += count;
    if (count === 0) await deps.ledger.parked.forget(family, deps.clock());
  }
  deps.metrics.count(METRIC.parkedFailures, {}, parked);
  return { outcomes, parked, errors };
}
