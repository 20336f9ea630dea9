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
 * Units (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html):
 * - PutItem / DeleteItem / UpdateItem: 1 write unit per started KB of item. UpdateItem costs
 *   the larger of the item's size before and after; the request alone does not tell the new
 *   size, so the CHOICE is: max(size last seen for the item, key + every value and name in
 *   the request). A write refused by its condition still consumes its units.
 * - TransactWriteItems: 2x per item (index writes 2x as well: conservative). BatchWriteItem:
 *   per item; a batch touching a throttled partition is refused whole (DynamoDB would return
 *   some UnprocessedItems instead; simplification).
 * - GSI writes (sparse: an item is in the index only with every index key attribute): one
 *   write of the item's size per index the item is in before or after the write (all
 *   attributes are projected, so any update of an indexed item rewrites its index entry);
 *   an update that changes the index key costs a delete on the old partition and a put on
 *   the new one. Which items are in which index is tracked from the writes that pass here
 *   (exact when every write goes through the model, as in the local runs).
 * - Reads: GetItem 1 unit per 4 KB (0.5 eventually consistent), Query charged on the queried
 *   partition for the bytes it returned (GSI queries are eventually consistent). Scan is not
 *   metered (no partition key).
 *
 * Time: fixed one-second windows (epoch seconds) on an injectable clock, so the simulated
 * benches (SimClock) meter simulated seconds. A fixed window admits up to twice the limit
 * across a boundary; DynamoDB's own metering interval is not documented.
 */
import type { TableDefinition } from '../contract/table-definitions';

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

type Kind = 'read' | 'write';
/** A field of an AWS JSON request body, read loosely (any DynamoDB operation's shape). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
type AttributeValue = Record<string, unknown>;
type Item = Record<string, AttributeValue>;

interface Touch {
  readonly resource: string;
  readonly key: string;
  readonly kind: Kind;
  units: number;
  /** An index write: made only if the base write succeeds. */
  readonly indexWrite: boolean;
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

/** What a request will do, and what to remember about the item if it succeeds. */
interface Plan {
  readonly touches: Touch[];
  readonly commit: Array<() => void>;
  /** A Query: charged by the bytes it returns. */
  readonly query?: { readonly touch: Touch; readonly consistent: boolean };
}

export interface Ticket {
  readonly plan: Plan;
}

export interface Throttle {
  readonly status: 400;
  readonly body: string;
}

const KB = 1024;
const valueText = (v: AttributeValue | undefined): string | undefined => {
  if (!v) return undefined;
  const s = v.S ?? v.N ?? v.B;
  return s === undefined ? undefined : String(s);
};
const sizeOf = (x: unknown) => (x === undefined ? 0 : JSON.stringify(x).length);

/** The `<path> = <expr>` and removed paths of an UpdateExpression, top level only. */
export function parseUpdateExpression(expression: string): { set: Map<string, string>; remove: Set<string> } {
  const set = new Map<string, string>();
  const remove = new Set<string>();
  const clauses = expression.split(/\b(SET|REMOVE|ADD|DELETE)\b/i);
  for (let i = 1; i < clauses.length; i += 2) {
    const verb = clauses[i].toUpperCase();
    const parts: string[] = [];
    let depth = 0;
    let start = 0;
    const body = clauses[i + 1] ?? '';
    for (let j = 0; j < body.length; j++) {
      if (body[j] === '(') depth++;
      else if (body[j] === ')') depth--;
      else if (body[j] === ',' && depth === 0) {
        parts.push(body.slice(start, j));
        start = j + 1;
      }
    }
    parts.push(body.slice(start));
    for (const part of parts.map((p) => p.trim()).filter(Boolean)) {
      if (verb === 'SET') {
        const eq = part.indexOf('=');
        if (eq > 0) set.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
      } else if (verb === 'REMOVE') remove.add(part);
    }
  }
  return { set, remove };
}

export class PartitionModel {
  private readonly meters = new Map<string, Meter>();
  /** Base item (table, pk, sk) -> its size and index key attributes, as last written. */
  private readonly items = new Map<string, { size: number; keys: Record<string, string> }>();
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
    const plan = this.plan(op, input);
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

  // --- what a request touches -----------------------------------------------------------------

  private plan(op: string, input: Record<string, Json>): Plan {
    const plan: Plan = { touches: [], commit: [] };
    switch (op) {
      case 'PutItem':
        this.planWrite(plan, input.TableName, 'put', input.Item, input, 1);
        break;
      case 'UpdateItem':
        this.planWrite(plan, input.TableName, 'update', input.Key, input, 1);
        break;
      case 'DeleteItem':
        this.planWrite(plan, input.TableName, 'delete', input.Key, input, 1);
        break;
      case 'BatchWriteItem':
        for (const [table, requests] of Object.entries((input.RequestItems ?? {}) as Record<string, Json[]>)) {
          for (const r of requests) {
            if (r.PutRequest) this.planWrite(plan, table, 'put', r.PutRequest.Item, {}, 1);
            else if (r.DeleteRequest) this.planWrite(plan, table, 'delete', r.DeleteRequest.Key, {}, 1);
          }
        }
        break;
      case 'TransactWriteItems':
        for (const t of (input.TransactItems ?? []) as Json[]) {
          if (t.Put) this.planWrite(plan, t.Put.TableName, 'put', t.Put.Item, t.Put, 2);
          else if (t.Update) this.planWrite(plan, t.Update.TableName, 'update', t.Update.Key, t.Update, 2);
          else if (t.Delete) this.planWrite(plan, t.Delete.TableName, 'delete', t.Delete.Key, t.Delete, 2);
          else if (t.ConditionCheck) this.planWrite(plan, t.ConditionCheck.TableName, 'check', t.ConditionCheck.Key, t.ConditionCheck, 2);
        }
        break;
      case 'GetItem':
        this.planRead(plan, input.TableName, input.Key, input.ConsistentRead === true, 1);
        break;
      case 'BatchGetItem':
        for (const [table, r] of Object.entries((input.RequestItems ?? {}) as Record<string, Json>)) {
          for (const key of r.Keys ?? []) this.planRead(plan, table, key, r.ConsistentRead === true, 1);
        }
        break;
      case 'TransactGetItems':
        for (const t of (input.TransactItems ?? []) as Json[]) if (t.Get) this.planRead(plan, t.Get.TableName, t.Get.Key, true, 2);
        break;
      case 'Query':
        this.planQuery(plan, input);
        break;
      default:
        break;
    }
    return plan;
  }

  private definition(table: string): TableDefinition | undefined {
    return this.options.tables[table];
  }

  private itemId(table: string, def: TableDefinition, key: Item): string {
    return JSON.stringify([table, valueText(key[def.partitionKey.name]), def.sortKey ? valueText(key[def.sortKey.name]) : '']);
  }

  private planRead(plan: Plan, table: string, key: Item, consistent: boolean, factor: number): void {
    const def = this.definition(table);
    const pk = def && valueText(key?.[def.partitionKey.name]);
    if (!def || pk === undefined) return;
    const size = this.items.get(this.itemId(table, def, key))?.size ?? 1;
    plan.touches.push({ resource: table, key: pk, kind: 'read', units: Math.ceil(size / (4 * KB)) * (consistent ? 1 : 0.5) * factor, indexWrite: false });
  }

  private planQuery(plan: Plan, input: Record<string, Json>): void {
    const def = this.definition(input.TableName);
    if (!def) return;
    const index = def.globalSecondaryIndexes?.find((i) => i.indexName === input.IndexName);
    const pkName = index ? index.partitionKey.name : def.partitionKey.name;
    const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
    const values = (input.ExpressionAttributeValues ?? {}) as Item;
    // `<pk> = :value`, the pk written as itself or as a #name.
    let key: string | undefined;
    for (const m of String(input.KeyConditionExpression ?? '').matchAll(/(#?[\w.]+)\s*=\s*(:[\w]+)/g)) {
      const name = m[1].startsWith('#') ? names[m[1]] : m[1];
      if (name === pkName) key = valueText(values[m[2]]);
    }
    if (key === undefined) return;
    const consistent = !index && input.ConsistentRead === true;
    const touch: Touch = { resource: index ? `${input.TableName}/index/${index.indexName}` : input.TableName, key, kind: 'read', units: consistent ? 1 : 0.5, indexWrite: false };
    plan.touches.push(touch);
    (plan as { query?: Plan['query'] }).query = { touch, consistent };
  }

  private planWrite(plan: Plan, table: string, kind: 'put' | 'update' | 'delete' | 'check', keyOrItem: Item, request: Record<string, Json>, factor: number): void {
    const def = this.definition(table);
    const pk = def && valueText(keyOrItem?.[def.partitionKey.name]);
    if (!def || pk === undefined) return;
    const id = this.itemId(table, def, keyOrItem);
    const before = this.items.get(id);
    const indexAttributes = new Set((def.globalSecondaryIndexes ?? []).flatMap((i) => [i.partitionKey.name, ...(i.sortKey ? [i.sortKey.name] : [])]));

    let size: number;
    let after: Record<string, string> | undefined;
    if (kind === 'put') {
      size = sizeOf(keyOrItem);
      after = {};
      for (const a of indexAttributes) {
        const v = valueText(keyOrItem[a]);
        if (v !== undefined) after[a] = v;
      }
    } else if (kind === 'update') {
      size = Math.max(before?.size ?? 0, sizeOf(keyOrItem) + sizeOf(request.ExpressionAttributeValues) + sizeOf(request.ExpressionAttributeNames));
      after = { ...(before?.keys ?? {}) };
      const names = (request.ExpressionAttributeNames ?? {}) as Record<string, string>;
      const values = (request.ExpressionAttributeValues ?? {}) as Item;
      const resolve = (path: string) => (path.startsWith('#') ? names[path] : path);
      const { set, remove } = parseUpdateExpression(String(request.UpdateExpression ?? ''));
      for (const [path, expr] of set) {
        const name = resolve(path);
        if (!name || !indexAttributes.has(name)) continue;
        const plain = /^:[\w]+$/.exec(expr);
        const ifNotExists = /^if_not_exists\s*\(\s*[#\w.]+\s*,\s*(:[\w]+)\s*\)$/.exec(expr);
        const v = plain ? valueText(values[expr]) : ifNotExists ? (after[name] ?? valueText(values[ifNotExists[1]])) : (after[name] ?? '?');
        if (v !== undefined) after[name] = v;
      }
      for (const path of remove) {
        const name = resolve(path);
        if (name) delete after[name];
      }
    } else {
      size = before?.size ?? sizeOf(keyOrItem);
      after = kind === 'delete' ? undefined : before?.keys;
    }

    plan.touches.push({ resource: table, key: pk, kind: 'write', units: Math.max(1, Math.ceil(size / KB)) * factor, indexWrite: false });
    if (kind === 'check') return;
    for (const index of def.globalSecondaryIndexes ?? []) {
      const inIndex = (keys: Record<string, string> | undefined) =>
        keys !== undefined && keys[index.partitionKey.name] !== undefined && (!index.sortKey || keys[index.sortKey.name] !== undefined);
      const resource = `${table}/index/${index.indexName}`;
      const wasIn = inIndex(before?.keys);
      const isIn = inIndex(after);
      const oldKey = wasIn ? before!.keys[index.partitionKey.name] : undefined;
      const newKey = isIn ? after![index.partitionKey.name] : undefined;
      const entryUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / KB)) * factor;
      if (oldKey !== undefined && oldKey !== newKey) plan.touches.push({ resource, key: oldKey, kind: 'write', units: entryUnits(before!.size), indexWrite: true });
      if (newKey !== undefined) plan.touches.push({ resource, key: newKey, kind: 'write', units: entryUnits(size), indexWrite: true });
    }
    plan.commit.push(() => {
      if (kind === 'delete') this.items.delete(id);
      else this.items.set(id, { size, keys: after ?? {} });
    });
  }
}
