/**
 * The redrive budget's storage contract (policy field `maxRedrivesPerHour`,
 * docs/policies.md#redrive-budget): item keys and the window arithmetic, shared by the
 * controller (lambda/act/redrive-budget.ts), the CLI (status) and the tests.
 *
 *   budget item     pk BUDGET#<stateMachineArn>  sk BUDGET   (one per state machine with a budget)
 *                   ver (every write is conditional on it), g (minute bucket -> redrives
 *                   leased in that minute, only the last BUDGET_WINDOW_BUCKETS), reachedAt
 *                   (when the budget was last found used up: its owner event is sent once an
 *                   hour at most), expiresAt (TTL: the item goes once unused for two hours)
 *   held failure    the failure record, state `held`, reason `over-budget`, in the sparse
 *                   byDue index under HELD-BUDGET#<k> (k the execution's shard,
 *                   contract/due-shards.ts) at its stop time: the drain releases oldest first.
 *
 * Why leases and not a counter per redrive: a write per redrive to one item would be a hot
 * key at the failure rate (DynamoDB serves ~1,000 write units/s per partition key; a budget
 * may say 100,000 an hour). An instance leases a few redrives at a time (one conditional
 * write per lease, sized to its own pace), spends them within LEASE_LIFETIME_MS, and the
 * item counts leases per minute. Granting only while the leases of the last
 * BUDGET_WINDOW_BUCKETS minutes stay within the budget bounds the redrives of ANY rolling
 * hour by the budget: a redrive made at time r spends a lease granted in [r - lifetime, r],
 * so the redrives of an hour come from leases of at most 62 consecutive minute buckets
 * (the hour, the lease lifetime before it, clock skew after it).
 */

export const BUDGET_SK = 'BUDGET';
export const budgetPk = (stateMachineArn: string) => `BUDGET#${stateMachineArn}`;

/** Family (base value) of failures held over budget (all state machines), sharded as `HELD-BUDGET#<k>`. */
export const HELD_BUDGET_SHARD = 'HELD-BUDGET';

/** Bucket width: leases are counted per minute. */
export const BUDGET_BUCKET_MS = 60_000;
/** A lease's redrives are spent within this long of its grant (on the granting instance's clock), or not at all. */
export const LEASE_LIFETIME_MS = 50_000;
/** Clock difference between instances the window tolerates (Lambda hosts are within a millisecond; a wide margin). */
export const BUDGET_SKEW_MS = 5_000;
/**
 * Minute buckets one grant checks: an hour of redrives spends leases granted in
 * [start - lifetime - skew, end + skew) (61 minutes), which spans at most 62 buckets.
 */
export const BUDGET_WINDOW_BUCKETS = Math.ceil((3_600_000 + LEASE_LIFETIME_MS + 2 * BUDGET_SKEW_MS) / BUDGET_BUCKET_MS) + 1;

/** The minute bucket of a time. */
export const budgetBucket = (at: number) => Math.floor(at / BUDGET_BUCKET_MS);

/** Redrives leased in the window that a grant at `at` must respect (`leased`: bucket -> count). */
export function leasedInWindow(leased: Readonly<Record<string, number>>, at: number): number {
  const last = budgetBucket(at);
  let sum = 0;
  for (const [bucket, n] of Object.entries(leased)) {
    const b = Number(bucket);
    // A bucket after `last` (an instance whose clock runs ahead) counts too.
    if (b > last - BUDGET_WINDOW_BUCKETS) sum += n;
  }
  return sum;
}

/** A state machine that stays at its budget this long (its oldest failure held over budget) raises the budget alarm. */
export const OVER_BUDGET_ALARM_SECONDS = 2 * 3600;
/** The budget's owner event is sent again at most this often while a state machine stays at its budget. */
export const BUDGET_EVENT_INTERVAL_MS = 3_600_000;
