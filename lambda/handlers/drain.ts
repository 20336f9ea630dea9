/**
 * Lambda entry point for the scheduled drain (EventBridge schedule, reserved concurrency
 * 1): due pending redrives and abandoned claims, backlog metrics, and every
 * RECONCILE_EVERY_MINUTES the reconciliation sweep.
 */
import { loadConfig } from '../config';
import { drain } from '../drain';
import { PowertoolsLog, PowertoolsMetrics } from '../observability/telemetry';
import { sweep } from '../reconcile';
import { wire, type Wired } from '../wiring';

const logger = new PowertoolsLog();
let deps: Wired | undefined;

export async function handler(): Promise<{ drained: number; backlog: number; swept: boolean }> {
  deps ??= wire(loadConfig(), { log: logger, metrics: new PowertoolsMetrics() });
  try {
    const report = await drain(deps);
    logger.info('drain finished', { due: report.due, processed: report.outcomes.length, backlog: report.backlog, paused: report.paused });
    const now = deps.clock();
    let swept = false;
    if (!report.paused && (await deps.sweepSchedule.claimRun(now, deps.config.reconcileEveryMinutes * 60_000))) {
      const result = await sweep(deps, { since: now - deps.config.reconcileLookbackHours * 3_600_000, source: 'reconcile' });
      swept = true;
      logger.info('reconciliation sweep finished', {
        stateMachines: result.stateMachines,
        listed: result.listed,
        unknownToLedger: result.unknownToLedger,
        considered: result.considered,
      });
    }
    return { drained: report.outcomes.length, backlog: report.backlog, swept };
  } finally {
    deps.metrics.flush();
  }
}
