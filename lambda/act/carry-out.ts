/**
 * Carries out a decision against the ledger and Step Functions. Only the holder of a
 * ledger claim calls RedriveExecution, at a slot granted by the controller-wide rate
 * limiter, with the failure's deterministic clientToken. Anything transient (rate limit,
 * throttling or 5xx after the SDK's retries) turns the claim back into a pending redrive:
 * a deferral, never a lost failure.
 */
import type { Decision } from '../decide/decision';
import type { FailureFacts, FailureLedger } from '../record/failure-ledger';
import type { ActionResult } from '../record/audit-trail';
import { DIMENSION, METRIC } from '../../contract/metrics';
import { HELD_EXHAUSTED_SHARD, heldShard } from '../../contract/breaker';
import type { Log, MetricsRecorder } from '../observability/telemetry';
import { redriveClientToken } from './client-token';
import type { RateLimiter } from './rate-limiter';
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

export async function carryOut(decision: Decision, facts: FailureFacts | null, deps: ActDeps): Promise<ActionOutcome> {
  const now = deps.clock();
  if (decision.decision === 'skip') {
    if (facts && !UNRECORDED_SKIPS.has(decision.reason)) await deps.ledger.skip(facts, decision.reason, now);
    return { action: decision.reason === 'dry-run' ? 'dry-run' : 'skipped' };
  }
  if (!facts) throw new Error(`decision ${decision.decision} without failure facts`);
  if (decision.decision === 'hold') {
    const shard = decision.reason === 'exhausted' ? HELD_EXHAUSTED_SHARD : heldShard(facts);
    if (!(await deps.ledger.hold(facts, decision.reason, shard, now))) {
      return { action: 'lost-race', actionDetail: 'this failure is already claimed or done' };
    }
    deps.metrics.count(METRIC.heldFailures, { [DIMENSION.reason]: decision.reason });
    return { action: 'held' };
  }
  if (decision.decision === 'redrive-later') {
    const stored = await deps.ledger.schedule(facts, decision.dueAt, now);
    return stored
      ? { action: 'scheduled', dueAt: decision.dueAt }
      : { action: 'lost-race', actionDetail: 'this failure is already pending, claimed or done' };
  }
  return redriveNow(facts, deps);
}

/**
 * Claims the failure, waits for a rate slot, redrives. `probeToken`: the redrive is a
 * breaker probe (marked on the record, so its next failure reports to the breaker).
 */
export async function redriveNow(facts: FailureFacts, deps: ActDeps, probeToken?: string): Promise<ActionOutcome> {
  const claim = await deps.ledger.claim(facts, deps.clock(), deps.claimTimeoutMs);
  if (!claim) return { action: 'lost-race', actionDetail: 'another invocation claimed this failure first' };

  const grant = await deps.redriveRate.acquire(deps.maxRateWaitMs);
  if (!grant.granted) {
    await deps.ledger.defer(claim, grant.retryAt, 'rate-limited', deps.clock());
    deps.metrics.count(METRIC.deferrals, { Reason: 'rate-limited' });
    return { action: 'deferred', actionDetail: 'controller redrive rate reached', dueAt: grant.retryAt };
  }
  const wait = grant.at - deps.clock();
  if (wait > 0) await deps.sleep(wait);

  const started = deps.clock();
  const result = await deps.stepFunctions.redrive(facts.executionArn, redriveClientToken(facts.executionArn, facts.redriveCount));
  deps.metrics.milliseconds(METRIC.redriveLatency, deps.clock() - started);

  switch (result.kind) {
    case 'redriven': {
      deps.metrics.count(METRIC.redrives);
      if (!(await deps.ledger.markRedriven(claim, deps.clock(), probeToken))) {
        // Our claim expired while we waited and someone else took it over; their re-check
        // (DescribeExecution) will see this redrive, and the clientToken covers the rest.
        deps.log.warn('claim expired before the redrive was recorded', { executionArn: facts.executionArn, redriveCount: facts.redriveCount });
      }
      return { action: 'redriven', actionDetail: `redriveCount ${facts.redriveCount} -> ${facts.redriveCount + 1}` };
    }
    case 'rejected':
      await deps.ledger.markRejected(claim, 'not-redrivable', deps.clock());
      return { action: 'rejected', actionDetail: `${result.errorName}: ${result.message}` };
    case 'transient': {
      const dueAt = deps.clock() + transientRetryMs(claim.attempts);
      await deps.ledger.defer(claim, dueAt, `transient:${result.errorName}`, deps.clock());
      deps.metrics.count(METRIC.deferrals, { Reason: result.errorName });
      deps.log.warn('RedriveExecution failed after SDK retries; deferred', {
        executionArn: facts.executionArn,
        errorName: result.errorName,
        dueAt: new Date(dueAt).toISOString(),
      });
      return { action: 'deferred', actionDetail: `${result.errorName} after SDK retries`, dueAt };
    }
  }
}
