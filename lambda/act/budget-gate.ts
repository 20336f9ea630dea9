/**
 * The redrive budget on every path that redrives (event path, drain, release, backfill:
 * after `decide()` and the breaker gate; probes: before starting one), like the breaker
 * gate: a redrive decided now takes one redrive from its state machine's budget
 * (act/redrive-budget.ts), or is held instead (`over-budget`, the breaker's durable hold),
 * to be released oldest first when the budget allows (lambda/budget-release.ts).
 * `decide()` stays pure; only policies that set `maxRedrivesPerHour` are looked at.
 * A redrive the budget granted that then does not happen (another invocation won the
 * claim, the rate limiter deferred it) is not given back: the budget errs low, never high.
 */
import { DETAIL_TYPE_BUDGET_REACHED } from '../../contract/owner-events';
import { METRIC } from '../../contract/metrics';
import type { Decision, PolicyResolution } from '../decide/decision';
import type { StatusChange } from '../event/status-change';
import type { Log, MetricsRecorder } from '../observability/telemetry';
import type { OwnerNotifier } from '../record/owner-notifier';
import type { BudgetGrant, RedriveBudget } from './redrive-budget';

export interface BudgetGateDeps {
  /** Absent: no budget is ever enforced (tests of other behaviour). */
  readonly budget?: RedriveBudget;
  readonly notifier?: OwnerNotifier;
  readonly metrics: MetricsRecorder;
  readonly log: Log;
}

export interface BudgetGateInput {
  readonly event: Pick<StatusChange, 'executionArn' | 'stateMachineArn' | 'error'>;
  readonly resolution: PolicyResolution;
  readonly now: number;
  /** Decide only (backfill --dry-run): take nothing from the budget. */
  readonly decideOnly?: boolean;
}

/** A redrive decided now, with the budget's verdict: passed through, or held `over-budget`. */
export async function gateByBudget(decision: Decision, input: BudgetGateInput, deps: BudgetGateDeps): Promise<Decision> {
  if (decision.decision !== 'redrive' || input.decideOnly) return decision;
  const perHour = input.resolution.kind === 'found' ? input.resolution.policy.maxRedrivesPerHour : undefined;
  if (!deps.budget || perHour === undefined) return decision;
  const grant = await takeFromBudget(input.event, input.resolution.kind === 'found' ? input.resolution.policy.key : '', perHour, input.now, deps);
  if (grant.granted) return decision;
  return {
    decision: 'hold',
    reason: 'over-budget',
    policyKey: decision.policyKey,
    redriveCount: decision.redriveCount,
    errorName: decision.errorName,
    detail: `redrive budget of ${perHour} an hour for ${input.event.stateMachineArn} used up; held, released oldest first when the budget allows`,
  };
}

/**
 * One redrive from the state machine's budget. When this call found it reached: one
 * metric and one owner event (once an hour at most per state machine, never per held failure).
 */
export async function takeFromBudget(
  failure: Pick<StatusChange, 'executionArn' | 'stateMachineArn' | 'error'>,
  policyKey: string,
  perHour: number,
  now: number,
  deps: BudgetGateDeps,
): Promise<BudgetGrant> {
  const grant = await deps.budget!.take(failure.stateMachineArn, perHour);
  if (grant.granted || !grant.reached) return grant;
  deps.metrics.count(METRIC.budgetReached);
  deps.log.warn('redrive budget reached; further failures are held', { stateMachineArn: failure.stateMachineArn, maxRedrivesPerHour: perHour });
  const detail = { stateMachineArn: failure.stateMachineArn, policyKey, maxRedrivesPerHour: perHour, reachedAt: new Date(now).toISOString(), firstHeld: { executionArn: failure.executionArn, error: failure.error } };
  try {
    await deps.notifier?.notifyBudget?.(DETAIL_TYPE_BUDGET_REACHED, detail);
  } catch (e) {
    // The hold matters more than the announcement; the metric and the log line stand.
    deps.log.error('budget event not sent', { stateMachineArn: failure.stateMachineArn, errorName: (e as Error).name, error: (e as Error).message });
  }
  return grant;
}
