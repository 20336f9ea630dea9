/**
 * State machines at their redrive budget as redrivectl shows them (status): those with
 * failures held `over-budget` (contract/budget.ts), with how many and since when the oldest
 * stopped. The drain releases them oldest first as each budget allows.
 */
import { HELD_BUDGET_SHARD } from '../contract/budget';
import type { CliContext } from './context';
import { isoTime, table } from './output';

export interface OverBudgetView {
  readonly stateMachineArn: string;
  readonly held: number;
  /** When the oldest failure held over budget stopped. */
  readonly oldestStopped: string | null;
}

/** Held records read at most to group them by state machine (the total is counted in full). */
const READ_LIMIT = 10_000;

export async function overBudgetStateMachines(ctx: CliContext): Promise<{ stateMachines: OverBudgetView[]; held: number; partial: boolean }> {
  const ledger = ctx.ledger();
  const byMachine = new Map<string, { held: number; oldest: number | null }>();
  let read = 0;
  const held = ledger.held(HELD_BUDGET_SHARD, { pageSize: 500 });
  for await (const record of held) {
    const m = byMachine.get(record.stateMachineArn) ?? { held: 0, oldest: record.stopDate ?? record.heldAt ?? null };
    m.held++;
    byMachine.set(record.stateMachineArn, m);
    if (++read >= READ_LIMIT) break;
  }
  const total = read >= READ_LIMIT ? await ledger.heldCount(HELD_BUDGET_SHARD) : read;
  const stateMachines = [...byMachine].map(([stateMachineArn, m]) => ({ stateMachineArn, held: m.held, oldestStopped: isoTime(m.oldest) }));
  return { stateMachines, held: total, partial: read >= READ_LIMIT };
}

export function overBudgetTable(views: readonly OverBudgetView[]): string {
  return table(views, [
    { header: 'state machine', value: (v) => v.stateMachineArn },
    { header: 'held over budget', value: (v) => v.held },
    { header: 'oldest stopped', value: (v) => v.oldestStopped ?? '' },
  ]);
}
