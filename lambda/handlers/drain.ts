/**
 * Lambda entry point for the scheduled drain (EventBridge schedule, reserved concurrency
 * 1): due pending redrives and abandoned claims, backlog metrics, and every
 * RECONCILE_EVERY_MINUTES the reconciliation sweep.
 */
import { loadConfig } from '../config';
import { scheduledRun } from '../scheduled-drain';
import { PowertoolsLog, PowertoolsMetrics } from '../observability/telemetry';
import { wire, type Wired } from '../wiring';

const logger = new PowertoolsLog();
let deps: Wired | undefined;

export async function handler(): Promise<{ drained: number; backlog: number; swept: boolean }> {
  deps ??= wire(loadConfig(), { log: logger, metrics: new PowertoolsMetrics() });
  try {
    const { drain, sweep } = await scheduledRun(deps);
    logger.info('drain finished', {
      due: drain.due,
      processed: drain.outcomes.length,
      backlog: drain.backlog,
      paused: drain.paused,
      openBreakers: drain.breakers?.open,
      released: drain.breakers?.released.length,
      held: drain.breakers?.held,
    });
    if (sweep) {
      logger.info('reconciliation sweep finished', {
        stateMachines: sweep.stateMachines,
        listed: sweep.listed,
        unknownToLedger: sweep.unknownToLedger,
        considered: sweep.considered,
      });
    }
    return { drained: drain.outcomes.length, backlog: drain.backlog, swept: sweep !== undefined };
  } finally {
    deps.metrics.flush();
  }
}
