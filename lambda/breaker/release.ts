/**
 * Releasing held failures: each one goes back through the event path (source `release`),
 * so the normal decide() applies (policy, error filters, limits, pause, dry run), oldest
 * first, under the controller-wide RedriveExecution rate. Used by the drain when a
 * breaker closes, and by `redrivectl release` (a person's release: maxRedrives and an open
 * breaker do not stop it).
 *
 * Throughput: a release is ~4 DynamoDB calls (read, claim, rate slot, outcome with its
 * audit entry) and one RedriveExecution; `concurrency`
 * workers keep enough in flight that the rate limiter, not the round trips, sets the pace.
 * The drain gives releases a longer budget than due redrives (its Lambda timeout is 5
 * minutes, the schedule 1 minute; a tick that finds the drain running is skipped), so a
 * large release runs without gaps at the configured rate.
 *
 * Also here: held failures close to the end of Step Functions' 14-day redrive window are
 * given up (skip redrive-window-ending, owner event) instead of silently ageing out.
 */
import { type BreakerGroup, HELD_EXHAUSTED_SHARD, heldShard, REDRIVE_WINDOW_MS } from '../../contract/breaker';
import { AWAITING_APPROVAL } from '../../contract/approval';
import { MAX_HOLD_MARGIN_HOURS, POLICY_DEFAULTS, type BreakerPolicy } from '../../contract/policy-schema';
import { skipDecision } from '../decide/decision';
import { eventFromRecord } from '../event/from-record';
import { type ControllerDeps, type Outcome, processStatusChange } from '../event-path';
import { type PolicySnapshot, resolvePolicy } from '../policy/policy-source';
import { announceIfClosed, recordDecision } from '../record/breaker-events';
import type { FailureRecord } from '../record/failure-ledger';
import type { PauseState } from '../record/kill-switch';
import type { BreakerDeps } from './probe';

const PAGE = 200;
const HOUR_MS = 3_600_000;

/** One held failure through the event path. */
export async function releaseOne(record: FailureRecord, deps: ControllerDeps, byHand = false): Promise<Outcome> {
  // An account or Region no longer served: the event path settles it (unserved-failure.ts).
  // Held: a skip "for now" (paused meanwhile, policy disabled, dry run) parks it for later.
  return processStatusChange(eventFromRecord(record, deps.clock(), 'release'), deps, { source: 'release', releasedByHand: byHand, parkIfNotNow: true });
}

/** The next up to `n` items of a stream (fewer only at its end). */
export async function take<T>(stream: AsyncIterator<T>, n: number): Promise<T[]> {
  const items: T[] = [];
  while (items.length < n) {
    const next = await stream.next();
    if (next.done) break;
    items.push(next.value);
  }
  return items;
}

/** Runs `work` over `items`, `concurrency` at a time, until `stop()` says so. */
export async function pool<T>(items: readonly T[], concurrency: number, stop: () => boolean, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && !stop()) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
}

export interface ReleaseReport {
  readonly outcomes: Outcome[];
  /** Nothing left to release and the breaker closed for good. */
  readonly finished: boolean;
  /** The breaker opened again: the rest stay held. */
  readonly reopened: boolean;
  readonly errors: number;
}

export interface ReleaseOptions {
  /** Epoch ms (deps.clock) after which no new release starts. */
  readonly deadline: number;
  readonly concurrency: number;
  readonly settings: BreakerPolicy;
  readonly byHand?: boolean;
  readonly onOutcome?: (outcome: Outcome) => void;
  readonly shouldStop?: () => boolean;
}

/**
 * Releases a releasing breaker's held failures, oldest first, page by page, until none is
 * left (then the breaker closes for good, after the grace period), the breaker opens
 * again, or the deadline.
 */
export async function releaseGroup(group: BreakerGroup, deps: BreakerDeps, options: ReleaseOptions): Promise<ReleaseReport> {
  const outcomes: Outcome[] = [];
  let errors = 0;
  const stop = () => deps.clock() >= options.deadline || (options.shouldStop?.() ?? false);
  for (;;) {
    // One pass: every shard of the group's held failures, merged oldest first, a batch at a time.
    const held = deps.ledger.held(heldShard(group));
    let seen = 0;
    let progressThisPass = 0;
    try {
      for (;;) {
        if (stop()) return { outcomes, finished: false, reopened: false, errors };
        const state = await deps.breakers.read(group);
        if (state.status === 'open' && !options.byHand) return { outcomes, finished: false, reopened: true, errors };
        const batch = await take(held, PAGE);
        if (batch.length === 0 && seen === 0) {
          if (state.status !== 'releasing') return { outcomes, finished: state.status === 'closed', reopened: false, errors };
          const { step } = await deps.breakers.transition(group, { kind: 'release-finished', at: deps.clock() }, options.settings, state);
          return { outcomes, finished: step.effects.some((e) => e.kind === 'finished'), reopened: false, errors };
        }
        if (batch.length === 0) break;
        seen += batch.length;
        await pool(batch, options.concurrency, stop, async (record) => {
          try {
            const outcome = await releaseOne(record, deps, options.byHand);
            outcomes.push(outcome);
            options.onOutcome?.(outcome);
            if (outcome.action !== 'held') progressThisPass++;
          } catch (e) {
            // It stays held; the next pass or the next drain run tries again.
            errors++;
            deps.log.error('held failure not released this time', { executionArn: record.executionArn, errorName: (e as Error).name, error: (e as Error).message });
          }
        });
      }
    } finally {
      await held.return(undefined);
    }
    // End of a pass: look again from the start (late holds), unless this pass achieved nothing.
    if (progressThisPass === 0) return { outcomes, finished: false, reopened: false, errors };
  }
}

/**
 * Gives up held (and parked) failures whose 14-day redrive window ends within their policy's
 * `holdMarginHours`: skip `redrive-window-ending`, audit, owner event (Auto Redrive Skipped).
 */
export async function giveUpNearWindowEnd(deps: ControllerDeps, snapshot: PolicySnapshot, shards: readonly string[]): Promise<number> {
  const now = deps.clock();
  // Everything that could be due under the widest margin; each checked against its own.
  const stoppedBefore = now - REDRIVE_WINDOW_MS + MAX_HOLD_MARGIN_HOURS * HOUR_MS;
  let given = 0;
  for (const shard of shards) {
    // The 100 oldest of the family (every shard): the next drain run takes the next ones.
    const held = deps.ledger.held(shard, { stoppedBefore });
    const oldest = await take(held, 100);
    await held.return(undefined);
    for (const record of oldest) {
      const resolution = resolvePolicy(snapshot, record.stateMachineArn);
      const marginHours = resolution.kind === 'found' ? resolution.policy.holdMarginHours : POLICY_DEFAULTS.holdMarginHours;
      const stopped = record.stopDate ?? record.heldAt ?? record.updatedAt;
      const windowEnds = stopped + REDRIVE_WINDOW_MS;
      if (windowEnds - marginHours * HOUR_MS > now) continue;
      // Held by a breaker with redrives left: the policy alone would have spent them long
      // ago, so it gets one redrive now (its breaker does not hold it back) instead of being
      // given up with redrives unused (docs/breaker.md, "The contract"). Paused: given up
      // and reported, as a pause must not let it expire unseen.
      const policy = resolution.kind === 'found' && resolution.policy.enabled ? resolution.policy : undefined;
      if (record.state === 'held' && record.reason === 'breaker-open' && policy && record.redriveCount < policy.maxRedrives && !snapshot.pause.paused) {
        const outcome = await processStatusChange(eventFromRecord(record, now, 'release'), deps, { source: 'release', windowEnding: true, parkIfNotNow: true });
        if (outcome.action !== 'held') continue;
      }
      if (!(await deps.ledger.skip(record, 'redrive-window-ending', now))) continue;
      const decision = skipDecision(
        'redrive-window-ending',
        `${record.state === 'held' ? 'held' : 'parked'} (${record.reason ?? 'held'}) until ${marginHours}h before Step Functions' 14-day redrive window ends (${new Date(windowEnds).toISOString()}); given up so it does not expire unseen` +
          (record.reason === AWAITING_APPROVAL ? ': no one approved or rejected it (redrivectl approve / reject)' : ''),
        { policyKey: record.policyKey, redriveCount: record.redriveCount, errorName: record.errorName },
      );
      await recordDecision(record, decision, { action: 'skipped' }, 'release', deps);
      if (deps.notifier) await deps.notifier.notify(decision, record, record.cause);
      given++;
    }
  }
  return given;
}

// ---- redrivectl release ------------------------------------------------------------------

/**
 * A person's release while the kill switch is on: refused before anything is touched (a
 * release would only turn held failures into `paused` skips). `pause` says who paused,
 * when and why.
 */
export class ReleaseWhilePausedError extends Error {
  constructor(readonly pause: PauseState) {
    super(`the controller is paused${pause.by ? ` by ${pause.by}` : ''}${pause.at ? ` since ${new Date(pause.at).toISOString()}` : ''}${pause.reason ? ` (${pause.reason})` : ''}`);
    this.name = 'ReleaseWhilePausedError';
  }
}

/** Throws ReleaseWhilePausedError when the kill switch is on (read afresh, not from the policy cache). */
export async function refuseWhilePaused(deps: Pick<ControllerDeps, 'policies' | 'clock'>): Promise<void> {
  const { pause } = await deps.policies.refresh(deps.clock());
  if (pause.paused) throw new ReleaseWhilePausedError(pause);
}

/** A person releases one execution's held failures (normally one); refused while paused. */
export async function releaseExecutionByHand(executionArn: string, deps: ControllerDeps): Promise<Outcome[]> {
  await refuseWhilePaused(deps);
  // A failure held for approval is approved (redrivectl approve: approvedBy recorded), not released.
  const held = (await deps.ledger.failuresOf(executionArn)).filter((f) => f.state === 'held' && f.reason !== AWAITING_APPROVAL);
  const outcomes: Outcome[] = [];
  for (const record of held) outcomes.push(await releaseOne(record, deps, true));
  return outcomes;
}

/** What `redrivectl release --state-machine` would release: per held shard, how many. */
export async function heldOfStateMachine(stateMachineArn: string, deps: BreakerDeps): Promise<{ groups: Array<{ group: BreakerGroup; status: string; held: number }>; exhausted: number }> {
  const groups = [];
  for (const b of await deps.breakers.active()) {
    if (b.group.stateMachineArn !== stateMachineArn) continue;
    groups.push({ group: b.group, status: b.state.status, held: await deps.ledger.heldCount(heldShard(b.group)) });
  }
  let exhausted = 0;
  const held = deps.ledger.held(HELD_EXHAUSTED_SHARD, { stateMachineArn, pageSize: 500 });
  while (!(await held.next()).done) exhausted++;
  return { groups, exhausted };
}

/**
 * A person releases every held failure of a state machine (refused while paused): its open breakers stop holding
 * (reason released-by-hand, owner event), then each group's held failures and those held
 * after exhaustion go through the event path as the person's release.
 */
export async function releaseStateMachineByHand(
  stateMachineArn: string,
  deps: BreakerDeps,
  options: { readonly concurrency: number; readonly onOutcome?: (o: Outcome) => void; readonly shouldStop?: () => boolean },
): Promise<Outcome[]> {
  await refuseWhilePaused(deps);
  const outcomes: Outcome[] = [];
  const snapshot = await deps.policies.snapshot(deps.clock());
  const resolution = resolvePolicy(snapshot, stateMachineArn);
  const settings = resolution.kind === 'found' ? resolution.policy.breaker : POLICY_DEFAULTS.breaker;
  const never = Number.POSITIVE_INFINITY;
  for (const b of await deps.breakers.active()) {
    if (b.group.stateMachineArn !== stateMachineArn) continue;
    const { before, step } = await deps.breakers.transition(b.group, { kind: 'closed-by-hand', at: deps.clock() }, settings, b.state);
    await announceIfClosed(b.group, before, step, deps);
    const report = await releaseGroup(b.group, deps, { deadline: never, concurrency: options.concurrency, settings, byHand: true, onOutcome: options.onOutcome, shouldStop: options.shouldStop });
    outcomes.push(...report.outcomes);
  }
  const exhausted = deps.ledger.held(HELD_EXHAUSTED_SHARD, { stateMachineArn });
  for (;;) {
    if (options.shouldStop?.()) break;
    const batch = await take(exhausted, PAGE);
    if (batch.length === 0) break;
    await pool(batch, options.concurrency, () => options.shouldStop?.() ?? false, async (record) => {
      const outcome = await releaseOne(record, deps, true);
      outcomes.push(outcome);
      options.onOutcome?.(outcome);
    });
  }
  await exhausted.return(undefined);
  return outcomes;
}
