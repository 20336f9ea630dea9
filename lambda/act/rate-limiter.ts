/**
 * One rate for the whole controller, across every Lambda instance and both paths (event
 * and drain): a LEASING limiter. Each instance leases a *share of the rate for a period*
 * (s calls per second until `until`) in one DynamoDB item (lambda/act/rate-shares.ts: the
 * map of instance -> share, the Σ shares <= rate invariant, the fair split), written only by
 * version-conditioned writes, and spaces its own calls exactly 1000/s ms apart locally.
 * Most grants touch no DynamoDB at all: an instance writes when it renews its lease
 * (short while instances come and go, doubling up to MAX_LEASE_MS while the set is stable)
 * and reads while it waits for a share.
 *
 * Why shares and not a block of k slots: an instance handles one event at a time, so k
 * consecutive slots (k/rate seconds of the timeline) would mostly go unused.
 *
 * Crash safety: a holder that dies stops renewing; the others count its share until
 * `until + SKEW_ALLOWANCE_MS`, then take it (at most MAX_LEASE_MS + SKEW_ALLOWANCE_MS after its
 * last renewal). A holder stops at its `until` on its own clock, so clocks that differ by
 * up to the allowance never exceed the rate; beyond it, windowBound() says by how much.
 * A grant is never in the past when given (no queued grant to arrive late and bunch).
 * Items of the previous single-item GCRA limiter (pk RATE, sk <name>) are left alone: this
 * one lives at sk LEASES#<name>.
 */
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { randomUUID } from 'node:crypto';
import { isConditionFailure } from '../record/conditional-write';
import { type LeaseEntry, type LeaseHolders, type LeaseTiming, type LeaseView, planLease } from './rate-shares';

export type RateGrant =
  /** Call at `at` (epoch ms; wait `at - now` first). */
  | { readonly granted: true; readonly at: number }
  /** No slot within the wait budget; capacity frees up around `retryAt`. */
  | { readonly granted: false; readonly retryAt: number };

export interface RateLimiter {
  acquire(maxWaitMs: number): Promise<RateGrant>;
  /**
   * The granted call starts now (after its wait). A call that starts late (a slow event
   * loop) pushes this instance's next slot on, so two calls never start closer than the
   * spacing: late wake-ups would otherwise bunch calls above the rate in a one-second window.
   */
  started?(at: number): void;
  /**
   * Records this limiter's rate where tools outside the controller read it (the drain, every
   * run: `redrivectl release` and `backfill` default to it and may only go below it).
   */
  publishRate?(at: number): Promise<void>;
}

/**
 * Asks `limiter` for a slot within `maxWaitMs` and, when granted, waits until it and marks
 * the call started: the one way every rate-limited call takes its turn. The denied grant is
 * returned for the caller to defer or give up.
 */
export async function takeSlot(
  limiter: RateLimiter,
  maxWaitMs: number,
  deps: { readonly clock: () => number; readonly sleep: (ms: number) => Promise<void> },
): Promise<RateGrant> {
  const grant = await limiter.acquire(maxWaitMs);
  if (!grant.granted) return grant;
  const wait = grant.at - deps.clock();
  if (wait > 0) await deps.sleep(wait);
  limiter.started?.(deps.clock());
  return grant;
}

/** Lease length while the set of instances changes. */
export const MIN_LEASE_MS = 500;
/** Longest lease: bounds how long a dead holder's share stays unused, and how long a newcomer may wait. */
export const MAX_LEASE_MS = 8_000;
/**
 * Clock difference between instances tolerated without exceeding the rate. Lambda hosts
 * keep time with the Amazon Time Sync Service (errors well under a millisecond,
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/set-time.html); 100 ms is a wide margin.
 */
export const SKEW_ALLOWANCE_MS = 100;
export const LEASE_TIMING: LeaseTiming = { minLeaseMs: MIN_LEASE_MS, maxLeaseMs: MAX_LEASE_MS, skewAllowanceMs: SKEW_ALLOWANCE_MS };

/** Waiters poll at retryAt plus up to this much, so they do not all write at once. */
const POLL_JITTER_MS = 40;
/** First backoff after a lost write race (ms; random up to this, doubling per attempt). */
const CONFLICT_BACKOFF_MS = 20;
/** Conditional-write attempts per renewal before backing off. */
const WRITE_ATTEMPTS = 5;

/** The lease item: read consistently, written only under a condition. */
export interface LeaseStore {
  read(): Promise<LeaseView>;
  /** Writes the whole map if the version is still `expectedVersion`. */
  writeAll(expectedVersion: number, holders: LeaseHolders): Promise<WriteResult>;
  /** Writes one entry if it is still the one with until `expectedUntil` (undefined: no entry yet); bumps the version. */
  writeMine(id: string, entry: LeaseEntry, expectedUntil: number | undefined): Promise<WriteResult>;
}

/** The view after the write, or on a lost race `{ conflict }` with the current view when the store returns it. */
export type WriteResult = LeaseView | { readonly conflict: LeaseView | undefined };

export interface LeasedRateLimiterOptions {
  readonly clock?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  /** @default a random UUID (one per limiter object, i.e. per Lambda instance) */
  readonly instanceId?: string;
  /** @default LEASE_TIMING */
  readonly timing?: LeaseTiming;
}

export class LeasedRateLimiter implements RateLimiter {
  readonly id: string;
  private readonly clock: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly timing: LeaseTiming;
  private share = 0;
  private until = 0;
  /** My next call's earliest start (exact spacing: previous call + 1000/share). */
  private tat = 0;
  private leaseMs: number;
  private members = '';
  private retryAt = 0;
  /** After a renewal that could not write, do not try again before this. */
  private renewAfter = 0;
  private renewing: Promise<void> | undefined;
  /** Round trip to the store (moving average): renewals start early enough, backoffs scale with it. */
  private rttMs = 20;
  /** Time between my acquires (moving average): leases last a few of them. */
  private gapMs = 0;
  private lastAcquire = 0;

  constructor(
    private readonly store: LeaseStore,
    readonly ratePerSecond: number,
    options: LeasedRateLimiterOptions = {},
  ) {
    if (!(ratePerSecond > 0)) throw new Error('rate limiter: ratePerSecond must be > 0');
    this.clock = options.clock ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.timing = options.timing ?? LEASE_TIMING;
    this.id = options.instanceId ?? randomUUID();
    this.leaseMs = this.timing.minLeaseMs;
  }

  started(at: number): void {
    if (this.share > 0) this.tat = Math.max(this.tat, Math.ceil(at + 1000 / this.share));
  }

  /** My share and until as I use them (tests, metrics). */
  lease(): { readonly share: number; readonly until: number } {
    return { share: this.share, until: this.until };
  }

  async acquire(maxWaitMs: number): Promise<RateGrant> {
    const start = this.clock();
    const deadline = start + maxWaitMs;
    const gap = Math.min(this.timing.maxLeaseMs, start - this.lastAcquire);
    if (this.lastAcquire > 0) this.gapMs = this.gapMs === 0 ? gap : 0.8 * this.gapMs + 0.2 * gap;
    this.lastAcquire = start;
    let renewals = 0;
    for (let round = 0; round < 200; round++) {
      if (this.renewing) {
        await this.renewing;
        continue;
      }
      const now = this.clock();
      const interval = this.share > 0 ? 1000 / this.share : Infinity;
      // Whole milliseconds, rounded up: consecutive calls are never closer than 1000/share.
      const slot = Math.ceil(Math.max(now, this.tat));
      const fits = slot + interval <= this.until;
      const renewDue = !fits || this.until - slot < this.renewAheadMs(interval);
      if (fits && (!renewDue || now < this.renewAfter)) {
        if (slot > Math.ceil(deadline)) return { granted: false, retryAt: slot };
        this.tat = slot + interval;
        return { granted: true, at: slot };
      }
      if (!fits && now < this.renewAfter) {
        // Lost the write races just now: wait a little, within the budget.
        const at = Math.max(this.renewAfter, this.holds(now) ? this.until : 0);
        if (at > deadline) return { granted: false, retryAt: at };
        await this.sleep(at - now);
        continue;
      }
      // A lease that cannot reach my queued calls after a few renewals: come back later.
      if (++renewals > 3 && this.holds(now)) return { granted: false, retryAt: Math.max(slot, this.until) };
      await this.renew(deadline);
      if (this.share > 0 && this.clock() < this.until) continue;
      const retryAt = this.retryAt + this.random() * POLL_JITTER_MS;
      if (retryAt > deadline) return { granted: false, retryAt };
      await this.sleep(Math.max(1, retryAt - this.clock()));
    }
    return { granted: false, retryAt: this.clock() + this.timing.minLeaseMs };
  }

  private holds(now: number): boolean {
    return this.share > 0 && now < this.until;
  }

  /** Renew this long before the lease ends, so a busy instance never runs dry. */
  private renewAheadMs(interval: number): number {
    return Math.min(this.leaseMs / 2, Math.max(100, this.leaseMs / 8, 3 * this.rttMs, Number.isFinite(interval) ? 2 * interval : 0));
  }

  private renew(deadline: number): Promise<void> {
    this.renewing = this.renewOnce(deadline).finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  private async timed<T>(call: Promise<T>): Promise<T> {
    const started = this.clock();
    try {
      return await call;
    } finally {
      this.rttMs = 0.8 * this.rttMs + 0.2 * Math.max(0, this.clock() - started);
    }
  }

  private async renewOnce(deadline: number): Promise<void> {
    let view = await this.timed(this.store.read());
    let grow = true;
    let take = true;
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      const now = this.clock();
      const mineNow = view.holders[this.id];
      // Another instance's write gave me a share, or topped mine up: use it, no write.
      if (mineNow && mineNow.s > 0 && now + 1000 / mineNow.s <= mineNow.u && (!this.holds(now) || (mineNow.s >= this.share && mineNow.u > this.until))) {
        this.adopt(mineNow.s, mineNow.u, now, this.holds(now));
        this.leaseMs = mineNow.u - now;
        if (mineNow.u - Math.max(now, this.tat) >= this.renewAheadMs(1000 / mineNow.s)) return;
      }
      const plan = planLease(view, {
        me: this.id,
        now,
        ratePerSecond: this.ratePerSecond,
        timing: this.timing,
        share: this.share,
        until: this.until,
        nextSlot: this.tat,
        leaseMs: this.leaseMs,
        members: this.members,
        wantUntil: Math.max(deadline, now + this.timing.minLeaseMs),
        jitter: this.random(),
        grow,
        take,
        // Long enough for a few of my gaps between acquires, and for the calls already queued (the drain's workers).
        floorMs: Math.min(this.timing.maxLeaseMs, Math.max(4 * this.gapMs, this.tat - now + (this.share > 0 ? 4000 / this.share : 0))),
      });
      this.retryAt = plan.retryAt + plan.rank * 2 * this.rttMs;
      if (!plan.write) return;
      const mine = view.holders[this.id];
      const written =
        plan.scope === 'mine' && view.version > 0
          ? await this.timed(this.store.writeMine(this.id, plan.mine, mine?.u))
          : await this.timed(this.store.writeAll(view.version, plan.write));
      if (!('conflict' in written)) {
        this.adopt(plan.mine.s, plan.mine.u, this.clock(), this.holds(now));
        this.leaseMs = plan.leaseMs;
        this.members = plan.members;
        this.renewAfter = 0;
        return;
      }
      // Lost a race: back off (random, doubling) so that instances arriving together do
      // not all rewrite the item again at once.
      // A holder then just renews what it has (a write of its own entry, which no one else's
      // write conflicts with); it grows at a later renewal.
      grow = false;
      // A newcomer queues: it registers its demand and waits for its turn (or for a share
      // another instance's write gives it) instead of racing the others again.
      if (!this.holds(now) && !view.holders[this.id]) take = false;
      await this.sleep(this.random() * Math.max(CONFLICT_BACKOFF_MS, this.rttMs) * 2 ** attempt);
      view = written.conflict ?? (await this.timed(this.store.read()));
    }
    // Heavy contention: keep what I hold and try again a little later.
    const now = this.clock();
    this.renewAfter = now + 20 + this.random() * POLL_JITTER_MS;
    this.retryAt = Math.max(this.retryAt, this.renewAfter);
  }

  private adopt(share: number, until: number, now: number, continuing: boolean): void {
    this.share = share;
    this.until = until;
    // A renewed lease goes on from the calls already granted. A new one starts one interval
    // from now, as if it had just made a call: an instance that gains a share inside a
    // one-second window then adds no extra call to it (its first call is paid for by the
    // share's first interval, not by capacity the window already counted elsewhere).
    if (!continuing) this.tat = now + 1000 / share;
    else if (this.tat < now) this.tat = now;
  }
}

/** The lease item of limiter `name` in the ledger table. */
const leaseKey = (name: string) => ({ pk: 'RATE', sk: `LEASES#${name}` });

/** The rate the controller's drain last recorded on a lease item (`ratePerSecond`, `recordedAt`). */
export interface RecordedRate {
  readonly ratePerSecond: number;
  readonly recordedAt: number;
}

/**
 * The deployed controller's rate for limiter `name`, as its drain records it on the lease
 * item every run (undefined: never recorded: a controller version from before, or none yet).
 */
export async function readRecordedRate(doc: DynamoDBDocumentClient, tableName: string, name: string): Promise<RecordedRate | undefined> {
  const out = await doc.send(new GetCommand({ TableName: tableName, Key: leaseKey(name), ConsistentRead: true, ProjectionExpression: 'ratePerSecond, rateRecordedAt' }));
  const rate = out.Item?.ratePerSecond;
  return typeof rate === 'number' && rate > 0 ? { ratePerSecond: rate, recordedAt: Number(out.Item?.rateRecordedAt ?? 0) } : undefined;
}

/** The lease item of limiter `name` in the ledger table (pk RATE, sk LEASES#<name>). */
export class DynamoLeaseStore implements LeaseStore {
  private readonly key: { pk: string; sk: string };

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    name: string,
  ) {
    this.key = leaseKey(name);
  }

  /**
   * Records the deployed rate on the lease item. Not the version: the lease writes are
   * conditioned on it, and this one must never make a holder's renewal lose a race.
   */
  async recordRate(ratePerSecond: number, at: number): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.key,
        UpdateExpression: 'SET ratePerSecond = :r, rateRecordedAt = :at',
        ExpressionAttributeValues: { ':r': ratePerSecond, ':at': at },
      }),
    );
  }

  async read(): Promise<LeaseView> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: this.key, ConsistentRead: true }));
    return viewOf(out.Item);
  }

  async writeMine(id: string, entry: LeaseEntry, expectedUntil: number | undefined): Promise<WriteResult> {
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key,
          UpdateExpression: 'SET h.#me = :e ADD v :one',
          ConditionExpression: expectedUntil === undefined ? 'attribute_exists(v) AND attribute_not_exists(h.#me)' : 'h.#me.u = :u',
          ExpressionAttributeNames: { '#me': id },
          ExpressionAttributeValues: { ':e': entry, ':one': 1, ...(expectedUntil === undefined ? {} : { ':u': expectedUntil }) },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return viewOf(out.Attributes);
    } catch (e) {
      return conflictOf(e);
    }
  }

  async writeAll(expectedVersion: number, holders: LeaseHolders): Promise<WriteResult> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key,
          UpdateExpression: 'SET h = :h, v = :next',
          ConditionExpression: expectedVersion === 0 ? 'attribute_not_exists(v)' : 'v = :v',
          ExpressionAttributeValues: { ':h': holders, ':next': expectedVersion + 1, ...(expectedVersion === 0 ? {} : { ':v': expectedVersion }) },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { version: expectedVersion + 1, holders };
    } catch (e) {
      return conflictOf(e);
    }
  }
}

function conflictOf(e: unknown): WriteResult {
  if (!isConditionFailure(e)) throw e;
  // DynamoDB returns the current item; stores that do not (dynalite) cost one read.
  const item = (e as { Item?: Record<string, never> }).Item;
  return { conflict: item ? viewOf(unmarshall(item)) : undefined };
}

function viewOf(item: Record<string, unknown> | undefined): LeaseView {
  if (!item || typeof item.v !== 'number') return { version: 0, holders: {} };
  return { version: item.v, holders: (item.h ?? {}) as LeaseHolders };
}

/** The controller's limiter for one AWS API: a leasing limiter on the ledger table. */
export class DynamoRateLimiter extends LeasedRateLimiter {
  private readonly leaseStore: DynamoLeaseStore;

  constructor(
    doc: DynamoDBDocumentClient,
    tableName: string,
    name: string,
    ratePerSecond: number,
    clock: () => number = Date.now,
    options: Omit<LeasedRateLimiterOptions, 'clock'> = {},
  ) {
    if (!(ratePerSecond > 0)) throw new Error(`rate limiter ${name}: ratePerSecond must be > 0`);
    const store = new DynamoLeaseStore(doc, tableName, name);
    super(store, ratePerSecond, { ...options, clock });
    this.leaseStore = store;
  }

  /**
   * Why on the lease item and not a stack output: every limiter of this rate already shares
   * the item, the CLI reaches it however the tables were named (--stack, --ledger-table, the
   * environment, --local), and the drain rewrites it every run from its own configuration,
   * so after a deploy that changes the rate it is true again within a minute.
   */
  publishRate(at: number): Promise<void> {
    return this.leaseStore.recordRate(this.ratePerSecond, at);
  }
}

/** No limit (tests of other behaviour, and the naive redriver in benchmarks). */
export class UnlimitedRate implements RateLimiter {
  constructor(private readonly clock: () => number = Date.now) {}
  async acquire(): Promise<RateGrant> {
    return { granted: true, at: this.clock() };
  }
}
