/**
 * Trickle: no outage. One busy state machine runs all the time and 2% of its runs fail
 * independently with the same transient error an outage would raise
 * (Lambda.ServiceException); a redrive of such a run succeeds. This is the case the
 * breaker must not make worse: the failures share an error name and arrive steadily, but
 * they are not correlated. Measured: every one recovers, and how long a failure waits
 * from its stop to the redrive that succeeded (median), with the breaker on and off.
 *
 * Model (simulated time, bench/sim-scenario.ts): `runsPerMinute` runs start uniformly over
 * `minutes`; each fails on its first run with probability `failureShare` (seeded draw)
 * after `failingRunSeconds`; every other run, and every redrive, succeeds after
 * `okRunSeconds`.
 */
import { executionArnOf, MINUTE, type RedriverSpec, runSimulation, type SimOptions, type SimOutput, type SimRun, type SimWorldDefinition } from './sim-scenario';
import { median, percentile, round, seededRandom } from './stats';

export interface TrickleScenario {
  readonly runsPerMinute: number;
  readonly minutes: number;
  readonly failureShare: number;
  readonly failingRunSeconds: number;
  readonly okRunSeconds: number;
  readonly deliverySeconds: number;
  readonly seed: number;
}

export const TRICKLE_SCENARIO: TrickleScenario = {
  runsPerMinute: 100,
  minutes: 60,
  failureShare: 0.02,
  failingRunSeconds: 20,
  okRunSeconds: 2,
  deliverySeconds: 1,
  seed: 20261117,
};

export const TRICKLE_START = Date.UTC(2026, 2, 10, 9, 0, 0);
const MACHINE = 'busy-orders';

export function trickleRuns(s: TrickleScenario): SimRun[] {
  const random = seededRandom(s.seed);
  const n = s.runsPerMinute * s.minutes;
  return Array.from({ length: n }, (_, index) => {
    const name = `busy-${String(index).padStart(6, '0')}`;
    const startOffsetMs = Math.floor(random() * s.minutes * MINUTE);
    return { index, stateMachine: MACHINE, name, executionArn: executionArnOf(MACHINE, name), startOffsetMs, badInput: false, retryable: random() < s.failureShare };
  });
}

export function trickleWorld(s: TrickleScenario): SimWorldDefinition {
  return {
    start: TRICKLE_START,
    runs: trickleRuns(s),
    stateMachines: [MACHINE],
    deliverySeconds: s.deliverySeconds,
    // `retryable` marks the runs that fail (once): the ones a redriver has to recover.
    task: (ctx, run) =>
      run.retryable && ctx.attempt === 1
        ? { ms: s.failingRunSeconds * 1000, result: { ok: false, error: 'Lambda.ServiceException', cause: 'Service returned 503 once (transient)' } }
        : { ms: s.okRunSeconds * 1000, result: { ok: true, output: { ok: true } } },
    naiveStop: { at: TRICKLE_START + (s.minutes + 120) * MINUTE, maxRedrivesPerExecution: 100 },
    hardStop: TRICKLE_START + (s.minutes + 24 * 60) * MINUTE,
  };
}

export interface TrickleRunResult {
  readonly label: string;
  readonly policy?: Record<string, unknown>;
  readonly executions: number;
  /** Executions that failed (each once, transiently). */
  readonly retryable: number;
  readonly recovered: number;
  /** Failure stop -> the RedriveExecution that led to success, median over recovered executions. */
  readonly medianDelaySeconds: number;
  readonly p90DelaySeconds: number;
  readonly maxDelaySeconds: number;
  readonly redrives: number;
  readonly futileRedrives: number;
  readonly lost: number;
  readonly ledger: Record<string, number>;
  readonly ownerNotifications: Record<string, number>;
  readonly dynamoCalls: number;
  readonly breaker?: NonNullable<SimOutput['autoRedrive']>['breaker'];
  readonly simulatedMinutes: number;
  readonly wallMs: number;
}

export async function runTrickle(spec: RedriverSpec, scenario: TrickleScenario = TRICKLE_SCENARIO, options: SimOptions = {}): Promise<TrickleRunResult> {
  const wallStarted = Date.now();
  const out = await runSimulation(spec, trickleWorld(scenario), { name: 'trickle', ...options });
  const lastRedrive = new Map<string, number>();
  for (const r of out.redrives) lastRedrive.set(r.executionArn, Math.max(lastRedrive.get(r.executionArn) ?? -Infinity, r.at));
  const delays: number[] = [];
  let recovered = 0;
  for (const { run, snap } of out.snapshots) {
    if (!run.retryable || snap.status !== 'SUCCEEDED' || snap.redriveCount === 0) continue;
    recovered++;
    const stops = out.failedStops.get(run.executionArn) ?? [];
    const redriveAt = lastRedrive.get(run.executionArn);
    if (stops.length > 0 && redriveAt !== undefined) delays.push((redriveAt - stops[stops.length - 1]) / 1000);
  }
  return {
    label: spec.label,
    policy: spec.kind === 'auto-redrive' ? spec.policy : undefined,
    executions: out.runs.length,
    retryable: out.runs.filter((r) => r.retryable).length,
    recovered,
    medianDelaySeconds: round(median(delays), 1),
    p90DelaySeconds: round(percentile(delays, 90), 1),
    maxDelaySeconds: delays.length > 0 ? round(Math.max(...delays), 1) : NaN,
    redrives: out.redrives.length,
    futileRedrives: out.futile,
    lost: out.autoRedrive ? out.autoRedrive.lostFailures : out.snapshots.filter(({ snap }) => snap.status !== 'SUCCEEDED').length,
    ledger: out.autoRedrive?.ledger ?? {},
    ownerNotifications: out.autoRedrive?.ownerNotifications ?? {},
    dynamoCalls: out.autoRedrive?.dynamoCalls ?? 0,
    breaker: out.autoRedrive?.breaker,
    simulatedMinutes: round(out.simulatedMinutes, 1),
    wallMs: Date.now() - wallStarted,
  };
}
