/**
 * Loads every policy item (and the kill switch) and caches them for a TTL, so the event
 * path costs no policy reads in steady state and a pause reaches every instance within
 * the TTL. Items are validated one by one: a broken item makes only the state machines
 * it governs skip with `policy-invalid`; it never fails the load or falls back to a more
 * permissive policy, because matching considers invalid keys too.
 */
import { type AttributeValue, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { PolicyResolution } from '../decide/decision';
import type { Log, MetricsRecorder } from '../observability/telemetry';
import { METRIC } from '../../contract/metrics';
import type { KillSwitch, PauseState } from '../record/kill-switch';
import { selectPolicyKey } from './policy-match';
import { InvalidPolicyError, parsePolicyItem, type PolicyParseResult } from '../../contract/policy-schema';

export interface PolicySnapshot {
  readonly policies: ReadonlyMap<string, PolicyParseResult>;
  readonly pause: PauseState;
  readonly loadedAt: number;
}

/**
 * Plain values for an item as stored. Numbers are converted one by one, so a number too
 * large for JavaScript becomes a value the schema rejects with a field-level message
 * instead of failing the whole load.
 */
export function itemFromDynamo(raw: Record<string, AttributeValue>): Record<string, unknown> {
  return unmarshall(raw, { wrapNumbers: (value: string) => Number(value) });
}

export function resolvePolicy(snapshot: PolicySnapshot, stateMachineArn: string): PolicyResolution {
  const key = selectPolicyKey(snapshot.policies.keys(), stateMachineArn);
  if (key === undefined) return { kind: 'none' };
  const parsed = snapshot.policies.get(key)!;
  return parsed.ok ? { kind: 'found', policy: parsed.policy } : { kind: 'invalid', key, error: parsed.error };
}

export class PolicySource {
  private cached: PolicySnapshot | undefined;
  private loading: Promise<PolicySnapshot> | undefined;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly killSwitch: KillSwitch,
    private readonly ttlMs: number,
    private readonly log: Log,
    private readonly metrics: MetricsRecorder,
  ) {}

  async snapshot(now: number): Promise<PolicySnapshot> {
    if (this.cached && now - this.cached.loadedAt < this.ttlMs) return this.cached;
    // Concurrent callers in one instance share one load.
    this.loading ??= this.load(now).finally(() => (this.loading = undefined));
    this.cached = await this.loading;
    return this.cached;
  }

  /** Forget the cache (tests, and `redrivectl` which always wants fresh data). */
  invalidate(): void {
    this.cached = undefined;
  }

  /** A fresh snapshot now, whatever the TTL. */
  async refresh(now: number): Promise<PolicySnapshot> {
    if (!this.loading) this.cached = undefined;
    return this.snapshot(now);
  }

  private async load(now: number): Promise<PolicySnapshot> {
    const [policies, pause] = await Promise.all([this.loadPolicies(), this.killSwitch.read()]);
    return { policies, pause, loadedAt: now };
  }

  private async loadPolicies(): Promise<Map<string, PolicyParseResult>> {
    const policies = new Map<string, PolicyParseResult>();
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(new ScanCommand({ TableName: this.tableName, ExclusiveStartKey: start, ConsistentRead: true }));
      for (const raw of page.Items ?? []) {
        const key = raw.stateMachine?.S ?? '(no stateMachine key)';
        let parsed: PolicyParseResult;
        try {
          parsed = parsePolicyItem(itemFromDynamo(raw));
        } catch (e) {
          parsed = { ok: false, error: new InvalidPolicyError(key, [{ field: '(item)', message: `cannot be read: ${(e as Error).message}` }]) };
        }
        if (!parsed.ok) {
          this.log.error('invalid policy item; state machines it governs are skipped with policy-invalid', {
            policyKey: key,
            fields: parsed.error.issues,
          });
          this.metrics.count(METRIC.policyInvalid);
        }
        policies.set(key, parsed);
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return policies;
  }
}
