/**
 * Storm: a region-wide dependency outage across an organization. 100,000 executions of 50
 * state machines fail within 60 s with the same error (a few % also have bad input); the
 * dependency stays down 5 more minutes, then recovers. The controller runs as shipped
 * (default policy, breaker on) at a configured 100 redrives/s, against dynalite behind the
 * partition model (local/partition-model.ts: DynamoDB's ~1,000 write units per second per
 * partition key, for the table and the byDue index), so every hot key shows up as throttled
 * requests, SDK retries, Lambda retries and dead letters, as it would on AWS.
 *
 * Model (simulated time, bench/sim-scenario.ts; as the outage, plus):
 * - Executions start uniformly over the first 60 s minus the failing run's 5 s; a run during
 *   the outage fails with Lambda.ServiceException after 5 s, after it succeeds in 2 s. Bad
 *   input fails at once with States.Runtime on every run.
 * - StartExecution is not throttled by the stand-in: 1,667 starts a second come from the
 *   organization's many accounts and applications, not from the controller. Every other
 *   Step Functions quota is the us-east-1 default.
 * - The events are handled by `instances` controller instances (each its own SDK clients
 *   and SDK retry quota), round robin; a handler that throws is retried by "Lambda" after 1
 *   and 2 minutes, then dead-lettered. The SDK's retry backoff waits simulated time.
 * - timeRatio = (last recovery - first redrive after the outage ended) / (retryable
 *   failures / configured rate): how close the release comes to the configured rate.
 */
import { MINUTE, executionArnOf, type RedriverSpec, runSimulation, type PartitionFigures, type SimOptions, type SimOutput, type SimRun, type SimWorldDefinition } from './sim-scenario';
import { AWS_DEFAULT_THROTTLES } from '../local/sfn';
import { round, seededRandom } from './stats';

export interface StormScenario {
  readonly failures: number;
  readonly stateMachines: number;
  /** All failures happen within this many seconds. */
  readonly stormSeconds: number;
  readonly badInputShare: number;
  /** The dependency stays down this long after the storm. */
  readonly outageAfterStormMinutes: number;
  readonly failingRunSeconds: number;
  readonly okRunSeconds: number;
  readonly deliverySeconds: number;
  /** Configured RedriveExecution rate (redriveRatePerSecond). */
  readonly ratePerSecond: number;
  /** Controller instances handling the events. */
  readonly instances: number;
  readonly seed: number;
}

export const STORM_SCENARIO: StormScenario = {
  failures: 100_000,
  stateMachines: 50,
  stormSeconds: 60,
  badInputShare: 0.02,
  outageAfterStormMinutes: 5,
  failingRunSeconds: 5,
  okRunSeconds: 2,
  deliverySeconds: 1,
  ratePerSecond: 100,
  instances: 100,
  seed: 20261130,
};

/**
 * A tenth of the failures arriving as fast (`npm run bench -- --storm=tenth`): starts over
 * 5.5 s instead of 55 s, so every partition key is as hot, in a tenth of the time.
 */
export const STORM_TENTH: StormScenario = {
  ...STORM_SCENARIO,
  failures: STORM_SCENARIO.failures / 10,
  stormSeconds: STORM_SCENARIO.failingRunSeconds + (STORM_SCENARIO.stormSeconds - STORM_SCENARIO.failingRunSeconds) / 10,
};

export const STORM_START = Date.UTC(2026, 5, 1, 9, 0, 0);

export const STORM_MODEL = [
  'A region-wide dependency outage: executions of every state machine start uniformly over the storm (`scenario.stormSeconds` minus the 5-s failing run: 1,818 failures a second, the same in the tenth and quick runs) and fail with Lambda.ServiceException; bad input fails at once with States.Runtime. The dependency recovers 5 minutes after the storm; later runs succeed in 2 s.',
  'Controller as shipped: the default policy with the breaker on, configured at 100 redrives/s, deployed for the storm\'s peak (peakFailuresPerSecond 1,667: 27 index shards); events handled round robin by `scenario.instances` controller instances (each its own SDK clients and SDK retry quota); a throwing handler is retried by "Lambda" after 1 and 2 minutes, then dead-lettered; the scheduled drain every minute probes, closes the breakers and releases.',
  'DynamoDB: dynalite behind the partition model (local/partition-model.ts): per (table or index, partition key value) at most 1,000 write units and 3,000 read units per second (fixed one-second windows of simulated time), index writes of sparse items counted on the index key and throttling the base write, ProvisionedThroughputExceededException (TableWriteKeyRangeThroughputExceeded / IndexWrite...) answered as DynamoDB does; the SDK retries it with its own backoff, slept on the simulated clock.',
  'Step Functions: the stand-in with the us-east-1 default quotas except StartExecution (the starts come from many accounts, not from the controller).',
  'hottestKeyWritesPerSecond: write units asked of the busiest partition key in its busiest simulated second, throttled attempts included (the demand DynamoDB would see). timeRatio: (last recovery - first redrive after the outage ended) / (retryable failures / configured rate). Each (state machine, error) group has probed on its own schedule, backed off to 240 s during the outage; the first probe to succeed brings forward the probes of the other 49 groups (same error name), so the releases start together.',
];

/** What the controller's own records and metrics said (bench/sim-scenario.ts). */
type AutoRedriveFigures = NonNullable<SimOutput['autoRedrive']>;

export interface StormResult extends Pick<AutoRedriveFigures, 'ledger' | 'dynamoCalls' | 'dynamoCallsByPurpose' | 'logErrors'> {
  readonly scenario: StormScenario;
  readonly failures: number;
  readonly retryable: number;
  readonly recovered: number;
  readonly lost: number;
  readonly doubleRedrives: number;
  readonly deadLettered: number;
  readonly badInputRedrives: number;
  /** The busiest key overall: { resource (table or `<table>/index/<name>`), key, writesPerSecond }. */
  readonly hottestKeyWritesPerSecond: { readonly resource: string; readonly key: string; readonly writesPerSecond: number } | null;
  /** The busiest key of each table and index, and the ten busiest overall. */
  readonly partitions: PartitionFigures | null;
  readonly throttledRequests: number;
  readonly timeRatio: number | null;
  readonly releaseSeconds: number | null;
  readonly idealReleaseSeconds: number;
  readonly minutesToRecoverAfterOutage: number | null;
  readonly redrives: number;
  readonly futileRedrives: number;
  readonly breaker: AutoRedriveFigures['breaker'] | null;
  readonly stepFunctionsCalls: Record<string, number>;
  readonly simulatedMinutes: number;
  readonly wallMs: number;
  /** CPU time of this process (user + system). */
  readonly cpuMs: number;
  readonly maxRssBytes: number;
}

/** The executions: same seed, same runs. */
export function stormRuns(s: StormScenario): SimRun[] {
  const random = seededRandom(s.seed);
  const window = s.stormSeconds * 1000 - s.failingRunSeconds * 1000;
  return Array.from({ length: s.failures }, (_, index) => {
    const stateMachine = `storm-sm-${index % s.stateMachines}`;
    const name = `job-${String(index).padStart(6, '0')}`;
    const badInput = random() < s.badInputShare;
    return { index, stateMachine, name, executionArn: executionArnOf(stateMachine, name), startOffsetMs: Math.floor(random() * window), badInput, retryable: !badInput };
  });
}

export function stormWorld(s: StormScenario): SimWorldDefinition {
  const outageEnd = STORM_START + s.stormSeconds * 1000 + s.outageAfterStormMinutes * MINUTE;
  const throttle = Object.fromEntries(Object.entries(AWS_DEFAULT_THROTTLES).filter(([op]) => op !== 'StartExecution'));
  return {
    start: STORM_START,
    runs: stormRuns(s),
    stateMachines: Array.from({ length: s.stateMachines }, (_, k) => `storm-sm-${k}`),
    deliverySeconds: s.deliverySeconds,
    task: (ctx) =>
      ctx.now < outageEnd
        ? { ms: s.failingRunSeconds * 1000, result: { ok: false, error: 'Lambda.ServiceException', cause: 'Dependency unavailable (503), region-wide' } }
        : { ms: s.okRunSeconds * 1000, result: { ok: true, output: { ok: true } } },
    naiveStop: { at: outageEnd, maxRedrivesPerExecution: 0 },
    hardStop: outageEnd + 24 * 60 * MINUTE,
    throttle,
  };
}

export const STORM_REDRIVER: RedriverSpec = {
  kind: 'auto-redrive',
  label: 'auto-redrive (breaker on)',
  policy: { stateMachine: '*', description: 'bench: the default policy, breaker on' },
  note: 'the default policy as shipped',
};

export async function runStorm(scenario: StormScenario = STORM_SCENARIO, options: SimOptions = {}): Promise<StormResult> {
  const wallStarted = Date.now();
  const cpuStarted = process.cpuUsage();
  const outageEnd = STORM_START + scenario.stormSeconds * 1000 + scenario.outageAfterStormMinutes * MINUTE;
  const out = await runSimulation(STORM_REDRIVER, stormWorld(scenario), {
    name: 'storm',
    ...options,
    // Deployed for this storm's peak (docs/reliability.md, "Partition model"): the index shard
    // count follows peakFailuresPerSecond.
    config: { redriveRatePerSecond: scenario.ratePerSecond, peakFailuresPerSecond: Math.ceil(STORM_SCENARIO.failures / STORM_SCENARIO.stormSeconds), ...options.config },
    instances: scenario.instances,
    partitionModel: true,
    // 10-ms timer windows: a release worker sleeping for its rate-limit slot wakes when
    // the slot comes, not at the end of a one-second window (which would cap the release
    // at one redrive per worker per second, far below the configured rate).
    windowMs: 10,
  });
  const auto = out.autoRedrive!;
  const badArns = new Set(out.runs.filter((r) => r.badInput).map((r) => r.executionArn));
  let recovered = 0;
  let lastRecovery = -Infinity;
  for (const { run, snap } of out.snapshots) {
    if (run.retryable && snap.status === 'SUCCEEDED') {
      recovered++;
      lastRecovery = Math.max(lastRecovery, snap.stopDate ?? -Infinity);
    }
  }
  const retryable = out.runs.filter((r) => r.retryable).length;
  const perFailure = new Map<string, number>();
  for (const r of out.redrives) perFailure.set(`${r.executionArn}#${r.redriveCount}`, (perFailure.get(`${r.executionArn}#${r.redriveCount}`) ?? 0) + 1);
  const doubleRedrives = [...perFailure.values()].filter((n) => n > 1).length + out.refusedRedrives;
  const firstRelease = Math.min(...out.redrives.filter((r) => r.at >= outageEnd).map((r) => r.at));
  const idealReleaseSeconds = retryable / scenario.ratePerSecond;
  const releaseSeconds = Number.isFinite(firstRelease) && recovered > 0 ? (lastRecovery - firstRelease) / 1000 : null;
  const hottest = out.partitions?.top[0];
  const cpu = process.cpuUsage(cpuStarted);
  return {
    scenario,
    failures: out.failedStops.size,
    retryable,
    recovered,
    lost: auto.lostFailures,
    doubleRedrives,
    deadLettered: auto.deadLettered,
    badInputRedrives: out.redrives.filter((r) => badArns.has(r.executionArn)).length,
    hottestKeyWritesPerSecond: hottest ? { resource: hottest.resource, key: hottest.key, writesPerSecond: hottest.writesPerSecond } : null,
    partitions: out.partitions ?? null,
    throttledRequests: out.partitions?.throttledRequests ?? 0,
    timeRatio: releaseSeconds === null ? null : round(releaseSeconds / idealReleaseSeconds, 3),
    releaseSeconds: releaseSeconds === null ? null : round(releaseSeconds, 1),
    idealReleaseSeconds: round(idealReleaseSeconds, 1),
    minutesToRecoverAfterOutage: recovered > 0 ? round((lastRecovery - outageEnd) / MINUTE, 1) : null,
    redrives: out.redrives.length,
    futileRedrives: out.futile,
    breaker: auto.breaker,
    ledger: auto.ledger,
    dynamoCalls: auto.dynamoCalls,
    dynamoCallsByPurpose: auto.dynamoCallsByPurpose,
    stepFunctionsCalls: out.stepFunctionsCalls,
    logErrors: auto.logErrors,
    simulatedMinutes: round(out.simulatedMinutes, 1),
    wallMs: Date.now() - wallStarted,
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}
