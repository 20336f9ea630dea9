/** The results file's shape and the MUST checks (the Markdown is in report-markdown.ts). */
import type { BreakerFuzzResult } from './breaker-fuzz/report';
import type { BudgetResult } from './budget';
import type { BurstResult } from './burst';
import type { BurstHeldResult } from './burst-held';
import type { BurstStateScopedResult } from './burst-state-scoped';
import type { ColdStartResult } from './cold-start';
import type { CostResult } from './cost';
import type { OutageName, OutageRunResult, OutageScenario } from './outage';
import type { CandidateOutcome } from './policy-search';
import { fmt, round } from './stats';
import type { StormResult } from './storm';
import type { TrickleRunResult, TrickleScenario } from './trickle';
import type { WhatIfResult } from './what-if';

export interface BenchMeta {
  readonly date: string;
  readonly node: string;
  readonly platform: string;
  readonly arch: string;
  readonly nproc: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  /** os.loadavg() when the run started: other work on the machine skews real-time numbers. */
  readonly loadAverageAtStart: readonly number[];
  readonly command: string;
  readonly scale: 'full' | 'quick';
  readonly durationsMs: Record<string, number>;
  readonly quota: BurstResult['quota'] | null;
  readonly harness: readonly string[];
  /** How the simulated worlds behave (outage, trickle). */
  readonly models: Readonly<Record<string, readonly string[]>>;
  /** --merge: the sections taken from an earlier run, and its date. */
  readonly keptFromPreviousRun?: { readonly date: string; readonly sections: readonly string[] };
}

/** One outage, the same world for each redriver. */
export interface OutageComparison {
  readonly scenario: OutageScenario & { readonly name: OutageName; readonly outageStart: string };
  readonly naive: OutageRunResult;
  /** auto-redrive, default policy, breaker turned off. */
  readonly breakerOff: OutageRunResult;
  /** auto-redrive, default policy as shipped (breaker on); absent = not measured. */
  readonly breakerOn?: OutageRunResult;
  /** breakerOn futile redrives / naive futile redrives (MUST <= 0.01); null = not measured. */
  readonly futileRatio: number | null;
  /** Analytic replay of fixed policies on this outage (no breaker): why no one policy fits every outage. */
  readonly policySearch: readonly CandidateOutcome[];
}

export interface TrickleSection {
  readonly scenario: TrickleScenario;
  readonly breakerOff: TrickleRunResult;
  readonly breakerOn?: TrickleRunResult;
  /** breakerOn median delay - breakerOff median delay (MUST <= probeIntervalSeconds). */
  readonly addedMedianDelaySeconds: number | null;
  /** The default policy's first probe interval. */
  readonly probeIntervalSeconds: number;
}

export interface MustCheck {
  readonly id: string;
  readonly description: string;
  readonly ok: boolean;
  readonly actual: string;
  /** False for checks that only mean something at full scale, in a --quick run. */
  readonly enforced: boolean;
}

export interface BenchResults {
  readonly meta: BenchMeta;
  /** The plain burst with the breaker turned off (the redrive path itself). */
  readonly burst?: BurstResult;
  /** The same burst with the default settings (breaker as shipped). */
  readonly burstDefault?: BurstResult;
  readonly burstHeld?: BurstHeldResult;
  readonly outage30?: OutageComparison;
  readonly outage120?: OutageComparison;
  readonly trickle?: TrickleSection;
  readonly storm?: StormResult;
  readonly coldStart?: ColdStartResult;
  /** `redrivectl what-if` over a seeded history (bench/what-if.ts). */
  readonly whatIf?: WhatIfResult;
  /** The controller's cost per day at 1,000,000 redrives, from burstDefault's figures (bench/cost.ts). */
  readonly cost?: CostResult;
  /** The breaker's differential world fuzzer (bench/breaker-fuzz): breaker off vs on, per execution. */
  readonly breakerFuzz?: BreakerFuzzResult;
  /** The same from the breaker-off burst's figures, for comparison. */
  readonly costBreakerOff?: CostResult;
  /** A burst into a state machine with a redrive budget (bench/budget.ts). */
  readonly budget?: BudgetResult;
  /** Issue 20: the burst with neverAtStates on the policy (bench/burst-state-scoped.ts). */
  readonly burstStateScoped?: BurstStateScopedResult;
  readonly musts: readonly MustCheck[];
}

/** Goals from issue 10 ("What it must show"). */
export const GOALS = {
  recoveredShare: 0.999,
  futileShareOfNaive: 0.01,
  minutesToRecoverAfterOutage: 6,
  releaseRateRatio: 0.9,
  burstRateRatio: 0.9,
  /** Issue 18: the burst with the default settings (breaker on) reaches this share of the configured rate. */
  burstDefaultRateRatio: 0.95,
  /** DynamoDB calls per failure on the event path, breaker on, over the plain burst's per redrive. */
  extraDynamoCallsPerFailure: 1,
  /** Issue 13: DynamoDB calls per redrive in the burst (a fresh failure: claim, then one settling write). */
  burstDynamoCallsPerRedrive: 2.5,
  /** Issue 13: rate-limiter writes per redrive in the burst (leased shares, not a write per call). */
  burstLimiterWritesPerRedrive: 0.1,
  /** Issue 13: the controller's cost at 1,000,000 redrives a day, same prices as the README's table had. */
  usdPerDayAtMillionRedrives: 3,
  /** DynamoDB's per-partition write limit (local/partition-model.ts): the storm's hottest key. */
  stormHottestKeyWritesPerSecond: 1000,
  /** Storm: release time over retryable failures / configured rate (reported, not enforced). */
  stormTimeRatio: 1.15,
  /**
   * Issue 20: the burst with neverAtStates on every policy keeps this share of its effective
   * ceiling, min(configured redrive rate, GetExecutionHistory rate): each failure needs one
   * history read, under a quota rate, so no state-scoped burst can go faster.
   */
  burstStateScopedRateRatio: 0.95,
  /** Issue 20: GetExecutionHistory calls per failure in that burst, at most. */
  historyCallsPerFailure: 1,
} as const;

const NOT_MEASURED = 'not measured (run missing)';

export function checkMusts(r: Omit<BenchResults, 'musts'>): MustCheck[] {
  const musts: Must[] = [];
  const full = r.meta.scale === 'full';
  if (r.burst) musts.push(...burstMusts('burst', 'burst', r.burst, GOALS.burstRateRatio, full));
  if (r.burstDefault) {
    const b = r.burstDefault;
    musts.push({
      id: 'burstDefault.redriven',
      description: 'burst, default settings: every failure redriven during the burst (none held)',
      ok: b.redriven === b.events,
      actual: `${fmt(b.redriven)} / ${fmt(b.events)} (${fmt(b.held ?? 0)} held)`,
    });
    musts.push(...burstMusts('burstDefault', 'burst, default settings', b, GOALS.burstDefaultRateRatio, full));
  }
  else if (r.burst) musts.push({ id: 'burstDefault', description: 'burst with the default settings (breaker as shipped)', ok: false, actual: NOT_MEASURED });
  if (r.burstStateScoped) musts.push(...burstStateScopedMusts(r.burstStateScoped, full));
  if (r.burstHeld) {
    const h = r.burstHeld;
    musts.push({
      id: 'burstHeld.rate',
      description: `burst held: release rate / configured rate >= ${GOALS.releaseRateRatio}`,
      ok: h.releaseRateRatio >= GOALS.releaseRateRatio,
      actual: `${h.releaseRateRatio} (${h.released} released at ${h.releaseRate}/s of ${h.configuredRate}/s)`,
      enforced: full,
    });
    musts.push({ id: 'burstHeld.lost', description: 'burst held: failures lost = 0', ok: h.lost === 0, actual: String(h.lost) });
    musts.push({ id: 'burstHeld.double', description: 'burst held: executions redriven twice = 0', ok: h.doubleRedrives === 0, actual: String(h.doubleRedrives) });
    if (r.burst) {
      const limit = r.burst.dynamoCallsPerRedrive + GOALS.extraDynamoCallsPerFailure;
      musts.push({
        id: 'burstHeld.dynamo',
        description: `burst held: DynamoDB calls per failure on the event path <= plain burst's per redrive + ${GOALS.extraDynamoCallsPerFailure}`,
        ok: h.dynamoCallsPerFailure <= limit,
        actual: `${h.dynamoCallsPerFailure} vs ${r.burst.dynamoCallsPerRedrive} + ${GOALS.extraDynamoCallsPerFailure} = ${fmt(limit, 2)}`,
      });
    }
  } else if (r.burst) {
    musts.push({ id: 'burstHeld', description: 'burst held: 5,000 same-error failures held, then released', ok: false, actual: NOT_MEASURED });
  }
  if (r.cost) {
    musts.push({
      // From burstDefault (issue 18); costBreakerOff, from the breaker-off burst, is reported only.
      id: 'cost',
      description: `controller cost at 1,000,000 redrives a day, default settings <= $${GOALS.usdPerDayAtMillionRedrives}`,
      ok: r.cost.usdPerDayAtMillionRedrives <= GOALS.usdPerDayAtMillionRedrives,
      actual: `$${r.cost.usdPerDayAtMillionRedrives}/day`,
      enforced: full,
    });
  }
  for (const name of ['outage30', 'outage120'] as const) {
    const o = r[name];
    if (!o) continue;
    const minutes = o.scenario.outageMinutes;
    const on = o.breakerOn;
    if (!on) {
      musts.push({ id: `${name}.breakerOn`, description: `${minutes}-min outage: auto-redrive with the breaker on`, ok: false, actual: NOT_MEASURED });
    } else {
      musts.push({
        id: `${name}.recovered`,
        description: `${minutes}-min outage, breaker on: retryable executions recovered >= ${GOALS.recoveredShare * 100}%`,
        ok: on.recovered >= GOALS.recoveredShare * on.retryable,
        actual: `${fmt(on.recovered)} / ${fmt(on.retryable)}`,
        // A probe may spend one execution's last redrive in the outage (the breaker's price,
        // docs/breaker.md): one of the quick scale's 190 is 0.5 %, of the full scale's 950, 0.1 %.
        enforced: full,
      });
      musts.push({
        id: `${name}.futile`,
        description: `${minutes}-min outage, breaker on: futile redrives <= ${GOALS.futileShareOfNaive * 100}% of the naive redriver's`,
        ok: on.futileRedrives <= GOALS.futileShareOfNaive * o.naive.futileRedrives,
        actual: `${fmt(on.futileRedrives)} vs ${fmt(o.naive.futileRedrives)} (ratio ${o.futileRatio})`,
      });
      musts.push({
        id: `${name}.recoverMinutes`,
        description: `${minutes}-min outage, breaker on: minutes from outage end to last recovery <= ${GOALS.minutesToRecoverAfterOutage}`,
        ok: on.minutesToRecoverAfterOutage !== null && on.minutesToRecoverAfterOutage <= GOALS.minutesToRecoverAfterOutage,
        actual: fmt(on.minutesToRecoverAfterOutage, 1),
      });
    }
    const autos = [o.breakerOff, ...(on ? [on] : [])];
    const label = autos.map((a) => a.label).join(', ');
    musts.push({
      id: `${name}.badInput`,
      description: `${minutes}-min outage: redrives of bad-input executions = 0 (${label})`,
      ok: autos.every((a) => a.badInputRedrives === 0),
      actual: autos.map((a) => a.badInputRedrives).join(', '),
    });
    musts.push({
      id: `${name}.lost`,
      description: `${minutes}-min outage: failures lost = 0 (${label}; every FAILED execution has a recorded skip, hold, pending redrive or DLQ entry)`,
      ok: autos.every((a) => a.lost === 0),
      actual: autos.map((a) => a.lost).join(', '),
    });
  }
  if (r.trickle) {
    const t = r.trickle;
    const on = t.breakerOn;
    if (!on) {
      musts.push({ id: 'trickle.breakerOn', description: 'trickle: auto-redrive with the breaker on', ok: false, actual: NOT_MEASURED });
    } else {
      musts.push({ id: 'trickle.recovered', description: 'trickle, breaker on: every failed execution recovered', ok: on.recovered === on.retryable, actual: `${fmt(on.recovered)} / ${fmt(on.retryable)}` });
      musts.push({
        id: 'trickle.delay',
        description: `trickle: median delay (failure → successful redrive) added by the breaker <= one probe interval (${t.probeIntervalSeconds} s)`,
        ok: t.addedMedianDelaySeconds !== null && t.addedMedianDelaySeconds <= t.probeIntervalSeconds,
        actual: `${fmt(t.addedMedianDelaySeconds, 1)} s (${fmt(on.medianDelaySeconds, 1)} s on vs ${fmt(t.breakerOff.medianDelaySeconds, 1)} s off)`,
      });
      musts.push({ id: 'trickle.lost', description: 'trickle, breaker on: failures lost = 0', ok: on.lost === 0, actual: String(on.lost) });
    }
  }
  if (r.storm) {
    const s = r.storm;
    const hot = s.hottestKeyWritesPerSecond;
    musts.push({ id: 'storm.lost', description: 'storm: failures lost = 0', ok: s.lost === 0, actual: fmt(s.lost) });
    musts.push({ id: 'storm.double', description: 'storm: failures redriven twice = 0', ok: s.doubleRedrives === 0, actual: fmt(s.doubleRedrives) });
    musts.push({ id: 'storm.deadLettered', description: 'storm: events dead-lettered = 0', ok: s.deadLettered === 0, actual: fmt(s.deadLettered) });
    musts.push({
      id: 'storm.hottestKey',
      description: `storm: hottest partition key <= ${fmt(GOALS.stormHottestKeyWritesPerSecond)} write units/s (every table and index)`,
      ok: hot !== null && hot.writesPerSecond <= GOALS.stormHottestKeyWritesPerSecond,
      actual: hot ? `${fmt(hot.writesPerSecond)} (${hot.resource} ${hot.key}); ${fmt(s.throttledRequests)} requests throttled` : NOT_MEASURED,
    });
  }
  if (r.breakerFuzz) {
    const f = r.breakerFuzz;
    const where = `${f.worlds} worlds, seed ${f.seed}`;
    musts.push({
      id: 'breakerFuzz.worseOff',
      description: 'breaker fuzz: executions worse off with the breaker on than off (not recovered, given up earlier, redriven before the backoff) = 0',
      ok: f.worseOff === 0,
      actual: `${fmt(f.worseOff)} (a ${f.worseOffByRule.a}, b ${f.worseOffByRule.b}, c ${f.worseOffByRule.c}) in ${f.failingWorlds} of ${where}`,
    });
    musts.push({ id: 'breakerFuzz.lost', description: 'breaker fuzz: executions lost (either arm) = 0', ok: f.lost === 0, actual: `${fmt(f.lost)} (${where})` });
    musts.push({ id: 'breakerFuzz.double', description: 'breaker fuzz: failures redriven twice or beyond maxRedrives = 0', ok: f.doubleRedrives === 0, actual: `${fmt(f.doubleRedrives)} (${where})` });
    musts.push({ id: 'breakerFuzz.futile', description: 'breaker fuzz: futile redrives with the breaker on <= off', ok: f.futileOn <= f.futileOff, actual: `${fmt(f.futileOn)} vs ${fmt(f.futileOff)}` });
  }
  if (r.budget) {
    const b = r.budget;
    musts.push({ id: 'budget.maxInAnyHour', description: 'budget: redrives in any rolling hour <= maxRedrivesPerHour', ok: b.maxInAnyHour <= b.budget, actual: `${fmt(b.maxInAnyHour)} <= ${fmt(b.budget)}` });
    musts.push({ id: 'budget.lost', description: 'budget: failures lost = 0 (held over budget, then released and recovered)', ok: b.lost === 0, actual: `${fmt(b.lost)} (${fmt(b.recovered)} / ${fmt(b.failures)} recovered)` });
  }
  return musts.map((m) => ({ ...m, enforced: m.enforced ?? true }));
}

type Must = Omit<MustCheck, 'enforced'> & { enforced?: boolean };

/** The plain burst's MUSTs (issues 10 and 13), for the breaker-off burst and the default-settings one. */
function burstMusts(id: string, label: string, b: BurstResult, rateGoal: number, full: boolean): Must[] {
  return [
    {
      id: `${id}.rate`,
      description: `${label}: achieved rate / configured rate >= ${rateGoal}`,
      ok: b.achievedRateRatio >= rateGoal,
      actual: `${b.achievedRateRatio} (${b.achievedRate}/s of ${b.configuredRate}/s)`,
      // A few hundred events are mostly start-up (cold JIT, cold instances).
      enforced: full,
    },
    { id: `${id}.double`, description: `${label}: executions redriven twice = 0`, ok: b.doubleRedrives === 0, actual: String(b.doubleRedrives) },
    { id: `${id}.lost`, description: `${label}: failures lost = 0`, ok: b.lost === 0, actual: String(b.lost) },
    // Start-up reads (policies, kill switch, leases) weigh on a few hundred redrives: full scale only.
    {
      id: `${id}.dynamoCalls`,
      description: `${label}: DynamoDB calls per redrive <= ${GOALS.burstDynamoCallsPerRedrive}`,
      ok: b.dynamoCallsPerRedrive <= GOALS.burstDynamoCallsPerRedrive,
      actual: String(b.dynamoCallsPerRedrive),
      enforced: full,
    },
    {
      id: `${id}.limiterWrites`,
      description: `${label}: rate-limiter writes per redrive <= ${GOALS.burstLimiterWritesPerRedrive}`,
      ok: b.limiterWritesPerRedrive <= GOALS.burstLimiterWritesPerRedrive,
      actual: String(b.limiterWritesPerRedrive),
      enforced: full,
    },
  ];
}

/**
 * Issue 20: the state-scoped burst keeps the rate and reads each failure's history at most
 * once; its DynamoDB calls per redrive are reported (the extra cost of the ledger read a
 * state-scoped policy needs first), not held to the plain burst's budget.
 */
function burstStateScopedMusts(b: BurstStateScopedResult, full: boolean): Must[] {
  const label = 'burst, neverAtStates on every policy';
  // Results from before the ceiling was recorded: their ratio was to the configured rate.
  const ceiling = b.ceilingPerSecond ?? Math.min(b.configuredRate, b.historyRatePerSecond);
  const ratio = round(b.achievedRate / ceiling, 3);
  return [
    {
      id: 'burstStateScoped.rate',
      description: `${label}: achieved rate / min(configured rate, GetExecutionHistory rate) >= ${GOALS.burstStateScopedRateRatio}`,
      ok: ratio >= GOALS.burstStateScopedRateRatio,
      actual: `${ratio} (${b.achievedRate}/s of a ${ceiling}/s ceiling: configured ${b.configuredRate}/s, GetExecutionHistory at ${b.historyRatePerSecond}/s; ${round(b.achievedRate / b.configuredRate, 3)} of the configured rate; ${b.dynamoCallsPerRedrive} DynamoDB calls per redrive)`,
      enforced: full,
    },
    {
      id: 'burstStateScoped.historyCalls',
      description: `${label}: GetExecutionHistory calls per failure <= ${GOALS.historyCallsPerFailure}`,
      ok: b.historyCallsPerFailure <= GOALS.historyCallsPerFailure,
      actual: String(b.historyCallsPerFailure),
    },
    { id: 'burstStateScoped.double', description: `${label}: executions redriven twice = 0`, ok: b.doubleRedrives === 0, actual: String(b.doubleRedrives) },
    { id: 'burstStateScoped.lost', description: `${label}: failures lost = 0`, ok: b.lost === 0, actual: String(b.lost) },
    { id: 'burstStateScoped.deadLettered', description: `${label}: events dead-lettered = 0 (a full history rate hands the failure to the drain)`, ok: b.deadLettered === 0, actual: String(b.deadLettered) },
  ];
}
