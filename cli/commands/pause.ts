/**
 * `redrivectl pause | resume | status`: the kill switch, and one screen of how the
 * controller is doing.
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { Command } from 'commander';
import { DEFAULTS } from '../../lambda/config';
import { type CliContext, withContext } from '../context';
import { describeError } from '../errors';
import { isoTime, keyValues, table } from '../output';
import { PolicyStore } from '../policy-store';
import { activeBreakers, breakersTable } from '../breakers';
import { canaryLines, canaryRecoveries } from '../canary-status';
import { approvalsForStatus } from './approve';
import { overBudgetStateMachines, overBudgetTable } from '../budgets';

const DAY_MS = 86_400_000;

async function pause(ctx: CliContext, options: { reason?: string }): Promise<void> {
  const ks = ctx.killSwitch();
  const at = Date.now();
  const reason = options.reason ?? 'paused with redrivectl';
  const by = ctx.actor();
  await ks.pause(reason, by, at);
  ctx.out.emit({ paused: true, reason, by, since: isoTime(at) }, () =>
    [
      `paused: no path redrives until 'redrivectl resume' (reason: ${reason})`,
      `Running controller instances see this within the policy cache TTL (${DEFAULTS.policyCacheTtlSeconds}s by default).`,
      'Failures meanwhile are recorded as paused and reconsidered by the reconciliation sweep after resume.',
    ].join('\n'),
  );
}

async function resume(ctx: CliContext): Promise<void> {
  const ks = ctx.killSwitch();
  const before = await ks.read();
  await ks.resume();
  ctx.out.emit({ paused: false, wasPaused: before.paused }, () =>
    before.paused ? 'resumed: the controller redrives again (within the policy cache TTL)' : 'not paused; nothing to do',
  );
}

/** Sums the day counters whose `decision:reason:action` key matches. */
function sum(counts: Record<string, number>, match: (decision: string, reason: string, action: string) => boolean): number {
  let n = 0;
  for (const [k, v] of Object.entries(counts)) {
    const [decision, reason, action] = k.split(':');
    if (match(decision, reason, action)) n += v;
  }
  return n;
}

async function dlqDepth(ctx: CliContext): Promise<{ depth: number | null; note: string | null }> {
  const url = ctx.dlqUrl;
  if (!url) return { depth: null, note: 'unknown (no --dlq-url / AUTO_REDRIVE_DLQ_URL)' };
  try {
    const out = await ctx.sqs().send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }));
    return { depth: Number(out.Attributes?.ApproximateNumberOfMessages ?? 0), note: null };
  } catch (e) {
    return { depth: null, note: `unknown (${describeError(e).message})` };
  }
}

/**
 * Held or pending failures skipped for a reason that may change, per (reason, state
 * machine): the drain decides them again once it does (lambda/reconsider-parked.ts).
 */
async function parkedFailures(ctx: CliContext): Promise<Array<{ reason: string; stateMachineArn: string; count: number }>> {
  const ledger = ctx.ledger();
  const families = await ledger.parked.families();
  const counted = await Promise.all(families.map(async (f) => ({ reason: f.reason, stateMachineArn: f.stateMachineArn, count: await ledger.heldCount(f.base) })));
  return counted.filter((f) => f.count > 0);
}

async function status(ctx: CliContext): Promise<void> {
  const now = Date.now();
  const store = new PolicyStore(ctx.dynamodb(), ctx.policyTable);
  const audit = ctx.audit();
  const [pauseState, policies, backlog, today, yesterday, dlq, held, parked, canaries] = await Promise.all([
    ctx.killSwitch().read(),
    store.list(),
    ctx.ledger().backlog(),
    audit.countsFor(now),
    audit.countsFor(now - DAY_MS),
    dlqDepth(ctx),
    activeBreakers(ctx),
    parkedFailures(ctx),
    canaryRecoveries(ctx, now),
  ]);
  const approvals = await approvalsForStatus(ctx, now);
  const awaitingTotal = approvals.reduce((n, a) => n + a.count, 0);
  const overBudget = await overBudgetStateMachines(ctx);
  const parkedTotal = parked.reduce((n, f) => n + f.count, 0);
  const parkedByReason = new Map<string, number>();
  for (const f of parked) parkedByReason.set(f.reason, (parkedByReason.get(f.reason) ?? 0) + f.count);
  const openBreakers = held.breakers.filter((b) => b.status === 'open');
  const counts: Record<string, number> = { ...yesterday.counts };
  for (const [k, v] of Object.entries(today.counts)) counts[k] = (counts[k] ?? 0) + v;
  const invalid = policies.filter((p) => p.issues.length > 0).length;
  const result = {
    paused: pauseState.paused,
    pause: pauseState.paused ? { reason: pauseState.reason ?? null, by: pauseState.by ?? null, since: isoTime(pauseState.at) } : null,
    policies: { count: policies.length, invalid },
    pendingRedrives: { count: backlog.count, oldestDueAt: isoTime(backlog.oldestDueAt) },
    breakers: held.breakers,
    held: { byBreakers: held.breakers.reduce((n, b) => n + b.held, 0), afterExhaustion: held.heldAfterExhaustion },
    parked: { count: parkedTotal, families: parked },
    awaitingApproval: { count: awaitingTotal, stateMachines: approvals },
    overBudget,
    lastDays: {
      days: [yesterday.day, today.day],
      redrives: sum(counts, (d, _r, a) => d === 'redrive' && a === 'redriven'),
      scheduled: sum(counts, (_d, _r, a) => a === 'scheduled'),
      deferred: sum(counts, (_d, _r, a) => a === 'deferred'),
      exhaustions: sum(counts, (d, r) => d === 'skip' && r === 'limit-reached'),
      skipped: sum(counts, (d) => d === 'skip'),
      counts,
    },
    dlq: { url: ctx.dlqUrl ?? null, depth: dlq.depth, note: dlq.note },
    canaries,
  };
  ctx.out.emit(result, () => {
    const top = keyValues([
      ['Paused', pauseState.paused ? `YES since ${isoTime(pauseState.at)} by ${pauseState.by ?? '?'}: ${pauseState.reason ?? ''}` : 'no'],
      ['Policies', `${policies.length}${invalid ? ` (${invalid} INVALID: redrivectl policy validate)` : ''}`],
      ['Pending redrives', `${backlog.count}${backlog.oldestDueAt !== null ? ` (oldest due ${isoTime(backlog.oldestDueAt)})` : ''}`],
      ['Open breakers', `${openBreakers.length}${held.breakers.length > openBreakers.length ? ` (+${held.breakers.length - openBreakers.length} releasing)` : ''}`],
      ['Held failures', `${result.held.byBreakers} by breakers, ${result.held.afterExhaustion} after exhaustion${result.held.afterExhaustion ? ' (redrivectl release)' : ''}`],
      [
        'Parked failures',
        parkedTotal === 0
          ? '0'
          : `${parkedTotal} (${[...parkedByReason].map(([r, n]) => `${r} ${n}`).join(', ')}): decided again when that changes (resume, policy fixed)`,
      ],
      ['Awaiting approval', awaitingTotal === 0 ? '0' : `${awaitingTotal} (redrivectl approve | reject; listed below)`],
      [`Redrives (${yesterday.day}..${today.day} UTC)`, result.lastDays.redrives],
      ['Exhaustions (limit reached)', result.lastDays.exhaustions],
      ['Scheduled / deferred', `${result.lastDays.scheduled} / ${result.lastDays.deferred}`],
      ['Skips', result.lastDays.skipped],
      ['DLQ depth', dlq.depth ?? dlq.note],
      ...canaryLines(canaries),
      ['At redrive budget', overBudget.held === 0 ? '0 state machines' : `${overBudget.stateMachines.length} state machine(s), ${overBudget.held} failure(s) held over budget`],
    ]);
    const rows = Object.entries(counts)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, n]) => {
        const [decision, reason, action] = key.split(':');
        return { decision, reason, action, n };
      });
    const breakersPart = held.breakers.length ? `${top}\n\nBreakers (held failures are released when a probe succeeds, or by redrivectl release):\n${breakersTable(held.breakers)}` : top;
    const withBreakerTable = approvals.length ? `${breakersPart}\n\nAwaiting approval (given up at the time shown unless approved or rejected):\n${approvalsTable(approvals)}` : breakersPart;
    const withBreakers = overBudget.stateMachines.length
      ? `${withBreakerTable}\n\nAt their redrive budget (held failures are released oldest first as it allows${overBudget.partial ? '; the first 10,000 listed' : ''}):\n${overBudgetTable(overBudget.stateMachines)}`
      : withBreakerTable;
    return rows.length === 0
      ? withBreakers
      : `${withBreakers}\n\nDecisions (UTC days ${yesterday.day} and ${today.day}):\n${table(rows, [
          { header: 'decision', value: (r) => r.decision },
          { header: 'reason', value: (r) => r.reason },
          { header: 'action', value: (r) => r.action },
          { header: 'count', value: (r) => r.n },
        ])}`;
  });
}

export function pauseCommands(): Command[] {
  const pauseCmd = new Command('pause')
    .description('turn the kill switch on: no path redrives until resume')
    .option('--reason <text>', 'why (shown by status)')
    .addHelpText('after', '\nExamples:\n  redrivectl pause --reason "payments API outage, INC-1234"\n  redrivectl status')
    .action(withContext(pause));
  const resumeCmd = new Command('resume')
    .description('turn the kill switch off')
    .addHelpText('after', '\nExamples:\n  redrivectl resume')
    .action(withContext(resume));
  const statusCmd = new Command('status')
    .description('one screen: kill switch, policies, pending redrives, open breakers and held failures, redrives and exhaustions of the last two UTC days, DLQ depth, each canary\'s last recovery')
    .addHelpText(
      'after',
      '\nCounts come from per-day counters (UTC), so "last days" means yesterday and today.\n\nExamples:\n  redrivectl status\n  redrivectl status -o json',
    )
    .action(withContext(status));
  return [pauseCmd, resumeCmd, statusCmd];
}

function approvalsTable(rows: Awaited<ReturnType<typeof approvalsForStatus>>): string {
  return table(rows, [
    { header: 'state machine', value: (r) => r.stateMachineArn },
    { header: 'awaiting', value: (r) => r.count },
    { header: 'oldest', value: (r) => r.oldest },
    { header: 'held since', value: (r) => r.oldestHeldSince },
    { header: 'given up at', value: (r) => r.oldestGivenUpAt },
  ]);
}
