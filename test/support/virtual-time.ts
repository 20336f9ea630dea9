/**
 * Virtual time for tests of timing logic (the leasing rate limiter): `sleep` parks a timer,
 * and `run` moves the clock to the next timer only when nothing else can happen first: no
 * request in flight (DynamoDB clients attached with `track`) and no pending callbacks. Time
 * then behaves as if every store round trip took `latencyMs` of virtual time (real I/O takes
 * none), with no real sleeps and no timed assertions.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LeaseStore, WriteResult } from '../../lambda/act/rate-limiter';
import type { LeaseEntry, LeaseHolders, LeaseView } from '../../lambda/act/rate-shares';

export const T0 = 1_700_000_000_000;

export class VirtualTime {
  now: number;
  private timers: Array<{ at: number; seq: number; fire: () => void }> = [];
  private seq = 0;
  private inFlight = 0;

  constructor(start = T0) {
    this.now = start;
  }

  readonly clock = (): number => this.now;

  readonly sleep = (ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      this.timers.push({ at: this.now + Math.max(0, ms), seq: this.seq++, fire: resolve });
    });

  /** Requests of this client hold the clock until they are answered. */
  track(client: DynamoDBClient): void {
    client.middlewareStack.add(
      (next) => async (args) => {
        this.inFlight++;
        try {
          return await next(args);
        } finally {
          this.inFlight--;
        }
      },
      { step: 'initialize', name: 'virtualTimeInFlight' },
    );
  }

  /** Runs until `done` settles (or `limitMs` of virtual time pass); returns its value. */
  async run<T>(done: Promise<T>, limitMs = 600_000): Promise<T> {
    let settled = false;
    const result = done.finally(() => {
      settled = true;
    });
    const end = this.now + limitMs;
    while (!settled) {
      await new Promise((resolve) => setImmediate(resolve));
      if (this.inFlight > 0) continue;
      // Let chained callbacks run before deciding that everyone waits for time.
      for (let i = 0; i < 5 && !settled; i++) await new Promise((resolve) => setImmediate(resolve));
      if (settled || this.inFlight > 0) continue;
      if (this.timers.length === 0) break;
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers.shift()!;
      if (next.at > end) break;
      this.now = Math.max(this.now, next.at);
      next.fire();
    }
    return result;
  }
}

/**
 * The lease item in memory, with the DynamoDB store's semantics (version-conditioned map
 * write, entry write conditioned on the entry's until). Each call takes `latencyMs` of
 * virtual time; the item changes at the end of it, as a remote write lands.
 */
export class MemoryLeaseStore implements LeaseStore {
  item: LeaseView = { version: 0, holders: {} };
  reads = 0;
  writes = 0;
  conflicts = 0;
  /** Called after every successful write with the new item and the time it landed. */
  onWrite: (item: LeaseView, at: number) => void = () => undefined;

  constructor(
    private readonly time: VirtualTime,
    private readonly latencyMs: () => number = () => 5,
  ) {}

  async read(): Promise<LeaseView> {
    this.reads++;
    await this.time.sleep(this.latencyMs());
    return structuredClone(this.item);
  }

  async writeAll(expectedVersion: number, holders: LeaseHolders): Promise<WriteResult> {
    this.writes++;
    await this.time.sleep(this.latencyMs());
    if (this.item.version !== expectedVersion) return this.conflict();
    return this.land({ version: expectedVersion + 1, holders: structuredClone(holders) });
  }

  async writeMine(id: string, entry: LeaseEntry, expectedUntil: number | undefined): Promise<WriteResult> {
    this.writes++;
    await this.time.sleep(this.latencyMs());
    const current = this.item.holders[id];
    if (this.item.version === 0 || (expectedUntil === undefined ? current !== undefined : current?.u !== expectedUntil)) return this.conflict();
    return this.land({ version: this.item.version + 1, holders: { ...structuredClone(this.item.holders), [id]: structuredClone(entry) } });
  }

  private conflict(): WriteResult {
    this.conflicts++;
    return { conflict: undefined };
  }

  private land(item: LeaseView): LeaseView {
    this.item = item;
    this.onWrite(item, this.time.now);
    return structuredClone(item);
  }
}

/** The most entries of `times` (sorted or not) within any window [t, t + 1000). */
export function maxInAnySecond(times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let max = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i] - sorted[j] >= 1000) j++;
    max = Math.max(max, i - j + 1);
  }
  return max;
}
