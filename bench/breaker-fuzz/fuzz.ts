/**
 * The breaker's differential world fuzzer (issue 18): every world runs twice, breaker off
 * and breaker on, and the two arms are compared per execution (verdicts.ts). Worlds are
 * split over worker processes (worker.ts) by index; a world's result depends only on
 * (seed, index).
 */
import { fork } from 'node:child_process';
import { DETAIL_TYPE_BREAKER_OPENED } from '../../contract/owner-events';
import { join } from 'node:path';
import { type ArmRun, type Handler, runWorld } from './run-world';
import { type ArmVerdict, armVerdict, compareArms, recoveryDelays, type WorseOff } from './verdicts';
import { recoveredInUnusableUpWindow } from './up-windows';
import { generateWorld, type World, WORLD_START } from './world';
import { type BreakerFuzzResult, failureReport, summaryText, totals } from './report';

/** The seed used when none is given (printed with every run). */
export const DEFAULT_SEED = 18_002;
export const DEFAULT_WORLDS = 500;

export interface WorldResult {
  readonly seed: number;
  readonly index: number;
  readonly family: string;
  readonly description: string;
  readonly executions: number;
  readonly worseOff: readonly WorseOff[];
  /** Executions that, with the breaker on, ended as a person's later policy edit decided (not worse off; verdicts.ts). */
  readonly followedPolicyEdit: number;
  /** Not recovered with the breaker on only because an outage began during its last run, which started with the dependency up (not worse off; verdicts.ts). */
  readonly outageBeganDuringRun: number;
  /** Ended otherwise with the breaker on although nothing of it was held, probed or released (world timing; not worse off). */
  readonly untouchedByBreaker: number;
  /** Recovered with the breaker off in an up-window between outages the breaker could not use for it within its contract (up-windows.ts; not worse off). */
  readonly upWindowNotUsable: number;
  /** Recovered with the breaker on and not with it off (reported beside worseOff: phase luck goes both ways). */
  readonly betterOff: number;
  readonly lost: number;
  readonly deadLettered: number;
  readonly doubleRedrives: number;
  readonly futileOn: number;
  readonly futileOff: number;
  readonly redrivesOn: number;
  readonly redrivesOff: number;
  /** Controller redrives sooner than the backoff with the breaker OFF: the harness's own check (0). */
  readonly earlyOff: number;
  readonly delaysSeconds: readonly number[];
  /** `Breaker Opened` owner events with the breaker on, and those for state machines whose dependency never had an outage (flaky or poisoned executions only). */
  readonly breakerOpenings: number;
  readonly openingsWithoutOutage: number;
  readonly settled: boolean;
  readonly errors: readonly string[];
  /** Printed for a failing world: the first worse-off executions' timelines. */
  readonly failure?: string;
}

export interface ComparedWorld {
  readonly result: WorldResult;
  readonly off: ArmRun;
  readonly on: ArmRun;
  readonly vOff: ArmVerdict;
  readonly vOn: ArmVerdict;
}

/**
 * One world, both arms. `handler`: who handles the breaker-on arm's events (the
 * harness's self-test swaps in a broken redriver there); `arms` may name the same arm
 * twice (determinism check); `skipIdle` per arm (the check that skipping idle minutes
 * changes nothing).
 */
export async function compareWorld(
  seed: number,
  index: number,
  options: { handler?: Handler; arms?: readonly ['off' | 'on', 'off' | 'on']; skipIdle?: readonly [boolean, boolean] } = {},
): Promise<ComparedWorld> {
  const world = generateWorld(seed, index);
  const [first, second] = options.arms ?? ['off', 'on'];
  const off = await runWorld(world, first, { skipIdle: options.skipIdle?.[0] });
  const on = await runWorld(world, second, { handler: options.handler, skipIdle: options.skipIdle?.[1] });
  const vOff = armVerdict(off);
  const vOn = armVerdict(on);
  const editTimes = world.actions.filter((a) => a.kind === 'delete-policy' || (a.kind === 'put-policy' && !/breaker off/.test(a.what))).map((a) => a.at);
  const up = (machine: number, at: number) => !world.machines[machine].outages.some((w) => w.from <= at && at < w.to);
  const outageBeganDuringLastRun = (i: number) => {
    const last = on.sim.runsOf(i).at(-1);
    const machine = world.executions[i].machine;
    return last !== undefined && last.status !== 'SUCCEEDED' && world.executions[i].kind === 'normal' && up(machine, last.startedAt) && !up(machine, last.endsAt);
  };
  const breakerActs = on.audit.entries.filter((a) => a.decision === 'hold' || a.source === 'probe' || a.source === 'release');
  // Touched when the arms' fates parted: the breaker-off arm recovered by redriving failure k;
  // with the breaker on, that same failure's redrive (or its absence) came after something of
  // the breaker, or was itself a probe or release. Otherwise they parted by world timing alone.
  const touchedByBreaker = (i: number) => {
    const arn = world.executions[i].arn;
    const acts = breakerActs.filter((a) => a.executionArn === arn);
    if (acts.length === 0) return false;
    const offRuns = off.sim.runsOf(i);
    if (offRuns.at(-1)?.status !== 'SUCCEEDED' || offRuns.length < 2) return true;
    const k = offRuns.length - 2;
    const parted = on.sim.redrives.find((r) => r.executionIndex === i && r.fromCount === k && r.actor === 'controller');
    return !parted || acts.some((a) => a.at <= parted.at || a.redriveCount === k);
  };
  const { worse: worseOff, followedEdit, outageDuringRun, untouched, upWindowNotUsable, betterOff } = compareArms(vOff, vOn, WORLD_START, editTimes, outageBeganDuringLastRun, touchedByBreaker, (i) =>
    recoveredInUnusableUpWindow(world, off, on, i),
  );
  const openings = on.notifier.breakerEvents.filter((e) => e.detailType === DETAIL_TYPE_BREAKER_OPENED);
  const quiet = new Set(world.machines.filter((m) => m.outages.length === 0).map((m) => m.arn));
  const result: WorldResult = {
    seed,
    index,
    family: world.family,
    description: world.description,
    executions: world.executions.length,
    worseOff,
    followedPolicyEdit: followedEdit.length,
    outageBeganDuringRun: outageDuringRun.length,
    untouchedByBreaker: untouched.length,
    upWindowNotUsable: upWindowNotUsable.length,
    betterOff: betterOff.length,
    lost: [...vOff.ends, ...vOn.ends].filter((e) => e.kind === 'lost').length,
    deadLettered: off.deadLettered.size + on.deadLettered.size,
    doubleRedrives: vOff.doubleRedrives.length + vOn.doubleRedrives.length,
    futileOn: vOn.futile,
    futileOff: vOff.futile,
    redrivesOn: vOn.redrives,
    redrivesOff: vOff.redrives,
    earlyOff: vOff.early.length,
    delaysSeconds: recoveryDelays(vOff, vOn),
    breakerOpenings: openings.length,
    openingsWithoutOutage: openings.filter((e) => quiet.has(e.detail.stateMachineArn)).length,
    settled: off.settled && on.settled,
    errors: [...off.errors.map((e) => `off: ${e}`), ...on.errors.map((e) => `on: ${e}`)].slice(0, 5),
  };
  const failing = worseOff.length > 0 || result.lost > 0 || result.doubleRedrives > 0;
  return { result: failing ? { ...result, failure: failureReport(world, result, { off, on, vOff, vOn }) } : result, off, on, vOff, vOn };
}

export interface FuzzRunOptions {
  readonly seed: number;
  readonly worlds: number;
  /** Only this world index (a reproduction). */
  readonly world?: number;
  /** Worker processes. @default 1 (in this process) */
  readonly jobs?: number;
  readonly progress?: (message: string) => void;
}

/** Results of the worlds `indexes`, in this process. */
export async function runIndexes(seed: number, indexes: readonly number[], onWorld?: (r: WorldResult) => void): Promise<WorldResult[]> {
  const results: WorldResult[] = [];
  for (const i of indexes) {
    const { result } = await compareWorld(seed, i);
    results.push(result);
    onWorld?.(result);
  }
  return results;
}

export async function runWorlds(options: FuzzRunOptions): Promise<WorldResult[]> {
  const indexes = options.world !== undefined ? [options.world] : Array.from({ length: options.worlds }, (_, i) => i);
  const jobs = Math.max(1, Math.min(options.jobs ?? 1, indexes.length));
  let done = 0;
  const tick = (r: WorldResult) => {
    done++;
    if (done % 50 === 0 || r.worseOff.length > 0 || r.lost > 0 || r.doubleRedrives > 0) {
      options.progress?.(`breakerFuzz: ${done}/${indexes.length} worlds${r.worseOff.length ? `; world ${r.index} (${r.family}) has ${r.worseOff.length} worse off` : ''}`);
    }
  };
  if (jobs === 1) return runIndexes(options.seed, indexes, tick);
  const shares = Array.from({ length: jobs }, (_, k) => indexes.filter((_, i) => i % jobs === k));
  const parts = await Promise.all(shares.map((share) => inWorker(options.seed, share, tick)));
  return parts.flat().sort((a, b) => a.index - b.index);
}

function inWorker(seed: number, indexes: readonly number[], onWorld: (r: WorldResult) => void): Promise<WorldResult[]> {
  return new Promise((resolve, reject) => {
    const child = fork(join(__dirname, 'worker.ts'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: process.execArgv });
    const results: WorldResult[] = [];
    child.on('message', (m: { world?: WorldResult; done?: boolean; error?: string }) => {
      if (m.world) {
        results.push(m.world);
        onWorld(m.world);
      }
      if (m.error) reject(new Error(`breakerFuzz worker: ${m.error}`));
      if (m.done) {
        resolve(results);
        child.disconnect();
      }
    });
    child.on('exit', (code) => {
      if (results.length < indexes.length) reject(new Error(`breakerFuzz worker exited with ${code} after ${results.length} of ${indexes.length} worlds`));
    });
    child.send({ seed, indexes });
  });
}

/** The bench section: runs the worlds, prints the summary (and failing worlds), returns the totals. */
export async function runBreakerFuzz(options: FuzzRunOptions & { readonly command: string }): Promise<{ totals: BreakerFuzzResult; text: string }> {
  const started = Date.now();
  options.progress?.(`breakerFuzz: seed ${options.seed}, ${options.world !== undefined ? `world ${options.world}` : `${options.worlds} worlds`}, ${options.jobs ?? 1} worker(s)`);
  const results = await runWorlds(options);
  const t = totals(options.seed, results, Math.round((Date.now() - started) / 100) / 10, options.command);
  return { totals: t, text: summaryText(t, results) };
}

export type { World };
