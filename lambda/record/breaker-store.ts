/**
 * The breaker items in the ledger table (contract/breaker.ts), moved only by the pure
 * state machine in decide/breaker.ts:
 * - `count`: the event path's one call per failure: adds the failure to its time bucket
 *   (and, for a redrive that failed again with the same error, to that signal's bucket, in
 *   the same UpdateItem) and returns the whole state (UpdateItem, ReturnValues ALL_NEW; unconditional, so it
 *   costs the same whether the breaker is closed or open);
 * - `transition`: read, step, write conditional on `version`; on a lost race, read again
 *   and step again (so of N concurrent openers exactly one opens, the rest see it open);
 * - `active`: every open or releasing breaker, one Query of the sparse byDue index;
 * - the announcement outbox: the write that opens or closes a breaker also records the
 *   owner event it owes (`owedOpened` / `owedClosed`) and which signal opened it
 *   (`openedBy`); `settleAnnouncement` removes an entry once it was sent
 *   (record/breaker-events.ts). A breaker owing an announcement does not close for good
 *   (it would leave the index the drain reads them from). These live on the item, not in
 *   the pure BreakerState: `storedExtras(state)` gives them for a state this store read or wrote.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  type AnnouncementKind,
  BREAKER_SK,
  type BreakerGroup,
  type BreakerItem,
  breakerPk,
  breakerShard,
  breakerShardValues,
  type OpenedBy,
  type OwedAnnouncement,
} from '../../contract/breaker';
import { type BreakerSettings, type BreakerState, CLOSED_STATE, type Effect, type Observation, type Step, bucketMs, step } from '../decide/breaker';
import { dueShardPages } from './due-index';

export interface ActiveBreaker {
  readonly group: BreakerGroup;
  readonly state: BreakerState;
}

/** The breaker item could not be moved (the same race lost too often): the caller's work is retried. */
export class BreakerContentionError extends Error {
  constructor(readonly group: BreakerGroup) {
    super(`breaker ${breakerPk(group)}: too many concurrent transitions`);
    this.name = 'BreakerContentionError';
  }
}

export const TRANSITION_ATTEMPTS = 6;
/** How long a read-only look at a breaker (drain, release) may be reused. */
export const BREAKER_CACHE_MS = 1_000;

const isConditionFailure = (e: unknown) =>
  e instanceof ConditionalCheckFailedException || (e as { name?: string }).name === 'ConditionalCheckFailedException';

/** What the item stores beside the state machine's state. */
export interface StoredExtras {
  readonly openedBy?: OpenedBy;
  readonly owedOpened?: OwedAnnouncement;
  readonly owedClosed?: OwedAnnouncement;
}

const extras = new WeakMap<BreakerState, StoredExtras>();

/** The item's extras for a state this store read or wrote (empty for any other state). */
export const storedExtras = (state: BreakerState): StoredExtras => extras.get(state) ?? {};

/** Records what a transition wrote besides the state (stores of the same item shape: the fuzzer's in-memory one). */
export const rememberExtras = (state: BreakerState, written: StoredExtras): void => {
  extras.set(state, written);
};

/** Whether an item still owes an owner event. */
export const owes = (x: StoredExtras) => x.owedOpened !== undefined || x.owedClosed !== undefined;

export function stateFromItem(item: Record<string, unknown> | undefined): BreakerState {
  if (!item) return CLOSED_STATE;
  const i = item as Partial<BreakerItem> & Record<string, unknown>;
  const counts: Record<string, number> = {};
  for (const [k, v] of Object.entries(item)) if (/^[crs]_/.test(k) && typeof v === 'number') counts[k] = v;
  const state: BreakerState = {
    status: i.status ?? 'closed',
    version: i.version ?? 0,
    openedAt: i.openedAt ?? null,
    closedAt: i.closedAt ?? null,
    closeReason: i.closeReason ?? null,
    probeIntervalMs: i.probeIntervalMs ?? null,
    nextProbeAt: i.nextProbeAt ?? null,
    probe: i.probe ?? null,
    failedProbes: i.failedProbes ?? 0,
    firstFailure: i.firstFailure ?? null,
    failingSince: i.failingSince ?? null,
    opensAt: i.opensAt ?? null,
    counts,
  };
  extras.set(state, { openedBy: i.openedBy, owedOpened: i.owedOpened, owedClosed: i.owedClosed });
  return state;
}

/**
 * What a transition adds to the item: the announcement it owes (opened or closed) and,
 * for an opening, which signal crossed its threshold.
 */
export function outboxOf(before: BreakerState, next: Step, settings: BreakerSettings, now: number): StoredExtras {
  const after = next.state;
  const added: { -readonly [K in keyof StoredExtras]: StoredExtras[K] } = {};
  for (const e of next.effects) {
    if (e.kind === 'opened') {
      added.openedBy = openedByOf(e, settings);
      added.owedOpened = {
        owedSince: now,
        status: after.status,
        openedAt: after.openedAt,
        closedAt: null,
        reason: 'threshold',
        // Distinct executions whose redrives failed again: first failures no longer count.
        failuresInWindow: e.redriveFailuresInWindow,
        openedBy: added.openedBy,
        failedProbes: after.failedProbes,
        nextProbeAt: after.nextProbeAt,
        firstFailure: after.firstFailure,
      };
    } else if (e.kind === 'closed') {
      added.owedClosed = {
        owedSince: now,
        status: after.status,
        openedAt: before.openedAt,
        closedAt: after.closedAt,
        reason: e.reason,
        failuresInWindow: null,
        openedBy: null,
        failedProbes: after.failedProbes,
        nextProbeAt: null,
        firstFailure: before.firstFailure,
      };
    }
  }
  return added;
}

function openedByOf(e: Extract<Effect, { kind: 'opened' }>, settings: BreakerSettings): OpenedBy {
  // Fewer failed redrives than the threshold: another state machine's open breaker for the same error did it.
  return e.redriveFailuresInWindow >= settings.redriveFailureThreshold ? 'redrive-failures' : 'shared-dependency';
}

/** Where an active breaker sorts in the BREAKER shard: when the drain has something to do. */
export function dueAtOf(s: BreakerState): number {
  if (s.status === 'releasing') return s.closedAt ?? 0;
  return s.probe?.startedAt ?? s.nextProbeAt ?? s.openedAt ?? 0;
}

export const CONTROL_FIELDS = ['openedAt', 'closedAt', 'closeReason', 'probeIntervalMs', 'nextProbeAt', 'probe', 'firstFailure', 'failingSince', 'opensAt'] as const;

/**
 * What one instance has seen of each breaker (read, counted or written), however old: a
 * hint only. The event path reads before counting once it saw a breaker open; a SUCCEEDED
 * event is evidence only for groups known to be open or to have failed redrives in their
 * window; an open breaker of another state machine with the same error is the shared
 * outage's evidence. Bounded: the least recently learned is dropped past 1,000.
 */
export class KnownBreakers {
  private readonly known = new Map<string, { readonly group: BreakerGroup; readonly state: BreakerState; readonly at: number }>();

  constructor(private readonly clock: () => number) {}

  learned(group: BreakerGroup, state: BreakerState): BreakerState {
    const pk = breakerPk(group);
    this.known.delete(pk); // re-inserted last: the map evicts the least recently learned
    this.known.set(pk, { group: { stateMachineArn: group.stateMachineArn, errorName: group.errorName ?? null }, state, at: this.clock() });
    if (this.known.size > 1000) this.known.delete(this.known.keys().next().value!);
    return state;
  }

  lastKnown(group: BreakerGroup): BreakerState['status'] | undefined {
    return this.known.get(breakerPk(group))?.state.status;
  }

  of(stateMachineArn: string): Array<{ readonly group: BreakerGroup; readonly state: BreakerState }> {
    return [...this.known.values()].filter((k) => k.group.stateMachineArn === stateMachineArn);
  }

  openElsewhere(errorName: string, stateMachineArn: string, since: number): boolean {
    for (const k of this.known.values()) {
      if (k.group.errorName === errorName && k.group.stateMachineArn !== stateMachineArn && k.state.status === 'open' && k.at >= since) return true;
    }
    return false;
  }
}

export class BreakerStore {
  private readonly cache = new Map<string, { state: BreakerState; at: number }>();
  /** What this instance has seen of each breaker (a hint, see KnownBreakers). */
  private readonly known: KnownBreakers;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Stamps owed announcements (`owedSince`). */
    private readonly clock: () => number = Date.now,
  ) {
    this.known = new KnownBreakers(clock);
  }

  private key(group: BreakerGroup) {
    return { pk: breakerPk(group), sk: BREAKER_SK };
  }

  async read(group: BreakerGroup): Promise<BreakerState> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: this.key(group), ConsistentRead: true }));
    return this.learned(group, stateFromItem(out.Item));
  }

  /** A read no older than BREAKER_CACHE_MS (paths that only ask "is it open?"). */
  async readCached(group: BreakerGroup, now: number): Promise<BreakerState> {
    const pk = breakerPk(group);
    const hit = this.cache.get(pk);
    if (hit && now - hit.at < BREAKER_CACHE_MS && now >= hit.at) return hit.state;
    const state = await this.read(group);
    this.remember(pk, state, now);
    return state;
  }

  private remember(pk: string, state: BreakerState, at: number): void {
    this.cache.set(pk, { state, at });
    if (this.cache.size > 1000) this.cache.delete(this.cache.keys().next().value!);
  }

  /** The status this instance last read, counted or wrote, however old (undefined: none). */
  lastKnown(group: BreakerGroup): BreakerState['status'] | undefined {
    return this.known.lastKnown(group);
  }

  /** The groups of a state machine this instance has seen, with the state it last saw. */
  knownOf(stateMachineArn: string): Array<{ readonly group: BreakerGroup; readonly state: BreakerState }> {
    return this.known.of(stateMachineArn);
  }

  /** Whether this instance saw, since `since`, an open breaker of another state machine with this error name. */
  knownOpenElsewhere(errorName: string, stateMachineArn: string, since: number): boolean {
    return this.known.openElsewhere(errorName, stateMachineArn, since);
  }

  private learned(group: BreakerGroup, state: BreakerState): BreakerState {
    return this.known.learned(group, state);
  }

  /**
   * Adds one to each of the buckets `counters` (`r_...` a redrive failed again, `s_...` a
   * redrive succeeded) and returns the state, in one UpdateItem. Also
   * removes the buckets just behind the window, so a busy item stays small without
   * another call. `now`: the state returned is remembered as read then (readCached, lastKnown).
   */
  async count(group: BreakerGroup, counters: readonly string[], settings: Pick<BreakerSettings, 'windowSeconds'>, now?: number): Promise<BreakerState> {
    if (counters.length === 0) return this.read(group);
    const b = bucketMs(settings);
    const names: Record<string, string> = {};
    const add: string[] = [];
    const remove: string[] = [];
    counters.forEach((counter, i) => {
      const [kind, , index] = counter.split('_');
      names[`#bucket${i}`] = counter;
      add.push(`#bucket${i} :one`);
      [7, 8, 9].forEach((k) => {
        const old = `#old${i}_${k}`;
        names[old] = `${kind}_${b}_${Number(index) - k}`;
        remove.push(old);
      });
    });
    const out = await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.key(group),
        UpdateExpression: `ADD ${add.join(', ')} SET stateMachineArn = :sm, errorName = :err REMOVE ${remove.join(', ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ':one': 1, ':sm': group.stateMachineArn, ':err': group.errorName },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const state = this.learned(group, stateFromItem(out.Attributes));
    if (now !== undefined) this.remember(breakerPk(group), state, now);
    return state;
  }

  /**
   * Applies an observation: step the state, write it if it changed (conditional on the
   * version read), and on a lost race read and step again. `known`: a state just read.
   */
  async transition(group: BreakerGroup, obs: Observation, settings: BreakerSettings, known?: BreakerState): Promise<{ before: BreakerState; step: Step }> {
    let state = known ?? (await this.read(group));
    for (let attempt = 0; attempt < TRANSITION_ATTEMPTS; attempt++) {
      const next = step(state, obs, settings);
      if (next.effects.some((e) => e.kind === 'finished') && owes(storedExtras(state))) {
        // Closed for good, it would leave the index the drain finds owed announcements in.
        return { before: state, step: { state, changed: false, effects: [{ kind: 'ignored', why: 'an announcement is still owed' }] } };
      }
      const added = next.changed ? outboxOf(state, next, settings, this.clock()) : {};
      if (!next.changed || (await this.write(group, state, next.state, added))) {
        if (next.changed) rememberExtras(next.state, { ...storedExtras(state), ...added });
        // A write makes the cached read stale; a step that wrote nothing leaves it valid.
        if (next.changed) this.cache.delete(breakerPk(group));
        this.learned(group, next.state);
        return { before: state, step: next };
      }
      state = await this.read(group);
    }
    throw new BreakerContentionError(group);
  }

  /** Every open or releasing breaker. */
  async active(): Promise<ActiveBreaker[]> {
    const found: ActiveBreaker[] = [];
    for (const shard of breakerShardValues()) {
      for await (const page of dueShardPages(this.doc, this.tableName, shard)) {
        for (const item of page.items) {
          found.push({ group: { stateMachineArn: item.stateMachineArn as string, errorName: (item.errorName as string | undefined) ?? null }, state: stateFromItem(item) });
        }
      }
    }
    return found;
  }

  /**
   * The owed announcement `kind` was sent: removes it, only if it is still the entry
   * stamped `owedSince` (a newer one, from a later transition, stays owed). False: it was
   * not there (already settled by someone else, or replaced).
   */
  async settleAnnouncement(group: BreakerGroup, kind: AnnouncementKind, owedSince: number): Promise<boolean> {
    const field = kind === 'opened' ? 'owedOpened' : 'owedClosed';
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(group),
          UpdateExpression: 'REMOVE #owed',
          ConditionExpression: '#owed.owedSince = :since',
          ExpressionAttributeNames: { '#owed': field },
          ExpressionAttributeValues: { ':since': owedSince },
        }),
      );
      this.cache.delete(breakerPk(group));
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  /** Writes `after` over `before` if nobody moved the breaker since it was read. */
  private async write(group: BreakerGroup, before: BreakerState, after: BreakerState, added: StoredExtras): Promise<boolean> {
    const names: Record<string, string> = { '#status': 'status' };
    const values: Record<string, unknown> = {
      ':status': after.status,
      ':version': after.version,
      ':read': before.version,
      ':sm': group.stateMachineArn,
      ':err': group.errorName,
      ':failedProbes': after.failedProbes,
    };
    const set = ['#status = :status', 'version = :version', 'stateMachineArn = :sm', 'errorName = :err', 'failedProbes = :failedProbes'];
    const remove: string[] = [];
    for (const [field, v] of Object.entries(added)) {
      set.push(`${field} = :${field}`);
      values[`:${field}`] = v;
    }
    for (const field of CONTROL_FIELDS) {
      const v = after[field];
      if (v === null) remove.push(field);
      else {
        set.push(`${field} = :${field}`);
        values[`:${field}`] = v;
      }
    }
    if (after.status === 'closed') remove.push('dueShard', 'dueAt');
    else {
      set.push('dueShard = :shard', 'dueAt = :due');
      values[':shard'] = breakerShard(group);
      values[':due'] = dueAtOf(after);
    }
    Object.keys(before.counts)
      .filter((c) => !(c in after.counts))
      .forEach((c, i) => {
        names[`#c${i}`] = c;
        remove.push(`#c${i}`);
      });
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(group),
          UpdateExpression: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
          ConditionExpression: before.version === 0 ? 'attribute_not_exists(version) OR version = :read' : 'version = :read',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }
}
