/**
 * The breakers as redrivectl shows them (status, explain): every open or releasing
 * (state machine, error) group with its held count and next probe.
 */
import { HELD_EXHAUSTED_SHARD, heldShard, NO_ERROR } from '../contract/breaker';
import type { CliContext } from './context';
import { isoTime, table } from './output';

export interface BreakerView {
  readonly stateMachineArn: string;
  readonly errorName: string | null;
  readonly status: string;
  readonly since: string | null;
  readonly held: number;
  readonly failedProbes: number;
  readonly nextProbe: string | null;
  readonly probe: { readonly executionArn: string; readonly startedAt: string | null } | null;
  readonly closeReason: string | null;
}

export async function activeBreakers(ctx: CliContext): Promise<{ breakers: BreakerView[]; heldAfterExhaustion: number }> {
  const ledger = ctx.ledger();
  const active = await ctx.breakers().active();
  const breakers = await Promise.all(
    active.map(async ({ group, state }) => ({
      stateMachineArn: group.stateMachineArn,
      errorName: group.errorName,
      status: state.status,
      since: isoTime(state.status === 'open' ? state.openedAt : state.closedAt),
      held: await ledger.heldCount(heldShard(group)),
      failedProbes: state.failedProbes,
      nextProbe: state.status === 'open' && !state.probe ? isoTime(state.nextProbeAt) : null,
      probe: state.probe ? { executionArn: state.probe.executionArn, startedAt: isoTime(state.probe.startedAt) } : null,
      closeReason: state.closeReason,
    })),
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
    { header: 'held', value: (b) => b.held },
    { header: 'failed probes', value: (b) => b.failedProbes },
    { header: 'next probe', value: (b) => (b.probe ? `in flight: ${b.probe.executionArn}` : b.nextProbe) },
  ]);
}
