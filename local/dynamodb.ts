/**
 * DynamoDB for local runs and tests: dynalite (pure JS, in memory) on a loopback port,
 * with tables created from the same definitions the CDK stack uses.
 */
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, type DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import type { TableDefinition } from '../contract/table-definitions';
import type { PartitionModel } from './partition-model';
import { withPartitionModel } from './partition-listener';

// dynalite ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite') as (options: Record<string, unknown>) => import('node:http').Server;

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
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
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
  if (def.timeToLiveAttribute) {
    // dynalite accepts but does not enforce TTL; the call keeps the setup identical.
    await client
      .send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { AttributeName: def.timeToLiveAttribute, Enabled: true } }))
      .catch(() => undefined);
  }
}
