/**
 * The failure ledger: one record per failure, keyed by (executionArn, redriveCount),
 * moved between states only by conditional writes. This is what makes "never twice for
 * one failure" hold across duplicate deliveries, concurrent invocations, crashes and the
 * drain: whoever wins the claim is the only one allowed to call RedriveExecution.
 *
 *   (none | skipped) --schedule--> pending --claim (due)--> claimed --> redriven
 *   (none | skipped) --claim-----> claimed --defer--> pending          \-> skipped
 *   claimed whose claimExpiresAt passed (crashed invocation) --claim--> claimed (retry)
 *   (none | skipped | held | due pending | abandoned claim) --hold--> held --claim (release)--> claimed
 *   none --claimNew--> claimed      (the event path's first write for a fresh failure, no read first)
 *   none --supersede--> skipped     (record 0 of an execution whose later failure is recorded first)
 *
 * Invariant that lets a fresh failure skip the read (claimNew): when the ledger holds a
 * record of redriveCount m >= 1 of an execution, it holds its record 0 too (the event path
 * writes a superseded record 0 when it finds none; lambda/event-path.ts). So a claimNew
 * for redriveCount 0 that finds no record found no history at all, and decides exactly as
 * the read-first path would; when its condition fails, the event path reads and decides
 * with the history.
 *
 * The write that settles a claim also stores the decision's audit entry in the record
 * (`decisions`, appended): one write for the outcome and its audit trail. At most
 * MAX_DECISIONS_IN_RECORD of them (one per claim attempt), so the item stays small; a
 * later attempt's entry is an audit item of its own (audit-trail.ts reads both). So does
 * the first write of a failure the event path found no record of (skip, hold, schedule):
 * one such entry per record.
 *
 * Pending and claimed records carry dueShard/dueAt, which puts them in the sparse
 * `byDue` index the drain reads; a claim's dueAt is its expiry, so an abandoned claim
 * becomes due by itself. Held records carry a HELD shard instead (contract/breaker.ts), so
 * a group's held failures are one merged read away, oldest first, and never in the drain's
 * way. Every such value is write-sharded by execution (contract/due-shards.ts: DUE#<k>,
 * <held base>#<k>), so a storm spreads over `indexShards` index partitions; readers merge
 * every shard and the legacy unsharded value (lambda/record/due-index.ts).
 *
 * TTL (`expiresAt`): the audit retention; a record that may still be redriven (pending,
 * claimed, held) lives at least until the redrive window and the widest hold margin have
 * passed since its failure stopped (failure-record.ts recordExpiresAt).
 */
import { randomUUID } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditEntry } from './decision-record';
import { storedEntry } from './decision-record';
import { ifConditionHolds } from './conditional-write';
import { DUE_BASE, parkedFamily } from '../../contract/due-shards';
import { ParkedDirectory } from './parked-failures';
import { countShards, dueShardPages, IndexShards, mergedShards } from './due-index';
import {
  type Claim,
  executionItems,
  executionPk,
  FACT_FIELDS,
  type FailureFacts,
  type FailureRecord,
  failureSk,
  heldSince,
  keptApproval,
  recordExpiresAt,
  settlesWithDecision,
  storedFacts,
} from './failure-record';

export * from './failure-record';

/** Records that may be taken over: none, a skip, a held failure, a due pending redrive, an abandoned claim. */
const TAKEABLE =
  'attribute_not_exists(pk) OR #state = :skipped OR #state = :held OR (#state = :pending AND dueAt <= :now) OR (#state = :claimed AND claimExpiresAt <= :now)';
const STATES = { ':skipped': 'skipped', ':held': 'held', ':pending': 'pending', ':claimed': 'claimed' } as const;

export class FailureLedger {
  /** Which byDue partition values this ledger writes and reads. */
  private readonly shards: IndexShards;
  /** The families of parked failures (park()). */
  readonly parked: ParkedDirectory;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly retentionDays: number,
    /** Shards of each byDue family (contract/due-shards.ts indexShardsFor). @default 1 */
    indexShards = 1,
    clock: () => number = Date.now,
  ) {
    this.shards = new IndexShards(doc, tableName, indexShards, clock);
    this.parked = new ParkedDirectory(doc, tableName);
  }

  /** Every failure record of one execution, lowest redriveCount first. */
  async failuresOf(executionArn: string): Promise<FailureRecord[]> {
    const out = await this.doc.send(new QueryCommand({ TableName: this.tableName, ...executionItems(executionArn, 'FAILURE#'), ConsistentRead: true }));
    return (out.Items ?? []) as FailureRecord[];
  }

  async get(executionArn: string, redriveCount: number): Promise<FailureRecord | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: this.key({ executionArn, redriveCount }), ConsistentRead: true }),
    );
    return out.Item as FailureRecord | undefined;
  }

  /** Claims the failure for a redrive now. undefined if someone else holds or finished it. */
  async claim(facts: FailureFacts, now: number, claimTimeoutMs: number): Promise<Claim | undefined> {
    const token = randomUUID();
    const out = await this.takeOver(
      facts,
      now,
      'SET #state = :claimed, claimToken = :token, claimExpiresAt = :expires, dueShard = :shard, dueAt = :expires, attempts = if_not_exists(attempts, :zero) + :one',
      { ':token': token, ':expires': now + claimTimeoutMs, ':shard': await this.shards.valueFor(DUE_BASE, facts.executionArn), ':zero': 0, ':one': 1 },
    );
    return out ? { executionArn: facts.executionArn, redriveCount: facts.redriveCount, token, attempts: Number(out.Attributes?.attempts ?? 1) } : undefined;
  }

  /**
   * Claims a failure the ledger has no record of: the event path's first write for a
   * fresh failure, with no read before it. undefined when any record exists (then the
   * caller reads the history and decides with it).
   */
  async claimNew(facts: FailureFacts, now: number, claimTimeoutMs: number): Promise<Claim | undefined> {
    const token = randomUUID();
    const expires = now + claimTimeoutMs;
    const written = await this.written(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...this.key(facts),
          ...storedFacts(facts),
          state: 'claimed',
          claimToken: token,
          claimExpiresAt: expires,
          dueShard: await this.shards.valueFor(DUE_BASE, facts.executionArn),
          dueAt: expires,
          attempts: 1,
          updatedAt: now,
          expiresAt: this.ttl(now, facts),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    return written ? { executionArn: facts.executionArn, redriveCount: facts.redriveCount, token, attempts: 1 } : undefined;
  }

  /**
   * Writes record 0 of an execution whose failure `later` (redriveCount >= 1) is recorded
   * while record 0 is not (redriven by someone else, or its event not yet delivered): a
   * skip `stale-event`, so a late event of failure 0 finds a record, reads the history and
   * is skipped as stale (the invariant above). Nothing when record 0 exists.
   */
  async supersede(later: FailureFacts, now: number): Promise<boolean> {
    return this.written(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...this.key({ executionArn: later.executionArn, redriveCount: 0 }),
          ...storedFacts({ ...later, redriveCount: 0, stopDate: null, errorName: null, cause: null, failedState: undefined }),
          state: 'skipped',
          reason: 'stale-event',
          supersededBy: later.redriveCount,
          attempts: 0,
          updatedAt: now,
          expiresAt: this.ttl(now),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  /**
   * Stores a redrive for later. false if the failure is already pending, claimed or done.
   * `decisions`: the audit entries the record holds (read with it), kept: the PutItem
   * replaces the record whole; `decision`: this decision's entry, stored with them.
   */
  async schedule(facts: FailureFacts, dueAt: number, now: number, decisions?: readonly AuditEntry[], decision?: AuditEntry, reason = 'backoff'): Promise<boolean> {
    const kept = [...(decisions ?? []), ...(decision ? [storedEntry(decision)] : [])];
    return this.written(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...this.key(facts),
          ...storedFacts(facts),
          state: 'pending',
          reason,
          dueShard: await this.shards.valueFor(DUE_BASE, facts.executionArn),
          dueAt,
          attempts: 0,
          updatedAt: now,
          expiresAt: this.ttl(now, facts),
          ...(kept.length ? { decisions: kept } : {}),
          ...keptApproval(facts),
        },
        ConditionExpression: 'attribute_not_exists(pk) OR #state = :skipped OR #state = :held',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':skipped': 'skipped', ':held': 'held' },
      }),
    );
  }

  /**
   * Records a deliberate skip. Allowed over no record, an earlier skip, or a due pending
   * redrive / abandoned claim that the drain re-checked and dropped.
   */
  async skip(facts: FailureFacts, reason: string, now: number, decision?: AuditEntry): Promise<boolean> {
    const out = await this.takeOver(
      facts,
      now,
      'SET #state = :skipped, reason = :reason, attempts = if_not_exists(attempts, :zero)',
      { ':reason': reason, ':zero': 0 },
      ' REMOVE dueShard, dueAt, claimToken, claimExpiresAt',
      decision,
      false,
    );
    return out !== undefined;
  }

  /**
   * A skip whose reason may change (decide/decision.ts RECONSIDERABLE_SKIPS) of a failure
   * that may still be redriven (held, pending, claimed, parked): the record stays listed,
   * in family parkedFamily(reason, state machine) at its stop time, so the drain decides it
   * again once the reason no longer holds (lambda/reconsider-parked.ts), however long ago
   * it stopped; it keeps a live record's TTL. Allowed where a skip is.
   */
  async park(facts: FailureFacts, reason: string, now: number, decision?: AuditEntry): Promise<boolean> {
    await this.parked.touch(reason, facts.stateMachineArn, now);
    const shard = await this.shards.valueFor(parkedFamily(reason, facts.stateMachineArn), facts.executionArn);
    const out = await this.takeOver(
      facts,
      now,
      'SET #state = :skipped, reason = :reason, dueShard = :shard, dueAt = :since, attempts = if_not_exists(attempts, :zero)',
      { ':reason': reason, ':shard': shard, ':since': heldSince(facts, now), ':zero': 0 },
      ' REMOVE claimToken, claimExpiresAt',
      decision,
    );
    return out !== undefined;
  }

  /**
   * `probeToken`: this redrive is a breaker probe (its next failure tells the breaker).
   * `decision`: the audit entry, stored by the same write (only if `settlesWithDecision`).
   */
  async markRedriven(claim: Claim, now: number, probeToken?: string, decision?: AuditEntry): Promise<boolean> {
    const probe = probeToken === undefined ? '' : ', probeToken = :probe';
    return this.settleClaim(
      claim,
      `SET #state = :s, reason = :r, updatedAt = :now, expiresAt = :ttl${probe}`,
      {
        ':ttl': this.ttl(now),
        ':s': 'redriven',
        ':r': probeToken === undefined ? 'redriven' : 'probe',
        ':now': now,
        ...(probeToken === undefined ? {} : { ':probe': probeToken }),
      },
      ' REMOVE dueShard, dueAt, claimExpiresAt',
      decision,
    );
  }

  /**
   * Holds a failure (contract/breaker.ts): not redriven, not given up, listed under its
   * shard of family `base` (heldShard(group) or HELD_EXHAUSTED_SHARD) at its stop time.
   * Allowed over what a skip may take over, a held record included.
   */
  async hold(facts: FailureFacts, reason: string, base: string, now: number, decision?: AuditEntry): Promise<boolean> {
    const probes = facts.probes ? ', probes = :probes' : '';
    const shard = await this.shards.valueFor(base, facts.executionArn);
    const out = await this.takeOver(
      facts,
      now,
      `SET #state = :heldState, reason = :reason, dueShard = :shard, dueAt = :since, heldAt = :now, attempts = if_not_exists(attempts, :zero)${probes}`,
      { ':heldState': 'held', ':reason': reason, ':shard': shard, ':since': heldSince(facts, now), ':zero': 0, ...(facts.probes ? { ':probes': facts.probes } : {}) },
      ' REMOVE claimToken, claimExpiresAt',
      decision,
    );
    return out !== undefined;
  }

  /**
   * Holds a failure this invocation has claimed (the event path's claim of a fresh failure,
   * held by an open breaker), in family `base` at `since`; `decision` as for settling.
   */
  async holdClaim(claim: Claim, reason: string, base: string, since: number, now: number, decision?: AuditEntry): Promise<boolean> {
    return this.settleClaim(
      claim,
      'SET #state = :s, reason = :r, dueShard = :shard, dueAt = :since, heldAt = :now, updatedAt = :now, expiresAt = :ttl',
      { ':s': 'held', ':r': reason, ':shard': await this.shards.valueFor(base, claim.executionArn), ':since': since, ':now': now, ':ttl': this.ttl(now, { stopDate: since }) },
      ' REMOVE claimToken, claimExpiresAt',
      decision,
    );
  }

  /**
   * The failures held in family `base` (every shard and the legacy value), oldest first.
   * `stoppedBefore`: only those that stopped before; `stateMachineArn`: only that state
   * machine's. Lazy: a caller that stops early reads little more than it took.
   */
  async *held(base: string, options: { stoppedBefore?: number; stateMachineArn?: string; pageSize?: number } = {}): AsyncGenerator<FailureRecord> {
    const values = await this.shards.readValues(base);
    // Small pages: a reader usually takes a few hundred at most, spread evenly over the shards.
    const pageSize = options.pageSize ?? Math.max(10, Math.ceil(200 / values.length));
    const query = { dueBefore: options.stoppedBefore, stateMachineArn: options.stateMachineArn, pageSize };
    for await (const item of mergedShards(this.doc, this.tableName, values, query)) yield item as unknown as FailureRecord;
  }

  /** How many failures are held in family `base`. */
  async heldCount(base: string): Promise<number> {
    return countShards(this.doc, this.tableName, await this.shards.readValues(base));
  }

  async markRejected(claim: Claim, reason: string, now: number, decision?: AuditEntry): Promise<boolean> {
    return this.settleClaim(
      claim,
      'SET #state = :s, reason = :r, updatedAt = :now, expiresAt = :ttl',
      { ':s': 'skipped', ':r': reason, ':now': now, ':ttl': this.ttl(now) },
      ' REMOVE dueShard, dueAt, claimExpiresAt',
      decision,
    );
  }

  /** Gives a claim back as a pending redrive (rate limit, throttling, 5xx). */
  async defer(claim: Claim, dueAt: number, reason: string, now: number, decision?: AuditEntry): Promise<boolean> {
    return this.settleClaim(
      claim,
      'SET #state = :s, reason = :r, dueAt = :due, dueShard = :shard, updatedAt = :now',
      { ':s': 'pending', ':r': reason, ':due': dueAt, ':shard': await this.shards.valueFor(DUE_BASE, claim.executionArn), ':now': now },
      ' REMOVE claimExpiresAt',
      decision,
    );
  }

  /** Pending redrives and claims that are due at `now`, oldest first across every shard; at most `limit`. */
  async due(now: number, limit: number): Promise<FailureRecord[]> {
    const values = await this.shards.readValues(DUE_BASE);
    // Pages sized for an even spread over the shards; a shard that holds more is read on.
    const pageSize = Math.min(limit, Math.max(25, Math.ceil((2 * limit) / values.length)));
    const due: FailureRecord[] = [];
    if (limit <= 0) return due;
    for await (const item of mergedShards(this.doc, this.tableName, values, { dueAtMost: now, pageSize })) {
      due.push(item as unknown as FailureRecord);
      if (due.length >= limit) break;
    }
    return due;
  }

  /** Size of the backlog (pending + claimed, every shard) and the oldest due time, for metrics. */
  async backlog(): Promise<{ count: number; oldestDueAt: number | null }> {
    const shards = await Promise.all(
      (await this.shards.readValues(DUE_BASE)).map(async (value) => {
        let count = 0;
        let oldestDueAt: number | null = null;
        for await (const page of dueShardPages(this.doc, this.tableName, value, { ProjectionExpression: 'dueAt' })) {
          for (const item of page.items as Array<{ dueAt: number }>) {
            count++;
            if (oldestDueAt === null || item.dueAt < oldestDueAt) oldestDueAt = item.dueAt;
          }
        }
        return { count, oldestDueAt };
      }),
    );
    const oldest = shards.flatMap((s) => (s.oldestDueAt === null ? [] : [s.oldestDueAt]));
    return { count: shards.reduce((n, s) => n + s.count, 0), oldestDueAt: oldest.length ? Math.min(...oldest) : null };
  }

  /**
   * Claim, skip and hold: an update allowed only over a TAKEABLE record; it also refreshes
   * the facts, the time and the TTL. `decision`: appended to the record's audit entries
   * (the event path gives it for a failure it found no record of: its first decision).
   */
  private takeOver(facts: FailureFacts, now: number, set: string, values: Record<string, unknown>, remove = '', decision?: AuditEntry, live = true) {
    const embed = decision === undefined ? '' : ', decisions = list_append(if_not_exists(decisions, :noDecisions), :decision)';
    // Kept once known: a later write without it leaves it as it is.
    const failedState = facts.failedState ? ', failedState = :failedState' : '';
    return ifConditionHolds(
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(facts),
          ReturnValues: 'UPDATED_NEW',
          UpdateExpression: `${set}, updatedAt = :now, expiresAt = :ttl, ${this.factsUpdate()}${failedState}${embed}${remove}`,
          ConditionExpression: TAKEABLE,
          ExpressionAttributeNames: { '#state': 'state', ...this.factsNames() },
          ExpressionAttributeValues: {
            ...this.factsValues(facts),
            ...STATES,
            ':now': now,
            ':ttl': this.ttl(now, live ? facts : undefined),
            ...values,
            ...(decision === undefined ? {} : { ':noDecisions': [], ':decision': [storedEntry(decision)] }),
            ...(facts.failedState ? { ':failedState': facts.failedState } : {}),
          },
        }),
      ),
    );
  }

  /**
   * Moves a claimed record on, only for the holder of its claim token; `decision` (if the
   * claim may: settlesWithDecision) is appended to the record's audit entries.
   */
  private async settleClaim(claim: Claim, set: string, values: Record<string, unknown>, remove: string, decision?: AuditEntry): Promise<boolean> {
    const embed = decision !== undefined && settlesWithDecision(claim);
    return this.written(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.key(claim),
        UpdateExpression: `${set}${embed ? ', decisions = list_append(if_not_exists(decisions, :noDecisions), :decision)' : ''}${remove}`,
        ConditionExpression: '#state = :claimedState AND claimToken = :token',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ...values,
          ':claimedState': 'claimed',
          ':token': claim.token,
          ...(embed ? { ':noDecisions': [], ':decision': [storedEntry(decision)] } : {}),
        },
      }),
    );
  }

  /** true when the conditional write was applied. */
  private async written(command: PutCommand | UpdateCommand): Promise<boolean> {
    return (await ifConditionHolds(this.doc.send(command as UpdateCommand))) !== undefined;
  }

  private key(f: Pick<FailureFacts, 'executionArn' | 'redriveCount'>) {
    return { pk: executionPk(f.executionArn), sk: failureSk(f.redriveCount) };
  }

  /** `#f_x = :f_x` for every fact: several (name, status, region) are reserved words. */
  private factsUpdate(): string {
    return FACT_FIELDS.map((f) => `#f_${f} = :f_${f}`).join(', ');
  }

  private factsNames(): Record<string, string> {
    return Object.fromEntries(FACT_FIELDS.map((f) => [`#f_${f}`, f]));
  }

  private factsValues(f: FailureFacts): Record<string, unknown> {
    const s = storedFacts(f);
    return Object.fromEntries(FACT_FIELDS.map((k) => [`:f_${k}`, s[k]]));
  }

  /** `live`: the record may still be redriven (failure-record.ts recordExpiresAt). */
  private ttl(now: number, live?: Pick<FailureFacts, 'stopDate'>): number {
    return recordExpiresAt(now, this.retentionDays, live);
  }
}
