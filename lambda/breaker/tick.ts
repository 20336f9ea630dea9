/**
 * The breaker's share of a drain run (scheduled-drain.ts), after the due redrives:
 * 0. owner events still owed (breaker-events.ts announceOwed), even while paused;
 * 1. every active breaker: a breaker whose policy no longer has it on stops holding; an
 *    open one has its probe checked and, when due, a new probe started and watched for a
 *    few seconds (all groups at once); then, if a probe succeeded, open groups with the
 *    same error name probe at once (probeSiblings);
 * 2. releasing breakers release their held failures (breaker/release.ts), until the release
 *    budget;
 * 3. held (and parked) failures near the end of the 14-day redrive window are given up;
 * 4. gauges: OpenBreakers, OldestOpenBreakerAgeSeconds (the breaker alarm), HeldBacklog.
 * The drain does neither 1 nor 2 while the kill switch is on; 3 runs while paused too (a
 * pause must not let a held failure age out of its window unseen).
 */
import { type BreakerGroup, HELD_EXHAUSTED_SHARD, heldShard } from '../../contract/breaker';
import { HELD_APPROVAL_SHARD } from '../../contract/approval';
import { releaseNoLongerAwaiting } from '../approval/approve';
import { HELD_BUDGET_SHARD } from '../../contract/budget';
import { parseStateMachineArn } from '../../contract/arn';
import { namesOneDependency } from '../../contract/error-names';
import { METRIC } from '../../contract/metrics';
import { BREAKER_DEFAULTS, type RedrivePolicy } from '../../contract/policy-schema';
import { type BreakerState, lastLearnedDown } from '../decide/breaker';
import type { Outcome } from '../event-path';
import { type PolicySnapshot, resolvePolicy } from '../policy/policy-source';
import { announceIfClosed, announceOwed } from '../record/breaker-events';
import { type BreakerDeps, NOTHING_SHARED, probeTurn, type SharedDependency } from './probe';
import { giveUpNearWindowEnd, releaseGroup } from './release';
import { stillServed } from '../unserved-failure';

export interface BreakerRunOptions {
  /** When the drain run started (deps.clock). */
  readonly started: number;
  /** Probes and releases start no later than this many ms after the drain started. @default 170_000 */
  readonly releaseBudgetMs?: number;
  /** Held failures released at once. @default redriveRatePerSecond / 5, between 8 and 64 */
  readonly releaseConcurrency?: number;
  /** How long a new probe is watched in the run that started it. @default 30_000 */
  readonly probeWatchMs?: number;
  /** DescribeExecution of a watched probe every this many ms. @default 3_000 */
  readonly probePollMs?: number;
  /** Kill switch: only the gauges. */
  readonly paused?: boolean;
}

export interface BreakerRunReport {
  readonly open: number;
  readonly releasing: number;
  /** Release outcomes (source `release`) of this run. */
  readonly released: Outcome[];
  readonly gaveUp: number;
  /** Held failures left after this run (all groups and exhausted holds). */
  readonly held: number;
}

/**
 * Probes and releases start until 10 s before the third scheduled tick after the run's
 * start (at the default one-minute drain interval): a release longer than one run then
 * goes on at that tick, which finds the run over, instead of a tick later (a tick that
 * finds a run still going is skipped); the 5-minute Lambda timeout leaves room for the
 * rest of the run.
 */
export const DEFAULT_RELEASE_BUDGET_MS = 170_000;

/**
 * The policy under which a group's breaker may hold and probe; undefined: it must stop
 * holding (no policy, invalid, disabled, breaker off, or a dry run, which must not probe).
 * Its held failures then go through decide(), which records why.
 */
function breakerPolicy(snapshot: PolicySnapshot, group: BreakerGroup): RedrivePolicy | undefined {
  const resolution = resolvePolicy(snapshot, group.stateMachineArn);
  if (resolution.kind !== 'found' || !resolution.policy.enabled || !resolution.policy.breaker.enabled || resolution.policy.dryRun) return undefined;
  return resolution.policy;
}

const probeWatch = (deadline: number, options: BreakerRunOptions) => ({ deadline, watchMs: options.probeWatchMs ?? 30_000, pollMs: options.probePollMs ?? 3_000 });

/**
 * What other state machines' breakers say of each group's dependency (the same error name,
 * when it means one dependency): when an open one last learned it is down, and whether one
 * was released after a probe succeeded since the group opened. One pass over the active
 * breakers, so a drain run's cost grows with their number, not with its square.
 */
function sharedDependencies(active: ReadonlyArray<{ group: BreakerGroup; state: BreakerState }>): (group: BreakerGroup, state: BreakerState) => SharedDependency {
  const recoveredAt = latestRecoveries(active);
  // Per error name, the two latest 'down' of open breakers: the latest of another state machine is one of them.
  const downs = new Map<string, Array<{ stateMachineArn: string; at: number }>>();
  for (const { group, state } of active) {
    if (state.status !== 'open' || !namesOneDependency(group.errorName)) continue;
    const down = [...(downs.get(group.errorName) ?? []), { stateMachineArn: group.stateMachineArn, at: lastLearnedDown(state) }];
    downs.set(group.errorName, down.sort((a, b) => b.at - a.at).slice(0, 2));
  }
  return (group, state) => {
    if (!namesOneDependency(group.errorName)) return NOTHING_SHARED;
    const down = downs.get(group.errorName)?.find((d) => d.stateMachineArn !== group.stateMachineArn);
    // An open breaker is never a recovery, so an open group's own entry cannot say it recovered.
    const recovered = state.status === 'open' && (recoveredAt.get(group.errorName) ?? Number.NEGATIVE_INFINITY) >= (state.openedAt ?? 0);
    return { downAt: down?.at ?? null, recovered };
  };
}

/** When a breaker stopped holding because its probe succeeded (releasing); undefined otherwise. */
function recoveredByProbeAt(state: BreakerState): number | undefined {
  return state.status === 'releasing' && state.closeReason === 'probe-succeeded' && state.closedAt !== null ? state.closedAt : undefined;
}

/** Per error name that means one dependency, the latest recovery by a probe among these breakers. */
function latestRecoveries(breakers: ReadonlyArray<{ group: BreakerGroup; state: BreakerState }>): Map<string, number> {
  const latest = new Map<string, number>();
  for (const { group, state } of breakers) {
    const at = recoveredByProbeAt(state);
    if (at === undefined || !namesOneDependency(group.errorName)) continue;
    latest.set(group.errorName, Math.max(latest.get(group.errorName) ?? at, at));
  }
  return latest;
}

async function turn(group: BreakerGroup, state: BreakerState, snapshot: PolicySnapshot, deps: BreakerDeps, deadline: number, options: BreakerRunOptions, shared: SharedDependency): Promise<BreakerState> {
  if (state.status !== 'open') return state;
  // A group in an account or Region no longer served stops holding (it could never probe):
  // its release settles each held failure as account-not-served (unserved-failure.ts).
  const policy = stillServed(parseStateMachineArn(group.stateMachineArn), deps) ? breakerPolicy(snapshot, group) : undefined;
  if (!policy) {
    const resolution = resolvePolicy(snapshot, group.stateMachineArn);
    const settings = resolution.kind === 'found' ? resolution.policy.breaker : BREAKER_DEFAULTS;
    const { before, step } = await deps.breakers.transition(group, { kind: 'disabled', at: deps.clock() }, settings, state);
    await announceIfClosed(group, before, step, deps);
    return step.state;
  }
  return probeTurn(group, state, policy, deps, probeWatch(deadline, options), shared);
}

/**
 * A region-wide dependency outage opens one group per state machine, and each probes on
 * its own backed-off schedule (up to maxProbeIntervalSeconds apart). When one group's
 * probe succeeds (in this run, or by its event since the last), the dependency is probably
 * back: open groups with the same error name probe now instead of at their next probe
 * time, once per recovery (decide/breaker.ts `sibling-recovered`), so their releases start
 * together. A sibling whose probe fails again backs off as usual.
 */
async function probeSiblings(
  turns: ReadonlyArray<{ group: BreakerGroup; state: BreakerState }>,
  snapshot: PolicySnapshot,
  deps: BreakerDeps,
  deadline: number,
  options: BreakerRunOptions,
): Promise<Array<{ group: BreakerGroup; state: BreakerState }>> {
  const recoveredAt = latestRecoveries(turns);
  if (recoveredAt.size === 0 || deps.clock() >= deadline) return [...turns];
  return Promise.all(
    turns.map(async (b) => {
      const at = b.group.errorName === null ? undefined : recoveredAt.get(b.group.errorName);
      if (at === undefined || b.state.status !== 'open' || b.state.probe) return b;
      const policy = breakerPolicy(snapshot, b.group);
      if (!policy) return b;
      try {
        const { step } = await deps.breakers.transition(b.group, { kind: 'sibling-recovered', recoveredAt: at, at: deps.clock() }, policy.breaker, b.state);
        // Brought forward, or already due (it waited this run before spending a last redrive):
        // either way it probes now, unless it learned of the outage after the recovery.
        if (lastLearnedDown(b.state) >= at) return { group: b.group, state: step.state };
        deps.log.info('probe brought forward: a group with the same error recovered', { stateMachineArn: b.group.stateMachineArn, errorName: b.group.errorName });
        return { group: b.group, state: await probeTurn(b.group, step.state, policy, deps, probeWatch(deadline, options), { downAt: null, recovered: true }) };
      } catch (e) {
        deps.log.error('breaker step failed; retried next run', { stateMachineArn: b.group.stateMachineArn, errorName: b.group.errorName, error: (e as Error).message });
        return b;
      }
    }),
  );
}

export async function runBreakers(deps: BreakerDeps, snapshot: PolicySnapshot, options: BreakerRunOptions): Promise<BreakerRunReport> {
  const deadline = options.started + (options.releaseBudgetMs ?? DEFAULT_RELEASE_BUDGET_MS);
  let active = await deps.breakers.active();
  // Owner events a transition still owes (its PutEvents failed, or its process died first).
  await announceOwed(active, deps).catch((e: Error) => deps.log.error('owed breaker events not sent; tried again next run', { error: e.message }));
  const released: Outcome[] = [];
  let gaveUp = 0;
  if (!options.paused) {
    const shared = sharedDependencies(active);
    const turns = await Promise.all(
      active.map(async (b) => {
        try {
          return { group: b.group, state: await turn(b.group, b.state, snapshot, deps, deadline, options, shared(b.group, b.state)) };
        } catch (e) {
          deps.log.error('breaker step failed; retried next run', { stateMachineArn: b.group.stateMachineArn, errorName: b.group.errorName, error: (e as Error).message });
          return b;
        }
      }),
    );
    const results = await probeSiblings(turns, snapshot, deps, deadline, options);
    // Oldest close first.
    const releasing = results.filter((b) => b.state.status === 'releasing').sort((a, b) => (a.state.closedAt ?? 0) - (b.state.closedAt ?? 0));
    const concurrency = options.releaseConcurrency ?? Math.min(64, Math.max(8, Math.ceil(deps.config.redriveRatePerSecond / 5)));
    for (const b of releasing) {
      if (deps.clock() >= deadline) break;
      const policy = resolvePolicy(snapshot, b.group.stateMachineArn);
      const settings = policy.kind === 'found' ? policy.policy.breaker : BREAKER_DEFAULTS;
      try {
        const report = await releaseGroup(b.group, deps, { deadline, concurrency, settings });
        released.push(...report.outcomes);
      } catch (e) {
        deps.log.error('release interrupted; continued next run', { stateMachineArn: b.group.stateMachineArn, errorName: b.group.errorName, error: (e as Error).message });
      }
    }
    active = await deps.breakers.active();
  }
  const parked = (await deps.ledger.parked.families()).map((f) => f.base);
  gaveUp = await giveUpNearWindowEnd(deps, snapshot, [...active.map((b) => heldShard(b.group)), HELD_EXHAUSTED_SHARD, ...parked, HELD_APPROVAL_SHARD, HELD_BUDGET_SHARD]);
  if (!options.paused) released.push(...(await releaseNoLongerAwaiting(deps, snapshot)));

  // Gauges.
  const now = deps.clock();
  const open = active.filter((b) => b.state.status === 'open');
  let held = await deps.ledger.heldCount(HELD_EXHAUSTED_SHARD);
  for (const b of active) held += await deps.ledger.heldCount(heldShard(b.group));
  const oldestOpenedAt = Math.min(...open.map((b) => b.state.openedAt ?? now));
  deps.metrics.count(METRIC.openBreakers, {}, open.length);
  deps.metrics.seconds(METRIC.oldestOpenBreakerAge, open.length ? Math.max(0, Math.round((now - oldestOpenedAt) / 1000)) : 0);
  deps.metrics.count(METRIC.heldBacklog, {}, held);
  deps.metrics.count(METRIC.awaitingApproval, {}, await deps.ledger.heldCount(HELD_APPROVAL_SHARD));
  return { open: open.length, releasing: active.length - open.length, released, gaveUp, held };
}
