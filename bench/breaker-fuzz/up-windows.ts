/**
 * Up-windows the breaker could not use (verdicts.ts, `upWindowNotUsable`): an execution the
 * breaker-off arm recovered in a run that ended in an up-window between two outages of its
 * dependency, where a breaker keeping its contract (docs/breaker.md) could not have started
 * a redrive of it that ends inside the window:
 *
 * - it learns the dependency is up only from a probe that ends in the window: the probe in
 *   flight when the window opens (one probe at a time, issue 18 item 3: a long-running probe
 *   is waited for, not doubled), else one started within a maximum probe interval, taking
 *   about as long as this execution's own run;
 * - the drain releases within a minute of learning it, on the minute;
 * - nothing is probed or released while a person's kill switch is on (in both arms alike);
 * - and never sooner than the policy's backoff after the execution's last failure (rule c),
 *   with the redrives it had left when the window opened (a redrive in flight then, a probe
 *   of this very execution say, is an attempt to use the window, decided by its timing).
 *
 * Computed from the world's outages and the breaker-on arm's own probes and failures, so a
 * breaker that could have used the window and did not (a release that never comes, a probe
 * slower than its settings, a wrong backoff) is still counted worse off.
 */
import { delaySeconds, jitterFraction } from '../../lambda/decide/backoff';
import type { ArmRun } from './run-world';
import { policyAt } from './verdicts';
import { MINUTE, type World, WORLD_START } from './world';

const alignUp = (t: number) => Math.ceil(t / MINUTE) * MINUTE;

/** The up-window between two outages that `at` lies in, or undefined (before the first outage, after the last, or in one). */
export function upWindowAt(outages: World['machines'][number]['outages'], at: number): { from: number; to: number } | undefined {
  if (outages.some((w) => w.from <= at && at < w.to)) return undefined;
  const from = Math.max(...outages.filter((w) => w.to <= at).map((w) => w.to));
  const to = Math.min(...outages.filter((w) => w.from > at).map((w) => w.from));
  return Number.isFinite(from) && Number.isFinite(to) ? { from, to } : undefined;
}

/** Whether execution `i`'s recovering run with the breaker off ended in an up-window the breaker could not use for it. */
export function recoveredInUnusableUpWindow(world: World, off: ArmRun, on: ArmRun, i: number): boolean {
  const e = world.executions[i];
  const last = off.sim.runsOf(i).at(-1);
  if (e.kind !== 'normal' || last === undefined || last.status !== 'SUCCEEDED') return false;
  const machine = world.machines[e.machine];
  // A run's outcome is its dependency's state when it ends (sim-step-functions.ts taskRun).
  const window = upWindowAt(machine.outages, last.endsAt);
  if (!window) return false;
  // The owner's settings, also where a person switched the breaker off meanwhile.
  const policy = policyAt(on, machine.arn, window.from) ?? policyAt(on, machine.arn, WORLD_START);
  if (!policy) return false;

  // Nothing is probed or released while a person's kill switch is on (in either arm).
  const seen = probeInFlightEnd(world, on, e.machine, window.from) ?? unpausedFrom(world, window.from) + policy.breaker.maxProbeIntervalSeconds * 1000 + e.runMs;
  const released = unpausedFrom(world, seen) + MINUTE;
  // Its runs that had failed before the window opened. A redrive running when it opens (a
  // probe of this very execution, say) or started later is an attempt to use the window,
  // which the timing below decides. With no redrive left when it opened, the window is not
  // to blame (counted worse off).
  const runs = on.sim.runsOf(i);
  const failed = runs.filter((r) => r.endsAt <= window.from).at(-1);
  if (!failed || failed.status === 'SUCCEEDED') return false;
  const count = runs.indexOf(failed);
  if (count >= policy.maxRedrives) return false;
  const due = failed.endsAt + delaySeconds(policy, count, jitterFraction(e.arn, count)) * 1000;
  return alignUp(Math.max(released, due)) + e.runMs >= window.to;
}

/** The first moment at or after `at` when the controller is not paused (the world's pause and resume actions). */
export function unpausedFrom(world: World, at: number): number {
  let paused = false;
  let since = 0;
  for (const a of world.actions) {
    if (a.kind === 'pause' && !paused) [paused, since] = [true, a.at];
    else if (a.kind === 'resume' && paused) {
      paused = false;
      if (since <= at && at < a.at) return a.at;
    }
  }
  return paused && since <= at ? Number.POSITIVE_INFINITY : at;
}

/** When the breaker-on arm's probe of this machine that was running at `at` ended (the earliest, if several). */
function probeInFlightEnd(world: World, on: ArmRun, machine: number, at: number): number | undefined {
  let end: number | undefined;
  for (const r of on.sim.redrives) {
    const e = world.executions[r.executionIndex];
    if (e.machine !== machine || r.actor !== 'controller' || r.at > at) continue;
    const run = on.sim.runsOf(r.executionIndex)[r.fromCount + 1];
    if (!run || run.endsAt <= at) continue;
    const probe = on.audit.entries.some((a) => a.executionArn === e.arn && a.redriveCount === r.fromCount && a.source === 'probe' && a.decision === 'redrive');
    if (probe) end = Math.min(end ?? run.endsAt, run.endsAt);
  }
  return end;
}
