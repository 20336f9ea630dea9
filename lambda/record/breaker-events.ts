/**
 * What the breaker tells people: the BreakerOpened / BreakerClosed / Probes metrics, the
 * `Auto Redrive Breaker Opened` / `Closed` owner events (group, held count, the first
 * failure's error and truncated cause; never input or output), a log line, and the audit
 * entries of decisions made outside the event path (probes, give-ups at the window end).
 */
import { type BreakerGroup, type CloseReason, heldShard, type ProbeOutcome } from '../../contract/breaker';
import { DIMENSION, METRIC } from '../../contract/metrics';
import { type BreakerEventDetail, CAUSE_LIMIT, DETAIL_TYPE_BREAKER_CLOSED, DETAIL_TYPE_BREAKER_OPENED } from '../../contract/owner-events';
import type { BreakerState, Effect, Step } from '../decide/breaker';
import type { Decision } from '../decide/decision';
import type { Log, MetricsRecorder } from '../observability/telemetry';
import type { ActionResult, AuditTrail, DecisionSource } from './audit-trail';
import type { FailureFacts, FailureLedger } from './failure-ledger';
import type { OwnerNotifier } from './owner-notifier';
import { countDecision, decisionRecord } from './decision-record';

export interface BreakerEventDeps {
  readonly ledger: FailureLedger;
  readonly audit: AuditTrail;
  readonly metrics: MetricsRecorder;
  readonly log: Log;
  readonly clock: () => number;
  readonly notifier?: OwnerNotifier;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

async function firstFailureOf(state: BreakerState, deps: BreakerEventDeps, cause?: string | null): Promise<BreakerEventDetail['firstFailure']> {
  const first = state.firstFailure;
  if (!first) return null;
  let error: string | null = null;
  let text = cause;
  if (text === undefined) {
    const record = await deps.ledger.get(first.executionArn, first.redriveCount);
    error = record?.errorName ?? null;
    text = record?.cause ?? null;
  }
  return { executionArn: first.executionArn, error, cause: text === null ? null : text.slice(0, CAUSE_LIMIT) };
}

/** The breaker of `group` opened (only the writer that won the transition calls this). */
export async function announceOpened(
  group: BreakerGroup,
  state: BreakerState,
  failuresInWindow: number,
  first: { error: string | null; cause: string | null },
  deps: BreakerEventDeps,
): Promise<void> {
  deps.metrics.count(METRIC.breakerOpened);
  const held = await deps.ledger.heldCount(heldShard(group));
  deps.log.warn('breaker opened: failures of this group are held, not redriven', {
    stateMachineArn: group.stateMachineArn,
    errorName: group.errorName,
    failuresInWindow,
    nextProbeAt: iso(state.nextProbeAt),
  });
  const firstFailure = state.firstFailure
    ? { executionArn: state.firstFailure.executionArn, error: first.error, cause: first.cause === null ? null : first.cause.slice(0, CAUSE_LIMIT) }
    : null;
  await deps.notifier?.notifyBreaker?.(DETAIL_TYPE_BREAKER_OPENED, {
    stateMachineArn: group.stateMachineArn,
    errorName: group.errorName,
    status: state.status,
    openedAt: iso(state.openedAt),
    closedAt: null,
    reason: 'threshold',
    // The failure that opened it is about to be held too.
    held: held + 1,
    failuresInWindow,
    failedProbes: state.failedProbes,
    nextProbeAt: iso(state.nextProbeAt),
    firstFailure,
  });
}

/** The breaker of `group` stopped holding; its held failures are released next. */
export async function announceClosed(group: BreakerGroup, before: BreakerState, after: BreakerState, reason: CloseReason, deps: BreakerEventDeps): Promise<void> {
  deps.metrics.count(METRIC.breakerClosed, { [DIMENSION.reason]: reason });
  const held = await deps.ledger.heldCount(heldShard(group));
  deps.log.info('breaker closed: held failures are released through the normal decision', {
    stateMachineArn: group.stateMachineArn,
    errorName: group.errorName,
    reason,
    held,
    openedAt: iso(before.openedAt),
  });
  await deps.notifier?.notifyBreaker?.(DETAIL_TYPE_BREAKER_CLOSED, {
    stateMachineArn: group.stateMachineArn,
    errorName: group.errorName,
    status: after.status,
    openedAt: iso(before.openedAt),
    closedAt: iso(after.closedAt),
    reason,
    held,
    failuresInWindow: null,
    failedProbes: after.failedProbes,
    nextProbeAt: null,
    firstFailure: await firstFailureOf(before, deps),
  });
}

/** Announces a transition's close, if it closed the breaker. */
export async function announceIfClosed(group: BreakerGroup, before: BreakerState, step: Step, deps: BreakerEventDeps): Promise<void> {
  const closed = step.effects.find((e): e is Extract<Effect, { kind: 'closed' }> => e.kind === 'closed');
  if (closed) await announceClosed(group, before, step.state, closed.reason, deps);
}

export function countProbe(outcome: ProbeOutcome, deps: Pick<BreakerEventDeps, 'metrics'>): void {
  deps.metrics.count(METRIC.probes, { [DIMENSION.outcome]: outcome });
}

/**
 * One decision made outside the event path (a probe, a give-up at the end of the redrive
 * window), recorded as the event path records its own: audit entry, log line, metric.
 */
export async function recordDecision(
  failure: Pick<FailureFacts, 'executionArn' | 'stateMachineArn' | 'status'>,
  decision: Decision,
  action: { action: ActionResult; actionDetail?: string },
  source: DecisionSource,
  deps: BreakerEventDeps,
): Promise<void> {
  const subject = { ...failure, eventId: `${source}:${decision.redriveCount ?? '-'}` };
  const entry = decisionRecord(subject, decision, action, source);
  await deps.audit.record({ at: deps.clock(), ...entry });
  deps.log.info('decision', entry);
  countDecision(decision, deps.metrics);
}
