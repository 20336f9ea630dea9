/**
 * Small in-memory stand-ins for the controller's stateful dependencies, with the same
 * public methods and the same semantics as the DynamoDB-backed originals, so property
 * tests can push tens of thousands of cases through `handleStatusChange` in seconds.
 *
 * FakeLedger reproduces FailureLedger's conditional writes exactly (the TAKEABLE
 * condition, the schedule condition, the claim-token check); fuzz.test.ts checks it
 * against the real ledger on dynalite so the fuzzing cannot drift from production.
 */
import type { ControllerConfig } from '../../../lambda/config';
import { DEFAULTS } from '../../../lambda/config';
import type { ControllerDeps } from '../../../lambda/event-path';
import type { RateGrant, RateLimiter } from '../../../lambda/act/rate-limiter';
import type { DescribedExecution, ListedExecution, RedriveResult, StepFunctionsGateway } from '../../../lambda/act/step-functions';
import type { ExecutionStatus } from '../../../lambda/event/status-change';
import { InMemoryMetrics, MemoryLog } from '../../../lambda/observability/telemetry';
import type { PolicySnapshot, PolicySource } from '../../../lambda/policy/policy-source';
import type { PolicyParseResult } from '../../../contract/policy-schema';
import type { AuditEntry, AuditTrail, DailyCounts } from '../../../lambda/record/audit-trail';
import { type Claim, type FailureFacts, type FailureLedger, type FailureRecord, type FailureState, settlesWithDecision, storedFacts } from '../../../lambda/record/failure-ledger';
import { MemoryNotifier } from '../../../lambda/record/owner-notifier';
import { parkedFamily } from '../../../contract/due-shards';
import { FORGET_AFTER_MS, type ParkedDirectory, type ParkedFamily } from '../../../lambda/record/parked-failures';

/** The public surface of a class (private members make classes nominal in TypeScript). */
export type Public<T> = { [K in keyof T]: T[K] };

type StoredRecord = { -readonly [K in keyof FailureRecord]: FailureRecord[K] };

/** record/parked-failures.ts ParkedDirectory, in memory: the entries, touched and forgotten alike. */
class MemoryParkedDirectory implements Public<ParkedDirectory> {
  private readonly entries = new Map<string, ParkedFamily>();
  async touch(reason: string, stateMachineArn: string, now: number): Promise<void> {
    const base = parkedFamily(reason, stateMachineArn);
    this.entries.set(base, { reason, stateMachineArn, base, touchedAt: now });
  }
  async families(): Promise<ParkedFamily[]> {
    return [...this.entries.values()];
  }
  async forget(family: ParkedFamily, now: number): Promise<boolean> {
    const entry = this.entries.get(family.base);
    if (!entry || now - family.touchedAt < FORGET_AFTER_MS || entry.touchedAt > now - FORGET_AFTER_MS) return false;
    this.entries.delete(family.base);
    return true;
  }
}

export class FakeLedger implements Public<FailureLedger> {
  /** key `${executionArn}#${redriveCount}` */
  readonly records = new Map<string, StoredRecord>();
  private tokens = 0;

  private static key(executionArn: string, redriveCount: number): string {
    return `${executionArn}#${redriveCount}`;
  }

  /** Seeds a record as it would be stored (tests). */
  put(record: FailureRecord): void {
    this.records.set(FakeLedger.key(record.executionArn, record.redriveCount), { ...record });
  }

  async failuresOf(executionArn: string): Promise<FailureRecord[]> {
    return [...this.records.values()]
      .filter((r) => r.executionArn === executionArn)
      .sort((a, b) => a.redriveCount - b.redriveCount)
      .map((r) => ({ ...r }));
  }

  async get(executionArn: string, redriveCount: number): Promise<FailureRecord | undefined> {
    const r = this.records.get(FakeLedger.key(executionArn, redriveCount));
    return r ? { ...r } : undefined;
  }

  private takeable(r: StoredRecord | undefined, now: number): boolean {
    return (
      r === undefined ||
      r.state === 'skipped' ||
      r.state === 'held' ||
      (r.state === 'pending' && r.dueAt !== null && r.dueAt <= now) ||
      (r.state === 'claimed' && r.claimExpiresAt !== null && r.claimExpiresAt <= now)
    );
  }

  async claim(facts: FailureFacts, now: number, claimTimeoutMs: number): Promise<Claim | undefined> {
    const k = FakeLedger.key(facts.executionArn, facts.redriveCount);
    const r = this.records.get(k);
    if (!this.takeable(r, now)) return undefined;
    const token = `token-${++this.tokens}`;
    const expires = now + claimTimeoutMs;
    const attempts = (r?.attempts ?? 0) + 1;
    this.records.set(k, {
      reason: null,
      ...r,
      ...storedFacts(facts),
      state: 'claimed',
      claimToken: token,
      claimExpiresAt: expires,
      dueAt: expires,
      attempts,
      updatedAt: now,
    });
    return { executionArn: facts.executionArn, redriveCount: facts.redriveCount, token, attempts };
  }

  async claimNew(facts: FailureFacts, now: number, claimTimeoutMs: number): Promise<Claim | undefined> {
    if (this.records.has(FakeLedger.key(facts.executionArn, facts.redriveCount))) return undefined;
    return this.claim(facts, now, claimTimeoutMs);
  }

  async supersede(later: FailureFacts, now: number): Promise<boolean> {
    const k = FakeLedger.key(later.executionArn, 0);
    if (this.records.has(k)) return false;
    this.records.set(k, {
      ...storedFacts({ ...later, redriveCount: 0, stopDate: null, errorName: null, cause: null }),
      state: 'skipped',
      reason: 'stale-event',
      supersededBy: later.redriveCount,
      dueAt: null,
      claimToken: null,
      claimExpiresAt: null,
      attempts: 0,
      updatedAt: now,
    });
    return true;
  }

  async schedule(facts: FailureFacts, dueAt: number, now: number, decisions?: readonly AuditEntry[], decision?: AuditEntry): Promise<boolean> {
    const k = FakeLedger.key(facts.executionArn, facts.redriveCount);
    const r = this.records.get(k);
    if (r !== undefined && r.state !== 'skipped' && r.state !== 'held') return false;
    const kept = [...(decisions ?? []), ...(decision ? [decision] : [])];
    this.records.set(k, {
      ...(kept.length ? { decisions: kept } : {}),
      ...storedFacts(facts),
      state: 'pending',
      reason: 'backoff',
      dueAt,
      claimToken: null,
      claimExpiresAt: null,
      attempts: 0,
      updatedAt: now,
    });
    return true;
  }

  async skip(facts: FailureFacts, reason: string, now: number, decision?: AuditEntry): Promise<boolean> {
    return this.takeOver(facts, now, decision, { state: 'skipped', reason, dueAt: null, dueShard: undefined });
  }

  /** The directory of parked families, in memory (record/parked-failures.ts), so the drain reconsiders them. */
  readonly parked = new MemoryParkedDirectory() as unknown as FailureLedger['parked'];

  async park(facts: FailureFacts, reason: string, now: number, decision?: AuditEntry): Promise<boolean> {
    return this.takeOver(facts, now, decision, { state: 'skipped', reason, dueAt: Math.min(facts.stopDate ?? now, now), dueShard: `${parkedFamily(reason, facts.stateMachineArn)}#0` });
  }

  /** Writes `change` over a record that may be taken over (FailureLedger.takeOver): facts refreshed, claim cleared, decision appended. */
  private takeOver(facts: FailureFacts, now: number, decision: AuditEntry | undefined, change: Partial<StoredRecord>): boolean {
    const k = FakeLedger.key(facts.executionArn, facts.redriveCount);
    const r = this.records.get(k);
    if (!this.takeable(r, now)) return false;
    this.records.set(k, {
      ...r,
      ...(decision ? { decisions: [...(r?.decisions ?? []), decision] } : {}),
      ...storedFacts(facts),
      ...change,
      claimToken: null,
      claimExpiresAt: null,
      attempts: r?.attempts ?? 0,
      updatedAt: now,
    } as StoredRecord);
    return true;
  }

  private settle(claim: Claim, change: Partial<StoredRecord>): boolean {
    const r = this.records.get(FakeLedger.key(claim.executionArn, claim.redriveCount));
    if (!r || r.state !== 'claimed' || r.claimToken !== claim.token) return false;
    Object.assign(r, change);
    return true;
  }

  /** The audit entries the settling writes stored, as FailureLedger keeps them in `decisions`. */
  private withDecision(claim: Claim, decision: AuditEntry | undefined): Partial<StoredRecord> {
    if (!decision || !settlesWithDecision(claim)) return {};
    const r = this.records.get(FakeLedger.key(claim.executionArn, claim.redriveCount));
    return { decisions: [...(r?.decisions ?? []), decision] };
  }

  async markRedriven(claim: Claim, now: number, probeToken?: string, decision?: AuditEntry): Promise<boolean> {
    return this.settle(claim, {
      state: 'redriven',
      reason: probeToken ? 'probe' : 'redriven',
      updatedAt: now,
      dueAt: null,
      claimExpiresAt: null,
      ...(probeToken ? { probeToken } : {}),
      ...this.withDecision(claim, decision),
    });
  }

  /** byDue shard of held records (others: DUE while they have a dueAt). */
  private readonly heldShards = new Map<string, string>();

  async hold(facts: FailureFacts, reason: string, shard: string, now: number, decision?: AuditEntry): Promise<boolean> {
    if (!this.takeOver(facts, now, decision, { state: 'held', reason, dueAt: Math.min(facts.stopDate ?? now, now), heldAt: now })) return false;
    this.heldShards.set(FakeLedger.key(facts.executionArn, facts.redriveCount), shard);
    return true;
  }

  async holdClaim(claim: Claim, reason: string, shard: string, since: number, now: number, decision?: AuditEntry): Promise<boolean> {
    const ok = this.settle(claim, { state: 'held', reason, dueAt: since, heldAt: now, updatedAt: now, claimToken: null, claimExpiresAt: null, ...this.withDecision(claim, decision) });
    if (ok) this.heldShards.set(FakeLedger.key(claim.executionArn, claim.redriveCount), shard);
    return ok;
  }

  private inShard(shard: string): StoredRecord[] {
    return [...this.records.entries()]
      .filter(([k, r]) => r.state === 'held' && this.heldShards.get(k) === shard)
      .map(([, r]) => r)
      .sort((a, b) => a.dueAt! - b.dueAt!);
  }

  /** A held family as one stream, oldest first (the fake keeps one value per family: no shards). */
  async *held(shard: string, options: { stoppedBefore?: number; stateMachineArn?: string } = {}): AsyncGenerator<FailureRecord> {
    const items = this.inShard(shard)
      .filter((r) => (options.stoppedBefore === undefined || r.dueAt! < options.stoppedBefore) && (options.stateMachineArn === undefined || r.stateMachineArn === options.stateMachineArn))
      .map((r) => ({ ...r }));
    yield* items;
  }

  async heldCount(shard: string): Promise<number> {
    return this.inShard(shard).length;
  }

  async markRejected(claim: Claim, reason: string, now: number, decision?: AuditEntry): Promise<boolean> {
    return this.settle(claim, { state: 'skipped', reason, updatedAt: now, dueAt: null, dueShard: undefined, claimExpiresAt: null, ...this.withDecision(claim, decision) });
  }

  async defer(claim: Claim, dueAt: number, reason: string, now: number, decision?: AuditEntry): Promise<boolean> {
    return this.settle(claim, { state: 'pending', reason, dueAt, updatedAt: now, claimExpiresAt: null, ...this.withDecision(claim, decision) });
  }

  async due(now: number, limit: number): Promise<FailureRecord[]> {
    return [...this.records.values()]
      .filter((r) => r.state !== 'held' && r.dueAt !== null && r.dueAt <= now)
      .sort((a, b) => a.dueAt! - b.dueAt!)
      .slice(0, limit)
      .map((r) => ({ ...r }));
  }

  async backlog(): Promise<{ count: number; oldestDueAt: number | null }> {
    const due = [...this.records.values()].filter((r) => r.state !== 'held' && r.dueAt !== null);
    return { count: due.length, oldestDueAt: due.length ? Math.min(...due.map((r) => r.dueAt!)) : null };
  }

  /** Plain view for comparisons: state per failure. */
  states(): Record<string, FailureState> {
    return Object.fromEntries([...this.records].map(([k, r]) => [k, r.state]));
  }
}

/**
 * The audit trail in memory. `entries`: every decision, in the order recorded, whether
 * stored as an item of its own or with the ledger write that settled a claim (then the
 * FakeLedger record holds it too, as FailureLedger does).
 */
export class FakeAudit implements Public<AuditTrail> {
  readonly entries: AuditEntry[] = [];
  /** Decisions stored with a ledger write (counted only). */
  readonly withLedgerWrite: AuditEntry[] = [];
  private readonly observers: Array<(entry: AuditEntry) => void> = [];
  observe(observer: (entry: AuditEntry) => void): void {
    this.observers.push(observer);
  }
  async record(entry: AuditEntry): Promise<void> {
    this.entries.push(entry);
    for (const observer of this.observers) observer(entry);
  }
  async counted(entry: AuditEntry): Promise<void> {
    this.entries.push(entry);
    this.withLedgerWrite.push(entry);
    for (const observer of this.observers) observer(entry);
  }
  async flush(): Promise<void> {}
  async trail(executionArn: string): Promise<AuditEntry[]> {
    return this.entries.filter((e) => e.executionArn === executionArn);
  }
  async countsFor(dayMs: number): Promise<DailyCounts> {
    const day = new Date(dayMs).toISOString().slice(0, 10);
    const counts: Record<string, number> = {};
    for (const e of this.entries) {
      if (new Date(e.at).toISOString().slice(0, 10) !== day) continue;
      const k = `${e.decision}:${e.reason}:${e.action}`;
      counts[k] = (counts[k] ?? 0) + 1;
    }
    return { day, counts };
  }
}

export class FakePolicies implements Public<PolicySource> {
  constructor(
    private readonly policies: ReadonlyMap<string, PolicyParseResult>,
    private readonly paused: boolean,
  ) {}
  async snapshot(now: number): Promise<PolicySnapshot> {
    return { policies: this.policies, pause: this.paused ? { paused: true, reason: 'fuzz', by: 'fuzz', at: 0 } : { paused: false }, loadedAt: now };
  }
  invalidate(): void {}
  async refresh(now: number): Promise<PolicySnapshot> {
    return this.snapshot(now);
  }
}

export interface RedriveCall {
  readonly executionArn: string;
  readonly clientToken: string;
}

/** Scripted Step Functions: answers come from the test; every call is recorded. */
export class FakeStepFunctions implements StepFunctionsGateway {
  readonly redrives: RedriveCall[] = [];
  readonly describes: string[] = [];
  constructor(
    private readonly answers: {
      redrive: () => RedriveResult;
      describe: (executionArn: string) => DescribedExecution | undefined;
    },
  ) {}
  async redrive(executionArn: string, clientToken: string): Promise<RedriveResult> {
    this.redrives.push({ executionArn, clientToken });
    return this.answers.redrive();
  }
  async describe(executionArn: string): Promise<DescribedExecution | undefined> {
    this.describes.push(executionArn);
    return this.answers.describe(executionArn);
  }
  async *listStopped(_stateMachineArn: string, _status: ExecutionStatus, _since: number): AsyncIterable<ListedExecution> {
    return;
  }
  async *listStateMachines(): AsyncIterable<string> {
    return;
  }
}

/** Grants every slot now, or refuses every one (a saturated limiter). */
export class FakeRate implements RateLimiter {
  calls = 0;
  constructor(
    private readonly clock: () => number,
    private readonly grant: boolean,
  ) {}
  async acquire(): Promise<RateGrant> {
    this.calls++;
    return this.grant ? { granted: true, at: this.clock() } : { granted: false, retryAt: this.clock() + 1000 };
  }
}

export interface FakeWorld {
  readonly deps: ControllerDeps;
  readonly ledger: FakeLedger;
  readonly audit: FakeAudit;
  readonly sfn: FakeStepFunctions;
  readonly log: MemoryLog;
  readonly metrics: InMemoryMetrics;
  readonly notifier: MemoryNotifier;
}

export interface FakeWorldOptions {
  readonly now: number;
  readonly policies: ReadonlyMap<string, PolicyParseResult>;
  readonly paused?: boolean;
  readonly redrive?: () => RedriveResult;
  readonly describe?: (executionArn: string) => DescribedExecution | undefined;
  readonly redriveGranted?: boolean;
  readonly describeGranted?: boolean;
  readonly config?: Partial<ControllerConfig>;
  readonly ledger?: FakeLedger;
}

export function fakeWorld(o: FakeWorldOptions): FakeWorld {
  let now = o.now;
  const clock = () => now;
  const ledger = o.ledger ?? new FakeLedger();
  const audit = new FakeAudit();
  const log = new MemoryLog();
  const metrics = new InMemoryMetrics();
  const notifier = new MemoryNotifier();
  const sfn = new FakeStepFunctions({
    redrive: o.redrive ?? (() => ({ kind: 'redriven', redriveDate: now })),
    describe: o.describe ?? (() => undefined),
  });
  const config: ControllerConfig = {
    ...DEFAULTS,
    policyTableName: 'policies',
    ledgerTableName: 'ledger',
    eventBusName: undefined,
    ...o.config,
  };
  const deps: ControllerDeps = {
    config,
    policies: new FakePolicies(o.policies, o.paused ?? false) as unknown as PolicySource,
    audit: audit as unknown as AuditTrail,
    ledger: ledger as unknown as FailureLedger,
    stepFunctions: sfn,
    redriveRate: new FakeRate(clock, o.redriveGranted ?? true),
    describeRate: new FakeRate(clock, o.describeGranted ?? true),
    clock,
    sleep: async (ms) => {
      now += Math.max(0, ms);
    },
    log,
    metrics,
    maxRateWaitMs: config.maxRateWaitMs,
    claimTimeoutMs: config.claimTimeoutSeconds * 1000,
    notifier,
  };
  return { deps, ledger, audit, sfn, log, metrics, notifier };
}
