/**
 * Burst: thousands of FAILED events arrive within one second (a downstream blip hit many
 * executions at once). Real clock, real sleeps.
 *
 * - The stand-in throttles RedriveExecution with a token bucket scaled from AWS's quota.
 * - EventBridge puts every event on Lambda's asynchronous-invoke queue within the second;
 *   a pool of `workers` concurrent "Lambda instances" (each its own `wire()`, sharing the
 *   tables) takes events off that queue one at a time, as reserved concurrency would. A
 *   handler that throws is retried twice, then the event goes to the dead-letter list
 *   (Lambda waits a minute or two between retries; here they are immediate).
 * - Latency is measured from the moment an event is put on the queue to the moment the
 *   stand-in accepted the RedriveExecution call (its own clock, its own redrive log).
 *
 * Creating the executions (and their FAILED events) happens before the timed part, with
 * StartExecution unthrottled so setup stays short.
 */
import { handleStatusChange, type Outcome } from '../lambda/event-path';
import type { Wired } from '../lambda/wiring';
import { AWS_DEFAULT_THROTTLES, type StatusChangeEvent, type ThrottleConfig } from '../local/sfn';
import { type DynamoMode, scaleThrottle, startBenchEnv } from './harness';
import { BREAKER_OFF_FIELDS } from './redrivers';
import { percentile, round, rssSampler } from './stats';

export interface BurstOptions {
  readonly events: number;
  readonly ratePerSecond: number;
  readonly workers: number;
  /** Events are put on the queue evenly over this window. @default 1000 */
  readonly emitWindowMs?: number;
  /** Scale applied to AWS's documented us-east-1 quotas on the stand-in. @default 0.5 */
  readonly quotaScale?: number;
  readonly dynamo?: DynamoMode;
  /** Breaker fields of the policy (`{ stateMachine: '*', intervalSeconds: 0, maxRedrives: 1 }` plus these). @default BREAKER_OFF_FIELDS */
  readonly breakerFields?: Record<string, unknown>;
  /** More fields of the policy item (bench/burst-state-scoped.ts: neverAtStates). @default none */
  readonly policyFields?: Record<string, unknown>;
  /** The state machine, whose failing Task is BURST_RESOURCE. @default one Task, `Call` */
  readonly definition?: string;
  readonly progress?: (message: string) => void;
}

export interface BurstResult {
  readonly events: number;
  readonly workers: number;
  readonly configuredRate: number;
  /** The policy item the burst ran under (absent in older results: breaker off). */
  readonly policy?: Record<string, unknown>;
  readonly quota: {
    readonly awsUsEast1: ThrottleConfig;
    readonly scale: number;
    readonly standIn: ThrottleConfig;
    readonly note: string;
  };
  readonly dynamo: DynamoMode;
  readonly setupMs: number;
  readonly emitSpanMs: number;
  readonly redriven: number;
  /** Failures still held behind an open breaker when the burst was handled (absent in older results: 0). */
  readonly held?: number;
  readonly lost: number;
  readonly doubleRedrives: number;
  readonly deadLettered: number;
  readonly handlerRetries: number;
  readonly timeToRedriveAllMs: number;
  readonly achievedRate: number;
  readonly achievedRateRatio: number;
  /** Rate between the first and the last redrive (without the start-up of cold instances). */
  readonly steadyRate: number;
  readonly maxRedrivesInAnySecond: number;
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
  /** The same latencies for a perfect limiter at exactly the configured rate, FIFO, zero processing time. */
  readonly latencyFloorMs: { readonly p50: number; readonly p99: number };
  /** How long one handler invocation took (what Lambda bills), including its rate-limit wait. */
  readonly handlerMs: { readonly p50: number; readonly p99: number };
  readonly awsCallsPerRedrive: number;
  readonly stepFunctionsCalls: Record<string, number>;
  readonly throttlingExceptions: number;
  readonly dynamoCallsPerRedrive: number;
  /** Writes (UpdateItem/PutItem) to rate-limiter items per redrive. */
  readonly limiterWritesPerRedrive: number;
  readonly dynamoCalls: { readonly total: number; readonly byCommand: Record<string, number>; readonly byPurpose: Record<string, number> };
  readonly actions: Record<string, number>;
  readonly ledger: Record<string, number>;
  readonly executionsSucceededAfterRedrive: number;
  readonly peakRssBytes: number;
  readonly cpuMs: number;
  readonly dynamoProcess?: { readonly cpuMs: number; readonly maxRssBytes: number };
  readonly logWarnings: number;
  readonly logErrors: number;
  readonly problems: readonly string[];
}

const RESOURCE = 'arn:aws:lambda:us-east-1:123456789012:function:burst-target';
export const BURST_RESOURCE = RESOURCE;
const DEFINITION = JSON.stringify({ StartAt: 'Call', States: { Call: { Type: 'Task', Resource: RESOURCE, End: true } } });

export async function runBurst(options: BurstOptions): Promise<BurstResult> {
  const progress = options.progress ?? (() => undefined);
  const scale = options.quotaScale ?? 0.5;
  const emitWindowMs = options.emitWindowMs ?? 1000;
  const scaled = (op: keyof typeof AWS_DEFAULT_THROTTLES) => scaleThrottle(AWS_DEFAULT_THROTTLES[op], scale);
  const env = await startBenchEnv({
    dynamo: options.dynamo,
    config: { redriveRatePerSecond: options.ratePerSecond },
    standIn: {
      // StartExecution is left unthrottled: it is setup, not part of the measurement.
      throttle: {
        RedriveExecution: scaled('RedriveExecution'),
        DescribeExecution: scaled('DescribeExecution'),
        ListExecutions: scaled('ListExecutions'),
        StopExecution: scaled('StopExecution'),
        GetExecutionHistory: scaled('GetExecutionHistory'),
      },
    },
  });
  try {
    // `burst` turns the breaker off to measure the redrive path itself (bench/burst-held.ts
    // holds the same burst); `burstDefault` leaves it as shipped, the configuration users run.
    const breakerFields = options.breakerFields ?? BREAKER_OFF_FIELDS;
    const breakerText = Object.keys(breakerFields).length ? 'breaker off' : 'breaker as shipped';
    const policy = { stateMachine: '*', intervalSeconds: 0, maxRedrives: 1, ...breakerFields, ...options.policyFields, description: `bench: redrive at once, once, ${breakerText}` };
    await env.putPolicy(policy);

    // --- setup (not timed): executions that fail once, then succeed when redriven -------------
    const setupStarted = Date.now();
    const sm = await env.createMachine('burst', options.definition ?? DEFINITION, { [RESOURCE]: { kind: 'fail-times', times: 1, error: 'Lambda.ServiceException', cause: 'Lambda returned 503' } });
    const arns = await env.startExecutions(sm, Array.from({ length: options.events }, (_, i) => ({ name: `burst-${i}`, input: { orderId: i } })));
    await env.standIn.idle();
    const failed = env.standIn.events.filter((e) => e.detail.status === 'FAILED');
    if (failed.length !== options.events) throw new Error(`setup: expected ${options.events} FAILED events, got ${failed.length}`);
    const setupMs = Date.now() - setupStarted;
    progress(`burst: ${arns.length} failed executions ready in ${(setupMs / 1000).toFixed(1)} s; delivering through ${options.workers} instances at ${options.ratePerSecond}/s`);

    // --- timed part ---------------------------------------------------------------------------
    const instances: Wired[] = Array.from({ length: options.workers }, () => env.controller());
    const callsBefore = env.standIn.calls.length;
    const queue: Array<{ event: StatusChangeEvent; emittedAt: number }> = [];
    const emittedAt = new Map<string, number>();
    let head = 0;
    let emitted = 0;
    const wake: Array<() => void> = [];
    const handlerMs: number[] = [];
    const actions: Record<string, number> = {};
    const deadLetters: Array<{ arn: string; error: string }> = [];
    let handlerRetries = 0;

    const rss = rssSampler(100);
    const cpuBefore = process.cpuUsage();
    const t0 = Date.now();
    const emitting = new Promise<void>((resolve) => {
      const emit = () => {
        const due = Math.min(failed.length, Math.ceil(((Date.now() - t0 + 1) / emitWindowMs) * failed.length));
        while (emitted < due) {
          const at = Date.now();
          const event = failed[emitted++];
          queue.push({ event, emittedAt: at });
          emittedAt.set(event.detail.executionArn, at);
        }
        wake.splice(0).forEach((w) => w());
        if (emitted < failed.length) setTimeout(emit, 5);
        else resolve();
      };
      emit();
    });
    const worker = async (deps: Wired) => {
      for (;;) {
        if (head >= queue.length) {
          if (emitted >= failed.length) return;
          await new Promise<void>((resolve) => wake.push(resolve));
          continue;
        }
        const item = queue[head++];
        const started = Date.now();
        let outcome: Outcome | undefined;
        let lastError = '';
        for (let attempt = 1; attempt <= 3 && !outcome; attempt++) {
          try {
            outcome = await handleStatusChange(structuredClone(item.event), deps);
          } catch (e) {
            lastError = `${(e as Error).name}: ${(e as Error).message}`;
            if (attempt < 3) handlerRetries++;
          }
        }
        handlerMs.push(Date.now() - started);
        if (outcome) actions[outcome.action] = (actions[outcome.action] ?? 0) + 1;
        else deadLetters.push({ arn: item.event.detail.executionArn, error: lastError });
      }
    };
    await Promise.all([emitting, ...instances.map(worker)]);
    const emitSpanMs = Math.max(...emittedAt.values()) - t0;
    const cpu = process.cpuUsage(cpuBefore);
    const peakRssBytes = rss.stop();
    progress(`burst: handled in ${((Date.now() - t0) / 1000).toFixed(1)} s; checking`);

    // --- results ------------------------------------------------------------------------------
    await env.standIn.idle();
    const calls = env.standIn.calls.slice(callsBefore);
    const stepFunctionsCalls: Record<string, number> = {};
    for (const c of calls) stepFunctionsCalls[c.op] = (stepFunctionsCalls[c.op] ?? 0) + 1;
    const throttlingExceptions = calls.filter((c) => c.outcome === 'ThrottlingException').length;

    const redrives = env.standIn.redrives;
    const perArn = new Map<string, number>();
    for (const r of redrives) perArn.set(r.executionArn, (perArn.get(r.executionArn) ?? 0) + 1);
    const doubleRedrives = [...perArn.values()].filter((n) => n > 1).length;
    const latencies = redrives.map((r) => r.at - (emittedAt.get(r.executionArn) ?? NaN)).filter(Number.isFinite);
    const emitTimes = [...emittedAt.values()].sort((a, b) => a - b);
    const floor = emitTimes.map((at, k) => Math.max(0, t0 + (k * 1000) / options.ratePerSecond - at));
    const times = redrives.map((r) => r.at).sort((a, b) => a - b);
    const lastRedriveAt = times[times.length - 1] ?? t0;
    const timeToRedriveAllMs = lastRedriveAt - t0;
    let maxInSecond = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while (times[i] - times[j] >= 1000) j++;
      maxInSecond = Math.max(maxInSecond, i - j + 1);
    }

    const records = await env.failureRecords();
    const ledger: Record<string, number> = {};
    const settledInLedger = new Set<string>();
    for (const r of records) {
      ledger[r.state] = (ledger[r.state] ?? 0) + 1;
      if (r.state === 'skipped' || r.state === 'held' || r.state === 'pending' || r.state === 'claimed') settledInLedger.add(r.executionArn);
    }
    const dlq = new Set(deadLetters.map((d) => d.arn));
    const lost = arns.filter((arn) => !perArn.has(arn) && !settledInLedger.has(arn) && !dlq.has(arn)).length;
    const succeeded = arns.filter((arn) => env.standIn.getExecution(arn)?.status === 'SUCCEEDED').length;

    const redriven = perArn.size;
    const achievedRate = redriven / (timeToRedriveAllMs / 1000);
    return {
      events: failed.length,
      workers: options.workers,
      configuredRate: options.ratePerSecond,
      policy,
      quota: {
        awsUsEast1: AWS_DEFAULT_THROTTLES.RedriveExecution,
        scale,
        standIn: scaled('RedriveExecution'),
        note: `RedriveExecution token bucket: AWS us-east-1 ${AWS_DEFAULT_THROTTLES.RedriveExecution.bucketSize} burst / ${AWS_DEFAULT_THROTTLES.RedriveExecution.refillPerSecond} per s, scaled x${scale}; DescribeExecution, ListExecutions, StopExecution scaled the same way; StartExecution unthrottled (setup only)`,
      },
      dynamo: env.dynamoMode,
      setupMs,
      emitSpanMs,
      redriven,
      held: ledger.held ?? 0,
      lost,
      doubleRedrives,
      deadLettered: deadLetters.length,
      handlerRetries,
      timeToRedriveAllMs,
      achievedRate: round(achievedRate, 1),
      achievedRateRatio: round(achievedRate / options.ratePerSecond, 3),
      steadyRate: round(times.length > 1 ? (times.length - 1) / ((lastRedriveAt - times[0]) / 1000) : 0, 1),
      maxRedrivesInAnySecond: maxInSecond,
      latencyMs: { p50: percentile(latencies, 50), p90: percentile(latencies, 90), p99: percentile(latencies, 99), max: Math.max(...latencies) },
      latencyFloorMs: { p50: percentile(floor, 50), p99: percentile(floor, 99) },
      handlerMs: { p50: percentile(handlerMs, 50), p99: percentile(handlerMs, 99) },
      awsCallsPerRedrive: round(calls.length / Math.max(1, redriven), 3),
      stepFunctionsCalls,
      throttlingExceptions,
      dynamoCallsPerRedrive: round(env.dynamoCalls.total / Math.max(1, redriven), 2),
      limiterWritesPerRedrive: round(limiterWrites(env.dynamoCalls.writesByPurpose) / Math.max(1, redriven), 3),
      dynamoCalls: { total: env.dynamoCalls.total, byCommand: env.dynamoCalls.byCommand, byPurpose: env.dynamoCalls.byPurpose },
      actions,
      ledger,
      executionsSucceededAfterRedrive: succeeded,
      peakRssBytes,
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      dynamoProcess: await env.dynamoProcessStats(),
      logWarnings: env.log.warnings,
      logErrors: env.log.errors,
      problems: [...env.log.firstProblems, ...deadLetters.slice(0, 3).map((d) => `dead letter: ${d.error}`)],
    };
  } finally {
    await env.stop();
  }
}

/** Writes to the rate limiters' items (purposes `rate-limiter:<item>`). */
export function limiterWrites(writesByPurpose: Record<string, number>): number {
  return Object.entries(writesByPurpose)
    .filter(([purpose]) => purpose.startsWith('rate-limiter:'))
    .reduce((sum, [, n]) => sum + n, 0);
}
