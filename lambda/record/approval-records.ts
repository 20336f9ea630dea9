/**
 * The writes of approval before redrive (contract/approval.ts) on a failure held for
 * approval: each conditional on the record still being held for it, so an approval never
 * lands on a failure that was rejected, given up or redriven meanwhile, and a rejection
 * never skips one that was approved and released.
 */
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { AWAITING_APPROVAL } from '../../contract/approval';
import { ifConditionHolds } from './conditional-write';
import { executionPk, failureSk, recordExpiresAt } from './failure-record';

type FailureKey = { readonly executionArn: string; readonly redriveCount: number };

const HELD_FOR_APPROVAL = '#state = :held AND reason = :awaiting';

export class ApprovalRecords {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly retentionDays: number,
  ) {}

  /** The `Approval Requested` event was sent for this hold: a repeated delivery does not send it again. */
  async markRequested(f: FailureKey, at: number): Promise<boolean> {
    return this.update(f, 'SET approvalRequestedAt = :at', { ':at': at });
  }

  /** Records the person's approval (`approvedBy`, `approvedAt`); false when it is no longer held for approval. */
  async approve(f: FailureKey, by: string, at: number): Promise<boolean> {
    return this.update(f, 'SET approvedBy = :by, approvedAt = :at', { ':by': by, ':at': at });
  }

  /**
   * Settles it as a skip `rejected`, with who rejected it and why (the audit entry says so
   * too); it leaves the held family and keeps the audit retention's TTL.
   */
  async reject(f: FailureKey, by: string, why: string, at: number): Promise<boolean> {
    return this.update(
      f,
      'SET #state = :skipped, reason = :rejected, rejectedBy = :by, rejectedWhy = :why, updatedAt = :at, expiresAt = :ttl REMOVE dueShard, dueAt',
      { ':skipped': 'skipped', ':rejected': 'rejected', ':by': by, ':why': why, ':at': at, ':ttl': recordExpiresAt(at, this.retentionDays) },
    );
  }

  private async update(f: FailureKey, expression: string, values: Record<string, unknown>): Promise<boolean> {
    const out = await ifConditionHolds(
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: executionPk(f.executionArn), sk: failureSk(f.redriveCount) },
          UpdateExpression: expression,
          ConditionExpression: HELD_FOR_APPROVAL,
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':held': 'held', ':awaiting': AWAITING_APPROVAL, ...values },
          ReturnValues: 'NONE',
        }),
      ),
    );
    return out !== undefined;
  }
}
