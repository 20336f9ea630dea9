/**
 * The outage breaker of one (state machine, error) group, as a pure state machine:
 *   step(state, observation, settings) -> { state, changed, effects }
 * No I/O, no clock, no randomness (times and probe tokens come in the observation). The
 * store (record/breaker-store.ts) reads the state, runs `step`, and writes the new state
 * with a write conditional on `version`, so concurrent Lambda instances, the drain and
 * redrivectl move one breaker through these transitions only:
 *
 *   closed/releasing --(redriveFailureThreshold distinct executions' redrives failed again
 *                       with the same error within the window, and few redrives of the
 *                       group succeeded meanwhile)--> failing since then (not holding yet)
 *   failing --(still so once the failed redrives' own next redrives have had time to
 *              report, `opensAt`)--> open
 *   failing --(the evidence no longer holds: successes came)--> closed/releasing, not failing
 *   closed/releasing --(the same, while another state machine's breaker is open for the
 *                       same specific error: a shared outage already confirmed)--> open
 *   open --(probe due, a held failure redriven)--> open with a probe in flight
 *   probe: SUCCEEDED or a different error --> releasing (held failures are released)
 *          same error --> open, interval doubled
 *          still running --> open, watched until it ends (however long: no second probe meanwhile)
 *          never started (rejected, crashed) --> open, next probe at once
 *   open --(a redrive of the group started after the opening succeeded)--> releasing
 *   open --(no held failure can be probed / breaker turned off / released by hand)--> releasing
 *   open --(a probe of another group with the same error name succeeded after this group
 *           last learned anything)--> open, next probe at once (`sibling-recovered`)
 *   releasing --(nothing left to release, RELEASE_GRACE_MS after closing)--> closed
 *
 * Evidence counting: the event path adds one to a counter named after the time bucket the
 * evidence is from (six buckets per window) with one UpdateItem that also returns the
 * state: `r_<bucketMs>_<index>` for an execution whose redrive failed again with the same
 * error (once per execution and window), `s_<bucketMs>_<index>` for a redrive of the group
 * that succeeded. `c_` buckets (first failures) are no longer written: items written by
 * older versions may still carry them, and they no longer open anything.
 */
import { type BreakerStatus, type CloseReason, type FirstFailure, type ProbeOutcome, type ProbeRef, RELEASE_GRACE_MS } from '../../contract/breaker';
import type { BreakerPolicy } from '../../contract/policy-schema';

export type BreakerSettings = BreakerPolicy;

export interface BreakerState {
  readonly status: BreakerStatus;
  /** Bumped by every transition; transitions are written only over the version they read. */
  readonly version: number;
  readonly openedAt: number | null;
  readonly closedAt: number | null;
  readonly closeReason: CloseReason | null;
  /** The interval before the next probe (and, after a close, the last one used). */
  readonly probeIntervalMs: number | null;
  readonly nextProbeAt: number | null;
  readonly probe: ProbeRef | null;
  readonly failedProbes: number;
  readonly firstFailure: FirstFailure | null;
  /**
   * Not open yet: since when the window's evidence has said the group's redrives fail
   * (null: it does not). It opens at `opensAt` if the evidence still holds then.
   */
  readonly failingSince: number | null;
  readonly opensAt: number | null;
  /** Window counters by attribute name. */
  readonly counts: Readonly<Record<string, number>>;
}

/**
 * When an open group last learned that its dependency is down: its opening, or the outcome
 * of its last probe (the next probe is scheduled one interval after it).
 */
export function lastLearnedDown(state: BreakerState): number {
  return Math.max(state.openedAt ?? 0, (state.nextProbeAt ?? 0) - (state.probeIntervalMs ?? 0));
}

export const CLOSED_STATE: BreakerState = {
  status: 'closed',
  version: 0,
  openedAt: null,
  closedAt: null,
  closeReason: null,
  probeIntervalMs: null,
  nextProbeAt: null,
  probe: null,
  failedProbes: 0,
  firstFailure: null,
  failingSince: null,
  opensAt: null,
  counts: {},
};

// ---- the failure window ------------------------------------------------------------------

const BUCKETS_PER_WINDOW = 6;
/**
 * The most successful redrives per failed one for which the window still counts as failing
 * (docs/breaker.md, "When it opens"). In an outage nearly every redrive fails; with flaky
 * executions (one to four failures each, then success) about one redrive in two succeeds.
 */
export const SUCCESSES_PER_FAILED_REDRIVE = 0.25;
const COUNTER = /^([crs])_(\d+)_(\d+)$/;

/**
 * `r`: distinct executions whose redrive failed again with the same error; `s`: redrives
 * of the group that succeeded; `c`: first failures (written by older versions only).
 */
export type CounterKind = 'c' | 'r' | 's';

/** Length of one counting bucket: a sixth of the window, at least a second. */
export function bucketMs(settings: Pick<BreakerSettings, 'windowSeconds'>): number {
  return Math.max(1000, Math.floor((settings.windowSeconds * 1000) / BUCKETS_PER_WINDOW));
}

export function counterName(at: number, settings: Pick<BreakerSettings, 'windowSeconds'>, kind: CounterKind = 'r'): string {
  const b = bucketMs(settings);
  return `${kind}_${b}_${Math.floor(at / b)}`;
}

/** Whether a counter attribute still counts at `now` (same bucket size, bucket not entirely before the window). */
function counterInWindow(name: string, now: number, settings: Pick<BreakerSettings, 'windowSeconds'>): boolean {
  const m = COUNTER.exec(name);
  if (!m) return false;
  const b = bucketMs(settings);
  if (Number(m[2]) !== b) return false;
  const index = Number(m[3]);
  return (index + 1) * b > now - settings.windowSeconds * 1000 && index * b <= now;
}

function sumInWindow(kind: CounterKind, state: Pick<BreakerState, 'counts'>, now: number, settings: Pick<BreakerSettings, 'windowSeconds'>): number {
  let n = 0;
  for (const [name, count] of Object.entries(state.counts)) if (name.startsWith(`${kind}_`) && counterInWindow(name, now, settings)) n += count;
  return n;
}

/** Distinct executions that failed within the window. */
export const failuresInWindow = (state: Pick<BreakerState, 'counts'>, now: number, settings: Pick<BreakerSettings, 'windowSeconds'>) =>
  sumInWindow('c', state, now, settings);

/** Distinct executions whose redrive failed again with the same error within the window. */
export const redriveFailuresInWindow = (state: Pick<BreakerState, 'counts'>, now: number, settings: Pick<BreakerSettings, 'windowSeconds'>) =>
  sumInWindow('r', state, now, settings);

/** Redrives of the group that succeeded within the window (learned from their SUCCEEDED events). */
export const redriveSuccessesInWindow = (state: Pick<BreakerState, 'counts'>, now: number, settings: Pick<BreakerSettings, 'windowSeconds'>) =>
  sumInWindow('s', state, now, settings);

/**
 * Whether the window's evidence says the group's redrives are failing: at least
 * `redriveFailureThreshold` distinct executions' redrives failed again, and successes were
 * at most SUCCESSES_PER_FAILED_REDRIVE of them. Distinct executions: one poisoned
 * execution failing on every run is a bug, not an outage, and never opens a breaker alone.
 * Successes: a busy state machine whose executions are flaky (each fails a few times, then
 * succeeds) has many failed redrives too, but also a steady stream of successful ones; an
 * outage has next to none. Either way the owner's policy alone is the better plan.
 */
export function redrivesFailing(
  state: Pick<BreakerState, 'counts'>,
  now: number,
  settings: Pick<BreakerSettings, 'windowSeconds' | 'redriveFailureThreshold'>,
  siblingOpen = false,
): boolean {
  const r = redriveFailuresInWindow(state, now, settings);
  // Another state machine's breaker is open for the same specific error (one dependency):
  // one execution's failed redrive is then enough, so a sparse group (one execution at a
  // time) is protected in a shared outage, while a lone poisoned execution with an error of
  // its own still never opens anything.
  const needed = siblingOpen ? 1 : settings.redriveFailureThreshold;
  return r >= needed && redriveSuccessesInWindow(state, now, settings) <= r * SUCCESSES_PER_FAILED_REDRIVE;
}

/** Counters that no longer count (older buckets, or another window size): removed by the next write. */
export function staleCounters(state: Pick<BreakerState, 'counts'>, now: number, settings: Pick<BreakerSettings, 'windowSeconds'>): string[] {
  return Object.keys(state.counts).filter((name) => !counterInWindow(name, now, settings));
}

/**
 * The time a failure is counted at: when it stopped (not later than now). null when that is
 * already outside the window (a failure found late by the sweep is not evidence of now).
 */
export function countingTime(stopDate: number | null, now: number, settings: Pick<BreakerSettings, 'windowSeconds'>): number | null {
  const at = Math.min(stopDate ?? now, now);
  return at > now - settings.windowSeconds * 1000 ? at : null;
}

/**
 * How long the evidence must keep holding before the breaker opens, from when it first
 * did: the failed redrive's own next redrive (the policy's un-jittered delay for it) plus
 * one probe interval for its run to report, at most the window. A busy state machine whose
 * executions are flaky has failed redrives first and their successes one backoff later
 * (most at the start of traffic, after a pause, or after a release): the successes then
 * arrive before it opens. An outage's redrives keep failing, and it opens then. Until it
 * opens, failures follow the policy, as with the breaker off.
 */
export function confirmationMs(settings: Pick<BreakerSettings, 'windowSeconds' | 'probeIntervalSeconds' | 'openAfterSeconds'>, nextRedriveDelayMs: number): number {
  // The policy's own `openAfterSeconds` wins (0: open at first sight, as before this wait).
  if (settings.openAfterSeconds !== undefined) return settings.openAfterSeconds * 1000;
  return Math.min(settings.windowSeconds * 1000, Math.max(0, nextRedriveDelayMs) + settings.probeIntervalSeconds * 1000);
}

/** When a failing group (not open yet) opens if its redrives are still failing then; null: it is not failing. */
export const pendingOpening = (state: Pick<BreakerState, 'status' | 'failingSince' | 'opensAt'>): number | null =>
  state.status !== 'open' && state.failingSince !== null ? state.opensAt : null;

/** The fields of a state that is not failing (cleared by successes, an opening or a close). */
const NOT_FAILING = { failingSince: null, opensAt: null } as const;

// ---- observations and effects -----------------------------------------------------------

export type Observation =
  /** A new failure of the group was counted (the state already includes it) or looked up. */
  | {
      readonly kind: 'failure';
      readonly at: number;
      readonly executionArn: string;
      readonly redriveCount: number;
      /** Another state machine's breaker is open for the same specific error name (act/breaker-gate.ts). */
      readonly siblingOpen?: boolean;
      /** The policy's delay before this execution's next redrive (confirmationMs); absent: none. */
      readonly nextRedriveDelayMs?: number;
      /** The redrive that failed again was of a failure the breaker had held (a release or a probe): no wait to open again. */
      readonly afterHold?: boolean;
    }
  /**
   * A redrive of the group succeeded (its SUCCEEDED event): `redriveCount` is the
   * execution's count after that redrive, `redriveStartedAt` when the redrive started.
   */
  | { readonly kind: 'success'; readonly at: number; readonly executionArn: string; readonly redriveCount: number; readonly redriveStartedAt: number | null }
  /** The drain is about to redrive a held failure as the probe. */
  | { readonly kind: 'probe-started'; readonly probe: ProbeRef }
  /** What became of the probe with this token. */
  | { readonly kind: 'probe-result'; readonly token: string; readonly outcome: Exclude<ProbeOutcome, 'started'>; readonly at: number }
  /** No held failure of the group can be probed (none left, or none with a redrive left). */
  | { readonly kind: 'no-probe-candidate'; readonly at: number }
  /** The group's policy no longer has the breaker on (or no longer applies). */
  | { readonly kind: 'disabled'; readonly at: number }
  /** A person released the group's held failures (redrivectl release). */
  | { readonly kind: 'closed-by-hand'; readonly at: number }
  /** The drain found nothing left to release. */
  | { readonly kind: 'release-finished'; readonly at: number }
  /**
   * A probe of another group with the same error name (another state machine calling the
   * same dependency) succeeded at `recoveredAt`: the shared dependency is probably back.
   */
  | { readonly kind: 'sibling-recovered'; readonly recoveredAt: number; readonly at: number };

export type Effect =
  /** Verdict for a failure observation. */
  | { readonly kind: 'hold' }
  | { readonly kind: 'pass' }
  /** The group's redrives started failing: it opens at `opensAt` if they still are (confirmationMs). */
  | { readonly kind: 'failing'; readonly opensAt: number }
  | { readonly kind: 'opened'; readonly failuresInWindow: number; readonly redriveFailuresInWindow: number; readonly redriveSuccessesInWindow: number; readonly reopened: boolean }
  | { readonly kind: 'closed'; readonly reason: CloseReason }
  | { readonly kind: 'probe'; readonly outcome: ProbeOutcome }
  | { readonly kind: 'finished' }
  /** The next probe was brought forward to now (sibling-recovered). */
  | { readonly kind: 'advanced' }
  /** The observation does not apply to the state (a stale probe token, not open, ...). */
  | { readonly kind: 'ignored'; readonly why: string };

export interface Step {
  readonly state: BreakerState;
  /** True when the state must be written (conditional on the version it was read at). */
  readonly changed: boolean;
  readonly effects: readonly Effect[];
}

const unchanged = (state: BreakerState, ...effects: Effect[]): Step => ({ state, changed: false, effects });
const ignored = (state: BreakerState, why: string): Step => unchanged(state, { kind: 'ignored', why });

/** A transition: version+1; counters that no longer count are dropped (the store removes them). */
function write(before: BreakerState, after: BreakerState, at: number, settings: BreakerSettings, ...effects: Effect[]): Step {
  const stale = new Set(staleCounters(after, at, settings));
  const counts = Object.fromEntries(Object.entries(after.counts).filter(([name]) => !stale.has(name)));
  return { state: { ...after, counts, version: before.version + 1 }, changed: true, effects };
}

function doubled(intervalMs: number | null, settings: BreakerSettings): number {
  const base = settings.probeIntervalSeconds * 1000;
  return Math.min(settings.maxProbeIntervalSeconds * 1000, Math.max(base, (intervalMs ?? base) * 2));
}

/** Stops holding: the held failures are released by the drain; counting starts afresh. */
function close(state: BreakerState, reason: CloseReason, at: number, settings: BreakerSettings, ...effects: Effect[]): Step {
  return write(state, { ...state, status: 'releasing', closedAt: at, closeReason: reason, nextProbeAt: null, probe: null, ...NOT_FAILING, counts: {} }, at, settings, ...effects, {
    kind: 'closed',
    reason,
  });
}

export function step(state: BreakerState, obs: Observation, settings: BreakerSettings): Step {
  switch (obs.kind) {
    case 'failure': {
      if (state.status === 'open') return unchanged(state, { kind: 'hold' });
      if (!redrivesFailing(state, obs.at, settings, obs.siblingOpen)) {
        // Successes came since it started failing: forget it, a later run of failures starts afresh.
        if (state.failingSince !== null) return write(state, { ...state, ...NOT_FAILING }, obs.at, settings, { kind: 'pass' });
        return unchanged(state, { kind: 'pass' });
      }
      // No wait when the outage is already confirmed: another group's breaker is open for the
      // same error (a shared outage), or this group's did open and what it released or probed
      // fails again (the close came too early: a short recovery, or a lucky probe).
      if (!obs.siblingOpen && !obs.afterHold) {
        // Stale: its wait ended over a window ago (a wait as long as the window must still
        // leave a window in which the next failure opens it).
        const stale = state.failingSince === null || state.opensAt === null || obs.at - state.opensAt > settings.windowSeconds * 1000;
        const opensAt = stale ? obs.at + confirmationMs(settings, obs.nextRedriveDelayMs ?? 0) : state.opensAt!;
        if (obs.at < opensAt) {
          if (!stale) return unchanged(state, { kind: 'pass' });
          return write(state, { ...state, failingSince: obs.at, opensAt }, obs.at, settings, { kind: 'failing', opensAt }, { kind: 'pass' });
        }
      }
      const n = failuresInWindow(state, obs.at, settings);
      const r = redriveFailuresInWindow(state, obs.at, settings);
      const s = redriveSuccessesInWindow(state, obs.at, settings);
      // Probes start again from the first interval: the last probe did succeed, and a
      // steady trickle of independent failures (which may open it now and then) should
      // wait no longer than that each time.
      const reopened = state.status === 'releasing';
      const interval = settings.probeIntervalSeconds * 1000;
      return write(
        state,
        {
          ...state,
          status: 'open',
          openedAt: obs.at,
          closedAt: null,
          closeReason: null,
          probeIntervalMs: interval,
          nextProbeAt: obs.at + interval,
          probe: null,
          failedProbes: 0,
          firstFailure: { executionArn: obs.executionArn, redriveCount: obs.redriveCount, at: obs.at },
          ...NOT_FAILING,
        },
        obs.at,
        settings,
        { kind: 'opened', failuresInWindow: n, redriveFailuresInWindow: r, redriveSuccessesInWindow: s, reopened },
        { kind: 'hold' },
      );
    }
    case 'success': {
      if (state.status !== 'open') {
        // Not open but failing: the successes (counted before this step) may have ended it.
        if (state.failingSince !== null && !redrivesFailing(state, obs.at, settings)) return write(state, { ...state, ...NOT_FAILING }, obs.at, settings);
        return ignored(state, `breaker is ${state.status}`);
      }
      const probe = state.probe;
      if (probe && probe.executionArn === obs.executionArn && probe.redriveCount + 1 === obs.redriveCount) {
        return close(state, 'probe-succeeded', obs.at, settings, { kind: 'probe', outcome: 'succeeded' });
      }
      // A redrive that started after the opening (a person's release, a redrive already
      // under way) and succeeded: the dependency works now.
      if (obs.redriveStartedAt !== null && obs.redriveStartedAt >= (state.openedAt ?? Number.POSITIVE_INFINITY)) return close(state, 'redrive-succeeded', obs.at, settings);
      // One that started before may have passed the failing state before the outage began:
      // alone it proves nothing, but when the window's successes (counted before this step)
      // are no longer a small share of its failed redrives, the evidence that opened it is
      // gone (flaky executions, not an outage). A wrong close costs no more than the policy
      // alone would: releases wait for each failure's own backoff.
      // Failures are not counted while open: once the failed redrives that opened it have
      // left the window, there is nothing to weigh such a success against (probes decide).
      if (redriveFailuresInWindow(state, obs.at, settings) === 0 || redrivesFailing(state, obs.at, settings)) return ignored(state, 'the redrive started before the breaker opened');
      return close(state, 'redrive-succeeded', obs.at, settings);
    }
    case 'probe-started': {
      if (state.status !== 'open') return ignored(state, `breaker is ${state.status}`);
      if (state.probe) return ignored(state, 'a probe is already in flight');
      if ((state.nextProbeAt ?? 0) > obs.probe.startedAt) return ignored(state, 'the next probe is not due yet');
      return write(state, { ...state, probe: obs.probe }, obs.probe.startedAt, settings, { kind: 'probe', outcome: 'started' });
    }
    case 'probe-result': {
      if (!state.probe || state.probe.token !== obs.token) return ignored(state, 'not the probe in flight');
      const effect: Effect = { kind: 'probe', outcome: obs.outcome };
      switch (obs.outcome) {
        case 'succeeded':
          return close(state, 'probe-succeeded', obs.at, settings, effect);
        case 'different-error':
          return close(state, 'probe-different-error', obs.at, settings, effect);
        case 'same-error':
        case 'inconclusive': {
          const interval = doubled(state.probeIntervalMs, settings);
          const failedProbes = state.failedProbes + (obs.outcome === 'same-error' ? 1 : 0);
          return write(state, { ...state, probe: null, probeIntervalMs: interval, nextProbeAt: obs.at + interval, failedProbes }, obs.at, settings, effect);
        }
        case 'not-started':
          // Nothing was learned; another held failure may be tried at once.
          return write(state, { ...state, probe: null, nextProbeAt: obs.at }, obs.at, settings, effect);
      }
      break;
    }
    case 'no-probe-candidate':
      if (state.status !== 'open') return ignored(state, `breaker is ${state.status}`);
      if (state.probe) return ignored(state, 'a probe is in flight');
      return close(state, 'no-probe-candidate', obs.at, settings);
    case 'disabled':
      if (state.status !== 'open') return ignored(state, `breaker is ${state.status}`);
      return close(state, 'breaker-disabled', obs.at, settings);
    case 'closed-by-hand':
      if (state.status !== 'open') return ignored(state, `breaker is ${state.status}`);
      return close(state, 'released-by-hand', obs.at, settings);
    case 'sibling-recovered': {
      if (state.status !== 'open') return ignored(state, `breaker is ${state.status}`);
      if (state.probe) return ignored(state, 'a probe is in flight');
      if ((state.nextProbeAt ?? 0) <= obs.at) return ignored(state, 'the next probe is already due');
      // At most once per recovery: not when this group opened or learned a probe's outcome
      // after that recovery (its own evidence is newer).
      if (lastLearnedDown(state) >= obs.recoveredAt) return ignored(state, 'this group learned more recently than the recovery');
      return write(state, { ...state, nextProbeAt: obs.at }, obs.at, settings, { kind: 'advanced' });
    }
    case 'release-finished':
      if (state.status !== 'releasing') return ignored(state, `breaker is ${state.status}`);
      if (obs.at < (state.closedAt ?? 0) + RELEASE_GRACE_MS) return ignored(state, 'within the release grace period');
      return write(state, { ...state, status: 'closed', nextProbeAt: null, probe: null }, obs.at, settings, { kind: 'finished' });
  }
  return ignored(state, 'unknown observation');
}

/** The verdict of a failure step. */
export const verdictOf = (s: Step): 'hold' | 'pass' => (s.effects.some((e) => e.kind === 'hold') ? 'hold' : 'pass');

/** One sentence for the audit trail: why a failure of this group is held. */
export function holdDetail(label: string, state: BreakerState, now: number, settings: BreakerSettings): string {
  const since = state.openedAt === null ? 'now' : new Date(state.openedAt).toISOString();
  const next = state.probe
    ? `probe ${state.probe.executionArn} in flight`
    : state.nextProbeAt === null
      ? 'next probe when the drain runs'
      : `next probe ${state.nextProbeAt <= now ? 'when the drain runs' : `at ${new Date(state.nextProbeAt).toISOString()}`}`;
  return (
    `breaker open for ${label} since ${since} (${settings.redriveFailureThreshold}+ executions' redrives failed again, within ${settings.windowSeconds}s); ` +
    `held, not redriven, no redrive used; ${next}; released when a probe succeeds`
  );
}
