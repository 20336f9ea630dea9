/**
 * The policy table as redrivectl sees it: items read the way the Lambda reads them
 * (itemFromDynamo + parsePolicyItem from lambda/policy), written with an optimistic
 * check so two people editing the same policy cannot overwrite each other unseen.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  TransactWriteItemsCommand,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { itemFromDynamo } from '../lambda/policy/policy-source';
import { parsePolicyItem, type PolicyIssue, type PolicyParseResult } from '../contract/policy-schema';
import { failed } from './errors';

export interface StoredPolicy {
  readonly key: string;
  /** The item as stored, as plain JSON. */
  readonly item: Record<string, unknown>;
  readonly parsed: PolicyParseResult;
  /** Invalid fields, including a malformed key. Empty when the item is valid. */
  readonly issues: readonly PolicyIssue[];
}

/** Every problem of one plain item, the key included (the shared schema checks it). */
export function checkItem(item: unknown): { parsed: PolicyParseResult; issues: PolicyIssue[] } {
  const parsed = parsePolicyItem(item);
  return { parsed, issues: parsed.ok ? [] : [...parsed.error.issues] };
}

function fromRaw(raw: Record<string, AttributeValue>): StoredPolicy {
  const key = raw.stateMachine?.S ?? '(no stateMachine key)';
  try {
    const item = itemFromDynamo(raw);
    const { parsed, issues } = checkItem(item);
    return { key, item, parsed, issues };
  } catch (e) {
    const issue = { field: '(item)', message: `cannot be read: ${(e as Error).message}` };
    return { key, item: {}, parsed: parsePolicyItem(undefined), issues: [issue] };
  }
}

/** Expected state of an item when writing: absent, or present with this updatedAt (null: none). */
export type Expectation = { readonly exists: false } | { readonly exists: true; readonly updatedAt: string | null };

export function expectationOf(stored: StoredPolicy | undefined): Expectation {
  if (!stored) return { exists: false };
  const u = stored.item.updatedAt;
  return { exists: true, updatedAt: typeof u === 'string' ? u : null };
}

function condition(expect: Expectation) {
  if (!expect.exists) return { ConditionExpression: 'attribute_not_exists(stateMachine)' };
  if (expect.updatedAt === null) return { ConditionExpression: 'attribute_exists(stateMachine) AND attribute_not_exists(updatedAt)' };
  return { ConditionExpression: 'updatedAt = :u', ExpressionAttributeValues: { ':u': { S: expect.updatedAt } } };
}

const isConditionFailure = (e: unknown) =>
  e instanceof ConditionalCheckFailedException || (e as { name?: string }).name === 'ConditionalCheckFailedException';

export class PolicyStore {
  constructor(
    private readonly client: DynamoDBClient,
    readonly tableName: string,
  ) {}

  async list(): Promise<StoredPolicy[]> {
    const out: StoredPolicy[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(new ScanCommand({ TableName: this.tableName, ExclusiveStartKey: start, ConsistentRead: true }));
      for (const raw of page.Items ?? []) out.push(fromRaw(raw));
      start = page.LastEvaluatedKey;
    } while (start);
    return out.sort((a, b) => a.key.localeCompare(b.key));
  }

  async get(key: string): Promise<StoredPolicy | undefined> {
    const out = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { stateMachine: { S: key } }, ConsistentRead: true }),
    );
    return out.Item ? fromRaw(out.Item) : undefined;
  }

  /** Writes the items if none changed since they were read; all or nothing where DynamoDB allows. */
  async putAll(writes: ReadonlyArray<{ item: Record<string, unknown>; expect: Expectation }>): Promise<void> {
    if (writes.length > 1 && writes.length <= 100) {
      const items: TransactWriteItem[] = writes.map((w) => ({
        Put: { TableName: this.tableName, Item: marshall(w.item, { removeUndefinedValues: true }), ...condition(w.expect) },
      }));
      try {
        await this.client.send(new TransactWriteItemsCommand({ TransactItems: items }));
        return;
      } catch (e) {
        const name = (e as { name?: string }).name;
        if (name === 'TransactionCanceledException') {
          throw failed(`policy table ${this.tableName}: a policy changed while you were editing (nothing was written); run the command again`);
        }
        // Stores without transactions (dynalite): every item was validated already, so
        // write them one by one.
        if (name !== 'UnknownOperationException') throw e;
      }
    }
    for (const w of writes) {
      try {
        await this.client.send(
          new PutItemCommand({ TableName: this.tableName, Item: marshall(w.item, { removeUndefinedValues: true }), ...condition(w.expect) }),
        );
      } catch (e) {
        if (isConditionFailure(e)) {
          throw failed(`policy '${String(w.item.stateMachine)}': changed in table ${this.tableName} while you were editing (not written); run the command again`);
        }
        throw e;
      }
    }
  }

  async delete(key: string, expect: Expectation): Promise<void> {
    try {
      await this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: { stateMachine: { S: key } }, ...condition(expect) }));
    } catch (e) {
      if (isConditionFailure(e)) throw failed(`policy '${key}': changed in table ${this.tableName} since it was read (not deleted); run the command again`);
      throw e;
    }
  }
}
