/**
 * Budget: a bad deploy fails a high-volume state machine whose policy sets a redrive budget
 * (`maxRedrivesPerHour`, docs/policies.md#redrive-budget). `failures` runs start over
 * `burstMinutes` and each fails once (a redrive succeeds). Measured: the most redrives in
 * any rolling hour (sliding over every redrive, to the millisecond) against the budget,
 * and that nothing is lost: every failure is held over budget, then released oldest first
 * and recovered, however many hours that takes.
 *
 * Model (simulated time, bench/sim-scenario.ts): the controller runs as `instances` Lambda
 * instances (round robin), so the budget is shared through its leases, with the default
 * policy plus the budget; the drain runs every simulated minute.
 */
import { executionArnOf, MINUTE, type RedriverSpec, runSimulation, type SimOptions, type SimRun, type SimWorldDefinition } from './sim-scenario';
import { round, seededRandom } from './stats';

export interface BudgetScenario {
  readonly budget: number;
  readonly failures: number;
  readonly burstMinutes: number;
  readonly failingRunSeconds: number;
  readonly okRunSeconds: number;
  readonly deliverySeconds: number;
  readonly instances: number;
  readonly seed: number;
}

export const BUDGET_SCENARIO: BudgetScenario = {
  budget: 100,
  failures: 400,
  burstMinutes: 10,
  failingRunSeconds: 5,
  okRunSeconds: 2,
  deliverySeconds: 1,
  instances: 4,
  seed: 20261204,
};

export const BUDGET_START = Date.UTC(2026, 11, 4, 9, 0, 0);
const MACHINE = 'orders-after-bad-deploy';
const HOUR = 60 * MINUTE;

export const budgetSpec = (s: BudgetScenario): RedriverSpec => ({
  kind: 'auto-redrive',
  label: 'budget',
  policy: { stateMachine: '*', maxRedrivesPerHour: s.budget },
  note: `POLICY_DEFAULTS as shipped (breaker on) plus maxRedrivesPerHour: ${s.budget}`,
});

export function budgetWorld(s: BudgetScenario): SimWorldDefinition {
  const random = seededRandom(s.seed);
  const runs: SimRun[] = Array.from({ length: s.failures }, (_, index) => {
    const name = `order-${String(index).padStart(6, '0')}`;
    return { index, stateMachine: MACHINE, name, executionArn: executionArnOf(MACHINE, name), startOffsetMs: Math.floor(random() * s.burstMinutes * MINUTE), badInput: false, retryable: true };
  });
  // Long enough for every failure to be released at the budget's pace, with room to spare.
  const hours = Math.ceil(s.failures / s.budget) * 1.1 + 2;
  return {
    start: BUDGET_START,
    runs,
    stateMachines: [MACHINE],
    deliverySeconds: s.deliverySeconds,
    task: (ctx) =>
      ctx.attempt === 1
        ? { ms: s.failingRunSeconds * 1000, result: { ok: false, error: 'OrdersApi.BadDeploy', cause: 'the deploy broke it; fixed since' } }
        : { ms: s.okRunSeconds * 1000, result: { ok: true, output: { ok: true } } },
    naiveStop: { at: BUDGET_START + hours * HOUR, maxRedrivesPerExecution: 1 },
    hardStop: BUDGET_START + (hours + 24) * HOUR,
  };
}

/** Most of `times` in any [t, t + 1 h). */
export function maxInAnyHour(times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; j < sorted.length; j++) {
    while (sorted[j] - sorted[i] >= HOUR) i++;
    best = Math.max(best, j - i + 1);
  }
  return best;
}

export interface BudgetResult {
  readonly scenario: BudgetScenario;
  readonly policy: Record<string, unknown>;
  /** The most redrives in any rolling hour (MUST: <= budget). */
  readonly maxInAnyHour: number;
  readonly budget: number;
  /** Failures not recovered at the end (MUST: 0): none is dropped while held over budget. */
  readonly lost: number;
  readonly failures: number;
  readonly recovered: number;
  readonly redrives: number;
  /** Hours from the first failure to the last redrive (the budget sets the pace: about failures / budget). */
  readonly hoursToLastRedrive: number;
  /** Redrives in each hour from the first failure. */
  readonly redrivesPerHour: number[];
  /** `Auto Redrive Budget Reached` events (once, then at most once an hour while at the budget). */
  readonly budgetEvents: number;
  readonly heldDecisions: number;
  readonly dynamoCalls: number;
  readonly simulatedMinutes: number;
  readonly wallMs: number;
}

export async function runBudget(scenario: BudgetScenario = BUDGET_SCENARIO, options: SimOptions = {}): Promise<BudgetResult> {
  const wallStarted = Date.now();
  const spec = budgetSpec(scenario);
  const out = await runSimulation(spec, budgetWorld(scenario), { name: 'budget', instances: scenario.instances, ...options });
  const times = out.redrives.map((r) => r.at);
  const firstStop = Math.min(...[...out.failedStops.values()].map((stops) => stops[0]));
  const perHour: number[] = [];
  for (const t of times) {
    const h = Math.floor((t - firstStop) / HOUR);
    while (perHour.length <= h) perHour.push(0);
    perHour[h]++;
  }
  const recovered = out.snapshots.filter(({ snap }) => snap.status === 'SUCCEEDED' && snap.redriveCount > 0).length;
  return {
    scenario,
    policy: spec.kind === 'auto-redrive' ? spec.policy : {},
    maxInAnyHour: maxInAnyHour(times),
    budget: scenario.budget,
    lost: out.runs.length - recovered,
    failures: out.runs.length,
    recovered,
    redrives: out.redrives.length,
    hoursToLastRedrive: times.length ? round((Math.max(...times) - firstStop) / HOUR, 2) : 0,
    redrivesPerHour: perHour,
    budgetEvents: out.autoRedrive?.ownerNotifications['Auto Redrive Budget Reached'] ?? 0,
    heldDecisions: out.autoRedrive?.breaker.heldDecisions ?? 0,
    dynamoCalls: out.autoRedrive?.dynamoCalls ?? 0,
    simulatedMinutes: round(out.simulatedMinutes, 1),
    wallMs: Date.now() - wallStarted,
  };
}
