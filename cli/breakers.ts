/**
 * The breakers as redrivectl shows them (status, explain): every open or releasing
 * (state machine, error) group with its held count, since when its oldest failure is held,
 * which signal opened it, and what its next probe waits for (contract/probe-wait.ts words it).
 */
import { type BreakerGroup, HELD_EXHAUSTED_SHARD, heldShard, NO_ERROR, type OpenedBy } from '../contract/breaker';
import { MAX_CANDIDATES, ProbeChoice } from '../lambda/breaker/probe-choice';
import { openedByWords, probeWait, type ProbeWaitFacts } from '../contract/probe-wait';
import type { RedrivePolicy } from '../contract/policy-schema';
import type { BreakerState } from '../lambda/decide/breaker';
import { type PolicySnapshot, resolvePolicy } from '../lambda/policy/policy-source';
import { storedExtras } from '../lambda/record/breaker-store';
import type { FailureLedger, FailureRecord } from '../lambda/record/failure-ledger';
import type { CliContext } from './context';
import { isoTime, table } from './output';

export interface BreakerView {
  readonly stateMachineArn: string;
  readonly errorName: string | null;
  readonly status: string;
  readonly since: string | null;
  /** Which signal opened it: failures, redrive-failures, both (null: not recorded). */
  readonly openedBy: OpenedBy | null;
  readonly held: number;
  /** When the oldest held failure of the group was held. */
  readonly heldSince: string | null;
  readonly failedProbes: number;
  /** The stored next probe time (may be past: see probeWait). */
  readonly nextProbe: string | null;
  readonly probe: { readonly executionArn: string; readonly startedAt: string | null } | null;
  /** What the next probe waits for, in words. */
  readonly probeWait: string;
  readonly closeReason: string | null;
}

/** The first `n` held failures of a group, oldest first. */
async function firstHeld(ledger: FailureLedger, group: BreakerGroup, n: number): Promise<FailureRecord[]> {
  const held = ledger.held(heldShard(group));
  const out: FailureRecord[] = [];
  try {
    for (let next = await held.next(); !next.done && out.length < n; next = await held.next()) out.push(next.value);
  } finally {
    await held.return(undefined);
  }
  return out;
}

/** The policy under which a group probes (undefined: none enabled applies). */
export function groupPolicy(snapshot: PolicySnapshot, group: BreakerGroup): RedrivePolicy | undefined {
  const r = resolvePolicy(snapshot, group.stateMachineArn);
  return r.kind === 'found' && r.policy.enabled ? r.policy : undefined;
}

/**
 * What the group's next probe waits for. Only a probe that is due by the breaker's schedule
 * needs a look at the held failures: the drain's own choice over them (probe-choice.ts)
 * gives none whose own backoff has passed (the probe waits for the first of them), the best
 * on its last redrive (the wait before spending it, with its latest end: the drain may end
 * it sooner on a sign that the outage is over), or none with a redrive left (no probe at all).
 */
export async function probeWaitFacts(group: BreakerGroup, state: BreakerState, policy: RedrivePolicy | undefined, ledger: FailureLedger, now: number, held?: readonly FailureRecord[]): Promise<ProbeWaitFacts> {
  const facts: ProbeWaitFacts = {
    status: state.status,
    closeReason: state.closeReason,
    probe: state.probe ? { executionArn: state.probe.executionArn, startedAt: state.probe.startedAt } : null,
    nextProbeAt: state.nextProbeAt,
  };
  if (state.status !== 'open' || state.probe || (state.nextProbeAt ?? 0) > now || !policy) return facts;
  const choice = new ProbeChoice(policy);
  for (const record of held ?? (await firstHeld(ledger, group, MAX_CANDIDATES))) {
    if (choice.consider(record, now).enough) break;
  }
  const wait = choice.lastRedriveWait(state.openedAt ?? 0, now);
  if (wait) return { ...facts, waits: [wait] };
  if (choice.best) return facts;
  if (choice.waitingUntil !== undefined) return { ...facts, waits: [{ reason: 'own-backoff', until: choice.waitingUntil }] };
  // None with a redrive left, and no more beyond those the drain looks at: there will be no probe.
  return choice.examined > 0 && choice.examined < MAX_CANDIDATES ? { ...facts, noCandidate: true } : facts;
}

export async function activeBreakers(ctx: CliContext, now = Date.now()): Promise<{ breakers: BreakerView[]; heldAfterExhaustion: number }> {
  const ledger = ctx.ledger();
  const [active, snapshot] = await Promise.all([ctx.breakers().active(), ctx.policySource().snapshot(now)]);
  const breakers = await Promise.all(
    active.map(async ({ group, state }): Promise<BreakerView> => {
      const [held, first] = await Promise.all([ledger.heldCount(heldShard(group)), firstHeld(ledger, group, MAX_CANDIDATES)]);
      const wait = await probeWaitFacts(group, state, groupPolicy(snapshot, group), ledger, now, first);
      const heldAt = first.map((f) => f.heldAt ?? f.updatedAt);
      return {
        stateMachineArn: group.stateMachineArn,
        errorName: group.errorName,
        status: state.status,
        since: isoTime(state.status === 'open' ? state.openedAt : state.closedAt),
        openedBy: storedExtras(state).openedBy ?? null,
        held,
        heldSince: heldAt.length ? isoTime(Math.min(...heldAt)) : null,
        failedProbes: state.failedProbes,
        nextProbe: state.status === 'open' && !state.probe ? isoTime(state.nextProbeAt) : null,
        probe: state.probe ? { executionArn: state.probe.executionArn, startedAt: isoTime(state.probe.startedAt) } : null,
        probeWait: probeWait(wait, now),
        closeReason: state.closeReason,
      };
    }),
  );
  breakers.sort((a, b) => a.stateMachineArn.localeCompare(b.stateMachineArn) || (a.errorName ?? '').localeCompare(b.errorName ?? ''));
  return { breakers, heldAfterExhaustion: await ledger.heldCount(HELD_EXHAUSTED_SHARD) };
}

export function breakersTable(breakers: readonly BreakerView[]): string {
  return table(breakers, [
    { header: 'state machine', value: (b) => b.stateMachineArn },
    { header: 'error', value: (b) => b.errorName ?? NO_ERROR },
    { header: 'status', value: (b) => (b.status === 'releasing' ? `releasing (${b.closeReason})` : b.status) },
    { header: 'since', value: (b) => b.since },
    { header: 'opened by', value: (b) => openedByWords(b.openedBy) },
    { header: 'held', value: (b) => b.held },
    { header: 'held since', value: (b) => b.heldSince },
    { header: 'failed probes', value: (b) => b.failedProbes },
    { header: 'probe', value: (b) => b.probeWait },
  ]);
}
