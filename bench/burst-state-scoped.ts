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

/**
 * Failures in the state-scoped burst, at most: at the history rate (10/s) the burst's 5,000
 * would take over 8 minutes of real clock, and events queued longer than
 * staleEventAfterSeconds (300 s) would each add a DescribeExecution; 1,500 take about 150 s.
 */
export const STATE_SCOPED_MAX_EVENTS = 1500;

export interface BurstStateScopedResult extends BurstResult {
  /** GetExecutionHistory calls per failure (issue 20: at most 1). */
  readonly historyCallsPerFailure: number;
  /** The controller's GetExecutionHistory rate (lambda/facts/failed-state-source.ts). */
  readonly historyRatePerSecond: number;
  /**
   * min(configured redrive rate, history rate): one history read per failure under a quota
   * rate, so a state-scoped burst cannot go faster. `achievedRateRatio` is to this ceiling.
   */
  readonly ceilingPerSecond?: number;
  /** Achieved rate / the configured redrive rate (the ratio plain bursts report). */
  readonly configuredRateRatio?: number;
  /** Failures the event path handed to the drain because the history rate was full (left pending: the bench runs no drain). */
  readonly handedToDrain?: number;
}

export async function runBurstStateScoped(options: BurstOptions): Promise<BurstStateScopedResult> {
  const r = await runBurst({ ...options, events: Math.min(options.events, STATE_SCOPED_MAX_EVENTS), breakerFields: options.breakerFields ?? {}, policyFields: STATE_SCOPED_FIELDS, definition: STATE_SCOPED_DEFINITION });
  const ceilingPerSecond = Math.min(r.configuredRate, HISTORY_RATE_PER_SECOND);
  return {
    ...r,
    achievedRateRatio: round(r.achievedRate / ceilingPerSecond, 3),
    configuredRateRatio: r.achievedRateRatio,
    ceilingPerSecond,
    handedToDrain: r.ledger.pending ?? 0,
    historyCallsPerFailure: round((r.stepFunctionsCalls.GetExecutionHistory ?? 0) / Math.max(1, r.events), 3),
    historyRatePerSecond: HISTORY_RATE_PER_SECOND,
  };
}
