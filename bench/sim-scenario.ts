/**
 * One simulated world run once per redriver: executions of a few state machines start on a
 * simulated clock, their Task behaves as the world says (a downstream outage, a trickle of
 * independent transient failures), and a redriver handles the FAILED events: the naive
 * redriver, or the real controller (`handleStatusChange` on each delivered event, the
 * scheduled `drain` every simulated minute) against dynalite and the Step Functions
 * stand-in. Worlds are defined in bench/outage.ts and bench/trickle.ts; this module only
 * runs them and collects what the stand-in, the ledger and the redriver saw.
 *
 * Timing model shared by all worlds:
 * - State machine: Pass "Prepare" -> Task "Call". A redrive resumes at the failed Task;
 *   the Pass state is not run again (as on AWS).
 * - A status-change event reaches its target (naive Lambda or controller)
 *   `deliverySeconds` after the execution stopped.
 * - A controller invocation that throws is retried by "Lambda" after 1 and 2 minutes,
 *   then dead-lettered.
 */
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { handleStatusChange } from '../lambda/event-path';
import { drain } from '../lambda/scheduled-drain';
import { matchesPattern, statusChangePattern } from '../contract/event-pattern';
import { DIMENSION, METRIC, type MetricName } from '../contract/metrics';
import type { InMemoryMetrics } from '../lambda/observability/telemetry';
import { SimClock } from '../local/sim-clock';
import { type HotKey, PartitionModel } from '../local/partition-model';
import { LEDGER_TABLE, POLICY_TABLE } from '../contract/table-definitions';
import { LOCAL_TABLES } from '../local/environment';
import type { ControllerConfig } from '../lambda/config';
import type { ThrottleConfig } from '../local/sfn/types';
import type { Wired } from '../lambda/wiring';
import { AWS_DEFAULT_THROTTLES, type CallRecord, type ExecutionSnapshot, type RedriveRecord, type StatusChangeEvent, type StepContext, type StepResult } from '../local/sfn';
import type { MinuteBucket } from '../local/timeline-chart';
import { type BenchEnv, type DynamoMode, startBenchEnv } from './harness';
import { NaiveRedriver } from './naive-redriver';
import { SimWorld } from './sim-world';
import { HELD_BUDGET_SHARD } from '../contract/budget';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const MINUTE = 60_000;

export type RedriverSpec =
  | { readonly kind: 'naive'; readonly label: string }
  | { readonly kind: 'auto-redrive'; readonly label: string; readonly policy: Record<string, unknown>; readonly note: string };

export interface SimRun {
  readonly index: number;
  readonly stateMachine: string;
  readonly name: string;
  readonly executionArn: string;
  readonly startOffsetMs: number;
  /** Input without the field the Task needs: fails with States.Runtime on every run. */
  readonly badInput: boolean;
  /** Should end SUCCEEDED if redriven at the right time (counted in `retryable`). */
  readonly retryable: boolean;
}

/** What the Task does on one run: how long it takes and how it ends. */
export interface TaskRun {
  readonly ms: number;
  readonly result: StepResult;
}

export interface SimWorldDefinition {
  readonly start: number;
  readonly runs: readonly SimRun[];
  readonly stateMachines: readonly string[];
  /** The Task of every state machine; bad input is already handled (fails at once). */
  readonly task: (ctx: StepContext, run: SimRun) => TaskRun;
  readonly deliverySeconds: number;
  /** The naive redriver's safety stop (it has none in the samples it models). */
  readonly naiveStop: { readonly at: number; readonly maxRedrivesPerExecution: number };
  /** The simulation throws if it is still busy at this time. */
  readonly hardStop: number;
  /** Stand-in API quotas. @default AWS_DEFAULT_THROTTLES */
  readonly throttle?: Readonly<Record<string, ThrottleConfig>>;
}

export interface SimOptions {
  /** @default 'memory' (see in-memory-http.ts); 'sockets' runs the same over loopback HTTP. */
  readonly transport?: 'memory' | 'sockets';
  readonly dynamo?: DynamoMode;
  readonly progress?: (message: string) => void;
  /** For progress lines. */
  readonly name?: string;
  /** Called with the environment before it stops (diagnostics: read the tables, the audit trail). */
  readonly inspect?: (env: BenchEnv) => Promise<void>;
  readonly config?: Partial<ControllerConfig>;
  /**
   * Controller "Lambda instances" handling the delivered events, round robin (each its own
   * SDK clients, so its own SDK retry quota). @default 1
   */
  readonly instances?: number;
  /**
   * DynamoDB's per-partition limits in front of dynalite (local/partition-model.ts), on
   * the simulated clock; the SDK's retry backoff then waits simulated time. @default off
   */
  readonly partitionModel?: boolean;
  /** The simulation loop's timer window (bench/sim-world.ts). @default 1000 */
  readonly windowMs?: number;
}

/** What the partition model saw (SimOutput.partitions). */
export interface PartitionFigures {
  /** The busiest key of each table and index. */
  readonly hottest: readonly HotKey[];
  /** The ten busiest keys overall. */
  readonly top: readonly HotKey[];
  readonly throttledRequests: number;
}

/** Ledger states that account for an execution that ends FAILED (nothing lost). */
export const ACCOUNTED_STATES: ReadonlySet<string> = new Set(['skipped', 'pending', 'claimed', 'held']);

export interface SimOutput {
  readonly runs: readonly SimRun[];
  readonly snapshots: ReadonlyArray<{ readonly run: SimRun; readonly snap: ExecutionSnapshot }>;
  readonly redrives: readonly RedriveRecord[];
  /** stopDate of every FAILED event of an execution, in order. */
  readonly failedStops: ReadonlyMap<string, readonly number[]>;
  readonly timeline: MinuteBucket[];
  /** FAILED events after a redrive (every redrive that failed again). */
  readonly futile: number;
  readonly futileBadInput: number;
  /** History length of a bad-input execution after its first failure. */
  readonly badInitialHistory: number;
  readonly stepFunctionsCalls: Record<string, number>;
  readonly throttlingExceptions: number;
  /** RedriveExecution calls refused because the execution was not redrivable (a second attempt at a handled failure). */
  readonly refusedRedrives: number;
  readonly simulatedMinutes: number;
  readonly simulationWindows: number;
  readonly partitions?: PartitionFigures;
  readonly naive?: {
    readonly capped: ReadonlySet<string>;
    readonly stoppedByClock: number;
    readonly errors: Record<string, number>;
  };
  readonly autoRedrive?: {
    readonly ledger: Record<string, number>;
    readonly skipReasons: Record<string, number>;
    readonly ownerNotifications: Record<string, number>;
    /** Executions that end FAILED with no record accounting for them (minus dead letters). */
    readonly lostFailures: number;
    readonly deadLettered: number;
    readonly drainRuns: number;
    readonly drainsSkippedBusy: number;
    readonly maxDueInOneDrain: number;
    readonly dynamoCalls: number;
    readonly dynamoCallsByPurpose: Record<string, number>;
    readonly logErrors: number;
    /** From the controller's metrics (all instances). */
    readonly breaker: {
      readonly opened: number;
      readonly closed: Record<string, number>;
      readonly probes: Record<string, number>;
      /** Failures recorded as held (HeldFailures metric; a failure held again after a failed probe counts again). */
      readonly heldDecisions: number;
    };
  };
}

/** Sum of a metric per value of one dimension. */
function byDimension(metrics: InMemoryMetrics, name: MetricName, dimension: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of metrics.points) if (p.name === name) out[p.dimensions[dimension] ?? '?'] = (out[p.dimensions[dimension] ?? '?'] ?? 0) + p.value;
  return out;
}

const definition = (resource: string) =>
  JSON.stringify({
    StartAt: 'Prepare',
    States: {
      Prepare: { Type: 'Pass', Next: 'Call' },
      Call: { Type: 'Task', Resource: resource, End: true },
    },
  });

const BAD_INPUT: StepResult = {
  ok: false,
  error: 'States.Runtime',
  cause: "An error occurred while executing the state 'Call'. The JSONPath '$.customer.id' specified for the field 'customerId.$' could not be found in the input",
};

export const executionArnOf = (stateMachine: string, name: string) => `arn:aws:states:${REGION}:${ACCOUNT}:execution:${stateMachine}:${name}`;

export async function runSimulation(spec: RedriverSpec, world: SimWorldDefinition, options: SimOptions = {}): Promise<SimOutput> {
  const clock = new SimClock(world.start);
  const sim = new SimWorld(clock, options.windowMs);
  const runs = world.runs;
  const byArn = new Map(runs.map((r) => [r.executionArn, r]));
  const badArns = new Set(runs.filter((r) => r.badInput).map((r) => r.executionArn));

  const counters = { runsStarted: 0, runsEnded: 0, behaviourCalls: 0, completions: 0, futile: 0, futileBad: 0 };
  const failedStops = new Map<string, number[]>();
  const buckets = new Map<number, MinuteBucket>();
  const bucket = (at: number) => {
    const minute = Math.floor((at - world.start) / MINUTE);
    let b = buckets.get(minute);
    if (!b) buckets.set(minute, (b = { minute, failures: 0, redrives: 0, recoveries: 0 }));
    return b;
  };
  let badInitialHistory = NaN;
  let deliver: (event: StatusChangeEvent, attempt: number) => Promise<void> = async () => undefined;
  const pattern = statusChangePattern();
  const delivered = (e: StatusChangeEvent) => (spec.kind === 'naive' ? e.detail.status === 'FAILED' : matchesPattern(pattern, e));

  const partitionModel =
    options.partitionModel && spec.kind !== 'naive'
      ? new PartitionModel({ tables: { [LOCAL_TABLES.policy]: POLICY_TABLE, [LOCAL_TABLES.ledger]: LEDGER_TABLE }, clock: clock.now })
      : undefined;
  const env = await startBenchEnv({
    dynamo: spec.kind === 'naive' ? 'none' : options.dynamo,
    transport: options.transport ?? 'memory',
    clock: clock.now,
    sleep: sim.sleep,
    config: options.config,
    partitionModel,
    sdkRetrySleep: partitionModel ? sim.sleep : undefined,
    standIn: {
      clock: clock.now,
      throttle: { ...(world.throttle ?? AWS_DEFAULT_THROTTLES) },
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
        if (d.status === 'FAILED') {
          let stops = failedStops.get(d.executionArn);
          if (!stops) failedStops.set(d.executionArn, (stops = []));
          stops.push(d.stopDate ?? clock.now());
        }
        if (d.status === 'FAILED' && d.redriveCount > 0) {
          counters.futile++;
          if (badArns.has(d.executionArn)) counters.futileBad++;
        }
        if (d.status === 'FAILED' && d.redriveCount === 0 && badArns.has(d.executionArn) && Number.isNaN(badInitialHistory)) {
          badInitialHistory = env.standIn.getExecution(d.executionArn)?.historyEventCount ?? NaN;
        }
        if (delivered(e)) sim.at(Math.max(d.stopDate ?? clock.now(), clock.now()) + world.deliverySeconds * 1000, 'delivery', () => deliver(e, 1));
      },
    },
  });

  try {
    const behaviour = (ctx: StepContext): Promise<StepResult> => {
      counters.behaviourCalls++;
      const run = byArn.get(ctx.executionArn);
      if (!run) throw new Error(`unknown execution ${ctx.executionArn}`);
      const input = ctx.input as { customer?: { id?: string } } | null;
      const { ms, result } = input?.customer?.id ? world.task(ctx, run) : { ms: 0, result: BAD_INPUT };
      return new Promise((resolve) =>
        sim.at(ctx.now + ms, 'run', () => {
          counters.completions++;
          resolve(result);
        }),
      );
    };
    const machines = new Map<string, string>();
    for (const [k, name] of world.stateMachines.entries()) {
      const resource = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}-svc-${k}`;
      machines.set(name, await env.createMachine(name, definition(resource), { [resource]: behaviour }));
    }
    for (const run of runs) {
      sim.at(world.start + run.startOffsetMs, 'start', async () => {
        const input = run.badInput ? { orderId: run.name } : { orderId: run.name, customer: { id: `c-${run.index}` } };
        const out = await env.sfn.send(new StartExecutionCommand({ stateMachineArn: machines.get(run.stateMachine)!, name: run.name, input: JSON.stringify(input) }));
        if (out.executionArn !== run.executionArn) throw new Error(`unexpected ARN ${out.executionArn}`);
      });
    }

    let naive: NaiveRedriver | undefined;
    const auto = { deadLettered: 0, drainRuns: 0, drainsSkippedBusy: 0, maxDue: 0 };
    const stillRunning = () => counters.runsStarted !== counters.runsEnded;
    let done: () => Promise<boolean> = async () => sim.size === 0 && !stillRunning();

    if (spec.kind === 'naive') {
      const redriver = new NaiveRedriver(env.sfn, { clock: clock.now, stopAt: world.naiveStop.at, maxRedrivesPerExecution: world.naiveStop.maxRedrivesPerExecution });
      naive = redriver;
      deliver = (e) => redriver.handle(e);
    } else {
      await env.putPolicy(spec.policy);
      const deps = env.controller();
      const instances: Wired[] = [deps, ...Array.from({ length: Math.max(1, options.instances ?? 1) - 1 }, () => env.controller())];
      let nextInstance = 0;
      const observer = env.controller({ observer: true });
      deliver = async (e, attempt) => {
        try {
          await handleStatusChange(e, instances[nextInstance++ % instances.length]);
        } catch {
          // Lambda async invoke: two retries, about 1 and 2 minutes apart, then the DLQ.
          if (attempt < 3) sim.at(clock.now() + attempt * MINUTE, 'delivery', () => deliver(e, attempt + 1));
          else auto.deadLettered++;
        }
      };
      // The scheduled drain: every minute, one at a time (reserved concurrency 1); a tick
      // that finds the previous run still going is skipped.
      let draining = false;
      const tick = (scheduledAt: number) => async () => {
        sim.at(scheduledAt + MINUTE, 'tick', tick(scheduledAt + MINUTE));
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
      sim.at(world.start + MINUTE, 'tick', tick(world.start + MINUTE));
      // Done when only the next drain tick is left, nothing runs, the ledger has no backlog
      // and no breaker is open or releasing.
      done = async () =>
        sim.size === sim.pending('tick') &&
        !draining &&
        !stillRunning() &&
        (await observer.ledger.backlog()).count === 0 &&
        (await observer.breakers.active()).length === 0 &&
        // Failures held over a redrive budget wait for the drain to release them.
        (await observer.ledger.heldCount(HELD_BUDGET_SHARD)) === 0;
    }

    // The stand-in keeps every call and event; a long simulation needs only their counts
    // (the events were already seen by onEvent), and the growing heap costs GC time.
    const stepFunctionsCalls: Record<string, number> = {};
    let throttlingExceptions = 0;
    let refusedRedrives = 0;
    const trimLogs = () => {
      const calls = env.standIn.calls as CallRecord[];
      for (const c of calls) {
        stepFunctionsCalls[c.op] = (stepFunctionsCalls[c.op] ?? 0) + 1;
        if (c.outcome === 'ThrottlingException') throttlingExceptions++;
        if (c.op === 'RedriveExecution' && c.outcome === 'ExecutionNotRedrivable') refusedRedrives++;
      }
      calls.length = 0;
      (env.standIn.events as StatusChangeEvent[]).length = 0;
    };
    let lastReport = Date.now();
    await sim.run({
      idle: () => env.inFlight.count === 0 && counters.runsStarted === counters.behaviourCalls && counters.completions === counters.runsEnded,
      done,
      hardStop: world.hardStop,
      onWindow: () => {
        trimLogs();
        if (Date.now() - lastReport > 5000) {
          lastReport = Date.now();
          options.progress?.(`${options.name ?? 'simulation'} ${spec.label}: simulated +${Math.round((clock.now() - world.start) / MINUTE)} min, ${env.standIn.redrives.length} redrives`);
        }
      },
    });

    // --- what happened ------------------------------------------------------------------------
    for (const r of env.standIn.redrives) bucket(r.at).redrives++;
    const snapshots = runs.map((run) => ({ run, snap: env.standIn.getExecution(run.executionArn)! }));
    trimLogs();
    const lastMinute = Math.max(0, ...buckets.keys());
    const output = {
      runs,
      snapshots,
      redrives: [...env.standIn.redrives],
      failedStops,
      timeline: Array.from({ length: lastMinute + 1 }, (_, m) => buckets.get(m) ?? { minute: m, failures: 0, redrives: 0, recoveries: 0 }),
      futile: counters.futile,
      futileBadInput: counters.futileBad,
      badInitialHistory,
      stepFunctionsCalls,
      throttlingExceptions,
      refusedRedrives,
      partitions: partitionModel && {
        hottest: partitionModel.hottestPerResource(),
        top: partitionModel.hotKeys().slice(0, 10),
        throttledRequests: partitionModel.throttledRequests,
      },
      simulatedMinutes: (clock.now() - world.start) / MINUTE,
      simulationWindows: sim.windows,
    };
    const recoveredByRedrive = snapshots.filter(({ snap }) => snap.status === 'SUCCEEDED' && snap.redriveCount > 0).length;
    if (counters.futile !== output.redrives.length - recoveredByRedrive) {
      throw new Error(`${spec.label}: futile redrives ${counters.futile} != redrives ${output.redrives.length} - recoveries by redrive ${recoveredByRedrive}`);
    }
    await options.inspect?.(env);
    if (naive) return { ...output, naive: { capped: naive.capped, stoppedByClock: naive.stoppedByClock, errors: naive.errors } };

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
    // purpose, owner told), a held or pending redrive, or a dead-lettered event.
    const unaccounted = snapshots.filter(({ snap }) => snap.status !== 'SUCCEEDED' && !ACCOUNTED_STATES.has(recordKeys.get(`${snap.executionArn}#${snap.redriveCount}`) ?? '')).length;
    const ownerNotifications: Record<string, number> = {};
    for (const n of [...env.notifier.events, ...env.notifier.breakerEvents, ...env.notifier.budgetEvents]) ownerNotifications[n.detailType] = (ownerNotifications[n.detailType] ?? 0) + 1;
    return {
      ...output,
      autoRedrive: {
        ledger,
        skipReasons,
        ownerNotifications,
        lostFailures: Math.max(0, unaccounted - auto.deadLettered),
        deadLettered: auto.deadLettered,
        drainRuns: auto.drainRuns,
        drainsSkippedBusy: auto.drainsSkippedBusy,
        maxDueInOneDrain: auto.maxDue,
        dynamoCalls: env.dynamoCalls.total,
        dynamoCallsByPurpose: env.dynamoCalls.byPurpose,
        logErrors: env.log.errors,
        breaker: {
          opened: env.metrics.sum(METRIC.breakerOpened),
          closed: byDimension(env.metrics, METRIC.breakerClosed, DIMENSION.reason),
          probes: byDimension(env.metrics, METRIC.probes, DIMENSION.outcome),
          heldDecisions: env.metrics.sum(METRIC.heldFailures),
        },
      },
    };
  } finally {
    await env.stop();
  }
}
