/**
 * The reconciliation sweep: status-change events are best effort, so failures whose event
 * never arrived (or sat in the DLQ, or fell into a deploy gap) are found by listing them.
 * For every state machine that has a policy, ListExecutions per covered status within a
 * look-back; each failure the ledger does not know (or skipped for a reason that has since
 * changed, e.g. the controller was paused) is checked and fed through the same decision
 * path as an event. `redrivectl backfill` is this sweep, narrowed and run by a person.
 */
import { checkExecution, type ControllerDeps, type Outcome, processStatusChange } from './event-path';
import type { DescribedExecution } from './act/step-functions';
import { RECONSIDERABLE_SKIPS, type PolicyResolution, type SkipReason } from './decide/decision';
import { parseExecutionArn } from '../contract/arn';
import type { StatusChange } from './event/status-change';
import { METRIC } from '../contract/metrics';
import { keyMatches } from './policy/policy-match';
import { type PolicySnapshot, resolvePolicy } from './policy/policy-source';
import type { DecisionSource } from './record/audit-trail';
import { DEFAULT_WATCHED_STATUSES } from '../contract/event-pattern';

export interface SweepOptions {
  /** Failures that stopped at or after this time (epoch ms). */
  readonly since: number;
  /** Only state machines matching this ARN or pattern. @default every state machine with a policy */
  readonly stateMachine?: string;
  readonly source?: Extract<DecisionSource, 'reconcile' | 'backfill'>;
  /** Decide and report, change nothing. */
  readonly dryRun?: boolean;
  /** Called after each failure considered (progress bars). */
  readonly onOutcome?: (outcome: Outcome) => void;
  /** Checked between failures; return true to stop early (Ctrl-C). */
  readonly shouldStop?: () => boolean;
}

export interface SweepReport {
  readonly stateMachines: number;
  readonly listed: number;
  readonly considered: number;
  readonly unknownToLedger: number;
  readonly outcomes: Outcome[];
  readonly stopped: boolean;
}

/** State machines with a policy: exact keys as they are, patterns expanded by listing. */
export async function watchedStateMachines(snapshot: PolicySnapshot, deps: ControllerDeps, filter?: string): Promise<string[]> {
  const keys = [...snapshot.policies.keys()];
  const exact = keys.filter((k) => !k.includes('*'));
  const patterns = keys.filter((k) => k.includes('*'));
  const found = new Set(exact);
  if (patterns.length > 0) {
    for await (const arn of deps.stepFunctions.listStateMachines()) {
      if (patterns.some((p) => keyMatches(p, arn))) found.add(arn);
    }
  }
  return [...found].filter((arn) => filter === undefined || keyMatches(filter, arn)).sort();
}

/** Would the earlier skip still come out the same? Then re-checking costs a Describe for nothing. */
export function skipStillHolds(reason: SkipReason, resolution: PolicyResolution, paused: boolean): boolean {
  switch (reason) {
    case 'no-policy':
      return resolution.kind === 'none';
    case 'policy-invalid':
      return resolution.kind === 'invalid';
    case 'policy-disabled':
      return resolution.kind === 'found' && !resolution.policy.enabled;
    case 'dry-run':
      return resolution.kind === 'found' && resolution.policy.dryRun;
    case 'paused':
      return paused;
    default:
      return true;
  }
}

export function eventFromExecution(current: DescribedExecution, now: number, source: string): StatusChange {
  const arn = parseExecutionArn(current.executionArn);
  return {
    eventId: `${source}:${current.redriveCount}`,
    eventTime: now,
    account: arn.account,
    region: arn.region,
    executionArn: current.executionArn,
    stateMachineArn: current.stateMachineArn,
    name: current.name,
    status: current.status,
    startDate: current.startDate,
    stopDate: current.stopDate,
    redriveCount: current.redriveCount,
    redriveDate: current.redriveDate,
    redriveStatus: current.redriveStatus,
    redriveStatusReason: current.redriveStatusReason,
    error: current.error,
    cause: current.cause,
  };
}

export async function sweep(deps: ControllerDeps, options: SweepOptions): Promise<SweepReport> {
  const source = options.source ?? 'reconcile';
  const snapshot = await deps.policies.snapshot(deps.clock());
  const machines = await watchedStateMachines(snapshot, deps, options.stateMachine);
  const outcomes: Outcome[] = [];
  let listed = 0;
  let considered = 0;
  let unknownToLedger = 0;
  let stopped = false;

  outer: for (const stateMachineArn of machines) {
    const resolution = resolvePolicy(snapshot, stateMachineArn);
    const statuses = resolution.kind === 'found' ? resolution.policy.statuses : DEFAULT_WATCHED_STATUSES;
    for (const status of statuses) {
      const startedAfter = options.since - deps.config.reconcileMaxRunHours * 3_600_000;
      for await (const listedExecution of deps.stepFunctions.listStopped(stateMachineArn, status, options.since, startedAfter)) {
        if (options.shouldStop?.()) {
          stopped = true;
          break outer;
        }
        listed++;
        const known = await deps.ledger.get(listedExecution.executionArn, listedExecution.redriveCount);
        if (known && !(known.state === 'skipped' && RECONSIDERABLE_SKIPS.includes(known.reason as SkipReason))) continue;
        if (known && skipStillHolds(known.reason as SkipReason, resolution, snapshot.pause.paused)) continue;
        const current = await checkExecution(listedExecution.executionArn, deps);
        if (!current) continue;
        considered++;
        if (!known) {
          unknownToLedger++;
          if (!options.dryRun) deps.metrics.count(METRIC.reconciled);
        }
        const outcome = await processStatusChange(eventFromExecution(current, deps.clock(), source), deps, {
          source,
          current,
          quietIfUnchanged: true,
          decideOnly: options.dryRun,
        });
        outcomes.push(outcome);
        options.onOutcome?.(outcome);
      }
    }
  }
  return { stateMachines: machines.length, listed, considered, unknownToLedger, outcomes, stopped };
}
