/**
 * The directory of parked-failure families (contract/due-shards.ts parkedFamily): one small
 * item per (skip reason, state machine) that has ever parked a failure, listed under the
 * byDue value PARKED_DIRECTORY, so the drain finds the families without reading any
 * failure, and reads only those whose reason has changed (lambda/reconsider-parked.ts).
 *
 * A writer touches its family's entry before it parks a failure there (at most once per
 * TOUCH_EVERY_MS per instance: a release of 100,000 held failures as policy-disabled skips
 * must not write one item at that rate). The drain forgets an entry only when its family
 * is empty and nobody has touched it for FORGET_AFTER_MS, longer than any writer's cache
 * and any invocation; the delete is conditional on that age, so a writer that touched it
 * meanwhile keeps it.
 */
import { DeleteCommand, type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { PARKED_DIRECTORY, PARKED_DIRECTORY_SK, parkedFamily } from '../../contract/due-shards';
import { ifConditionHolds } from './conditional-write';
import { dueShardPages } from './due-index';

/** A writer re-touches its family's entry at most this often. */
export const TOUCH_EVERY_MS = 60_000;
/** An empty family's entry is removed once untouched this long (> TOUCH_EVERY_MS and any Lambda timeout). */
export const FORGET_AFTER_MS = 15 * 60_000;

export interface ParkedFamily {
  readonly reason: string;
  readonly stateMachineArn: string;
  /** The family's base value (its records are under `<base>#<k>`). */
  readonly base: string;
  /** When a writer last touched the entry (epoch ms). */
  readonly touchedAt: number;
}

export class ParkedDirectory {
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** Makes sure the family's entry exists (and is fresh) before a failure is parked in it. */
  async touch(reason: string, stateMachineArn: string, now: number): Promise<void> {
    const base = parkedFamily(reason, stateMachineArn);
    const last = this.touched.get(base);
    if (last !== undefined && now - last < TOUCH_EVERY_MS && now >= last) return;
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: base, sk: PARKED_DIRECTORY_SK },
        UpdateExpression: 'SET reason = :reason, stateMachineArn = :sm, dueShard = :dir, dueAt = :now',
        ExpressionAttributeValues: { ':reason': reason, ':sm': stateMachineArn, ':dir': PARKED_DIRECTORY, ':now': now },
      }),
    );
    this.touched.set(base, now);
  }

  /** Every family that has an entry. */
  async families(): Promise<ParkedFamily[]> {
    const out: ParkedFamily[] = [];
    for await (const page of dueShardPages(this.doc, this.tableName, PARKED_DIRECTORY)) {
      for (const item of page.items) {
        const reason = String(item.reason);
        const stateMachineArn = String(item.stateMachineArn);
        out.push({ reason, stateMachineArn, base: parkedFamily(reason, stateMachineArn), touchedAt: Number(item.dueAt) });
      }
    }
    return out;
  }

  /** Removes an empty family's entry, unless a writer touched it within FORGET_AFTER_MS of `now`. */
  async forget(family: ParkedFamily, now: number): Promise<boolean> {
    if (now - family.touchedAt < FORGET_AFTER_MS) return false;
    const out = await ifConditionHolds(
      this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: family.base, sk: PARKED_DIRECTORY_SK },
          ConditionExpression: 'dueAt <= :old',
          ExpressionAttributeValues: { ':old': now - FORGET_AFTER_MS },
          ReturnValues: 'ALL_OLD',
        }),
      ),
    );
    return out !== undefined;
  }
}
