/**
 * When the reconciliation sweep last ran. The drain runs every minute; the sweep only
 * every few minutes, and a conditional write makes sure one drain runs it, not several.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';

export class SweepSchedule {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** true if the sweep is due and this caller now owns the run. */
  async claimRun(now: number, everyMs: number): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: 'CONTROL', sk: 'SWEEP' },
          UpdateExpression: 'SET lastRunAt = :now',
          ConditionExpression: 'attribute_not_exists(lastRunAt) OR lastRunAt <= :threshold',
          ExpressionAttributeValues: { ':now': now, ':threshold': now - everyMs },
        }),
      );
      return true;
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException || (e as { name?: string }).name === 'ConditionalCheckFailedException') return false;
      throw e;
    }
  }
}
