/**
 * The canary (contract/canary.ts): what the controller does with a canary's events besides
 * the normal path.
 *
 * - A canary's SUCCEEDED event after its redrive is a recovery: the metrics CanaryRecoveries
 *   and CanaryRecoverySeconds (from the failure's stopDate in the ledger to the success's
 *   stopDate) with the canary's Account and Region, and one UpdateItem of the status item
 *   that `redrivectl status` and `doctor` read. It is not a user's redrive success (no
 *   RedrivesSucceeded, no breaker evidence).
 * - A canary's failure goes through the normal path with its managed policy, but the
 *   canary has its own metrics and must not move the dashboard's totals (Decisions,
 *   Redrives, Deferrals, ...): `canaryMetrics` passes only the canary metrics on.
 */
import { type DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CANARY_STATUS_PK, canaryStatusSk } from '../../contract/canary';

/** Every status item's sort key starts so: canaryStatusSk with no account and Region, less the separator between them. */
const STATUS_SK_PREFIX = canaryStatusSk('', '').slice(0, -1);
import { DIMENSION, METRIC, type MetricName } from '../../contract/metrics';
import type { StatusChange } from '../event/status-change';
import type { Log, MetricsRecorder } from '../observability/telemetry';
import { ifConditionHolds } from './conditional-write';
import type { FailureLedger } from './failure-ledger';

/** One canary recovery, as stored on the status item. */
export interface CanaryRecovery {
  readonly stateMachineArn: string;
  readonly executionArn: string;
  /** ISO 8601; absent when the ledger had no record of the failure. */
  readonly failedAt?: string;
  readonly recoveredAt: string;
  readonly recoverySeconds?: number;
}

/** The status item of one account and Region (contract/canary.ts), as `redrivectl status` reads it. */
export interface CanaryStatusItem extends CanaryRecovery {
  readonly account: string;
  readonly region: string;
  readonly recoveries: number;
}

/** The canary status items in the ledger table. */
export class CanaryStatusStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** Every account's and Region's status item (a handful: one per canary). */
  async list(): Promise<CanaryStatusItem[]> {
    const items: CanaryStatusItem[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': CANARY_STATUS_PK, ':prefix': STATUS_SK_PREFIX },
          ConsistentRead: true,
          ExclusiveStartKey,
        }),
      );
      items.push(...((out.Items ?? []) as CanaryStatusItem[]));
      ExclusiveStartKey = out.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return items;
  }

  /**
   * Records a recovery with one UpdateItem. false: the item already holds this recovery or
   * a later one (a duplicate or late event), so nothing is counted again.
   */
  async recordRecovery(account: string, region: string, recovery: CanaryRecovery): Promise<boolean> {
    const values: Record<string, unknown> = { ':one': 1 };
    const names: Record<string, string> = { '#recoveries': 'recoveries', '#recoveredAt': 'recoveredAt' };
    const set: string[] = [];
    const remove: string[] = [];
    const { stateMachineArn, executionArn, failedAt, recoveredAt, recoverySeconds } = recovery;
    // Every attribute through a name placeholder: some (region, ...) are DynamoDB reserved
    // words. An unknown failedAt or recoverySeconds removes the previous recovery's.
    for (const [field, value] of Object.entries({ account, region, stateMachineArn, executionArn, failedAt, recoveredAt, recoverySeconds })) {
      names[`#${field}`] = field;
      if (value === undefined) remove.push(`#${field}`);
      else {
        set.push(`#${field} = :${field}`);
        values[`:${field}`] = value;
      }
    }
    const written = await ifConditionHolds(
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: CANARY_STATUS_PK, sk: canaryStatusSk(account, region) },
          UpdateExpression: `SET ${set.join(', ')} ADD #recoveries :one${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
          ConditionExpression: 'attribute_not_exists(#recoveredAt) OR #recoveredAt < :recoveredAt',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      ),
    );
    return written !== undefined;
  }
}

export interface CanaryRecoveryDeps {
  readonly ledger: Pick<FailureLedger, 'get'>;
  /** @default none: the recovery is counted and logged, not stored */
  readonly canaryStatus?: CanaryStatusStore;
  readonly metrics: MetricsRecorder;
  readonly log: Log;
  readonly clock: () => number;
}

/** What became of a canary's SUCCEEDED event. */
export type CanaryRecoveryResult = 'recorded' | 'already-recorded' | 'not-redriven' | 'decide-only';

const iso = (ms: number) => new Date(ms).toISOString();

/** A canary's SUCCEEDED event: a recovery when it was redriven (redriveCount >= 1). */
export async function recordCanaryRecovery(event: StatusChange, deps: CanaryRecoveryDeps, decideOnly = false): Promise<CanaryRecoveryResult> {
  const redriveCount = event.redriveCount ?? 0;
  if (redriveCount < 1) {
    // The first run must fail: a canary that succeeds at once proves nothing about redrives.
    deps.log.warn('canary succeeded without a redrive: its first run should fail; check its definition', { executionArn: event.executionArn });
    return 'not-redriven';
  }
  if (decideOnly) return 'decide-only';
  const failure = await deps.ledger.get(event.executionArn, redriveCount - 1);
  const recoveredAtMs = event.stopDate ?? event.eventTime;
  const failedAtMs = failure?.stopDate ?? undefined;
  const recoverySeconds = failedAtMs === undefined ? undefined : Math.max(0, Math.round((recoveredAtMs - failedAtMs) / 1000));
  const recovery: CanaryRecovery = {
    stateMachineArn: event.stateMachineArn,
    executionArn: event.executionArn,
    failedAt: failedAtMs === undefined ? undefined : iso(failedAtMs),
    recoveredAt: iso(recoveredAtMs),
    recoverySeconds,
  };
  if (deps.canaryStatus && !(await deps.canaryStatus.recordRecovery(event.account, event.region, recovery))) {
    deps.log.info('canary recovery already recorded (a duplicate or late event); not counted again', { executionArn: event.executionArn });
    return 'already-recorded';
  }
  deps.metrics.count(METRIC.canaryRecoveries, { [DIMENSION.account]: event.account, [DIMENSION.region]: event.region });
  if (recoverySeconds !== undefined) {
    deps.metrics.seconds(METRIC.canaryRecoverySeconds, recoverySeconds, { [DIMENSION.account]: event.account, [DIMENSION.region]: event.region });
  } else {
    deps.log.warn('canary recovered, but the ledger has no record of its failure: recovery counted without its duration', {
      executionArn: event.executionArn,
      redriveCount,
    });
  }
  deps.log.info('canary recovered', { ...recovery, account: event.account, region: event.region });
  return 'recorded';
}

/** The metrics a canary's own events may emit; everything else it would emit is dropped. */
const CANARY_METRICS: ReadonlySet<MetricName> = new Set([METRIC.canaryRecoveries, METRIC.canaryRecoverySeconds]);

/**
 * The metrics recorder for a canary's events: only the canary metrics pass (its decisions,
 * redrives and deferrals stay out of the dashboard's totals; the audit trail and the logs
 * still have them).
 */
export function canaryMetrics(inner: MetricsRecorder): MetricsRecorder {
  return {
    count: (name, dimensions, value) => (CANARY_METRICS.has(name) ? inner.count(name, dimensions, value) : undefined),
    milliseconds: (name, value, dimensions) => (CANARY_METRICS.has(name) ? inner.milliseconds(name, value, dimensions) : undefined),
    seconds: (name, value, dimensions) => (CANARY_METRICS.has(name) ? inner.seconds(name, value, dimensions) : undefined),
    flush: () => inner.flush(),
  };
}
