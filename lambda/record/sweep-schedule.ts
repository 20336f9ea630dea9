/**
 * When the reconciliation sweep last ran. The drain runs every minute; the sweep only
 * every few minutes, and a conditional write makes sure one drain runs it, not several.
 */
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ifConditionHolds } from './conditional-write';

export class SweepSchedule {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * Claims the sweep if it is due. `previousRunAt` lets the sweep cover only what changed
   * since the last run (plus an overlap) instead of the whole look-back every time.
   */
  async claimRun(now: number, everyMs: number): Promise<{ claimed: boolean; previousRunAt?: number }> {
    const out = await ifConditionHolds(
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: 'CONTROL', sk: 'SWEEP' },
          UpdateExpression: 'SET lastRunAt = :now',
          ConditionExpression: 'attribute_not_exists(lastRunAt) OR lastRunAt <= :threshold',
          ExpressionAttributeValues: { ':now': now, ':threshold': now - everyMs },
          ReturnValues: 'UPDATED_OLD',
        }),
      ),
    );
    return out ? { claimed: true, previousRunAt: out.Attributes?.lastRunAt as number | undefined } : { claimed: false };
  }
}
