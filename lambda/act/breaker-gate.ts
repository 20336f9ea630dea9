/**
 * The breaker on the event path, between `decide()` and carrying the decision out:
 * - a failure that `decide()` would redrive (now or later) is counted in its group's
 *   window (one UpdateItem that also returns the breaker's state), and held instead when
 *   the group's breaker is open, or opens with it;
 * - the next failure of an execution that was redriven as a probe tells the probe's
 *   breaker what became of it (same error: stay open; another error: close).
 * Paths that only carry out earlier decisions (drain, release, probe) and a person's
 * backfill do not count; they look the breaker up (cached for a second) and hold when it
 * is open.
 * Everything else (skips, dry runs, the kill switch, stale events) is decided before this
 * and passes through untouched.
 */
import { REDRIVABLE_STATUSES } from '../../contract/event-pattern';
import { namesOneDependency } from '../../contract/error-names';
import { type BreakerGroup, groupLabel, sameGroup } from '../../contract/breaker';
import { BREAKER_DEFAULTS, type BreakerPolicy, type RedrivePolicy } from '../../contract/policy-schema';
import { type BreakerState, bucketMs, countingTime, counterName, holdDetail, pendingOpening, redriveFailuresInWindow, type Step, verdictOf } from '../decide/breaker';
import { baseDelaySeconds } from '../decide/backoff';
import type { Decision, PolicyResolution } from '../decide/decision';
import type { StatusChange } from '../event/status-change';
import type { DecisionSource } from '../record/audit-trail';
import { announceIfClosed, announceOpened, type BreakerEventDeps, countProbe } from '../record/breaker-events';
import type { BreakerStore } from '../record/breaker-store';
import type { FailureRecord } from '../record/failure-ledger';

export interface BreakerGateDeps extends BreakerEventDeps {
  /** Absent: no breaker at all (tests of other behaviour). */
  readonly breakers?: BreakerStore;
}

export interface GateInput {
  readonly event: StatusChange;
  readonly resolution: PolicyResolution;
  /** The ledger's failure records of this execution. */
  readonly failures: readonly FailureRecord[];
  /** The record of this very failure, if the ledger has one. */
  readonly thisRecord: FailureRecord | undefined;
  readonly source: DecisionSource;
  readonly now: number;
  /** `redrivectl release`: a person's decision; the breaker does not hold it back. */
  readonly releasedByHand?: boolean;
  /** The held failure's redrive window is about to end: its last chance, not held back. */
  readonly windowEnding?: boolean;
  /** Decide only (backfill --dry-run): look the breaker up, count and move nothing. */
  readonly decideOnly?: boolean;
  /** The event path's claim of a fresh failure: redriven or held now, never scheduled (no last-redrive wait). */
  readonly claimed?: boolean;
}

/**
 * Sources that report new failures (counted). The others carry out earlier decisions, or
 * (backfill) are a person's deliberate redrive of failures found by listing: they hold
 * while a breaker is open but never count toward opening one.
 */
const OBSERVING: ReadonlySet<DecisionSource> = new Set(['event', 'replay', 'reconcile']);

const isFailure = (event: StatusChange) => (REDRIVABLE_STATUSES as readonly string[]).includes(event.status);

export async function gateByBreaker(decision: Decision, input: GateInput, deps: BreakerGateDeps): Promise<Decision> {
  const breakers = deps.breakers;
  if (!breakers || input.releasedByHand || input.windowEnding) return decision;
  const policy = input.resolution.kind === 'found' ? input.resolution.policy : undefined;
  const observing = OBSERVING.has(input.source) && !input.decideOnly;
  if (observing) await reportProbeOutcome(decision, input, policy, breakers, deps);
  if (!policy?.breaker.enabled) return decision;
  const group: BreakerGroup = { stateMachineArn: input.event.stateMachineArn, errorName: decision.errorName };
  const settings = policy.breaker;
  // A redrive that failed again is evidence even when it was the execution's last (the
  // policy gives it up or holds it as exhausted): with `maxRedrives: 1` every failed
  // redrive is one, and later failures of the group deserve the protection.
  const exhausted = (decision.decision === 'skip' && decision.reason === 'limit-reached') || (decision.decision === 'hold' && decision.reason === 'exhausted');
  // A failed approved redrive held for the next approval is evidence too: the breaker still
  // applies after approval (it holds the approved redrives of an outage).
  const awaitingApproval = decision.decision === 'hold' && decision.reason === 'awaiting-approval';
  if ((exhausted || awaitingApproval) && observing) await observeFailure(group, decision, input, policy, breakers, deps);
  if (decision.decision !== 'redrive' && decision.decision !== 'redrive-later') return decision;
  let state;
  let verdict: 'hold' | 'pass';
  if (observing) {
    const step = await observeFailure(group, decision, input, policy, breakers, deps);
    state = step.state;
    verdict = verdictOf(step);
  } else {
    state = await breakers.readCached(group, input.now);
    // Failing, and its wait is over: this carry-out is the look that opens it (nothing counted).
    const opensAt = pendingOpening(state);
    if (opensAt !== null && input.now >= opensAt && !input.decideOnly) state = (await stepAndAnnounce(group, decision, input, policy, breakers, deps, state)).state;
    verdict = state.status === 'open' ? 'hold' : 'pass';
  }
  if (verdict === 'pass') return observing && !input.claimed ? lastRedriveWaits(decision, state, policy, input.now) : decision;
  return {
    decision: 'hold',
    reason: 'breaker-open',
    policyKey: decision.policyKey,
    redriveCount: decision.redriveCount,
    errorName: decision.errorName,
    detail: holdDetail(groupLabel(group), state, input.now, settings),
  };
}

/**
 * While the group's redrives are failing but its breaker has not opened yet (its wait,
 * decide/breaker.ts confirmationMs), an execution's last redrive is scheduled for the time
 * it would open instead of spent now: in an outage the drain then holds it (the breaker is
 * open by then), so the wait costs no execution its last chance; with flaky executions it
 * is redriven then, a delay of at most the wait. Other redrives follow the policy.
 */
function lastRedriveWaits(decision: Decision, state: BreakerState, policy: RedrivePolicy, now: number): Decision {
  if (decision.decision !== 'redrive' && decision.decision !== 'redrive-later') return decision;
  const opensAt = pendingOpening(state);
  if (opensAt === null || opensAt <= now || decision.redriveCount + 1 < policy.maxRedrives) return decision;
  if (decision.decision === 'redrive-later' && decision.dueAt >= opensAt) return decision;
  return {
    ...decision,
    decision: 'redrive-later',
    reason: 'breaker-failing',
    delaySeconds: Math.ceil((opensAt - now) / 1000),
    dueAt: opensAt,
    detail: `last redrive (${decision.redriveCount + 1} of ${policy.maxRedrives}) waits until ${new Date(opensAt).toISOString()}: redrives of this group have been failing since ${new Date(state.failingSince!).toISOString()}, and its breaker opens then if they still are`,
  };
}

/** Counts the failure (countFailure) and steps the breaker with it; announces an opening. */
async function observeFailure(group: BreakerGroup, decision: Decision, input: GateInput, policy: RedrivePolicy, breakers: BreakerStore, deps: BreakerGateDeps): Promise<Step> {
  const seen = await countFailure(group, input, policy.breaker, breakers);
  return stepAndAnnounce(group, decision, input, policy, breakers, deps, seen);
}

/** Steps the breaker with this failure (counted or not) as `seen`; announces an opening. */
async function stepAndAnnounce(group: BreakerGroup, decision: Decision, input: GateInput, policy: RedrivePolicy, breakers: BreakerStore, deps: BreakerGateDeps, seen: BreakerState): Promise<Step> {
  const settings = policy.breaker;
  const since = input.now - settings.windowSeconds * 1000;
  const siblingOpen = namesOneDependency(group.errorName) && breakers.knownOpenElsewhere(group.errorName, group.stateMachineArn, since);
  const redriveCount = decision.redriveCount ?? 0;
  const nextRedriveDelayMs = baseDelaySeconds(policy, redriveCount) * 1000;
  const redriven = redriveCount >= 1 ? input.failures.find((f) => f.redriveCount === redriveCount - 1) : undefined;
  const afterHold = redriven?.heldAt !== undefined && (redriven.errorName ?? null) === group.errorName;
  const obs = { kind: 'failure', at: input.now, executionArn: input.event.executionArn, redriveCount, siblingOpen, nextRedriveDelayMs, afterHold } as const;
  const { step } = await breakers.transition(group, obs, settings, seen);
  const opened = step.effects.find((e) => e.kind === 'opened');
  if (opened && opened.kind === 'opened') {
    await announceOpened(group, step.state, opened.redriveFailuresInWindow, { error: decision.errorName, cause: input.event.cause }, deps);
  }
  return step;
}

/**
 * Counts the failure as evidence when it is a redrive that failed again with the same
 * error (one UpdateItem that returns the state), or only looks the breaker up (a read at
 * most once a second per instance: a first failure is evidence of nothing yet, and
 * counting it would put a write per failure on the group's one item).
 *
 * A failed redrive counts once per execution and window: one execution failing again and
 * again must not look like several (a poisoned execution is a bug, not an outage), so an
 * execution whose earlier failed redrive is in the window is not counted again, unless the
 * breaker closed since (a close resets the window; that costs a look at the state).
 * Not counted while the breaker is open: an open breaker holds every failure whatever its
 * count, and its close resets the window. An instance that has seen the breaker open
 * reads it (at most once a second) instead of counting. A failure that stopped before the
 * window (one found late by the sweep) is not evidence of now and is not counted.
 */
async function countFailure(group: BreakerGroup, input: GateInput, settings: BreakerPolicy, breakers: BreakerStore): Promise<BreakerState> {
  const at = countingTime(input.event.stopDate, input.now, settings);
  const sameError = (f: FailureRecord) => (f.errorName ?? null) === group.errorName;
  const n = input.event.redriveCount ?? 0;
  const previous = n >= 1 ? input.failures.find((f) => f.redriveCount === n - 1) : undefined;
  if (input.thisRecord || at === null || previous === undefined || !sameError(previous)) return breakers.readCached(group, input.now);
  if (breakers.lastKnown(group) === 'open') {
    const current = await breakers.readCached(group, input.now);
    if (current.status === 'open') return current;
  }
  // A bucket counts until its whole span has left the window: up to one bucket longer.
  const since = input.now - settings.windowSeconds * 1000 - bucketMs(settings);
  const stopped = (f: FailureRecord) => f.stopDate ?? f.updatedAt;
  const counted = input.failures.filter((f) => f.redriveCount >= 1 && f.redriveCount < n && sameError(f) && stopped(f) > since);
  const again = counterName(at, settings, 'r');
  if (counted.length === 0) return breakers.count(group, [again], settings, input.now);
  const seen = await breakers.readCached(group, input.now);
  const resetAt = seen.closedAt;
  if (resetAt === null || counted.some((f) => stopped(f) >= resetAt)) return seen;
  return breakers.count(group, [again], settings, input.now); // rare: a released execution failing again
}

/**
 * A redrive succeeded (its SUCCEEDED event; the rule forwards those of redriven executions
 * only, contract/event-pattern.ts): evidence for the group of the failure it redrove.
 * - The group has failed redrives in its window, or its breaker is open: the success is
 *   counted (`s_` bucket), so flaky executions (some redrives fail, many succeed) do not
 *   look like an outage.
 * - The group's breaker is open: the probe succeeded, a redrive that started after the
 *   opening did, or successes are no longer a small share of the failed redrives: it
 *   closes at once instead of at the drain's next look.
 * Otherwise nothing is read or written: a healthy group's successes cost no call. Only
 * groups this instance has seen are considered (it counts or reads them on every failure),
 * so evidence can be missed by a fresh instance; the drain still learns a probe's outcome.
 */
export async function observeRedriveSuccess(event: StatusChange, policy: RedrivePolicy, deps: BreakerGateDeps): Promise<void> {
  const breakers = deps.breakers;
  const n = event.redriveCount ?? 0;
  if (!breakers || n < 1 || !policy.breaker.enabled) return;
  const now = deps.clock();
  const settings = policy.breaker;
  const watching = (s: BreakerState) => s.status === 'open' || pendingOpening(s) !== null;
  const interested = breakers.knownOf(event.stateMachineArn).filter((k) => watching(k.state) || redriveFailuresInWindow(k.state, now, settings) > 0);
  if (interested.length === 0) return;
  // Which group: the error of the failure this redrive resumed.
  const redriven = await deps.ledger.get(event.executionArn, n - 1);
  if (!redriven) return;
  const group: BreakerGroup = { stateMachineArn: event.stateMachineArn, errorName: redriven.errorName ?? null };
  if (!interested.some((k) => sameGroup(k.group, group))) return;
  let state = await breakers.readCached(group, now);
  if (!watching(state) && redriveFailuresInWindow(state, now, settings) === 0) return;
  // Counted while open too: enough successes close it (decide/breaker.ts, `success`); and
  // while failing, enough of them keep it from opening.
  state = await breakers.count(group, [counterName(now, settings, 's')], settings, now);
  if (!watching(state)) return;
  const obs = { kind: 'success', at: now, executionArn: event.executionArn, redriveCount: n, redriveStartedAt: event.redriveDate } as const;
  const { before, step } = await breakers.transition(group, obs, settings, state);
  if (!step.changed || before.status !== 'open') return;
  if (step.effects.some((e) => e.kind === 'probe')) countProbe('succeeded', deps);
  deps.log.info('breaker closed by a redrive that succeeded', { stateMachineArn: group.stateMachineArn, errorName: group.errorName, executionArn: event.executionArn });
  await announceIfClosed(group, before, step, deps);
}

/** This failure follows a probe's redrive: report to the probe's breaker (conditional on its token). */
async function reportProbeOutcome(decision: Decision, input: GateInput, policy: RedrivePolicy | undefined, breakers: BreakerStore, deps: BreakerGateDeps): Promise<void> {
  const n = input.event.redriveCount;
  if (n === null || n === 0 || !isFailure(input.event)) return;
  const probed = input.failures.find((f) => f.redriveCount === n - 1 && f.probeToken !== undefined);
  if (!probed?.probeToken) return;
  const probeGroup: BreakerGroup = { stateMachineArn: probed.stateMachineArn, errorName: probed.errorName };
  const outcome = sameGroup(probeGroup, { stateMachineArn: input.event.stateMachineArn, errorName: decision.errorName }) ? 'same-error' : 'different-error';
  const settings = policy?.breaker ?? BREAKER_DEFAULTS;
  const at = Math.min(input.event.stopDate ?? input.now, input.now);
  const { before, step } = await breakers.transition(probeGroup, { kind: 'probe-result', token: probed.probeToken, outcome, at }, settings);
  if (step.effects.some((e) => e.kind === 'ignored')) return;
  countProbe(outcome, deps);
  await announceIfClosed(probeGroup, before, step, deps);
}
