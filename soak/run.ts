/**
 * Soak test: `npm run soak` (tsx soak/run.ts [--minutes N] [--rate N] [--seed N] [--no-faults]);
 * `npm run soak -- --minutes 10` for a longer one. Defaults: 4 minutes, 30 executions/s.
 * `.ci/run` runs it after `npm test`.
 *
 * For N minutes (default 4) it starts executions of nine state machines that fail and
 * recover in different ways (soak/world.ts; one of them runs for N/6 minutes, a burst of
 * them early on; one has its dependency down over 15-40 % of the traffic), and pushes every status-change event through
 * the local event bus into the real controller (lambda/event-path.ts, wired to the real
 * SDK clients): duplicated, reordered, some held back until they are stale, some
 * malformed, some of statuses no policy covers, some never delivered at all (the
 * reconciliation sweep must find those). A scheduled run (drain + sweep) every 2 s.
 * DynamoDB and Step Functions misbehave a little all along (throttles, dropped
 * connections, lost responses, 5xx) unless --no-faults. People act mid-traffic
 * (soak/people.ts): a pause and a resume, and a release of held failures by hand.
 *
 * The last 35 % of the time (at least 60 s) nothing new starts and things settle; a run
 * that has not settled 45 s after the N minutes fails. Then it checks, against the
 * stand-in's own record of the redrives it performed:
 *   - double redrives 0 (no failure redriven twice; no execution beyond its maxRedrives),
 *   - lost failures 0 (every failure ends redriven, skipped with a reason, pending, or in the DLQ;
 *     a failure still held at the end counts as lost: the soak's one outage, search-outage's,
 *     ends long before the end, and every other machine is flaky, not down),
 *   - failures left skipped `paused` 0 (the resume has them reconsidered),
 *   - execution input never in a log line, metric, owner event or ledger/audit item,
 *   - memory flat: the controller process's heap after warm-up vs at the end (forced GC
 *     before every once-a-second sample), with its slope.
 * Prints its figures as a table; exits 0 only if all of that holds.
 *
 * The simulated AWS runs in a child process so the memory measured is the controller's.
 * Not part of `npm test`.
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { PutCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DEFAULTS, type ControllerConfig } from '../lambda/config';
import { handleStatusChange } from '../lambda/event-path';
import { scheduledRun } from '../lambda/scheduled-drain';
import { wire } from '../lambda/wiring';
import { statusChangePattern } from '../contract/event-pattern';
import { LocalEventBus } from '../local/event-bus';
import type { StatusChangeEvent } from '../local/sfn';
import type { FromWorld, MachineName, ToWorld, WorldFaults } from './world';
import { MACHINES, SOAK_REGION } from './world';
import { CountingLog, CountingNotifier, SECRET, SummingMetrics, leaks } from './telemetry';
import { judge, readLedger } from './checks';
import { People } from './people';
import { gc, mb, median, samples, slope } from './memory';

// ---- options ------------------------------------------------------------------------------

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
  return v;
}

const MINUTES = option('minutes', 4);
const RATE = option('rate', 30); // executions started per second
const SEED = option('seed', 20231116);
const FAULTS = !process.argv.includes('--no-faults');
const TOTAL_MS = MINUTES * 60_000;
/** Time kept at the end for things to settle (late events, a sweep, backoffs, abandoned claims). */
const SETTLE_MS = Math.min(Math.max(30_000, TOTAL_MS * 0.35), 180_000);
if (TOTAL_MS - SETTLE_MS < 30_000) {
  // Less than half a minute of traffic would measure nothing (and no memory trend).
  console.error(`soak: --minutes ${MINUTES} leaves no time for traffic after the settle phase; use --minutes 2 or more`);
  process.exit(2);
}
/** Hard stop for the settle phase: the run never takes much longer than asked. */
const GRACE_MS = 45_000;
const INJECT_MS = TOTAL_MS - SETTLE_MS;
const WARMUP_MS = Math.max(30_000, INJECT_MS * 0.25);
const LATE_HOLD_MS = 25_000;
/** The long-running machine's runs take this long; one starts every second over the first fifth of the traffic. */
const LONG_RUN_MS = Math.max(30_000, TOTAL_MS / 6);
const LONG_STARTS_UNTIL_MS = INJECT_MS * 0.2;
/** search-outage's dependency is down over this share of the traffic (from, to). */
const OUTAGE_FROM = 0.15;
const OUTAGE_TO = 0.4;

const faults: WorldFaults = FAULTS
  ? { dynamoThrottleFirstAttempt: 0.01, dynamoDrop: 0.002, dynamoDropResponse: 0.001, redriveServerError: 0.01, describeThrottle: 0.01 }
  : { dynamoThrottleFirstAttempt: 0, dynamoDrop: 0, dynamoDropResponse: 0, redriveServerError: 0, describeThrottle: 0 };

/** Policies per machine (keys: exact ARNs or patterns). */
const POLICIES: Partial<Record<MachineName, (arn: string) => Record<string, unknown>>> = {
  'orders-flaky': (arn) => ({ stateMachine: arn.replace(/orders-flaky$/, 'orders-*'), maxRedrives: 3, intervalSeconds: 0 }),
  'billing-backoff': (arn) => ({ stateMachine: arn, maxRedrives: 3, intervalSeconds: 3, backoffRate: 2, jitter: 'FULL' }),
  'reports-recovers-later': (arn) => ({ stateMachine: arn, maxRedrives: 6, intervalSeconds: 2, backoffRate: 2, jitter: 'NONE' }),
  'ledger-runtime-error': (arn) => ({ stateMachine: arn, maxRedrives: 3, intervalSeconds: 0 }),
  'audit-dryrun': (arn) => ({ stateMachine: arn, maxRedrives: 3, intervalSeconds: 0, dryRun: true }),
  'batch-slow': (arn) => ({ stateMachine: arn, maxRedrives: 2, intervalSeconds: 0 }), // FAILED, TIMED_OUT only: ABORTED not covered
  // One redrive: a burst of failures on their last redrive (issue 18), held or redriven.
  'etl-long': (arn) => ({ stateMachine: arn, maxRedrives: 1, intervalSeconds: 0 }),
  // An outage of ~40 s: short probe intervals so the breaker opens (after its wait), probes and releases within the soak.
  'search-outage': (arn) => ({ stateMachine: arn, maxRedrives: 6, intervalSeconds: 2, backoffRate: 2, jitter: 'NONE', breaker: { probeIntervalSeconds: 5, maxProbeIntervalSeconds: 10 } }),
};
const MAX_REDRIVES: Record<MachineName, number> = {
  'orders-flaky': 3,
  'billing-backoff': 3,
  'reports-recovers-later': 6,
  'ledger-runtime-error': 0, // error-not-retryable: never redriven
  'legacy-nopolicy': 0,
  'audit-dryrun': 0,
  'batch-slow': 0, // ABORTED is not covered
  'etl-long': 1,
  'search-outage': 6,
};
const WEIGHTS: Record<MachineName, number> = {
  'orders-flaky': 8,
  'billing-backoff': 4,
  'reports-recovers-later': 2,
  'ledger-runtime-error': 1,
  'legacy-nopolicy': 1,
  'audit-dryrun': 1,
  'batch-slow': 2,
  'etl-long': 0, // started on its own schedule, not drawn
  'search-outage': 2,
};

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0) / 2 ** 32);
}
const random = prng(SEED);

// ---- the run ------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const t0 = Date.now();
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const world = fork(join(__dirname, 'world.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiters = new Map<string, (m: FromWorld) => void>();
  const ask = <T extends FromWorld['type']>(m: ToWorld, reply: T) =>
    new Promise<Extract<FromWorld, { type: T }>>((resolve) => {
      waiters.set(reply, resolve as (m: FromWorld) => void);
      world.send(m);
    });
  const counts = new Map<string, number>();
  const bump = (k: string, n = 1) => counts.set(k, (counts.get(k) ?? 0) + n);
  let onEvents: (events: StatusChangeEvent[]) => void = () => undefined;
  world.on('message', (m: FromWorld) => {
    if (m.type === 'events') onEvents(m.events);
    else waiters.get(m.type)?.(m);
  });

  const outage = { fromMs: t0 + INJECT_MS * OUTAGE_FROM, toMs: t0 + INJECT_MS * OUTAGE_TO };
  const ready = await ask({ type: 'setup', seed: SEED, faults, longRunMs: LONG_RUN_MS, outage }, 'ready');
  process.env.AWS_REGION = SOAK_REGION;
  process.env.AWS_ACCESS_KEY_ID ??= 'soak';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'soak';

  const config: ControllerConfig = {
    ...DEFAULTS,
    policyTableName: 'soak-policies',
    ledgerTableName: 'soak-ledger',
    eventBusName: undefined,
    policyCacheTtlSeconds: 5,
    staleEventAfterSeconds: 20,
    claimTimeoutSeconds: 15,
    maxRateWaitMs: 2_000,
    describeRatePerSecond: 15,
    reconcileEveryMinutes: 0.5,
    reconcileLookbackHours: 1,
  };
  const log = new CountingLog();
  const metrics = new SummingMetrics();
  const notifier = new CountingNotifier();
  const dynamodb = new DynamoDBClient({ endpoint: ready.dynamodb });
  const sfn = new SFNClient({ endpoint: ready.sfn });
  const { SdkStepFunctions } = await import('../lambda/act/step-functions');
  const deps = wire(config, { log, metrics, dynamodb, notifier, stepFunctions: new SdkStepFunctions(sfn) });

  // Policies, written the way people do (plain items).
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: ready.dynamodbDirect }));
  for (const [name, make] of Object.entries(POLICIES) as Array<[MachineName, (arn: string) => Record<string, unknown>]>) {
    await doc.send(new PutCommand({ TableName: config.policyTableName, Item: make(ready.machines[name]) }));
  }

  // The bus: duplicates and reorders; Lambda's two retries, then the DLQ.
  const dlq = new Set<string>();
  /** Last time a failure went undelivered (dropped, or parked in the DLQ): a sweep must start after it. */
  let lastDropAt = 0;
  let lastSweepStartedAt = 0;
  const bus = new LocalEventBus(
    statusChangePattern({ statuses: ['FAILED', 'TIMED_OUT', 'ABORTED'] }),
    async (e) => {
      bump('deliveries to the controller');
      return handleStatusChange(e, deps);
    },
    {
      duplicateRate: 0.1,
      maxDelayMs: 30,
      random,
      onDeadLetter: (e) => {
        const arn = (e as StatusChangeEvent).detail?.executionArn;
        if (typeof arn === 'string') dlq.add(arn);
        bump('events parked in the DLQ');
        lastDropAt = Date.now();
      },
    },
  );

  const held: Array<{ at: number; event: StatusChangeEvent }> = [];
  const machineNames = new Map(Object.entries(ready.machines).map(([n, a]) => [a, n as MachineName]));
  onEvents = (events) => {
    for (const e of events) {
      bump('status-change events emitted');
      const status = e.detail.status;
      if (status === 'RUNNING' || status === 'SUCCEEDED') {
        if (!bus.put(e)) bump('events filtered out by the rule (RUNNING, SUCCEEDED)');
        // The rule misconfigured for a moment: some reach the controller anyway.
        if (random() < 0.02) {
          bump('non-covered statuses delivered anyway');
          void handleStatusChange(structuredClone(e), deps).catch(() => bump('direct deliveries failed'));
        }
        continue;
      }
      const machine = machineNames.get(e.detail.stateMachineArn);
      if (status === 'FAILED' && machine && POLICIES[machine] && random() < 0.01) {
        bump('events never delivered (left to the sweep)');
        lastDropAt = Date.now();
        continue;
      }
      if (random() < 0.05) {
        bump('events delivered late (stale)');
        held.push({ at: Date.now() + LATE_HOLD_MS, event: e });
      } else {
        bus.put(e);
      }
      if (random() < 0.03) {
        bump('malformed copies delivered');
        const bad = structuredClone(e) as unknown as { time: string; detail: Record<string, unknown> };
        const breakIt = [
          () => (bad.detail.redriveCount = -1),
          () => delete bad.detail.executionArn,
          () => (bad.detail.stateMachineArn = `${bad.detail.stateMachineArn}-other`),
          () => (bad.time = 'yesterday'),
          () => (bad.detail.cause = 'x'.repeat(40_000)),
        ];
        breakIt[Math.floor(random() * breakIt.length)]();
        bus.put(bad);
      }
    }
  };

  // Memory samples, once a second, after a full GC.
  const sampler = setInterval(() => {
    gc();
    const m = process.memoryUsage();
    samples.push({ t: Date.now() - t0, rss: m.rss, heap: m.heapUsed });
    bus.delivered.splice(0); // the bus keeps what it delivered: a test convenience, not the controller's
    const now = Date.now();
    while (held.length && held[0].at <= now) bus.put(held.shift()!.event);
  }, 1_000);

  // The schedule: drain + sweep every 2 s, one at a time.
  let scheduleErrors = 0;
  let scheduleRuns = 0;
  let stopSchedule = false;
  const schedule = (async () => {
    while (!stopSchedule) {
      try {
        const runStartedAt = Date.now();
        const r = await scheduledRun(deps);
        if (r.sweep) lastSweepStartedAt = runStartedAt;
        scheduleRuns++;
        bump('drain: pending redrives carried out', r.drain.outcomes.length);
        if (r.sweep) {
          bump('sweeps');
          bump('sweep: failures found that no event reported', r.sweep.unknownToLedger);
        }
      } catch {
        scheduleErrors++;
      }
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
  })();

  // People act mid-traffic: pause and resume around the middle, a release by hand later.
  const people = new People(deps, ready.machines);
  // The release comes mid-outage (a person releasing too early): what it redrives fails again and is held again.
  people.start(t0, { pauseAtMs: INJECT_MS * 0.5, resumeAtMs: INJECT_MS * 0.6, releaseAtMs: INJECT_MS * 0.3 });

  // Start executions until the injection phase ends.
  const machines = Object.keys(MACHINES) as MachineName[];
  const totalWeight = machines.reduce((s, m) => s + WEIGHTS[m], 0);
  const pick = (): MachineName => {
    let r = random() * totalWeight;
    for (const m of machines) if ((r -= WEIGHTS[m]) < 0) return m;
    return machines[0];
  };
  let started = 0;
  let ticks = 0;
  const stops: Array<Promise<unknown>> = [];
  const starter = setInterval(() => {
    const elapsed = Date.now() - t0;
    if (elapsed >= INJECT_MS) return;
    const long = elapsed < LONG_STARTS_UNTIL_MS && ticks++ % 10 === 0 ? 1 : 0;
    for (let i = 0; i < RATE / 10 + long; i++) {
      const machine = i === 0 && long ? 'etl-long' : pick();
      const n = ++started;
      const input = JSON.stringify({ order: n, password: SECRET });
      void sfn
        .send(new StartExecutionCommand({ stateMachineArn: ready.machines[machine], name: `soak-${n}`, input }))
        .then((out) => {
          if (machine === 'batch-slow' && random() < 0.5) {
            const stop = new Promise((resolve) => setTimeout(resolve, 1_000)).then(() => sfn.send(new StopExecutionCommand({ executionArn: out.executionArn! })));
            stops.push(stop.catch(() => bump('StopExecution failed')));
          }
        })
        .catch(() => bump('StartExecution failed'));
    }
  }, 100);

  const progress = setInterval(() => {
    const s = samples[samples.length - 1];
    process.stdout.write(
      `  ${Math.round((Date.now() - t0) / 1000)}s: ${started} executions, ${counts.get('deliveries to the controller') ?? 0} deliveries, ` +
        `${metrics.total('Redrives')} redrives, heap ${s ? mb(s.heap).toFixed(1) : '?'} MB\n`,
    );
  }, 15_000);

  await new Promise((resolve) => setTimeout(resolve, INJECT_MS));
  clearInterval(starter);
  const injectionEndedAt = Date.now() - t0;
  const injectionSamples = samples.filter((s) => s.t >= WARMUP_MS && s.t <= injectionEndedAt);
  await Promise.all(stops);

  // Settle: late events out, nothing running, nothing in flight, backlog drained.
  const deadline = t0 + TOTAL_MS + GRACE_MS;
  let settled = false;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // A failure whose event was never delivered is only found by a sweep that started after it.
    // Failures recorded as paused are reconsidered by a sweep that started after the resume.
    if (held.length || bus.busy || lastSweepStartedAt <= Math.max(lastDropAt, people.resumedAt)) continue;
    const status = await ask({ type: 'status' }, 'status');
    if (status.running > 0) continue;
    const backlog = await deps.ledger.backlog();
    if (backlog.count === 0) {
      settled = true;
      break;
    }
  }
  stopSchedule = true;
  await schedule;
  people.stop();
  const peopleDone = await people.finished();
  clearInterval(progress);
  clearInterval(sampler);
  const endedAt = Date.now() - t0;

  // ---- checks -------------------------------------------------------------------------------
  const summary = await ask({ type: 'summary' }, 'summary');
  const { failures: ledger, items: ledgerItems } = await readLedger(ready.dynamodbDirect, config.ledgerTableName);
  const { outcomes, lost, double, overLimit, leftPaused, examples } = judge(summary.executions, ledger, { dlq, maxRedrives: MAX_REDRIVES, releasedByHand: people.releasedByHand });

  const after = samples.filter((s) => s.t >= WARMUP_MS);
  const warm = median(after.slice(0, 10).map((s) => s.heap));
  const end = median(after.slice(-10).map((s) => s.heap));
  const peakRss = Math.max(...samples.map((s) => s.rss));
  const peakHeap = Math.max(...samples.map((s) => s.heap));
  const heapSlope = slope(injectionSamples);
  const growth = end - warm;
  // Flat: the heap at the end within 10 MB or 25 % of the heap after warm-up.
  const memoryFlat = growth <= Math.max(10 * 1024 * 1024, warm * 0.25);
  const leaked = leaks.log + leaks.metrics + leaks.owners + leaks.ledger;

  const executions = summary.executions.length;
  const rows: Array<[string, string | number]> = [
    ['duration (s)', (endedAt / 1000).toFixed(0)],
    ['injection / settle (s)', `${(injectionEndedAt / 1000).toFixed(0)} / ${((endedAt - injectionEndedAt) / 1000).toFixed(0)}`],
    ['faults', FAULTS ? 'on' : 'off'],
    ['executions started', executions],
    ...[...counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, v] as [string, number]),
    ['redrives performed (stand-in)', summary.executions.reduce((s, e) => s + e.redrives.length, 0)],
    ['scheduled runs (drain + sweep)', scheduleRuns],
    ['scheduled runs that failed', scheduleErrors],
    ['ledger/audit items', ledgerItems],
    ['log lines (info/warn/error)', `${log.counts.get('info') ?? 0}/${log.counts.get('warn') ?? 0}/${log.counts.get('error') ?? 0}`],
    ['owner events', [...notifier.counts].map(([k, v]) => `${k} ${v}`).join(', ') || 0],
    ...Object.entries(summary.calls)
      .filter(([k]) => k.includes(':'))
      .map(([k, v]) => [`Step Functions fault ${k}`, v] as [string, number]),
    ...Object.entries(summary.proxy)
      .filter(([k]) => !k.endsWith(':pass'))
      .map(([k, v]) => [`DynamoDB fault ${k}`, v] as [string, number]),
    ...[...outcomes].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [`final: ${k}`, v] as [string, number]),
    ...people.figures(),
    ...breakerRows(log, machineNames, t0),
    ['LOST failures', lost],
    ['failures left paused after the resume', leftPaused],
    ['DOUBLE redrives', double],
    ['executions over maxRedrives', overLimit],
    ['input found in logs/metrics/owner events/ledger', leaked],
    ['settled before the deadline', settled ? 'yes' : 'NO'],
    ['heap after warm-up / at end (MB)', `${mb(warm).toFixed(1)} / ${mb(end).toFixed(1)}`],
    ['heap slope after warm-up (MB/min)', heapSlope.toFixed(2)],
    ['peak heap / peak RSS (MB)', `${mb(peakHeap).toFixed(1)} / ${mb(peakRss).toFixed(1)}`],
    ['memory flat (end - warm-up <= max(10 MB, 25 %))', memoryFlat ? 'yes' : 'NO'],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log(`\nsoak: ${MINUTES} min, ${RATE} executions/s, seed ${SEED}`);
  console.log(`| ${'figure'.padEnd(width)} | value |`);
  console.log(`| ${'-'.repeat(width)} | --- |`);
  for (const [k, v] of rows) console.log(`| ${k.padEnd(width)} | ${v} |`);
  if (examples.length) console.log(`\nexamples:\n  ${examples.join('\n  ')}`);
  if (log.errors.length) console.log(`\nfirst error log lines:\n  ${log.errors.slice(0, 5).join('\n  ')}`);

  world.send({ type: 'stop' } satisfies ToWorld);
  dynamodb.destroy();
  sfn.destroy();
  const invariants = lost === 0 && double === 0 && overLimit === 0 && leftPaused === 0 && peopleDone;
  const ok = invariants && leaked === 0 && settled && memoryFlat;
  console.log(`\n${ok ? 'PASS' : 'FAIL'}: invariants ${invariants ? 'hold' : 'BROKEN'}, ${leaked === 0 ? 'no leaks' : 'LEAKS'}, memory ${memoryFlat ? 'flat' : 'GROWING'}${settled ? '' : ', did NOT settle'}`);
  return ok ? 0 : 1;
}

/** Per state machine: when its breakers opened and closed (s from the start) and why. Only search-outage has an outage. */
function breakerRows(log: CountingLog, machineNames: ReadonlyMap<string, MachineName>, t0: number): Array<[string, string]> {
  const byMachine = new Map<string, string[]>();
  for (const t of log.breakerTransitions) {
    const name = machineNames.get(t.stateMachineArn) ?? t.stateMachineArn;
    const list = byMachine.get(name) ?? [];
    list.push(`${t.opened ? 'open' : 'close'} ${Math.round((t.at - t0) / 1000)}s${t.opened ? '' : ` (${t.reason})`}`);
    byMachine.set(name, list);
  }
  return [...byMachine].map(([name, list]) => [`breaker: ${name}`, list.length > 12 ? `${list.slice(0, 12).join(', ')} ... (${list.length})` : list.join(', ')]);
}

let unhandled = 0;
process.on('unhandledRejection', (e) => {
  unhandled++;
  console.error('unhandled rejection:', e);
});

main().then(
  (code) => process.exit(unhandled ? 1 : code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
