/**
 * The pure part of the leasing rate limiter (lambda/act/rate-limiter.ts): how the global
 * rate R is split into *shares of the rate for a period* among the controller's instances.
 *
 * One DynamoDB item holds a map instance id -> lease entry, and every change to it is one
 * write conditioned on the item's version. An entry is a share `s` (calls per second)
 * until `u` (epoch ms, the holder's clock), optionally the tail `p` until `pu` of a larger
 * share the holder had already spent ahead when it shrank (see planLease), and `w`: the
 * instance wants (more) capacity until then. The holder spaces its own calls exactly
 * 1000/s ms apart and stops at `u`; every other instance counts the entry as live until
 * `u + skewAllowanceMs`. The invariant every write keeps: the live shares, as the writer
 * sees them at the time of writing, add up to at most R. Entries only lose live share as
 * time passes, so it holds at every later moment too.
 *
 * Shares are whole multiples of a unit (R / floor(R), i.e. 1/s when R is whole): a holder
 * of s whole calls per second, spaced exactly, starts at most s calls in any one-second
 * window, so a split of a whole rate starts at most R in any window. (A new lease's first
 * call comes one interval after it starts, so a share that moves between instances inside
 * a window adds no call to it; test/unit/act/rate-limiter.test.ts checks this over random
 * interleavings.)
 */

export interface LeaseEntry {
  /** Share: calls per second. */
  readonly s: number;
  /** Until (epoch ms, holder's clock). */
  readonly u: number;
  /** Previous, larger share still being spent until `pu` (the holder shrank with calls granted ahead). */
  readonly p?: number;
  readonly pu?: number;
  /**
   * Counted among the instances that share the rate until then (holders above the fair
   * share shrink when they renew); one below its fair share until then wants more.
   */
  readonly w?: number;
}

export type LeaseHolders = Readonly<Record<string, LeaseEntry>>;

/** The item: version 0 = no item yet. */
export interface LeaseView {
  readonly version: number;
  readonly holders: LeaseHolders;
}

export interface LeaseTiming {
  /** Lease length while the set of instances changes (and the first one). */
  readonly minLeaseMs: number;
  /** Longest lease (a dead holder's share comes back at most this + skewAllowanceMs after its last renewal). */
  readonly maxLeaseMs: number;
  /** Clock difference between instances that is tolerated without exceeding the rate. */
  readonly skewAllowanceMs: number;
  /**
   * The share unit (calls per second). @default shareUnit(rate): whole calls per second,
   * which keeps every one-second window at most R. A low rate shared by many instances
   * (GetExecutionHistory: 10/s over 20 instances) takes a fractional unit instead
   * (fractionalUnit): every instance gets a share and none polls for a turn; calls then
   * stay at most R per second on average and over any window of 1000/unit ms, while a
   * one-second window may start up to one call per holder (absorbed by the API's bucket).
   */
  readonly shareUnit?: number;
}

export interface PlanInput {
  readonly me: string;
  readonly now: number;
  readonly ratePerSecond: number;
  readonly timing: LeaseTiming;
  /** My current share and until, as I use them (0 = I hold nothing usable). */
  readonly share: number;
  readonly until: number;
  /** When my next call could start: calls granted ahead at my current share end here. */
  readonly nextSlot: number;
  /** My current lease length (doubles while the set of instances stays the same). */
  readonly leaseMs: number;
  /** The instances (ids, sorted, joined) I shared with at my previous lease. */
  readonly members: string;
  /** I want capacity until then (registered as `w` when I get less than my fair share). */
  readonly wantUntil: number;
  /** In [0, 1): shortens the lease by up to a quarter, so instances that started together do not all renew together. */
  readonly jitter: number;
  /** false: a holder keeps at most its current share (renewing after a lost race: a write of my entry alone cannot conflict). */
  readonly grow?: boolean;
  /** false: take nothing now, only register my demand (after a lost race, so that newcomers queue instead of racing). */
  readonly take?: boolean;
  /** Shortest lease worth writing (a few of my gaps between calls: an instance that calls rarely should not lease per call). */
  readonly floorMs?: number;
}

export interface Plan {
  /** The holders map to write (undefined: nothing to write, wait). */
  readonly write: LeaseHolders | undefined;
  /**
   * 'mine': only my entry changes and my share does not grow (write it alone, conditioned on
   * my entry); 'all': write the map, conditioned on the version read.
   */
  readonly scope: 'mine' | 'all';
  /** My entry after the write. */
  readonly mine: LeaseEntry;
  readonly leaseMs: number;
  readonly members: string;
  /** When capacity may free up (meaningful when my share is 0). */
  readonly retryAt: number;
  /** How many waiters wanted capacity before me (later waiters poll later). */
  readonly rank: number;
}

const EPS = 1e-9;
/** A lease lasts at least this many calls of its share (up to the longest lease). */
const CALLS_PER_LEASE = 4;

/** The share unit: shares are whole multiples of it (at least 1 call/s, at most 2). */
export function shareUnit(ratePerSecond: number): number {
  return ratePerSecond / Math.max(1, Math.floor(ratePerSecond + EPS));
}

/**
 * The smallest unit whose calls still fit a lease: a share of `unit` calls every
 * 1000/unit ms, and the longest lease must hold at least two of them.
 */
export function fractionalUnit(ratePerSecond: number, maxLeaseMs: number): number {
  return Math.min(shareUnit(ratePerSecond), 2000 / maxLeaseMs);
}

/** The largest multiple of `unit` not above x (0 for x < unit). */
function units(x: number, unit: number): number {
  return x <= 0 ? 0 : Math.floor(x / unit + EPS) * unit;
}

/** An entry's share as another instance must count it at `at`. */
export function liveShare(e: LeaseEntry, at: number, skewAllowanceMs: number): number {
  const current = at < e.u + skewAllowanceMs ? e.s : 0;
  const tail = e.pu !== undefined && at < e.pu + skewAllowanceMs ? (e.p ?? 0) : 0;
  return Math.max(current, tail);
}

/** Sum of the live shares (the invariant: at most the rate after every write). */
export function liveTotal(holders: LeaseHolders, at: number, skewAllowanceMs: number, except?: string): number {
  let total = 0;
  for (const [id, e] of Object.entries(holders)) if (id !== except) total += liveShare(e, at, skewAllowanceMs);
  return total;
}

/** Lease length for a share: at least a few calls, so a small share is not renewed at every call. */
function leaseFor(share: number, wantedMs: number, timing: LeaseTiming): number {
  return Math.min(timing.maxLeaseMs, Math.max(wantedMs, timing.minLeaseMs, share > 0 ? (CALLS_PER_LEASE * 1000) / share : 0));
}

/** The share an entry holds now for its own use (not its tail). */
function activeShare(e: LeaseEntry, now: number): number {
  return now < e.u ? e.s : 0;
}

/**
 * My next lease (a pure function of what the item holds and what I hold):
 * - the instances that hold or want capacity share R equally (fair share, whole units);
 * - a holder renewing takes its fair share, within what the others leave free: so it
 *   shrinks when newcomers registered, grows when holders left;
 * - a newcomer takes its fair share of what is free, or registers its demand (share 0)
 *   and waits;
 * - a write that may change other entries (scope 'all') also tops up every instance that
 *   wants more, up to the fair share, from what is still free: one write serves all the
 *   waiters, who read it on their next poll (no write of their own);
 * - a holder that shrinks after granting calls ahead keeps its previous share as a tail
 *   until its last granted call, so nobody reuses that capacity early;
 * - with more instances than whole units of the rate, holders take turns: a holder renewing
 *   while others wait with nothing yields its unit and queues again;
 * - leases are short while the set of instances changes, and double (up to the maximum)
 *   while it stays the same, so a stable burst costs few writes.
 * Expired entries (live share 0, no demand) are dropped.
 */
export function planLease(view: LeaseView, input: PlanInput): Plan {
  const { me, now, ratePerSecond: rate, timing } = input;
  const allowance = timing.skewAllowanceMs;
  const unit = timing.shareUnit ?? shareUnit(rate);

  const kept: Record<string, LeaseEntry> = {};
  for (const [id, e] of Object.entries(view.holders)) {
    if (id === me || liveShare(e, now, allowance) > 0) kept[id] = e;
    // A waiter whose lease ran out: its share is gone from the count, so its entry must change
    // too (an in-place renewal of the old lease, conditioned on `u`, then fails).
    else if ((e.w ?? 0) > now) kept[id] = { s: 0, u: 0, w: e.w };
  }
  const others = Object.keys(kept).filter((id) => id !== me);
  const othersTotal = liveTotal(kept, now, allowance, me);
  const members = [...others, me].sort().join(',');
  const fair = Math.max(unit, units(rate / (others.length + 1), unit));
  const free = units(rate - othersTotal, unit);

  const holding = input.share > 0 && now < input.until;
  // More instances than units: holders take turns, each yielding at its renewal while others wait with nothing.
  const starving = others.some((id) => (kept[id].w ?? 0) > now && liveShare(kept[id], now, allowance) === 0);
  const yieldTurn = holding && starving && (others.length + 1) * unit > rate + EPS;
  const target = input.take === false || yieldTurn ? 0 : holding && input.grow === false ? Math.min(fair, input.share) : fair;
  const share = Math.min(target, free);

  // My tail: a previous one still running, or the share I give up with calls granted ahead.
  const old = kept[me];
  let tail = old?.pu !== undefined && now < old.pu + allowance ? { p: old.p ?? 0, pu: old.pu } : undefined;
  if (holding && share < input.share && input.nextSlot > now) {
    tail = { p: Math.max(input.share, tail?.p ?? 0), pu: Math.max(input.nextSlot, tail?.pu ?? 0) };
  }
  const stable = members === input.members && share === fair;
  const leaseMs = leaseFor(share, Math.max(stable ? input.leaseMs * 2 : timing.minLeaseMs, input.floorMs ?? 0), timing);
  const mine: LeaseEntry = {
    s: share,
    u: share > 0 ? now + leaseMs * (1 - input.jitter / 4) : 0,
    ...tail,
    // Still counted among the instances sharing the rate for one more lease after this one
    // (a busy instance may call less often than its lease lasts), or as long as it waits.
    w: share < fair ? input.wantUntil : Math.max(input.wantUntil, now + 2 * leaseMs),
  };
  kept[me] = mine;

  // Only my entry changes and my share does not grow: the write cannot break the invariant
  // for anyone, so it needs no version check (only that my entry is still the one I know).
  // (Even after my lease ran out: if another write had counted it as free, it would have
  // dropped or zeroed my entry, and my write's condition on the entry fails.)
  const growing = !(share === 0 || (old !== undefined && share <= old.s));
  // Everyone who wants more, earliest demand first.
  const wanting = others
    .filter((id) => (kept[id].w ?? 0) > now && activeShare(kept[id], now) < fair)
    .sort((a, b) => (kept[a].w ?? 0) - (kept[b].w ?? 0) || (a < b ? -1 : 1));
  // Waiters take turns: the first one's write tops up the others, who then only read it.
  const myWant = mine.w ?? Infinity;
  const rank = wanting.filter((id) => (kept[id].w ?? 0) < myWant || ((kept[id].w ?? 0) === myWant && id < me)).length;
  let left = units(rate - othersTotal - Math.max(share, tail?.p ?? 0), unit);
  let granted = false;
  if (growing || (share > 0 && left >= unit && wanting.length > 0)) {
    for (const id of wanting) {
      const e = kept[id];
      const give = Math.min(fair - activeShare(e, now), left);
      if (give < unit) continue;
      const s = activeShare(e, now) + give;
      kept[id] = {
        ...e,
        s,
        u: Math.max(activeShare(e, now) > 0 ? e.u : 0, now + leaseFor(s, timing.minLeaseMs, timing)),
      };
      left = units(left - give, unit);
      granted = true;
    }
  }

  // Nothing to write when I get nothing and my demand is already registered.
  const registered = old !== undefined && old.s === 0 && (old.w ?? 0) >= Math.min(input.wantUntil, now + timing.minLeaseMs);
  const write = share > 0 || granted || !registered ? kept : undefined;
  const scope = growing || granted ? 'all' : 'mine';

  // Capacity frees up when a holder above the fair share renews (before its until) or a lease runs out.
  let retryAt = Infinity;
  for (const id of others) {
    const e = kept[id];
    if (liveShare(e, now, allowance) === 0) continue;
    if (e.s > fair && e.u > now) retryAt = Math.min(retryAt, e.u);
    retryAt = Math.min(retryAt, e.u + allowance);
    if (e.pu !== undefined && e.pu + allowance > now) retryAt = Math.min(retryAt, e.pu + allowance);
  }
  if (!Number.isFinite(retryAt)) retryAt = now + timing.minLeaseMs;
  return { write, scope, mine, leaseMs, members, retryAt, rank };
}

/**
 * The most calls one-second windows can hold, with every instance's clock within
 * `skewMs` of the others' and shares stable over the window: R while the skew stays within
 * the allowance; beyond it, a holder whose lease another instance counted as expired too
 * early keeps calling for up to (skew - allowance), at most its share, i.e. R, per second.
 */
export function windowBound(ratePerSecond: number, skewMs: number, skewAllowanceMs: number): number {
  const late = Math.max(0, skewMs - skewAllowanceMs) / 1000;
  return Math.ceil(ratePerSecond - EPS) + Math.ceil(ratePerSecond * Math.min(1, late) - EPS);
}
