/**
 * burstStateScoped: the plain burst (bench/burst.ts, default settings) with a state-scoped
 * policy: `neverAtStates` names a state of the workflow that the failures are not at, so
 * every failure's state is read from its history (GetExecutionHistory, under the
 * controller's own history rate) before it is redriven. Reports the rate kept and the
 * calls each failure costs on top of the plain burst.
 */
import { HISTORY_RATE_PER_SECOND } from '../lambda/facts/failed-state-source';
import { BURST_RESOURCE, type BurstOptions, type BurstResult, runBurst } from './burst';
import { round } from './stats';

/** Validate (Pass) -> Call (the burst's failing Task) -> ChargeCard (a Task that must never be redriven; it succeeds here). */
export const STATE_SCOPED_DEFINITION = JSON.stringify({
  StartAt: 'Validate',
  States: {
    Validate: { Type: 'Pass', Next: 'Call' },
    Call: { Type: 'Task', Resource: BURST_RESOURCE, Next: 'ChargeCard' },
    ChargeCard: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:charge-card', End: true },
  },
});

export const STATE_SCOPED_FIELDS = { neverAtStates: ['ChargeCard'] };

export interface BurstStateScopedResult extends BurstResult {
  /** GetExecutionHistory calls per failure (issue 20: at most 1). */
  readonly historyCallsPerFailure: number;
  /** The controller's GetExecutionHistory rate (lambda/facts/failed-state-source.ts). */
  readonly historyRatePerSecond: number;
}

export async function runBurstStateScoped(options: BurstOptions): Promise<BurstStateScopedResult> {
  const r = await runBurst({ ...options, breakerFields: options.breakerFields ?? {}, policyFields: STATE_SCOPED_FIELDS, definition: STATE_SCOPED_DEFINITION });
  return {
    ...r,
    historyCallsPerFailure: round((r.stepFunctionsCalls.GetExecutionHistory ?? 0) / Math.max(1, r.events), 3),
    historyRatePerSecond: HISTORY_RATE_PER_SECOND,
  };
}
