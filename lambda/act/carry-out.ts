/**
 * Carries out a decision against the ledger and Step Functions. Only the holder of a
 * ledger claim calls RedriveExecution, at a slot granted by the controller-wide rate
 * limiter, with the failure's deterministic clientToken. Anything transient (rate limit,
 * throttling or 5xx after the SDK's retries) turns the claim back into a pending redrive:
 * a deferral, never a lost failure.
 */
import { type Decision, RECONSIDERABLE_SKIPS } from '../decide/decision';
import { type Claim, type FailureFacts, type FailureLedger, heldSince, settlesWithDecision } from '../record/failure-ledger';
import type { ActionResult, AuditEntry } from '../record/audit-trail';
import { DIMENSION, METRIC } from '../../contract/metrics';
import { HELD_EXHAUSTED_SHARD, heldShard } from '../../contract/breaker';
import { AWAITING_APPROVAL, HELD_APPROVAL_SHARD } from '../../contract/approval';
import { HELD_BUDGET_SHARD } from '../../contract/budget';
import type { Log, MetricsRecorder } from '../observability/telemetry';
import { redriveClientToken } from './client-token';
import { type RateLimiter, takeSlot } from './rate-limiter';
import type { StepFunctionsGateway } from './step-functions';

export interface ActDeps {
  readonly ledger: FailureLedger;
  readonly stepFunctions: StepFunctionsGateway;
  readonly redriveRate: RateLimiter;
  readonly clock: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly log: Log;
  readonly metrics: MetricsRecorder;
  readonly maxRateWaitMs: number;
  readonly claimTimeoutMs: number;
}

export interface ActionOutcome {
  readonly action: ActionResult;
  readonly actionDetail?: string;
  readonly dueAt?: number;
}

/**
 * The audit entry of the decision being carried out, once its outcome is known: given, the
 * write that settles the claim stores it too (failure-ledger.ts), and `audited` says so.
 */
export type DecisionEntry = (action: ActionOutcome, at: number) => AuditEntry;

export interface CarriedOut extends ActionOutcome {
  /** The audit entry was stored with the ledger write: the caller only counts it. */
  readonly audited?: boolean;
}

/**
 * Skips that leave the failure record alone: it is someone else's to settle. Every other
 * skip is written, guarded by the ledger's condition (a redriven record is never
 * overwritten, a pending one only once due).
 */
const UNRECORDED_SKIPS = new Set(['already-handled', 'malformed-event']);

/**
 * Retry delay after an error that survived the SDK's own retries: 30 s, doubling per
 * attempt of this failure, capped at one hour. Throttling and 5xx clear quickly; an error
 * that does not (AccessDenied on our own role, a KMS problem) keeps the failure pending,
 * visibly (backlog-age alarm), without hammering the API.
 */
export function transientRetryMs(attempts: number): number {
  return Math.min(3_600_000, 30_000 * 2 ** Math.max(0, Math.min(attempts - 1, 20)));
}

/**
 * `entry`: the decision's audit entry, stored with the write that settles a claim, and
 * with the first write of a failure the caller found no record of (`firstWrite`);
 * `decisions`: the audit entries the failure's record already holds (kept by a schedule).
 */
export async function carryOut(
  decision: Decision,
  facts: FailureFacts | null,
  deps: ActDeps,
  entry?: DecisionEntry,
  decisions?: readonly AuditEntry[],
  firstWrite = false,
  /** The failure may still be redriven: a skip "for now" parks it (FailureLedger.park). */
  parkIfNotNow = false,
): Promise<CarriedOut> {
  const now = deps.clock();
  /** The entry for the first write, if it takes one; `audited` if it was stored. */
  const first = (outcome: ActionOutcome) => (firstWrite && entry ? entry(outcome, now) : undefined);
  const audited = (outcome: ActionOutcome, stored: boolean): CarriedOut => (stored && firstWrite && entry ? { ...outcome, audited: true } : outcome);
  if (decision.decision === 'skip') {
    const outcome: ActionOutcome = { action: decision.reason === 'dry-run' ? 'dry-run' : 'skipped' };
    if (!facts || UNRECORDED_SKIPS.has(decision.reason)) return outcome;
    if (parkIfNotNow && RECONSIDERABLE_SKIPS.includes(decision.reason)) return audited(outcome, await deps.ledger.park(facts, decision.reason, now, first(outcome)));
    return audited(outcome, await deps.ledger.skip(facts, decision.reason, now, first(outcome)));
  }
  if (!facts) throw new Error(`decision ${decision.decision} without failure facts`);
  if (decision.decision === 'hold') {
    const outcome: ActionOutcome = { action: 'held' };
    if (!(await deps.ledger.hold(facts, decision.reason, heldFamilyOf(decision, facts), now, first(outcome)))) {
      return { action: 'lost-race', actionDetail: 'this failure is already claimed or done' };
    }
    deps.metrics.count(METRIC.heldFailures, { [DIMENSION.reason]: decision.reason });
    return audited(outcome, true);
  }
  if (decision.decision === 'redrive-later') {
    const outcome: ActionOutcome = { action: 'scheduled', dueAt: decision.dueAt };
    const stored = await deps.ledger.schedule(facts, decision.dueAt, now, decisions, first(outcome), decision.reason);
    return stored ? audited(outcome, true) : { action: 'lost-race', actionDetail: 'this failure is already pending, claimed or done' };
  }
  return redriveNow(facts, deps, undefined, entry);
}

/** The held family a hold decision lists the failure in (contract/breaker.ts). */
const heldFamilyOf = (decision: Decision, facts: FailureFacts) =>
  decision.reason === 'exhausted' ? HELD_EXHAUSTED_SHARD : decision.reason === AWAITING_APPROVAL ? HELD_APPROVAL_SHARD : decision.reason === 'over-budget' ? HELD_BUDGET_SHARD : heldShard(facts);

/**
 * Holds a failure this invocation has claimed (the event path's claim of a fresh failure,
 * which an open breaker holds), with the decision's audit entry in the same write.
 */
export async function holdClaimed(claim: Claim, facts: FailureFacts, decision: Decision, deps: ActDeps, entry?: DecisionEntry): Promise<CarriedOut> {
  const { carriedOut, written } = await settleWithEntry(claim, deps, entry, { action: 'held' }, (stored, at) =>
    deps.ledger.holdClaim(claim, decision.reason, heldFamilyOf(decision, facts), heldSince(facts, at), at, stored),
  );
  if (!written) return { action: 'lost-race', actionDetail: 'the claim expired and another invocation took this failure over' };
  deps.metrics.count(METRIC.heldFailures, { [DIMENSION.reason]: decision.reason });
  return carriedOut;
}

/**
 * Settles a claim with `write`, which stores the decision's audit entry too when `entry` is
 * given and the claim may carry it (`audited` then). `written`: the write was applied.
 */
async function settleWithEntry(
  claim: Claim,
  deps: ActDeps,
  entry: DecisionEntry | undefined,
  outcome: ActionOutcome,
  write: (decision: AuditEntry | undefined, at: number) => Promise<boolean>,
): Promise<{ carriedOut: CarriedOut; written: boolean }> {
  const withEntry = entry !== undefined && settlesWithDecision(claim);
  const at = deps.clock();
  const written = await write(withEntry ? entry(outcome, at) : undefined, at);
  return { carriedOut: written && withEntry ? { ...outcome, audited: true } : outcome, written };
}

/**
 * Claims the failure, waits for a rate slot, redrives. `probeToken`: the redrive is a
 * breaker probe (marked on the record, so its next failure reports to the breaker).
 */
export async function redriveNow(facts: FailureFacts, deps: ActDeps, probeToken?: string, entry?: DecisionEntry): Promise<CarriedOut> {
  const claim = await deps.ledger.claim(facts, deps.clock(), deps.claimTimeoutMs);
  if (!claim) return { action: 'lost-race', actionDetail: 'another invocation claimed this failure first' };
  return redriveClaimed(claim, facts, deps, probeToken, entry);
}

/**
 * Redrives a failure whose claim this invocation holds (`redriveNow`, or the event path's
 * claim of a fresh failure), and settles the claim: with the decision's audit entry in the
 * same write when `entry` is given and the claim may carry it.
 */
export async function redriveClaimed(claim: Claim, facts: FailureFacts, deps: ActDeps, probeToken?: string, entry?: DecisionEntry): Promise<CarriedOut> {
  const settle = async (outcome: ActionOutcome, write: (decision: AuditEntry | undefined, at: number) => Promise<boolean>): Promise<CarriedOut> =>
    (await settleWithEntry(claim, deps, entry, outcome, write)).carriedOut;

  const grant = await takeSlot(deps.redriveRate, deps.maxRateWaitMs, deps);
  if (!grant.granted) {
    deps.metrics.count(METRIC.deferrals, { Reason: 'rate-limited' });
    const outcome: ActionOutcome = { action: 'deferred', actionDetail: 'controller redrive rate reached', dueAt: grant.retryAt };
    return settle(outcome, (decision, at) => deps.ledger.defer(claim, grant.retryAt, 'rate-limited', at, decision));
  }

  const started = deps.clock();
  const result = await deps.stepFunctions.redrive(facts.executionArn, redriveClientToken(facts.executionArn, facts.redriveCount));
  deps.metrics.milliseconds(METRIC.redriveLatency, deps.clock() - started);

  switch (result.kind) {
    case 'redriven': {
      deps.metrics.count(METRIC.redrives);
      const outcome: ActionOutcome = { action: 'redriven', actionDetail: `redriveCount ${facts.redriveCount} -> ${facts.redriveCount + 1}` };
      const { carriedOut, written } = await settleWithEntry(claim, deps, entry, outcome, (decision, at) => deps.ledger.markRedriven(claim, at, probeToken, decision));
      // Not written: our claim expired while we waited and someone else took it over; their
      // re-check (DescribeExecution) will see this redrive, and the clientToken covers the rest.
      if (!written) deps.log.warn('claim expired before the redrive was recorded', { executionArn: facts.executionArn, redriveCount: facts.redriveCount });
      return carriedOut;
    }
    case 'rejected':
      return settle({ action: 'rejected', actionDetail: `${result.errorName}: ${result.message}` }, (decision, at) => deps.ledger.markRejected(claim, 'not-redrivable', at, decision));
    case 'transient': {
      const dueAt = deps.clock() + transientRetryMs(claim.attempts);
      deps.metrics.count(METRIC.deferrals, { Reason: result.errorName });
      deps.log.warn('RedriveExecution failed after SDK retries; deferred', {
        executionArn: facts.executionArn,
        errorName: result.errorName,
        dueAt: new Date(dueAt).toISOString(),
      });
      const outcome: ActionOutcome = { action: 'deferred', actionDetail: `${result.errorName} after SDK retries`, dueAt };
      return settle(outcome, (decision, at) => deps.ledger.defer(claim, dueAt, `transient:${result.errorName}`, at, decision));
    }
  }
}
