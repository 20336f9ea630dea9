/**
 * The RedriveExecution rate of `redrivectl release` and `backfill`: the deployed
 * controller's (`redriveRatePerSecond`), which they share through the same limiter item,
 * and never above it: every limiter takes its lease share out of its own rate minus the
 * others' shares, so one that plans with a higher rate than the controller's would push
 * the sum past the controller's rate. `--rate` may only lower it.
 *
 * Where the deployed rate comes from: with --local, the running local stand-ins' config
 * (.local-state/local.json); otherwise the rate the controller's drain records on the
 * limiter's lease item every run (lambda/act/rate-limiter.ts publishRate). A ledger with no
 * recorded rate (a controller from before it was recorded) falls back to the built-in
 * default, with a note.
 */
import { DEFAULTS } from '../lambda/config';
import { readRecordedRate } from '../lambda/act/rate-limiter';
import type { CliContext } from './context';
import { usage } from './errors';

export interface CliRate {
  /** The rate this run plans its leases with. */
  readonly rate: number;
  /** The deployed controller's rate. */
  readonly deployed: number;
  /** Where `deployed` came from. */
  readonly source: 'local' | 'recorded' | 'default';
}

/** `requested` (--rate) within the deployed rate; bad input and a higher value are usage errors. */
export function chooseRate(command: string, requested: string | undefined, deployed: number): number {
  if (requested === undefined) return deployed;
  const n = Number(requested);
  if (!Number.isFinite(n) || n <= 0) throw usage(`${command}: --rate '${requested}' must be a number of redrives per second above 0`);
  if (n > deployed) {
    throw usage(`${command}: --rate ${n} is above the controller's deployed rate of ${deployed}/s (redriveRatePerSecond); --rate may only lower it (the CLI shares the controller's limiter)`);
  }
  return n;
}

/** The deployed rate, and this run's rate (`--rate` if given, checked). */
export async function cliRedriveRate(ctx: CliContext, command: string, requested: string | undefined): Promise<CliRate> {
  const local = ctx.localState?.redriveRatePerSecond;
  let deployed: number;
  let source: CliRate['source'];
  if (local !== undefined) [deployed, source] = [local, 'local'];
  else {
    const recorded = await readRecordedRate(ctx.doc(), ctx.ledgerTable, 'RedriveExecution');
    [deployed, source] = recorded ? [recorded.ratePerSecond, 'recorded'] : [DEFAULTS.redriveRatePerSecond, 'default'];
  }
  if (source === 'default') {
    ctx.out.note(`${command}: the controller has recorded no rate in ${ctx.ledgerTable} (its drain records it every minute; an older version does not): assuming the default ${deployed}/s`);
  }
  return { rate: chooseRate(command, requested, deployed), deployed, source };
}
