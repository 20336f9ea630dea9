/**
 * Runs one fuzz world once (one arm: breaker off or on) on a simulated clock through the
 * real controller code: `handleStatusChange` for each delivered status-change event,
 * `scheduledRun` (drain, breakers, sweep) every simulated minute, and the library
 * functions redrivectl uses for people's releases. Dependencies are in memory
 * (test/hardening/support/fakes.ts, ./memory-stores.ts, ./sim-step-functions.ts).
 *
 * Everything is sequential (each delivery, tick and action is awaited before the next)
 * and every random draw comes from the world's seed and the event's identity, so a run is
 * reproducible and both arms see the same deliveries as long as they behave alike.
 *
 * Idle minutes are skipped: when no breaker is active, no person acted in the last two
 * hours, and no delivery, start, action, due redrive, window-end give-up or failure the
 * ledger does not know yet (the sweep's business) is near, the clock jumps to the next
 * minute at which one is; the sweep schedule is moved as if the skipped sweeps had run
 * (they would have found nothing). A test runs worlds both ways and compares.
 */
import { REDRIVE_WINDOW_MS } from '../../contract/breaker';
import { matchesPattern, statusChangePattern } from '../../contract/event-pattern';
import { POLICY_DEFAULTS, type PolicyParseResult } from '../../contract/policy-schema';
import { type ControllerConfig, DEFAULTS } from '../../lambda/config';
import { ReleaseWhilePausedError, releaseExecutionByHand, releaseStateMachineByHand } from '../../lambda/breaker/release';
import type { BreakerDeps } from '../../lambda/breaker/probe';
import { redriveClientToken } from '../../lambda/act/client-token';
import { type ControllerDeps, handleStatusChange } from '../../lambda/event-path';
import type { PolicySource } from '../../lambda/policy/policy-source';
import { resolvePolicy } from '../../lambda/policy/policy-source';
import type { AuditTrail } from '../../lambda/record/audit-trail';
import type { BreakerStore } from '../../lambda/record/breaker-store';
import type { FailureLedger } from '../../lambda/record/failure-ledger';
import { MemoryNotifier } from '../../lambda/record/owner-notifier';
import type { SweepSchedule } from '../../lambda/record/sweep-schedule';
import { scheduledRun } from '../../lambda/scheduled-drain';
import { FakeAudit, FakeLedger, FakeRate } from '../../test/hardening/support/fakes';
import { CountingMetrics, MemoryBreakerStore, MemorySweepSchedule, QUIET_LOG, WorldPolicies } from './memory-stores';
import { SimStepFunctions, type StatusChangeEvent } from './sim-step-functions';
import { TimerHeap } from '../timer-heap';
import { HORIZON_MS, HOUR, MINUTE, type PersonAction, Prng, type World, WORLD_START } from './world';

export type Arm = 'off' | 'on';

/**
 * Who handles the events: the controller, or (harness self-test) a broken redriver that
 * redrives every failure as soon as its event arrives, up to the policy's maxRedrives.
 */
export type Handler = 'controller' | 'redrive-at-once';

export interface PolicyEpoch {
  readonly at: number;
  readonly policies: ReadonlyMap<string, PolicyParseResult>;
}

export interface ArmRun {
  readonly world: World;
  readonly arm: Arm;
  readonly sim: SimStepFunctions;
  readonly ledger: FakeLedger;
  readonly audit: FakeAudit;
  readonly notifier: MemoryNotifier;
  /** The policy items in force from `at` on. */
  readonly policyEpochs: readonly PolicyEpoch[];
  /** Event ids dead-lettered after three failed invocations. */
  readonly deadLettered: ReadonlySet<string>;
  readonly endedAt: number;
  /** Everything settled before the horizon. */
  readonly settled: boolean;
  readonly ticks: number;
  readonly deliveries: number;
  readonly errors: readonly string[];
}

export interface RunWorldOptions {
  readonly handler?: Handler;
  /** Jump over idle minutes. @default true (false: tick every minute; the test that skipping changes nothing) */
  readonly skipIdle?: boolean;
}

type TimerFn = () => Promise<void> | void;

const alignUp = (t: number) => Math.ceil(t / MINUTE) * MINUTE;

/** A stable number in [0, 1) for one (world, event, copy): the same in both arms. */
function draw(world: World, id: string, salt: number): number {
  let h = 0x811c9dc5 ^ salt;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return new Prng(world.seed ^ h, world.index).next();
}

/** When each copy of an event reaches the controller: seconds, sometimes late, sometimes twice. */
export function deliveryTimes(world: World, change: StatusChangeEvent): number[] {
  const late = draw(world, change.id, 1) < 0.05;
  const first = change.at + (late ? 120_000 + Math.floor(draw(world, change.id, 2) * 40 * MINUTE) : 1_000 + Math.floor(draw(world, change.id, 3) * 8_000));
  return draw(world, change.id, 4) < 0.05 ? [first, first + 5_000 + Math.floor(draw(world, change.id, 5) * 300_000)] : [first];
}

/** The item as the arm has it: breaker off means every policy item turns it off. */
const forArm = (arm: Arm, item: Record<string, unknown>) => (arm === 'off' ? { ...item, breaker: { enabled: false } } : item);

export async function runWorld(world: World, arm: Arm, options: RunWorldOptions = {}): Promise<ArmRun> {
  let now = WORLD_START;
  const clock = () => now;
  const end = WORLD_START + HORIZON_MS;
  const timers = new TimerHeap<TimerFn>();
  const pattern = statusChangePattern();
  const ledger = new FakeLedger();
  const audit = new FakeAudit();
  const notifier = new MemoryNotifier();
  const breakers = new MemoryBreakerStore(clock);
  const policies = new WorldPolicies();
  const sweepSchedule = new MemorySweepSchedule();
  const deadLettered = new Set<string>();
  const errors: string[] = [];
  const policyEpochs: PolicyEpoch[] = [];
  let config: ControllerConfig = { ...DEFAULTS, policyTableName: 'policies', ledgerTableName: 'ledger', eventBusName: undefined };
  let deliveries = 0;
  let ticks = 0;
  let lastActionAt = Number.NEGATIVE_INFINITY;

  for (const item of world.policies) policies.put(forArm(arm, item));
  policyEpochs.push({ at: now, policies: policies.current() });

  const sim = new SimStepFunctions(world, clock, (change) => {
    if (!matchesPattern(pattern, change.event)) return;
    for (const at of deliveryTimes(world, change)) timers.push(at, () => deliver(change, 0));
  });

  const deps = (): ControllerDeps & BreakerDeps & { sweepSchedule: SweepSchedule } => ({
    config,
    policies: policies as unknown as PolicySource,
    audit: audit as unknown as AuditTrail,
    ledger: ledger as unknown as FailureLedger,
    breakers: breakers as unknown as BreakerStore,
    sweepSchedule: sweepSchedule as unknown as SweepSchedule,
    stepFunctions: sim,
    redriveRate: new FakeRate(clock, true),
    describeRate: new FakeRate(clock, true),
    clock,
    sleep: async (ms) => {
      now += Math.max(0, ms);
    },
    log: QUIET_LOG,
    metrics: new CountingMetrics(),
    maxRateWaitMs: config.maxRateWaitMs,
    claimTimeoutMs: config.claimTimeoutSeconds * 1000,
    notifier,
  });

  async function deliver(change: StatusChangeEvent, attempt: number): Promise<void> {
    deliveries++;
    try {
      if (options.handler === 'redrive-at-once') await redriveAtOnce(change);
      else await handleStatusChange(change.event, deps());
    } catch (e) {
      // Lambda's asynchronous invocation: two retries, a minute and two apart, then the DLQ.
      if (attempt < 2) timers.push(now + (attempt + 1) * MINUTE, () => deliver(change, attempt + 1));
      else {
        deadLettered.add(change.id);
        errors.push(`${change.id}: ${(e as Error).message}`);
      }
    }
  }

  /** The harness self-test's broken redriver: no backoff at all. */
  async function redriveAtOnce(change: StatusChangeEvent): Promise<void> {
    const detail = change.event.detail as { executionArn: string; stateMachineArn: string; redriveCount: number };
    const r = resolvePolicy(await policies.snapshot(now), detail.stateMachineArn);
    if (r.kind !== 'found' || detail.redriveCount >= r.policy.maxRedrives) return;
    await sim.redrive(detail.executionArn, redriveClientToken(detail.executionArn, detail.redriveCount));
  }

  async function act(action: PersonAction): Promise<void> {
    lastActionAt = now;
    sim.actor = 'person';
    try {
      switch (action.kind) {
        case 'pause':
          policies.pause = { paused: true, reason: 'fuzz: a person paused', by: 'person', at: now };
          break;
        case 'resume':
          policies.pause = { paused: false };
          break;
        case 'release-machine':
          await releaseStateMachineByHand(world.machines[action.machine].arn, deps(), { concurrency: 8 });
          break;
        case 'release-execution':
          await releaseExecutionByHand(world.executions[action.execution].arn, deps());
          break;
        case 'put-policy':
          policies.put(forArm(arm, action.item));
          break;
        case 'delete-policy':
          policies.delete(action.key);
          break;
        case 'deploy':
          config = { ...config, ...action.config };
          break;
      }
    } catch (e) {
      // A release while paused is refused (redrivectl says to resume first): nothing changed.
      if (!(e instanceof ReleaseWhilePausedError)) errors.push(`${action.kind}: ${(e as Error).message}`);
    } finally {
      sim.actor = 'controller';
    }
    if (action.kind === 'put-policy' || action.kind === 'delete-policy') policyEpochs.push({ at: now, policies: policies.current() });
  }

  for (const e of world.executions) timers.push(e.startAt, () => sim.start(e.index));
  for (const a of world.actions) timers.push(a.at, () => act(a));

  /** Every execution SUCCEEDED, or stopped with a final ledger record; nothing left to happen. */
  function settled(): boolean {
    if (timers.size > 0 || breakers.anyActive() || now - lastActionAt < 2 * HOUR) return false;
    for (const e of world.executions) {
      const s = sim.statusOf(e.index, now);
      if (s.status === 'SUCCEEDED') continue;
      if (s.status !== 'FAILED' && s.status !== 'TIMED_OUT') return false;
      const record = ledger.records.get(`${e.arn}#${s.redriveCount}`);
      if (!record) return false;
      if (record.state !== 'skipped' && !(record.state === 'held' && record.reason !== 'breaker-open')) return false;
    }
    return true;
  }

  /** The next minute at which the drain may have something to do. */
  function nextTick(): number {
    const candidate = alignUp(now + 1);
    if (options.skipIdle === false) return candidate;
    if (breakers.anyActive() || now - lastActionAt < 2 * HOUR) return candidate;
    let wake = Math.min(timers.nextAt() ?? Number.POSITIVE_INFINITY, lastActionAt + 2 * HOUR > now ? lastActionAt + 2 * HOUR : Number.POSITIVE_INFINITY);
    // A failure the ledger does not know yet (its event is late or still to come) is found by
    // the sweep: from its stop on, the sweep's runs are not idle.
    const everyMs = config.reconcileEveryMinutes * MINUTE;
    const nextSweep = Math.max(now, (sweepSchedule.lastRunAt ?? Number.NEGATIVE_INFINITY) + everyMs);
    for (const e of world.executions) {
      const runs = sim.runsOf(e.index);
      const last = runs[runs.length - 1];
      if (!last) continue;
      // A run that ends (even in success) may settle the world: tick then, to end it there.
      if (last.endsAt > now) wake = Math.min(wake, last.endsAt);
      if (last.status === 'SUCCEEDED' || ledger.records.has(`${e.arn}#${runs.length - 1}`)) continue;
      wake = Math.min(wake, Math.max(last.endsAt, nextSweep));
      if (wake <= candidate) return candidate;
    }
    const snapshot = { policies: policies.current(), pause: policies.pause, loadedAt: now };
    for (const r of ledger.records.values()) {
      if (r.state !== 'held' && r.dueAt !== null) wake = Math.min(wake, r.dueAt);
      if (r.state === 'held') {
        const p = resolvePolicy(snapshot, r.stateMachineArn);
        const margin = (p.kind === 'found' ? p.policy.holdMarginHours : POLICY_DEFAULTS.holdMarginHours) * HOUR;
        wake = Math.min(wake, (r.stopDate ?? r.heldAt ?? r.updatedAt) + REDRIVE_WINDOW_MS - margin);
      }
      if (wake <= candidate) return candidate;
    }
    if (!Number.isFinite(wake)) return Number.POSITIVE_INFINITY;
    const at = Math.max(candidate, alignUp(wake));
    // The sweeps the skipped minutes would have run, in the same phase (the last one before `at`).
    const last = sweepSchedule.lastRunAt;
    if (at > candidate && last !== undefined && at - last > everyMs) sweepSchedule.lastRunAt = last + (Math.ceil((at - last) / everyMs) - 1) * everyMs;
    return at;
  }

  let tickAt = alignUp(now + 1);
  let isSettled = false;
  for (;;) {
    const headAt = timers.nextAt();
    if (headAt !== undefined && headAt <= tickAt && headAt < end) {
      const head = timers.pop()!;
      now = Math.max(now, head.at);
      await head.item();
      tickAt = Math.min(tickAt, alignUp(now));
      continue;
    }
    if (tickAt === Number.POSITIVE_INFINITY) {
      // Nothing can happen any more: the world's end is its horizon (runs still going end there).
      now = end;
      lastActionAt = Number.NEGATIVE_INFINITY;
      isSettled = settled();
      break;
    }
    if (tickAt >= end) break;
    now = Math.max(now, tickAt);
    try {
      await scheduledRun(deps());
    } catch (e) {
      errors.push(`drain: ${(e as Error).message}`);
    }
    ticks++;
    if (timers.size === 0 && settled()) {
      isSettled = true;
      break;
    }
    tickAt = nextTick();
  }
  return { world, arm, sim, ledger, audit, notifier, policyEpochs, deadLettered, endedAt: Math.min(now, end), settled: isSettled, ticks, deliveries, errors };
}
