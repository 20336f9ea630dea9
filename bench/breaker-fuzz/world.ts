/**
 * Random worlds for the breaker's differential fuzzer (issue 18): state machines whose
 * dependency has outages, executions that recover, fail forever (poisoned), fail on bad
 * input or fail a few times and then succeed (flaky), owners' policies from the default to
 * long schedules, and people acting mid-outage. A world is a pure function of
 * (seed, worldIndex): the same pair always gives the same world, and both arms (breaker off
 * and on) run that one world.
 */
import type { ControllerConfig } from '../../lambda/config';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
/** The simulated clock starts here (a Monday, after RedriveExecution's launch). */
export const WORLD_START = Date.UTC(2026, 2, 9, 14, 0, 0);
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
/** A world ends when everything is settled, or this long after it started. */
export const HORIZON_MS = 15 * DAY;

export const GENERIC_ERRORS = ['Error', 'Exception', 'Lambda.Unknown', 'States.TaskFailed'] as const;
export const SPECIFIC_ERRORS = ['Payments.Unavailable', 'Inventory.Timeout', 'Lambda.ServiceException', 'Ledger.Throttled', 'Search.Down'] as const;

export interface Window {
  readonly from: number;
  readonly to: number;
}

export interface Machine {
  readonly name: string;
  readonly arn: string;
  /** What a run fails with while its dependency is out (also a poisoned execution's error). */
  readonly errorName: string;
  /** Outage failures end TIMED_OUT (States.Timeout: the dependency hangs) instead of FAILED. */
  readonly timesOut: boolean;
  /** Its dependency's outages (shared dependencies share them). */
  readonly outages: readonly Window[];
}

export type ExecutionKind = 'normal' | 'poison' | 'bad-input' | 'flaky';

export interface Execution {
  readonly index: number;
  readonly machine: number;
  readonly name: string;
  readonly arn: string;
  readonly startAt: number;
  /** How long one run of its Task takes (bad input: 1 s). */
  readonly runMs: number;
  readonly kind: ExecutionKind;
  /** flaky: runs that fail before one succeeds (1 to 4). */
  readonly flakyFailures: number;
  readonly flakyError: string;
}

export type PersonAction =
  | { readonly at: number; readonly kind: 'pause' }
  | { readonly at: number; readonly kind: 'resume' }
  | { readonly at: number; readonly kind: 'release-machine'; readonly machine: number }
  | { readonly at: number; readonly kind: 'release-execution'; readonly execution: number }
  | { readonly at: number; readonly kind: 'put-policy'; readonly item: Record<string, unknown>; readonly what: string }
  | { readonly at: number; readonly kind: 'delete-policy'; readonly key: string }
  | { readonly at: number; readonly kind: 'deploy'; readonly config: Partial<ControllerConfig>; readonly what: string };

export interface World {
  readonly seed: number;
  readonly index: number;
  readonly family: string;
  readonly description: string;
  readonly machines: readonly Machine[];
  readonly executions: readonly Execution[];
  /** Policy items as written at the start (`stateMachine` key included). */
  readonly policies: readonly Record<string, unknown>[];
  readonly actions: readonly PersonAction[];
}

// ---- seeded randomness -----------------------------------------------------------------

/** mulberry32 over a 32-bit state seeded from (seed, index). */
export class Prng {
  private state: number;
  constructor(seed: number, index: number) {
    let h = 0x9e3779b9 ^ seed;
    h = Math.imul(h ^ (index + 0x6d2b79f5), 0x85ebca6b);
    h ^= h >>> 13;
    this.state = h >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
  /** Log-uniform integer: group sizes and durations spread over orders of magnitude. */
  logInt(min: number, max: number): number {
    return Math.round(Math.exp(Math.log(min) + this.next() * (Math.log(max) - Math.log(min))));
  }
}

// ---- the generator ---------------------------------------------------------------------

export const FAMILIES = ['outage', 'lone-long-schedule', 'poisoned', 'flaky-busy', 'burst-max1', 'long-runs', 'mixed'] as const;
export type Family = (typeof FAMILIES)[number];

const smArn = (name: string) => `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${name}`;
const execArn = (machine: string, name: string) => `arn:aws:states:${REGION}:${ACCOUNT}:execution:${machine}:${name}`;
const mins = (ms: number) => `${Math.round(ms / MINUTE)}m`;

/** A policy: the default, a long schedule, or maxRedrives 1. */
function policyFor(r: Prng, key: string, style: 'default' | 'long' | 'max1' | 'any'): { item: Record<string, unknown>; what: string } {
  const s = style === 'any' ? r.pick(['default', 'default', 'long', 'max1'] as const) : style;
  if (s === 'default') return { item: { stateMachine: key }, what: 'default' };
  if (s === 'max1') return { item: { stateMachine: key, maxRedrives: 1 }, what: 'max1' };
  const item: Record<string, unknown> = {
    stateMachine: key,
    maxRedrives: r.int(4, 10),
    intervalSeconds: r.pick([60, 300, 600, 1800]),
    backoffRate: r.pick([1, 1.5, 2]),
    maxDelaySeconds: r.pick([3600, 7200, 14400]),
    jitter: r.pick(['NONE', 'FULL']),
  };
  if (r.chance(0.4)) item.onExhausted = 'hold';
  return { item, what: `long(${item.maxRedrives}x${item.intervalSeconds}s*${item.backoffRate},${item.jitter}${item.onExhausted ? ',hold' : ''})` };
}

/** 0 to `max` outages in a row with gaps, starting within the first `within` ms. */
function outages(r: Prng, count: number, maxMs: number): Window[] {
  const found: Window[] = [];
  let at = WORLD_START + r.int(5, 90) * MINUTE;
  for (let i = 0; i < count; i++) {
    const length = r.logInt(2 * MINUTE, maxMs);
    found.push({ from: at, to: at + length });
    at += length + r.logInt(5 * MINUTE, 3 * HOUR);
  }
  return found;
}

interface Plan {
  machines: number;
  sizes: () => number;
  outageCount: () => number;
  maxOutageMs: number;
  runMs: () => number;
  poison: number;
  badInput: number;
  flaky: number;
  policy: 'default' | 'long' | 'max1' | 'any';
  spreadMs: number;
  shareErrors: number;
}

function planFor(family: Family, r: Prng): Plan {
  const short = () => r.logInt(1_000, 60_000);
  const any = () => (r.chance(0.2) ? r.logInt(60_000, 2 * HOUR) : short());
  switch (family) {
    case 'outage':
      return { machines: r.int(1, 4), sizes: () => r.logInt(1, 300), outageCount: () => r.int(1, 3), maxOutageMs: 6 * HOUR, runMs: short, poison: 0.01, badInput: 0.03, flaky: 0.02, policy: 'any', spreadMs: 4 * HOUR, shareErrors: 0.5 };
    case 'lone-long-schedule':
      return { machines: r.int(1, 2), sizes: () => r.int(1, 3), outageCount: () => r.int(1, 2), maxOutageMs: 6 * HOUR, runMs: any, poison: 0.1, badInput: 0, flaky: 0, policy: 'long', spreadMs: 2 * HOUR, shareErrors: 0.3 };
    case 'poisoned':
      return { machines: r.int(1, 2), sizes: () => r.int(1, 12), outageCount: () => (r.chance(0.3) ? 1 : 0), maxOutageMs: 2 * HOUR, runMs: short, poison: 0.3, badInput: 0.1, flaky: 0.1, policy: 'any', spreadMs: 3 * HOUR, shareErrors: 0.5 };
    case 'flaky-busy':
      return { machines: 1, sizes: () => r.logInt(100, 500), outageCount: () => 0, maxOutageMs: 0, runMs: short, poison: 0.005, badInput: 0.01, flaky: 0.5, policy: 'default', spreadMs: 2 * HOUR, shareErrors: 0 };
    case 'burst-max1':
      return { machines: r.int(1, 2), sizes: () => r.logInt(20, 400), outageCount: () => 1, maxOutageMs: 20 * MINUTE, runMs: () => r.logInt(1_000, 10_000), poison: 0, badInput: 0.02, flaky: 0, policy: 'max1', spreadMs: 30 * MINUTE, shareErrors: 0.5 };
    case 'long-runs':
      return { machines: r.int(1, 3), sizes: () => r.logInt(1, 60), outageCount: () => r.int(0, 2), maxOutageMs: 6 * HOUR, runMs: () => r.logInt(10 * MINUTE, 2 * HOUR), poison: 0.05, badInput: 0.02, flaky: 0.1, policy: 'any', spreadMs: 4 * HOUR, shareErrors: 0.5 };
    default:
      return { machines: r.int(1, 4), sizes: () => r.logInt(1, 500), outageCount: () => r.int(0, 3), maxOutageMs: 6 * HOUR, runMs: any, poison: 0.03, badInput: 0.03, flaky: 0.1, policy: 'any', spreadMs: 6 * HOUR, shareErrors: 0.5 };
  }
}

/** Most executions in one world (keeps 500 worlds × 2 arms within minutes). */
const MAX_EXECUTIONS = 700;

export function generateWorld(seed: number, index: number): World {
  const r = new Prng(seed, index);
  // Families in turn, so every run of a few dozen worlds covers each of them.
  const family = FAMILIES[index % FAMILIES.length];
  const plan = planFor(family, r);

  // Dependencies: each machine calls one; machines may share one (same outages, same error).
  const machines: Machine[] = [];
  for (let m = 0; m < plan.machines; m++) {
    const name = `sm${index}-${m}`;
    const shared = m > 0 && r.chance(plan.shareErrors) ? machines[r.int(0, m - 1)] : undefined;
    const errorName = shared?.errorName ?? (r.chance(0.4) ? r.pick(GENERIC_ERRORS) : r.pick(SPECIFIC_ERRORS));
    const own = shared ? shared.outages : outages(r, plan.outageCount(), Math.max(2 * MINUTE, plan.maxOutageMs));
    machines.push({ name, arn: smArn(name), errorName, timesOut: !shared && r.chance(0.1), outages: own });
  }

  const executions: Execution[] = [];
  const sizes = machines.map(() => plan.sizes());
  machines.forEach((machine, m) => {
    const first = machine.outages[0];
    // Around the first outage when there is one, else spread over the plan's window.
    const from = first ? first.from - 20 * MINUTE : WORLD_START;
    const spread = first ? Math.max(plan.spreadMs, first.to - first.from + 40 * MINUTE) : plan.spreadMs;
    const machineRun = plan.runMs();
    for (let i = 0; i < sizes[m] && executions.length < MAX_EXECUTIONS; i++) {
      const roll = r.next();
      const kind: ExecutionKind = roll < plan.poison ? 'poison' : roll < plan.poison + plan.badInput ? 'bad-input' : roll < plan.poison + plan.badInput + plan.flaky ? 'flaky' : 'normal';
      const name = `e${i}`;
      executions.push({
        index: executions.length,
        machine: m,
        name,
        arn: execArn(machine.name, name),
        startAt: Math.max(WORLD_START, from + Math.floor(r.next() * spread)),
        runMs: kind === 'bad-input' ? 1_000 : r.chance(0.7) ? machineRun : plan.runMs(),
        kind,
        flakyFailures: r.int(1, 4),
        flakyError: r.chance(0.5) ? machine.errorName : r.pick(GENERIC_ERRORS),
      });
    }
  });

  // Policies: a '*' item, and per machine an item of its own half the time.
  const policies: Record<string, unknown>[] = [];
  const whats: string[] = [];
  const star = policyFor(r, '*', plan.policy);
  policies.push(star.item);
  whats.push(`*=${star.what}`);
  machines.forEach((machine) => {
    if (!r.chance(0.5)) return;
    const p = policyFor(r, machine.arn, plan.policy);
    policies.push(p.item);
    whats.push(`${machine.name}=${p.what}`);
  });

  const actions = personActions(r, machines, executions, policies);
  const description = [
    family,
    `sizes [${sizes.join(',')}]`,
    `errors [${machines.map((m) => m.errorName + (m.timesOut ? '/timeout' : '')).join(',')}]`,
    `outages [${machines.map((m) => m.outages.map((o) => `${mins(o.from - WORLD_START)}+${mins(o.to - o.from)}`).join('&') || '-').join(',')}]`,
    `kinds ${kindCounts(executions)}`,
    `policies ${whats.join(' ')}`,
    actions.length ? `people [${actions.map((a) => actionLabel(a)).join(', ')}]` : 'no people',
  ].join('; ');
  return { seed, index, family, description, machines, executions, policies, actions };
}

function kindCounts(executions: readonly Execution[]): string {
  const counts: Record<string, number> = {};
  for (const e of executions) counts[e.kind] = (counts[e.kind] ?? 0) + 1;
  return Object.entries(counts).map(([k, n]) => `${k}:${n}`).join(',');
}

export function actionLabel(a: PersonAction): string {
  const at = `@${mins(a.at - WORLD_START)}`;
  switch (a.kind) {
    case 'release-machine':
      return `release sm${a.machine}${at}`;
    case 'release-execution':
      return `release e#${a.execution}${at}`;
    case 'put-policy':
      return `policy ${a.what}${at}`;
    case 'delete-policy':
      return `delete ${a.key.split(':').pop()}${at}`;
    case 'deploy':
      return `deploy ${a.what}${at}`;
    default:
      return `${a.kind}${at}`;
  }
}

/** People acting mid-outage (about half the worlds). */
function personActions(r: Prng, machines: readonly Machine[], executions: readonly Execution[], policies: readonly Record<string, unknown>[]): PersonAction[] {
  if (!r.chance(0.5) || executions.length === 0) return [];
  const actions: PersonAction[] = [];
  const outage = machines.flatMap((m) => m.outages)[0];
  const around = () => (outage ? outage.from + r.int(10, Math.max(11, (outage.to - outage.from) / MINUTE + 60)) * MINUTE : WORLD_START + r.int(10, 240) * MINUTE);
  const count = r.int(1, 3);
  for (let i = 0; i < count; i++) {
    const kind = r.pick(['pause', 'release', 'policy', 'policy', 'deploy'] as const);
    const at = around() + r.int(0, 59) * 1000;
    if (kind === 'pause') {
      actions.push({ at, kind: 'pause' });
      if (r.chance(0.5)) actions.push({ at: at + r.int(2, 30) * MINUTE, kind: r.chance(0.5) ? 'release-machine' : 'release-execution', ...releaseTarget(r, machines, executions) } as PersonAction);
      actions.push({ at: at + r.logInt(10, 180) * MINUTE, kind: 'resume' });
    } else if (kind === 'release') {
      actions.push({ at, ...(r.chance(0.6) ? { kind: 'release-machine' as const, machine: r.int(0, machines.length - 1) } : { kind: 'release-execution' as const, execution: r.int(0, executions.length - 1) }) });
    } else if (kind === 'policy') {
      const base = r.pick(policies);
      const key = base.stateMachine as string;
      const edit = r.pick(['lower', 'disable', 'delete', 'breaker-off'] as const);
      if (edit === 'delete') actions.push({ at, kind: 'delete-policy', key });
      else if (edit === 'lower') actions.push({ at, kind: 'put-policy', item: { ...base, maxRedrives: r.int(0, 1) }, what: `${key === '*' ? '*' : 'sm'} maxRedrives lowered` });
      else if (edit === 'disable') actions.push({ at, kind: 'put-policy', item: { ...base, enabled: false }, what: `${key === '*' ? '*' : 'sm'} disabled` });
      else actions.push({ at, kind: 'put-policy', item: { ...base, breaker: { enabled: false } }, what: `${key === '*' ? '*' : 'sm'} breaker off` });
    } else {
      const config = r.pick([
        { reconcileEveryMinutes: 15, what: 'reconcile 15m' },
        { staleEventAfterSeconds: 30, what: 'stale 30s' },
        { claimTimeoutSeconds: 60, what: 'claim 60s' },
        { reconcileLookbackHours: 6, what: 'lookback 6h' },
      ]);
      const { what, ...rest } = config;
      actions.push({ at, kind: 'deploy', config: rest, what });
    }
  }
  return actions.sort((a, b) => a.at - b.at);
}

function releaseTarget(r: Prng, machines: readonly Machine[], executions: readonly Execution[]) {
  return { machine: r.int(0, machines.length - 1), execution: r.int(0, executions.length - 1) };
}
