/**
 * `npm run bench`: cold start, burst and outage on the local stand-in; writes
 * bench/results/latest.json, latest.md and outage.svg, prints the Markdown, and exits
 * non-zero if a MUST fails.
 *
 * Options:
 *   --quick               small scale (smoke run; not the reference numbers)
 *   --only=a,b            any of burst, outage, coldstart
 *   --synth=auto|always|never   cdk synth before the cold-start measurement (auto: unless cdk.out is fresh)
 *   --serial              run the outage simulations in this process, one after another
 *
 * Environment: BENCH_DYNAMO=in-process runs dynalite inside this process for the burst
 * (see harness.ts for why it normally has its own process).
 */
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { type BurstOptions, type BurstResult, runBurst } from './burst';
import { outageChart } from '../local/timeline-chart';
import { type ColdStartResult, runColdStart } from './cold-start';
import { dynamoModeFromEnv } from './harness';
import { OUTAGE_SCENARIO, OUTAGE_START, type OutageRunResult, type OutageScenario, type RedriverSpec, runOutage } from './outage';
import { searchPolicies } from './policy-search';
import { type BenchMeta, type BenchResults, checkMusts, type OutageSection, renderMarkdown } from './report';
import { round } from './stats';

const RESULTS_DIR = join(__dirname, 'results');

export const NAIVE_SPEC: RedriverSpec = { kind: 'naive', label: 'naive' };
export const DEFAULT_POLICY_SPEC: RedriverSpec = {
  kind: 'auto-redrive',
  label: 'default policy',
  policy: { stateMachine: '*' },
  note: 'POLICY_DEFAULTS: 3 redrives, 60 s × 2^n up to 3600 s, FULL jitter, default nonRetryableErrors',
};
/** The policy that meets the outage MUST; see the policy search in the report for why. */
export const OUTAGE_TUNED_SPEC: RedriverSpec = {
  kind: 'auto-redrive',
  label: 'outage-tuned',
  policy: {
    stateMachine: '*',
    maxRedrives: 6,
    intervalSeconds: 120,
    backoffRate: 2,
    maxDelaySeconds: 3600,
    jitter: 'NONE',
    description: 'Outage-tuned: delays 120, 240, 480, 960, 1920 s cover downstream outages of up to ~1 h; no jitter, so recovery does not depend on luck',
  },
  note: 'maxRedrives 6, interval 120 s doubling, max 3600 s, jitter NONE; failures are already spread by their own stop times',
};

const SCALES = {
  full: { burst: { events: 5000, ratePerSecond: 100, workers: 20 }, outage: OUTAGE_SCENARIO },
  quick: { burst: { events: 600, ratePerSecond: 100, workers: 20 }, outage: { ...OUTAGE_SCENARIO, executions: 200 } },
} as const;

const OUTAGE_MODEL = [
  'State machine: Pass "Prepare" → Task "Call"; a redrive resumes at the failed Task (the Pass is not re-run).',
  'During the outage a run fails with Lambda.ServiceException after 20 s (the Task\'s own attempts on the dead downstream); after it, a run succeeds in 2 s. Bad input (5%) fails at once with States.Runtime on every run.',
  'Status-change events reach their target 1 s after the execution stops. The naive redriver is that target and redrives at once; auto-redrive handles the event and its scheduled drain runs every simulated minute (defaults: 8 at a time, 1000 max, 50 s budget, DescribeExecution at 5/s).',
  'State transitions: each state entered counts 1 and each redrive counts 1 more (AWS bills redrives as transitions; "Execution redrives are considered as state transitions", https://docs.aws.amazon.com/step-functions/latest/dg/redrive-executions.html; the exact count per redrive is not documented). Initial run = 2, each redrive = 2. In-state Retry attempts would multiply every failed run the same way for both redrivers, so they are left out.',
  'Stand-in API quotas: AWS us-east-1 defaults (AWS_DEFAULT_THROTTLES), on the simulated clock.',
  'futileRedrives counts FAILED events after a redrive (every redrive that failed again, bad input included); recovered counts retryable executions that end SUCCEEDED.',
];

function parseArgs(argv: readonly string[]) {
  const get = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const only = get('only')?.split(',').map((s) => s.trim().toLowerCase());
  const synth = get('synth');
  const synthMode: 'auto' | 'always' | 'never' = synth === 'always' || synth === 'never' ? synth : 'auto';
  return {
    scale: argv.includes('--quick') ? ('quick' as const) : ('full' as const),
    only: (part: string) => !only || only.includes(part),
    synth: synthMode,
    serial: argv.includes('--serial'),
  };
}

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

/** Runs one outage simulation in a child process (tsx loader inherited from this process). */
function runOutageInProcess(spec: RedriverSpec, scenario: OutageScenario): Promise<OutageRunResult> {
  return new Promise((resolve, reject) => {
    const child = fork(join(__dirname, 'outage-worker.ts'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let settled = false;
    child.on('message', (m: { progress?: string; result?: OutageRunResult; error?: string }) => {
      if (m.progress) log(m.progress);
      if (m.result) {
        settled = true;
        resolve(m.result);
      }
      if (m.error) {
        settled = true;
        reject(new Error(`outage ${spec.label}: ${m.error}`));
      }
    });
    child.on('exit', (code) => {
      if (!settled) reject(new Error(`outage ${spec.label}: worker exited with ${code}`));
    });
    child.send({ spec, scenario });
  });
}

export async function runOutageComparison(scenario: OutageScenario, serial: boolean): Promise<OutageSection> {
  const specs = [NAIVE_SPEC, DEFAULT_POLICY_SPEC, OUTAGE_TUNED_SPEC];
  let results: OutageRunResult[];
  if (serial) {
    results = [];
    for (const spec of specs) results.push(await runOutage(spec, scenario, { progress: log }));
  } else {
    results = await Promise.all(specs.map((spec) => runOutageInProcess(spec, scenario)));
  }
  const [naive, autoDefault, tuned] = results;
  return {
    scenario: { ...scenario, outageStart: new Date(OUTAGE_START).toISOString() },
    model: OUTAGE_MODEL,
    naive,
    autoRedrive: { ...tuned, policyName: OUTAGE_TUNED_SPEC.label },
    autoRedriveDefault: autoDefault,
    futileRatio: round(tuned.futileRedrives / Math.max(1, naive.futileRedrives), 4),
    policySearch: searchPolicies(scenario),
  };
}

async function main(): Promise<void> {
  const loadAverageAtStart = os.loadavg().map((l) => round(l, 2));
  const args = parseArgs(process.argv.slice(2));
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

  // Quiet machine first: cold start and the real-time burst; then the simulated outage,
  // whose runs share the CPUs.
  let coldStart: ColdStartResult | undefined;
  if (args.only('coldstart')) coldStart = await timed('coldStart', () => runColdStart({ synth: args.synth, progress: log }));

  let burst: BurstResult | undefined;
  if (args.only('burst')) {
    const options: BurstOptions = { ...scale.burst, quotaScale: 0.5, dynamo: dynamoModeFromEnv(), progress: log };
    burst = await timed('burst', () => runBurst(options));
    log(`burst: ${burst.redriven} redriven in ${(burst.timeToRedriveAllMs / 1000).toFixed(1)} s, ratio ${burst.achievedRateRatio}`);
  }

  let outage: OutageSection | undefined;
  if (args.only('outage')) {
    log(`outage: ${scale.outage.executions} executions, naive vs auto-redrive (default and outage-tuned policies)${args.serial ? '' : ', in parallel processes'}`);
    outage = await timed('outage', () => runOutageComparison(scale.outage, args.serial));
  }
  durationsMs.total = Date.now() - started;

  const cpus = os.cpus();
  const meta: BenchMeta = {
    date: new Date().toISOString(),
    node: process.version,
    platform: os.platform(),
    arch: os.arch(),
    nproc: os.availableParallelism?.() ?? cpus.length,
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
      'Outage: simulated clock (SimClock) shared by the stand-in and the controller, driven by a discrete-event loop (bench/sim-world.ts) that moves time only when no request is in flight; the controller\'s rate-limit sleeps are simulated timers. SDK requests go to dynalite and the stand-in in process without sockets (bench/in-memory-http.ts) to keep wall time down; nothing above the transport changes.',
      'Real-time numbers (burst, cold start) share this machine with whatever else runs on it; see the load average above.',
      'dynalite does not return the item on a failed condition (ReturnValuesOnConditionCheckFailure), so each idle rate-limiter acquire costs one more GetItem than on DynamoDB.',
    ],
  };
  const partial = { meta, burst, outage, coldStart };
  const results: BenchResults = { ...partial, musts: checkMusts(partial) };

  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, 'latest.json'), JSON.stringify(results, null, 2) + '\n');
  const markdown = renderMarkdown(results);
  writeFileSync(join(RESULTS_DIR, 'latest.md'), markdown);
  if (outage) {
    const panel = (r: OutageRunResult, title: string) => ({
      title,
      subtitle: `${r.recovered}/${r.retryable} recovered · ${r.futileRedrives.toLocaleString('en-US')} futile · ${r.badInputRedrives.toLocaleString('en-US')} bad-input redrives`,
      timeline: r.timeline,
    });
    writeFileSync(
      join(RESULTS_DIR, 'outage.svg'),
      outageChart(
        [panel(outage.naive, 'naive redriver'), panel(outage.autoRedriveDefault, 'auto-redrive, default policy'), panel(outage.autoRedrive, `auto-redrive, ${outage.autoRedrive.policyName}`)],
        outage.scenario.outageMinutes,
      ),
    );
  }
  process.stdout.write(markdown);
  const failed = results.musts.filter((m) => !m.ok && m.enforced);
  log(`done in ${(durationsMs.total / 1000).toFixed(1)} s; results in bench/results/; ${failed.length ? `MUST FAILED: ${failed.map((f) => f.id).join(', ')}` : 'all MUSTs pass'}`);
  process.exitCode = failed.length ? 1 : 0;
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 2;
  });
}
