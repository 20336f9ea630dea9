/**
 * What the drain learns about a probe in flight (pure): what DescribeExecution's answer
 * says about it, and when to ask again. The breaker's state machine (decide/breaker.ts)
 * takes the outcome as a `probe-result` observation.
 */
import type { ProbeOutcome, ProbeRef } from '../../contract/breaker';
import type { BreakerSettings } from './breaker';

/** What a probe execution looks like now, as far as the breaker is concerned. */
export interface ProbeView {
  readonly status: string;
  readonly redriveCount: number;
  readonly error: string | null;
}

/**
 * What DescribeExecution's answer says about the probe (`undefined`: no such execution).
 * `running`: nothing to report yet. Not redriven yet (redriveCount unchanged): the process
 * that started it died before RedriveExecution, or the answer lags; after `claimTimeoutMs`
 * it is reported as never started and another held failure is probed.
 */
export function probeOutcomeOf(
  group: { readonly errorName: string | null },
  probe: ProbeRef,
  current: ProbeView | undefined,
  now: number,
  claimTimeoutMs: number,
): Exclude<ProbeOutcome, 'started'> | 'running' {
  if (!current) return 'not-started';
  if (current.redriveCount <= probe.redriveCount) return now - probe.startedAt > claimTimeoutMs ? 'not-started' : 'running';
  // However long it runs: its outcome is the evidence, and a second probe meanwhile would
  // spend another execution's redrive on the same question (issue 18: long workflows).
  if (current.status === 'RUNNING' || current.status === 'PENDING_REDRIVE') return 'running';
  if (current.status === 'SUCCEEDED') return 'succeeded';
  const error = current.error ?? (current.status === 'TIMED_OUT' ? 'States.Timeout' : null);
  return error === group.errorName ? 'same-error' : 'different-error';
}

/**
 * Whether the drain should ask Step Functions about a probe still running: every run for
 * the first `probeTimeoutSeconds`, then less and less often (an eighth of its age, between
 * one drain tick and 15 minutes), so a workflow that runs for hours or days is watched
 * until it ends at a bounded cost. Its SUCCEEDED or FAILED event usually tells first.
 */
export function probeCheckDue(probe: ProbeRef, now: number, settings: Pick<BreakerSettings, 'probeTimeoutSeconds'>, tickMs = 60_000): boolean {
  const age = now - probe.startedAt;
  const timeout = settings.probeTimeoutSeconds * 1000;
  if (age <= timeout) return true;
  // Checkpoints at timeout × (9/8)^k (each an eighth of the age after the last), then every
  // 15 minutes once that step is longer; due when one fell within the last tick.
  const cap = 15 * 60_000;
  const previous = Math.max(timeout, age - tickMs);
  if (age >= 8 * cap) return Math.floor(age / cap) !== Math.floor(previous / cap) || previous < 8 * cap;
  const k = (a: number) => Math.floor(Math.log(a / timeout) / Math.log(9 / 8));
  return k(age) !== k(previous);
}
