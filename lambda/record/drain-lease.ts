/**
 * One drain run at a time, without reserved concurrency (which a new account's quota may
 * not allow): a lease item in the ledger table, taken with a conditional write. A run
 * holds the lease until its Lambda's deadline, so a live run is never overtaken; a run
 * that crashed leaves a lease that expires at that deadline, and the first tick after it
 * takes over. Overlapping ticks are otherwise harmless but wasteful: claims already keep
 * two runs from redriving the same record.
 */
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ifConditionHolds, isConditionFailure } from './conditional-write';

const KEY = { pk: 'CONTROL', sk: 'DRAIN_LEASE' };

/** Clock difference tolerated between two Lambda hosts. */
export const LEASE_MARGIN_MS = 5_000;

export interface LeaseHolder {
  readonly holder: string;
  /** Epoch ms. */
  readonly until: number;
}

export type LeaseResult =
  /** `expired`: the lease of a run that did not release it (a crash or a timeout), taken over. */
  | { readonly acquired: true; readonly expired: LeaseHolder | undefined }
  | { readonly acquired: false; readonly heldBy: LeaseHolder | undefined };

export class DrainLease {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** Takes the lease for `holder` until `until` (epoch ms) if it is free, expired, or already its own. */
  async acquire(holder: string, now: number, until: number): Promise<LeaseResult> {
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: KEY,
          UpdateExpression: 'SET holder = :holder, leaseUntil = :until, takenAt = :now',
          ConditionExpression: 'attribute_not_exists(leaseUntil) OR leaseUntil <= :now OR holder = :holder',
          ExpressionAttributeValues: { ':holder': holder, ':until': until, ':now': now },
          ReturnValues: 'UPDATED_OLD',
        }),
      );
      const old = out.Attributes;
      const expired = old?.holder !== undefined && old.holder !== holder ? { holder: String(old.holder), until: Number(old.leaseUntil) } : undefined;
      return { acquired: true, expired };
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
      return { acquired: false, heldBy: await this.current() };
    }
  }

  /** Gives the lease back, unless another run has taken it over meanwhile. */
  async release(holder: string): Promise<void> {
    await ifConditionHolds(
      this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: KEY, ConditionExpression: 'holder = :holder', ExpressionAttributeValues: { ':holder': holder } })),
    );
  }

  async current(): Promise<LeaseHolder | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: KEY, ConsistentRead: true }));
    return out.Item ? { holder: String(out.Item.holder), until: Number(out.Item.leaseUntil) } : undefined;
  }
}
