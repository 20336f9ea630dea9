/**
 * Write sharding of the ledger's sparse `byDue` index (contract/table-definitions.ts): the
 * index's partition VALUES, not its key schema. DynamoDB serves one partition key value of
 * a table or of a GSI at about 1,000 write units per second
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html),
 * and a GSI partition that cannot keep up throttles the base-table writes too ("GSI
 * back-pressure": https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/gsi-throttling.html).
 * So every record family that can take writes at the failure rate spreads them over
 * `shards` values:
 *
 *   pending redrives and claims   DUE#<k>
 *   held failures of one group    HELD#<stateMachineArn>#<errorName>#<k>   (base: heldShard())
 *   held after exhaustion         HELD-EXHAUSTED#<k>
 *   parked failures               PARKED#<reason>#<stateMachineArn>#<k>   (base: parkedFamily())
 *
 * k = SHA-256(executionArn) mod shards: stable, so every write of one failure record lands
 * on one value (a moved record is one delete and one put of the same partition), and
 * uniform over ARNs. Values written before sharding (`DUE`, `HELD#…` without `#k`,
 * `HELD-EXHAUSTED`) are the LEGACY values: readers always read them too.
 * Active breakers keep the single value BREAKER: it is written only on breaker transitions.
 */
import { createHash } from 'node:crypto';

/** Pending redrives and claims (the drain's shard family). */
export const DUE_BASE = 'DUE';

/**
 * Parked failures: a held or pending failure that was then skipped for a reason that may
 * change (paused, policy-disabled, no-policy, policy-invalid, dry-run) stays listed under
 * one family per (reason, state machine), at its stop time, so the drain re-decides it as
 * soon as that reason no longer holds (lambda/reconsider-parked.ts), however long ago it
 * stopped. Each family that has been used has a directory entry (pk
 * `PARKED#<reason>#<stateMachineArn>`, sk PARKED_DIRECTORY_SK) listed under the index value
 * PARKED_DIRECTORY, so the drain reads only the families whose reason has changed.
 */
export const parkedFamily = (reason: string, stateMachineArn: string) => `PARKED#${reason}#${stateMachineArn}`;
/** The byDue value listing the parked families (their directory entries: one per family, rarely written). */
export const PARKED_DIRECTORY = 'PARKED';
export const PARKED_DIRECTORY_SK = 'PARKED';

/** DynamoDB's per-partition-key write limit (table and each GSI), write units per second. */
export const PARTITION_WRITE_UNITS_PER_SECOND = 1_000;
/**
 * Index writes one failure can cause on its byDue value at the failure rate, counted as
 * DynamoDB counts them (a changed index key is a delete plus a put:
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.Writes): a claim (put) and its
 * deferral (dueAt changes: delete + put), and the removal once settled; or a schedule
 * (put), its claim (delete + put) and the removal; a hold is one put.
 */
export const INDEX_WRITES_PER_FAILURE = 4;
/** Write units per index write: records are at most ~2 KB (the cause is cut to 1,000 characters; the index projects ALL). */
export const WRITE_UNITS_PER_INDEX_WRITE = 2;
/** Plan each value for half its limit: hashing is uniform only on average, and bursts come in seconds. */
export const SHARD_HEADROOM = 0.5;
/** Most shards a family may use (readers read every one: one Query each). */
export const MAX_INDEX_SHARDS = 128;

/**
 * Shards per family for a configured peak of failures per second:
 * ceil(peak × INDEX_WRITES_PER_FAILURE × WRITE_UNITS_PER_INDEX_WRITE / (1,000 × SHARD_HEADROOM)),
 * between 1 and MAX_INDEX_SHARDS. 1,000 failures/s: 16 shards.
 */
export function indexShardsFor(peakFailuresPerSecond: number): number {
  const units = peakFailuresPerSecond * INDEX_WRITES_PER_FAILURE * WRITE_UNITS_PER_INDEX_WRITE;
  const shards = Math.ceil(units / (PARTITION_WRITE_UNITS_PER_SECOND * SHARD_HEADROOM));
  return Math.min(MAX_INDEX_SHARDS, Math.max(1, shards));
}

/** The shard of one execution's records: SHA-256 of the ARN (its first 6 bytes as an integer) mod `shards`. */
export function shardOf(executionArn: string, shards: number): number {
  if (!Number.isInteger(shards) || shards < 1) throw new RangeError(`shards must be a positive integer, got ${shards}`);
  return createHash('sha256').update(executionArn).digest().readUIntBE(0, 6) % shards;
}

/** The index partition value of shard `k` of a family (`base`: DUE_BASE, heldShard(group), HELD_EXHAUSTED_SHARD). */
export const shardValue = (base: string, k: number) => `${base}#${k}`;

/** The value an execution's record takes in a family of `shards` shards. */
export const shardValueOf = (base: string, executionArn: string, shards: number) => shardValue(base, shardOf(executionArn, shards));

/** Every value a reader reads for a family: the legacy unsharded value first, then shards 0..shards-1. */
export function familyValues(base: string, shards: number): string[] {
  return [base, ...Array.from({ length: shards }, (_, k) => shardValue(base, k))];
}
