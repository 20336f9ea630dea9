/**
 * DynamoDB's per-partition throughput limits, for local runs: a layer in front of dynalite
 * (which has no limits at all) that meters every request per (table or index, partition
 * key value) and refuses what DynamoDB would throttle. Off unless a starter is given a
 * model (local/dynamodb.ts `startDynalite({ partitionModel })`, bench/harness.ts), which
 * put it in front of dynalite's request listener (local/partition-listener.ts).
 *
 * What DynamoDB documents, and what is modelled:
 * - A partition serves at most 1,000 write units and 3,000 read units per second, in both
 *   capacity modes; on-demand does not lift it. "each individual partition is limited to
 *   1,000 write units per second and 3,000 read units per second"
 *   (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html;
 *   https://repost.aws/knowledge-center/on-demand-table-throttling-dynamodb).
 *   Modelled per partition KEY VALUE: adaptive capacity can isolate one hot item on its own
 *   partition but never beyond these limits
 *   (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/burst-adaptive-capacity.html),
 *   so one key value is the finest unit DynamoDB can give the limit to. (Split for heat can
 *   spread one key's item collection over sort-key ranges; not modelled: conservative.)
 * - The same limit applies to each GSI's partitions, keyed by the index's partition key,
 *   and an index write that cannot be made throttles the BASE-TABLE write that caused it
 *   ("GSI back-pressure",
 *   https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/gsi-throttling.html;
 *   https://repost.aws/knowledge-center/dynamodb-gsi-throttling-table).
 * - The error. Partition-level throttling carries the throttling reason
 *   `TableWriteKeyRangeThroughputExceeded` / `IndexWriteKeyRangeThroughputExceeded` (or
 *   ...Read...) "affecting both provisioned and on-demand modes"
 *   (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/throttling-key-range-limit-exceeded-mitigation.html,
 *   https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_ThrottlingReason.html).
 *   ThrottlingException is documented for the on-demand MAXIMUM and account limits, not for
 *   a hot key, so the CHOICE here is: HTTP 400, AWS JSON 1.0 `__type`
 *   `com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException`, with
 *   `ThrottlingReasons: [{ reason, resource }]` naming the table or index ARN. The SDK v3
 *   lists ProvisionedThroughputExceededException among its throttling error codes, so its
 *   own retries (throttling backoff, retry quota) apply as against AWS.
 * - Burst capacity (up to 300 s of unused capacity) is a provisioned-mode feature and "can't
 *   alleviate partition-level throttling"
 *   (https://repost.aws/knowledge-center/dynamodb-spiky-workloads-short-intervals): omitted.
 *
 * Units per request (what each operation costs, GSI writes, reads): local/request-plan.ts.
 *
 * Time: fixed one-second windows (epoch seconds) on an injectable clock, so the simulated
 * benches (SimClock) meter simulated seconds. A fixed window admits up to twice the limit
 * across a boundary; DynamoDB's own metering interval is not documented.
 */
import type { TableDefinition } from '../contract/table-definitions';
import { KB, type Kind, type Plan, RequestPlanner, type Touch } from './request-plan';

// The UpdateExpression reading is tested through this module.
export { parseUpdateExpression } from './request-plan';

export const DYNAMODB_PARTITION_LIMITS = { writeUnitsPerSecond: 1000, readUnitsPerSecond: 3000 } as const;

export interface PartitionModelOptions {
  /** Table name -> its definition (contract/table-definitions.ts). */
  readonly tables: Readonly<Record<string, TableDefinition>>;
  readonly clock?: () => number;
  readonly writeUnitsPerSecond?: number;
  readonly readUnitsPerSecond?: number;
  /** False: meter only, never throttle. @default true */
  readonly enforce?: boolean;
  /** For the ARNs in ThrottlingReasons. */
  readonly region?: string;
  readonly accountId?: string;
}

/** One (table or index, partition key value): its busiest second. */
export interface HotKey {
  /** Table name, or `<table>/index/<indexName>`. */
  readonly resource: string;
  readonly key: string;
  /** Units asked for in its busiest one-second window (throttled attempts included). */
  readonly writesPerSecond: number;
  /** Units admitted in its busiest window (<= the limit when enforced). */
  readonly admittedWritesPerSecond: number;
  readonly throttledRequests: number;
}

interface Meter {
  window: number;
  /** Units admitted this window, index writes in flight included (the limit applies to these). */
  admitted: number;
  /** Units that happened this window. */
  used: number;
  demand: number;
  maxAdmitted: number;
  maxDemand: number;
  throttled: number;
}

export interface Ticket {
  readonly plan: Plan;
}

export interface Throttle {
  readonly status: 400;
  readonly body: string;
}

export class PartitionModel {
  private readonly meters = new Map<string, Meter>();
  private readonly planner: RequestPlanner;
  private readonly clock: () => number;
  private readonly limits: Record<Kind, number>;
  private throttledTotal = 0;
  readonly enforce: boolean;

  constructor(private readonly options: PartitionModelOptions) {
    this.clock = options.clock ?? Date.now;
    this.limits = {
      write: options.writeUnitsPerSecond ?? DYNAMODB_PARTITION_LIMITS.writeUnitsPerSecond,
      read: options.readUnitsPerSecond ?? DYNAMODB_PARTITION_LIMITS.readUnitsPerSecond,
    };
    this.enforce = options.enforce ?? true;
    this.planner = new RequestPlanner(options.tables);
  }

  /** Requests refused so far. */
  get throttledRequests(): number {
    return this.throttledTotal;
  }

  /**
   * Meters one request (operation from X-Amz-Target, parsed JSON body): a Throttle to answer
   * instead of forwarding it, or a Ticket to `settle` with the backend's answer.
   */
  admit(op: string, input: Record<string, unknown>): Throttle | Ticket {
    const plan = this.planner.plan(op, input);
    const window = Math.floor(this.clock() / 1000);
    let over: Touch | undefined;
    const meters = plan.touches.map((t) => {
      const m = this.meter(t, window);
      m.demand += t.units;
      if (m.demand > m.maxDemand) m.maxDemand = m.demand;
      if (this.enforce && m.admitted + t.units > this.limits[t.kind]) {
        over ??= t;
        m.throttled++;
      }
      return m;
    });
    if (over) {
      this.throttledTotal++;
      return { status: 400, body: this.throttleBody(over) };
    }
    // Index writes are reserved now (concurrent requests see them) and counted as used when
    // the base write is known to have happened (settle).
    plan.touches.forEach((t, i) => {
      meters[i].admitted += t.units;
      if (!t.indexWrite) this.use(meters[i], t.units);
    });
    return { plan };
  }

  /** The backend answered: undo what did not happen, remember what did. */
  settle(ticket: Ticket, status: number, responseBody: string | Uint8Array | undefined): void {
    const { plan } = ticket;
    const window = Math.floor(this.clock() / 1000);
    if (status === 200) {
      for (const c of plan.commit) c();
      for (const t of plan.touches) if (t.indexWrite) this.use(this.meter(t, window), t.units);
      if (plan.query) {
        const bytes = responseBody === undefined ? 0 : typeof responseBody === 'string' ? responseBody.length : responseBody.byteLength;
        const units = Math.max(1, Math.ceil(bytes / (4 * KB))) * (plan.query.consistent ? 1 : 0.5) - plan.query.touch.units;
        if (units > 0) {
          const m = this.meter(plan.query.touch, window);
          m.demand += units;
          if (m.demand > m.maxDemand) m.maxDemand = m.demand;
          m.admitted += units;
          this.use(m, units);
        }
      }
      return;
    }
    // A failed condition consumed the base units and wrote no index entry. Any other error
    // (validation) consumed nothing.
    const conditionFailed = /ConditionalCheckFailed|TransactionCanceled/.test(typeof responseBody === 'string' ? responseBody : Buffer.from(responseBody ?? []).toString('utf8'));
    for (const t of plan.touches) {
      if (conditionFailed && !t.indexWrite) continue;
      const m = this.meter(t, window);
      m.admitted = Math.max(0, m.admitted - t.units);
      if (!t.indexWrite) m.used = Math.max(0, m.used - t.units);
    }
  }

  /** Every metered (resource, key) with writes, busiest first. */
  hotKeys(): HotKey[] {
    const out: HotKey[] = [];
    for (const [id, m] of this.meters) {
      const [kind, resource, key] = JSON.parse(id) as [Kind, string, string];
      if (kind !== 'write') continue;
      out.push({ resource, key, writesPerSecond: m.maxDemand, admittedWritesPerSecond: m.maxAdmitted, throttledRequests: m.throttled });
    }
    return out.sort((a, b) => b.writesPerSecond - a.writesPerSecond);
  }

  /** The busiest key of each table and index. */
  hottestPerResource(): HotKey[] {
    const best = new Map<string, HotKey>();
    for (const k of this.hotKeys()) if (!best.has(k.resource)) best.set(k.resource, k);
    return [...best.values()];
  }

  // --- metering -------------------------------------------------------------------------------

  private meter(t: Touch, window: number): Meter {
    const id = JSON.stringify([t.kind, t.resource, t.key]);
    let m = this.meters.get(id);
    if (!m) this.meters.set(id, (m = { window, admitted: 0, used: 0, demand: 0, maxAdmitted: 0, maxDemand: 0, throttled: 0 }));
    if (m.window !== window) {
      m.window = window;
      m.admitted = 0;
      m.used = 0;
      m.demand = 0;
    }
    return m;
  }

  private use(m: Meter, units: number): void {
    m.used += units;
    if (m.used > m.maxAdmitted) m.maxAdmitted = m.used;
  }

  private throttleBody(t: Touch): string {
    const [table, , index] = t.resource.split('/');
    const arn = `arn:aws:dynamodb:${this.options.region ?? 'us-east-1'}:${this.options.accountId ?? '123456789012'}:table/${table}${index ? `/index/${index}` : ''}`;
    const reason = `${index ? 'Index' : 'Table'}${t.kind === 'write' ? 'Write' : 'Read'}KeyRangeThroughputExceeded`;
    return JSON.stringify({
      __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
      message: 'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
      ThrottlingReasons: [{ reason, resource: arn }],
    });
  }
}
