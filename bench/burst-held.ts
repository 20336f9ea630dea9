/**
 * Burst held: thousands of failures with the same error arrive at once (a downstream went
 * down). First failures are no evidence, so they are scheduled at the policy's backoff; when
 * the scheduled drain redrives them into the outage, the first redrives that fail again (of
 * distinct executions) make the group failing, and once they are still failing after the
 * wait (decide/breaker.ts confirmationMs) the breaker opens and holds the rest (until then
 * the drain redrives due failures as the policy alone would); the downstream recovers, a
 * probe succeeds and everything held is released under the controller-wide RedriveExecution
 * rate.
 *
 * - Event path as in the plain burst (bench/burst.ts): the FAILED events are put on the
 *   asynchronous-invoke queue within a second and `workers` controller instances take them
 *   one at a time; later events the rule forwards (failed redrives, a probe's, redrives that
 *   succeeded) join the same queue. Real clock.
 * - The scheduled drain (one more instance, one run at a time, a minute apart) redrives the
 *   due failures while the downstream is still down, until the breaker has opened and
 *   nothing is pending or in flight; then the downstream recovers and the drain starts the
 *   probe, watches it, closes the breaker and releases. Real clock, with one liberty: while
 *   nothing at all is in flight, the clock may jump to the next thing due (the next drain
 *   run, the next probe), instead of waiting for it in real time. Everything that is
 *   measured (the event path, the release) runs in real time.
 * - Release rate = releases / (breaker closed -> last release accepted by the stand-in),
 *   over the configured rate.
 * - DynamoDB calls per failure: every call the event-path instances made while handling
 *   the burst, over the failures handled; compare with the plain burst's per redrive.
 */
import { matchesPattern, statusChangePattern } from '../contract/event-pattern';
import { DETAIL_TYPE_BREAKER_CLOSED, DETAIL_TYPE_BREAKER_OPENED } from '../contract/owner-events';
import { handleStatusChange } from '../lambda/event-path';
import { drain } from '../lambda/scheduled-drain';
import type { Wired } from '../lambda/wiring';
import { AWS_DEFAULT_THROTTLES, type StatusChangeEvent } from '../local/sfn';
import { type DynamoMode, scaleThrottle, startBenchEnv } from './harness';
import { round } from './stats';

export interface BurstHeldOptions {
  readonly events: number;
  readonly ratePerSecond: number;
  readonly workers: number;
  /** Scale applied to AWS's documented us-east-1 quotas on the stand-in. @default 0.5 */
  readonly quotaScale?: number;
  readonly dynamo?: DynamoMode;
  /** Policy item (the default policy, breaker on, unless told otherwise). */
  readonly policy?: Record<string, unknown>;
  readonly progress?: (message: string) => void;
}

export interface BurstHeldResult {
  readonly events: number;
  readonly workers: number;
  readonly configuredRate: number;
  readonly policy: Record<string, unknown>;
  /** Failures handled by the event path (the burst and any later FAILED event). */
  readonly failuresHandled: number;
  /** Event-path outcomes (action -> count). */
  readonly eventPathActions: Record<string, number>;
  readonly eventPathMs: number;
  /** Failures held behind the open breaker, at most at once. */
  readonly held: number;
  /** Redrives while the breaker was open (the probes). */
  readonly probes: number;
  readonly released: number;
  /** Released redrives per second from the breaker closing to the last release, / configured rate. */
  readonly releaseRateRatio: number;
  readonly releaseRate: number;
  readonly releaseMs: number;
  readonly releasePerSecond: readonly number[];
  readonly drainRuns: number;
  /** Simulated time skipped while nothing was in flight (waiting for the probe). */
  readonly skippedMs: number;
  readonly lost: number;
  /** Failures redriven more than once (ledger) plus RedriveExecution calls refused as not redrivable. */
  readonly doubleRedrives: number;
  /** DynamoDB calls made by the event path while handling the burst, per failure handled. */
  readonly dynamoCallsPerFailure: number;
  readonly dynamoCallsByPurpose: Record<string, number>;
  /** What the drain runs (probe, release) cost. */
  readonly drainPhase: { readonly dynamoCallsByPurpose: Record<string, number>; readonly stepFunctionsCalls: Record<string, number> };
  readonly ledger: Record<string, number>;
  readonly breakerEvents: Record<string, number>;
  readonly executionsSucceeded: number;
  readonly deadLettered: number;
  readonly logErrors: number;
  readonly problems: readonly string[];
}

const RESOURCE = 'arn:aws:lambda:us-east-1:123456789012:function:burst-held-target';
const DEFINITION = JSON.stringify({ StartAt: 'Call', States: { Call: { Type: 'Task', Resource: RESOURCE, End: true } } });
const MINUTE = 60_000;

/** Counters that moved between two snapshots. */
const delta = (after: Record<string, number>, before: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(after).flatMap(([k, v]) => (v - (before[k] ?? 0) > 0 ? [[k, v - (before[k] ?? 0)]] : [])));

export async function runBurstHeld(options: BurstHeldOptions): Promise<BurstHeldResult> {
  const progress = options.progress ?? (() => undefined);
  const scale = options.quotaScale ?? 0.5;
  const policy = options.policy ?? { stateMachine: '*', description: 'bench: the default policy, breaker on' };
  // Real time, plus whatever was skipped while idle.
  let offset = 0;
  const now = () => Date.now() + offset;
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));
  let down = true;
  const queue: StatusChangeEvent[] = [];
  const pattern = statusChangePattern();
  let collecting = false;
  const env = await startBenchEnv({
    dynamo: options.dynamo,
    clock: now,
    sleep,
    config: { redriveRatePerSecond: options.ratePerSecond },
    standIn: {
      clock: now,
      throttle: {
        RedriveExecution: scaleThrottle(AWS_DEFAULT_THROTTLES.RedriveExecution, scale),
        DescribeExecution: scaleThrottle(AWS_DEFAULT_THROTTLES.DescribeExecution, scale),
        ListExecutions: scaleThrottle(AWS_DEFAULT_THROTTLES.ListExecutions, scale),
        StopExecution: scaleThrottle(AWS_DEFAULT_THROTTLES.StopExecution, scale),
      },
      // Everything the rule forwards, once the burst is set up, goes to the invoke queue.
      onEvent: (e) => {
        if (collecting && matchesPattern(pattern, e)) queue.push(e);
      },
    },
  });
  const breakerTimes: Array<{ detailType: string; at: number }> = [];
  const notifyBreaker = env.notifier.notifyBreaker.bind(env.notifier);
  env.notifier.notifyBreaker = async (detailType, detail) => {
    breakerTimes.push({ detailType, at: now() });
    await notifyBreaker(detailType, detail);
  };
  try {
    await env.putPolicy(policy);
    // --- setup (not timed): executions that fail while the downstream is down ----------------
    const sm = await env.createMachine('burst-held', DEFINITION, {
      [RESOURCE]: () => (down ? { ok: false, error: 'Lambda.ServiceException', cause: 'Downstream unavailable (503)' } : { ok: true }),
    });
    const arns = await env.startExecutions(sm, Array.from({ length: options.events }, (_, i) => ({ name: `held-${i}`, input: { orderId: i } })));
    await env.standIn.idle();
    const failed = env.standIn.events.filter((e) => e.detail.status === 'FAILED' && matchesPattern(pattern, e));
    if (failed.length !== options.events) throw new Error(`setup: expected ${options.events} FAILED events, got ${failed.length}`);
    queue.push(...failed);
    collecting = true;
    const callsBefore = env.standIn.calls.length;
    const redrivesBefore = env.standIn.redrives.length;
    progress(`burst held: ${arns.length} failed executions ready; event path through ${options.workers} instances`);

    // --- event path ---------------------------------------------------------------------------
    const instances: Wired[] = Array.from({ length: options.workers }, () => env.controller());
    const actions: Record<string, number> = {};
    const deadLetters: string[] = [];
    let handled = 0;
    let inHandler = 0;
    let stopWorkers = false;
    const worker = async (deps: Wired) => {
      while (!stopWorkers) {
        const event = queue.shift();
        if (!event) {
          await sleep(5);
          continue;
        }
        inHandler++;
        try {
          let done = false;
          let lastError = '';
          for (let attempt = 1; attempt <= 3 && !done; attempt++) {
            try {
              const outcome = await handleStatusChange(structuredClone(event), deps);
              actions[outcome.action] = (actions[outcome.action] ?? 0) + 1;
              done = true;
            } catch (e) {
              lastError = `${(e as Error).name}: ${(e as Error).message}`;
            }
          }
          if (event.detail.status === 'FAILED') handled++;
          if (!done) deadLetters.push(`${event.detail.executionArn}: ${lastError}`);
        } finally {
          inHandler--;
        }
      }
    };
    const workers = instances.map(worker);
    const eventStarted = now();
    const dynamoBefore = env.dynamoCalls.total;
    const purposeBefore = { ...env.dynamoCalls.byPurpose };
    while (queue.length > 0 || inHandler > 0) await sleep(20);
    const eventPathMs = now() - eventStarted;
    const eventPathCalls = env.dynamoCalls.total - dynamoBefore;
    const eventPathPurposes = delta(env.dynamoCalls.byPurpose, purposeBefore);
    const failuresHandled = handled;
    progress(`burst held: event path done in ${(eventPathMs / 1000).toFixed(1)} s (${JSON.stringify(actions)}); the drain redrives into the outage`);

    // --- the drain redrives into the outage until the breaker holds everything; the downstream
    // recovers; the drain probes and releases ---------------------------------------------------
    const drainer = env.controller();
    let drainRuns = 0;
    let skippedMs = 0;
    let maxHeld = 0;
    let heldNow = 0;
    const drainPurposesBefore = { ...env.dynamoCalls.byPurpose };
    const drainCallsBefore = env.standIn.calls.length;
    for (let run = 0; run < 40; run++) {
      // While down, the failed redrives' events are handled before the drain's next run.
      if (down) while (queue.length > 0 || inHandler > 0) await sleep(20);
      const active = await drainer.breakers.active();
      const backlog = await drainer.ledger.backlog();
      const idle = queue.length === 0 && inHandler === 0 && env.inFlight.count === 0;
      if (down && idle && backlog.count === 0 && breakerTimes.some((b) => b.detailType === DETAIL_TYPE_BREAKER_OPENED)) {
        down = false;
        progress('burst held: the breaker holds every failure; the downstream recovers');
      }
      const holding = active.filter((b) => b.state.status === 'open').length + heldNow;
      if (run > 0 && holding === 0 && backlog.count === 0 && queue.length === 0 && inHandler === 0) break;
      // Idle until the next thing due: skip ahead instead of waiting in real time. While the
      // downstream is down, that is the drain's next scheduled run; then an open breaker's
      // probe, a releasing one's held failures, a pending redrive.
      const next = down
        ? now() + MINUTE
        : Math.min(
            ...active.map((b) => (b.state.status === 'open' ? (b.state.probe ? now() : (b.state.nextProbeAt ?? now())) : heldNow > 0 ? now() : Infinity)),
            backlog.oldestDueAt ?? Infinity,
            now() + MINUTE,
          );
      if (next > now() && idle) {
        skippedMs += next - now();
        offset += next - now();
      }
      const report = await drain(drainer);
      drainRuns++;
      heldNow = report.breakers?.held ?? 0;
      maxHeld = Math.max(maxHeld, heldNow);
      progress(
        `burst held: drain run ${drainRuns}: ${report.breakers?.released.length ?? 0} released, ${report.breakers?.held ?? 0} held, ${report.breakers?.open ?? 0} open, ${report.breakers?.releasing ?? 0} releasing, backlog ${report.backlog}, queue ${queue.length}, in handler ${inHandler}`,
      );
    }
    while (queue.length > 0 || inHandler > 0) await sleep(20);
    stopWorkers = true;
    await Promise.all(workers);
    await env.standIn.idle();

    // --- results ------------------------------------------------------------------------------
    const drainDynamo = delta(env.dynamoCalls.byPurpose, drainPurposesBefore);
    const drainSfn: Record<string, number> = {};
    for (const c of env.standIn.calls.slice(drainCallsBefore)) {
      const key = c.outcome === 'ok' ? c.op : `${c.op}:${c.outcome}`;
      drainSfn[key] = (drainSfn[key] ?? 0) + 1;
    }
    const closedAt = breakerTimes.find((b) => b.detailType === DETAIL_TYPE_BREAKER_CLOSED)?.at;
    const audit = await env.failureRecords();
    const ledger: Record<string, number> = {};
    for (const r of audit) ledger[r.state] = (ledger[r.state] ?? 0) + 1;
    const redrives = env.standIn.redrives.slice(redrivesBefore);
    const releases = closedAt === undefined ? [] : redrives.filter((r) => r.at >= closedAt);
    const lastRelease = Math.max(...releases.map((r) => r.at));
    const releaseMs = releases.length > 0 && closedAt !== undefined ? lastRelease - closedAt : NaN;
    const releaseRate = releases.length / (releaseMs / 1000);
    /** Releases accepted in each second after the close (how even the release was). */
    const releasePerSecond: number[] = [];
    for (const r of releases) {
      const k = Math.floor((r.at - (closedAt ?? 0)) / 1000);
      while (releasePerSecond.length <= k) releasePerSecond.push(0);
      releasePerSecond[k]++;
    }
    // A failure (execution, redriveCount) redriven twice, or a redrive the stand-in refused
    // because the execution was no longer FAILED (a second attempt at a handled failure).
    const perFailure = new Map<string, number>();
    for (const r of redrives) perFailure.set(`${r.executionArn}#${r.redriveCount}`, (perFailure.get(`${r.executionArn}#${r.redriveCount}`) ?? 0) + 1);
    const calls = env.standIn.calls.slice(callsBefore);
    const refused = calls.filter((c) => c.op === 'RedriveExecution' && c.outcome === 'ExecutionNotRedrivable').length;
    const doubleRedrives = [...perFailure.values()].filter((n) => n > 1).length + refused;
    const succeeded = arns.filter((arn) => env.standIn.getExecution(arn)?.status === 'SUCCEEDED').length;
    const records = new Map(audit.map((r) => [`${r.executionArn}#${r.redriveCount}`, r.state]));
    const accounted = new Set(['skipped', 'held', 'pending', 'claimed']);
    const lost = arns.filter((arn) => {
      const snap = env.standIn.getExecution(arn);
      return snap?.status !== 'SUCCEEDED' && !accounted.has(records.get(`${arn}#${snap?.redriveCount}`) ?? '');
    }).length;
    const breakerEvents: Record<string, number> = {};
    for (const b of breakerTimes) breakerEvents[b.detailType] = (breakerEvents[b.detailType] ?? 0) + 1;
    const openedAt = breakerTimes.find((b) => b.detailType === DETAIL_TYPE_BREAKER_OPENED)?.at ?? Infinity;
    const probes = redrives.filter((r) => r.at >= openedAt && (closedAt === undefined || r.at < closedAt)).length;
    if (!breakerEvents[DETAIL_TYPE_BREAKER_OPENED]) progress('burst held: WARNING the breaker never opened');
    return {
      events: options.events,
      workers: options.workers,
      configuredRate: options.ratePerSecond,
      policy,
      failuresHandled,
      eventPathActions: actions,
      eventPathMs,
      held: Math.max(maxHeld, actions.held ?? 0),
      probes,
      released: releases.length,
      releaseRateRatio: round(releaseRate / options.ratePerSecond, 3),
      releaseRate: round(releaseRate, 1),
      releaseMs,
      releasePerSecond,
      drainRuns,
      skippedMs,
      lost,
      doubleRedrives,
      dynamoCallsPerFailure: round(eventPathCalls / Math.max(1, failuresHandled), 2),
      dynamoCallsByPurpose: eventPathPurposes,
      drainPhase: { dynamoCallsByPurpose: drainDynamo, stepFunctionsCalls: drainSfn },
      ledger,
      breakerEvents,
      executionsSucceeded: succeeded,
      deadLettered: deadLetters.length,
      logErrors: env.log.errors,
      problems: [...env.log.firstProblems, ...deadLetters.slice(0, 3).map((d) => `dead letter: ${d}`)],
    };
  } finally {
    await env.stop();
  }
}
