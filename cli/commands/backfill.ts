/**
 * `redrivectl backfill`: the controller's reconciliation sweep (lambda/reconcile.ts),
 * narrowed to some state machines and a time window and run by a person, e.g. after
 * adding a policy for failures that happened before it existed. Every failure goes
 * through the same decide() and the same ledger claims as events, so a rerun (or the
 * controller running at the same time) never redrives a failure twice.
 */
import { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import type { Outcome } from '../../lambda/event-path';
import { DynamoRateLimiter } from '../../lambda/act/rate-limiter';
import type { ListedExecution, StepFunctionsGateway } from '../../lambda/act/step-functions';
import type { ExecutionStatus } from '../../lambda/event/status-change';
import { resolvePolicy } from '../../lambda/policy/policy-source';
import { sweep, watchedStateMachines, type SweepReport } from '../../lambda/reconcile';
import type { Wired } from '../../lambda/wiring';
import { DEFAULT_WATCHED_STATUSES } from '../../contract/event-pattern';
import { assertConfirmable, confirm } from '../confirm';
import { type CliContext, withContext } from '../context';
import { CliError, EXIT, usage } from '../errors';
import { cliRedriveRate } from '../redrive-rate';
import { isoTime, table } from '../output';
import { policyKeyProblem } from '../../contract/policy-key';

interface BackfillOptions {
  stateMachine: string;
  since: string;
  dryRun?: boolean;
  rate?: string;
  yes?: boolean;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export function parseSince(since: string, now: number, command = 'backfill'): number {
  const m = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(since.trim());
  let at: number;
  if (m) at = now - Number(m[1]) * UNIT_MS[m[2]];
  else if (/^\d{4}-\d{2}-\d{2}/.test(since)) at = Date.parse(since);
  else at = NaN;
  if (!Number.isFinite(at)) throw usage(`${command}: --since '${since}' is neither a duration (30m, 6h, 2d) nor an ISO date (2024-03-01 or 2024-03-01T12:00:00Z)`);
  if (at > now) throw usage(`${command}: --since '${since}' is in the future`);
  return at;
}

/** The gateway, counting the failures the sweep lists (progress). */
class CountingGateway implements StepFunctionsGateway {
  listed = 0;
  constructor(
    private readonly inner: StepFunctionsGateway,
    private readonly onListed: () => void,
  ) {}
  redrive(executionArn: string, clientToken: string) {
    return this.inner.redrive(executionArn, clientToken);
  }
  describe(executionArn: string) {
    return this.inner.describe(executionArn);
  }
  async *listStopped(stateMachineArn: string, status: ExecutionStatus, since: number): AsyncIterable<ListedExecution> {
    for await (const e of this.inner.listStopped(stateMachineArn, status, since)) {
      this.listed++;
      this.onListed();
      yield e;
    }
  }
  listStateMachines() {
    return this.inner.listStateMachines();
  }
}

/** How many failures the sweep will list: ListExecutions only, no DescribeExecution. */
async function countFailures(deps: Wired, stateMachine: string, since: number): Promise<{ machines: number; failures: number }> {
  const snapshot = await deps.policies.snapshot(deps.clock());
  const machines = await watchedStateMachines(snapshot, deps, stateMachine);
  let failures = 0;
  for (const arn of machines) {
    const resolution = resolvePolicy(snapshot, arn);
    const statuses = resolution.kind === 'found' ? resolution.policy.statuses : DEFAULT_WATCHED_STATUSES;
    for (const status of statuses) {
      const listing = deps.stepFunctions.listStopped(arn, status, since)[Symbol.asyncIterator]();
      while (!(await listing.next()).done) failures++;
    }
  }
  return { machines: machines.length, failures };
}

interface Tally {
  redriven: number;
  scheduled: number;
  deferred: number;
  skipped: number;
  other: number;
}

function tally(outcomes: readonly Outcome[], dryRun: boolean): Tally & { byReason: Record<string, number> } {
  const t = { redriven: 0, scheduled: 0, deferred: 0, skipped: 0, other: 0, byReason: {} as Record<string, number> };
  for (const o of outcomes) {
    const key = `${o.decision.decision}:${o.decision.reason}`;
    t.byReason[key] = (t.byReason[key] ?? 0) + 1;
    if (dryRun) {
      if (o.decision.decision === 'redrive') t.redriven++;
      else if (o.decision.decision === 'redrive-later') t.scheduled++;
      else t.skipped++;
      continue;
    }
    if (o.action === 'redriven') t.redriven++;
    else if (o.action === 'scheduled') t.scheduled++;
    else if (o.action === 'deferred') t.deferred++;
    else if (o.action === 'skipped' || o.action === 'dry-run') t.skipped++;
    else t.other++;
  }
  return t;
}

function outcomeView(o: Outcome) {
  return {
    executionArn: o.executionArn,
    redriveCount: o.decision.redriveCount,
    decision: o.decision.decision,
    reason: o.decision.reason,
    policyKey: o.decision.policyKey,
    action: o.action,
    dueAt: isoTime(o.dueAt ?? (o.decision.decision === 'redrive-later' ? o.decision.dueAt : undefined)),
    detail: [o.decision.detail, o.actionDetail].filter(Boolean).join(' / '),
    unchanged: o.unchanged ?? false,
  };
}

function outcomesTable(outcomes: readonly Outcome[], dryRun: boolean): string {
  const rows = outcomes.map(outcomeView);
  return table(rows, [
    { header: 'execution', value: (r) => r.executionArn },
    { header: 'count', value: (r) => r.redriveCount },
    { header: 'decision', value: (r) => r.decision },
    { header: 'reason', value: (r) => r.reason },
    ...(dryRun ? [] : [{ header: 'action', value: (r: ReturnType<typeof outcomeView>) => r.action }]),
    { header: 'due', value: (r) => r.dueAt },
    { header: 'detail', value: (r) => r.detail },
  ]);
}

function summaryLine(report: SweepReport, t: Tally, dryRun: boolean): string {
  const verb = dryRun
    ? `would redrive ${t.redriven} now, schedule ${t.scheduled}, skip ${t.skipped}`
    : `redriven ${t.redriven}, scheduled ${t.scheduled}, deferred ${t.deferred}, skipped ${t.skipped}${t.other ? `, other ${t.other}` : ''}`;
  return `${report.stateMachines} state machine(s), ${report.listed} failure(s) listed, ${report.considered} to decide (${report.listed - report.considered} already handled): ${verb}`;
}

/** Progress on stderr: a bar on a terminal, a plain line at most once a second otherwise. */
class Progress {
  private bar: SingleBar | undefined;
  private lastLine = 0;
  private readonly started = Date.now();
  private examined = 0;
  private readonly counts = { redriven: 0, scheduled: 0, skipped: 0 };

  constructor(
    private readonly total: number,
    private readonly label: string,
    private readonly dryRun: boolean,
  ) {
    if (process.stderr.isTTY) {
      this.bar = new SingleBar({
        format: `${label} |{bar}| {value}/{total} failures | {redriven} ${dryRun ? 'to redrive' : 'redriven'}, {scheduled} ${dryRun ? 'to schedule' : 'scheduled'}, {skipped} skipped | {speed}/s | ETA {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
        etaBuffer: 20,
      });
      this.bar.start(Math.max(total, 1), 0, { ...this.counts, speed: '0.0' });
    }
  }

  listed(): void {
    this.examined++;
    this.update(false);
  }

  outcome(o: Outcome): void {
    const d = o.decision.decision;
    if (this.dryRun ? d === 'redrive' : o.action === 'redriven') this.counts.redriven++;
    else if (this.dryRun ? d === 'redrive-later' : o.action === 'scheduled') this.counts.scheduled++;
    else this.counts.skipped++;
    this.update(false);
  }

  private speed(): string {
    return (this.examined / Math.max((Date.now() - this.started) / 1000, 0.001)).toFixed(1);
  }

  private update(force: boolean): void {
    if (this.bar) {
      this.bar.setTotal(Math.max(this.total, this.examined, 1));
      this.bar.update(this.examined, { ...this.counts, speed: this.speed() });
      return;
    }
    const now = Date.now();
    if (!force && now - this.lastLine < 1000) return;
    this.lastLine = now;
    process.stderr.write(
      `${this.label}: ${this.examined}/${this.total} failures, ${this.counts.redriven} ${this.dryRun ? 'to redrive' : 'redriven'}, ${this.counts.scheduled} ${this.dryRun ? 'to schedule' : 'scheduled'}, ${this.counts.skipped} skipped, ${this.speed()}/s\n`,
    );
  }

  stop(): void {
    if (this.bar) this.bar.stop();
    else this.update(true);
  }
}

async function backfill(ctx: CliContext, options: BackfillOptions): Promise<void> {
  const now = Date.now();
  const keyProblem = policyKeyProblem(options.stateMachine);
  if (keyProblem) throw usage(`backfill: --state-machine: ${keyProblem}`);
  const since = parseSince(options.since, now);
  const { rate } = await cliRedriveRate(ctx, 'backfill', options.rate);
  const dryRun = options.dryRun ?? false;
  if (!dryRun) assertConfirmable('backfill', options.yes);

  // Ctrl-C: finish the failure in flight, report, exit 130. A second Ctrl-C exits at once.
  let stopping = false;
  const onSigint = () => {
    if (stopping) process.exit(EXIT.interrupted);
    stopping = true;
    process.stderr.write('\nbackfill: stopping after the failure in flight (Ctrl-C again to quit at once)\n');
  };
  process.on('SIGINT', onSigint);
  try {
    // The controller's own limiter item, at this run's rate: the backfill and the
    // controller share one budget of RedriveExecution calls.
    const base = ctx.wire({ redriveRate: new DynamoRateLimiter(ctx.doc(), ctx.ledgerTable, 'RedriveExecution', rate) });
    const { machines, failures } = await countFailures(base, options.stateMachine, since);
    const header = {
      stateMachine: options.stateMachine,
      since: isoTime(since),
      rate,
      dryRun,
    };
    if (machines === 0) {
      ctx.out.emit({ ...header, stopped: false, stateMachines: 0, listed: 0, considered: 0, summary: tally([], dryRun), outcomes: [] }, () =>
        `no state machine with a policy matches ${options.stateMachine}: nothing to backfill (add a policy first: redrivectl policy put)`,
      );
      return;
    }

    const runSweep = async (dry: boolean, label: string) => {
      const progress = new Progress(failures, label, dry);
      const counting = new CountingGateway(base.stepFunctions, () => progress.listed());
      const deps: Wired = { ...base, stepFunctions: counting };
      try {
        return await sweep(deps, {
          since,
          stateMachine: options.stateMachine,
          source: 'backfill',
          dryRun: dry,
          onOutcome: (o) => progress.outcome(o),
          shouldStop: () => stopping,
        });
      } finally {
        progress.stop();
      }
    };

    if (!dryRun && !options.yes) {
      // Show the plan, then ask. (With --yes the plan is not computed separately: it
      // would cost one DescribeExecution per failure, at the controller's shared rate.)
      const plan = await runSweep(true, 'planning');
      if (stopping) throw new CliError('backfill: interrupted while planning; nothing was changed', EXIT.interrupted);
      const t = tally(plan.outcomes, true);
      ctx.out.note(`plan: ${summaryLine(plan, t, true)}`);
      if (t.redriven + t.scheduled === 0) {
        ctx.out.emit({ ...header, stopped: false, ...counts(plan), summary: t, outcomes: plan.outcomes.map(outcomeView), applied: false }, () =>
          plan.outcomes.length ? outcomesTable(plan.outcomes, true) : 'nothing to backfill',
        );
        return;
      }
      await confirm('backfill', `Redrive ${t.redriven} now and schedule ${t.scheduled} at up to ${rate}/s?`, options.yes);
    }

    const report = await runSweep(dryRun, dryRun ? 'dry run' : 'backfill');
    const t = tally(report.outcomes, dryRun);
    ctx.out.emit({ ...header, stopped: report.stopped || stopping, ...counts(report), summary: t, outcomes: report.outcomes.map(outcomeView) }, () =>
      [
        report.outcomes.length ? outcomesTable(report.outcomes, dryRun) : 'no failures to decide',
        '',
        `${dryRun ? 'dry run (nothing changed)' : 'done'}: ${summaryLine(report, t, dryRun)}`,
      ].join('\n'),
    );
    if (report.stopped || stopping) {
      throw new CliError(
        `backfill: interrupted after ${report.outcomes.length} failure(s) (${t.redriven} ${dryRun ? 'to redrive' : 'redriven'}); run the same command again to continue, nothing is redriven twice`,
        EXIT.interrupted,
      );
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
}

function counts(r: SweepReport) {
  return { stateMachines: r.stateMachines, listed: r.listed, considered: r.considered };
}

export function backfillCommand(): Command {
  return new Command('backfill')
    .description("decide (and redrive) failures from a time window that the controller did not handle, e.g. from before a policy existed")
    .requiredOption('--state-machine <arn|pattern>', "state machine ARN, or a pattern with * ('*' for every machine with a policy)")
    .requiredOption('--since <when>', 'failures that stopped since: a duration (30m, 6h, 2d, 1w) or an ISO date')
    .option('--dry-run', 'decide and print the plan; change nothing')
    .option('--rate <n>', "redrives per second, shared with the controller's limiter (default and maximum: the controller's deployed rate)")
    .option('--yes', 'do not show the plan and ask; go ahead (required when stdin is not a terminal)')
    .addHelpText(
      'after',
      `
Only state machines that have a policy are considered, with the policy that governs
them (a failure the policy does not cover is skipped and reported). Failures the ledger
already knows are left alone unless they were skipped for a reason that has changed
(no-policy, policy-disabled, policy-invalid, paused, dry-run). Redrives use the ledger's
claims and deterministic client tokens, so running backfill twice, or while the
controller runs, never redrives one failure twice. Ctrl-C stops after the failure in
flight and prints what was done (exit 130); run the same command again to continue.
Redrives are possible for 14 days after an execution stopped.

Examples:
  redrivectl backfill --state-machine 'arn:aws:states:us-east-1:123456789012:stateMachine:orders-*' --since 6h --dry-run
  redrivectl backfill --state-machine arn:aws:states:us-east-1:123456789012:stateMachine:orders --since 2024-03-01 --rate 5
  redrivectl backfill --state-machine '*' --since 2d --yes -o json`,
    )
    .action(withContext((ctx, options: BackfillOptions) => backfill(ctx, options)));
}
