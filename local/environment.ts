/**
 * The whole controller on this machine, no AWS account: dynalite for DynamoDB, the Step
 * Functions stand-in over HTTP, and the in-process event bus, wired to the real AWS SDK
 * clients through AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_SFN. Tests, `npm start`,
 * the benchmarks and `redrivectl --local` all start it here.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { statusChangePattern, type RedrivableStatus } from '../contract/event-pattern';
import { LEDGER_TABLE, POLICY_TABLE } from '../contract/table-definitions';
import { type ControllerConfig, DEFAULTS } from '../lambda/config';
import { handleStatusChange } from '../lambda/event-path';
import { InMemoryMetrics, type Log, MemoryLog } from '../lambda/observability/telemetry';
import { MemoryNotifier } from '../lambda/record/owner-notifier';
import { wire, type Wired, type WiringOptions } from '../lambda/wiring';
import { createTable, startDynalite } from './dynamodb';
import { type DeliveryOptions, LocalEventBus } from './event-bus';
import { type StandInOptions, StepFunctionsStandIn } from './sfn';

export const LOCAL_TABLES = { policy: 'auto-redrive-policies', ledger: 'auto-redrive-ledger' } as const;
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '123456789012';

export interface LocalOptions {
  /** Step Functions stand-in options (clock, throttling, faults). */
  readonly standIn?: Omit<StandInOptions, 'onEvent'>;
  readonly delivery?: DeliveryOptions;
  /** Statuses the local rule forwards. @default FAILED, TIMED_OUT */
  readonly statuses?: readonly RedrivableStatus[];
  readonly config?: Partial<ControllerConfig>;
  readonly clock?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly log?: Log;
  readonly redriveRate?: WiringOptions['redriveRate'];
  /** Do not connect the stand-in's events to the bus (tests that deliver by hand). */
  readonly detachBus?: boolean;
  /** Clients per account/Region (multi-account tests). @default the local endpoint */
  readonly sfnClientFactory?: WiringOptions['sfnClientFactory'];
}

export interface LocalEnvironment {
  readonly deps: Wired;
  readonly standIn: StepFunctionsStandIn;
  readonly bus: LocalEventBus;
  readonly sfn: SFNClient;
  readonly dynamodb: DynamoDBClient;
  readonly metrics: InMemoryMetrics;
  readonly log: Log;
  readonly notifier: MemoryNotifier;
  readonly endpoints: { readonly sfn: string; readonly dynamodb: string };
  readonly config: ControllerConfig;
  /** Writes one policy item (plain JSON, the format of docs/policies.md) straight to the table. */
  putPolicy(item: Record<string, unknown>): Promise<void>;
  /** Waits until the bus and the stand-in have nothing in flight. */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Peak failure rate of the local loop: 2 byDue shards (contract/due-shards.ts) rather than
 * the default's 16. dynalite has no partition limits, every drain run reads each shard, and
 * 2 keep the merged multi-shard reading exercised at a fraction of the calls. A benchmark
 * of a storm sets its own peak.
 */
export const LOCAL_PEAK_FAILURES_PER_SECOND = 100;

/** The controller's configuration against the local tables, defaults otherwise. */
export function localConfig(overrides: Partial<ControllerConfig> = {}): ControllerConfig {
  return {
    ...DEFAULTS,
    peakFailuresPerSecond: LOCAL_PEAK_FAILURES_PER_SECOND,
    policyTableName: LOCAL_TABLES.policy,
    ledgerTableName: LOCAL_TABLES.ledger,
    eventBusName: undefined,
    ...overrides,
  };
}

/** Points the SDK at local endpoints the documented way, with dummy credentials. */
export function useLocalEndpoints(endpoints: { sfn: string; dynamodb: string }): void {
  process.env.AWS_ENDPOINT_URL_SFN = endpoints.sfn;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = endpoints.dynamodb;
  process.env.AWS_REGION = LOCAL_REGION;
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
}

export async function startLocal(options: LocalOptions = {}): Promise<LocalEnvironment> {
  const dynamo = await startDynalite();
  // The bus's target reads `deps` (made below) only when an event arrives, which is after
  // startLocal has returned and executions run.
  const bus = new LocalEventBus(statusChangePattern({ statuses: options.statuses }), (event) => handleStatusChange(event, deps), options.delivery);
  const standIn = new StepFunctionsStandIn({
    accountId: LOCAL_ACCOUNT,
    region: LOCAL_REGION,
    ...options.standIn,
    onEvent: (event) => {
      if (!options.detachBus) bus.put(event);
    },
  });
  const sfnEndpoint = await standIn.listen(0, '127.0.0.1');
  const endpoints = { sfn: sfnEndpoint, dynamodb: dynamo.endpoint };
  useLocalEndpoints(endpoints);

  const dynamodb = new DynamoDBClient({});
  await createTable(dynamodb, LOCAL_TABLES.policy, POLICY_TABLE);
  await createTable(dynamodb, LOCAL_TABLES.ledger, LEDGER_TABLE);

  const config = localConfig(options.config);
  const metrics = new InMemoryMetrics();
  const log = options.log ?? new MemoryLog();
  const notifier = new MemoryNotifier();
  const sfn = new SFNClient({});
  const deps = wire(config, {
    log,
    metrics,
    clock: options.clock,
    sleep: options.sleep,
    dynamodb,
    notifier,
    redriveRate: options.redriveRate,
    sfnClientFactory: options.sfnClientFactory,
    // One local controller: each decision counted at once, so `redrivectl status` shows it right away.
    counterFlushMs: 0,
  });

  return {
    deps,
    standIn,
    bus,
    sfn,
    dynamodb,
    metrics,
    log,
    notifier,
    endpoints,
    config,
    async putPolicy(item) {
      await deps.doc.send(new PutCommand({ TableName: config.policyTableName, Item: item }));
      deps.policies.invalidate();
    },
    async settle() {
      // Executions emit events that cause redrives that emit events: loop until quiet.
      for (let i = 0; i < 100; i++) {
        await standIn.idle();
        await bus.settled();
        await standIn.idle();
        await new Promise((resolve) => setImmediate(resolve));
        if (!bus.busy) return;
      }
    },
    async stop() {
      await standIn.close();
      await dynamo.close();
      dynamodb.destroy();
      sfn.destroy();
    },
  };
}
