/**
 * The controller's one decision, as a pure function of (event, policy, facts, now):
 * no I/O, no clock reads, no randomness. Everything else in the controller gathers the
 * inputs or carries out the result.
 *
 * Order of checks: what the event is (status, redrivability), whether a policy covers it,
 * whether it is stale or already handled, whether the error is worth redriving, the
 * limit, then the switches (pause, dry run) that turn a would-be redrive into a skip.
 */
import { REDRIVABLE_STATUSES } from '../../contract/event-pattern';
import type { StatusChange } from '../event/status-change';
import { delaySeconds, jitterFraction } from './backoff';
import { type Decision, type ExecutionFacts, type PolicyResolution, skipDecision, type SkipReason } from './decision';
import { firstMatch } from './error-match';
import { stateScopeSkip } from './state-scope';

/** Step Functions reports no error name for a timeout event; treat it as States.Timeout. */
function errorNameOf(event: StatusChange, facts: ExecutionFacts): string | null {
  const name = event.error ?? facts.current?.error ?? null;
  if (name === null && event.status === 'TIMED_OUT') return 'States.Timeout';
  return name;
}

export function decide(event: StatusChange, resolution: PolicyResolution, facts: ExecutionFacts, now: number): Decision {
  const errorName = errorNameOf(event, facts);
  const policyKey = resolution.kind === 'found' ? resolution.policy.key : resolution.kind === 'invalid' ? resolution.key : null;
  const redriveCount = event.redriveCount ?? facts.current?.redriveCount ?? null;
  const skip = (reason: SkipReason, detail: string): Decision => skipDecision(reason, detail, { policyKey, redriveCount, errorName });

  if (!(REDRIVABLE_STATUSES as readonly string[]).includes(event.status)) {
    return skip('status-not-covered', `status ${event.status} is not an unsuccessful end; nothing to redrive`);
  }
  if (resolution.kind === 'none') return skip('no-policy', `no policy matches ${event.stateMachineArn} (auto-redrive is opt-in)`);
  if (resolution.kind === 'invalid') {
    return skip('policy-invalid', `policy '${resolution.key}' is invalid, so no policy is applied: ${resolution.error.issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`);
  }
  const policy = resolution.policy;
  if (!policy.enabled) return skip('policy-disabled', `policy '${policy.key}' has enabled=false`);
  if (!(policy.statuses as readonly string[]).includes(event.status)) {
    return skip('status-not-covered', `policy '${policy.key}' covers ${policy.statuses.join(', ')}, not ${event.status}`);
  }
  if (event.redriveStatus === 'REDRIVABLE_BY_MAP_RUN' || event.mapRunLabel !== undefined) {
    return skip('map-run-child', 'a Distributed Map child is redriven by redriving its parent execution');
  }
  if (event.redriveStatus === 'NOT_REDRIVABLE') {
    return skip('not-redrivable', `Step Functions says: ${event.redriveStatusReason ?? 'NOT_REDRIVABLE'}`);
  }
  if (redriveCount === null) return skip('malformed-event', 'the event has no redriveCount and the execution could not be checked');

  const current = facts.current;
  if (current) {
    if (current.redriveCount > redriveCount) {
      return skip('stale-event', `the execution has been redriven since this failure (redriveCount is now ${current.redriveCount})`);
    }
    if (!(REDRIVABLE_STATUSES as readonly string[]).includes(current.status)) {
      return skip('stale-event', `the execution is ${current.status} now`);
    }
    if (current.redriveStatus === 'NOT_REDRIVABLE') {
      return skip('not-redrivable', `Step Functions says: ${current.redriveStatusReason ?? 'NOT_REDRIVABLE'}`);
    }
    if (current.redriveStatus === 'REDRIVABLE_BY_MAP_RUN') {
      return skip('map-run-child', 'a Distributed Map child is redriven by redriving its parent execution');
    }
  }
  if (facts.highestRecordedFailure !== null && facts.highestRecordedFailure > redriveCount) {
    return skip('stale-event', `a later failure of this execution (redriveCount ${facts.highestRecordedFailure}) is already recorded`);
  }

  // A failure already handled by another delivery of the same event, or by the drain.
  // A held failure being released is redriven now if its backoff has passed; otherwise it is
  // scheduled for then: the breaker may delay a redrive, never bring it forward
  // (docs/breaker.md, "The contract"). A person's release too: it ends the hold, and the
  // failure's own policy takes over (the fuzzer found a release a few seconds before an
  // outage ended spending a last redrive that the policy alone would have spent after it).
  // Only past maxRedrives is the person's release itself the redrive, made at once.
  let carryOut: 'due' | 'retry-abandoned-claim' | 'release' | undefined = facts.releasedByHand && redriveCount >= policy.maxRedrives ? 'release' : undefined;
  const record = facts.thisFailure;
  if (record?.state === 'redriven') return skip('already-handled', `redrive ${redriveCount + 1} was already made for this failure`);
  if (record?.state === 'claimed') {
    if (record.claimExpiresAt > now) return skip('already-handled', 'another invocation is redriving this failure right now');
    carryOut = 'retry-abandoned-claim';
  }
  if (record?.state === 'pending') {
    if (record.dueAt > now) return skip('already-handled', `a redrive is already scheduled for ${new Date(record.dueAt).toISOString()}`);
    carryOut = 'due';
  }
  const released = record?.state === 'held';

  const nonRetryable = firstMatch(policy.nonRetryableErrors, errorName);
  if (nonRetryable !== undefined) {
    return skip('error-not-retryable', `error ${errorName ?? '(none)'} matches nonRetryableErrors '${nonRetryable}': a redrive reuses the same input and definition, so it would fail again`);
  }
  const matched = firstMatch(policy.errorEquals, errorName);
  if (matched === undefined) {
    return skip('error-not-matched', `error ${errorName ?? '(none)'} matches none of errorEquals [${policy.errorEquals.join(', ')}]`);
  }
  const outOfScope = stateScopeSkip(policy, facts.failedState, event.status);
  if (outOfScope) return skip(outOfScope.reason, outOfScope.detail);
  // A person's release (redrivectl release) goes past the limit: that is its purpose.
  const exhausted = redriveCount >= policy.maxRedrives && !facts.releasedByHand;
  const limitText = `already redriven ${redriveCount} time(s); policy '${policy.key}' allows ${policy.maxRedrives}`;
  if (exhausted && policy.onExhausted === 'skip') return skip('limit-reached', limitText);

  const delay = delaySeconds(policy, redriveCount, jitterFraction(event.executionArn, redriveCount));
  // The backoff counts from when the execution stopped, so a late event or a failure
  // found by reconciliation is not delayed twice. A stopDate ahead of our clock (event
  // times are whole seconds, clocks drift) counts as now: a delay of 0 is always at once.
  const dueAt = Math.min(event.stopDate ?? now, now) + delay * 1000;
  const plan =
    `redrive ${redriveCount + 1} of ${policy.maxRedrives} (error ${errorName ?? '(none)'} matches '${matched}')` +
    (facts.releasedByHand ? ', released by hand' : '') +
    (facts.approvedBy !== undefined ? `, approved by ${facts.approvedBy}` : '');

  const hold = `hold it for a person (${limitText}; onExhausted: hold)`;
  if (facts.paused) return skip('paused', `the controller is paused; would otherwise ${exhausted ? hold : plan}`);
  if (policy.dryRun) {
    return skip('dry-run', `policy '${policy.key}' is a dry run; would ${exhausted ? hold : `${plan}${dueAt > now ? ` in ${Math.ceil((dueAt - now) / 1000)}s` : ' now'}`}`);
  }
  if (exhausted) {
    return { decision: 'hold', reason: 'exhausted', policyKey, redriveCount, errorName, detail: `${limitText}; held for a person (onExhausted: hold): redrivectl release` };
  }

  // approval: true: a person approves every redrive first (docs/policies.md). An approved
  // failure is not held for it again; the breaker and the rest still apply.
  if (policy.approval && facts.approvedBy === undefined) {
    return {
      decision: 'hold',
      reason: 'awaiting-approval',
      policyKey,
      redriveCount,
      errorName,
      detail: `would ${plan}; held for a person's approval (policy '${policy.key}' has approval: true): redrivectl approve or reject`,
    };
  }

  if (carryOut !== undefined || dueAt <= now) {
    return { decision: 'redrive', reason: carryOut ?? (released ? 'release' : 'no-delay'), policyKey, redriveCount, errorName, detail: plan };
  }
  const remaining = Math.ceil((dueAt - now) / 1000);
  return {
    decision: 'redrive-later',
    reason: 'backoff',
    policyKey,
    redriveCount,
    errorName,
    delaySeconds: remaining,
    dueAt,
    detail: `${plan} in ${remaining}s (backoff ${delay}s from the failure)`,
  };
}
