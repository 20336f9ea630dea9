/**
 * Which held failure a probe takes, and whether it waits before spending an execution's
 * last redrive. Pure (no I/O, no clock): the drain (breaker/probe.ts), which streams a
 * group's held failures and releases those without a redrive left on the way, and
 * redrivectl status/explain (cli/breakers.ts), which words what the next probe waits for,
 * make this one choice over the same records.
 *
 * A probe uses one of the execution's redrives, so it takes the held failure with the most
 * redrives left, rotating by the number of probes each has had, among those whose policy's
 * own backoff has passed (a probe spends a redrive, and never sooner than the policy would
 * have); an execution's last redrive only when no held failure of the group has more left.
 */
import type { RedrivePolicy } from '../../contract/policy-schema';
import type { ProbeWaitReason } from '../../contract/probe-wait';
import { policyDueAt } from '../decide/backoff';
import type { FailureRecord } from '../record/failure-ledger';

/** Held failures looked at per probe attempt (the group's first, oldest first) before giving the turn to the next drain run. */
export const MAX_CANDIDATES = 200;

/**
 * How long after the opening a probe waits for a new failure with more than one redrive
 * left before it spends an execution's last one, in maximum probe intervals (16 minutes by
 * default). Not for maxRedrives 1 (every held failure is on its last: no wait).
 */
export const LAST_REDRIVE_WAIT_INTERVALS = 4;

/**
 * Probe order (all held failures of a group share one policy's maxRedrives): an execution's
 * last redrive only when no other has more left; then the fewest probes so far (rotation);
 * then the most redrives left; then the oldest.
 */
export function probeOrder(a: FailureRecord, b: FailureRecord, maxRedrives: number): number {
  const last = (f: FailureRecord) => (f.redriveCount >= maxRedrives - 1 ? 1 : 0);
  return (
    last(a) - last(b) ||
    (a.probes ?? 0) - (b.probes ?? 0) ||
    a.redriveCount - b.redriveCount ||
    (a.stopDate ?? a.updatedAt) - (b.stopDate ?? b.updatedAt)
  );
}

/** When a held failure's execution stopped, as best its record knows. */
const stoppedAt = (record: FailureRecord): number => record.stopDate ?? record.heldAt ?? record.updatedAt;

/** When the policy alone would redrive a held failure (decide/backoff.ts). */
export function heldDueAt(record: FailureRecord, policy: RedrivePolicy, now: number): number {
  return policyDueAt(policy, { executionArn: record.executionArn, redriveCount: record.redriveCount, stoppedAt: Math.min(stoppedAt(record), now) });
}

/**
 * Why a probe whose best candidate is on its last redrive waits, and until when (undefined:
 * it goes now). Rather than spend an execution's last redrive, it waits for a held failure
 * with more left whose backoff ends later (`sparedUntil`), or, just after the opening, for
 * a new failure: the held failures are then often only the few whose redrives failed
 * before it opened. A delay the policy allows; with maxRedrives 1 every candidate is on its
 * last, and none waits. Without the newcomer wait the 2-hour outage benchmark lost 3 of 950
 * (last redrives spent as probes early in the outage). The drain keeps it only while the
 * outage shows it goes on (breaker/probe.ts outageGoesOn), and ends it once an execution
 * that started since the opening has succeeded: no new failure then means the outage is
 * over, not that the group is sparse (successful first runs are not forwarded, so only a
 * look at the state machine tells the two apart), and a last redrive held on could miss the
 * window (the fuzzer's seed 4 world 7: 16 minutes between two outages). The CLI words the
 * same wait, with its latest end (cli/breakers.ts).
 */
export function lastRedriveWait(policy: RedrivePolicy, openedAt: number, sparedUntil: number | undefined, now: number): { readonly reason: ProbeWaitReason; readonly until: number } | undefined {
  if (sparedUntil !== undefined) return { reason: 'own-backoff', until: sparedUntil };
  const until = openedAt + LAST_REDRIVE_WAIT_INTERVALS * policy.breaker.maxProbeIntervalSeconds * 1000;
  return policy.maxRedrives > 1 && now < until ? { reason: 'last-redrive', until } : undefined;
}

/** What `ProbeChoice.consider` found of one held failure. */
export interface Considered {
  /** No redrive left (the policy's maxRedrives was lowered): the drain releases it through decide(). */
  readonly exhausted: boolean;
  /** No need to look further: the limit was reached, or nothing can sort before the best. */
  readonly enough: boolean;
}

/** The probe choice over a group's held failures, fed one at a time, oldest first. */
export class ProbeChoice {
  /** The held failure to probe, if one is due (before any wait: see `lastRedriveWait`). */
  best: FailureRecord | undefined;
  /** None is due: the earliest time one with a redrive left is due under its policy's backoff. */
  waitingUntil: number | undefined;
  /** When the newest held failure considered stopped (the group's latest failure once all were read). */
  newestStop = Number.NEGATIVE_INFINITY;
  examined = 0;
  /** The earliest due time of a held failure that is not on its last redrive. */
  private sparedUntil: number | undefined;

  constructor(private readonly policy: RedrivePolicy) {}

  /** Whether a held failure is on its last redrive. */
  private onLast(record: FailureRecord): boolean {
    return record.redriveCount >= this.policy.maxRedrives - 1;
  }

  consider(record: FailureRecord, now: number): Considered {
    this.examined++;
    this.newestStop = Math.max(this.newestStop, stoppedAt(record));
    const exhausted = record.redriveCount >= this.policy.maxRedrives;
    if (!exhausted) {
      const due = heldDueAt(record, this.policy, now);
      if (due > now) {
        this.waitingUntil = Math.min(this.waitingUntil ?? due, due);
        if (!this.onLast(record)) this.sparedUntil = Math.min(this.sparedUntil ?? due, due);
      } else if (!this.best || probeOrder(record, this.best, this.policy.maxRedrives) < 0) this.best = record;
    }
    // Nothing sorts before a failure that has used no redrive and was never probed.
    const enough = this.examined >= MAX_CANDIDATES || (this.best !== undefined && this.best.redriveCount === 0 && !this.best.probes);
    return { exhausted, enough };
  }

  /** With the best candidate on its last redrive, the wait before spending it (undefined: none, or it goes now). */
  lastRedriveWait(openedAt: number, now: number): { readonly reason: ProbeWaitReason; readonly until: number } | undefined {
    return this.best && this.onLast(this.best) ? lastRedriveWait(this.policy, openedAt, this.sparedUntil, now) : undefined;
  }
}
