/**
 * Outage: a downstream is unavailable for 30 minutes; executions of 10 state machines
 * that run during it fail. 5% of them also have bad input (a missing field), which fails
 * with States.Runtime on every run. The same scenario (same seed) runs once per redriver,
 * each in its own local environment, on a simulated clock shared by the stand-in and the
 * redriver: a naive redriver (every FAILED event redriven at once) and auto-redrive with
 * one or more policies, its drain running every simulated minute as the scheduled drain does.
 *
 * Model (all simulated time):
 * - State machine: Pass "Prepare" -> Task "Call". A redrive resumes at the failed Task;
 *   the Pass state is not run again (as on AWS).
 * - A run that starts while the downstream is down fails with Lambda.ServiceException
 *   after `failingRunSeconds` (the time the Task spends on the dead downstream before the
 *   state fails: its own retries and timeouts). A run that starts after the outage
 *   succeeds after `okRunSeconds`. Bad input fails at once with States.Runtime.
 * - A status-change event reaches its target (naive Lambda or controller) `deliverySeconds`
 *   after the execution stopped. So one naive redrive loop takes
 *   failingRunSeconds + deliverySeconds.
 * - A controller invocation that throws is retried by "Lambda" after 1 and 2 minutes,
 *   then dead-lettered.
 * - State transitions: every state entered is one transition, and each redrive counts one
 *   more (the redrive itself). So the initial run costs 2 (Prepare, Call) and each redrive
 *   2 (the redrive + the re-run Call). Read from the stand-in's per-state run counts.
 */
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { handleStatusChange } from '../lambda/event-path';
import { drain } from '../lambda/scheduled-drain';
import { matchesPattern, statusChangePattern } from '../contract/event-pattern';
import { SimClock } from '../local/sim-clock';
import { AWS_DEFAULT_THROTTLES, HISTORY_EVENT_LIMIT, type StatusChangeEvent, type StepContext, type StepResult } from '../local/sfn';
import { type DynamoMode, startBenchEnv } from './harness';
import { NaiveRedriver } from './naive-redriver';
import { SimWorld } from './sim-world';
import { round, seededRandom } from './stats';

export interface OutageScenario {
  readonly executions: number;
  readonly stateMachines: number;
  readonly badInputShare: number;
  readonly outageMinutes: number;
  readonly failingRunSeconds: number;
  readonly okRunSeconds: number;
  readonly deliverySeconds: number;
  readonly seed: number;
}

export const OUTAGE_SCENARIO: OutageScenario = {
  executions: 1000,
  stateMachines: 10,
  badInputShare: 0.05,
  outageMinutes: 30,
  failingRunSeconds: 20,
  okRunSeconds: 2,
  deliverySeconds: 1,
  seed: 20261116,
};

/** Simulated start of the outage (and of the scenario). */
export const OUTAGE_START = Date.UTC(2026, 2, 9, 14, 0, 0);

/** Safety stop of the naive redriver; reported with its results. */
export const NAIVE_SAFETY_STOP = { maxRedrivesPerExecution: 100, stopAfterOutageEndMinutes: 120 } as const;

/** Cost per state transition, Step Functions Standard, us-east-1 (https://aws.amazon.com/step-functions/pricing/). */
export const USD_PER_TRANSITION = 0.025 / 1000;

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const MINUTE = 60_000;

export type RedriverSpec =
  | { readonly kind: 'naive'; readonly label: string }
  | { readonly kind: 'auto-redrive'; readonly label: string; readonly policy: Record<string, unknown>; readonly note: string };

export interface ScenarioRun {
  readonly index: number;
  readonly stateMachine: string;
  readonly name: string;
  readonly executionArn: string;
  readonly startOffsetMs: number;
  readonly badInput: boolean;
}

/** The executions of a scenario: same seed, same runs, for every redriver. */
export function scenarioRuns(s: OutageScenario): ScenarioRun[] {
  const random = seededRandom(s.seed);
  const window = s.outageMinutes * MINUTE - s.failingRunSeconds * 1000;
  const runs = Array.from({ length: s.executions }, (_, index) => {
    const stateMachine = `outage-sm-${index % s.stateMachines}`;
    const name = `order-${String(index).padStart(5, '0')}`;
    return {
      index,
      stateMachine,
      name,
      executionArn: `arn:aws:states:${REGION}:${ACCOUNT}:execution:${stateMachine}:${name}`,
      startOffsetMs: Math.floor(random() * window),
      badInput: false,
    };
  });
  // Exactly round(share × n) bad inputs, picked by a seeded shuffle.
  const order = runs.map((r) => r.index);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const bad = new Set(order.slice(0, Math.round(s.badInputShare * s.executions)));
  return runs.map((r) => ({ ...r, badInput: bad.has(r.index) }));
}

import type { MinuteBucket } from '../local/timeline-chart';
export type { MinuteBucket };

export interface OutageRunResult {
  readonly label: string;
  readonly kind: RedriverSpec['kind'];
  readonly policy?: Record<string, unknown>;
  readonly note?: string;
  readonly executions: number;
  readonly retryable: number;
  readonly recovered: number;
  readonly allRetryableRecovered: boolean;
  readonly redrives: number;
  readonly futileRedrives: number;
  readonly futileRedrivesOfRetryable: number;
  readonly badInputRedrives: number;
  readonly stateTransitions: number;
  readonly stateTransitionsUsd: number;
  readonly maxRedrivesOneExecution: number;
  readonly maxRedrivesOneRetryableExecution: number;
  readonly minutesToRecoverAfterOutage: number | null;
  readonly stepFunctionsCalls: Record<string, number>;
  readonly throttlingExceptions: number;
  readonly finalStatuses: Record<string, number>;
  readonly simulatedMinutes: number;
  readonly simulationWindows: number;
  readonly wallMs: number;
  readonly timeline: MinuteBucket[];
  readonly naive?: {
    readonly loopSeconds: number;
    readonly safetyStop: typeof NAIVE_SAFETY_STOP;
    readonly executionsStoppedByCap: number;
    readonly retryableStoppedByCap: number;
    readonly eventsIgnoredAfterStopTime: number;
    readonly redriveErrors: Record<string, number>;
    /** What the cap hides: redrives per bad-input execution until its history is full. */
    readonly uncappedBadInputRedrivesPerExecution: number;
  };
  readonly autoRedrive?: {
    readonly ledger: Record<string, number>;
    readonly skipReasons: Record<string, number>;
    readonly ownerNotifications: Record<string, number>;
    readonly lostFailures: number;
    readonly deadLettered: number;
    readonly drainRuns: number;
    readonly drainsSkippedBusy: number;
    readonly maxDueInOneDrain: number;
    readonly dynamoCalls: number;
    readonly dynamoCallsByPurpose: Record<string, number>;
    readonly logErrors: number;
  };
}

const definition = (resource: string) =>
  JSON.stringify({
    StartAt: 'Prepare',
    States: {
      Prepare: { Type: 'Pass', Next: 'Call' },
      Call: { Type: 'Task', Resource: resource, End: true },
    },
  });

export interface OutageOptions {
  /** @default 'memory' (see in-memory-http.ts); 'sockets' runs the same over loopback HTTP. */
  readonly transport?: 'memory' | 'sockets';
  readonly dynamo?: DynamoMode;
  readonly progress?: (message: string) => void;
}

export async function runOutage(spec: RedriverSpec, scenario: OutageScenario = OUTAGE_SCENARIO, options: OutageOptions = {}): Promise<OutageRunResult> {
  const wallStarted = Date.now();
  const clock = new SimClock(OUTAGE_START);
  const world = new SimWorld(clock);
  const outageEnd = OUTAGE_START + scenario.outageMinutes * MINUTE;
  const runs = scenarioRuns(scenario);
  const badArns = new Set(runs.filter((r) => r.badInput).map((r) => r.executionArn));

  const counters = { runsStarted: 0, runsEnded: 0, behaviourCalls: 0, completions: 0, futile: 0, futileBad: 0 };
  const buckets = new Map<number, MinuteBucket>();
  const bucket = (at: number) => {
    const minute = Math.floor((at - OUTAGE_START) / MINUTE);
    let b = buckets.get(minute);
    if (!b) buckets.set(minute, (b = { minute, failures: 0, redrives: 0, recoveries: 0 }));
    return b;
  };
  let badInitialHistory = NaN;
  let deliver: (event: StatusChangeEvent, attempt: number) => Promise<void> = async () => undefined;
  const pattern = statusChangePattern();
  const delivered = (e: StatusChangeEvent) => (spec.kind === 'naive' ? e.detail.status === 'FAILED' : matchesPattern(pattern, e));

  const env = await startBenchEnv({
    dynamo: spec.kind === 'naive' ? 'none' : options.dynamo,
    transport: options.transport ?? 'memory',
    clock: clock.now,
    sleep: world.sleep,
    standIn: {
      clock: clock.now,
      throttle: { ...AWS_DEFAULT_THROTTLES },
      onEvent: (e) => {
        const d = e.detail;
        if (d.status === 'RUNNING') {
          counters.runsStarted++;
          return;
        }
        counters.runsEnded++;
        const b = bucket(clock.now());
        if (d.status === 'SUCCEEDED') b.recoveries++;
        else b.failures++;
        if (d.status === 'FAILED' && d.redriveCount > 0) {
          counters.futile++;
          if (badArns.has(d.executionArn)) counters.futileBad++;
        }
        if (d.status === 'FAILED' && d.redriveCount === 0 && badArns.has(d.executionArn) && Number.isNaN(badInitialHistory)) {
          badInitialHistory = env.standIn.getExecution(d.executionArn)?.historyEventCount ?? NaN;
        }
        if (delivered(e)) world.at(Math.max(d.stopDate ?? clock.now(), clock.now()) + scenario.deliverySeconds * 1000, 'delivery', () => deliver(e, 1));
      },
    },
  });

  try {
    // The Task: dead downstream until the outage ends; bad input fails every time.
    const behaviour = (ctx: StepContext): Promise<StepResult> => {
      counters.behaviourCalls++;
      const input = ctx.input as { customer?: { id?: string } } | null;
      let result: StepResult;
      let ms: number;
      if (!input?.customer?.id) {
        ms = 0;
        result = {
          ok: false,
          error: 'States.Runtime',
          cause: "An error occurred while executing the state 'Call'. The JSONPath '$.customer.id' specified for the field 'customerId.$' could not be found in the input",
        };
      } else if (ctx.now < outageEnd) {
        ms = scenario.failingRunSeconds * 1000;
        result = { ok: false, error: 'Lambda.ServiceException', cause: 'Downstream unavailable (503) after the function retried' };
      } else {
        ms = scenario.okRunSeconds * 1000;
        result = { ok: true, output: { ok: true } };
      }
      return new Promise((resolve) =>
        world.at(ctx.now + ms, 'run', () => {
          counters.completions++;
          resolve(result);
        }),
      );
    };
    const machines = new Map<string, string>();
    for (let k = 0; k < scenario.stateMachines; k++) {
      const name = `outage-sm-${k}`;
      const resource = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:outage-svc-${k}`;
      machines.set(name, await env.createMachine(name, definition(resource), { [resource]: behaviour }));
    }
    for (const run of runs) {
      world.at(OUTAGE_START + run.startOffsetMs, 'start', async () => {
        const input = run.badInput ? { orderId: run.name } : { orderId: run.name, customer: { id: `c-${run.index}` } };
        const out = await env.sfn.send(new StartExecutionCommand({ stateMachineArn: machines.get(run.stateMachine)!, name: run.name, input: JSON.stringify(input) }));
        if (out.executionArn !== run.executionArn) throw new Error(`unexpected ARN ${out.executionArn}`);
      });
    }

    let naive: NaiveRedriver | undefined;
    const auto = { deadLettered: 0, drainRuns: 0, drainsSkippedBusy: 0, maxDue: 0 };
    const stillRunning = () => counters.runsStarted !== counters.runsEnded;
    let done: () => Promise<boolean> = async () => world.size === 0 && !stillRunning();

    if (spec.kind === 'naive') {
      const redriver = new NaiveRedriver(env.sfn, {
        clock: clock.now,
        stopAt: outageEnd + NAIVE_SAFETY_STOP.stopAfterOutageEndMinutes * MINUTE,
        maxRedrivesPerExecution: NAIVE_SAFETY_STOP.maxRedrivesPerExecution,
      });
      naive = redriver;
      deliver = (e) => redriver.handle(e);
    } else {
      await env.putPolicy(spec.policy);
      const deps = env.controller();
      deliver = async (e, attempt) => {
        try {
          await handleStatusChange(e, deps);
        } catch {
          // Lambda async invoke: two retries, about 1 and 2 minutes apart, then the DLQ.
          if (attempt < 3) world.at(clock.now() + attempt * MINUTE, 'delivery', () => deliver(e, attempt + 1));
          else auto.deadLettered++;
        }
      };
      // The scheduled drain: every minute, one at a time (reserved concurrency 1); a tick
      // that finds the previous run still going is skipped.
      let draining = false;
      const tick = (scheduledAt: number) => async () => {
        world.at(scheduledAt + MINUTE, 'tick', tick(scheduledAt + MINUTE));
        if (draining) {
          auto.drainsSkippedBusy++;
          return;
        }
        draining = true;
        try {
          const report = await drain(deps);
          auto.drainRuns++;
          auto.maxDue = Math.max(auto.maxDue, report.due);
        } finally {
          draining = false;
        }
      };
      world.at(OUTAGE_START + MINUTE, 'tick', tick(OUTAGE_START + MINUTE));
      // Done when only the next drain tick is left, nothing runs and the ledger has no backlog.
      done = async () => world.size === world.pending('tick') && !draining && !stillRunning() && (await deps.ledger.backlog()).count === 0;
    }

    let lastReport = Date.now();
    await world.run({
      idle: () => env.inFlight.count === 0 && counters.runsStarted === counters.behaviourCalls && counters.completions === counters.runsEnded,
      done,
      hardStop: outageEnd + 24 * 60 * MINUTE,
      onWindow: () => {
        if (Date.now() - lastReport > 5000) {
          lastReport = Date.now();
          options.progress?.(`outage ${spec.label}: simulated +${Math.round((clock.now() - OUTAGE_START) / MINUTE)} min, ${env.standIn.redrives.length} redrives`);
        }
      },
    });

    // --- results ------------------------------------------------------------------------------
    for (const r of env.standIn.redrives) bucket(r.at).redrives++;
    const snapshots = runs.map((run) => ({ run, snap: env.standIn.getExecution(run.executionArn)! }));
    const finalStatuses: Record<string, number> = {};
    let stateTransitions = 0;
    let lastRecovery = -Infinity;
    let recovered = 0;
    for (const { run, snap } of snapshots) {
      finalStatuses[snap.status] = (finalStatuses[snap.status] ?? 0) + 1;
      stateTransitions += Object.values(snap.stateAttempts).reduce((a, b) => a + b, 0) + snap.redriveCount;
      if (!run.badInput && snap.status === 'SUCCEEDED') {
        recovered++;
        lastRecovery = Math.max(lastRecovery, snap.stopDate ?? -Infinity);
      }
    }
    const retryable = runs.filter((r) => !r.badInput).length;
    const redrives = env.standIn.redrives;
    const recoveredByRedrive = snapshots.filter(({ snap }) => snap.status === 'SUCCEEDED' && snap.redriveCount > 0).length;
    if (counters.futile !== redrives.length - recoveredByRedrive) {
      throw new Error(`${spec.label}: futile redrives ${counters.futile} != redrives ${redrives.length} - recoveries by redrive ${recoveredByRedrive}`);
    }
    const stepFunctionsCalls: Record<string, number> = {};
    for (const c of env.standIn.calls) stepFunctionsCalls[c.op] = (stepFunctionsCalls[c.op] ?? 0) + 1;
    const lastMinute = Math.max(...buckets.keys());
    const timeline = Array.from({ length: lastMinute + 1 }, (_, m) => buckets.get(m) ?? { minute: m, failures: 0, redrives: 0, recoveries: 0 });

    const result: OutageRunResult = {
      label: spec.label,
      kind: spec.kind,
      policy: spec.kind === 'auto-redrive' ? spec.policy : undefined,
      note: spec.kind === 'auto-redrive' ? spec.note : undefined,
      executions: runs.length,
      retryable,
      recovered,
      allRetryableRecovered: recovered === retryable,
      redrives: redrives.length,
      futileRedrives: counters.futile,
      futileRedrivesOfRetryable: counters.futile - counters.futileBad,
      badInputRedrives: redrives.filter((r) => badArns.has(r.executionArn)).length,
      stateTransitions,
      stateTransitionsUsd: round(stateTransitions * USD_PER_TRANSITION, 2),
      maxRedrivesOneExecution: Math.max(...snapshots.map(({ snap }) => snap.redriveCount)),
      maxRedrivesOneRetryableExecution: Math.max(...snapshots.filter(({ run }) => !run.badInput).map(({ snap }) => snap.redriveCount)),
      minutesToRecoverAfterOutage: recovered > 0 ? round((lastRecovery - outageEnd) / MINUTE, 1) : null,
      stepFunctionsCalls,
      throttlingExceptions: env.standIn.calls.filter((c) => c.outcome === 'ThrottlingException').length,
      finalStatuses,
      simulatedMinutes: round((clock.now() - OUTAGE_START) / MINUTE, 1),
      simulationWindows: world.windows,
      wallMs: 0,
      timeline,
    };

    if (naive) {
      const badSnap = snapshots.find(({ run, snap }) => run.badInput && snap.redriveCount > 0)?.snap;
      const perRedrive = badSnap ? (badSnap.historyEventCount - badInitialHistory) / badSnap.redriveCount : NaN;
      Object.assign(result, {
        naive: {
          loopSeconds: scenario.failingRunSeconds + scenario.deliverySeconds,
          safetyStop: NAIVE_SAFETY_STOP,
          executionsStoppedByCap: naive.capped.size,
          retryableStoppedByCap: [...naive.capped].filter((arn) => !badArns.has(arn)).length,
          eventsIgnoredAfterStopTime: naive.stoppedByClock,
          redriveErrors: naive.errors,
          uncappedBadInputRedrivesPerExecution: Number.isFinite(perRedrive) ? Math.floor((HISTORY_EVENT_LIMIT - badInitialHistory) / perRedrive) : NaN,
        },
      });
    } else {
      const records = await env.failureRecords();
      const ledger: Record<string, number> = {};
      const skipReasons: Record<string, number> = {};
      const recordKeys = new Map<string, string>();
      for (const r of records) {
        ledger[r.state] = (ledger[r.state] ?? 0) + 1;
        if (r.state === 'skipped') skipReasons[r.reason ?? '?'] = (skipReasons[r.reason ?? '?'] ?? 0) + 1;
        recordKeys.set(`${r.executionArn}#${r.redriveCount}`, r.state);
      }
      // Every execution that ends FAILED must be accounted for: a recorded skip (given up on
      // purpose, owner told), a pending redrive, or a dead-lettered event.
      const lostFailures = snapshots.filter(({ snap }) => {
        if (snap.status === 'SUCCEEDED') return false;
        const state = recordKeys.get(`${snap.executionArn}#${snap.redriveCount}`);
        return state !== 'skipped' && state !== 'pending' && state !== 'claimed';
      }).length;
      const ownerNotifications: Record<string, number> = {};
      for (const n of env.notifier.events) ownerNotifications[n.detailType] = (ownerNotifications[n.detailType] ?? 0) + 1;
      Object.assign(result, {
        autoRedrive: {
          ledger,
          skipReasons,
          ownerNotifications,
          lostFailures: Math.max(0, lostFailures - auto.deadLettered),
          deadLettered: auto.deadLettered,
          drainRuns: auto.drainRuns,
          drainsSkippedBusy: auto.drainsSkippedBusy,
          maxDueInOneDrain: auto.maxDue,
          dynamoCalls: env.dynamoCalls.total,
          dynamoCallsByPurpose: env.dynamoCalls.byPurpose,
          logErrors: env.log.errors,
        },
      });
    }
    return { ...result, wallMs: Date.now() - wallStarted };
  } finally {
    await env.stop();
  }
}
