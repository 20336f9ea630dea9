/**
 * The drain, run on a schedule: carries out pending redrives that are due and retries
 * abandoned claims, each re-checked with DescribeExecution first (redriven by hand,
 * succeeded, out of the 14-day window: recorded and dropped; not where the event path needs
 * no check either, carryOutPending), then decided again with
 * the current policy through the same path as events. A pending record skipped for a
 * reason that may change is parked, and parked failures whose reason has changed are
 * decided again (reconsider-parked.ts). It also reports the backlog and, every few runs,
 * starts the reconciliation sweep.
 */
import { checkExecution, type ControllerDeps, DependencyBusyError, type Outcome, processStatusChange } from './event-path';
import { eventFromRecord } from './event/from-record';
import { stillServed } from './unserved-failure';
import { type PolicySnapshot, resolvePolicy } from './policy/policy-source';
import { type BreakerRunOptions, type BreakerRunReport, DEFAULT_RELEASE_BUDGET_MS, runBreakers } from './breaker/tick';
import { reconsiderParked, type ReconsiderReport } from './reconsider-parked';
import { type BudgetReleaseReport, releaseOverBudget } from './budget-release';
import { METRIC } from '../contract/metrics';
import { indexShardsFor, PARTITION_WRITE_UNITS_PER_SECOND, SHARD_HEADROOM, WRITE_UNITS_PER_INDEX_WRITE } from '../contract/due-shards';
import { sweep, type SweepReport } from './reconcile';
import type { SweepSchedule } from './record/sweep-schedule';
import type { FailureRecord } from './record/failure-ledger';

export interface DrainOptions {
  /** Most records taken in one batch (a run takes up to MAX_DUE_BATCHES within its budget). @default 1000 */
  readonly maxItems?: number;
  /** Records processed at once. @default 8 */
  readonly concurrency?: number;
  /** Stop taking new records after this many ms (leave room in the Lambda timeout). @default 50_000 */
  readonly budgetMs?: number;
  /** The breakers' probes and releases (breaker/tick.ts). */
  readonly breakers?: Omit<BreakerRunOptions, 'started' | 'paused'>;
}

export interface DrainReport {
  readonly paused: boolean;
  readonly due: number;
  readonly outcomes: Outcome[];
  readonly backlog: number;
  readonly oldestDueAgeSeconds: number;
  /** Probes, releases, held failures; undefined without breakers. */
  readonly breakers?: BreakerRunReport;
  /** Parked failures decided again (their reason no longer holds), and how many are left. */
  readonly parked: ReconsiderReport;
  /** Failures held over their redrive budget, released as it allows (budget-release.ts). */
  readonly overBudget: BudgetReleaseReport;
}

export { eventFromRecord };

/** Batches of due records one drain run takes at most (each up to `maxItems`, all within `budgetMs`). */
export const MAX_DUE_BATCHES = 20;

/** Index writes one due record can cost on its DUE#k value: the delete and the put of a moved record. */
const DUE_WRITES_PER_RECORD = 2;

/**
 * Shortest time one batch of `records` due records may take: their index writes spread
 * over the DUE shards (uniform by execution hash) at most at SHARD_HEADROOM of each
 * value's 1,000 write units a second. Request latency keeps a real drain far below this
 * (8 workers); the pace bounds it when writes are fast, so holding a storm's scheduled
 * redrives never makes a hot DUE value.
 */
export function minBatchMs(records: number, peakFailuresPerSecond: number): number {
  const unitsPerSecond = indexShardsFor(peakFailuresPerSecond) * PARTITION_WRITE_UNITS_PER_SECOND * SHARD_HEADROOM;
  return Math.ceil((records * DUE_WRITES_PER_RECORD * WRITE_UNITS_PER_INDEX_WRITE * 1000) / unitsPerSecond);
}

export async function drain(deps: ControllerDeps, options: DrainOptions = {}): Promise<DrainReport> {
  const started = deps.clock();
  const snapshot = await deps.policies.snapshot(started);
  await publishRate(deps, started);
  const outcomes: Outcome[] = [];
  let dueCount = 0;
  if (!snapshot.pause.paused) {
    const budget = options.budgetMs ?? 50_000;
    const limit = options.maxItems ?? 1000;
    let stop = false;
    // Batch after batch within the budget: holding a due redrive behind an open breaker is
    // one write and no DescribeExecution, so a failure storm's thousands of scheduled redrives
    // are all held while the outage lasts (not 1,000 a minute, leaving the rest to come due
    // after the close and go through DescribeExecution's 15/s one by one).
    for (let batch = 0; batch < MAX_DUE_BATCHES && !stop && deps.clock() - started < budget; batch++) {
      const batchStarted = deps.clock();
      const due = await deps.ledger.due(started, limit);
      dueCount += due.length;
      let next = 0;
      let settled = 0;
      const worker = async () => {
        while (!stop && next < due.length && deps.clock() - started < budget) {
          const record = due[next++];
          try {
            const outcome = await carryOutPending(record, deps, snapshot);
            if (outcome) outcomes.push(outcome);
            settled++;
          } catch (e) {
            // One record's trouble must not stall the rest; it stays due and is retried next run.
            deps.log.error('pending redrive not carried out this run', {
              executionArn: record.executionArn,
              redriveCount: record.redriveCount,
              errorName: (e as Error).name,
              error: (e as Error).message,
            });
            if (e instanceof DependencyBusyError) stop = true;
          }
        }
      };
      await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
      // A short batch was the last; one where nothing settled would only be read again.
      if (due.length < limit || settled === 0) break;
      const wait = batchStarted + minBatchMs(due.length, deps.config.peakFailuresPerSecond) - deps.clock();
      if (wait > 0) await deps.sleep(wait);
    }
  }
  const breakers = deps.breakers
    ? await runBreakers({ ...deps, breakers: deps.breakers }, snapshot, { ...options.breakers, started, paused: snapshot.pause.paused })
    : undefined;
  // After the releases, in the same budget: parked failures whose reason has changed.
  const parked = await reconsiderParked(deps, snapshot, { deadline: started + (options.breakers?.releaseBudgetMs ?? DEFAULT_RELEASE_BUDGET_MS), concurrency: options.concurrency });
  // Then, in the same budget: failures held over their state machine's redrive budget, as it allows.
  const overBudget = await releaseOverBudget(deps, snapshot, { deadline: started + (options.breakers?.releaseBudgetMs ?? DEFAULT_RELEASE_BUDGET_MS), concurrency: options.concurrency });
  const backlog = await deps.ledger.backlog();
  const now = deps.clock();
  const oldestDueAgeSeconds = backlog.oldestDueAt === null ? 0 : Math.max(0, Math.round((now - backlog.oldestDueAt) / 1000));
  deps.metrics.count(METRIC.pendingBacklog, {}, backlog.count);
  deps.metrics.seconds(METRIC.oldestPendingAge, oldestDueAgeSeconds);
  // The run's decision counts, before the instance may be frozen (audit-trail.ts).
  await deps.audit.flush(now);
  return { paused: snapshot.pause.paused, due: dueCount, outcomes, backlog: backlog.count, oldestDueAgeSeconds, breakers, parked, overBudget };
}

/** The deployed RedriveExecution rate, for redrivectl release and backfill (act/rate-limiter.ts publishRate). */
async function publishRate(deps: ControllerDeps, now: number): Promise<void> {
  try {
    await deps.redriveRate.publishRate?.(now);
  } catch (e) {
    // The next run writes it again; the CLI falls back to the last recorded value meanwhile.
    deps.log.warn('deployed rate not recorded this run', { errorName: (e as Error).name, error: (e as Error).message });
  }
}

async function carryOutPending(record: FailureRecord, deps: ControllerDeps, snapshot: PolicySnapshot): Promise<Outcome | undefined> {
  // No DescribeExecution where the event path needs none: its account or Region is no
  // longer served (the call would fail; the event path settles it, unserved-failure.ts), its
  // group's breaker is open and still on (it will be held), or it closed after this failure
  // (a failure of the outage, scheduled while the breaker waited to open: it is redriven as
  // the group's held failures are, trusting the record, the same race with a person's redrive
  // a release accepts, and not 15 a second behind DescribeExecution's rate while a storm's
  // scheduled redrives come due after the close), or its state machine is at its redrive
  // budget (it will be held over budget).
  if (!stillServed(record, deps) || (await breakerTrustsRecord(record, deps, snapshot)) || (await overBudget(record, deps, snapshot))) {
    return processStatusChange(eventFromRecord(record, deps.clock()), deps, { source: 'drain', parkIfNotNow: true });
  }
  const current = await checkExecution(record.executionArn, deps);
  const now = deps.clock();
  if (!current) {
    const gone = await deps.ledger.skip(record, 'not-redrivable', now);
    if (gone) deps.log.warn('pending redrive dropped: execution does not exist', { executionArn: record.executionArn });
    return undefined;
  }
  // An abandoned claim whose redrive went through is recorded as redriven there too.
  // Pending: a skip "for now" (paused meanwhile, policy disabled) parks it for later.
  return processStatusChange(eventFromRecord(record, now), deps, { source: 'drain', current, parkIfNotNow: true });
}

/** The record's group breaker is open (the failure will be held), or it closed after the failure stopped (it goes out as the release does). */
async function breakerTrustsRecord(record: FailureRecord, deps: ControllerDeps, snapshot: PolicySnapshot): Promise<boolean> {
  const resolution = resolvePolicy(snapshot, record.stateMachineArn);
  if (!deps.breakers || resolution.kind !== 'found' || !resolution.policy.breaker.enabled) return false;
  const state = await deps.breakers.readCached(record, deps.clock());
  if (state.status === 'open') return true;
  return state.closedAt !== null && (record.stopDate ?? record.updatedAt) < state.closedAt;
}

async function overBudget(record: FailureRecord, deps: ControllerDeps, snapshot: PolicySnapshot): Promise<boolean> {
  const resolution = resolvePolicy(snapshot, record.stateMachineArn);
  const perHour = resolution.kind === 'found' ? resolution.policy.maxRedrivesPerHour : undefined;
  if (!deps.budget || perHour === undefined) return false;
  return !(await deps.budget.available(record.stateMachineArn, perHour));
}

/** The sweep is not started after this much of the drain Lambda's 5 minutes has gone (releases). */
export const SWEEP_LATEST_START_MS = 120_000;

/** How much of a drain run before the sweep's claim does not move the sweep's schedule (under a drain interval: at most one sweep a tick). */
export const SWEEP_PHASE_TOLERANCE_MS = 59_000;

/** How far each sweep reaches back before the previous one started. */
export const SWEEP_OVERLAP_MS = 60 * 60_000;

export interface ScheduledRunReport {
  readonly drain: DrainReport;
  readonly sweep: SweepReport | undefined;
}

/**
 * One tick of the schedule: the drain, then the reconciliation sweep if it is due
 * (`reconcileEveryMinutes`) and this caller won the right to run it.
 */
export async function scheduledRun(deps: ControllerDeps & { readonly sweepSchedule: SweepSchedule }, options: DrainOptions = {}): Promise<ScheduledRunReport> {
  const started = deps.clock();
  const report = await drain(deps, options);
  const now = deps.clock();
  if (report.paused) return { drain: report, sweep: undefined };
  // A long release used most of the Lambda's time: the sweep waits for the next tick.
  if (now - started > SWEEP_LATEST_START_MS) return { drain: report, sweep: undefined };
  // Claimed as of the tick's start when the drain took under a minute: a run that watched a
  // probe for half a minute must not push this and every later sweep a whole tick on. A run
  // that took longer (a release in a storm) still moves it, which spaces out sweeps while
  // the drain is busy.
  const run = await deps.sweepSchedule.claimRun(Math.max(started, now - SWEEP_PHASE_TOLERANCE_MS), deps.config.reconcileEveryMinutes * 60_000);
  if (!run.claimed) return { drain: report, sweep: undefined };
  // Incremental: failures since the previous sweep (with an overlap for eventually
  // consistent listings), never further back than the look-back.
  const since = Math.max(now - deps.config.reconcileLookbackHours * 3_600_000, (run.previousRunAt ?? 0) - SWEEP_OVERLAP_MS);
  const swept = await sweep(deps, { since, source: 'reconcile' });
  return { drain: report, sweep: swept };
}
