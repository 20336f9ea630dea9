/**
 * What people are told about a breaker's next probe and a held failure's fate, in one
 * place: `redrivectl status` and `explain` (and, where it wants them, the audit detail of a
 * hold) say it in these words. The facts come from the breaker item and the held records;
 * a new reason for a probe to wait is one more ProbeWaitReason with its wording.
 */
import type { BreakerStatus, OpenedBy } from './breaker';

/** Why a probe that is due by the breaker's own schedule still waits. */
export type ProbeWaitReason =
  /** No held failure's own policy backoff has passed yet: a probe never spends a redrive sooner (docs/breaker.md, Probes). */
  | 'own-backoff'
  /**
   * Every due held failure is on its last redrive: just after the opening, the probe waits
   * for a new failure with more left while the outage shows it goes on, not after a success
   * since the opening (lambda/breaker/probe-choice.ts lastRedriveWait; lambda/breaker/probe.ts outageGoesOn).
   */
  | 'last-redrive';

const WAITING_FOR: Record<ProbeWaitReason, string> = {
  'own-backoff': "waiting for a held failure's own backoff (a probe never redrives sooner than the policy), until",
  'last-redrive':
    "waiting before spending an execution's last redrive on a probe, while failures show the outage goes on (ended by a success of the state machine since the opening), at the latest until",
};

export interface ProbeWaitFacts {
  readonly status: BreakerStatus;
  readonly closeReason: string | null;
  readonly probe: { readonly executionArn: string; readonly startedAt: number } | null;
  readonly nextProbeAt: number | null;
  /** What a due probe still waits for (the latest one that is still ahead decides). */
  readonly waits?: ReadonlyArray<{ readonly reason: ProbeWaitReason; readonly until: number }>;
  /** No held failure of the group has a redrive left: there will be no probe. */
  readonly noCandidate?: boolean;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * One sentence: what the breaker's next probe waits for. A probe time already past is
 * never shown as "next probe": the drain starts it at its next run.
 */
export function probeWait(f: ProbeWaitFacts, now: number): string {
  if (f.status === 'closed') return 'no probe: the breaker is closed';
  if (f.status === 'releasing') return `no probe: it stopped holding (${f.closeReason ?? 'closed'}); held failures are released by the next drain runs`;
  if (f.probe) return `probe ${f.probe.executionArn} running since ${iso(f.probe.startedAt)}`;
  if (f.nextProbeAt !== null && f.nextProbeAt > now) return `next probe at ${iso(f.nextProbeAt)}`;
  if (f.noCandidate) return 'no probe: no held failure has a redrive left; they go through their policy (given up, or held as exhausted) at the next drain run';
  const ahead = (f.waits ?? []).filter((w) => w.until > now).sort((a, b) => b.until - a.until)[0];
  if (ahead) return `${WAITING_FOR[ahead.reason]} ${iso(ahead.until)}`;
  return 'due now, at the next drain run';
}

export interface HeldFacts {
  /** The hold reason on the record: `breaker-open` or `exhausted`. */
  readonly reason: string | null;
  readonly redriveCount: number;
  /** The policy's maxRedrives (null: no enabled policy applies any more). */
  readonly maxRedrives: number | null;
  /** Its group's breaker (breaker-open holds). */
  readonly breaker: ProbeWaitFacts | null;
}

/** One sentence: how a held failure leaves the hold. */
export function heldFate(h: HeldFacts, now: number): string {
  if (h.reason === 'exhausted') return 'held after exhaustion: never probed; released only by a person (redrivectl release)';
  if (h.reason === 'awaiting-approval') {
    return 'held for approval: never probed; redriven when a person approves it (redrivectl approve), skipped when rejected (redrivectl reject), given up holdMarginHours before its redrive window ends';
  }
  if (h.reason === 'over-budget') return "held over its state machine's redrive budget (maxRedrivesPerHour): released oldest first by the drain as the budget allows";
  if (!h.breaker || h.breaker.status !== 'open') return 'its breaker stopped holding: released by the next drain runs';
  if (h.maxRedrives === null) return 'no enabled policy applies: its breaker stops holding at the next drain run, which releases it through decide()';
  if (h.redriveCount >= h.maxRedrives) {
    return 'no redrive left: never probed; it goes through its policy (given up, or held as exhausted) at its group\'s next probe attempt';
  }
  return `released when a probe of its group succeeds, or by a person (redrivectl release); ${probeWait(h.breaker, now)}`;
}

/** Which signal opened a breaker, in words (items opened before this was stored: unknown). */
export function openedByWords(openedBy: OpenedBy | undefined | null): string {
  switch (openedBy) {
    case 'failures':
      return 'executions failing';
    case 'redrive-failures':
      return 'redrives failing again';
    case 'both':
      return 'executions failing and redrives failing again';
    case 'shared-dependency':
      return 'a redrive failing again while another state machine was open for the same error';
    default:
      return 'not recorded';
  }
}
