/**
 * The outage breaker's storage contract: item keys and shapes in the ledger table (no new
 * table, no key-schema change), its statuses and reasons. The controller (lambda/), the
 * CLI (status, release, explain) and the tests read these shapes from here.
 *
 *   breaker item   pk BREAKER#<stateMachineArn>#<errorName>  sk BREAKER
 *                  while open or releasing: dueShard BREAKER#<k>, dueAt = next action time
 *                  (so a few Queries of the sparse byDue index list every active breaker)
 *                  openedBy (the signal that opened it), owedOpened / owedClosed (owner events
 *                  not yet sent: the outbox, lambda/record/breaker-events.ts)
 *   held failure   the failure record itself (pk EXEC#<arn>, sk FAILURE#<n>), state `held`:
 *                  dueShard HELD#<stateMachineArn>#<errorName>#<k> (breaker-open) or
 *                  HELD-EXHAUSTED#<k> (onExhausted: hold), k the execution's shard
 *                  (contract/due-shards.ts), dueAt = the failure's stopDate, so a merged
 *                  read of the group's shards lists its held failures oldest first.
 *                  Records held before sharding keep the value without `#<k>`; it is read too.
 */
import { shardOf } from './due-shards';

/** Status of one (state machine, error) group's breaker. */
export const BREAKER_STATUSES = ['closed', 'open', 'releasing'] as const;
export type BreakerStatus = (typeof BREAKER_STATUSES)[number];

/** Why a breaker stopped holding (the `Reason` of the BreakerClosed metric and owner event). */
export const CLOSE_REASONS = [
  'probe-succeeded',
  'probe-different-error',
  // Every held failure of the group has used up its redrives (or none is left): they are
  // released through decide(), which gives them up (limit-reached) or holds them (exhausted).
  'no-probe-candidate',
  'breaker-disabled',
  'released-by-hand',
  // A redrive of the group that started after the opening (a person's release, one already
  // under way) succeeded: as good as a probe.
  'redrive-succeeded',
] as const;
export type CloseReason = (typeof CLOSE_REASONS)[number];

/** What a probe told the breaker (the `Outcome` of the Probes metric). */
export const PROBE_OUTCOMES = ['started', 'succeeded', 'same-error', 'different-error', 'inconclusive', 'not-started'] as const;
export type ProbeOutcome = (typeof PROBE_OUTCOMES)[number];

export const BREAKER_SK = 'BREAKER';
/**
 * byDue partition family of active (open or releasing) breakers: `BREAKER#<k>`, k from the
 * group's key (BREAKER_INDEX_SHARDS values), and `BREAKER` as written before sharding
 * (still read). A breaker item is in the index only while open or releasing, and moves
 * there on transitions (a few writes per group per probe interval); but every count that
 * updates an open item is an index write too, and each Lambda instance counts until it
 * has seen the breaker open (lambda/act/breaker-gate.ts): up to one write per instance
 * per group in the second the breakers open. In the storm benchmark (50 groups opening
 * at once, 100 instances) one value took 4,360 writes/s; spread over 16 values, a group's
 * burst is bounded by the controller's concurrency. See docs/reliability.md (partition model).
 */
export const BREAKER_SHARD = 'BREAKER';
/** Index partition values of active breakers (a constant: the load is per group, not per failure). */
export const BREAKER_INDEX_SHARDS = 16;
/** The index partition value of a group's active breaker. */
export const breakerShard = (g: BreakerGroup) => `${BREAKER_SHARD}#${shardOf(breakerPk(g), BREAKER_INDEX_SHARDS)}`;
/** Every value a reader of active breakers reads: the legacy one and each shard. */
export const breakerShardValues = (): string[] => [BREAKER_SHARD, ...Array.from({ length: BREAKER_INDEX_SHARDS }, (_, k) => `${BREAKER_SHARD}#${k}`)];
/** Family (base value) of failures held after exhaustion (all state machines), sharded as `HELD-EXHAUSTED#<k>`. */
export const HELD_EXHAUSTED_SHARD = 'HELD-EXHAUSTED';
/** Stands for "no error name" (an ABORTED execution) in keys. */
export const NO_ERROR = '(none)';


/** One breaker per (state machine, error). */
export interface BreakerGroup {
  readonly stateMachineArn: string;
  readonly errorName: string | null;
}

export const breakerPk = (g: BreakerGroup) => `BREAKER#${g.stateMachineArn}#${g.errorName ?? NO_ERROR}`;
/** Family (base value) of a group's held failures, sharded as `<base>#<k>` (contract/due-shards.ts). */
export const heldShard = (g: BreakerGroup) => `HELD#${g.stateMachineArn}#${g.errorName ?? NO_ERROR}`;
export const groupLabel = (g: BreakerGroup) => `${g.stateMachineArn} / ${g.errorName ?? NO_ERROR}`;
export const sameGroup = (a: BreakerGroup, b: BreakerGroup) => a.stateMachineArn === b.stateMachineArn && (a.errorName ?? null) === (b.errorName ?? null);

/**
 * A releasing breaker closes for good only this long after it stopped holding, so a
 * failure that an event-path invocation decided to hold just before the close (and wrote
 * a moment later) is still found and released. Longer than the controller's timeout.
 */
export const RELEASE_GRACE_MS = 2 * 60_000;

/** Step Functions redrives an execution only within 14 days of its stop. */
export const REDRIVE_WINDOW_MS = 14 * 24 * 3_600_000;

/** The probe in flight: the held failure (executionArn, redriveCount) that was redriven. */
export interface ProbeRef {
  readonly executionArn: string;
  /** redriveCount of the failure that was redriven (its next failure has this + 1). */
  readonly redriveCount: number;
  /** Unique per probe: every probe transition is conditional on it. */
  readonly token: string;
  readonly startedAt: number;
}

/**
 * Which signal opened the breaker (stored with the opening write as `openedBy`):
 * `failures`: distinct executions' first failures reached `threshold`; `redrive-failures`:
 * redrives that failed again reached `redriveFailureThreshold`; `both`: both at once.
 */
/** Which evidence opened a breaker. `failures` and `both`: first failures, stored by older versions only. */
export const OPENED_BY = ['failures', 'redrive-failures', 'both', 'shared-dependency'] as const;
export type OpenedBy = (typeof OPENED_BY)[number];

/** The two announcements a breaker owes its owners (`Auto Redrive Breaker Opened` / `Closed`). */
export type AnnouncementKind = 'opened' | 'closed';

/**
 * An announcement owed (an outbox entry on the breaker item, `owedOpened` / `owedClosed`):
 * written by the transition that opened or closed the breaker, in the same conditional
 * write, and removed by the announcer once PutEvents succeeded (conditional on
 * `owedSince`). What the event says is kept here, so it can be sent later as it was.
 * Absent (items written before): nothing owed.
 */
export interface OwedAnnouncement {
  /** When the transition was written: identifies the entry; the drain re-sends it only ANNOUNCE_GRACE_MS later. */
  readonly owedSince: number;
  /** Breaker status right after the transition. */
  readonly status: BreakerStatus;
  readonly openedAt: number | null;
  /** Closed: when it stopped holding. */
  readonly closedAt: number | null;
  /** Opened: `threshold`; Closed: the CloseReason. */
  readonly reason: string;
  /** Opened: failures counted in the window that opened it. */
  readonly failuresInWindow: number | null;
  /** Opened: which signal crossed its threshold. */
  readonly openedBy: OpenedBy | null;
  readonly failedProbes: number;
  /** Opened: the first probe's time. */
  readonly nextProbeAt: number | null;
  readonly firstFailure: FirstFailure | null;
}

/**
 * How long an owed announcement is left to the process that wrote it before the drain
 * sends it: longer than the controller's timeout, so the writer is done (sent, or died).
 */
export const ANNOUNCE_GRACE_MS = 2 * 60_000;

/** The first failure counted in an open period (for owner events; its cause is in the ledger). */
export interface FirstFailure {
  readonly executionArn: string;
  readonly redriveCount: number;
  readonly at: number;
}

/**
 * The breaker item as stored (plain attributes). Window counters are attributes named
 * `r_<bucketMs>_<bucketIndex>` (executions whose redrive failed again with the same error),
 * `s_<bucketMs>_<bucketIndex>` (redrives that succeeded; absent on items written before) and
 * `c_<bucketMs>_<bucketIndex>` (first failures: written by older versions only); the rest
 * is the state the conditional writes move.
 */
export interface BreakerItem {
  readonly pk: string;
  readonly sk: typeof BREAKER_SK;
  readonly stateMachineArn: string;
  readonly errorName: string | null;
  readonly status?: BreakerStatus;
  readonly version?: number;
  readonly openedAt?: number;
  readonly closedAt?: number;
  readonly closeReason?: CloseReason;
  readonly probeIntervalMs?: number;
  readonly nextProbeAt?: number;
  readonly probe?: ProbeRef;
  readonly failedProbes?: number;
  readonly firstFailure?: FirstFailure;
  /** Not open yet: since when its redrives have been failing, and when it opens if they still are (absent: not failing, or written before). */
  readonly failingSince?: number;
  readonly opensAt?: number;
  /** Which signal opened it (absent on items opened before this was stored). */
  readonly openedBy?: OpenedBy;
  /** Announcements owed to owners (absent: none). */
  readonly owedOpened?: OwedAnnouncement;
  readonly owedClosed?: OwedAnnouncement;
  readonly dueShard?: string;
  readonly dueAt?: number;
  readonly [counter: `c_${string}` | `r_${string}` | `s_${string}`]: number | undefined;
}
