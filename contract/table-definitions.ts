/**
 * Key schemas of the controller's DynamoDB tables, in one place. The CDK construct and
 * the local stand-in (dynalite) both create their tables from these definitions, so the
 * schema the Lambda runs against locally is the one `cdk deploy` creates.
 */

export interface KeyAttribute {
  readonly name: string;
  readonly type: 'S' | 'N';
}

export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
}

export interface TableDefinition {
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly globalSecondaryIndexes?: readonly IndexDefinition[];
  /** Attribute holding an epoch-seconds expiry, if the table uses DynamoDB TTL. */
  readonly timeToLiveAttribute?: string;
}

/**
 * Policies, one item per state machine ARN or pattern. People edit these items by hand,
 * so the key name is part of the public contract.
 */
export const POLICY_TABLE: TableDefinition = {
  partitionKey: { name: 'stateMachine', type: 'S' },
};

/**
 * The controller's own records: one failure record per (execution, redriveCount), the
 * audit trail, the kill switch, the rate-limiter buckets and the outage breakers
 * (contract/breaker.ts). Pending redrives and claims carry `dueShard`/`dueAt`, which puts
 * them in the sparse `byDue` index the drain reads; held failures and active breakers use
 * other `dueShard` values of the same index (no key-schema change). The values that take
 * writes at the failure rate are write-sharded (contract/due-shards.ts).
 */
export const LEDGER_TABLE: TableDefinition = {
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  globalSecondaryIndexes: [
    {
      indexName: 'byDue',
      partitionKey: { name: 'dueShard', type: 'S' },
      sortKey: { name: 'dueAt', type: 'N' },
    },
  ],
  timeToLiveAttribute: 'expiresAt',
};
