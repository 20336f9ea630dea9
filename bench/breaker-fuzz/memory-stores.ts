/**
 * In-memory stand-ins for the breaker fuzzer, with the public surface and semantics of
 * the DynamoDB-backed originals (so 500 worlds × 2 arms run in minutes):
 * - MemoryBreakerStore: record/breaker-store.ts. Items are kept as DynamoDB would store
 *   them (attribute maps read with the same `stateFromItem`), `count` adds to the counters
 *   and removes the buckets just behind the window, `transition` steps with the pure
 *   `step()` and writes conditional on `version` (the write only removes counters, as the
 *   real UpdateItem does), `active` lists open and releasing items by shard and dueAt.
 *   test/bench/breaker-fuzz-store.test.ts compares it with the real store on dynalite.
 * - WorldPolicies: policy/policy-source.ts with the kill switch; items parsed by the real
 *   schema; no cache (a change is seen at once, as after the cache TTL).
 * - MemorySweepSchedule: record/sweep-schedule.ts.
 */
import { type BreakerGroup, breakerPk, breakerShard, breakerShardValues } from '../../contract/breaker';
import { parsePolicyItem, type PolicyParseResult } from '../../contract/policy-schema';
import { type BreakerSettings, type BreakerState, type Observation, type Step, bucketMs, step } from '../../lambda/decide/breaker';
import type { Dimensions, Log, MetricsRecorder } from '../../lambda/observability/telemetry';
import type { PolicySnapshot, PolicySource } from '../../lambda/policy/policy-source';
import {
  type ActiveBreaker,
  BREAKER_CACHE_MS,
  BreakerContentionError,
  type BreakerStore,
  CONTROL_FIELDS,
  dueAtOf,
  KnownBreakers,
  outboxOf,
  owes,
  rememberExtras,
  stateFromItem,
  storedExtras,
  type StoredExtras,
  TRANSITION_ATTEMPTS,
} from '../../lambda/record/breaker-store';
import type { AnnouncementKind } from '../../contract/breaker';
import type { PauseState } from '../../lambda/record/kill-switch';
import type { SweepSchedule } from '../../lambda/record/sweep-schedule';
import type { MetricName } from '../../contract/metrics';

/** The public surface of a class (private members make classes nominal in TypeScript). */
type Public<T> = { [K in keyof T]: T[K] };

type Item = Record<string, unknown>;

const copy = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));

export class MemoryBreakerStore implements Public<BreakerStore> {
  /** The items by pk, as stored. */
  readonly items = new Map<string, Item>();
  private readonly cache = new Map<string, { state: BreakerState; at: number }>();
  private readonly known: KnownBreakers;
  /** Writes lost to a concurrent writer (as conditional check failures). */
  lostRaces = 0;

  constructor(private readonly clock: () => number = Date.now) {
    this.known = new KnownBreakers(clock);
  }

  async read(group: BreakerGroup): Promise<BreakerState> {
    const pk = breakerPk(group);
    return this.learned(group, stateFromItem(copy(this.items.get(pk))));
  }

  async readCached(group: BreakerGroup, now: number): Promise<BreakerState> {
    const pk = breakerPk(group);
    const hit = this.cache.get(pk);
    if (hit && now - hit.at < BREAKER_CACHE_MS && now >= hit.at) return hit.state;
    const state = await this.read(group);
    this.cache.set(pk, { state, at: now });
    return state;
  }

  lastKnown(group: BreakerGroup): BreakerState['status'] | undefined {
    return this.known.lastKnown(group);
  }

  knownOf(stateMachineArn: string): Array<{ readonly group: BreakerGroup; readonly state: BreakerState }> {
    return this.known.of(stateMachineArn);
  }

  knownOpenElsewhere(errorName: string, stateMachineArn: string, since: number): boolean {
    return this.known.openElsewhere(errorName, stateMachineArn, since);
  }

  private learned(group: BreakerGroup, state: BreakerState): BreakerState {
    return this.known.learned(group, state);
  }

  async settleAnnouncement(group: BreakerGroup, kind: AnnouncementKind, owedSince: number): Promise<boolean> {
    const item = this.items.get(breakerPk(group));
    const field = kind === 'opened' ? 'owedOpened' : 'owedClosed';
    const owed = item?.[field] as { owedSince?: number } | undefined;
    if (!item || owed?.owedSince !== owedSince) return false;
    delete item[field];
    this.cache.delete(breakerPk(group));
    return true;
  }

  async count(group: BreakerGroup, counters: readonly string[], settings: Pick<BreakerSettings, 'windowSeconds'>, now?: number): Promise<BreakerState> {
    if (counters.length === 0) return this.read(group);
    const pk = breakerPk(group);
    const item = this.items.get(pk) ?? {};
    const b = bucketMs(settings);
    for (const counter of counters) {
      const [kind, , index] = counter.split('_');
      for (const k of [7, 8, 9]) delete item[`${kind}_${b}_${Number(index) - k}`];
    }
    for (const counter of counters) item[counter] = ((item[counter] as number | undefined) ?? 0) + 1;
    item.stateMachineArn = group.stateMachineArn;
    item.errorName = group.errorName;
    this.items.set(pk, item);
    const state = this.learned(group, stateFromItem(copy(item)));
    if (now !== undefined) this.cache.set(pk, { state, at: now });
    return state;
  }

  async transition(group: BreakerGroup, obs: Observation, settings: BreakerSettings, known?: BreakerState): Promise<{ before: BreakerState; step: Step }> {
    let state = known ?? (await this.read(group));
    for (let attempt = 0; attempt < TRANSITION_ATTEMPTS; attempt++) {
      const next = step(state, obs, settings);
      if (next.effects.some((e) => e.kind === 'finished') && owes(storedExtras(state))) {
        return { before: state, step: { state, changed: false, effects: [{ kind: 'ignored', why: 'an announcement is still owed' }] } };
      }
      const added = next.changed ? outboxOf(state, next, settings, this.clock()) : {};
      if (!next.changed || this.write(group, state, next.state, added)) {
        if (next.changed) rememberExtras(next.state, { ...storedExtras(state), ...added });
        if (next.changed) this.cache.delete(breakerPk(group));
        this.learned(group, next.state);
        return { before: state, step: next };
      }
      this.lostRaces++;
      state = await this.read(group);
    }
    throw new BreakerContentionError(group);
  }

  async active(): Promise<ActiveBreaker[]> {
    const found: Array<{ shard: string; dueAt: number; b: ActiveBreaker }> = [];
    for (const item of this.items.values()) {
      if (item.dueShard === undefined) continue;
      const group = { stateMachineArn: item.stateMachineArn as string, errorName: (item.errorName as string | null | undefined) ?? null };
      found.push({ shard: item.dueShard as string, dueAt: item.dueAt as number, b: { group, state: stateFromItem(copy(item)) } });
    }
    const order = breakerShardValues();
    found.sort((a, b) => order.indexOf(a.shard) - order.indexOf(b.shard) || a.dueAt - b.dueAt);
    return found.map((f) => f.b);
  }

  /** Open or releasing breakers (the runner's idle check). */
  anyActive(): boolean {
    for (const item of this.items.values()) if (item.dueShard !== undefined) return true;
    return false;
  }

  private write(group: BreakerGroup, before: BreakerState, after: BreakerState, added: StoredExtras): boolean {
    const pk = breakerPk(group);
    const item = this.items.get(pk);
    const version = item?.version as number | undefined;
    if (before.version === 0 ? version !== undefined && version !== 0 : version !== before.version) return false;
    const next: Item = { ...(item ?? {}), ...copy(added), status: after.status, version: after.version, stateMachineArn: group.stateMachineArn, errorName: group.errorName, failedProbes: after.failedProbes };
    for (const field of CONTROL_FIELDS) {
      const v = after[field];
      if (v === null) delete next[field];
      else next[field] = copy(v);
    }
    if (after.status === 'closed') {
      delete next.dueShard;
      delete next.dueAt;
    } else {
      next.dueShard = breakerShard(group);
      next.dueAt = dueAtOf(after);
    }
    for (const c of Object.keys(before.counts)) if (!(c in after.counts)) delete next[c];
    this.items.set(pk, next);
    return true;
  }
}

/** Policy items and the kill switch, changed by the world's people. */
export class WorldPolicies implements Public<PolicySource> {
  private readonly items = new Map<string, PolicyParseResult>();
  pause: PauseState = { paused: false };

  put(item: Record<string, unknown>): void {
    this.items.set(item.stateMachine as string, parsePolicyItem(item));
  }
  delete(key: string): void {
    this.items.delete(key);
  }
  /** The policy items as parsed (verdicts read the policy in force at a time). */
  current(): ReadonlyMap<string, PolicyParseResult> {
    return new Map(this.items);
  }
  async snapshot(now: number): Promise<PolicySnapshot> {
    return { policies: new Map(this.items), pause: this.pause, loadedAt: now };
  }
  invalidate(): void {}
  async refresh(now: number): Promise<PolicySnapshot> {
    return this.snapshot(now);
  }
}

export class MemorySweepSchedule implements Public<SweepSchedule> {
  lastRunAt: number | undefined;
  async claimRun(now: number, everyMs: number): Promise<{ claimed: boolean; previousRunAt?: number }> {
    if (this.lastRunAt !== undefined && this.lastRunAt > now - everyMs) return { claimed: false };
    const previousRunAt = this.lastRunAt;
    this.lastRunAt = now;
    return { claimed: true, previousRunAt };
  }
}

/** Logs nothing (a fuzz run makes millions of decisions). */
export const QUIET_LOG: Log = { debug() {}, info() {}, warn() {}, error() {} };

/** Counts metrics by name only. */
export class CountingMetrics implements MetricsRecorder {
  readonly counts = new Map<string, number>();
  count(name: MetricName, _dimensions?: Dimensions, value = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + value);
  }
  milliseconds(): void {}
  seconds(): void {}
  flush(): void {}
}
