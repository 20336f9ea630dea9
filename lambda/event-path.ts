/**
 * The controller's main path for one status-change event:
 *   parse -> policy -> facts -> decide -> act -> record.
 * The drain, the reconciliation sweep, `redrivectl backfill` and `dlq replay` all come
 * through `processStatusChange`, so every path decides with the same `decide()` and
 * leaves the same audit trail.
 */
import { REDRIVABLE_STATUSES } from '../contract/event-pattern';
import type { ControllerConfig } from './config';
import { carryOut, type ActDeps, type ActionOutcome } from './act/carry-out';
import type { RateLimiter } from './act/rate-limiter';
import type { DescribedExecution } from './act/step-functions';
import { decide } from './decide/decide';
import type { CurrentExecution, Decision, ExecutionFacts } from './decide/decision';
import { NOTEWORTHY_SKIPS } from './decide/decision';
import { type MalformedEventError, parseStatusChange, type StatusChange } from './event/status-change';
import { DIMENSION, METRIC } from '../contract/metrics';
import { type PolicySource, resolvePolicy } from './policy/policy-source';
import type { AuditTrail, DecisionSource } from './record/audit-trail';
import { type FailureFacts, type FailureRecord, toRecordState } from './record/failure-ledger';
import type { OwnerNotifier } from './record/owner-notifier';

export interface ControllerDeps extends ActDeps {
  readonly config: ControllerConfig;
  readonly policies: PolicySource;
  readonly audit: AuditTrail;
  readonly describeRate: RateLimiter;
  /** Publishes `Auto Redrive Exhausted` / `Skipped` events; optional. */
  readonly notifier?: OwnerNotifier;
  /** Which accounts' events may be acted on (organization mode). @default every account */
  readonly accounts?: { allows(account: string): boolean };
}

export interface Outcome extends ActionOutcome {
  readonly decision: Decision;
  readonly executionArn: string | null;
  readonly eventId: string | null;
  readonly source: DecisionSource;
  /** True when nothing was written because the decision repeated an earlier skip. */
  readonly unchanged?: boolean;
}

export interface ProcessOptions {
  readonly source: DecisionSource;
  /** DescribeExecution's answer, when the caller already has it (drain, sweep). */
  readonly current?: DescribedExecution;
  /** Reconciliation: do not rewrite a skip that has not changed. */
  readonly quietIfUnchanged?: boolean;
  /** Decide only: no ledger writes, no redrive, no audit (backfill --dry-run). */
  readonly decideOnly?: boolean;
}

/** How stale the policy cache may be before a would-be soft skip re-reads it. */
export const SOFT_SKIP_REFRESH_MS = 5_000;

/** A dependency refused us for longer than we can wait; the event will be retried. */
export class DependencyBusyError extends Error {
  constructor(readonly dependency: string, readonly executionArn: string) {
    super(`${dependency} is rate limited; cannot check ${executionArn} now`);
    this.name = 'DependencyBusyError';
  }
}

/** Entry point for a raw EventBridge event. Throws only when a dependency is down. */
export async function handleStatusChange(raw: unknown, deps: ControllerDeps, source: DecisionSource = 'event'): Promise<Outcome> {
  const parsed = parseStatusChange(raw);
  if (!parsed.ok) return recordMalformed(parsed.error, deps, source);
  return processStatusChange(parsed.event, deps, { source });
}

/**
 * An event may be stale when it lacks the redrive fields or arrived late: only then is
 * DescribeExecution worth its 15/s budget. Fresh events go straight to RedriveExecution,
 * whose ExecutionNotRedrivable answers the rest.
 */
export function mayBeStale(event: StatusChange, now: number, staleAfterMs: number): boolean {
  return event.redriveCount === null || event.redriveStatus === null || now - event.eventTime > staleAfterMs;
}

export async function processStatusChange(event: StatusChange, deps: ControllerDeps, options: ProcessOptions): Promise<Outcome> {
  if (deps.accounts && !deps.accounts.allows(event.account)) {
    // The parser already checked that the ARN names the same account as the envelope.
    const decision: Decision = {
      decision: 'skip',
      reason: 'unknown-account',
      policyKey: null,
      redriveCount: event.redriveCount,
      errorName: event.error,
      detail: `account ${event.account} is not one this controller serves (MEMBER_ACCOUNTS)`,
    };
    deps.log.warn('event from an account this controller does not serve', { executionArn: event.executionArn, account: event.account });
    return finish(event, decision, null, { action: 'skipped' }, deps, options);
  }
  const now = deps.clock();
  let snapshot = await deps.policies.snapshot(now);
  let resolution = resolvePolicy(snapshot, event.stateMachineArn);
  // About to skip for a reason a person may just have fixed (a new or re-enabled policy, a
  // resume)? Then the cached copy is worth re-reading, at most every few seconds.
  const soft = resolution.kind !== 'found' || !resolution.policy.enabled || snapshot.pause.paused;
  if (soft && now - snapshot.loadedAt > SOFT_SKIP_REFRESH_MS) {
    snapshot = await deps.policies.refresh(now);
    resolution = resolvePolicy(snapshot, event.stateMachineArn);
  }

  let failures: FailureRecord[] = [];
  let current: CurrentExecution | null = options.current ?? null;
  const policy = resolution.kind === 'found' && resolution.policy.enabled ? resolution.policy : undefined;
  if (policy) {
    failures = await deps.ledger.failuresOf(event.executionArn);
    if (!current && mayBeStale(event, now, deps.config.staleEventAfterSeconds * 1000)) {
      const described = await checkExecution(event.executionArn, deps);
      if (!described) {
        const decision: Decision = {
          decision: 'skip',
          reason: 'not-redrivable',
          policyKey: policy.key,
          redriveCount: event.redriveCount,
          errorName: event.error,
          detail: 'Step Functions says: ExecutionDoesNotExist',
        };
        return finish(event, decision, null, { action: 'skipped' }, deps, options);
      }
      current = described;
    }
  }

  const redriveCount = event.redriveCount ?? current?.redriveCount ?? null;
  const thisRecord = redriveCount === null ? undefined : failures.find((f) => f.redriveCount === redriveCount);
  const facts: ExecutionFacts = {
    paused: snapshot.pause.paused,
    highestRecordedFailure: failures.length ? Math.max(...failures.map((f) => f.redriveCount)) : null,
    thisFailure: thisRecord ? toRecordState(thisRecord) : null,
    current,
  };
  const decision = decide(event, resolution, facts, now);

  if (
    options.quietIfUnchanged &&
    decision.decision === 'skip' &&
    thisRecord?.state === 'skipped' &&
    thisRecord.reason === decision.reason
  ) {
    return { decision, executionArn: event.executionArn, eventId: event.eventId, source: options.source, action: 'skipped', unchanged: true };
  }

  // Only a failure gets a failure record: a skip of a RUNNING or SUCCEEDED event (a rule
  // sending more than it should) must not mark that run's later failure as already decided,
  // or the reconciliation sweep would pass over it if its own event were lost.
  const failureFacts: FailureFacts | null =
    redriveCount === null || !(REDRIVABLE_STATUSES as readonly string[]).includes(event.status)
      ? null
      : {
          executionArn: event.executionArn,
          redriveCount,
          stateMachineArn: event.stateMachineArn,
          account: event.account,
          region: event.region,
          name: event.name,
          status: event.status,
          startDate: event.startDate,
          stopDate: event.stopDate ?? current?.stopDate ?? null,
          errorName: decision.errorName,
          cause: event.cause,
          policyKey: decision.policyKey,
        };
  if (options.decideOnly) {
    return { decision, executionArn: event.executionArn, eventId: event.eventId, source: options.source, action: 'skipped', actionDetail: 'decide only' };
  }
  if (thisRecord?.state === 'claimed' && (thisRecord.claimExpiresAt ?? 0) <= now && current && current.redriveCount > thisRecord.redriveCount) {
    // An abandoned claim whose redrive went through before its process died: record it as
    // redriven, as the drain does, not as the stale-event skip decided below.
    const claim = await deps.ledger.claim(thisRecord, now, deps.claimTimeoutMs);
    if (claim) await deps.ledger.markRedriven(claim, now);
    deps.log.info('abandoned claim had already redriven the execution', { executionArn: event.executionArn, redriveCount: thisRecord.redriveCount });
  }
  const action = await carryOut(decision, failureFacts, deps);
  // Owners hear about a give-up once, not once per duplicate delivery.
  const repeated = thisRecord?.state === 'skipped' && thisRecord.reason === decision.reason;
  return finish(event, decision, repeated ? null : failureFacts, action, deps, options);
}

/** DescribeExecution under the controller-wide describe rate. undefined = no such execution. */
export async function checkExecution(executionArn: string, deps: ControllerDeps): Promise<DescribedExecution | undefined> {
  // Waiting longer than for a redrive slot is fine here: stale checks are rare.
  const grant = await deps.describeRate.acquire(deps.maxRateWaitMs * 4);
  if (!grant.granted) throw new DependencyBusyError('DescribeExecution', executionArn);
  const wait = grant.at - deps.clock();
  if (wait > 0) await deps.sleep(wait);
  return deps.stepFunctions.describe(executionArn);
}

async function finish(
  event: StatusChange,
  decision: Decision,
  /** null: do not notify owners (unknown failure, or already notified). */
  facts: FailureFacts | null,
  action: ActionOutcome,
  deps: ControllerDeps,
  options: ProcessOptions,
): Promise<Outcome> {
  const at = deps.clock();
  await deps.audit.record({
    at,
    executionArn: event.executionArn,
    stateMachineArn: event.stateMachineArn,
    eventId: event.eventId,
    source: options.source,
    redriveCount: decision.redriveCount,
    status: event.status,
    errorName: decision.errorName,
    decision: decision.decision,
    reason: decision.reason,
    detail: decision.detail,
    policyKey: decision.policyKey,
    action: action.action,
    actionDetail: action.actionDetail,
    dueAt: action.dueAt,
  });
  deps.log.info('decision', {
    executionArn: event.executionArn,
    stateMachineArn: event.stateMachineArn,
    eventId: event.eventId,
    source: options.source,
    status: event.status,
    redriveCount: decision.redriveCount,
    errorName: decision.errorName,
    decision: decision.decision,
    reason: decision.reason,
    policyKey: decision.policyKey,
    action: action.action,
    actionDetail: action.actionDetail,
    dueAt: action.dueAt === undefined ? undefined : new Date(action.dueAt).toISOString(),
    detail: decision.detail,
  });
  deps.metrics.count(METRIC.decisions, { [DIMENSION.outcome]: decision.decision, [DIMENSION.reason]: decision.reason });
  if (decision.decision === 'skip' && decision.reason === 'limit-reached') deps.metrics.count(METRIC.exhaustions);
  if (decision.decision === 'skip' && NOTEWORTHY_SKIPS.includes(decision.reason) && facts && deps.notifier) {
    await deps.notifier.notify(decision, facts, event.cause);
  }
  return { decision, executionArn: event.executionArn, eventId: event.eventId, source: options.source, ...action };
}

async function recordMalformed(error: MalformedEventError, deps: ControllerDeps, source: DecisionSource): Promise<Outcome> {
  const decision: Decision = {
    decision: 'skip',
    reason: 'malformed-event',
    policyKey: null,
    redriveCount: null,
    errorName: null,
    detail: error.problems.join('; '),
  };
  // Field paths and messages only: never the event's values.
  deps.log.error('malformed status-change event; not retried (it would fail the same way)', {
    eventId: error.eventId ?? null,
    problems: error.problems,
  });
  deps.metrics.count(METRIC.malformedEvents);
  deps.metrics.count(METRIC.decisions, { [DIMENSION.outcome]: 'skip', [DIMENSION.reason]: 'malformed-event' });
  await deps.audit.record({
    at: deps.clock(),
    executionArn: null,
    stateMachineArn: null,
    eventId: error.eventId ?? null,
    source,
    redriveCount: null,
    status: null,
    errorName: null,
    decision: 'skip',
    reason: 'malformed-event',
    detail: decision.detail,
    policyKey: null,
    action: 'skipped',
  });
  return { decision, executionArn: null, eventId: error.eventId ?? null, source, action: 'skipped' };
}
