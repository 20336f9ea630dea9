/**
 * The audit trail: every decision the controller makes, under the execution's partition
 * (so `redrivectl explain` is one Query), with a TTL. A decision whose outcome settles a
 * claim is stored inside the failure record by that same write (`decisions`, see
 * failure-ledger.ts): one write for the outcome and its audit entry. Every other decision
 * is an item of its own (AUDIT#…); entries written by earlier versions are such items too.
 *
 * Daily counters per outcome feed `redrivectl status` without scanning. They are counted
 * in memory and written in batches (docs/decisions.md, "Decision counters in batches"):
 * at most one write per instance every `flushEveryMs`, and at the end of a drain run, to
 * one of COUNTER_SHARDS items per day, so no counter item is hot in a storm. A process
 * that dies loses its unwritten counts: the counters are a summary, the ledger and the
 * trail are the truth.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { type DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type AuditEntry, storedEntry } from './decision-record';
import { executionPk } from './failure-record';

export type { ActionResult, AuditEntry, DecisionSource } from './decision-record';

export interface DailyCounts {
  readonly day: string;
  readonly counts: Record<string, number>;
}

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Counter items per day: instances pick one at random, `countsFor` sums them all. */
export const COUNTER_SHARDS = 16;

/** How often an instance writes its counts at most. @default 10 s */
export const COUNTER_FLUSH_MS = 10_000;

/** The attributes of an AUDIT# item that are not part of the entry. */
const ITEM_KEYS = new Set(['pk', 'sk', 'expiresAt']);

const counterKey = (e: Pick<AuditEntry, 'decision' | 'reason' | 'action'>) => `${e.decision}:${e.reason}:${e.action}`;

export class AuditTrail {
  /** Unwritten counts, per day and `decision:reason:action`. */
  private readonly pending = new Map<string, Map<string, number>>();
  private lastFlush = Number.NEGATIVE_INFINITY;
  private readonly shard = randomInt(COUNTER_SHARDS);

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly retentionDays: number,
    private readonly flushEveryMs = COUNTER_FLUSH_MS,
  ) {}

  private readonly observers: Array<(entry: AuditEntry) => void> = [];

  /**
   * Calls `observer` with every decision recorded from now on, whether stored as an item
   * of its own or with the ledger write that settled it (the local stories print them).
   */
  observe(observer: (entry: AuditEntry) => void): void {
    this.observers.push(observer);
  }

  /** Stores the entry as an item of its own, and counts it. */
  async record(entry: AuditEntry): Promise<void> {
    const pk = entry.executionArn ? executionPk(entry.executionArn) : `EVENT#${entry.eventId ?? 'unknown'}`;
    const sk = `AUDIT#${new Date(entry.at).toISOString()}#${randomUUID().slice(0, 8)}`;
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { pk, sk, ...storedEntry(entry), expiresAt: this.ttl(entry.at) } }));
    await this.counted(entry);
  }

  /**
   * Counts a decision whose entry is already stored (with the ledger write that settled
   * it). Writes the counts when the last write is `flushEveryMs` old (first: at once).
   */
  async counted(entry: AuditEntry): Promise<void> {
    for (const observer of this.observers) observer(entry);
    const day = dayOf(entry.at);
    const counts = this.pending.get(day) ?? new Map<string, number>();
    this.pending.set(day, counts);
    const k = counterKey(entry);
    counts.set(k, (counts.get(k) ?? 0) + 1);
    if (entry.at - this.lastFlush >= this.flushEveryMs) await this.flush(entry.at);
  }

  /** Writes the unwritten counts: one UpdateItem per day that has any (normally one). */
  async flush(now: number): Promise<void> {
    this.lastFlush = now;
    const days = [...this.pending];
    this.pending.clear();
    for (const [day, counts] of days) {
      const names: Record<string, string> = {};
      const values: Record<string, unknown> = { ':ttl': this.ttl(Date.parse(day)) };
      const adds = [...counts].map(([k, n], i) => {
        names[`#k${i}`] = k;
        values[`:n${i}`] = n;
        return `#k${i} :n${i}`;
      });
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: `STATS#${day}`, sk: `COUNTS#${String(this.shard).padStart(2, '0')}` },
            UpdateExpression: `ADD ${adds.join(', ')} SET expiresAt = :ttl`,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          }),
        );
      } catch (e) {
        // Not written: put them back for the next flush (the decisions themselves are stored).
        const again = this.pending.get(day) ?? new Map<string, number>();
        for (const [k, n] of counts) again.set(k, (again.get(k) ?? 0) + n);
        this.pending.set(day, again);
        throw e;
      }
    }
  }

  /** The decision trail of one execution, oldest first: its AUDIT# items and the entries in its failure records. */
  async trail(executionArn: string): Promise<AuditEntry[]> {
    const items: AuditEntry[] = [];
    for await (const item of this.partition(executionPk(executionArn))) {
      const sk = String(item.sk);
      if (sk.startsWith('AUDIT#')) {
        items.push(Object.fromEntries(Object.entries(item).filter(([k]) => !ITEM_KEYS.has(k))) as unknown as AuditEntry);
      } else if (sk.startsWith('FAILURE#') && Array.isArray(item.decisions)) {
        items.push(...(item.decisions as AuditEntry[]));
      }
    }
    return items.sort((a, b) => a.at - b.at);
  }

  /** Counts per `decision:reason:action` for one UTC day: the sum of its counter items (the single item of earlier versions included). */
  async countsFor(dayMs: number): Promise<DailyCounts> {
    const day = dayOf(dayMs);
    const counts: Record<string, number> = {};
    for await (const item of this.partition(`STATS#${day}`)) {
      for (const [k, v] of Object.entries(item)) if (typeof v === 'number' && k.includes(':')) counts[k] = (counts[k] ?? 0) + v;
    }
    return { day, counts };
  }

  /** Every item of one partition key, page by page. */
  private async *partition(pk: string): AsyncGenerator<Record<string, unknown>> {
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({ TableName: this.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk }, ExclusiveStartKey: start }),
      );
      yield* out.Items ?? [];
      start = out.LastEvaluatedKey;
    } while (start);
  }

  private ttl(at: number): number {
    return Math.floor(at / 1000) + this.retentionDays * 86_400;
  }
}
