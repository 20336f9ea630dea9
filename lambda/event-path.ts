/**
 * The event path: what the controller does with one status-change event,
 *   parse -> gather facts (policy, ledger, DescribeExecution) -> decide -> act -> record,
 * each step a function below, in that order. (The Lambda entry point that calls it is
 * handlers/controller.ts.)
 * The drain, the reconciliation sweep, `redrivectl backfill` and `dlq replay` all come
 * through `processStatusChange`, so every path decides with the same `decide()` and
 * leaves the same audit trail.
 */
import { isCanaryArn } from '../contract/canary';
import { REDRIVABLE_STATUSES } from '../contract/event-pattern';
import { carryOut, type ActionOutcome, type CarriedOut, type DecisionEntry, holdClaimed, redriveClaimed } from './act/carry-out';
import type { DescribedExecution } from './act/step-functions';
import { takeSlot } from './act/rate-limiter';
import { decide } from './decide/decide';
import {
  type CurrentExecution,
  type Decision,
  type DecisionSubject,
  type ExecutionFacts,
  NOTEWORTHY_SKIPS,
  type PolicyResolution,
  skipDecision,
} from './decide/decision';
import { type MalformedEventError, parseStatusChange, type StatusChange } from './event/status-change';
import { METRIC } from '../contract/metrics';
import { type PolicySnapshot, resolvePolicy } from './policy/policy-source';
import type { DecisionSource } from './record/audit-trail';
import { countDecision, decisionRecord, type Subject } from './record/decision-record';
export type { DecisionRecord } from './record/decision-record';
import { type FailureFacts, type FailureRecord, keptApproval, mayStillBeRedriven, toRecordState } from './record/failure-ledger';
import { gateByBreaker, observeRedriveSuccess } from './act/breaker-gate';
import { canaryMetrics, recordCanaryRecovery } from './record/canary-status';
import { requestApprovalIfHeld } from './approval/request';
import { gateByBudget } from './act/budget-gate';
import { FailedStateSource, type HistoryBusy, isHistoryBusy, NO_EXECUTION } from './facts/failed-state-source';
import { historyBusyDecision, usesFailedState } from './decide/state-scope';
import { settleRecordedIfNotServed } from './unserved-failure';

export type { ControllerDeps, Outcome, ProcessOptions } from './controller-deps';
import type { ControllerDeps, Outcome, ProcessOptions } from './controller-deps';

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

/**
 * One status-change event, as the pipeline: gather the facts, decide, act, record.
 * Two questions are answered before `decide()` runs, because answering them is fact
 * gathering (an account this controller does not serve, an execution that no longer
 * exists); they are recorded like any other skip. A recorded failure whose account or
 * Region is no longer served is settled then too (unserved-failure.ts).
 */
export async function processStatusChange(event: StatusChange, deps: ControllerDeps, options: ProcessOptions): Promise<Outcome> {
  if (!isCanaryArn(event.stateMachineArn)) return processEvent(event, deps, options);
  // A canary: the normal path, but only its own metrics; its success is a recovery (record/canary-status.ts).
  const canaryDeps: ControllerDeps = { ...deps, metrics: canaryMetrics(deps.metrics) };
  if (event.status !== 'SUCCEEDED') return processEvent(event, canaryDeps, options);
  const result = await recordCanaryRecovery(event, canaryDeps, options.decideOnly);
  const decision = skipDecision('status-not-covered', `canary succeeded after redrive ${event.redriveCount ?? 0}; nothing to redrive`, subjectOf(event, null));
  return outcomeOf(event, decision, options.source, { action: 'skipped', actionDetail: `canary recovery ${result}` });
}

async function processEvent(event: StatusChange, deps: ControllerDeps, options: ProcessOptions): Promise<Outcome> {
  if (event.status === 'SUCCEEDED' && (event.redriveCount ?? 0) > 0) return redriveSucceeded(event, deps, options);
  // A delivered event whose history read finds the rate full hands the failure to the drain
  // (historyBusy below); other paths keep their record due and try again (the throw).
  const failedStates = new FailedStateSource(event, deps, FRESH_SOURCES.has(options.source) ? 'hand-over' : () => new DependencyBusyError('GetExecutionHistory', event.executionArn));
  const fresh = await redriveFreshFailure(event, deps, options);
  if (fresh) return fresh;
  const gathered = await gatherFacts(event, deps, options, failedStates);
  if (gathered.kind === 'settled') return gathered.outcome;
  if (gathered.kind === 'answered') return record(event, gathered.decision, { action: 'skipped' }, null, deps, options.source);
  if (gathered.historyBusy) return handOverToDrain(event, gathered, gathered.historyBusy, deps, options);

  const decision = await gateByBudget(await gateByBreaker(decide(event, gathered.resolution, gathered.execution, gathered.now), { ...gathered, event, ...options }, deps), { ...gathered, event, ...options }, deps);
  const repeatsSkip = repeatsRecordedSkip(decision, gathered.thisRecord);
  if (options.quietIfUnchanged && repeatsSkip) return outcomeOf(event, decision, options.source, { action: 'skipped', unchanged: true });
  if (options.decideOnly) return outcomeOf(event, decision, options.source, { action: 'skipped', actionDetail: 'decide only' });

  const failure = failureFactsOf(event, decision, gathered);
  if (failure && failure.redriveCount >= 1 && gathered.readLedger && !gathered.recordZero) await deps.ledger.supersede(failure, gathered.now);
  // A pause is temporary by nature: a failure skipped while paused is parked too, so the
  // drain decides it again after the resume however long the pause lasted (the sweep looks
  // back only so far).
  const pausedNow = decision.decision === 'skip' && decision.reason === 'paused';
  const park = options.parkIfNotNow === true || mayStillBeRedriven(gathered.thisRecord) || pausedNow;
  const action = await act(decision, failure, gathered, deps, entryOf(event, decision, options.source), park);
  // Owners hear about a give-up once, not once per duplicate delivery.
  const outcome = await record(event, decision, action, repeatsSkip ? null : failure, deps, options.source);
  await requestApprovalIfHeld(decision, action.action, failure, gathered.thisRecord, gathered.resolution, event.cause, deps);
  return outcome;
}

// ---- gather facts --------------------------------------------------------------------

/** What the event path knows before deciding. */
interface Facts {
  readonly kind: 'facts';
  readonly now: number;
  readonly resolution: PolicyResolution;
  readonly execution: ExecutionFacts;
  /** The failure's redriveCount: from the event, else from DescribeExecution. */
  readonly redriveCount: number | null;
  /** The ledger record of this very failure, as stored. */
  readonly thisRecord: FailureRecord | undefined;
  /** The execution's failure records (empty when no enabled policy applies), without superseded ones. */
  readonly failures: readonly FailureRecord[];
  /** The ledger was read (an enabled policy applies). */
  readonly readLedger: boolean;
  /** The ledger holds the execution's record 0 (failure-ledger.ts: the invariant of `claimNew`). */
  readonly recordZero: boolean;
  /** The failed state a state-scoped policy needs could not be read now (the history rate is full). */
  readonly historyBusy?: HistoryBusy;
}

/** A skip settled while gathering facts, before `decide()`. */
interface Answered {
  readonly kind: 'answered';
  readonly decision: Decision;
}

/** A recorded failure settled while gathering facts (unserved-failure.ts), its outcome recorded there. */
interface Settled {
  readonly kind: 'settled';
  readonly outcome: Outcome;
}

/** The subject of a skip decided from the event alone. */
const subjectOf = (event: StatusChange, policyKey: string | null): DecisionSubject => ({ policyKey, redriveCount: event.redriveCount, errorName: event.error });

async function gatherFacts(event: StatusChange, deps: ControllerDeps, options: ProcessOptions, failedStates: FailedStateSource): Promise<Facts | Answered | Settled> {
  // A recorded failure no longer served is given up once, whichever path carries it out
  // (drain, parked, release, probe), not skipped again on every run.
  const settled = options.decideOnly ? undefined : await settleRecordedIfNotServed(event, options.source, deps);
  if (settled) return { kind: 'settled', outcome: settled };
  if (deps.accounts && !deps.accounts.allows(event.account)) {
    // The parser already checked that the ARN names the same account as the envelope.
    deps.log.warn('event from an account this controller does not serve', { executionArn: event.executionArn, account: event.account });
    const detail = `account ${event.account} is not one this controller serves (MEMBER_ACCOUNTS)`;
    return { kind: 'answered', decision: skipDecision('unknown-account', detail, subjectOf(event, null)) };
  }
  const now = deps.clock();
  const { snapshot, resolution } = await policyFor(event, now, deps);

  let failures: FailureRecord[] = [];
  let current: CurrentExecution | null = options.current ?? null;
  const policy = resolution.kind === 'found' && resolution.policy.enabled ? resolution.policy : undefined;
  if (policy) {
    failures = await deps.ledger.failuresOf(event.executionArn);
    if (!current && mayBeStale(event, now, deps.config.staleEventAfterSeconds * 1000)) {
      const described = await checkExecution(event.executionArn, deps);
      if (!described) {
        return { kind: 'answered', decision: skipDecision('not-redrivable', 'Step Functions says: ExecutionDoesNotExist', subjectOf(event, policy.key)) };
      }
      current = described;
    }
  }

  const redriveCount = event.redriveCount ?? current?.redriveCount ?? null;
  const thisRecord = redriveCount === null ? undefined : failures.find((f) => f.redriveCount === redriveCount);
  // Stored with the failure by the path that read it first; a redriven failure needs it no more.
  const answer = thisRecord?.state === 'redriven' ? undefined : await failedStates.for(policy, thisRecord);
  const historyBusy = answer !== undefined && isHistoryBusy(answer) ? answer : undefined;
  const failedState = historyBusy ? undefined : (answer as Exclude<typeof answer, HistoryBusy>);
  if (failedState === NO_EXECUTION) {
    return { kind: 'answered', decision: skipDecision('not-redrivable', 'Step Functions says: ExecutionDoesNotExist', subjectOf(event, policy?.key ?? null)) };
  }
  const execution: ExecutionFacts = {
    paused: snapshot.pause.paused,
    highestRecordedFailure: failures.length ? Math.max(...failures.map((f) => f.redriveCount)) : null,
    thisFailure: thisRecord ? toRecordState(thisRecord) : null,
    current,
    releasedByHand: options.releasedByHand,
    approvedBy: thisRecord?.approvedBy,
    ...(failedState ? { failedState } : {}),
  };
  // A superseded record 0 stands for no failure the breaker or the probe rotation should count.
  const counted = failures.filter((f) => f.supersededBy === undefined);
  const recordZero = failures.some((f) => f.redriveCount === 0);
  return { kind: 'facts', now, resolution, execution, redriveCount, thisRecord, failures: counted, readLedger: policy !== undefined, recordZero, ...(historyBusy ? { historyBusy } : {}) };
}

/**
 * A state-scoped failure whose history the rate could not read now: stored pending (reason
 * history-busy) for the drain to decide through the same path, reading the history once
 * under the same rate. A throw would send the event through Lambda's retries to the DLQ
 * while the rate is merely full, each retry arriving stale (a DescribeExecution each).
 */
async function handOverToDrain(event: StatusChange, facts: Facts, busy: HistoryBusy, deps: ControllerDeps, options: ProcessOptions): Promise<Outcome> {
  if (facts.redriveCount === null) throw new DependencyBusyError('GetExecutionHistory', event.executionArn);
  const policyKey = facts.resolution.kind === 'found' ? facts.resolution.policy.key : null;
  const decision = historyBusyDecision({ policyKey, redriveCount: facts.redriveCount, errorName: event.error }, busy.retryAt, facts.now, deps.maxRateWaitMs * 4);
  deps.metrics.count(METRIC.deferrals, { Reason: 'history-busy' });
  const action = await act(decision, failureFactsOf(event, decision, facts), facts, deps, entryOf(event, decision, options.source), false);
  return record(event, decision, action, null, deps, options.source);
}

/** Decision sources that deliver events, the only ones that can be about a failure the ledger has never seen. */
const FRESH_SOURCES: ReadonlySet<DecisionSource> = new Set(['event', 'replay']);

/**
 * The first event of a fresh failure (redriveCount 0, recent, a policy that redrives it at
 * once): claimed with no read first (`claimNew`). Its decision is the one the read-first
 * path makes, because a claimNew that succeeds found no record of the execution at all
 * (the invariant in failure-ledger.ts). With the policy's breaker on, the failure is
 * counted after the claim (a doubled event, whose claim fails, is not counted twice), and
 * the claim is held instead when the breaker is open: claim, count, then one write that
 * settles the claim (redriven or held) with its audit entry. undefined: not such a
 * failure, or the ledger has a record of it; the caller reads the history and decides.
 */
async function redriveFreshFailure(event: StatusChange, deps: ControllerDeps, options: ProcessOptions): Promise<Outcome | undefined> {
  if (deps.readLedgerFirst || options.current || options.decideOnly || options.releasedByHand) return undefined;
  // Only a delivered event can be about a failure the ledger has never seen; the drain,
  // releases, probes and backfill carry out decisions about records that exist (a claim
  // attempt would only fail its condition).
  if (!FRESH_SOURCES.has(options.source)) return undefined;
  if (event.redriveCount !== 0 || (deps.accounts && !deps.accounts.allows(event.account))) return undefined;
  const now = deps.clock();
  if (mayBeStale(event, now, deps.config.staleEventAfterSeconds * 1000)) return undefined;
  const { snapshot, resolution } = await policyFor(event, now, deps);
  // A state-scoped policy decides with the failed state, which a record of this failure may
  // already hold (a doubled event): read the ledger first, so the history is read once.
  if (resolution.kind !== 'found' || !resolution.policy.enabled || usesFailedState(resolution.policy)) return undefined;
  const execution: ExecutionFacts = { paused: snapshot.pause.paused, highestRecordedFailure: null, thisFailure: null, current: null };
  const facts: Facts = { kind: 'facts', now, resolution, execution, redriveCount: 0, thisRecord: undefined, failures: [], readLedger: true, recordZero: false };
  const decision = decide(event, resolution, execution, now);
  const failure = failureFactsOf(event, decision, facts);
  if (decision.decision !== 'redrive' || !failure) return undefined;
  const claim = await deps.ledger.claimNew(failure, now, deps.claimTimeoutMs);
  if (!claim) return undefined;
  const gated = await gateByBudget(await gateByBreaker(decision, { event, resolution, failures: [], thisRecord: undefined, source: options.source, now, claimed: true }, deps), { event, resolution, now }, deps);
  const entry = entryOf(event, gated, options.source);
  const action = gated.decision === 'hold' ? await holdClaimed(claim, failure, gated, deps, entry) : await redriveClaimed(claim, failure, deps, undefined, entry);
  return record(event, gated, action, failure, deps, options.source);
}

/**
 * A redriven execution succeeded (the rule forwards these for the breaker's evidence,
 * contract/event-pattern.ts). Nothing to decide and nothing written to the ledger or the
 * audit trail: a metric, and the evidence for the group's breaker (act/breaker-gate.ts),
 * which costs no call while the group is healthy.
 */
async function redriveSucceeded(event: StatusChange, deps: ControllerDeps, options: ProcessOptions): Promise<Outcome> {
  deps.metrics.count(METRIC.redrivesSucceeded);
  const decision = skipDecision('status-not-covered', `redrive ${event.redriveCount} succeeded; nothing to redrive`, subjectOf(event, null));
  if (!options.decideOnly) {
    const { resolution } = await policyFor(event, deps.clock(), deps);
    if (resolution.kind === 'found' && resolution.policy.enabled) await observeRedriveSuccess(event, resolution.policy, deps);
  }
  return outcomeOf(event, decision, options.source, { action: 'skipped', actionDetail: 'redrive succeeded' });
}

/** The policy for the event's state machine, re-read first when a fresher copy might not skip. */
async function policyFor(event: StatusChange, now: number, deps: ControllerDeps): Promise<{ snapshot: PolicySnapshot; resolution: PolicyResolution }> {
  let snapshot = await deps.policies.snapshot(now);
  let resolution = resolvePolicy(snapshot, event.stateMachineArn);
  // About to skip for a reason a person may just have fixed (a new or re-enabled policy, a
  // resume)? Then the cached copy is worth re-reading, at most every few seconds.
  const soft = resolution.kind !== 'found' || !resolution.policy.enabled || snapshot.pause.paused;
  if (soft && now - snapshot.loadedAt > SOFT_SKIP_REFRESH_MS) {
    snapshot = await deps.policies.refresh(now);
    resolution = resolvePolicy(snapshot, event.stateMachineArn);
  }
  return { snapshot, resolution };
}

/** The same skip, for the same reason, is already on record for this failure. */
function repeatsRecordedSkip(decision: Decision, thisRecord: FailureRecord | undefined): boolean {
  return decision.decision === 'skip' && thisRecord?.state === 'skipped' && thisRecord.reason === decision.reason;
}

/**
 * What the ledger keeps about this failure. Only a failure gets a failure record: a skip
 * of a RUNNING or SUCCEEDED event (a rule sending more than it should) must not mark that
 * run's later failure as already decided, or the reconciliation sweep would pass over it
 * if its own event were lost.
 */
function failureFactsOf(event: StatusChange, decision: Decision, facts: Facts): FailureFacts | null {
  if (facts.redriveCount === null || !(REDRIVABLE_STATUSES as readonly string[]).includes(event.status)) return null;
  return {
    executionArn: event.executionArn,
    redriveCount: facts.redriveCount,
    stateMachineArn: event.stateMachineArn,
    account: event.account,
    region: event.region,
    name: event.name,
    status: event.status,
    startDate: event.startDate,
    stopDate: event.stopDate ?? facts.execution.current?.stopDate ?? null,
    errorName: decision.errorName,
    cause: event.cause,
    policyKey: decision.policyKey,
    ...probesOf(facts.failures, facts.redriveCount),
    ...keptApproval(facts.thisRecord),
    ...(facts.execution.failedState ? { failedState: facts.execution.failedState } : {}),
  };
}

/**
 * The execution's earlier failures redriven as breaker probes (only when there were any:
 * records stay as they were). A probe that fails at once can report before its record is
 * marked (probeToken): a held record still claimed is counted too (a probe, or rarely a
 * release; only the probe rotation reads this).
 */
function probesOf(failures: readonly FailureRecord[], redriveCount: number): { probes?: number } {
  const probed = (f: FailureRecord) => f.probeToken !== undefined || (f.state === 'claimed' && f.heldAt !== undefined);
  const probes = failures.filter((f) => f.redriveCount < redriveCount && probed(f)).length;
  return probes > 0 ? { probes } : {};
}

// ---- act -----------------------------------------------------------------------------

async function act(decision: Decision, failure: FailureFacts | null, facts: Facts, deps: ControllerDeps, entry: DecisionEntry, park: boolean): Promise<CarriedOut> {
  await settleAbandonedRedrive(facts, deps);
  // The ledger was read and has no record of this failure: its first write takes the audit entry.
  return carryOut(decision, failure, deps, entry, facts.thisRecord?.decisions, facts.readLedger && !facts.thisRecord, park);
}

/**
 * An abandoned claim whose redrive went through before its process died: record it as
 * redriven, as the drain does, not as the stale-event skip `decide()` returns for it.
 */
async function settleAbandonedRedrive({ thisRecord, now, execution: { current } }: Facts, deps: ControllerDeps): Promise<void> {
  if (thisRecord?.state !== 'claimed' || (thisRecord.claimExpiresAt ?? 0) > now || !current || current.redriveCount <= thisRecord.redriveCount) return;
  const claim = await deps.ledger.claim(thisRecord, now, deps.claimTimeoutMs);
  if (claim) await deps.ledger.markRedriven(claim, now);
  deps.log.info('abandoned claim had already redriven the execution', { executionArn: thisRecord.executionArn, redriveCount: thisRecord.redriveCount });
}

/** DescribeExecution under the controller-wide describe rate. undefined = no such execution. */
export async function checkExecution(executionArn: string, deps: ControllerDeps): Promise<DescribedExecution | undefined> {
  // Waiting longer than for a redrive slot is fine here: stale checks are rare.
  const grant = await takeSlot(deps.describeRate, deps.maxRateWaitMs * 4, deps);
  if (!grant.granted) throw new DependencyBusyError('DescribeExecution', executionArn);
  return deps.stepFunctions.describe(executionArn);
}

// ---- record --------------------------------------------------------------------------

function outcomeOf(subject: Subject, decision: Decision, source: DecisionSource, action: ActionOutcome & { unchanged?: boolean }): Outcome {
  return { decision, executionArn: subject.executionArn, eventId: subject.eventId, source, ...action };
}

/** The decision's audit entry once its outcome is known (stored with the write that settles a claim). */
const entryOf =
  (event: StatusChange, decision: Decision, source: DecisionSource): DecisionEntry =>
  (action, at) => ({ at, ...decisionRecord(event, decision, action, source) });


async function record(
  event: StatusChange,
  decision: Decision,
  carriedOut: CarriedOut,
  /** null: do not notify owners (unknown failure, or already notified). */
  failure: FailureFacts | null,
  deps: ControllerDeps,
  source: DecisionSource,
): Promise<Outcome> {
  const { audited, ...action } = carriedOut;
  const entry = decisionRecord(event, decision, action, source);
  // Stored with the ledger write that settled the claim: only counted here.
  if (audited) await deps.audit.counted({ at: deps.clock(), ...entry });
  else await deps.audit.record({ at: deps.clock(), ...entry });
  deps.log.info('decision', { ...entry, dueAt: entry.dueAt === undefined ? undefined : new Date(entry.dueAt).toISOString() });
  countDecision(decision, deps.metrics);
  if (decision.decision === 'skip' && NOTEWORTHY_SKIPS.includes(decision.reason) && failure && deps.notifier) {
    await deps.notifier.notify(decision, failure, event.cause);
  }
  return outcomeOf(event, decision, source, action);
}

async function recordMalformed(error: MalformedEventError, deps: ControllerDeps, source: DecisionSource): Promise<Outcome> {
  const decision = skipDecision('malformed-event', error.problems.join('; '), { policyKey: null, redriveCount: null, errorName: null });
  const subject: Subject = { executionArn: null, stateMachineArn: null, eventId: error.eventId ?? null, status: null };
  // Field paths and messages only: never the event's values.
  deps.log.error('malformed status-change event; not retried (it would fail the same way)', {
    eventId: error.eventId ?? null,
    problems: error.problems,
  });
  deps.metrics.count(METRIC.malformedEvents);
  countDecision(decision, deps.metrics);
  const action: ActionOutcome = { action: 'skipped' };
  await deps.audit.record({ at: deps.clock(), ...decisionRecord(subject, decision, action, source) });
  return outcomeOf(subject, decision, source, action);
}
