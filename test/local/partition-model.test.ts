/**
 * The partition model (local/partition-model.ts) in front of dynalite, driven by the real
 * SDK: a partition key throttles above 1,000 write units in a second and not below; GSI
 * writes of sparse items count on the index's partition key; the throttle is an error the
 * SDK classifies as throttling (and retries); without a model nothing is limited.
 */
import { DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { LEDGER_TABLE } from '../../contract/table-definitions';
import { createTable, type LocalDynamo, startDynalite } from '../../local/dynamodb';
import { parseUpdateExpression, PartitionModel } from '../../local/partition-model';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const TABLE = 'ledger';
let now = Date.UTC(2026, 0, 1, 12, 0, 0);
const clock = () => now;

interface Setup {
  readonly dynamo: LocalDynamo;
  readonly client: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  readonly model?: PartitionModel;
}

async function setup(options: { model: boolean; maxAttempts?: number; limit?: number }): Promise<Setup> {
  const model = options.model ? new PartitionModel({ tables: { [TABLE]: LEDGER_TABLE }, clock, writeUnitsPerSecond: options.limit }) : undefined;
  const dynamo = await startDynalite({ partitionModel: model });
  const client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: options.maxAttempts ?? 1,
  });
  await createTable(client, TABLE, LEDGER_TABLE);
  return { dynamo, client, doc: DynamoDBDocumentClient.from(client), model };
}

const teardown = async (s: Setup) => {
  s.client.destroy();
  await s.dynamo.close();
};

/** Sends `n` writes, 20 at a time (all within one second of the model's clock); counts the outcomes. */
async function writes(s: Setup, n: number, item: (i: number) => Record<string, unknown>) {
  const results: PromiseSettledResult<unknown>[] = [];
  for (let i = 0; i < n; i += 20) {
    const batch = Array.from({ length: Math.min(20, n - i) }, (_, k) => s.doc.send(new PutCommand({ TableName: TABLE, Item: item(i + k) })));
    results.push(...(await Promise.allSettled(batch)));
  }
  return {
    ok: results.filter((r) => r.status === 'fulfilled').length,
    throttled: results.filter((r) => r.status === 'rejected' && (r.reason as Error).name === 'ProvisionedThroughputExceededException').length,
    other: results.filter((r) => r.status === 'rejected' && (r.reason as Error).name !== 'ProvisionedThroughputExceededException').map((r) => String((r as PromiseRejectedResult).reason)),
  };
}

describe('partition model', () => {
  test('a partition key takes up to the limit in a second, throttles above it, and takes more the next second', async () => {
    const s = await setup({ model: true, limit: 50 });
    try {
      const first = await writes(s, 60, (i) => ({ pk: 'HOT', sk: `S#${i}` }));
      expect(first).toEqual({ ok: 50, throttled: 10, other: [] });
      // Other keys are not affected.
      expect(await writes(s, 40, (i) => ({ pk: `COLD#${i % 4}`, sk: `S#${i}` }))).toEqual({ ok: 40, throttled: 0, other: [] });
      now += 1000;
      expect(await writes(s, 50, (i) => ({ pk: 'HOT', sk: `T#${i}` }))).toEqual({ ok: 50, throttled: 0, other: [] });
      const hot = s.model!.hotKeys().find((k) => k.resource === TABLE && k.key === 'HOT')!;
      expect(hot).toEqual({ resource: TABLE, key: 'HOT', writesPerSecond: 60, admittedWritesPerSecond: 50, throttledRequests: 10 });
    } finally {
      await teardown(s);
    }
  });

  test('the default limit is 1,000 write units per second per partition key, and items over 1 KB cost more', async () => {
    const s = await setup({ model: true });
    try {
      expect(await writes(s, 1000, (i) => ({ pk: 'HOT', sk: `S#${i}` }))).toMatchObject({ ok: 1000, throttled: 0 });
      expect(await writes(s, 1, (i) => ({ pk: 'HOT', sk: `X#${i}` }))).toMatchObject({ ok: 0, throttled: 1 });
      now += 1000;
      // 2.5 KB: 3 units each, so 333 fit in a second.
      const big = 'x'.repeat(2500);
      expect(await writes(s, 334, (i) => ({ pk: 'BIG', sk: `S#${i}`, big }))).toMatchObject({ ok: 333, throttled: 1 });
    } finally {
      await teardown(s);
    }
  });

  test('GSI writes count on the index partition key, only for items that carry the index keys (sparse), and throttle the base write', async () => {
    const s = await setup({ model: true, limit: 20 });
    try {
      const index = `${TABLE}/index/byDue`;
      // Distinct base keys, one index partition: the index is the bottleneck.
      const due = await writes(s, 25, (i) => ({ pk: `EXEC#${i}`, sk: 'FAILURE#0', dueShard: 'DUE', dueAt: i }));
      expect(due).toMatchObject({ ok: 20, throttled: 5 });
      // Items without the index keys do not touch the index.
      expect(await writes(s, 25, (i) => ({ pk: `OTHER#${i}`, sk: 'FAILURE#0', dueShard: 'DUE' }))).toMatchObject({ ok: 25, throttled: 0 });
      const dueKey = s.model!.hotKeys().find((k) => k.resource === index && k.key === 'DUE')!;
      expect(dueKey.writesPerSecond).toBe(25);
      expect(dueKey.admittedWritesPerSecond).toBe(20);

      now += 1000;
      // Moving an item to another index partition: a delete on the old one, a put on the new.
      await s.doc.send(new UpdateCommand({ TableName: TABLE, Key: { pk: 'EXEC#1', sk: 'FAILURE#0' }, UpdateExpression: 'SET #s = :s', ExpressionAttributeNames: { '#s': 'dueShard' }, ExpressionAttributeValues: { ':s': 'HELD#a' } }));
      // Leaving the index (REMOVE): a delete only.
      await s.doc.send(new UpdateCommand({ TableName: TABLE, Key: { pk: 'EXEC#2', sk: 'FAILURE#0' }, UpdateExpression: 'SET x = :x REMOVE dueShard, dueAt', ExpressionAttributeValues: { ':x': 1 } }));
      const second = (key: string) => s.model!.hotKeys().find((k) => k.resource === index && k.key === key);
      expect(second('HELD#a')?.writesPerSecond).toBe(1);
      expect(second('DUE')?.writesPerSecond).toBe(25); // the busiest second so far
      expect(s.model!.hottestPerResource().map((k) => k.resource).sort()).toEqual([TABLE, index]);
    } finally {
      await teardown(s);
    }
  });

  test('a write refused by its condition still consumes its units; the index is not written', async () => {
    const s = await setup({ model: true, limit: 5 });
    try {
      await s.doc.send(new PutCommand({ TableName: TABLE, Item: { pk: 'C', sk: 'X', dueShard: 'D', dueAt: 1 } }));
      const results = await Promise.allSettled(
        Array.from({ length: 4 }, () => s.doc.send(new PutCommand({ TableName: TABLE, Item: { pk: 'C', sk: 'X', dueShard: 'E', dueAt: 2 }, ConditionExpression: 'attribute_not_exists(pk)' }))),
      );
      expect(results.map((r) => (r.status === 'rejected' ? (r.reason as Error).name : 'ok'))).toEqual(Array(4).fill('ConditionalCheckFailedException'));
      // 5 units used on C: the next write throttles.
      expect(await writes(s, 1, () => ({ pk: 'C', sk: 'Y' }))).toMatchObject({ throttled: 1 });
      const e = s.model!.hotKeys().find((k) => k.key === 'E');
      expect(e?.admittedWritesPerSecond ?? 0).toBe(0);
    } finally {
      await teardown(s);
    }
  });

  test('the throttle is ProvisionedThroughputExceededException with a key-range reason, and the SDK retries it as throttling', async () => {
    const s = await setup({ model: true, limit: 1, maxAttempts: 3 });
    try {
      await s.doc.send(new PutCommand({ TableName: TABLE, Item: { pk: 'ONE', sk: 'a' } }));
      // The SDK's retries land in the same (frozen) second, so all three attempts are throttled.
      const error = await s.doc.send(new PutCommand({ TableName: TABLE, Item: { pk: 'ONE', sk: 'b' } })).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProvisionedThroughputExceededException);
      const e = error as ProvisionedThroughputExceededException & { $retryable?: { throttling?: boolean } };
      expect(e.$metadata.httpStatusCode).toBe(400);
      expect(e.$metadata.attempts).toBe(3);
      expect(e.ThrottlingReasons).toEqual([{ reason: 'TableWriteKeyRangeThroughputExceeded', resource: `arn:aws:dynamodb:us-east-1:123456789012:table/${TABLE}` }]);
      expect(s.model!.throttledRequests).toBe(3);
    } finally {
      await teardown(s);
    }
  }, 20_000);

  test('off by default: dynalite alone throttles nothing', async () => {
    const s = await setup({ model: false });
    try {
      expect(await writes(s, 1200, (i) => ({ pk: 'HOT', sk: `S#${i}` }))).toEqual({ ok: 1200, throttled: 0, other: [] });
    } finally {
      await teardown(s);
    }
  });

  test('UpdateExpression clauses: SET with functions and commas inside, REMOVE', () => {
    const { set, remove } = parseUpdateExpression('SET #s = :s, a = if_not_exists(a, :z), b = list_append(b, :l) REMOVE dueShard, dueAt ADD n :one');
    expect([...set]).toEqual([
      ['#s', ':s'],
      ['a', 'if_not_exists(a, :z)'],
      ['b', 'list_append(b, :l)'],
    ]);
    expect([...remove]).toEqual(['dueShard', 'dueAt']);
  });
});
