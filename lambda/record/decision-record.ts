/**
 * A decision as recorded: one object, written to the audit trail and logged, and counted in
 * the Decisions metric. The event path and the decisions made outside it (probes, give-ups
 * at the end of the redrive window) record through here.
 */
import { DIMENSION, METRIC } from '../../contract/metrics';
import type { Decision } from '../decide/decision';
import type { MetricsRecorder } from '../observability/telemetry';

/**
 * Where a decision came from. `release`: a held failure released (breaker closed, or
 * `redrivectl release`); `probe`: a held failure redriven as a breaker probe.
 */
export type DecisionSource = 'event' | 'drain' | 'reconcile' | 'backfill' | 'replay' | 'release' | 'probe';

/** What happened after the decision: the action taken and its result. */
export type ActionResult =
  | 'redriven'
  | 'scheduled'
  | 'deferred'
  | 'rejected'
  | 'skipped'
  | 'lost-race'
  | 'dry-run'
  | 'held';

export interface AuditEntry {
  readonly at: number;
  readonly executionArn: string | null;
  readonly stateMachineArn: string | null;
  readonly eventId: string | null;
  readonly source: DecisionSource;
  readonly redriveCount: number | null;
  readonly status: string | null;
  readonly errorName: string | null;
  readonly decision: string;
  readonly reason: string;
  readonly detail: string;
  readonly policyKey: string | null;
  readonly action: ActionResult;
  readonly actionDetail?: string;
  /** Epoch ms of a scheduled or deferred redrive. */
  readonly dueAt?: number;
}

/** Which execution (or, for a malformed event, which event) a decision is about. */
export interface Subject {
  readonly executionArn: string | null;
  readonly stateMachineArn: string | null;
  readonly eventId: string | null;
  readonly status: string | null;
}

/** What was done about a decision. */
export interface RecordedAction {
  readonly action: ActionResult;
  readonly actionDetail?: string;
  readonly dueAt?: number;
}

/** The decision as recorded: one object, written to the audit trail and logged. */
export type DecisionRecord = Omit<AuditEntry, 'at'>;

export function decisionRecord(subject: Subject, decision: Decision, action: RecordedAction, source: DecisionSource): DecisionRecord {
  return {
    executionArn: subject.executionArn,
    stateMachineArn: subject.stateMachineArn,
    eventId: subject.eventId,
    source,
    redriveCount: decision.redriveCount,
    status: subject.status,
    errorName: decision.errorName,
    decision: decision.decision,
    reason: decision.reason,
    detail: decision.detail,
    policyKey: decision.policyKey,
    action: action.action,
    actionDetail: action.actionDetail,
    dueAt: action.dueAt,
  };
}

/** The entry as stored: without undefined fields (the document client rejects them by default). */
export function storedEntry(entry: AuditEntry): AuditEntry {
  return Object.fromEntries(Object.entries(entry).filter(([, v]) => v !== undefined)) as unknown as AuditEntry;
}

export function countDecision(decision: Decision, metrics: MetricsRecorder): void {
  metrics.count(METRIC.decisions, { [DIMENSION.outcome]: decision.decision, [DIMENSION.reason]: decision.reason });
  if (decision.decision === 'skip' && decision.reason === 'limit-reached') metrics.count(METRIC.exhaustions);
}
