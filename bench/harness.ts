/**
 * The benchmark environment: the Step Functions stand-in (in this process, so its call
 * log and redrive log can be read directly), dynalite for DynamoDB, and any number of
 * controller "Lambda instances", each its own `wire()` with its own SDK clients, sharing
 * the tables as real instances do.
 *
 * dynalite runs in its own Node process by default (`dynamo: 'process'`). Inside this
 * process it would share one event loop with 20 controller instances and the stand-in:
 * every DynamoDB round trip waits for that loop, and the rate limiter's single item
 * (updated at least once per redrive, three times when the limiter is idle, and serialised
 * by dynalite's per-item lock over several loop turns) becomes the bottleneck. Measured
 * at a configured 100/s: about 0.7 of the rate in process, with 3.6 limiter calls per
 * redrive, against 0.95-0.98 with 1.2 calls when dynalite has its own process. DynamoDB is
 * a remote service with its own capacity, so the separate process is the closer model;
 * `BENCH_DYNAMO=in-process` reproduces the in-process numbers.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateStateMachineCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { SdkStepFunctions } from '../lambda/act/step-functions';
import type { ControllerConfig } from '../lambda/config';
import { InMemoryMetrics, type Log } from '../lambda/observability/telemetry';
import type { FailureRecord } from '../lambda/record/failure-ledger';
import { MemoryNotifier } from '../lambda/record/owner-notifier';
import { wire, type Wired } from '../lambda/wiring';
import { LEDGER_TABLE, POLICY_TABLE } from '../contract/table-definitions';
import { createTable, dynaliteServer, startDynalite } from '../local/dynamodb';
import type { PartitionModel } from '../local/partition-model';
import { withPartitionModel } from '../local/partition-listener';
import { LOCAL_ACCOUNT, LOCAL_REGION, LOCAL_TABLES, localConfig, useLocalEndpoints } from '../local/environment';
import { StepFunctionsStandIn, type StandInOptions, type StepBehaviour } from '../local/sfn';
import { inMemoryRequestHandler, inMemorySigner, listenerOf, type RequestListener } from './in-memory-http';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export type DynamoMode = 'process' | 'in-process' | 'none';

export function dynamoModeFromEnv(): DynamoMode {
  const mode = process.env.BENCH_DYNAMO;
  return mode === 'in-process' || mode === 'none' ? mode : 'process';
}

export interface BenchEnvOptions {
  readonly standIn?: Omit<StandInOptions, 'accountId' | 'region'>;
  readonly config?: Partial<ControllerConfig>;
  readonly clock?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default 'process' */
  readonly dynamo?: DynamoMode;
  /**
   * 'sockets': real HTTP over loopback (the burst). 'memory': SDK requests are handed to
   * the in-process servers without sockets (simulated-time runs; DynamoDB then runs in
   * this process). @default 'sockets'
   */
  readonly transport?: 'sockets' | 'memory';
  /** DynamoDB's per-partition limits in front of dynalite (local/partition-model.ts). @default none */
  readonly partitionModel?: PartitionModel;
  /**
   * Where the SDK's DynamoDB retry backoff waits (the simulated clock's sleep); a request
   * waiting for its retry is not counted in flight meanwhile. @default real time
   */
  readonly sdkRetrySleep?: (ms: number) => Promise<void>;
}

/** DynamoDB requests made by the controller instances, by operation and by what they touch. */
export class DynamoCallCounter {
  readonly byCommand: Record<string, number> = {};
  readonly byPurpose: Record<string, number> = {};
  /** Writes only (PutItem, UpdateItem, DeleteItem), by purpose. */
  readonly writesByPurpose: Record<string, number> = {};
  total = 0;

  attach(client: DynamoDBClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = String((context as { commandName?: string }).commandName ?? 'unknown').replace(/Command$/, '');
        const purpose = purposeOf(command, args.input as Record<string, any>);
        this.total++;
        this.byCommand[command] = (this.byCommand[command] ?? 0) + 1;
        this.byPurpose[purpose] = (this.byPurpose[purpose] ?? 0) + 1;
        if (WRITES.has(command)) this.writesByPurpose[purpose] = (this.writesByPurpose[purpose] ?? 0) + 1;
        return next(args);
      },
      { step: 'initialize', name: 'benchDynamoCallCounter' },
    );
  }
}

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem']);

const text = (v: unknown): string => (typeof v === 'string' ? v : ((v as { S?: string } | undefined)?.S ?? ''));

/** What a request is for, from its key: ledger, audit, rate limiter, policies, ... */
function purposeOf(command: string, input: Record<string, any>): string {
  if (command === 'Scan') return 'policies';
  const pk = text(input.Key?.pk) || text(input.Item?.pk) || text(input.ExpressionAttributeValues?.[':pk']);
  const sk = text(input.Key?.sk) || text(input.Item?.sk);
  if (pk === 'RATE') return `rate-limiter:${text(input.Key?.sk) || '?'}`;
  if (pk.startsWith('STATS#')) return 'audit-daily-counter';
  if (pk.startsWith('BREAKER#')) return 'breaker';
  if (pk === 'CONTROL') return sk === 'PAUSE' ? 'kill-switch' : 'control';
  if (sk.startsWith('AUDIT#')) return 'audit-entry';
  if (input.IndexName) return 'ledger-due-index';
  if (pk.startsWith('EXEC#')) return `failure-ledger:${ledgerPurpose(command, input)}`;
  return 'other';
}

/** Which ledger call: the read of an execution's history, a claim, a write that settles a claim (with its audit entry or not), ... */
function ledgerPurpose(command: string, input: Record<string, any>): string {
  if (command === 'Query') return 'history';
  const values = input.ExpressionAttributeValues ?? {};
  const audit = values[':decision'] ? '+audit' : '';
  if (command === 'PutItem') {
    if (text(input.Item?.state) === 'claimed') return 'claim-new';
    return input.Item?.supersededBy !== undefined ? 'supersede' : `schedule${Array.isArray(input.Item?.decisions) ? '+audit' : ''}`;
  }
  const update = String(input.UpdateExpression ?? '');
  if (update.includes('claimToken = :token')) return 'claim';
  if (input.ConditionExpression?.includes('claimToken = :token')) return `settle${audit}`;
  if (values[':heldState'] !== undefined) return `hold${audit}`;
  if (update.includes('#state = :skipped')) return `skip${audit}`;
  return 'write';
}

/**
 * Requests in flight on the bench's SDK clients (counted from `send` to its answer,
 * retries included). The simulated-time loop moves the clock only when this is 0.
 */
export class InFlightCounter {
  count = 0;
  attach(client: { middlewareStack: DynamoDBClient['middlewareStack'] | SFNClient['middlewareStack'] }): void {
    (client.middlewareStack as DynamoDBClient['middlewareStack']).add(
      (next) => async (args) => {
        this.count++;
        try {
          return await next(args);
        } finally {
          this.count--;
        }
      },
      { step: 'initialize', name: 'benchInFlightCounter', priority: 'high' },
    );
  }
}

/**
 * The SDK's own retry strategy (its error classification, backoff and retry quota are
 * unchanged), with its backoff slept on `sleep` instead of a real timer: on the simulated
 * clock a throttled request must wait simulated time, or its retry lands in the same
 * frozen second. The request is not in flight while it waits, so the clock can move.
 */
function simulateRetryDelays(client: DynamoDBClient, sleep: (ms: number) => Promise<void>, inFlight: InFlightCounter): void {
  type Token = { getRetryDelay(): number };
  type Strategy = {
    acquireInitialRetryToken(scope: string): Promise<Token>;
    refreshRetryTokenForRetry(token: Token, error: unknown): Promise<Token>;
    recordSuccess(token: Token): void;
    mode?: string;
  };
  const config = client.config as unknown as { retryStrategy: () => Promise<Strategy> };
  const original = config.retryStrategy;
  let wrapped: Strategy | undefined;
  config.retryStrategy = async () => {
    if (wrapped) return wrapped;
    const inner = await original();
    wrapped = {
      mode: inner.mode,
      acquireInitialRetryToken: (scope) => inner.acquireInitialRetryToken(scope),
      recordSuccess: (token) => inner.recordSuccess(token),
      refreshRetryTokenForRetry: async (token, error) => {
        const next = await inner.refreshRetryTokenForRetry(token, error);
        const delay = next.getRetryDelay();
        inFlight.count--;
        try {
          await sleep(delay);
        } finally {
          inFlight.count++;
        }
        // The SDK waits for getRetryDelay() with a real timer: nothing left to wait.
        return Object.assign(Object.create(next) as Token, { getRetryDelay: () => 0 });
      },
    };
    return wrapped;
  };
}

/** A Log that keeps nothing but counts warnings and errors (the benchmark reports them). */
export class CountingLog implements Log {
  warnings = 0;
  errors = 0;
  readonly firstProblems: string[] = [];
  debug(): void {}
  info(): void {}
  warn(message: string): void {
    this.warnings++;
    if (this.firstProblems.length < 5) this.firstProblems.push(`warn: ${message}`);
  }
  error(message: string, attributes: Record<string, unknown> = {}): void {
    this.errors++;
    if (this.firstProblems.length < 5) this.firstProblems.push(`error: ${message} ${JSON.stringify(attributes).slice(0, 200)}`);
  }
}

export interface BenchEnv {
  readonly standIn: StepFunctionsStandIn;
  readonly sfn: SFNClient;
  readonly config: ControllerConfig;
  readonly endpoints: { readonly sfn: string; readonly dynamodb: string | undefined };
  readonly dynamoMode: DynamoMode;
  readonly dynamoCalls: DynamoCallCounter;
  /** SDK requests (Step Functions and DynamoDB) not yet answered. */
  readonly inFlight: InFlightCounter;
  readonly log: CountingLog;
  readonly notifier: MemoryNotifier;
  /** Metrics of every controller instance (one recorder, like one CloudWatch namespace). */
  readonly metrics: InMemoryMetrics;
  /**
   * A new "Lambda instance": its own wiring and SDK clients, the shared tables. An
   * `observer` is the bench looking at the tables (not counted in `dynamoCalls`, no metrics).
   */
  controller(options?: { observer?: boolean }): Wired;
  putPolicy(item: Record<string, unknown>): Promise<void>;
  /** Creates a state machine whose Task states run `behaviour`. */
  createMachine(name: string, definition: string, resources: Record<string, StepBehaviour>): Promise<string>;
  /** Starts executions, `concurrency` StartExecution calls at a time; returns their ARNs in order. */
  startExecutions(stateMachineArn: string, runs: ReadonlyArray<{ name: string; input: unknown }>, concurrency?: number): Promise<string[]>;
  /** Every failure record in the ledger (a paginated Scan). */
  failureRecords(): Promise<FailureRecord[]>;
  /** CPU time and peak RSS of the dynalite process (undefined when it runs in this process). */
  dynamoProcessStats(): Promise<{ cpuMs: number; maxRssBytes: number } | undefined>;
  stop(): Promise<void>;
}

async function startDynamoProcess(): Promise<{ endpoint: string; child: ChildProcess }> {
  const child = fork(join(__dirname, 'dynamo-process.cjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port?: number }) => (m.port ? resolve(m.port) : reject(new Error('dynalite process: no port'))));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`dynalite process exited with ${code}`)));
  });
  return { endpoint: `http://127.0.0.1:${port}`, child };
}


export async function startBenchEnv(options: BenchEnvOptions = {}): Promise<BenchEnv> {
  const memory = options.transport === 'memory';
  const dynamoMode: DynamoMode = memory && options.dynamo !== 'none' ? 'in-process' : (options.dynamo ?? 'process');
  const standIn = new StepFunctionsStandIn({ ...options.standIn, accountId: LOCAL_ACCOUNT, region: LOCAL_REGION });
  const sfnEndpoint = await standIn.listen(0, '127.0.0.1');
  let sfnListener: RequestListener | undefined;
  let dynamoListener: RequestListener | undefined;
  if (memory) {
    // The stand-in keeps its server private; its request listener is all we need.
    const server = (standIn as unknown as { server?: import('node:http').Server }).server;
    if (!server) throw new Error('bench: cannot reach the Step Functions stand-in server for in-memory transport');
    sfnListener = listenerOf(server);
  }

  let child: ChildProcess | undefined;
  let closeInProcess: (() => Promise<void>) | undefined;
  let dynamoEndpoint: string | undefined;
  if (options.partitionModel && !(memory && dynamoMode === 'in-process')) {
    throw new Error('bench: the partition model needs the in-memory transport with dynalite in this process');
  }
  if (memory && dynamoMode === 'in-process') {
    dynamoListener = listenerOf(dynaliteServer());
    if (options.partitionModel) dynamoListener = withPartitionModel(dynamoListener, options.partitionModel);
    dynamoEndpoint = 'http://dynamodb.in-memory';
  } else if (dynamoMode === 'process') {
    const started = await startDynamoProcess();
    child = started.child;
    dynamoEndpoint = started.endpoint;
  } else if (dynamoMode === 'in-process') {
    const local = await startDynalite();
    closeInProcess = local.close;
    dynamoEndpoint = local.endpoint;
  }
  // Region and dummy credentials for every SDK client; endpoints are also passed explicitly.
  useLocalEndpoints({ sfn: sfnEndpoint, dynamodb: dynamoEndpoint ?? 'http://127.0.0.1:9' });

  const clients: Array<{ destroy(): void }> = [];
  const inFlight = new InFlightCounter();
  const newSfn = () => {
    const client = new SFNClient({ endpoint: sfnEndpoint, ...(sfnListener && { requestHandler: inMemoryRequestHandler(sfnListener), signer: inMemorySigner }) });
    inFlight.attach(client);
    clients.push(client);
    return client;
  };
  const newDynamo = (endpoint: string) => {
    const client = new DynamoDBClient({ endpoint, ...(dynamoListener && { requestHandler: inMemoryRequestHandler(dynamoListener), signer: inMemorySigner }) });
    inFlight.attach(client);
    if (options.sdkRetrySleep) simulateRetryDelays(client, options.sdkRetrySleep, inFlight);
    clients.push(client);
    return client;
  };
  const sfn = newSfn();
  const admin = dynamoEndpoint ? newDynamo(dynamoEndpoint) : undefined;
  if (admin) {
    await createTable(admin, LOCAL_TABLES.policy, POLICY_TABLE);
    await createTable(admin, LOCAL_TABLES.ledger, LEDGER_TABLE);
  }
  const adminDoc = admin ? DynamoDBDocumentClient.from(admin, { marshallOptions: { removeUndefinedValues: true } }) : undefined;

  const config: ControllerConfig = localConfig(options.config);
  const dynamoCalls = new DynamoCallCounter();
  const log = new CountingLog();
  const notifier = new MemoryNotifier();
  const metrics = new InMemoryMetrics();
  const requireDynamo = () => {
    if (!adminDoc || !dynamoEndpoint) throw new Error('this bench environment has no DynamoDB');
    return { doc: adminDoc, endpoint: dynamoEndpoint };
  };

  return {
    standIn,
    sfn,
    config,
    endpoints: { sfn: sfnEndpoint, dynamodb: dynamoEndpoint },
    dynamoMode,
    dynamoCalls,
    inFlight,
    log,
    notifier,
    metrics,
    controller(controllerOptions = {}) {
      const { endpoint } = requireDynamo();
      const dynamodb = newDynamo(endpoint);
      if (!controllerOptions.observer) dynamoCalls.attach(dynamodb);
      const instanceSfn = newSfn();
      return wire(config, {
        log,
        metrics: controllerOptions.observer ? new InMemoryMetrics() : metrics,
        clock: options.clock,
        sleep: options.sleep,
        dynamodb,
        stepFunctions: new SdkStepFunctions(instanceSfn),
        notifier,
      });
    },
    async putPolicy(item) {
      await requireDynamo().doc.send(new PutCommand({ TableName: config.policyTableName, Item: item }));
    },
    async createMachine(name, definition, resources) {
      for (const [resource, behaviour] of Object.entries(resources)) standIn.setBehaviour(resource, behaviour);
      const out = await sfn.send(new CreateStateMachineCommand({ name, definition, roleArn: `arn:aws:iam::${LOCAL_ACCOUNT}:role/${name}` }));
      return out.stateMachineArn!;
    },
    async startExecutions(stateMachineArn, runs, concurrency = 100) {
      const arns: string[] = new Array(runs.length);
      let next = 0;
      const worker = async () => {
        while (next < runs.length) {
          const i = next++;
          const out = await sfn.send(new StartExecutionCommand({ stateMachineArn, name: runs[i].name, input: JSON.stringify(runs[i].input) }));
          arns[i] = out.executionArn!;
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, runs.length) }, worker));
      return arns;
    },
    async failureRecords() {
      const { doc } = requireDynamo();
      const items: FailureRecord[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const page = await doc.send(
          new ScanCommand({
            TableName: config.ledgerTableName,
            FilterExpression: 'begins_with(sk, :failure)',
            ExpressionAttributeValues: { ':failure': 'FAILURE#' },
            ExclusiveStartKey: start,
          }),
        );
        items.push(...((page.Items ?? []) as FailureRecord[]));
        start = page.LastEvaluatedKey;
      } while (start);
      return items;
    },
    async dynamoProcessStats() {
      if (!child) return undefined;
      const c = child;
      return new Promise((resolve) => {
        c.once('message', (m: { cpuMs: number; maxRssBytes: number }) => resolve(m));
        c.send('stats');
      });
    },
    async stop() {
      await standIn.close();
      for (const c of clients) c.destroy();
      if (closeInProcess) await closeInProcess();
      if (child) {
        const c = child;
        await new Promise<void>((resolve) => {
          c.once('exit', () => resolve());
          c.kill();
        });
      }
    },
  };
}

/** Quota numbers scaled for a local run (rounded; at least 1). */
export function scaleThrottle(config: { bucketSize: number; refillPerSecond: number }, scale: number) {
  return { bucketSize: Math.max(1, Math.round(config.bucketSize * scale)), refillPerSecond: Math.max(1, Math.round(config.refillPerSecond * scale * 10) / 10) };
}
