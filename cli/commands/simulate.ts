/**
 * `redrivectl simulate --event <file|-> [--policy <file>] [--now <iso>]`: what the
 * controller would decide for one status-change event, with the controller's own parser
 * and its pure `decide()`. Reads at most the policy table and the kill switch; writes
 * nothing.
 */
import { Command } from 'commander';
import { decide } from '../../lambda/decide/decide';
import type { ExecutionFacts } from '../../lambda/decide/decision';
import { parseStatusChange, type StatusChange } from '../../lambda/event/status-change';
import { type PolicySnapshot, resolvePolicy } from '../../lambda/policy/policy-source';
import type { PolicyParseResult, RedrivePolicy } from '../../contract/policy-schema';
import { type CliContext, withContext } from '../context';
import { describeError, usage } from '../errors';
import { describeFailedState, type FailedState } from '../../lambda/facts/failed-state';
import { FailedStateSource, NO_EXECUTION, isHistoryBusy } from '../../lambda/facts/failed-state-source';
import { usesFailedState } from '../../lambda/decide/state-scope';
import { readJson } from '../files';
import { isoTime, keyValues } from '../output';
import { checkItem } from '../policy-store';

interface SimulateOptions {
  event: string;
  policy?: string;
  now?: string;
  failedState?: string;
}

function parseNow(now: string | undefined, fallback: number): number {
  if (now === undefined) return fallback;
  const ms = /^\d{4}-\d{2}-\d{2}/.test(now) ? Date.parse(now) : NaN;
  if (!Number.isFinite(ms)) throw usage(`simulate: --now '${now}' is not an ISO 8601 time (e.g. 2023-11-16T06:39:00Z)`);
  return ms;
}

async function simulate(ctx: CliContext, options: SimulateOptions): Promise<void> {
  const eventName = options.event === '-' ? 'stdin' : options.event;
  const parsed = parseStatusChange(readJson(options.event));
  if (!parsed.ok) {
    const problems = parsed.error.problems;
    const more = problems.length > 3 ? ` (and ${problems.length - 3} more)` : '';
    throw usage(`${eventName}: not a Step Functions status-change event: ${problems.slice(0, 3).join('; ')}${more}`);
  }
  const event = parsed.event;
  // Decide as if the event had just arrived: with the real clock, an event from 2023
  // would be far outside every backoff (and the 14-day redrive window).
  const now = parseNow(options.now, event.eventTime);

  let snapshot: PolicySnapshot;
  let policySource: string;
  if (options.policy) {
    const item = readJson(options.policy);
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw usage(`${options.policy}: must be one policy item (a JSON object)`);
    }
    const { parsed: policy, issues } = checkItem(item);
    if (issues.length > 0 || !policy.ok) {
      const lines = issues.map((i) => `${options.policy}: ${i.field}: ${i.message}`);
      throw usage(lines[0], lines.slice(1));
    }
    const policies = new Map<string, PolicyParseResult>([[policy.policy.key, policy]]);
    snapshot = { policies, pause: { paused: false }, loadedAt: now };
    policySource = options.policy;
  } else {
    snapshot = await ctx.policySource().snapshot(Date.now());
    policySource = `table ${ctx.policyTable}`;
  }

  const resolution = resolvePolicy(snapshot, event.stateMachineArn);
  const failed = await simulatedFailedState(ctx, event, resolution.kind === 'found' ? resolution.policy : undefined, options.failedState);
  const facts: ExecutionFacts = { paused: snapshot.pause.paused, highestRecordedFailure: null, thisFailure: null, current: null, ...(failed.state ? { failedState: failed.state } : {}) };
  const d = decide(event, resolution, facts, now);
  const result = {
    decision: d.decision,
    reason: d.reason,
    policyKey: d.policyKey,
    detail: d.detail,
    redriveCount: d.redriveCount,
    errorName: d.errorName,
    ...(d.decision === 'redrive-later' ? { delaySeconds: d.delaySeconds, dueAt: isoTime(d.dueAt) } : {}),
    executionArn: event.executionArn,
    stateMachineArn: event.stateMachineArn,
    status: event.status,
    eventId: event.eventId,
    now: isoTime(now),
    policySource,
    paused: facts.paused,
    failedState: failed.state ? describeFailedState(failed.state, event.status) : null,
    failedStateSource: failed.source,
  };
  ctx.out.emit(result, () =>
    keyValues([
      ['Decision', d.decision],
      ['Reason', d.reason],
      ['Detail', d.detail],
      ...(d.decision === 'redrive-later' ? ([['Delay', `${d.delaySeconds}s (due ${isoTime(d.dueAt)})`]] as const) : []),
      ['Policy', d.policyKey ?? '(none)'],
      ['Policy source', policySource],
      ['Execution', event.executionArn],
      ['Status', event.status],
      ['Redrive count', d.redriveCount],
      ['Error', d.errorName],
      ['Failed state', `${result.failedState ?? '(not known)'} (${failed.source})`],
      ['Paused', facts.paused],
      ['Now', `${isoTime(now)}${options.now ? '' : " (the event's time)"}`],
    ]),
  );
}

/**
 * The failed state for a state-scoped policy (lambda/decide/state-scope.ts): --failed-state
 * when given (innermost first, then the enclosing Parallel / Map states), else the
 * execution's history as the controller reads it; not read for other policies.
 */
async function simulatedFailedState(
  ctx: CliContext,
  event: StatusChange,
  policy: RedrivePolicy | undefined,
  option: string | undefined,
): Promise<{ state: FailedState | undefined; source: string }> {
  if (option !== undefined) {
    const [name, ...enclosing] = option.split(',').map((s) => s.trim());
    return { state: { name: name || null, enclosing: enclosing.filter(Boolean) }, source: '--failed-state' };
  }
  if (!policy || !usesFailedState(policy)) return { state: undefined, source: 'not needed: the policy is not state-scoped' };
  const deps = ctx.wire();
  try {
    const read = await new FailedStateSource(event, deps, () => new Error('GetExecutionHistory is busy')).for(policy);
    if (read === NO_EXECUTION) return { state: undefined, source: 'Step Functions does not know this execution' };
    // Not with a thrown busy error (only the event path hands over), but the answer type has it.
    if (read !== undefined && isHistoryBusy(read)) return { state: undefined, source: 'GetExecutionHistory is busy' };
    return { state: read, source: event.status === 'FAILED' ? 'the execution history' : `the status ${event.status}` };
  } catch (e) {
    return { state: undefined, source: `GetExecutionHistory failed: ${describeError(e).message}` };
  }
}

export function simulateCommand(): Command {
  return new Command('simulate')
    .description('show what the controller would decide for a status-change event (writes nothing)')
    .requiredOption('--event <file|->', 'the EventBridge event (JSON file, or - for stdin)')
    .option('--policy <file>', 'one policy item (plain JSON) to use instead of the stored policies and the kill switch')
    .option('--now <iso>', "decision time (default: the event's own time, as if it had just arrived)")
    .option('--failed-state <name[,enclosing]>', "the state the execution failed at, for a state-scoped policy (default: read from the execution's history)")
    .addHelpText(
      'after',
      `
The decision is the controller's own decide() with no ledger records and no
DescribeExecution: what a fresh event would get. For a state-scoped policy
(neverAtStates, onlyAtStates) the failed state comes from --failed-state, or
else from the execution's history (GetExecutionHistory, one read). Without --policy, the stored
policies and the kill switch are read (nothing is written). With --policy, the
item's key must be the event's state machine or a pattern matching it, otherwise
the answer is no-policy. The default "now" is the event's time, so saved events
(e.g. the 2023 fixtures) are judged as they would have been on arrival.

Examples:
  redrivectl simulate --event failed.json --policy policy.json
  redrivectl simulate --event failed.json --now 2023-11-16T06:45:00Z -o json
  aws events ... | redrivectl simulate --event - --policy policy.json`,
    )
    .action(withContext((ctx, options: SimulateOptions) => simulate(ctx, options)));
}
