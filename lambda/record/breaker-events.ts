/**
 * What the breaker tells people: the BreakerOpened / BreakerClosed / Probes metrics, the
 * `Auto Redrive Breaker Opened` / `Closed` owner events (group, held count, the first
 * failure's error and truncated cause; never input or output), a log line, and the audit
 * entries of decisions made outside the event path (probes, give-ups at the window end).
 * Each owner event is announced once: the transition's write records it as owed on the
 * breaker item (record/breaker-store.ts), PutEvents sends it, a conditional write marks it
 * sent; what is still owed later (a failed PutEvents, a process that died between the
 * write and PutEvents) the drain sends (announceOwed).
 */
import {
  ANNOUNCE_GRACE_MS,
  type AnnouncementKind,
  type BreakerGroup,
  type CloseReason,
  type FirstFailure,
  heldShard,
  type OwedAnnouncement,
  type ProbeOutcome,
} from '../../contract/breaker';
import { DIMENSION, METRIC } from '../../contract/metrics';
import { type BreakerEventDetail, CAUSE_LIMIT, DETAIL_TYPE_BREAKER_CLOSED, DETAIL_TYPE_BREAKER_OPENED } from '../../contract/owner-events';
import type { BreakerState, Effect, Step } from '../decide/breaker';
import type { Decision } from '../decide/decision';
import type { Log, MetricsRecorder } from '../observability/telemetry';
import type { ActionResult, AuditTrail, DecisionSource } from './audit-trail';
import type { FailureFacts, FailureLedger } from './failure-ledger';
import type { OwnerNotifier } from './owner-notifier';
import { type BreakerStore, storedExtras } from './breaker-store';
import { countDecision, decisionRecord } from './decision-record';

export interface BreakerEventDeps {
  readonly ledger: FailureLedger;
  readonly audit: AuditTrail;
  readonly metrics: MetricsRecorder;
  readonly log: Log;
  readonly clock: () => number;
  readonly notifier?: OwnerNotifier;
  /** The outbox of owed announcements (absent: announcements are sent once, not re-sent). */
  readonly breakers?: Pick<BreakerStore, 'settleAnnouncement'>;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

async function firstFailureOf(first: FirstFailure | null, deps: BreakerEventDeps, known?: { error: string | null; cause: string | null }): Promise<BreakerEventDetail['firstFailure']> {
  if (!first) return null;
  let error: string | null = null;
  let text: string | null = null;
  if (known) ({ error, cause: text } = known);
  else {
    const record = await deps.ledger.get(first.executionArn, first.redriveCount);
    error = record?.errorName ?? null;
    text = record?.cause ?? null;
  }
  return { executionArn: first.executionArn, error, cause: text === null ? null : text.slice(0, CAUSE_LIMIT) };
}

const DETAIL_TYPES: Record<AnnouncementKind, string> = { opened: DETAIL_TYPE_BREAKER_OPENED, closed: DETAIL_TYPE_BREAKER_CLOSED };

/** An announcement as stored (owed) or, for a state this store did not write, made from it. */
type Announcement = Omit<OwedAnnouncement, 'owedSince'> & { readonly owedSince?: number };

/**
 * Sends one announcement and, once PutEvents succeeded, removes it from the breaker's
 * outbox. A failure to send is logged, not thrown: the announcement stays owed and the
 * drain sends it (announceOwed), so the caller's own work (holding a failure, a probe,
 * a release) goes on. `pendingHold`: the failure that opened it is about to be held too.
 */
async function deliver(group: BreakerGroup, kind: AnnouncementKind, a: Announcement, deps: BreakerEventDeps, pendingHold = 0, first?: { error: string | null; cause: string | null }): Promise<boolean> {
  const held = (await deps.ledger.heldCount(heldShard(group))) + pendingHold;
  const detail: BreakerEventDetail = {
    stateMachineArn: group.stateMachineArn,
    errorName: group.errorName,
    status: a.status,
    openedAt: iso(a.openedAt),
    closedAt: kind === 'opened' ? null : iso(a.closedAt),
    reason: a.reason,
    held,
    failuresInWindow: kind === 'opened' ? a.failuresInWindow : null,
    ...(kind === 'opened' ? { openedBy: a.openedBy } : {}),
    failedProbes: a.failedProbes,
    nextProbeAt: kind === 'opened' ? iso(a.nextProbeAt) : null,
    firstFailure: await firstFailureOf(a.firstFailure, deps, first),
  };
  try {
    await deps.notifier?.notifyBreaker?.(DETAIL_TYPES[kind], detail);
  } catch (e) {
    deps.log.error('breaker event not sent; the drain sends it later', { stateMachineArn: group.stateMachineArn, errorName: group.errorName, detailType: DETAIL_TYPES[kind], error: (e as Error).message });
    return false;
  }
  if (a.owedSince !== undefined && deps.breakers) {
    try {
      await deps.breakers.settleAnnouncement(group, kind, a.owedSince);
    } catch (e) {
      // Sent, but still marked owed: the drain sends it once more (at least once, not lost).
      deps.log.error('breaker event sent but not marked sent', { stateMachineArn: group.stateMachineArn, errorName: group.errorName, error: (e as Error).message });
    }
  }
  return true;
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
  const owed = storedExtras(state).owedOpened;
  deps.log.warn('breaker opened: failures of this group are held, not redriven', {
    stateMachineArn: group.stateMachineArn,
    errorName: group.errorName,
    failuresInWindow,
    openedBy: owed?.openedBy,
    nextProbeAt: iso(state.nextProbeAt),
  });
  const announcement: Announcement = owed ?? {
    status: state.status,
    openedAt: state.openedAt,
    closedAt: null,
    reason: 'threshold',
    failuresInWindow,
    openedBy: null,
    failedProbes: state.failedProbes,
    nextProbeAt: state.nextProbeAt,
    firstFailure: state.firstFailure,
  };
  await deliver(group, 'opened', announcement, deps, 1, first);
}

/** The breaker of `group` stopped holding; its held failures are released next. */
export async function announceClosed(group: BreakerGroup, before: BreakerState, after: BreakerState, reason: CloseReason, deps: BreakerEventDeps): Promise<void> {
  deps.metrics.count(METRIC.breakerClosed, { [DIMENSION.reason]: reason });
  deps.log.info('breaker closed: held failures are released through the normal decision', {
    stateMachineArn: group.stateMachineArn,
    errorName: group.errorName,
    reason,
    openedAt: iso(before.openedAt),
  });
  const announcement: Announcement = storedExtras(after).owedClosed ?? {
    status: after.status,
    openedAt: before.openedAt,
    closedAt: after.closedAt,
    reason,
    failuresInWindow: null,
    openedBy: null,
    failedProbes: after.failedProbes,
    nextProbeAt: null,
    firstFailure: before.firstFailure,
  };
  await deliver(group, 'closed', announcement, deps);
}

/**
 * The drain's outbox run: sends the announcements active breakers still owe (their
 * writer's PutEvents failed, or it died between its write and PutEvents), once they are
 * ANNOUNCE_GRACE_MS old (younger ones are left to their writer). Returns how many were sent.
 */
export async function announceOwed(active: ReadonlyArray<{ group: BreakerGroup; state: BreakerState }>, deps: BreakerEventDeps): Promise<number> {
  let sent = 0;
  const now = deps.clock();
  for (const { group, state } of active) {
    const x = storedExtras(state);
    for (const [kind, owed] of [['opened', x.owedOpened], ['closed', x.owedClosed]] as const) {
      if (!owed || now - owed.owedSince < ANNOUNCE_GRACE_MS) continue;
      deps.log.info('sending a breaker event owed since an earlier run', { stateMachineArn: group.stateMachineArn, errorName: group.errorName, kind, owedSince: iso(owed.owedSince) });
      if (await deliver(group, kind, owed, deps)) sent++;
    }
  }
  return sent;
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
