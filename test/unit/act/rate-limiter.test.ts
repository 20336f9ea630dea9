import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import {
  DynamoLeaseStore,
  DynamoRateLimiter,
  LEASE_TIMING,
  LeasedRateLimiter,
  type LeaseStore,
  MAX_LEASE_MS,
  SKEW_ALLOWANCE_MS,
  UnlimitedRate,
} from '../../../lambda/act/rate-limiter';
import { liveTotal, windowBound } from '../../../lambda/act/rate-shares';
import { maxInAnySecond, MemoryLeaseStore, T0, VirtualTime } from '../../support/virtual-time';

/** A pseudo-random sequence (deterministic per seed) for the limiters' jitter. */
function seeded(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) % 10_000) / 10_000;
  };
}

function limiter(store: LeaseStore, time: VirtualTime, rate: number, id: string, skewMs = 0): LeasedRateLimiter {
  return new LeasedRateLimiter(store, rate, { clock: () => time.now + skewMs, sleep: time.sleep, random: seeded(id.length * 7919 + id.charCodeAt(id.length - 1)), instanceId: id });
}

/**
 * One Lambda instance handling `events` one at a time: `workMs` of processing, a rate
 * slot, the call. Returns the call times on the true clock (`time.now`).
 */
async function instance(time: VirtualTime, lim: LeasedRateLimiter, options: { events: number; workMs?: number; maxWaitMs?: number; skewMs?: number; startAt?: number }): Promise<number[]> {
  const calls: number[] = [];
  if (options.startAt !== undefined) await time.sleep(options.startAt - time.now);
  for (let i = 0; i < options.events; i++) {
    await time.sleep(options.workMs ?? 10);
    const grant = await lim.acquire(options.maxWaitMs ?? 5_000);
    if (!grant.granted) continue;
    const wait = grant.at - (time.now + (options.skewMs ?? 0));
    expect(wait).toBeGreaterThanOrEqual(0); // a grant is never in the past when given
    await time.sleep(wait);
    calls.push(time.now);
  }
  return calls;
}

/** Checks the invariant on every write that lands: live shares (as any instance must count them) add up to at most the rate. */
function watchInvariant(store: MemoryLeaseStore, rate: number): { worst: number } {
  const seen = { worst: 0 };
  store.onWrite = (item, at) => {
    const total = liveTotal(item.holders, at, SKEW_ALLOWANCE_MS);
    seen.worst = Math.max(seen.worst, total);
    expect(total).toBeLessThanOrEqual(rate + 1e-9);
  };
  return seen;
}

/**
 * Instance a (its clock `skew` ms behind) takes a lease at 10/s, then every write of its
 * loses: it cannot renew, as if cut off from the item.
 */
async function holderCutOff(skew: number): Promise<{ time: VirtualTime; store: MemoryLeaseStore; a: LeasedRateLimiter }> {
  const time = new VirtualTime();
  const store = new MemoryLeaseStore(time, () => 2);
  let cut = false;
  const aStore: LeaseStore = {
    read: () => store.read(),
    writeAll: async (v, h) => (cut ? { conflict: undefined } : store.writeAll(v, h)),
    writeMine: async (id, e, u) => (cut ? { conflict: undefined } : store.writeMine(id, e, u)),
  };
  const a = new LeasedRateLimiter(aStore, 10, { clock: () => time.now - skew, sleep: time.sleep, random: seeded(3), instanceId: 'a' });
  await time.run(a.acquire(0));
  cut = true;
  return { time, store, a };
}

describe('LeasedRateLimiter', () => {
  it('rejects a rate that is not positive', () => {
    const time = new VirtualTime();
    for (const r of [0, -1, NaN]) expect(() => new LeasedRateLimiter(new MemoryLeaseStore(time), r)).toThrow(/ratePerSecond/);
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
    expect(() => new DynamoRateLimiter(doc, 't', 'redrive', 0)).toThrow(/rate limiter redrive: ratePerSecond/);
  });

  it('a lone instance takes the whole rate and spaces its calls exactly 1/rate apart, a lease covering several calls', async () => {
    const time = new VirtualTime();
    const store = new MemoryLeaseStore(time, () => 0);
    const lim = limiter(store, time, 10, 'a');
    const grants = await time.run(
      (async () => {
        const out = [];
        for (let i = 0; i < 8; i++) out.push(await lim.acquire(10_000));
        return out;
      })(),
    );
    // A new lease starts one interval on (see the next test but one), then exactly 1/rate apart.
    expect(grants).toEqual([100, 200, 300, 400, 500, 600, 700, 800].map((d) => ({ granted: true, at: T0 + d })));
    expect(lim.lease().share).toBe(10);
    expect(store.writes).toBeLessThanOrEqual(3);
    expect(store.reads).toBe(store.writes);
  });

  it('slots are whole milliseconds, never closer than 1000/share (no float rounding into a window)', async () => {
    const time = new VirtualTime();
    const lim = limiter(new MemoryLeaseStore(time, () => 0), time, 3, 'a');
    const calls = await time.run(instance(time, lim, { events: 7, workMs: 0 }));
    expect(calls.every(Number.isInteger)).toBe(true);
    for (let i = 1; i < calls.length; i++) expect(calls[i] - calls[i - 1]).toBeGreaterThanOrEqual(1000 / 3);
    expect(maxInAnySecond(calls)).toBe(3);
  });

  it('a call that starts late (started) pushes the next slot on: calls never start closer than 1000/share', async () => {
    const time = new VirtualTime();
    const lim = limiter(new MemoryLeaseStore(time, () => 0), time, 10, 'a');
    const [first, second] = await time.run(
      (async () => {
        const a = await lim.acquire(10_000);
        lim.started((a as { at: number }).at + 80); // the event loop woke 80 ms late
        return [a, await lim.acquire(10_000)];
      })(),
    );
    expect(second).toEqual({ granted: true, at: (first as { at: number }).at + 80 + 100 });
  });

  it('beyond the wait budget: not granted, retryAt is the next free slot, nothing taken', async () => {
    const time = new VirtualTime();
    const store = new MemoryLeaseStore(time, () => 0);
    const lim = limiter(store, time, 2, 'a');
    await time.run(lim.acquire(0)); // slot T0, next T0+500
    const r = await time.run(lim.acquire(100));
    expect(r).toEqual({ granted: false, retryAt: T0 + 500 });
    expect(await time.run(lim.acquire(500))).toEqual({ granted: true, at: T0 + 500 });
  });

  it('one instance with many concurrent acquirers (the drain\'s workers) queues them at its spacing, with a lease that reaches the queue', async () => {
    const time = new VirtualTime();
    const store = new MemoryLeaseStore(time, () => 2);
    const lim = limiter(store, time, 5, 'drain');
    const calls = await time.run(Promise.all(Array.from({ length: 8 }, () => instance(time, lim, { events: 5, workMs: 0 }))));
    const all = calls.flat().sort((a, b) => a - b);
    expect(all).toHaveLength(40);
    for (let i = 1; i < all.length; i++) expect(all[i] - all[i - 1]).toBeGreaterThanOrEqual(200);
    expect(maxInAnySecond(all)).toBeLessThanOrEqual(5);
    expect(store.writes).toBeLessThanOrEqual(8);
  });

  it('after an idle gap a new lease starts one interval on, as if it had just made a call (no saved-up burst)', async () => {
    const time = new VirtualTime();
    const store = new MemoryLeaseStore(time, () => 0);
    const lim = limiter(store, time, 2, 'a');
    await time.run(lim.acquire(1_000));
    time.now += 60_000;
    expect(await time.run(lim.acquire(1_000))).toEqual({ granted: true, at: T0 + 60_500 });
    expect(await time.run(lim.acquire(10_000))).toEqual({ granted: true, at: T0 + 61_000 });
  });

  it('a lease holder that dies: its share comes back at until + the skew allowance, not before', async () => {
    const time = new VirtualTime();
    const store = new MemoryLeaseStore(time, () => 2);
    watchInvariant(store, 10);
    const a = limiter(store, time, 10, 'a');
    await time.run(a.acquire(1_000)); // a takes the whole rate, then its process dies
    const deadUntil = a.lease().until;
    expect(a.lease().share).toBe(10);

    const b = limiter(store, time, 10, 'b');
    const first = await time.run(b.acquire(MAX_LEASE_MS + 1_000));
    expect(first.granted).toBe(true);
    if (!first.granted) return;
    expect(first.at).toBeGreaterThanOrEqual(deadUntil + SKEW_ALLOWANCE_MS);
    // Bounded: b polls when the lease runs out (plus its jitter and a round trip or two).
    expect(first.at).toBeLessThanOrEqual(deadUntil + SKEW_ALLOWANCE_MS + 100 + 1000 / 5);
    // a still counts among the instances sharing the rate for a while (its `w`): b gets a fair half at once...
    expect(b.lease().share).toBe(5);
    // ...and the whole rate once that runs out too; a's entry is then gone from the item.
    const deadWanted = store.item.holders.a.w!;
    await time.run(instance(time, b, { events: 200, workMs: 0, maxWaitMs: 10_000 }));
    expect(time.now).toBeGreaterThan(deadWanted + MAX_LEASE_MS);
    expect(b.lease().share).toBe(10);
    expect(Object.keys(store.item.holders)).toEqual(['b']);
  });

  it('a lease that expires unused: another instance takes the rate at once, the old holder starts over under the invariant', async () => {
    const time = new VirtualTime();
    const store = new MemoryLeaseStore(time, () => 1);
    const seen = watchInvariant(store, 10);
    const a = limiter(store, time, 10, 'a');
    await time.run(a.acquire(0));
    time.now = a.lease().until + SKEW_ALLOWANCE_MS + 1; // idle past the lease
    const b = limiter(store, time, 10, 'b');
    const g = await time.run(b.acquire(1_000));
    expect(g).toEqual({ granted: true, at: expect.any(Number) });
    expect(b.lease().share).toBe(5); // a still counts among the instances (its `w`), not its share
    // a's old lease is over: it must not call on it; it waits for a share (b is busy: it has the rate).
    const calls = await time.run(Promise.all([instance(time, a, { events: 20, workMs: 0 }), instance(time, b, { events: 40, workMs: 0 })]));
    expect(seen.worst).toBeLessThanOrEqual(10);
    expect(maxInAnySecond(calls.flat())).toBeLessThanOrEqual(10);
    expect(calls[0].length).toBeGreaterThan(0); // a got a share back
  });

  it('a newcomer registers its demand; the holder shrinks to the fair share at its renewal and the newcomer gets the rest', async () => {
    const time = new VirtualTime();
    const store = new MemoryLeaseStore(time, () => 3);
    watchInvariant(store, 20);
    const a = limiter(store, time, 20, 'a');
    const b = limiter(store, time, 20, 'b');
    const calls = await time.run(
      Promise.all([instance(time, a, { events: 60, workMs: 0 }), instance(time, b, { events: 30, workMs: 0, startAt: T0 + 100 })]),
    );
    expect(a.lease().share).toBe(10);
    expect(b.lease().share).toBe(10);
    expect(calls[1].length).toBe(30);
    // b waited at most about one of a's first (short) leases for its share.
    expect(calls[1][0] - (T0 + 100)).toBeLessThanOrEqual(LEASE_TIMING.minLeaseMs + SKEW_ALLOWANCE_MS + 100);
    expect(maxInAnySecond(calls.flat())).toBeLessThanOrEqual(20);
  });

  it('more instances than calls per second (DescribeExecution at 2/s, 6 instances): they take turns, none starves', async () => {
    const time = new VirtualTime();
    const store = new MemoryLeaseStore(time, () => 3);
    watchInvariant(store, 2);
    const lims = ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => limiter(store, time, 2, id));
    const calls = await time.run(Promise.all(lims.map((l) => instance(time, l, { events: 3, workMs: 50, maxWaitMs: 20_000 }))));
    expect(calls.map((c) => c.length)).toEqual([3, 3, 3, 3, 3, 3]);
    expect(maxInAnySecond(calls.flat())).toBeLessThanOrEqual(2);
  });

  it('leases lengthen while the instances stay the same: a steady stream costs few writes', async () => {
    const time = new VirtualTime();
    const store = new MemoryLeaseStore(time, () => 3);
    const lims = ['a', 'b', 'c', 'd'].map((id) => limiter(store, time, 20, id));
    const calls = await time.run(Promise.all(lims.map((l) => instance(time, l, { events: 150, workMs: 5 }))));
    const n = calls.flat().length;
    expect(n).toBe(600);
    expect(store.writes / n).toBeLessThan(0.1);
    expect(maxInAnySecond(calls.flat())).toBeLessThanOrEqual(20);
    const span = (Math.max(...calls.flat()) - T0) / 1000;
    expect(n / span / 20).toBeGreaterThan(0.9);
  });

  it.each([0, SKEW_ALLOWANCE_MS])('clocks %i ms apart (within the allowance): a holder cut off from the item never overlaps its successor', async (skew) => {
    // a's clock is behind by `skew`: it stops at its until, which is `skew` late on the true clock.
    // After its first lease, a's writes all lose (it cannot renew), so b takes over when a's lease runs out.
    const { time, store, a } = await holderCutOff(skew);
    const b = limiter(store, time, 10, 'b');
    const calls = await time.run(Promise.all([instance(time, a, { events: 30, workMs: 0, skewMs: -skew, maxWaitMs: 0 }), instance(time, b, { events: 40, workMs: 0, startAt: T0 + 50 })]));
    const lastA = Math.max(...calls[0]);
    const firstB = Math.min(...calls[1]);
    expect(firstB).toBeGreaterThanOrEqual(lastA + 100 - skew); // a's last call's interval (1/10 s) ends before b starts
    expect(maxInAnySecond(calls.flat())).toBeLessThanOrEqual(windowBound(10, skew, SKEW_ALLOWANCE_MS));
    expect(windowBound(10, skew, SKEW_ALLOWANCE_MS)).toBe(10);
  });

  it('clocks further apart than the allowance: the excess stays within windowBound', async () => {
    const skew = 400;
    const { time, store, a } = await holderCutOff(skew);
    const aUntil = a.lease().until; // a's clock = b's clock (true) - skew
    const b = limiter(store, time, 10, 'b');
    const calls = await time.run(Promise.all([instance(time, a, { events: 30, workMs: 0, skewMs: -skew, maxWaitMs: 0 }), instance(time, b, { events: 40, workMs: 0, startAt: T0 + 50 })]));
    const bound = windowBound(10, skew, SKEW_ALLOWANCE_MS);
    expect(bound).toBe(10 + 3); // up to (400 - 100) ms of overlap at 10/s
    // b waits for the allowance on its own clock; a runs on until its until, `skew` later on the true clock.
    expect(Math.min(...calls[1])).toBeGreaterThanOrEqual(aUntil + SKEW_ALLOWANCE_MS);
    expect(Math.max(...calls[0])).toBeLessThan(aUntil + skew);
    expect(maxInAnySecond(calls.flat())).toBeLessThanOrEqual(bound);
  });

  it('property: concurrent instances keep live shares within the rate at every write, and calls within the window bound', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 40 }),
        fc.array(fc.record({ startAt: fc.integer({ min: 0, max: 3_000 }), events: fc.integer({ min: 0, max: 40 }), workMs: fc.integer({ min: 0, max: 300 }) }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        async (rate, instances, latency, seed) => {
          const time = new VirtualTime();
          const jitter = seeded(seed);
          const store = new MemoryLeaseStore(time, () => Math.round(jitter() * latency));
          watchInvariant(store, rate);
          const calls = await time.run(
            Promise.all(instances.map((spec, i) => instance(time, limiter(store, time, rate, `i${i}`), { ...spec, startAt: T0 + spec.startAt }))),
          );
          // Exact spacing, whole shares, tails, and new leases starting one interval on: never above the rate.
          expect(maxInAnySecond(calls.flat())).toBeLessThanOrEqual(rate);
        },
      ),
      { numRuns: 150, seed: 1313 },
    );
  });
});

describe('DynamoLeaseStore', () => {
  const doc = () => DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }));

  it('reads its own item consistently (the old GCRA item at sk <name> is not it)', async () => {
    const d = doc();
    const mock = mockClient(d);
    mock.on(GetCommand).resolves({ Item: { pk: 'RATE', sk: 'LEASES#RedriveExecution', v: 3, h: { a: { s: 5, u: T0 } } } });
    const view = await new DynamoLeaseStore(d, 'ledger', 'RedriveExecution').read();
    expect(view).toEqual({ version: 3, holders: { a: { s: 5, u: T0 } } });
    expect(mock.commandCalls(GetCommand)[0].args[0].input).toEqual({ TableName: 'ledger', Key: { pk: 'RATE', sk: 'LEASES#RedriveExecution' }, ConsistentRead: true });
  });

  it('no item: version 0; the first map write requires that no version exists', async () => {
    const d = doc();
    const mock = mockClient(d);
    mock.on(GetCommand).resolves({});
    const store = new DynamoLeaseStore(d, 'ledger', 'X');
    expect(await store.read()).toEqual({ version: 0, holders: {} });
    mock.on(UpdateCommand).resolves({});
    expect(await store.writeAll(0, { a: { s: 1, u: T0 } })).toEqual({ version: 1, holders: { a: { s: 1, u: T0 } } });
    expect(mock.commandCalls(UpdateCommand)[0].args[0].input).toMatchObject({ ConditionExpression: 'attribute_not_exists(v)', UpdateExpression: 'SET h = :h, v = :next' });
  });

  it('a lost race returns the current item when DynamoDB sends it, nothing when it does not (dynalite)', async () => {
    const d = doc();
    const mock = mockClient(d);
    const failure = (item?: Record<string, unknown>) =>
      Object.assign(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }), item ? { Item: marshall(item) } : {});
    mock.on(UpdateCommand).rejectsOnce(failure({ pk: 'RATE', sk: 'LEASES#X', v: 9, h: { b: { s: 2, u: T0 } } })).rejectsOnce(failure());
    const store = new DynamoLeaseStore(d, 'ledger', 'X');
    expect(await store.writeAll(4, {})).toEqual({ conflict: { version: 9, holders: { b: { s: 2, u: T0 } } } });
    expect(await store.writeMine('a', { s: 0, u: 0, w: T0 }, 123)).toEqual({ conflict: undefined });
    expect(mock.commandCalls(UpdateCommand)[1].args[0].input).toMatchObject({
      UpdateExpression: 'SET h.#me = :e ADD v :one',
      ConditionExpression: 'h.#me.u = :u',
      ExpressionAttributeNames: { '#me': 'a' },
      ReturnValues: 'ALL_NEW',
    });
  });

  it('other DynamoDB errors propagate', async () => {
    const d = doc();
    mockClient(d).on(UpdateCommand).rejects(Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' }));
    await expect(new DynamoLeaseStore(d, 't', 'n').writeAll(1, {})).rejects.toThrow('throttled');
  });
});

describe('UnlimitedRate', () => {
  it('always grants now', async () => {
    await expect(new UnlimitedRate(() => 42).acquire()).resolves.toEqual({ granted: true, at: 42 });
  });
});
