/**
 * The redrive budget's item (contract/budget.ts): read consistently, written only under a
 * condition on its version, so concurrent lessees never grant past the budget. One write
 * per lease (lambda/act/redrive-budget.ts), never one per redrive.
 */
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { BUDGET_SK, budgetPk } from '../../contract/budget';
import { isConditionFailure } from './conditional-write';

/** One state machine's budget item as read (version 0: no item yet). */
export interface BudgetView {
  readonly version: number;
  /** Minute bucket -> redrives leased in it (the last BUDGET_WINDOW_BUCKETS). */
  readonly leased: Readonly<Record<string, number>>;
  /** When the budget was last found used up (epoch ms), or null. */
  readonly reachedAt: number | null;
}

export interface BudgetWrite {
  readonly leased: Readonly<Record<string, number>>;
  readonly reachedAt: number | null;
}

/** The view after the write, or on a lost race `{ conflict }` with the current view when the store returns it. */
export type BudgetWriteResult = BudgetView | { readonly conflict: BudgetView | undefined };

export interface BudgetStore {
  read(stateMachineArn: string): Promise<BudgetView>;
  /** Writes if the version is still `expectedVersion`. */
  write(stateMachineArn: string, expectedVersion: number, next: BudgetWrite, now: number): Promise<BudgetWriteResult>;
}

/** An unused budget item expires this long after its last write (its window is an hour). */
const ITEM_TTL_SECONDS = 2 * 3600;

export class DynamoBudgetStore implements BudgetStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async read(stateMachineArn: string): Promise<BudgetView> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: keyOf(stateMachineArn), ConsistentRead: true }));
    return viewOf(out.Item);
  }

  async write(stateMachineArn: string, expectedVersion: number, next: BudgetWrite, now: number): Promise<BudgetWriteResult> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keyOf(stateMachineArn),
          UpdateExpression: 'SET g = :g, v = :next, reachedAt = :r, stateMachineArn = :sm, expiresAt = :ttl',
          ConditionExpression: expectedVersion === 0 ? 'attribute_not_exists(v)' : 'v = :v',
          ExpressionAttributeValues: {
            ':g': next.leased,
            ':next': expectedVersion + 1,
            ':r': next.reachedAt,
            ':sm': stateMachineArn,
            ':ttl': Math.floor(now / 1000) + ITEM_TTL_SECONDS,
            ...(expectedVersion === 0 ? {} : { ':v': expectedVersion }),
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { version: expectedVersion + 1, leased: next.leased, reachedAt: next.reachedAt };
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
      // DynamoDB returns the current item; stores that do not (dynalite) cost one read.
      const item = (e as { Item?: Record<string, never> }).Item;
      return { conflict: item ? viewOf(unmarshall(item)) : undefined };
    }
  }
}

const keyOf = (stateMachineArn: string) => ({ pk: budgetPk(stateMachineArn), sk: BUDGET_SK });

function viewOf(item: Record<string, unknown> | undefined): BudgetView {
  if (!item || typeof item.v !== 'number') return { version: 0, leased: {}, reachedAt: null };
  return { version: item.v, leased: (item.g ?? {}) as Record<string, number>, reachedAt: typeof item.reachedAt === 'number' ? item.reachedAt : null };
}
