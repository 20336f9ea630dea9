/**
 * Outage: a downstream is unavailable for `outageMinutes` (30 min, 2 h); executions of 10
 * state machines that run during it fail. 5% of them also have bad input (a missing
 * field), which fails with States.Runtime on every run. The same scenario (same seed) runs
 * once per redriver, each in its own local environment (bench/sim-scenario.ts).
 *
 * Model (all simulated time), on top of sim-scenario.ts's timing model:
 * - Executions start uniformly over the outage (seeded), so failures arrive throughout it.
 * - A run that starts while the downstream is down fails with Lambda.ServiceException
 *   after `failingRunSeconds` (the time the Task spends on the dead downstream before the
 *   state fails: its own retries and timeouts). A run that starts after the outage
 *   succeeds after `okRunSeconds`. Bad input fails at once with States.Runtime.
 *   So one naive redrive loop takes failingRunSeconds + deliverySeconds.
 * - State transitions: every state entered is one transition, and each redrive counts one
 *   more (the redrive itself). So the initial run costs 2 (Prepare, Call) and each redrive
 *   2 (the redrive + the re-run Call). Read from the stand-in's per-state run counts.
 */
import { HISTORY_EVENT_LIMIT } from '../local/sfn';
import type { MinuteBucket } from '../local/timeline-chart';
import { executionArnOf, MINUTE, type RedriverSpec, runSimulation, type SimOptions, type SimOutput, type SimRun, type SimWorldDefinition } from './sim-scenario';
import { round, seededRandom } from './stats';

export type { MinuteBucket, RedriverSpec };

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

/** The two outages the bench measures: same world, 30 minutes and 2 hours. */
export const OUTAGE_SCENARIOS = {
  outage30: OUTAGE_SCENARIO,
  outage120: { ...OUTAGE_SCENARIO, outageMinutes: 120 },
} as const satisfies Record<string, OutageScenario>;
export type OutageName = keyof typeof OUTAGE_SCENARIOS;

/** Simulated start of the outage (and of the scenario). */
export const OUTAGE_START = Date.UTC(2026, 2, 9, 14, 0, 0);

/** No redrives by the naive redriver after outage end + this (safety stop; reported with its results). */
export const NAIVE_STOP_AFTER_OUTAGE_END_MINUTES = 120;

/**
 * The naive redriver's per-execution cap (a safety stop the samples do not have): high
 * enough that no retryable execution is stopped by it (an execution that fails at the
 * start of the outage needs outage / loop redrives), 100 at least.
 */
export function naiveRedriveCap(s: OutageScenario): number {
  return Math.max(100, Math.ceil((s.outageMinutes * 60) / (s.failingRunSeconds + s.deliverySeconds)) + 10);
}

/** Cost per state transition, Step Functions Standard, us-east-1 (https://aws.amazon.com/step-functions/pricing/). */
export const USD_PER_TRANSITION = 0.025 / 1000;

/** The executions of a scenario: same seed, same runs, for every redriver. */
export function scenarioRuns(s: OutageScenario): SimRun[] {
  const random = seededRandom(s.seed);
  const window = s.outageMinutes * MINUTE - s.failingRunSeconds * 1000;
  const runs = Array.from({ length: s.executions }, (_, index) => {
    const stateMachine = `outage-sm-${index % s.stateMachines}`;
    const name = `order-${String(index).padStart(5, '0')}`;
    return { index, stateMachine, name, executionArn: executionArnOf(stateMachine, name), startOffsetMs: Math.floor(random() * window), badInput: false, retryable: true };
  });
  // Exactly round(share × n) bad inputs, picked by a seeded shuffle.
  const order = runs.map((r) => r.index);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const bad = new Set(order.slice(0, Math.round(s.badInputShare * s.executions)));
  return runs.map((r) => ({ ...r, badInput: bad.has(r.index), retryable: !bad.has(r.index) }));
}

export function outageWorld(s: OutageScenario): SimWorldDefinition {
  const outageEnd = OUTAGE_START + s.outageMinutes * MINUTE;
  return {
    start: OUTAGE_START,
    runs: scenarioRuns(s),
    stateMachines: Array.from({ length: s.stateMachines }, (_, k) => `outage-sm-${k}`),
    deliverySeconds: s.deliverySeconds,
    // The Task: dead downstream until the outage ends (bad input is handled by the world).
    task: (ctx) =>
      ctx.now < outageEnd
        ? { ms: s.failingRunSeconds * 1000, result: { ok: false, error: 'Lambda.ServiceException', cause: 'Downstream unavailable (503) after the function retried' } }
        : { ms: s.okRunSeconds * 1000, result: { ok: true, output: { ok: true } } },
    naiveStop: { at: outageEnd + NAIVE_STOP_AFTER_OUTAGE_END_MINUTES * MINUTE, maxRedrivesPerExecution: naiveRedriveCap(s) },
    hardStop: outageEnd + 24 * 60 * MINUTE,
  };
}

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
  /**
   * Executions that end FAILED with nothing that accounts for them: for auto-redrive, no
   * recorded skip, hold or pending redrive and no dead-lettered event; the naive redriver
   * keeps no record, so every execution it leaves FAILED counts.
   */
  readonly lost: number;
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
    readonly safetyStop: { readonly maxRedrivesPerExecution: number; readonly stopAfterOutageEndMinutes: number };
    readonly executionsStoppedByCap: number;
    readonly retryableStoppedByCap: number;
    readonly eventsIgnoredAfterStopTime: number;
    readonly redriveErrors: Record<string, number>;
    /** What the cap hides: redrives per bad-input execution until its history is full. */
    readonly uncappedBadInputRedrivesPerExecution: number;
  };
  readonly autoRedrive?: SimOutput['autoRedrive'];
}

export async function runOutage(spec: RedriverSpec, scenario: OutageScenario = OUTAGE_SCENARIO, options: SimOptions = {}): Promise<OutageRunResult> {
  const wallStarted = Date.now();
  const outageEnd = OUTAGE_START + scenario.outageMinutes * MINUTE;
  const world = outageWorld(scenario);
  const out = await runSimulation(spec, world, { name: `outage ${scenario.outageMinutes} min`, ...options });
  const { snapshots } = out;
  const badArns = new Set(out.runs.filter((r) => r.badInput).map((r) => r.executionArn));

  const finalStatuses: Record<string, number> = {};
  let stateTransitions = 0;
  let lastRecovery = -Infinity;
  let recovered = 0;
  for (const { run, snap } of snapshots) {
    finalStatuses[snap.status] = (finalStatuses[snap.status] ?? 0) + 1;
    stateTransitions += Object.values(snap.stateAttempts).reduce((a, b) => a + b, 0) + snap.redriveCount;
    if (run.retryable && snap.status === 'SUCCEEDED') {
      recovered++;
      lastRecovery = Math.max(lastRecovery, snap.stopDate ?? -Infinity);
    }
  }
  const retryable = out.runs.filter((r) => r.retryable).length;
  const unsucceeded = snapshots.filter(({ snap }) => snap.status !== 'SUCCEEDED').length;

  const result: OutageRunResult = {
    label: spec.label,
    kind: spec.kind,
    policy: spec.kind === 'auto-redrive' ? spec.policy : undefined,
    note: spec.kind === 'auto-redrive' ? spec.note : undefined,
    executions: out.runs.length,
    retryable,
    recovered,
    allRetryableRecovered: recovered === retryable,
    redrives: out.redrives.length,
    futileRedrives: out.futile,
    futileRedrivesOfRetryable: out.futile - out.futileBadInput,
    badInputRedrives: out.redrives.filter((r) => badArns.has(r.executionArn)).length,
    lost: out.autoRedrive ? out.autoRedrive.lostFailures : unsucceeded,
    stateTransitions,
    stateTransitionsUsd: round(stateTransitions * USD_PER_TRANSITION, 2),
    maxRedrivesOneExecution: Math.max(...snapshots.map(({ snap }) => snap.redriveCount)),
    maxRedrivesOneRetryableExecution: Math.max(...snapshots.filter(({ run }) => run.retryable).map(({ snap }) => snap.redriveCount)),
    minutesToRecoverAfterOutage: recovered > 0 ? round((lastRecovery - outageEnd) / MINUTE, 1) : null,
    stepFunctionsCalls: out.stepFunctionsCalls,
    throttlingExceptions: out.throttlingExceptions,
    finalStatuses,
    simulatedMinutes: round(out.simulatedMinutes, 1),
    simulationWindows: out.simulationWindows,
    wallMs: 0,
    timeline: out.timeline,
    autoRedrive: out.autoRedrive,
  };

  if (out.naive) {
    const badSnap = snapshots.find(({ run, snap }) => run.badInput && snap.redriveCount > 0)?.snap;
    const perRedrive = badSnap ? (badSnap.historyEventCount - out.badInitialHistory) / badSnap.redriveCount : NaN;
    Object.assign(result, {
      naive: {
        loopSeconds: scenario.failingRunSeconds + scenario.deliverySeconds,
        safetyStop: { maxRedrivesPerExecution: world.naiveStop.maxRedrivesPerExecution, stopAfterOutageEndMinutes: NAIVE_STOP_AFTER_OUTAGE_END_MINUTES },
        executionsStoppedByCap: out.naive.capped.size,
        retryableStoppedByCap: [...out.naive.capped].filter((arn) => !badArns.has(arn)).length,
        eventsIgnoredAfterStopTime: out.naive.stoppedByClock,
        redriveErrors: out.naive.errors,
        uncappedBadInputRedrivesPerExecution: Number.isFinite(perRedrive) ? Math.floor((HISTORY_EVENT_LIMIT - out.badInitialHistory) / perRedrive) : NaN,
      },
    });
  }
  return { ...result, wallMs: Date.now() - wallStarted };
}
