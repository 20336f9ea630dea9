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
import { type BreakerGroup, groupLabel, sameGroup } from '../../contract/breaker';
import { BREAKER_DEFAULTS, type BreakerPolicy, type RedrivePolicy } from '../../contract/policy-schema';
import { type BreakerState, countingTime, counterName, holdDetail, verdictOf } from '../decide/breaker';
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
  /** Decide only (backfill --dry-run): look the breaker up, count and move nothing. */
  readonly decideOnly?: boolean;
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
  if (!breakers || input.releasedByHand) return decision;
  const policy = input.resolution.kind === 'found' ? input.resolution.policy : undefined;
  const observing = OBSERVING.has(input.source) && !input.decideOnly;
  if (observing) await reportProbeOutcome(decision, input, policy, breakers, deps);
  if (decision.decision !== 'redrive' && decision.decision !== 'redrive-later') return decision;
  if (!policy?.breaker.enabled) return decision;

  const group: BreakerGroup = { stateMachineArn: input.event.stateMachineArn, errorName: decision.errorName };
  const settings = policy.breaker;
  let state;
  let verdict: 'hold' | 'pass';
  if (observing) {
    const seen = await countFailure(group, input, settings, breakers);
    const { step } = await breakers.transition(group, { kind: 'failure', at: input.now, executionArn: input.event.executionArn, redriveCount: decision.redriveCount }, settings, seen);
    state = step.state;
    verdict = verdictOf(step);
    const opened = step.effects.find((e) => e.kind === 'opened');
    if (opened && opened.kind === 'opened') {
      await announceOpened(group, step.state, opened.failuresInWindow, { error: decision.errorName, cause: input.event.cause }, deps);
    }
  } else {
    state = await breakers.readCached(group, input.now);
    verdict = state.status === 'open' ? 'hold' : 'pass';
  }
  if (verdict === 'pass') return decision;
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
 * Counts the failure (one UpdateItem that returns the state) or only reads the state.
 * A first failure is counted once per execution and window: not a duplicate delivery or a second look at a
 * recorded failure, and not an execution whose earlier failure is already counted in the
 * window (one execution failing again must not look like several). An earlier failure
 * from before the breaker's last close is no longer counted (the close reset the window),
 * so a released execution that fails again counts: that costs a read first, only then.
 *
 * A redrive that failed again with the same error (the execution's previous failure had
 * this group's error) is also counted in the redrive signal's bucket of the same
 * UpdateItem, once per failed redrive: in a trickle of isolated failures redrives succeed,
 * in an outage they fail. Two failed redrives open the breaker, whether of two executions
 * or of one: in a sparse group a lone execution is often the only witness of an outage,
 * and with the default three redrives its second failed redrive is the last chance to hold
 * it before its last redrive is spent (docs/breaker.md, "When it opens").
 *
 * Not counted while the breaker is open: an open breaker holds every failure whatever its
 * count, and its close resets the window. This bounds the writes on the group's one
 * breaker item: a storm on one state machine and error (1,667 failures/s) would otherwise
 * update it far above DynamoDB's ~1,000 writes/s per partition key. An instance that has
 * seen the breaker open (a read, or the state its last count returned) reads it, at most
 * once a second, instead of counting; so once open the item takes at most one count per
 * instance. A breaker never seen open costs no extra call. See docs/reliability.md.
 */
async function countFailure(group: BreakerGroup, input: GateInput, settings: BreakerPolicy, breakers: BreakerStore): Promise<BreakerState> {
  const at = countingTime(input.event.stopDate, input.now, settings);
  if (input.thisRecord || at === null) return breakers.read(group);
  if (breakers.lastKnown(group) === 'open') {
    const current = await breakers.readCached(group, input.now);
    if (current.status === 'open') return current;
  }
  const since = input.now - settings.windowSeconds * 1000;
  const stopped = (f: FailureRecord) => f.stopDate ?? f.updatedAt;
  const sameError = (f: FailureRecord) => (f.errorName ?? null) === group.errorName;
  const n = input.event.redriveCount ?? 0;
  const earlier = input.failures.filter((f) => f.redriveCount !== n && stopped(f) > since);
  const previous = n >= 1 ? input.failures.find((f) => f.redriveCount === n - 1) : undefined;
  const redriveFailed = previous !== undefined && sameError(previous);
  const first = counterName(at, settings, 'c');
  const again = counterName(at, settings, 'r');
  if (earlier.length === 0) return breakers.count(group, redriveFailed ? [first, again] : [first], settings, input.now);
  // An earlier failure of this execution is in the window: its first failure is counted already,
  // unless the breaker closed since (a close resets the window), which costs a look at the state.
  const seen = redriveFailed ? await breakers.count(group, [again], settings, input.now) : await breakers.read(group);
  const resetAt = seen.closedAt;
  if (resetAt === null || earlier.some((f) => stopped(f) >= resetAt)) return seen;
  return breakers.count(group, [first], settings, input.now); // rare: a released execution failing again
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
