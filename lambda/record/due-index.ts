/**
 * Reading the ledger's sparse `byDue` index (contract/table-definitions.ts): pending
 * redrives and claims, held failures and open breakers each live under their own
 * partition values, the first three write-sharded (contract/due-shards.ts). A family is
 * read as one stream: every shard (and the legacy unsharded value) merged in dueAt order.
 *
 * Shard count changes between deploys: records keep the value they were written with, so
 * readers read every shard any writer has used. The highest shard count ever written is
 * recorded in one control item, raised by a writer before its first write (one read per
 * Lambda instance; a write only the first time a larger count is deployed), and readers
 * read max(their own count, the recorded one) shards.
 */
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, type QueryCommandInput, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { familyValues, shardValueOf } from '../../contract/due-shards';
import { ifConditionHolds } from './conditional-write';

export const DUE_INDEX = 'byDue';

/** Control item holding the highest shard count any writer has used. */
export const INDEX_SHARDS_KEY = { pk: 'CONTROL', sk: 'INDEX-SHARDS' } as const;

/** How long a reader reuses the recorded shard count (it changes only on a deploy). */
const RECORDED_TTL_MS = 60_000;

/** Every page of one partition value, in due order; `options` narrows what each page returns. */
export async function* dueShardPages(
  doc: DynamoDBDocumentClient,
  tableName: string,
  shard: string,
  options: Pick<QueryCommandInput, 'Select' | 'ProjectionExpression'> = {},
): AsyncGenerator<{ items: Record<string, unknown>[]; count: number }> {
  let start: Record<string, unknown> | undefined;
  do {
    const out = await doc.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: DUE_INDEX,
        KeyConditionExpression: 'dueShard = :shard',
        ExpressionAttributeValues: { ':shard': shard },
        ExclusiveStartKey: start,
        ...options,
      }),
    );
    yield { items: out.Items ?? [], count: out.Count ?? 0 };
    start = out.LastEvaluatedKey;
  } while (start);
}

export interface MergedQuery {
  /** Only items due at or before (`dueAt <= `). */
  readonly dueAtMost?: number;
  /** Only items due strictly before (`dueAt < `). */
  readonly dueBefore?: number;
  /** Only this state machine's (a filter). */
  readonly stateMachineArn?: string;
  /** Items per Query page of each value. @default 100 */
  readonly pageSize?: number;
}

interface Cursor {
  readonly shard: string;
  buffer: Record<string, unknown>[];
  start: Record<string, unknown> | undefined;
  done: boolean;
}

/**
 * The items of several partition values as one stream in dueAt order (a k-way merge). Each
 * value is read a page at a time, and only when its next item is needed, so a caller that
 * stops after n items has read at most n + one page per value.
 */
export async function* mergedShards(doc: DynamoDBDocumentClient, tableName: string, shards: readonly string[], query: MergedQuery = {}): AsyncGenerator<Record<string, unknown>> {
  const values: Record<string, unknown> = {};
  let range = '';
  if (query.dueAtMost !== undefined) [range, values[':at']] = [' AND dueAt <= :at', query.dueAtMost];
  if (query.dueBefore !== undefined) [range, values[':at']] = [' AND dueAt < :at', query.dueBefore];
  if (query.stateMachineArn !== undefined) values[':sm'] = query.stateMachineArn;
  const fill = async (c: Cursor) => {
    // A filtered page may come back empty with a next key: read on until an item or the end.
    while (c.buffer.length === 0 && !c.done) {
      const out = await doc.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: DUE_INDEX,
          KeyConditionExpression: `dueShard = :shard${range}`,
          FilterExpression: query.stateMachineArn !== undefined ? 'stateMachineArn = :sm' : undefined,
          ExpressionAttributeValues: { ...values, ':shard': c.shard },
          Limit: query.pageSize ?? 100,
          ExclusiveStartKey: c.start,
        }),
      );
      c.buffer = out.Items ?? [];
      c.start = out.LastEvaluatedKey;
      c.done = c.start === undefined;
    }
  };
  const cursors: Cursor[] = shards.map((shard) => ({ shard, buffer: [], start: undefined, done: false }));
  await Promise.all(cursors.map(fill));
  for (;;) {
    let next: Cursor | undefined;
    for (const c of cursors) if (c.buffer.length > 0 && (!next || Number(c.buffer[0].dueAt) < Number(next.buffer[0].dueAt))) next = c;
    if (!next) return;
    yield next.buffer.shift()!;
    if (next.buffer.length === 0) await fill(next);
  }
}

/** How many items the partition values hold together (one COUNT Query per value and page, all values at once). */
export async function countShards(doc: DynamoDBDocumentClient, tableName: string, shards: readonly string[]): Promise<number> {
  const counts = await Promise.all(
    shards.map(async (shard) => {
      let n = 0;
      for await (const page of dueShardPages(doc, tableName, shard, { Select: 'COUNT' })) n += page.count;
      return n;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/**
 * The shard count this instance writes with, and the partition values readers read. One
 * per ledger; shared by its writes and reads.
 */
export class IndexShards {
  private recorded: Promise<void> | undefined;
  private readCache: { count: number; at: number } | undefined;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Shards this instance writes (contract/due-shards.ts indexShardsFor). */
    readonly count: number,
    private readonly clock: () => number = Date.now,
  ) {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`index shard count must be a positive integer, got ${count}`);
  }

  /** The value `executionArn`'s record takes in family `base`, once the count is recorded for readers. */
  async valueFor(base: string, executionArn: string): Promise<string> {
    await this.ensureRecorded();
    return shardValueOf(base, executionArn, this.count);
  }

  /** Every value of family `base` a reader must read: the legacy one and each shard ever written. */
  async readValues(base: string): Promise<string[]> {
    return familyValues(base, Math.max(this.count, await this.recordedCount()));
  }

  /** The highest shard count any writer has used (0: none recorded, only legacy values or shard 0). */
  async recordedCount(): Promise<number> {
    const now = this.clock();
    if (this.readCache && now - this.readCache.at < RECORDED_TTL_MS && now >= this.readCache.at) return this.readCache.count;
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: INDEX_SHARDS_KEY, ConsistentRead: true }));
    const count = Number(out.Item?.shards ?? 0);
    this.readCache = { count, at: now };
    return count;
  }

  /**
   * Raises the recorded count to this instance's before its first sharded write. Every
   * reader reads shard 0, so one shard needs no record. Memoized; a failure is retried by
   * the next write.
   */
  private ensureRecorded(): Promise<void> {
    if (this.count === 1) return Promise.resolve();
    this.recorded ??= this.raise().catch((e: unknown) => {
      this.recorded = undefined;
      throw e;
    });
    return this.recorded;
  }

  private async raise(): Promise<void> {
    if ((await this.recordedCount()) >= this.count) return;
    // Conditional: never lowers a count another writer raised further.
    await ifConditionHolds(
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: INDEX_SHARDS_KEY,
          UpdateExpression: 'SET shards = :n',
          ConditionExpression: 'attribute_not_exists(shards) OR shards < :n',
          ExpressionAttributeValues: { ':n': this.count },
        }),
      ),
    );
    this.readCache = undefined;
  }
}
