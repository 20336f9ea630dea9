/**
 * `redrivectl status`: each canary's last recovery (contract/canary.ts), from the status
 * items the controller writes (lambda/record/canary-status.ts), or that none was recorded.
 */
import { CanaryStatusStore } from '../lambda/record/canary-status';
import type { CliContext } from './context';

export interface CanaryRecoveryView {
  readonly account: string;
  readonly region: string;
  readonly stateMachineArn: string;
  readonly executionArn: string;
  readonly recoveredAt: string;
  /** null: the ledger had no record of the failure, so the duration is unknown. */
  readonly recoverySeconds: number | null;
  /** Seconds since the recovery. */
  readonly ageSeconds: number;
  readonly recoveries: number;
}

/** The last recovery per account and Region, oldest first (the one to worry about on top). */
export async function canaryRecoveries(ctx: CliContext, now: number): Promise<CanaryRecoveryView[]> {
  const items = await new CanaryStatusStore(ctx.doc(), ctx.ledgerTable).list();
  return items
    .map((i) => ({
      account: i.account,
      region: i.region,
      stateMachineArn: i.stateMachineArn,
      executionArn: i.executionArn,
      recoveredAt: i.recoveredAt,
      recoverySeconds: i.recoverySeconds ?? null,
      ageSeconds: Math.max(0, Math.round((now - Date.parse(i.recoveredAt)) / 1000)),
      recoveries: Number(i.recoveries),
    }))
    .sort((a, b) => b.ageSeconds - a.ageSeconds);
}

/** "1h 5m", "3m 20s", "42s". */
export function age(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  return m > 0 ? `${m}m ${s}s` : `${s}s`;
}

/** The status screen's canary lines. */
export function canaryLines(canaries: readonly CanaryRecoveryView[]): Array<readonly [string, string]> {
  if (canaries.length === 0) return [['Canary', 'no recovery recorded (no canary has been redriven and succeeded yet)']];
  return canaries.map((c) => [
    `Canary ${c.account} ${c.region}`,
    `last recovery ${c.recoveredAt} (${age(c.ageSeconds)} ago), ${c.recoverySeconds === null ? 'duration unknown' : `${c.recoverySeconds}s from failure to success`}, ${c.recoveries} recorded`,
  ]);
}
