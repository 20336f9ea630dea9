/**
 * The verdict on one failure: the controller's own event path (lambda/event-path.ts
 * processStatusChange) with `decideOnly`, fed the event the reconciliation sweep builds
 * from DescribeExecution (lambda/reconcile.ts eventFromExecution) and that description as
 * the current facts. So the facts (policy match, ledger history, kill switch, breaker
 * state) and the decision are the controller's, not a copy; `decideOnly` writes nothing
 * (no ledger claim, no audit entry, no breaker count, no rate-limiter item).
 *
 * "Now" is the run's clock: the verdict is what the controller would decide if the
 * failure's event arrived now (as the sweep or `backfill --dry-run` would).
 */
import { REDRIVE_WINDOW_MS } from '../../contract/breaker';
import { type PolicyParseResult } from '../../contract/policy-schema';
import type { DescribedExecution } from '../../lambda/act/step-functions';
import type { Decision } from '../../lambda/decide/decision';
import { type ControllerDeps, processStatusChange } from '../../lambda/event-path';
import type { PolicySnapshot, PolicySource } from '../../lambda/policy/policy-source';
import type { PauseState } from '../../lambda/record/kill-switch';
import { eventFromExecution } from '../../lambda/reconcile';
import { usage } from '../errors';
import { readJson } from '../files';
import { checkItem } from '../policy-store';

export interface Verdict {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly status: string;
  readonly stopDate: number | null;
  readonly redriveCount: number;
  readonly redriveStatus: string | null;
  readonly error: string | null;
  readonly decision: Decision['decision'];
  readonly reason: string;
  readonly policyKey: string | null;
  readonly detail: string;
  /** Step Functions would accept a redrive now: REDRIVABLE and stopped less than 14 days ago. */
  readonly stillRedrivable: boolean;
}

/** A redrive now or after its backoff; `hold` (breaker open, exhausted) is not one. */
export const wouldRedrive = (v: Pick<Verdict, 'decision'>): boolean => v.decision === 'redrive' || v.decision === 'redrive-later';

export function stillRedrivable(d: DescribedExecution, now: number): boolean {
  return d.redriveStatus === 'REDRIVABLE' && d.stopDate !== null && now - d.stopDate < REDRIVE_WINDOW_MS;
}

export class Planner {
  constructor(
    private readonly deps: ControllerDeps,
    private readonly now: number,
  ) {}

  async verdict(d: DescribedExecution): Promise<Verdict> {
    const event = eventFromExecution(d, this.now, 'what-if');
    const { decision } = await processStatusChange(event, this.deps, { source: 'backfill', current: d, decideOnly: true });
    return {
      executionArn: d.executionArn,
      stateMachineArn: d.stateMachineArn,
      status: d.status,
      stopDate: d.stopDate,
      redriveCount: d.redriveCount,
      redriveStatus: d.redriveStatus,
      error: d.error,
      decision: decision.decision,
      reason: decision.reason,
      policyKey: decision.policyKey,
      detail: decision.detail,
      stillRedrivable: stillRedrivable(d, this.now),
    };
  }
}

/**
 * A proposed policy file: one item or an array, the format of `policy put --from-file`
 * and `policy validate`, checked with the contract schema; any invalid item is a usage
 * error naming the item and field (nothing is decided with a half-valid proposal).
 */
export function readProposedPolicies(file: string): Map<string, PolicyParseResult> {
  const doc = readJson(file);
  const items: unknown[] = Array.isArray(doc) ? doc : [doc];
  if (items.length === 0) throw usage(`${file}: no policy items`);
  const problems: string[] = [];
  const policies = new Map<string, PolicyParseResult>();
  items.forEach((raw, i) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      problems.push(`${file}: item ${i + 1}: must be a JSON object`);
      return;
    }
    const k = typeof (raw as { stateMachine?: unknown }).stateMachine === 'string' ? String((raw as { stateMachine: string }).stateMachine) : '(no stateMachine key)';
    const { parsed, issues } = checkItem(raw);
    for (const issue of issues) problems.push(`${file}: item ${i + 1} (${k}): ${issue.field}: ${issue.message}`);
    if (policies.has(k)) problems.push(`${file}: item ${i + 1} (${k}): the same key as an earlier item`);
    else if (parsed.ok) policies.set(k, parsed);
  });
  if (problems.length > 0) throw usage(problems[0], problems.slice(1));
  return policies;
}

/** A policy source that always answers with one snapshot (the proposed file). */
export function fixedPolicySource(snapshot: PolicySnapshot): PolicySource {
  const source: Pick<PolicySource, 'snapshot' | 'refresh' | 'invalidate'> = {
    snapshot: async () => snapshot,
    refresh: async () => snapshot,
    invalidate: () => undefined,
  };
  return source as PolicySource;
}

export function proposedSnapshot(policies: Map<string, PolicyParseResult>, pause: PauseState, now: number): PolicySnapshot {
  return { policies, pause, loadedAt: now };
}

/**
 * Dependencies for a run with no deployed tables (before the first deploy): the event path
 * with `decideOnly` and the current description reads only the policies, the ledger's
 * history of the execution (none: nothing was ever recorded) and the breakers (none).
 * Anything else it touched would be a bug; those members are absent and would throw.
 */
export function undeployedDeps(policies: PolicySource, now: number, base: Pick<ControllerDeps, 'log' | 'metrics' | 'config'>): ControllerDeps {
  const ledger: Pick<ControllerDeps['ledger'], 'failuresOf'> = { failuresOf: async () => [] };
  const deps: Partial<ControllerDeps> = { ...base, policies, ledger: ledger as ControllerDeps['ledger'], clock: () => now };
  return deps as ControllerDeps;
}
