/**
 * DynamoDB for local runs and tests: dynalite (pure JS, in memory) on a loopback port,
 * with tables created from the same definitions the CDK stack uses.
 */
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, type DynamoDBClient, UpdateTimeToLiveCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import type { TableDefinition } from '../contract/table-definitions';
import type { PartitionModel } from './partition-model';
import { withPartitionModel } from './partition-listener';

// dynalite ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite') as (options: Record<string, unknown>) => import('node:http').Server;

/**
 * dynalite's value streams (Query, Scan) close their memory-level iterator through
 * `iterator.return()`, which abstract-level's iterators do not have: every Query left its
 * iterator open, and each open iterator holds the version of the table's tree it started
 * on. Over a long run every old version stayed reachable (the 100,000-failure storm grew to
 * 7 GB, most of it, and most of its time, garbage collection of those). `return()` closes it.
 */
export function closeDynaliteIterators(): void {
  // The abstract-level that dynalite's memory-level extends (not a dependency of ours).
  const memoryLevel = require.resolve('memory-level', { paths: [require.resolve('dynalite')] });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const level = require(require.resolve('abstract-level', { paths: [memoryLevel] })) as Record<string, { prototype: { close(): Promise<void>; return?: () => Promise<void> } }>;
  for (const name of ['AbstractIterator', 'AbstractKeyIterator', 'AbstractValueIterator']) {
    level[name].prototype.return ??= function (this: { close(): Promise<void> }) {
      return this.close();
    };
  }
}

/** A dynalite server (not listening yet) with the settings every local run uses. */
export function dynaliteServer(): import('node:http').Server {
  closeDynaliteIterators();
  return dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
}

export interface LocalDynamo {
  readonly endpoint: string;
  close(): Promise<void>;
}

export interface DynaliteOptions {
  /**
   * DynamoDB's per-partition throughput limits (local/partition-model.ts) in front of
   * dynalite. @default none: dynalite has no limits
   */
  readonly partitionModel?: PartitionModel;
}

export async function startDynalite(options: DynaliteOptions = {}): Promise<LocalDynamo> {
  const server = dynaliteServer();
  if (options.partitionModel) {
    const [listener] = server.listeners('request') as Array<Parameters<typeof withPartitionModel>[0]>;
    server.removeAllListeners('request');
    server.on('request', withPartitionModel(listener, options.partitionModel));
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export async function createTable(client: DynamoDBClient, tableName: string, def: TableDefinition): Promise<void> {
  const attributes = new Map<string, 'S' | 'N'>();
  const keySchema = (pk: { name: string; type: 'S' | 'N' }, sk?: { name: string; type: 'S' | 'N' }) => {
    attributes.set(pk.name, pk.type);
    if (sk) attributes.set(sk.name, sk.type);
    return [{ AttributeName: pk.name, KeyType: 'HASH' as const }, ...(sk ? [{ AttributeName: sk.name, KeyType: 'RANGE' as const }] : [])];
  };
  const tableKeys = keySchema(def.partitionKey, def.sortKey);
  const indexes = (def.globalSecondaryIndexes ?? []).map((gsi) => ({
    IndexName: gsi.indexName,
    KeySchema: keySchema(gsi.partitionKey, gsi.sortKey),
    Projection: { ProjectionType: 'ALL' as const },
  }));
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: tableKeys,
      AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })),
      GlobalSecondaryIndexes: indexes.length ? indexes : undefined,
    }),
  );
  // CreateTable answers while the table is still CREATING, and a request to a table that
  // is not ACTIVE fails with ResourceNotFoundException, on DynamoDB as on dynalite (whose
  // `createTableMs: 0` still flips the status on a later turn: a loaded CI runner lost
  // that race). The waiter checks at once, then polls DescribeTable.
  await waitUntilTableExists({ client, minDelay: 0.05, maxDelay: 1, maxWaitTime: 60 }, { TableName: tableName });
  if (def.timeToLiveAttribute) {
    // dynalite accepts but does not enforce TTL; the call keeps the setup identical.
    await client
      .send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { AttributeName: def.timeToLiveAttribute, Enabled: true } }))
      .catch(() => undefined);
  }
}
