/** The local dynalite (local/dynamodb.ts): tables are ACTIVE before use; Query and Scan iterators are closed once read. */
import type { AddressInfo } from 'node:net';
import { DescribeTableCommand, DynamoDBClient, PutItemCommand, QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { LEDGER_TABLE } from '../../contract/table-definitions';
import { createTable, startDynalite } from '../../local/dynamodb';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

// The memory-level dynalite stores its tables in (resolved from dynalite, as local/dynamodb.ts does).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { MemoryLevel } = require(require.resolve('memory-level', { paths: [require.resolve('dynalite')] })) as {
  MemoryLevel: { prototype: Record<string, (...args: unknown[]) => { _close: (...args: unknown[]) => Promise<void> }> };
};

test('every Query and Scan closes its iterator (an open one keeps an old version of the table alive)', async () => {
  const counts = { opened: 0, closed: 0 };
  const original = MemoryLevel.prototype._values;
  MemoryLevel.prototype._values = function (this: unknown, ...args: unknown[]) {
    const iterator = original.apply(this, args);
    counts.opened++;
    const close = iterator._close.bind(iterator);
    iterator._close = (...a: unknown[]) => {
      counts.closed++;
      return close(...a);
    };
    return iterator;
  };
  const dynamo = await startDynalite();
  const client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  try {
    await createTable(client, 'iterators', LEDGER_TABLE);
    for (let i = 0; i < 5; i++) await client.send(new PutItemCommand({ TableName: 'iterators', Item: { pk: { S: 'p' }, sk: { S: `s${i}` } } }));
    const query = (limit?: number) =>
      client.send(new QueryCommand({ TableName: 'iterators', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'p' } }, Limit: limit }));
    expect((await query()).Items).toHaveLength(5);
    expect((await query(2)).Items).toHaveLength(2);
    expect((await client.send(new ScanCommand({ TableName: 'iterators' }))).Items).toHaveLength(5);
    // Closing is asynchronous: give it a turn.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(counts.opened).toBeGreaterThanOrEqual(3);
    expect(counts.closed).toBe(counts.opened);
  } finally {
    MemoryLevel.prototype._values = original;
    client.destroy();
    await dynamo.close();
  }
});

test('createTable returns once the table is ACTIVE (a PutItem to a CREATING table is ResourceNotFoundException)', async () => {
  // A dynalite that keeps new tables CREATING for 300 ms, as DynamoDB keeps them for seconds.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const server = (require('dynalite') as (o: Record<string, unknown>) => import('node:http').Server)({ createTableMs: 300 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  try {
    await createTable(client, 'slow', LEDGER_TABLE);
    expect((await client.send(new DescribeTableCommand({ TableName: 'slow' }))).Table?.TableStatus).toBe('ACTIVE');
    await client.send(new PutItemCommand({ TableName: 'slow', Item: { pk: { S: 'p' }, sk: { S: 's' } } }));
  } finally {
    client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
