/**
 * Lambda entry point for status-change events from EventBridge (asynchronous invoke).
 * Returns normally for every decision, including skips and malformed events; throws only
 * when a dependency (DynamoDB, or Step Functions during a stale check) is unavailable, so
 * Lambda's async retries and then the dead-letter queue keep the event.
 */
import { loadConfig } from '../config';
import { handleStatusChange, type Outcome } from '../event-path';
import { PowertoolsLog, PowertoolsMetrics } from '../observability/telemetry';
import { wire, type Wired } from '../wiring';

const logger = new PowertoolsLog();
let deps: Wired | undefined;

export async function handler(event: unknown): Promise<Pick<Outcome, 'action'> & { decision: string; reason: string }> {
  deps ??= wire(loadConfig(), { log: logger, metrics: new PowertoolsMetrics() });
  try {
    const outcome = await handleStatusChange(event, deps, 'event');
    return { decision: outcome.decision.decision, reason: outcome.decision.reason, action: outcome.action };
  } catch (e) {
    logger.error('event not handled; Lambda will retry it, then park it in the DLQ', {
      eventId: (event as { id?: string })?.id,
      errorName: (e as Error).name,
      error: (e as Error).message,
    });
    throw e;
  } finally {
    deps.metrics.flush();
  }
}
