/**
 * Probes, run by the drain while a breaker is open: one held failure of the group at a
 * time is redriven (its own clientToken, under the controller-wide rate, with an audit
 * entry of source `probe`), and what became of it is learned from DescribeExecution, so
 * a lost status-change event cannot leave the breaker waiting. The probe's next failure
 * event, when it arrives, tells the breaker the same thing first (act/breaker-gate.ts);
 * the token makes sure only one of them moves it.
 *
 * Choice and rotation: a probe uses one of the execution's redrives, so the probe is the
 * held failure with the most redrives left, rotating by the number of probes each
 * execution has had (`probes` on its held record), looked for among the group's first MAX_CANDIDATES held failures (one bounded
 * read of the group's shards, merged oldest first). An execution's last redrive is spent on a probe only when no held failure
 * of the group has more left. A probe that fails again is held again with one probe more
 * and one redrive fewer, so it goes behind every execution not yet probed (probeOrder). Held
 * failures without a redrive left (the policy's maxRedrives was lowered)
 * are released through decide() on the way, which gives them up (limit-reached, owner
 * event) or holds them as exhausted (onExhausted: hold); when no held failure is left to
 * probe, the breaker closes (reason no-probe-candidate).
 */
import { randomUUID } from 'node:crypto';
import { type BreakerGroup, groupLabel, heldShard } from '../../contract/breaker';
import type { RedrivePolicy } from '../../contract/policy-schema';
import type { BreakerState } from '../decide/breaker';
import { probeCheckDue, probeOutcomeOf } from '../decide/probe-outcome';
import { announceIfClosed, countProbe, recordDecision } from '../record/breaker-events';
import type { BreakerStore } from '../record/breaker-store';
import type { FailureRecord } from '../record/failure-ledger';
import { checkExecution, type ControllerDeps, processStatusChange } from '../event-path';
import { eventFromRecord } from '../event/from-record';
import { redriveNow } from '../act/carry-out';
import { takeFromBudget } from '../act/budget-gate';
import { ProbeChoice } from './probe-choice';

export type BreakerDeps = ControllerDeps & { readonly breakers: BreakerStore };

/** DescribeExecution of the probe in flight; reports the outcome once there is one. */
export async function checkProbe(group: BreakerGroup, state: BreakerState, policy: RedrivePolicy, deps: BreakerDeps): Promise<BreakerState> {
  const probe = state.probe;
  if (!probe || !probeCheckDue(probe, deps.clock(), policy.breaker)) return state;
  const current = await checkExecution(probe.executionArn, deps);
  const now = deps.clock();
  const outcome = probeOutcomeOf(group, probe, current, now, deps.claimTimeoutMs);
  if (outcome === 'running') return state;
  const learned = outcome === 'same-error' && current?.stopDate ? Math.min(current.stopDate, now) : now;
  const { before, step } = await deps.breakers.transition(group, { kind: 'probe-result', token: probe.token, outcome, at: learned }, policy.breaker, state);
  if (!step.effects.some((e) => e.kind === 'ignored')) {
    countProbe(outcome, deps);
    deps.log.info('probe outcome', { stateMachineArn: group.stateMachineArn, errorName: group.errorName, executionArn: probe.executionArn, outcome });
    await announceIfClosed(group, before, step, deps);
  }
  return step.state;
}

interface CandidateSearch {
  /** The held failure to probe now, if any. */
  readonly candidate?: FailureRecord;
  /** More held failures than were examined. */
  readonly more: boolean;
  /** None is due now: the earliest time one with a redrive left is due under its policy's backoff. */
  readonly waitingUntil?: number;
}

/**
 * The held failure to probe among the group's first MAX_CANDIDATES (probe-choice.ts), and
 * whether it waits before spending a last redrive. Those without a redrive left are
 * released (given up, or held as exhausted) on the way.
 */
async function findCandidate(group: BreakerGroup, policy: RedrivePolicy, openedAt: number, shared: SharedDependency, deps: BreakerDeps): Promise<CandidateSearch> {
  const choice = new ProbeChoice(policy);
  // Every shard of the group's held failures, merged oldest first.
  const held = deps.ledger.held(heldShard(group));
  const result = async (more: boolean): Promise<CandidateSearch> => {
    const wait = choice.lastRedriveWait(openedAt, deps.clock());
    if (wait && (wait.reason === 'own-backoff' || (await outageGoesOn(group, openedAt, more ? undefined : choice.newestStop, policy, shared, deps)))) {
      return { more, waitingUntil: wait.until };
    }
    return { candidate: choice.best, more, waitingUntil: choice.best ? undefined : choice.waitingUntil };
  };
  for await (const record of held) {
    const now = deps.clock();
    const { exhausted, enough } = choice.consider(record, now);
    if (exhausted) await processStatusChange(eventFromRecord(record, now, 'release'), deps, { source: 'release' });
    // Leaving the loop ends the merged read (for-await returns the generator).
    if (enough) return result(!(await held.next()).done);
  }
  return result(false);
}

/**
 * What the drain knows of the group's dependency from other state machines' breakers for
 * the same error name, when that name means one dependency (contract/error-names.ts).
 */
export interface SharedDependency {
  /** When another state machine's open breaker for it last learned it is down (its opening, or a failed probe); null: none. */
  readonly downAt: number | null;
  /** Another state machine's probe of it succeeded since this group opened. */
  readonly recovered: boolean;
}

export const NOTHING_SHARED: SharedDependency = { downAt: null, recovered: false };

/**
 * Whether the wait before spending a last redrive goes on (lastRedriveWait): only while
 * something says the outage does (a failure of the group within a maximum probe interval,
 * more held failures than were read, or another state machine's breaker for the same
 * dependency opening or failing a probe within two) and nothing says it is over (that
 * breaker's probe succeeded; an execution started since the opening succeeded).
 * Otherwise the last redrive is spent, as the policy
 * alone would have spent it, and no later than a maximum probe interval after the last sign
 * of the outage: a window between two outages is then used as the contract's exception
 * allows (docs/breaker.md), where a fixed wait let one pass (the fuzzer's seed 47 world
 * 468: a group of two executions, 16 minutes of wait, a 15-minute window).
 */
async function outageGoesOn(group: BreakerGroup, openedAt: number, newestStop: number | undefined, policy: RedrivePolicy, shared: SharedDependency, deps: BreakerDeps): Promise<boolean> {
  if (shared.recovered) return false;
  const interval = policy.breaker.maxProbeIntervalSeconds * 1000;
  const now = deps.clock();
  const failingLately = newestStop === undefined || now - newestStop < interval;
  // Another breaker probes at least every maximum interval plus a drain run: its last failed
  // probe stays a sign until its next one could have said otherwise. Its waiting is no sign:
  // two groups waiting on each other end together.
  const siblingDownLately = shared.downAt !== null && now - shared.downAt < 2 * interval;
  if (!failingLately && !siblingDownLately) return false;
  return !(await succeededSince(group, openedAt, deps));
}

/**
 * Whether an execution of the group's state machine that started at or after `since` has
 * succeeded (one ListExecutions call of one item). Not knowing (no such call in the
 * gateway, or it failed) is no evidence: the newcomer wait goes on, as it would without it.
 */
async function succeededSince(group: BreakerGroup, since: number, deps: BreakerDeps): Promise<boolean> {
  try {
    const newest = await deps.stepFunctions.newestStartIn?.(group.stateMachineArn, 'SUCCEEDED');
    const succeeded = newest !== undefined && newest >= since;
    if (succeeded) deps.log.info('an execution started since the opening succeeded: the probe spends a last redrive now', { stateMachineArn: group.stateMachineArn, errorName: group.errorName });
    return succeeded;
  } catch (e) {
    deps.log.warn('could not list successful executions; the probe waits for a newcomer as before', {
      stateMachineArn: group.stateMachineArn,
      errorName: (e as { name?: string }).name ?? 'Error',
    });
    return false;
  }
}

/** Starts the next probe if it is due. Returns the breaker's state afterwards. */
export async function startProbeIfDue(group: BreakerGroup, state: BreakerState, policy: RedrivePolicy, deps: BreakerDeps, shared: SharedDependency = NOTHING_SHARED): Promise<BreakerState> {
  if (state.status !== 'open' || state.probe || (state.nextProbeAt ?? 0) > deps.clock()) return state;
  const { candidate, more, waitingUntil } = await findCandidate(group, policy, state.openedAt ?? 0, shared, deps);
  if (!candidate) {
    // Held failures whose own backoff has not passed: the probe waits for the first of them
    // (the policy alone would not have redriven any of them sooner either); or a long run
    // of exhausted failures, which the next drain run continues.
    if (more || waitingUntil !== undefined) return state;
    const { before, step } = await deps.breakers.transition(group, { kind: 'no-probe-candidate', at: deps.clock() }, policy.breaker, state);
    await announceIfClosed(group, before, step, deps);
    return step.state;
  }
  // A probe is a redrive: it needs the state machine's budget (if any); without it, it waits for the next run.
  if (policy.maxRedrivesPerHour !== undefined && deps.budget) {
    const failure = { executionArn: candidate.executionArn, stateMachineArn: candidate.stateMachineArn, error: candidate.errorName };
    if (!(await takeFromBudget(failure, policy.key, policy.maxRedrivesPerHour, deps.clock(), deps)).granted) return state;
  }
  // The probe may spend an execution's last redrive: no sooner than its policy alone would
  // have spent it, so that execution is no worse off than without the breaker.
  const token = randomUUID();
  const probe = { executionArn: candidate.executionArn, redriveCount: candidate.redriveCount, token, startedAt: deps.clock() };
  const started = await deps.breakers.transition(group, { kind: 'probe-started', probe }, policy.breaker, state);
  if (started.step.effects.some((e) => e.kind === 'ignored')) return started.step.state;
  countProbe('started', deps);

  const action = await redriveNow(candidate, deps, token);
  const plan = `redrive ${candidate.redriveCount + 1} of ${policy.maxRedrives}`;
  await recordDecision(
    candidate,
    {
      decision: 'redrive',
      reason: 'probe',
      policyKey: policy.key,
      redriveCount: candidate.redriveCount,
      errorName: candidate.errorName,
      detail: `probe of the open breaker for ${groupLabel(group)}: ${plan}, to learn whether ${group.errorName ?? 'the error'} persists`,
    },
    action,
    'probe',
    deps,
  );
  if (action.action === 'redriven') return started.step.state;
  // Rejected (no longer redrivable), rate limited or lost to another claim: nothing was
  // learned; the next probe may start at once. A deferred one is held again by the drain.
  const { before, step } = await deps.breakers.transition(group, { kind: 'probe-result', token, outcome: 'not-started', at: deps.clock() }, policy.breaker, started.step.state);
  if (!step.effects.some((e) => e.kind === 'ignored')) countProbe('not-started', deps);
  await announceIfClosed(group, before, step, deps);
  return step.state;
}

/**
 * One open breaker's turn in a drain run: check the probe in flight, start the next one
 * if due, then watch a probe for up to `watchMs` (many finish in seconds, and learning
 * it in this run saves a drain interval of holding).
 */
export async function probeTurn(
  group: BreakerGroup,
  state: BreakerState,
  policy: RedrivePolicy,
  deps: BreakerDeps,
  options: { readonly deadline: number; readonly watchMs: number; readonly pollMs: number },
  shared: SharedDependency = NOTHING_SHARED,
): Promise<BreakerState> {
  let s = await checkProbe(group, state, policy, deps);
  s = await startProbeIfDue(group, s, policy, deps, shared);
  while (s.status === 'open' && s.probe && deps.clock() - s.probe.startedAt < options.watchMs && deps.clock() + options.pollMs < options.deadline) {
    await deps.sleep(options.pollMs);
    s = await checkProbe(group, s, policy, deps);
  }
  return s;
}
