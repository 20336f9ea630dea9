/**
 * The redrive budget (policy field `maxRedrivesPerHour`): at most that many redrives of one
 * state machine in any rolling hour, across every Lambda instance and path. Consulted only
 * for policies that set it.
 *
 * Bookkeeping without a hot item (contract/budget.ts): an instance leases a few redrives
 * at a time from the state machine's budget item (one version-conditioned write per lease)
 * and spends them locally within LEASE_LIFETIME_MS. The item counts leases per minute, and
 * a lease is granted only while the leases of the last BUDGET_WINDOW_BUCKETS minutes stay
 * within the budget, which bounds every rolling hour's redrives. Lease sizes follow the
 * instance's own pace like TCP's slow start (1, doubling while leases are used up, halving
 * when one expires unused, at most a 120th of the budget), and an expired lease's unused
 * redrives go back with the next write: at 100,000 an hour the item takes a write every few
 * seconds, far below DynamoDB's per-key limit. This is not the rate limiter's share
 * mechanism (lambda/act/rate-shares.ts): a rate with an hourly refill bounds the average,
 * not the count in any hour (a full bucket plus an hour's refill is twice the budget).
 *
 * `plan()` is pure; `RedriveBudget` keeps one lease per state machine and talks to the store.
 */
import { BUDGET_BUCKET_MS, BUDGET_EVENT_INTERVAL_MS, BUDGET_WINDOW_BUCKETS, budgetBucket, LEASE_LIFETIME_MS, leasedInWindow } from '../../contract/budget';
import type { BudgetStore, BudgetView, BudgetWrite } from '../record/budget-store';

/** A lease held by this instance. */
export interface BudgetLease {
  /** Redrives granted, and left to spend. */
  readonly size: number;
  left: number;
  /** The minute bucket it was counted in (unused redrives are given back there). */
  readonly bucket: number;
  readonly expiresAt: number;
}

export type BudgetGrant =
  | { readonly granted: true }
  /** `reached`: this call recorded that the budget was reached (its caller announces it, once). */
  | { readonly granted: false; readonly reached: boolean };

/** Largest lease: a 120th of the budget (30 seconds of it at full pace), at least 1. */
export const maxLeaseSize = (perHour: number) => Math.max(1, Math.ceil(perHour / 120));

/** Next lease size: doubled after one used up, halved after one that expired unused. */
export function nextLeaseSize(previous: BudgetLease | undefined, perHour: number): number {
  if (!previous) return 1;
  const size = previous.left === 0 ? previous.size * 2 : Math.ceil(previous.size / 2);
  return Math.min(maxLeaseSize(perHour), Math.max(1, size));
}

export interface Plan {
  /** Redrives granted (0: the budget is used up). */
  readonly grant: number;
  /** What to write, or undefined when nothing changes. */
  readonly write: BudgetWrite | undefined;
  /** The write records the budget as reached (the caller announces it if the write wins). */
  readonly reaching: boolean;
}

/**
 * One lease attempt against the item's view: give back `returned` unused redrives of an
 * expired lease, grant up to `wanted` of what the window leaves, or record that the budget
 * was reached (once an hour at most).
 */
export function plan(view: BudgetView, input: { readonly now: number; readonly perHour: number; readonly wanted: number; readonly returned?: { readonly bucket: number; readonly count: number } }): Plan {
  const bucket = budgetBucket(input.now);
  const leased: Record<string, number> = {};
  for (const [b, n] of Object.entries(view.leased)) if (Number(b) > bucket - BUDGET_WINDOW_BUCKETS && n > 0) leased[b] = n;
  const pruned = Object.keys(leased).length !== Object.keys(view.leased).length;
  const back = input.returned && leased[input.returned.bucket] !== undefined ? Math.min(input.returned.count, leased[input.returned.bucket]) : 0;
  if (back > 0) leased[input.returned!.bucket] -= back;
  const grant = Math.max(0, Math.min(input.wanted, input.perHour - leasedInWindow(leased, input.now)));
  if (grant > 0) {
    leased[bucket] = (leased[bucket] ?? 0) + grant;
    return { grant, write: { leased, reachedAt: view.reachedAt }, reaching: false };
  }
  const reaching = view.reachedAt === null || input.now - view.reachedAt >= BUDGET_EVENT_INTERVAL_MS;
  if (reaching) return { grant: 0, write: { leased, reachedAt: input.now }, reaching: true };
  return { grant: 0, write: back > 0 || pruned ? { leased, reachedAt: view.reachedAt } : undefined, reaching: false };
}

/** After a refusal, this instance refuses without a read for this long (held failures do not read the item each). */
const REFUSAL_CACHE_MS = 1_000;
/** Conditional-write attempts per lease before giving up for now (the failure is held, not lost). */
const WRITE_ATTEMPTS = 5;

export class RedriveBudget {
  private readonly leases = new Map<string, BudgetLease>();
  private readonly views = new Map<string, BudgetView>();
  private readonly refusedUntil = new Map<string, number>();
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: BudgetStore,
    private readonly clock: () => number,
  ) {}

  /** One redrive of `stateMachineArn` under a budget of `perHour`: granted, or over budget. */
  take(stateMachineArn: string, perHour: number): Promise<BudgetGrant> {
    // One lease attempt per state machine at a time in this instance (the drain runs workers concurrently).
    const previous = this.queues.get(stateMachineArn) ?? Promise.resolve();
    const next = previous.then(() => this.takeNow(stateMachineArn, perHour));
    this.queues.set(stateMachineArn, next.catch(() => undefined));
    return next;
  }

  /**
   * Whether a redrive of `stateMachineArn` would be granted now (no side effect: one read
   * unless this instance holds a live lease). The drain asks before releasing a failure
   * held over budget, so a state machine still at its budget costs no write per run.
   */
  async available(stateMachineArn: string, perHour: number): Promise<boolean> {
    const now = this.clock();
    const lease = this.leases.get(stateMachineArn);
    if (lease && lease.left > 0 && now < lease.expiresAt) return true;
    const returned = lease && lease.left > 0 ? { bucket: lease.bucket, count: lease.left } : undefined;
    return plan(await this.store.read(stateMachineArn), { now, perHour, wanted: 1, returned }).grant > 0;
  }

  private async takeNow(sm: string, perHour: number): Promise<BudgetGrant> {
    const now = this.clock();
    const lease = this.leases.get(sm);
    if (lease && lease.left > 0 && now < lease.expiresAt) {
      lease.left--;
      return { granted: true };
    }
    if ((this.refusedUntil.get(sm) ?? 0) > now) return { granted: false, reached: false };
    // A lease that ended long ago says nothing about this instance's pace now: start small.
    const wanted = nextLeaseSize(lease && now - lease.expiresAt < LEASE_LIFETIME_MS ? lease : undefined, perHour);
    const returned = lease && lease.left > 0 ? { bucket: lease.bucket, count: lease.left } : undefined;
    let cached = this.views.get(sm);
    let view = cached ?? (await this.store.read(sm));
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      const p = plan(view, { now, perHour, wanted, returned });
      if (p.grant === 0 && !p.write && cached) {
        // A refusal is worth a fresh look: others may have given redrives back since this copy.
        cached = undefined;
        view = await this.store.read(sm);
        attempt--;
        continue;
      }
      if (p.write) {
        const out = await this.store.write(sm, view.version, p.write, now);
        if ('conflict' in out) {
          cached = undefined;
          view = out.conflict ?? (await this.store.read(sm));
          continue;
        }
        view = out;
      }
      this.views.set(sm, view);
      if (returned) this.leases.delete(sm);
      if (p.grant === 0) {
        this.refusedUntil.set(sm, now + REFUSAL_CACHE_MS);
        return { granted: false, reached: p.reaching };
      }
      this.leases.set(sm, { size: p.grant, left: p.grant - 1, bucket: budgetBucket(now), expiresAt: now + LEASE_LIFETIME_MS });
      return { granted: true };
    }
    // Lost every race (many instances renewing at once): over budget for now; the failure is held and released later.
    this.views.delete(sm);
    return { granted: false, reached: false };
  }
}

/** For docs and tests: how long a leased redrive counts against the budget. */
export const BUDGET_WINDOW_MS = BUDGET_WINDOW_BUCKETS * BUDGET_BUCKET_MS;
