/**
 * Organization mode: a recorded failure (held by a breaker or after exhaustion, a pending
 * redrive, or a parked skip) whose account or Region is no longer served (removed from
 * MEMBER_ACCOUNTS / SERVED_REGIONS after it was recorded). Skipped as `unknown-account`
 * without touching its record, a release, a probe or the drain would meet it again on
 * every pass and every run. Instead it is settled here, once: skip `account-not-served` on
 * its record (it leaves the held, due and parked indexes), an audit entry, the Decisions
 * metric, and an `Auto Redrive Skipped` owner event. The event path does this for every
 * source that carries out an earlier decision about a recorded failure
 * (`settleRecordedIfNotServed`), so no caller has to remember it.
 */
import { skipDecision } from './decide/decision';
import type { StatusChange } from './event/status-change';
import type { ControllerDeps, Outcome } from './event-path';
import type { DecisionSource } from './record/audit-trail';
import { recordDecision } from './record/breaker-events';
import { type FailureRecord, mayStillBeRedriven } from './record/failure-ledger';

/**
 * Sources that carry out an earlier decision about a failure the ledger holds (due
 * redrives and parked failures: `drain`; held failures: `release`, `probe`), never a new
 * failure. Events (delivered, replayed, listed by the sweep or backfill) come only from
 * what is still served, and are refused as `unknown-account` otherwise.
 */
const RECORDED_SOURCES: ReadonlySet<DecisionSource> = new Set(['drain', 'release', 'probe']);

/** Whether the controller still serves the record's account and Region (always, outside organization mode). */
export function stillServed(record: Pick<FailureRecord, 'account' | 'region'>, deps: Pick<ControllerDeps, 'accounts'>): boolean {
  const accounts = deps.accounts;
  if (!accounts) return true;
  return accounts.serves ? accounts.serves(record.account, record.region) : accounts.allows(record.account);
}

/**
 * Settles a failure whose account or Region is no longer served; undefined when it is
 * served (the caller goes on as usual). A record someone else moved first (a concurrent
 * release) is left to them: reported as skipped, not recorded twice.
 */
export async function settleIfNotServed(record: FailureRecord, source: DecisionSource, deps: ControllerDeps): Promise<Outcome | undefined> {
  if (stillServed(record, deps)) return undefined;
  const now = deps.clock();
  const decision = skipDecision(
    'account-not-served',
    `account ${record.account} in ${record.region} is no longer served by this controller (MEMBER_ACCOUNTS, SERVED_REGIONS); ` +
      `this ${record.state} failure is given up, not redriven`,
    { policyKey: record.policyKey, redriveCount: record.redriveCount, errorName: record.errorName },
  );
  const outcome: Outcome = { decision, executionArn: record.executionArn, eventId: `${source}:${record.redriveCount}`, source, action: 'skipped' };
  if (!(await deps.ledger.skip(record, 'account-not-served', now))) return { ...outcome, unchanged: true };
  deps.log.warn('failure in an account or Region no longer served: given up', { executionArn: record.executionArn, account: record.account, region: record.region, state: record.state });
  await recordDecision(record, decision, { action: 'skipped' }, source, deps);
  if (deps.notifier) await deps.notifier.notify(decision, record, record.cause);
  return outcome;
}

/**
 * The event path's check for a recorded failure: an event from a source in
 * RECORDED_SOURCES whose account or Region is no longer served, about a failure that may
 * still be redriven (held, pending, claimed, parked), settles that record
 * (`settleIfNotServed`). undefined: served, another source, or no such record (the event
 * path goes on, and refuses an unknown account as usual).
 */
export async function settleRecordedIfNotServed(event: StatusChange, source: DecisionSource, deps: ControllerDeps): Promise<Outcome | undefined> {
  if (!RECORDED_SOURCES.has(source) || event.redriveCount === null || stillServed(event, deps)) return undefined;
  const record = await deps.ledger.get(event.executionArn, event.redriveCount);
  if (!record || !mayStillBeRedriven(record)) return undefined;
  return settleIfNotServed(record, source, deps);
}
