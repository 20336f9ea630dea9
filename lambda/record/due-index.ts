/**
 * Reading one shard of the ledger's sparse `byDue` index (contract/table-definitions.ts)
 * to its end: pending redrives and claims, held failures and open breakers each live
 * under their own shard value.
 */
import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';

export const DUE_INDEX = 'byDue';

/** Every page of `shard`, in due order; `options` narrows what each page returns. */
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
