/**
 * Policy items deployed by CloudFormation (the RedrivePolicy custom resource): what a
 * Create, Update or Delete request does to the policy table. Every item is validated
 * with the schema the controller and redrivectl use before anything is written.
 *
 * - Create writes the item; an item already there is replaced and reported, unless
 *   another stack manages it (two stacks would overwrite each other on every deploy).
 * - Update writes the new item. A changed key gets a new physical id, so CloudFormation
 *   deletes the old key's item afterwards (cleanup phase): the new one is written first.
 *   An item changed by hand since the last deploy is overwritten and reported.
 * - Delete removes the item if this resource still manages it. It never fails on what
 *   the properties hold: a failed Create is rolled back with a Delete of the same
 *   properties, and a Delete that failed would leave the stack stuck.
 */
import { createHash } from 'node:crypto';
import { DeleteItemCommand, type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { parsePolicyItem, policyItemSchema } from '../../contract/policy-schema';
import { policyKeyProblem } from '../../contract/policy-key';
import { MANAGED_UPDATED_BY, managingStack, type PolicyResourceProperties } from '../../contract/policy-resource';
import { METRIC } from '../../contract/metrics';
import type { Log, MetricsRecorder } from '../observability/telemetry';
import { itemFromDynamo } from './policy-source';
import { isConditionFailure } from '../record/conditional-write';

/** The CloudFormation custom resource request, as far as it is used here. */
export interface PolicyResourceRequest {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: PolicyResourceProperties & { readonly ServiceToken?: string };
  readonly OldResourceProperties?: PolicyResourceProperties;
}

export interface PolicyResourceResult {
  readonly physicalResourceId: string;
  /** Attributes of the resource (strings): Key, and OverwrittenFields when a hand edit was overwritten. */
  readonly data: Record<string, string>;
}

/** A request the resource refuses; CloudFormation shows the message as the failure reason. */
export class PolicyResourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyResourceError';
  }
}

/** Fields that say who wrote an item, not what the policy is. */
const META_FIELDS = new Set(['updatedAt', 'updatedBy']);

type Item = Record<string, unknown>;

/** The item as validated and normalized by the shared schema (CloudFormation sends "5" for 5). */
export function normalizedItem(policy: unknown): Item {
  const parsed = parsePolicyItem(policy);
  if (!parsed.ok) throw parsed.error;
  const item = policyItemSchema.parse(policy) as Item;
  for (const f of META_FIELDS) delete item[f];
  return item;
}

/** Fields whose values differ between two items, meta fields aside. */
export function changedFields(a: Item, b: Item): string[] {
  const fields = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((f) => !META_FIELDS.has(f));
  return fields.filter((f) => JSON.stringify(a[f]) !== JSON.stringify(b[f])).sort();
}

/** CloudFormation physical ids are at most 1 KB; keys may be longer. */
function physicalIdOf(key: string): string {
  return key.length <= 1000 ? key : `sha256:${createHash('sha256').update(key).digest('hex')}`;
}

export interface ManagedPolicyDeps {
  readonly dynamodb: DynamoDBClient;
  readonly log: Log;
  readonly metrics: MetricsRecorder;
  readonly clock: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * The writer's IAM policy names the keys the template declares, and CloudFormation
 * applies it just before the request: IAM changes take a few seconds to propagate.
 */
const ACCESS_DENIED_RETRIES_MS = [2_000, 4_000, 8_000, 8_000];

async function send<T>(deps: ManagedPolicyDeps, call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (e) {
      const delay = ACCESS_DENIED_RETRIES_MS[attempt];
      if ((e as { name?: string }).name !== 'AccessDeniedException' || delay === undefined) throw e;
      deps.log.info('access denied; retrying while IAM propagates the new policy', { attempt: attempt + 1 });
      await (deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))))(delay);
    }
  }
}

interface Stored {
  readonly item: Item;
  /** The stored item through the schema, or undefined when it no longer passes it. */
  readonly normalized: Item | undefined;
}

async function read(deps: ManagedPolicyDeps, table: string, key: string): Promise<Stored | undefined> {
  const out = await send(deps, () => deps.dynamodb.send(new GetItemCommand({ TableName: table, Key: { stateMachine: { S: key } }, ConsistentRead: true })));
  if (!out.Item) return undefined;
  const item = itemFromDynamo(out.Item);
  let normalized: Item | undefined;
  try {
    normalized = normalizedItem(item);
  } catch {
    normalized = undefined;
  }
  return { item, normalized };
}

async function write(deps: ManagedPolicyDeps, table: string, item: Item): Promise<void> {
  const stored = { ...item, updatedAt: new Date(deps.clock()).toISOString(), updatedBy: MANAGED_UPDATED_BY };
  await send(deps, () => deps.dynamodb.send(new PutItemCommand({ TableName: table, Item: marshall(stored, { removeUndefinedValues: true }) })));
}

function tableOf(props: PolicyResourceProperties | undefined): string {
  const table = props?.TableName;
  if (typeof table !== 'string' || table === '') throw new PolicyResourceError('TableName is required');
  return table;
}

/** The validated item of a request's properties; the schema's own message when it is invalid. */
function itemOf(props: PolicyResourceProperties): Item {
  if (typeof props.Policy !== 'object' || props.Policy === null) throw new PolicyResourceError('Policy must be a policy item (an object)');
  const item = normalizedItem(props.Policy);
  if (typeof item.managedBy !== 'string') throw new PolicyResourceError(`policy '${String(item.stateMachine)}': managedBy is required on a managed item`);
  return item;
}

/** Refuses a key another stack manages: both would rewrite it on every deploy. */
function checkNotManagedElsewhere(key: string, item: Item, existing: Stored | undefined): void {
  const other = existing?.item.managedBy;
  if (typeof other !== 'string' || other === item.managedBy) return;
  if (managingStack(other) === managingStack(String(item.managedBy))) return; // moved within the stack
  throw new PolicyResourceError(
    `policy '${key}' is already managed by ${other}: one policy item per key, so remove it from that stack first ` +
      `(or give this RedrivePolicy another state machine key)`,
  );
}

/** Reports what a deploy overwrote that it had not written. */
function reportOverwrite(deps: ManagedPolicyDeps, key: string, what: string, existing: Stored, fields: string[]): void {
  deps.log.warn(`policy item ${what}; the deploy overwrote it with the item in the CDK app`, {
    policyKey: key,
    fields,
    editedBy: existing.item.updatedBy,
    editedAt: existing.item.updatedAt,
  });
  deps.metrics.count(METRIC.managedPolicyOverwritten);
}

export async function applyPolicyResource(request: PolicyResourceRequest, deps: ManagedPolicyDeps): Promise<PolicyResourceResult> {
  const props = request.ResourceProperties;
  if (request.RequestType === 'Delete') return deletePolicy(request, deps);

  const table = tableOf(props);
  const item = itemOf(props);
  const key = String(item.stateMachine);
  const existing = await read(deps, table, key);
  const data: Record<string, string> = { Key: key };

  const oldProps = request.RequestType === 'Update' ? request.OldResourceProperties : undefined;
  let oldItem: Item | undefined;
  try {
    oldItem = oldProps ? itemOf(oldProps) : undefined;
  } catch {
    oldItem = undefined; // the previous deploy's properties no longer pass the schema: nothing to compare
  }
  const sameKey = oldItem !== undefined && oldItem.stateMachine === key;

  if (!sameKey) {
    checkNotManagedElsewhere(key, item, existing);
    if (existing && existing.item.managedBy === undefined) {
      const fields = changedFields(existing.normalized ?? existing.item, item);
      if (fields.length > 0) {
        reportOverwrite(deps, key, 'written by hand existed before this stack managed it', existing, fields);
        data.OverwrittenFields = fields.join(',');
      }
    }
  } else if (!existing) {
    deps.log.warn('managed policy item was deleted outside CloudFormation; the deploy writes it again', { policyKey: key });
    deps.metrics.count(METRIC.managedPolicyOverwritten);
    data.OverwrittenFields = 'stateMachine';
  } else {
    // The item should still be what the previous deploy wrote.
    const fields = changedFields(existing.normalized ?? existing.item, oldItem!);
    if (fields.length > 0) {
      reportOverwrite(deps, key, 'was changed outside CloudFormation since the last deploy', existing, fields);
      data.OverwrittenFields = fields.join(',');
    }
  }

  await write(deps, table, item);
  deps.log.info(`policy item ${request.RequestType === 'Create' ? 'created' : 'updated'}`, {
    policyKey: key,
    replacedKey: oldItem && !sameKey ? oldItem.stateMachine : undefined,
    table,
  });
  return { physicalResourceId: physicalIdOf(key), data };
}

async function deletePolicy(request: PolicyResourceRequest, deps: ManagedPolicyDeps): Promise<PolicyResourceResult> {
  const physicalResourceId = request.PhysicalResourceId ?? request.RequestId;
  const props = request.ResourceProperties;
  const policy = (props?.Policy ?? {}) as Item;
  const key = policy.stateMachine;
  const managedBy = policy.managedBy;
  const table = props?.TableName;
  // Nothing was ever written for properties like these (a Create that failed validation).
  if (typeof key !== 'string' || policyKeyProblem(key) !== undefined || typeof managedBy !== 'string' || typeof table !== 'string' || table === '') {
    deps.log.info('nothing to delete: the resource never wrote an item', { physicalResourceId });
    return { physicalResourceId, data: {} };
  }
  try {
    await deps.dynamodb.send(
      new DeleteItemCommand({
        TableName: table,
        Key: { stateMachine: { S: key } },
        ConditionExpression: 'managedBy = :me',
        ExpressionAttributeValues: { ':me': { S: managedBy } },
      }),
    );
    deps.log.info('policy item deleted', { policyKey: key, table });
  } catch (e) {
    if ((e as { name?: string }).name === 'ResourceNotFoundException') {
      deps.log.warn('policy table not found; nothing to delete', { policyKey: key, table });
      return { physicalResourceId, data: { Key: key } };
    }
    if (!isConditionFailure(e)) throw e;
    // Gone already, or now managed by another resource (a construct moved in the app): leave it.
    deps.log.info('policy item not deleted: it is absent or no longer managed by this resource', { policyKey: key, table });
  }
  return { physicalResourceId, data: { Key: key } };
}
