/**
 * The simulated AWS of the soak, in its own process so that the controller process's
 * memory is the controller's (dynalite's tables and the Step Functions stand-in's
 * executions grow with every execution; the controller must not). Started by
 * soak/run.ts with `fork(..., { execArgv: ['--import', 'tsx'] })`; talks over IPC.
 *
 *   parent -> world   { type: 'setup', seed, faults, longRunMs, outage }   world -> parent { type: 'ready', ... }
 *   world -> parent   { type: 'events', events }            (status-change events, batched)
 *   parent -> world   { type: 'status' }                    world -> parent { type: 'status', running }
 *   parent -> world   { type: 'summary' }                   world -> parent { type: 'summary', executions, calls, proxy }
 *   parent -> world   { type: 'stop' }
 */
import { CreateStateMachineCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LEDGER_TABLE, POLICY_TABLE } from '../contract/table-definitions';
import { createTable, startDynalite } from '../local/dynamodb';
import { DYNAMODB_FAULTS, FaultProxy } from '../local/fault-proxy';
import { type StatusChangeEvent, type StepBehaviour, StepFunctionsStandIn } from '../local/sfn';

export const SOAK_ACCOUNT = '123456789012';
export const SOAK_REGION = 'us-east-1';

/** The machines of the soak and how their executions behave. */
export const MACHINES = {
  /** Fails 1 to 4 times, then succeeds: maxRedrives 3 recovers three in four. */
  'orders-flaky': 'fails 1-4 times (by execution), then succeeds',
  /** Fails once or twice; its policy backs off, so redrives go through the drain. */
  'billing-backoff': 'fails 1-2 times, then succeeds; policy backs off 3 s x2',
  /** Fails until 8 s after its first run: recovers on a later redrive. */
  'reports-recovers-later': 'fails for 8 s after its first run, then succeeds',
  /** A non-retryable error: skipped as error-not-retryable, owners notified. */
  'ledger-runtime-error': 'always fails with States.Runtime',
  /** No policy: skipped as no-policy. */
  'legacy-nopolicy': 'always fails; no policy covers it',
  /** A dry-run policy: decided, never redriven. */
  'audit-dryrun': 'always fails; its policy is a dry run',
  /** Runs 3 s; the soak stops half of them (ABORTED, a status its policy does not cover). */
  'batch-slow': 'runs 3 s; half are stopped (ABORTED, not covered)',
  /**
   * Long runs (`longRunMs`, tens of seconds: thousands of times the others), started in a
   * burst early on, each failing its first run: enough to open its breaker, whose probes
   * then take as long as a run.
   */
  'etl-long': 'runs longRunMs; fails its first run, then succeeds (started early, in a burst)',
  /**
   * The soak's one outage: its dependency is down from `outage.fromMs` to `outage.toMs`
   * (epoch ms). Its breaker opens after the wait, holds, probes, and releases once it is
   * back; nothing of it may be left held at the end.
   */
  'search-outage': 'fails while its dependency is down (outage.fromMs to outage.toMs), else succeeds',
} as const;
export type MachineName = keyof typeof MACHINES;

export interface WorldFaults {
  /** Share of DynamoDB requests answered ProvisionedThroughputExceeded on their first attempt. */
  readonly dynamoThrottleFirstAttempt: number;
  /** Share of DynamoDB requests whose connection is dropped before they reach dynalite. */
  readonly dynamoDrop: number;
  /** Share of DynamoDB UpdateItem requests applied but left unanswered. */
  readonly dynamoDropResponse: number;
  /** Share of RedriveExecution calls answered 503. */
  readonly redriveServerError: number;
  /** Share of DescribeExecution calls answered ThrottlingException. */
  readonly describeThrottle: number;
}

export interface ExecutionSummary {
  readonly arn: string;
  readonly machine: MachineName;
  readonly status: string;
  readonly redriveCount: number;
  /** redriveCount after each redrive Step Functions actually performed. */
  readonly redrives: number[];
  readonly error: string | null;
}

export type ToWorld =
  | { type: 'setup'; seed: number; faults: WorldFaults; longRunMs: number; outage: { readonly fromMs: number; readonly toMs: number } }
  | { type: 'status' }
  | { type: 'summary' }
  | { type: 'stop' };
export type FromWorld =
  | { type: 'ready'; sfn: string; dynamodb: string; dynamodbDirect: string; machines: Record<MachineName, string> }
  | { type: 'events'; events: StatusChangeEvent[] }
  | { type: 'status'; running: number; executions: number }
  | { type: 'summary'; executions: ExecutionSummary[]; calls: Record<string, number>; proxy: Record<string, number> };

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0) / 2 ** 32);
}

function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

const send = (m: FromWorld) => process.send?.(m);

async function main(): Promise<void> {
  let standIn: StepFunctionsStandIn | undefined;
  let proxy: FaultProxy | undefined;
  let closeDynamo: (() => Promise<void>) | undefined;
  const machineOf = new Map<string, MachineName>();
  const firstRun = new Map<string, number>();
  const calls = new Map<string, number>();
  let outbox: StatusChangeEvent[] = [];
  const flusher = setInterval(() => {
    if (outbox.length) {
      send({ type: 'events', events: outbox });
      outbox = [];
    }
  }, 20);

  process.on('message', async (m: ToWorld) => {
    if (m.type === 'setup') {
      const random = prng(m.seed);
      const f = m.faults;
      const dynamo = await startDynalite();
      closeDynamo = dynamo.close;
      proxy = new FaultProxy(dynamo.endpoint, ({ op, attempt }) => {
        if (attempt === 1 && random() < f.dynamoThrottleFirstAttempt) return DYNAMODB_FAULTS.throughputExceeded;
        if (random() < f.dynamoDrop) return { kind: 'drop' };
        if (op === 'UpdateItem' && random() < f.dynamoDropResponse) return { kind: 'drop-response' };
        return undefined;
      });
      const dynamodbEndpoint = await proxy.listen();
      const direct = new DynamoDBClient({ endpoint: dynamo.endpoint, region: SOAK_REGION, credentials: { accessKeyId: 'soak', secretAccessKey: 'soak' } });
      await createTable(direct, 'soak-policies', POLICY_TABLE);
      await createTable(direct, 'soak-ledger', LEDGER_TABLE);
      direct.destroy();

      standIn = new StepFunctionsStandIn({
        accountId: SOAK_ACCOUNT,
        region: SOAK_REGION,
        onEvent: (e) => outbox.push(e),
        fault: (op) => {
          calls.set(op, (calls.get(op) ?? 0) + 1);
          const fault = op === 'RedriveExecution' && random() < f.redriveServerError ? 'server-error' : op === 'DescribeExecution' && random() < f.describeThrottle ? 'throttle' : undefined;
          if (fault) calls.set(`${op}:${fault}`, (calls.get(`${op}:${fault}`) ?? 0) + 1);
          return fault;
        },
      });
      const sfnEndpoint = await standIn.listen();
      const sfn = new SFNClient({ endpoint: sfnEndpoint, region: SOAK_REGION, credentials: { accessKeyId: 'soak', secretAccessKey: 'soak' } });
      const behaviours: Record<MachineName, StepBehaviour> = {
        'orders-flaky': (ctx) => (ctx.attempt <= 1 + (hash(ctx.executionArn) % 4) ? { ok: false, error: 'Lambda.ServiceException', cause: 'payments returned 503' } : { ok: true }),
        'billing-backoff': (ctx) => (ctx.attempt <= 1 + (hash(ctx.executionArn) % 2) ? { ok: false, error: 'Lambda.TooManyRequestsException', cause: 'rate exceeded' } : { ok: true }),
        'reports-recovers-later': (ctx) => {
          const first = firstRun.get(ctx.executionArn) ?? ctx.now;
          firstRun.set(ctx.executionArn, first);
          return ctx.now < first + 8_000 ? { ok: false, error: 'States.TaskFailed', cause: 'warehouse not ready' } : { ok: true };
        },
        'ledger-runtime-error': { kind: 'fail', error: 'States.Runtime', cause: "The JSONPath '$.amount' could not be found" },
        'legacy-nopolicy': { kind: 'fail', error: 'Lambda.ServiceException', cause: 'legacy backend down' },
        'audit-dryrun': { kind: 'fail', error: 'Lambda.ServiceException', cause: 'audit sink down' },
        'batch-slow': () => new Promise((resolve) => setTimeout(() => resolve({ ok: true }), 3_000)),
        'etl-long': (ctx) =>
          new Promise((resolve) =>
            setTimeout(() => resolve(ctx.attempt <= 1 ? { ok: false, error: 'Glue.ConcurrentRunsExceededException', cause: 'warehouse load still running' } : { ok: true }), m.longRunMs),
          ),
        'search-outage': (ctx) => (ctx.now >= m.outage.fromMs && ctx.now < m.outage.toMs ? { ok: false, error: 'Search.Unavailable', cause: 'search cluster down' } : { ok: true }),
      };
      const machines = {} as Record<MachineName, string>;
      for (const name of Object.keys(MACHINES) as MachineName[]) {
        const resource = `arn:aws:lambda:${SOAK_REGION}:${SOAK_ACCOUNT}:function:${name}`;
        standIn.setBehaviour(resource, behaviours[name]);
        const out = await sfn.send(
          new CreateStateMachineCommand({
            name,
            definition: JSON.stringify({ StartAt: 'Work', States: { Work: { Type: 'Task', Resource: resource, End: true } } }),
            roleArn: `arn:aws:iam::${SOAK_ACCOUNT}:role/soak`,
          }),
        );
        machines[name] = out.stateMachineArn!;
        machineOf.set(out.stateMachineArn!, name);
      }
      sfn.destroy();
      send({ type: 'ready', sfn: sfnEndpoint, dynamodb: dynamodbEndpoint, dynamodbDirect: dynamo.endpoint, machines });
    } else if (m.type === 'status') {
      let running = 0;
      let executions = 0;
      for (const e of executionsOf(standIn!)) {
        executions++;
        if (e.status === 'RUNNING') running++;
      }
      send({ type: 'status', running, executions });
    } else if (m.type === 'summary') {
      const redrives = new Map<string, number[]>();
      for (const r of standIn!.redrives) redrives.set(r.executionArn, [...(redrives.get(r.executionArn) ?? []), r.redriveCount]);
      const executions: ExecutionSummary[] = [];
      for (const e of executionsOf(standIn!)) {
        executions.push({
          arn: e.executionArn,
          machine: machineOf.get(e.stateMachineArn)!,
          status: e.status,
          redriveCount: e.redriveCount,
          redrives: redrives.get(e.executionArn) ?? [],
          error: e.error ?? null,
        });
      }
      send({ type: 'summary', executions, calls: Object.fromEntries(calls), proxy: proxy!.counts() });
    } else if (m.type === 'stop') {
      clearInterval(flusher);
      await standIn?.close();
      await proxy?.close();
      await closeDynamo?.();
      process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(0));
}

/** Every execution the stand-in knows, via its ListExecutions-free internals. */
function* executionsOf(standIn: StepFunctionsStandIn) {
  // getExecution needs ARNs: the stand-in's event log has every execution that ever changed status.
  const seen = new Set<string>();
  for (const e of standIn.events) {
    if (seen.has(e.detail.executionArn)) continue;
    seen.add(e.detail.executionArn);
    const x = standIn.getExecution(e.detail.executionArn);
    if (x) yield x;
  }
}

void main();
