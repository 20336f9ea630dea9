/**
 * The naive redriver the benchmark compares against, as in the public "EventBridge rule on
 * FAILED -> Lambda -> RedriveExecution" samples: every FAILED event whose execution is
 * REDRIVABLE is redriven at once. No rate limit, no error filter, no limit on redrives, no
 * backoff, no record of what it did.
 *
 * The only additions are a safety stop so that the simulation ends (a real one has none):
 * no redrive once the simulated clock passes `stopAt`, and none for an execution that has
 * already been redriven `maxRedrivesPerExecution` times. The benchmark reports how often
 * each stop fired.
 */
import { RedriveExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { StatusChangeEvent } from '../local/sfn';

export interface NaiveRedriverOptions {
  readonly clock: () => number;
  /** Safety stop (not in the samples): no redrives after this time. */
  readonly stopAt: number;
  /** Safety stop (not in the samples): per-execution cap. */
  readonly maxRedrivesPerExecution: number;
}

export class NaiveRedriver {
  redrives = 0;
  readonly errors: Record<string, number> = {};
  /** Executions the per-execution cap stopped (a real naive redriver would go on). */
  readonly capped = new Set<string>();
  /** Events ignored because the clock passed `stopAt`. */
  stoppedByClock = 0;

  constructor(
    private readonly sfn: SFNClient,
    private readonly options: NaiveRedriverOptions,
  ) {}

  /** The Lambda target of the rule. */
  async handle(event: StatusChangeEvent): Promise<void> {
    const d = event.detail;
    if (d.status !== 'FAILED' || d.redriveStatus !== 'REDRIVABLE') return;
    if (this.options.clock() > this.options.stopAt) {
      this.stoppedByClock++;
      return;
    }
    if (d.redriveCount >= this.options.maxRedrivesPerExecution) {
      this.capped.add(d.executionArn);
      return;
    }
    try {
      await this.sfn.send(new RedriveExecutionCommand({ executionArn: d.executionArn }));
      this.redrives++;
    } catch (e) {
      const name = (e as { name?: string }).name ?? 'Error';
      this.errors[name] = (this.errors[name] ?? 0) + 1;
    }
  }
}
