/**
 * The breaker fuzzer's figures: per world (seed, index, description, counts) and in total,
 * and for a failing world the first worse-off executions with both arms' timelines (runs,
 * decisions, redrives) and a one-line reproduction command.
 */
import { median, percentile } from '../stats';
import type { ArmRun } from './run-world';
import type { ArmVerdict } from './verdicts';
import type { WorldResult } from './fuzz';
import { WORLD_START, type World } from './world';

export interface MechanismCount {
  readonly family: string;
  readonly rule: string;
  readonly mechanism: string;
  readonly executions: number;
  readonly worlds: number;
  /** Reproduction commands of the first few worlds that show it. */
  readonly examples: readonly string[];
}

/** The `breakerFuzz` section of bench/results/latest.json. */
export interface BreakerFuzzResult {
  readonly seed: number;
  readonly worlds: number;
  readonly executions: number;
  readonly worseOff: number;
  /** Ended as a person's later policy edit decided, while held or waiting (counted apart; not worse off). */
  readonly followedPolicyEdit: number;
  /** Not recovered with the breaker on only because an outage began during a run that started with the dependency up (counted apart; not worse off). */
  readonly outageBeganDuringRun: number;
  /** Ended otherwise with the breaker on although nothing of it was held, probed or released (counted apart; not worse off). */
  readonly untouchedByBreaker: number;
  /** Recovered with the breaker off in an up-window between outages the breaker could not use for it within its contract (counted apart; not worse off; up-windows.ts). */
  readonly upWindowNotUsable: number;
  /** Recovered with the breaker on and not with it off (phase luck goes both ways). */
  readonly betterOff: number;
  readonly lost: number;
  readonly doubleRedrives: number;
  readonly futileOn: number;
  readonly futileOff: number;
  readonly medianDelayAddedSeconds: number;
  /** 90th percentile of the same (holding delays recoveries of a few; the median hides them). */
  readonly p90DelayAddedSeconds: number;
  readonly redrivesOn: number;
  readonly redrivesOff: number;
  readonly deadLettered: number;
  /** Controller redrives sooner than the backoff with the breaker off (the harness's own check: 0). */
  readonly earlyRedrivesOff: number;
  /** Worlds still busy at the 15-day horizon (their open ends count as held or pending). */
  readonly unsettledWorlds: number;
  /** `Breaker Opened` owner events (breaker on), and those for state machines with no outage (issue 18 item 5). */
  readonly breakerOpenings: number;
  readonly openingsWithoutOutage: number;
  readonly worseOffByRule: { readonly a: number; readonly b: number; readonly c: number };
  readonly failingWorlds: number;
  readonly mechanisms: readonly MechanismCount[];
  readonly wallSeconds: number;
  readonly command: string;
}

export const reproduction = (seed: number, index: number) => `npm run bench -- --only=breakerFuzz --seed=${seed} --world=${index}`;

export function totals(seed: number, results: readonly WorldResult[], wallSeconds: number, command: string): BreakerFuzzResult {
  const sum = (f: (r: WorldResult) => number) => results.reduce((s, r) => s + f(r), 0);
  const byRule = { a: 0, b: 0, c: 0 };
  const delays = results.flatMap((r) => r.delaysSeconds);
  const mechanisms = new Map<string, { family: string; rule: string; mechanism: string; executions: number; worlds: Set<number>; examples: string[] }>();
  for (const r of results) {
    for (const w of r.worseOff) {
      byRule[w.rule]++;
      const key = `${r.family}|${w.rule}|${w.mechanism}`;
      const m = mechanisms.get(key) ?? { family: r.family, rule: w.rule, mechanism: w.mechanism, executions: 0, worlds: new Set<number>(), examples: [] };
      m.executions++;
      if (!m.worlds.has(r.index) && m.examples.length < 3) m.examples.push(reproduction(r.seed, r.index));
      m.worlds.add(r.index);
      mechanisms.set(key, m);
    }
  }
  return {
    seed,
    worlds: results.length,
    executions: sum((r) => r.executions),
    worseOff: sum((r) => r.worseOff.length),
    followedPolicyEdit: sum((r) => r.followedPolicyEdit),
    outageBeganDuringRun: sum((r) => r.outageBeganDuringRun),
    untouchedByBreaker: sum((r) => r.untouchedByBreaker),
    upWindowNotUsable: sum((r) => r.upWindowNotUsable),
    betterOff: sum((r) => r.betterOff),
    lost: sum((r) => r.lost),
    doubleRedrives: sum((r) => r.doubleRedrives),
    futileOn: sum((r) => r.futileOn),
    futileOff: sum((r) => r.futileOff),
    medianDelayAddedSeconds: delays.length ? Math.round(median(delays) * 10) / 10 : 0,
    p90DelayAddedSeconds: delays.length ? Math.round(percentile(delays, 90) * 10) / 10 : 0,
    redrivesOn: sum((r) => r.redrivesOn),
    redrivesOff: sum((r) => r.redrivesOff),
    deadLettered: sum((r) => r.deadLettered),
    earlyRedrivesOff: sum((r) => r.earlyOff),
    unsettledWorlds: results.filter((r) => !r.settled).length,
    breakerOpenings: sum((r) => r.breakerOpenings),
    openingsWithoutOutage: sum((r) => r.openingsWithoutOutage),
    worseOffByRule: byRule,
    failingWorlds: results.filter(failing).length,
    mechanisms: [...mechanisms.values()]
      .map((m) => ({ family: m.family, rule: m.rule, mechanism: m.mechanism, executions: m.executions, worlds: m.worlds.size, examples: m.examples }))
      .sort((a, b) => b.worlds - a.worlds || b.executions - a.executions),
    wallSeconds,
    command,
  };
}

export const failing = (r: WorldResult) => r.worseOff.length > 0 || r.lost > 0 || r.doubleRedrives > 0;

/** One line per world. */
export function worldLine(r: WorldResult): string {
  return (
    `world ${r.index} (seed ${r.seed}): ${r.executions} executions, worseOff ${r.worseOff.length}, lost ${r.lost}, double ${r.doubleRedrives}, ` +
    `futile on/off ${r.futileOn}/${r.futileOff}${r.settled ? '' : ', unsettled at the horizon'} | ${r.description}`
  );
}

const at = (t: number) => {
  const s = Math.round((t - WORLD_START) / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `+${h}h${String(m).padStart(2, '0')}m${String(s % 60).padStart(2, '0')}s`;
};

/** One arm's story of one execution: runs, decisions and redrives in time order. */
export function timeline(run: ArmRun, verdict: ArmVerdict, index: number, limit = 30): string[] {
  const e = run.world.executions[index];
  const items: Array<{ t: number; text: string }> = [];
  run.sim.runsOf(index).forEach((r, n) => {
    items.push({ t: r.startedAt, text: `run ${n} starts` });
    if (r.endsAt <= run.endedAt) items.push({ t: r.endsAt, text: `run ${n} ${r.status}${r.error ? ` ${r.error}` : ''}` });
  });
  for (const a of run.audit.entries) {
    if (a.executionArn !== e.arn) continue;
    items.push({ t: a.at, text: `decision ${a.source}: ${a.decision}/${a.reason} of failure ${a.redriveCount} -> ${a.action}${a.dueAt ? ` due ${at(a.dueAt)}` : ''}` });
  }
  for (const r of run.sim.redrives) if (r.executionIndex === index) items.push({ t: r.at, text: `RedriveExecution of failure ${r.fromCount} (${r.actor})` });
  items.sort((a, b) => a.t - b.t);
  const end = verdict.ends[index];
  const lines = items.slice(0, limit).map((i) => `      ${at(i.t)} ${i.text}`);
  if (items.length > limit) lines.push(`      ... ${items.length - limit} more`);
  lines.push(`      end: ${end.kind}${end.reason ? ` (${end.reason})` : ''}${end.at !== null ? ` at ${at(end.at)}` : ''}`);
  return lines;
}

/** What a failing world prints: its identity, the first worse-off executions with both timelines, the reproduction. */
export function failureReport(world: World, r: WorldResult, arms: { off: ArmRun; on: ArmRun; vOff: ArmVerdict; vOn: ArmVerdict }, first = 3): string {
  const lines = [
    `FAILING world ${r.index} (seed ${r.seed}): worseOff ${r.worseOff.length}, lost ${r.lost}, doubleRedrives ${r.doubleRedrives}`,
    `  ${world.description}`,
    `  reproduce: ${reproduction(r.seed, r.index)}`,
  ];
  for (const d of [...arms.vOff.doubleRedrives.map((x) => ({ ...x, arm: 'off' })), ...arms.vOn.doubleRedrives.map((x) => ({ ...x, arm: 'on' }))].slice(0, first)) {
    lines.push(`  double redrive (${d.arm}): ${world.executions[d.execution].arn}: ${d.what}`);
  }
  const lostOnes = world.executions.filter((_, i) => arms.vOff.ends[i].kind === 'lost' || arms.vOn.ends[i].kind === 'lost').slice(0, first);
  const shown = [...r.worseOff.slice(0, first).map((w) => ({ i: w.execution, why: `worse off (${w.rule}): ${w.why}` })), ...lostOnes.map((e) => ({ i: e.index, why: 'lost' }))];
  for (const { i, why } of shown) {
    const e = world.executions[i];
    lines.push(`  ${e.name} of ${world.machines[e.machine].name} (${e.kind}${e.kind === 'flaky' ? ` x${e.flakyFailures}` : ''}, runs ${Math.round(e.runMs / 1000)}s): ${why}`);
    lines.push('    breaker off:', ...timeline(arms.off, arms.vOff, i));
    lines.push('    breaker on:', ...timeline(arms.on, arms.vOn, i));
  }
  return lines.join('\n');
}

/** The run's summary as printed at the end of `--only=breakerFuzz`. */
export function summaryText(t: BreakerFuzzResult, results: readonly WorldResult[], maxFailures = 5): string {
  const lines = [
    `breakerFuzz seed ${t.seed}: ${t.worlds} worlds, ${t.executions} executions in ${t.wallSeconds} s`,
    `  worseOff ${t.worseOff} (a not recovered ${t.worseOffByRule.a}, b given up earlier ${t.worseOffByRule.b}, c redriven before backoff ${t.worseOffByRule.c}) in ${t.failingWorlds} worlds; followed a later policy edit (not worse off) ${t.followedPolicyEdit}; an outage began during a run that started with the dependency up (not worse off) ${t.outageBeganDuringRun}; never held, probed or released by the breaker (world timing, not worse off) ${t.untouchedByBreaker}; recovered with it off in an up-window the breaker could not use within its contract (phase luck, not worse off) ${t.upWindowNotUsable}; recovered with it on and not off (better off) ${t.betterOff}`,
    `  lost ${t.lost}, doubleRedrives ${t.doubleRedrives}, dead-lettered ${t.deadLettered}, futile on/off ${t.futileOn}/${t.futileOff}, redrives on/off ${t.redrivesOn}/${t.redrivesOff}`,
    `  recovery delay added: median ${t.medianDelayAddedSeconds} s, p90 ${t.p90DelayAddedSeconds} s; early redrives with the breaker off (harness check) ${t.earlyRedrivesOff}; unsettled worlds ${t.unsettledWorlds}`,
    `  Breaker Opened events ${t.breakerOpenings}, of them for state machines with no outage ${t.openingsWithoutOutage}`,
  ];
  if (t.mechanisms.length) lines.push('  worse off by family and mechanism:');
  for (const m of t.mechanisms.slice(0, 20)) lines.push(`    ${m.family} | ${m.rule} | ${m.mechanism}: ${m.executions} executions in ${m.worlds} worlds; e.g. ${m.examples[0]}`);
  for (const r of results.filter((x) => x.failure).slice(0, maxFailures)) lines.push(r.failure!);
  return lines.join('\n');
}
