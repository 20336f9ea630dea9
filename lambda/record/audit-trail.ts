/**
 * The audit trail: every decision the controller makes, as one item under the
 * execution's partition (so `redrivectl explain` is one Query), with a TTL. Daily
 * counters per outcome feed `redrivectl status` without scanning.
 */
import { randomUUID } from 'node:crypto';
import { type DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { executionItems, executionPk } from './failure-ledger';

/** Where a decision came from. */
/**
 * Where a decision came from. `release`: a held failure released (breaker closed, or
 * `redrivectl release`); `probe`: a held failure redriven as a breaker probe.
 */
export type DecisionSource = 'event' | 'drain' | 'reconcile' | 'backfill' | 'replay' | 'release' | 'probe';

/** What happened after the decision: the action taken and its result. */
export type ActionResult =
  | 'redriven'
  | 'scheduled'
  | 'deferred'
  | 'rejected'
  | 'skipped'
  | 'lost-race'
  | 'dry-run'
  | 'held';

export interface AuditEntry {
  readonly at: number;
  readonly executionArn: string | null;
  readonly stateMachineArn: string | null;
  readonly eventId: string | null;
  readonly source: DecisionSource;
  readonly redriveCount: number | null;
  readonly status: string | null;
  readonly errorName: string | null;
  readonly decision: string;
  readonly reason: string;
  readonly detail: string;
  readonly policyKey: string | null;
  readonly action: ActionResult;
  readonly actionDetail?: string;
  /** Epoch ms of a scheduled or deferred redrive. */
  readonly dueAt?: number;
}

export interface DailyCounts {
  readonly day: string;
  readonly counts: Record<string, number>;
}

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export class AuditTrail {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly retentionDays: number,
  ) {}

  async record(entry: AuditEntry): Promise<void> {
    const pk = entry.executionArn ? executionPk(entry.executionArn) : `EVENT#${entry.eventId ?? 'unknown'}`;
    const sk = `AUDIT#${new Date(entry.at).toISOString()}#${randomUUID().slice(0, 8)}`;
    const expiresAt = Math.floor(entry.at / 1000) + this.retentionDays * 86_400;
    // Drop undefined fields: the document client rejects them by default.
    const item = Object.fromEntries(Object.entries({ pk, sk, ...entry, expiresAt }).filter(([, v]) => v !== undefined));
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: item }));
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `STATS#${dayOf(entry.at)}`, sk: 'COUNTS' },
        UpdateExpression: 'ADD #k :one SET expiresAt = :ttl',
        ExpressionAttributeNames: { '#k': `${entry.decision}:${entry.reason}:${entry.action}` },
        ExpressionAttributeValues: { ':one': 1, ':ttl': expiresAt },
      }),
    );
  }

  /** The decision trail of one execution, oldest first. */
  async trail(executionArn: string): Promise<AuditEntry[]> {
    const items: AuditEntry[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(new QueryCommand({ TableName: this.tableName, ...executionItems(executionArn, 'AUDIT#'), ExclusiveStartKey: start }));
      items.push(...((out.Items ?? []) as AuditEntry[]));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /** Counts per `decision:reason:action` for one UTC day. */
  async countsFor(dayMs: number): Promise<DailyCounts> {
    const day = dayOf(dayMs);
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `STATS#${day}` },
      }),
    );
    const counts: Record<string, number> = {};
    for (const item of out.Items ?? []) {
      for (const [k, v] of Object.entries(item)) if (typeof v === 'number' && k.includes(':')) counts[k] = v;
    }
    return { day, counts };
  }
}
