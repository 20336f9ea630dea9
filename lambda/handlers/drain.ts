/**
 * Lambda entry point for the scheduled drain (EventBridge schedule): due pending redrives
 * and abandoned claims, backlog metrics, and every RECONCILE_EVERY_MINUTES the
 * reconciliation sweep. One run at a time: the drain lease (record/drain-lease.ts).
 */
import { randomUUID } from 'node:crypto';
import { DRAIN_TIMEOUT_SECONDS } from '../../contract/settings';
import { loadConfig } from '../config';
import { scheduledRun } from '../scheduled-drain';
import { PowertoolsLog, PowertoolsMetrics } from '../observability/telemetry';
import { LEASE_MARGIN_MS } from '../record/drain-lease';
import { wire, type Wired } from '../wiring';

const logger = new PowertoolsLog();
let deps: Wired | undefined;

/** The parts of the Lambda context used here; absent when the handler is called by hand. */
interface InvocationContext {
  readonly awsRequestId?: string;
  getRemainingTimeInMillis?(): number;
}


export type DrainResult =
  | { drained: number; backlog: number; swept: boolean }
  | { skipped: 'lease-held'; leaseHolder: string | undefined; leaseUntil: number | undefined };

export async function handler(_event?: unknown, context?: InvocationContext): Promise<DrainResult> {
  deps ??= wire(loadConfig(), { log: logger, metrics: new PowertoolsMetrics() });
  const holder = context?.awsRequestId ?? randomUUID();
  const now = deps.clock();
  const lease = await deps.drainLease.acquire(holder, now, now + (context?.getRemainingTimeInMillis?.() ?? DRAIN_TIMEOUT_SECONDS * 1000) + LEASE_MARGIN_MS);
  if (!lease.acquired) {
    logger.info('another drain run holds the lease; this tick is skipped', { leaseHolder: lease.heldBy?.holder, leaseUntil: lease.heldBy?.until });
    return { skipped: 'lease-held', leaseHolder: lease.heldBy?.holder, leaseUntil: lease.heldBy?.until };
  }
  if (lease.expired) {
    logger.warn('took over the lease of a drain run that did not finish (crashed or timed out)', { previousHolder: lease.expired.holder, leaseUntil: lease.expired.until });
  }
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
    await deps.drainLease.release(holder).catch((e) => logger.warn('drain lease not released; it expires by itself', { error: (e as Error).message }));
    deps.metrics.flush();
  }
}
