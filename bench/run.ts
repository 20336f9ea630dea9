/**
 * `npm run bench`: cold start, burst, burst held behind the breaker, two outages and a
 * trickle of independent failures on the local stand-in; writes bench/results/latest.json,
 * latest.md and outage.svg, prints the Markdown, and exits non-zero if a MUST fails.
 *
 * Options:
 *   --quick               small scale (smoke run; not the reference numbers)
 *   --storm=tenth         the storm at 10,000 failures arriving as fast (1,818 a second) instead of
 *                         the issue's 100,000 in 60 s (about 30 minutes of one core here)
 *   --merge               keep the sections of the last bench/results/latest.json that this run
 *                         does not measure (with --only: re-run a part, e.g. --only=storm)
 *   --rerender            measure nothing: recompute the MUSTs of bench/results/latest.json with this
 *                         version's checks and rewrite latest.json and latest.md
 *   --only=a,b            any of coldstart, burst, burstdefault, burstheld, outage (both), outage30, outage120, trickle, storm, breakerFuzz,
 *                         budget, burstStateScoped, whatIf
 *   --seed=N --worlds=N --world=I   breakerFuzz: its seed (default DEFAULT_SEED, printed), how many worlds
 *                         (default 500), or only world I (a reproduction; --seed N works too)
 *   --only=whatIf         redrivectl what-if over a seeded history (bench/what-if.ts; with --merge to keep the rest)
 *   --synth=auto|always|never   cdk synth before the cold-start measurement (auto: unless cdk.out is fresh)
 *   --serial              run the simulated-time jobs in this process, one after another, after
 *                         the real-clock sections
 *   --jobs=N              simulated-time jobs run at once in worker processes (default: CPUs)
 *
 * Environment: BENCH_DYNAMO=in-process runs dynalite inside this process for the burst
 * (see harness.ts for why it normally has its own process).
 */
import { fork } from 'node:child_process';
import { BREAKER_DEFAULTS } from '../contract/policy-schema';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SEED, DEFAULT_WORLDS, runBreakerFuzz } from './breaker-fuzz/fuzz';
import type { BreakerFuzzResult } from './breaker-fuzz/report';
import { type BurstOptions, type BurstResult, runBurst } from './burst';
import { type BurstHeldResult, runBurstHeld } from './burst-held';
import { BUDGET_SCENARIO, type BudgetResult } from './budget';
import { type BurstStateScopedResult, runBurstStateScoped } from './burst-state-scoped';
import { controllerCost } from './cost';
import { type ColdStartResult, runColdStart } from './cold-start';
import { dynamoModeFromEnv } from './harness';
import { OUTAGE_SCENARIOS, OUTAGE_START, type OutageName, type OutageRunResult, type OutageScenario } from './outage';
import { outageComparisonChart } from './outage-chart';
import { searchPolicies } from './policy-search';
import { REDRIVERS, type RedriverKey } from './redrivers';
import { type BenchMeta, type BenchResults, checkMusts, type OutageComparison, type TrickleSection } from './report';
import { runWhatIf, type WhatIfResult } from './what-if';
import { renderMarkdown } from './report-markdown';
import { runJob, type SimJob, type WorkerMessage } from './sim-worker';
import { STORM_MODEL, STORM_SCENARIO, STORM_TENTH, type StormResult } from './storm';
import { round } from './stats';
import { TRICKLE_SCENARIO, type TrickleRunResult, type TrickleScenario } from './trickle';

const RESULTS_DIR = join(__dirname, 'results');

/** This machine's CPUs: the default number of simulated-time jobs at once, and of fuzzer workers. */
const CPUS = os.availableParallelism?.() ?? os.cpus().length;

/** The default policy's first probe interval (the trickle's delay budget). */
export const PROBE_INTERVAL_SECONDS = BREAKER_DEFAULTS.probeIntervalSeconds;

export const SCALES = {
  full: {
    burst: { events: 5000, ratePerSecond: 100, workers: 20 },
    outage: OUTAGE_SCENARIOS,
    trickle: TRICKLE_SCENARIO,
    // The issue's storm: 100,000 failures in 60 s, the longest job (about 20 minutes of one
    // core here, from the bench's start; the other simulated jobs share the second core).
    storm: STORM_SCENARIO,
    budget: BUDGET_SCENARIO,
  },
  quick: {
    burst: { events: 600, ratePerSecond: 100, workers: 20 },
    // Fewer state machines, so each (state machine, error) group sees failures as often as at full scale.
    outage: {
      outage30: { ...OUTAGE_SCENARIOS.outage30, executions: 200, stateMachines: 2 },
      outage120: { ...OUTAGE_SCENARIOS.outage120, executions: 200, stateMachines: 2 },
    },
    trickle: { ...TRICKLE_SCENARIO, minutes: 15 },
    // A twentieth of the failures and a tenth of the instances, arriving as fast (1,818 a
    // second: starts over 2.75 s, each failing after 5 s), so the hot keys are as hot.
    storm: { ...STORM_SCENARIO, failures: 5_000, stormSeconds: 7.75, instances: 10 },
    budget: { ...BUDGET_SCENARIO, budget: 20, failures: 60 },
  },
} as const;

export const MODELS = {
  outage: [
    'State machine: Pass "Prepare" → Task "Call"; a redrive resumes at the failed Task (the Pass is not re-run).',
    'Executions start uniformly over the outage. During the outage a run fails with Lambda.ServiceException after 20 s (the Task\'s own attempts on the dead downstream); after it, a run succeeds in 2 s. Bad input (5%) fails at once with States.Runtime on every run.',
    'Status-change events reach their target 1 s after the execution stops. The naive redriver is that target and redrives at once; auto-redrive handles the event and its scheduled drain runs every simulated minute (defaults: 8 at a time, 1000 max, 50 s budget, DescribeExecution at 5/s).',
    'breaker off / breaker on: the same default policy, with the breaker turned off for the policy / as shipped.',
    'State transitions: each state entered counts 1 and each redrive counts 1 more (AWS bills redrives as transitions; "Execution redrives are considered as state transitions", https://docs.aws.amazon.com/step-functions/latest/dg/redrive-executions.html; the exact count per redrive is not documented). Initial run = 2, each redrive = 2. In-state Retry attempts would multiply every failed run the same way for both redrivers, so they are left out.',
    'Stand-in API quotas: AWS us-east-1 defaults (AWS_DEFAULT_THROTTLES), on the simulated clock.',
    'futileRedrives counts FAILED events after a redrive (every redrive that failed again, bad input and probes included); recovered counts retryable executions that end SUCCEEDED; lost counts executions that end FAILED with no recorded skip, hold or pending redrive and no dead-lettered event (the naive redriver records nothing).',
  ],
  storm: STORM_MODEL,
  trickle: [
    'Same state machine shape, delivery and drain as the outage. Runs start uniformly over the window; a failing run fails after 20 s; every other run and every redrive succeeds after 2 s.',
    'Delay = from the failed run\'s stop to the RedriveExecution that led to success, per recovered execution.',
  ],
};

function parseArgs(argv: readonly string[]) {
  const get = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : undefined);
  const int = (name: string) => (get(name) === undefined ? undefined : Number(get(name)));
  const only = get('only')?.split(',').map((s) => s.trim().toLowerCase());
  const synth = get('synth');
  const synthMode: 'auto' | 'always' | 'never' = synth === 'always' || synth === 'never' ? synth : 'auto';
  const jobs = Number(get('jobs'));
  return {
    scale: argv.includes('--quick') ? ('quick' as const) : ('full' as const),
    stormTenth: get('storm') === 'tenth',
    merge: argv.includes('--merge'),
    rerender: argv.includes('--rerender'),
    only: (...parts: string[]) => !only || parts.some((p) => only.includes(p)),
    synth: synthMode,
    serial: argv.includes('--serial'),
    jobs: Number.isInteger(jobs) && jobs > 0 ? jobs : CPUS,
    fuzz: { seed: int('seed') ?? DEFAULT_SEED, worlds: int('worlds') ?? DEFAULT_WORLDS, world: int('world') },
  };
}

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

/**
 * Runs one simulated-time job in a child process (tsx loader inherited from this process),
 * at the lowest CPU priority (sim-worker.ts): it takes only the CPU that the real-clock
 * sections beside it leave idle.
 */
function runJobInProcess(job: SimJob, label: string): Promise<{ result: unknown; cpuSeconds: number }> {
  return new Promise((resolve, reject) => {
    // The full storm keeps 100,000 executions, their ledger and audit records in memory,
    // beyond Node's default heap (7 GB of RSS before local/dynamodb.ts closed dynalite's
    // iterators; the tenth storm went from 1.24 GB to 0.68 GB with that fix).
    const execArgv = job.world === 'storm' ? [...process.execArgv, '--max-old-space-size=12288'] : process.execArgv;
    const child = fork(join(__dirname, 'sim-worker.ts'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
    let settled = false;
    child.on('message', (m: WorkerMessage) => {
      if (m.progress) log(m.progress);
      if (m.result) {
        settled = true;
        resolve({ result: m.result, cpuSeconds: m.cpuSeconds ?? 0 });
      }
      if (m.error) {
        settled = true;
        reject(new Error(`${label}: ${m.error}`));
      }
    });
    child.on('exit', (code) => {
      if (!settled) reject(new Error(`${label}: worker exited with ${code}`));
    });
    child.send(job);
  });
}

/** Runs the jobs, at most `concurrency` at a time, in the order given; results in that order. */
async function runJobs(jobs: ReadonlyArray<{ job: SimJob; label: string }>, options: { serial: boolean; concurrency: number }): Promise<unknown[]> {
  const results: unknown[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      const started = Date.now();
      const { result, cpuSeconds } = options.serial ? { result: await runJob(jobs[i].job, log), cpuSeconds: undefined } : await runJobInProcess(jobs[i].job, jobs[i].label);
      results[i] = result;
      log(`${jobs[i].label}: done in ${((Date.now() - started) / 1000).toFixed(1)} s${cpuSeconds === undefined ? '' : ` (CPU ${cpuSeconds.toFixed(1)} s)`}`);
    }
  };
  await Promise.all(Array.from({ length: options.serial ? 1 : Math.max(1, options.concurrency) }, worker));
  return results;
}

interface Planned {
  readonly key: string;
  readonly job: SimJob;
}

/** The simulated-time jobs: each outage with each redriver, the trickle with the breaker off and on. */
function plan(args: ReturnType<typeof parseArgs>, scale: (typeof SCALES)[keyof typeof SCALES]): Planned[] {
  const redrivers: RedriverKey[] = ['naive', 'breakerOff', 'breakerOn'];
  const planned: Planned[] = [];
  // Longest first, so the pool ends with short jobs.
  if (args.only('storm')) planned.push({ key: 'storm', job: { world: 'storm', scenario: args.stormTenth ? STORM_TENTH : scale.storm } });
  for (const name of ['outage120', 'outage30'] as const) {
    if (!args.only('outage', name)) continue;
    for (const r of redrivers) planned.push({ key: `${name}.${r}`, job: { world: 'outage', spec: REDRIVERS[r], scenario: scale.outage[name] } });
  }
  if (args.only('trickle')) {
    for (const r of redrivers.filter((k) => k !== 'naive')) planned.push({ key: `trickle.${r}`, job: { world: 'trickle', spec: REDRIVERS[r], scenario: scale.trickle } });
  }
  if (args.only('budget')) planned.push({ key: 'budget', job: { world: 'budget', scenario: scale.budget } });
  return planned;
}

export function outageComparison(name: OutageName, scenario: OutageScenario, runs: Partial<Record<RedriverKey, OutageRunResult>>): OutageComparison {
  const { naive, breakerOff, breakerOn } = runs;
  if (!naive || !breakerOff) throw new Error(`${name}: the naive and breaker-off runs are required`);
  return {
    scenario: { ...scenario, name, outageStart: new Date(OUTAGE_START).toISOString() },
    naive,
    breakerOff,
    breakerOn,
    futileRatio: breakerOn ? round(breakerOn.futileRedrives / Math.max(1, naive.futileRedrives), 4) : null,
    policySearch: searchPolicies(scenario),
  };
}

export function trickleSection(scenario: TrickleScenario, breakerOff: TrickleRunResult, breakerOn: TrickleRunResult | undefined): TrickleSection {
  return {
    scenario,
    breakerOff,
    breakerOn,
    addedMedianDelaySeconds: breakerOn ? round(breakerOn.medianDelaySeconds - breakerOff.medianDelaySeconds, 1) : null,
    probeIntervalSeconds: PROBE_INTERVAL_SECONDS,
  };
}

/**
 * The controller's cost from a burst's figures: `cost` from the burst under the default
 * settings (what users run), `costBreakerOff` from the breaker-off burst, for comparison.
 */
export function burstCosts(r: Pick<BenchResults, 'burst' | 'burstDefault'>): Pick<BenchResults, 'cost' | 'costBreakerOff'> {
  const of = (b: BurstResult | undefined) =>
    // One invocation per failure: the rule forwards SUCCEEDED events only of executions
    // redriven twice or more (contract/event-pattern.ts); the burst's are first redrives.
    b && controllerCost({ redriven: b.redriven, dynamoCallsByCommand: b.dynamoCalls.byCommand, invocationsPerRedrive: b.events / Math.max(1, b.redriven), handlerMs: b.handlerMs.p50 });
  return { cost: of(r.burstDefault), costBreakerOff: of(r.burst) };
}

/**
 * --rerender: the last run's measurements, this version's MUSTs and report. The costs are
 * recomputed from the bursts (older files computed `cost` from the breaker-off burst).
 */
function rerender(): void {
  const previous = JSON.parse(readFileSync(join(RESULTS_DIR, 'latest.json'), 'utf8')) as BenchResults;
  const recomputed = { ...previous, ...burstCosts(previous) };
  writeResults({ ...recomputed, musts: checkMusts(recomputed) });
}

function writeResults(results: BenchResults): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, 'latest.json'), JSON.stringify(results, null, 2) + '\n');
  const markdown = renderMarkdown(results);
  writeFileSync(join(RESULTS_DIR, 'latest.md'), markdown);
  process.stdout.write(markdown);
  const failed = results.musts.filter((m) => !m.ok && m.enforced);
  log(`results in bench/results/; ${failed.length ? `MUST FAILED: ${failed.map((f) => f.id).join(', ')}` : 'all MUSTs pass'}`);
  process.exitCode = failed.length ? 1 : 0;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.rerender) return rerender();
  const loadAverageAtStart = os.loadavg().map((l) => round(l, 2));
  if (loadAverageAtStart[0] > CPUS) {
    log(`load average ${loadAverageAtStart.join(' / ')} is above the CPU count: the real-clock bursts will be slowed by other work`);
  }
  const scale = SCALES[args.scale];
  const durationsMs: Record<string, number> = {};
  const started = Date.now();
  const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    try {
      return await fn();
    } finally {
      durationsMs[name] = Date.now() - t;
    }
  };

  // The simulated-time jobs measure simulated time only, so they start first, in worker
  // processes at the lowest CPU priority: they use what the real-clock sections below leave
  // idle and yield to them whenever those need the CPU. The storm alone is about 20 minutes
  // of one core; started after the real-clock sections, it made the bench overrun its 30
  // minutes (docs/benchmarks.md, "Time budget"). Longest first (plan()).
  const planned = plan(args, scale);
  const runPlanned = () => timed('simulations', () => runJobs(planned.map((p) => ({ job: p.job, label: p.key })), { serial: args.serial, concurrency: args.jobs }));
  const inBackground = !args.serial && planned.length > 0 ? runPlanned() : undefined;
  inBackground?.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
  if (inBackground) log(`simulated time: ${planned.map((p) => p.key).join(', ')}, ${args.jobs} at a time in worker processes at the lowest CPU priority, beside the real-clock sections`);

  // The real-clock sections, one after another: cold start, the bursts, what-if.
  let coldStart: ColdStartResult | undefined;
  if (args.only('coldstart')) coldStart = await timed('coldStart', () => runColdStart({ synth: args.synth, progress: log }));

  let burst: BurstResult | undefined;
  if (args.only('burst')) {
    const options: BurstOptions = { ...scale.burst, quotaScale: 0.5, dynamo: dynamoModeFromEnv(), progress: log };
    burst = await timed('burst', () => runBurst(options));
    log(`burst: ${burst.redriven} redriven in ${(burst.timeToRedriveAllMs / 1000).toFixed(1)} s, ratio ${burst.achievedRateRatio}`);
  }
  // The same burst under the breaker as shipped (no breaker field): what users run.
  let burstDefault: BurstResult | undefined;
  if (args.only('burstdefault')) {
    burstDefault = await timed('burstDefault', () => runBurst({ ...scale.burst, quotaScale: 0.5, dynamo: dynamoModeFromEnv(), breakerFields: {}, progress: log }));
    log(`burst, default settings: ${burstDefault.redriven} redriven, ${burstDefault.held ?? 0} held, ratio ${burstDefault.achievedRateRatio}`);
  }
  let burstHeld: BurstHeldResult | undefined;
  if (args.only('burstheld')) {
    burstHeld = await timed('burstHeld', () => runBurstHeld({ ...scale.burst, quotaScale: 0.5, dynamo: dynamoModeFromEnv(), progress: log }));
    log(`burst held: ${burstHeld.held} held, ${burstHeld.released} released in ${(burstHeld.releaseMs / 1000).toFixed(1)} s, ratio ${burstHeld.releaseRateRatio}`);
  }
  // The same burst with neverAtStates on the policy: every failure's state read from its history.
  let burstStateScoped: BurstStateScopedResult | undefined;
  if (args.only('burststatescoped')) {
    burstStateScoped = await timed('burstStateScoped', () => runBurstStateScoped({ ...scale.burst, quotaScale: 0.5, dynamo: dynamoModeFromEnv(), progress: log }));
    log(`burst, state-scoped: ${burstStateScoped.redriven} redriven, ratio ${burstStateScoped.achievedRateRatio}, ${burstStateScoped.historyCallsPerFailure} history calls per failure`);
  }

  // redrivectl what-if over a seeded history: real clock, paced by its own defaults.
  let whatIf: WhatIfResult | undefined;
  if (args.only('whatif')) {
    whatIf = await timed('whatIf', () => runWhatIf({ progress: log }));
    log(`whatIf: ${whatIf.failures} failures in ${whatIf.seconds} s, ${whatIf.listCalls} ListExecutions, ${whatIf.describeCalls} DescribeExecution`);
  }

  let breakerFuzz: BreakerFuzzResult | undefined;
  if (args.only('breakerfuzz')) {
    const command = `npm run bench -- --only=breakerFuzz --seed=${args.fuzz.seed}${args.fuzz.world !== undefined ? ` --world=${args.fuzz.world}` : ` --worlds=${args.fuzz.worlds}`}`;
    const fuzzJobs = args.serial ? 1 : Math.min(args.jobs, CPUS);
    const fuzz = await timed('breakerFuzz', () => runBreakerFuzz({ ...args.fuzz, jobs: fuzzJobs, progress: log, command }));
    log(fuzz.text);
    breakerFuzz = fuzz.totals;
  }

  const byKey = new Map<string, unknown>();
  if (planned.length > 0) {
    if (args.serial) log(`simulated time: ${planned.map((p) => p.key).join(', ')}, one after another`);
    else log('waiting for the simulated-time jobs');
    const results = await (inBackground ?? runPlanned());
    planned.forEach((p, i) => byKey.set(p.key, results[i]));
  }
  const runsOf = <T>(prefix: string) =>
    Object.fromEntries([...byKey].filter(([k]) => k.startsWith(`${prefix}.`)).map(([k, v]) => [k.slice(prefix.length + 1), v as T])) as Partial<Record<RedriverKey, T>>;
  const outages: Partial<Record<OutageName, OutageComparison>> = {};
  for (const name of ['outage30', 'outage120'] as const) {
    if (byKey.has(`${name}.naive`)) outages[name] = outageComparison(name, scale.outage[name], runsOf<OutageRunResult>(name));
  }
  const trickleRuns = runsOf<TrickleRunResult>('trickle');
  const trickle = trickleRuns.breakerOff ? trickleSection(scale.trickle, trickleRuns.breakerOff, trickleRuns.breakerOn) : undefined;
  const storm = byKey.get('storm') as StormResult | undefined;
  const budget = byKey.get('budget') as BudgetResult | undefined;
  if (budget) log(`budget: at most ${budget.maxInAnyHour} redrives in any hour (budget ${budget.budget}), ${budget.lost} lost, last redrive after ${budget.hoursToLastRedrive} h`);
  durationsMs.total = Date.now() - started;

  const cpus = os.cpus();
  const meta: BenchMeta = {
    date: new Date().toISOString(),
    node: process.version,
    platform: os.platform(),
    arch: os.arch(),
    nproc: CPUS,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGiB: round(os.totalmem() / 1024 ** 3, 1),
    loadAverageAtStart,
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    scale: args.scale,
    durationsMs,
    quota: burst?.quota ?? null,
    harness: [
      'Step Functions: the local stand-in (local/sfn) in this process; its call log and redrive log are the source of truth for calls, throttles, latencies and double redrives.',
      `Burst: real clock; dynalite in ${burst?.dynamo === 'in-process' ? 'this process (BENCH_DYNAMO=in-process)' : 'its own process, since DynamoDB is a remote service: sharing this process\'s event loop with 20 controller instances and the stand-in, dynalite serialises the rate limiter\'s single item over several loop turns per update and the controller reached only ~0.7 of 100/s (BENCH_DYNAMO=in-process reproduces it)'}. Lambda's async retries of a throwing handler are immediate here (none were needed).`,
      'Outage and trickle: simulated clock (SimClock) shared by the stand-in and the controller, driven by a discrete-event loop (bench/sim-world.ts) that moves time only when no request is in flight; the controller\'s rate-limit sleeps are simulated timers. SDK requests go to dynalite and the stand-in in process without sockets (bench/in-memory-http.ts) to keep wall time down; nothing above the transport changes. Each (world, redriver) pair runs in its own worker process.',
      'Real-time numbers (bursts, cold start, what-if) share this machine with whatever else runs on it (see the load average above), and with the simulated-time jobs, which run beside them from the start in worker processes at the lowest CPU priority (they measure simulated time only).',
      'dynalite does not return the item on a failed condition (ReturnValuesOnConditionCheckFailure), so each lost race for a rate-limiter lease item costs one more GetItem than on DynamoDB.',
    ],
    models: MODELS,
  };
  const measured = { burst, burstDefault, burstHeld, ...outages, trickle, storm, coldStart, breakerFuzz, budget, burstStateScoped, whatIf };
  const kept = args.merge ? previousSections(measured) : {};
  const sections = { ...kept, ...definedOnly(measured), meta: Object.keys(kept).length ? { ...meta, keptFromPreviousRun: { date: previousDate(), sections: Object.keys(kept) } } : meta };
  // The costs follow the bursts in the file, whichever run measured them.
  const partial = { ...sections, ...burstCosts(sections) };
  const results: BenchResults = { ...partial, musts: checkMusts(partial) };

  const charted = [outages.outage30, outages.outage120].filter((o): o is OutageComparison => o !== undefined);
  mkdirSync(RESULTS_DIR, { recursive: true });
  if (charted.length > 0) writeFileSync(join(RESULTS_DIR, 'outage.svg'), outageComparisonChart(charted));
  log(`done in ${(durationsMs.total / 1000).toFixed(1)} s`);
  writeResults(results);
}

/** Sections of the last results file that this run did not measure (--merge). */
function previousSections(measured: Record<string, unknown>): Record<string, unknown> {
  const file = join(RESULTS_DIR, 'latest.json');
  if (!existsSync(file)) return {};
  const previous = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const derived = new Set(['meta', 'musts', 'cost', 'costBreakerOff']);
  return Object.fromEntries(Object.entries(previous).filter(([k, v]) => !derived.has(k) && v !== undefined && measured[k] === undefined));
}

function previousDate(): string {
  return (JSON.parse(readFileSync(join(RESULTS_DIR, 'latest.json'), 'utf8')) as { meta?: { date?: string } }).meta?.date ?? 'unknown';
}

function definedOnly<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 2;
  });
}
