/**
 * `redrivectl what-if [--since 14d] [--policies file.json] [--state-machine ARN]`: what
 * auto-redrive would do with the failures of the last days, with the current policies or
 * a proposed file, deciding each with the controller's own event path and writing
 * nothing. Paced under the account's Step Functions quotas; resumes when interrupted.
 * The parts: cli/what-if/ (quota, lister, describer, planner, report, checkpoint).
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { isStateMachineArn } from '../../contract/arn';
import { DEFAULTS } from '../../lambda/config';
import type { ControllerDeps } from '../../lambda/event-path';
import { type CliContext, withContext } from '../context';
import { CliError, EXIT, usage } from '../errors';
import { isoTime } from '../output';
import { parseSince } from './backfill';
import { Checkpoint, type CheckpointArgs, checkpointKey, defaultCheckpointFile } from '../what-if/checkpoint';
import { Describer } from '../what-if/describer';
import { Lister } from '../what-if/lister';
import { fixedPolicySource, Planner, proposedSnapshot, readProposedPolicies, undeployedDeps, type Verdict, wouldRedrive } from '../what-if/planner';
import { DEFAULT_RATES, pacedClient, type Rates } from '../what-if/quota';
import { SdkStepFunctions } from '../../lambda/act/step-functions';
import { type MachineSummary, renderTable, summarize, totalsOf } from '../what-if/report';

interface WhatIfOptions {
  since: string;
  policies?: string;
  stateMachine?: string;
  maxRunHours?: string;
  describeRate?: string;
  listRate?: string;
  historyRate?: string;
  stateFile?: string;
  restart?: boolean;
}

function positive(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!(Number.isFinite(n) && n > 0)) throw usage(`what-if: ${flag} '${value}' must be a number above 0`);
  return n;
}

/** Both tables known (flags, --local, environment or --stack): the deployed controller's facts can be read. */
function tablesKnown(ctx: CliContext): boolean {
  try {
    return Boolean(ctx.policyTable && ctx.ledgerTable);
  } catch {
    return false;
  }
}

/** Progress on a terminal only: state machines done, failures decided. */
class Progress {
  private readonly bar: SingleBar | undefined;
  private readonly counts = { failures: 0, redrive: 0, described: 0 };

  constructor(total: number) {
    if (!process.stderr.isTTY) return;
    this.bar = new SingleBar({
      format: 'what-if |{bar}| {value}/{total} state machines | {failures} failures, {redrive} would redrive | {described} described',
      stream: process.stderr,
      hideCursor: true,
    });
    this.bar.start(Math.max(total, 1), 0, this.counts);
  }

  decided(v: Verdict, described: number): void {
    this.counts.failures++;
    if (wouldRedrive(v)) this.counts.redrive++;
    this.counts.described = described;
    this.bar?.update(this.counts);
  }

  machineDone(): void {
    this.bar?.increment(1, this.counts);
  }

  stop(): void {
    this.bar?.stop();
  }
}

async function whatIf(ctx: CliContext, options: WhatIfOptions): Promise<void> {
  const rates: Rates = {
    describe: positive('--describe-rate', options.describeRate, DEFAULT_RATES.describe),
    list: positive('--list-rate', options.listRate, DEFAULT_RATES.list),
    history: positive('--history-rate', options.historyRate, DEFAULT_RATES.history),
  };
  const maxRunHours = positive('--max-run-hours', options.maxRunHours, DEFAULTS.reconcileMaxRunHours);
  if (options.stateMachine !== undefined && !isStateMachineArn(options.stateMachine)) {
    throw usage(`what-if: --state-machine '${options.stateMachine.slice(0, 300)}' is not a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>)`);
  }
  const proposed = options.policies ? readProposedPolicies(options.policies) : undefined;
  const deployed = tablesKnown(ctx);
  // Without a proposal the stored policies are the question: ask for the table (usage error).
  const policySource = proposed ? `proposed ${options.policies}` : `table ${ctx.policyTable}`;

  const paced = pacedClient(rates);
  const region = await paced.client.config.region();
  const args: CheckpointArgs = {
    since: options.since,
    stateMachine: options.stateMachine ?? null,
    policies: proposed
      ? // The proposal as read (parsed once; `--policies -` cannot be read twice).
        `${path.resolve(options.policies!)}#${createHash('sha256').update(JSON.stringify([...proposed])).digest('hex')}`
      : policySource,
    // Region, endpoint and profile (an account's run is not resumed with another's checkpoint).
    target: `${region} ${process.env.AWS_ENDPOINT_URL_SFN ?? process.env.AWS_ENDPOINT_URL ?? ''} ${process.env.AWS_PROFILE ?? ''}`,
    maxRunHours,
  };
  const key = checkpointKey(args);
  const file = options.stateFile ?? defaultCheckpointFile(key);
  const started = Date.now();
  const checkpoint = Checkpoint.open(file, key, { now: started, since: parseSince(options.since, started, 'what-if') }, { restart: options.restart, note: (l) => ctx.out.note(`what-if: ${l}`) });
  const { now, since } = checkpoint;
  const resumed = checkpoint.resumed ? { from: file, startedAt: isoTime(now), stateMachines: checkpoint.finishedCount(), executions: checkpoint.describedCount() } : null;
  if (resumed) {
    ctx.out.note(`what-if: resuming the run started ${resumed.startedAt} (${file}): ${resumed.stateMachines} state machine(s) finished, ${resumed.executions} execution(s) described; --restart starts over`);
  }

  let deps: ControllerDeps;
  if (deployed) {
    const wired = ctx.wire();
    const pause = proposed ? await ctx.killSwitch().read() : undefined;
    deps = { ...wired, clock: () => now, ...(proposed ? { policies: fixedPolicySource(proposedSnapshot(proposed, pause!, now)) } : {}) };
  } else {
    deps = undeployedDeps(fixedPolicySource(proposedSnapshot(proposed!, { paused: false }, now)), now, { log: ctx.log, metrics: ctx.metrics, config: { ...DEFAULTS, policyTableName: '', ledgerTableName: '', eventBusName: undefined } });
  }
  // A state-scoped policy's failed state is read from the history through the paced client
  // (its own GetExecutionHistory rate, on the real clock), not the controller's rate item:
  // what-if writes nothing, and its clock stands still at the run's start.
  deps = { ...deps, stepFunctions: new SdkStepFunctions(paced.client), historyRate: undefined };
  const planner = new Planner(deps, now);
  const lister = new Lister(paced.client, maxRunHours * 3_600_000);
  const describer = new Describer(paced.client, checkpoint);

  // Ctrl-C: save the checkpoint after the failure in flight; a second Ctrl-C saves and quits at once.
  let stopping = false;
  const onSigint = () => {
    if (stopping) {
      checkpoint.save();
      process.exit(EXIT.interrupted);
    }
    stopping = true;
    ctx.out.note('\nwhat-if: stopping after the failure in flight (Ctrl-C again to quit at once)');
  };
  process.on('SIGINT', onSigint);
  const summaries: MachineSummary[] = [];
  const verdicts: Verdict[] = [];
  let vanished = 0;
  let progress: Progress | undefined;
  try {
    const machines = await lister.stateMachines(options.stateMachine);
    progress = new Progress(machines.length);
    for (const arn of machines) {
      if (stopping) break;
      const mine: Verdict[] = [];
      let stateCount = checkpoint.stateCountOf(arn);
      if (stateCount !== undefined) {
        // Finished by the interrupted run: decided again from its descriptions, no calls.
        for (const d of checkpoint.describedOf(arn)) mine.push(await planner.verdict(d));
      } else {
        const count = await lister.stateCount(arn).catch(notFound(arn, options.stateMachine !== undefined));
        // Deleted since it was listed: nothing to decide.
        if (count === undefined) continue;
        stateCount = count;
        for await (const listed of lister.failures(arn, since)) {
          if (stopping) break;
          const d = await describer.describe(listed.executionArn);
          if (!d) {
            vanished++;
            continue;
          }
          const v = await planner.verdict(d);
          mine.push(v);
          progress.decided(v, paced.calls.DescribeExecution);
        }
        if (stopping) break;
        checkpoint.finish(arn, stateCount);
      }
      progress.machineDone();
      verdicts.push(...mine);
      summaries.push(summarize(arn, stateCount, mine));
    }
  } finally {
    progress?.stop();
    process.off('SIGINT', onSigint);
    checkpoint.save();
  }
  if (stopping) {
    throw new CliError(
      `what-if: interrupted after ${checkpoint.finishedCount()} state machine(s) and ${checkpoint.describedCount()} described execution(s); run the same command again to continue (${file})`,
      EXIT.interrupted,
    );
  }
  checkpoint.remove();

  const totals = totalsOf(summaries);
  const notes = [
    ...(resumed ? [`resumed from ${file}: ${describer.reused} execution(s) not described again`] : []),
    ...(vanished ? [`${vanished} listed execution(s) no longer exist`] : []),
    `calls: ${paced.calls.ListExecutions} ListExecutions, ${paced.calls.DescribeExecution} DescribeExecution (at most ${rates.list}/s and ${rates.describe}/s)${sumThrottles(paced.throttles) ? `, ${sumThrottles(paced.throttles)} throttled and retried` : ''}`,
  ];
  ctx.out.emit(
    {
      since: isoTime(since),
      now: isoTime(now),
      policySource,
      stateMachine: options.stateMachine ?? null,
      resumed,
      rates,
      calls: paced.calls,
      throttles: paced.throttles,
      vanished,
      stateMachines: summaries,
      totals,
      executions: verdicts.map((v) => ({ ...v, stopDate: isoTime(v.stopDate) })),
    },
    () => renderTable({ since, now, policySource }, summaries, totals, notes),
  );
}

const sumThrottles = (t: Record<string, number>) => Object.values(t).reduce((a, b) => a + b, 0);

/** A state machine that does not exist: the one given is a usage error; a listed one was deleted since (undefined). */
const notFound = (arn: string, given: boolean) => (e: unknown): undefined => {
  if ((e as { name?: string }).name !== 'StateMachineDoesNotExist') throw e;
  if (given) throw usage(`what-if: --state-machine ${arn}: no such state machine`);
  return undefined;
};

export function whatIfCommand(): Command {
  return new Command('what-if')
    .description('show what auto-redrive would do with the recent failures (current policies or a proposed file); writes nothing')
    .option('--since <when>', 'failures that stopped since: a duration (6h, 14d, 2w) or an ISO date', '14d')
    .option('--policies <file>', 'proposed policies (one item or an array, as policy put --from-file) instead of the policy table')
    .option('--state-machine <arn>', 'only this state machine (default: every Standard state machine you can list)')
    .option('--max-run-hours <n>', `list executions started up to this long before the window (default: the sweep's ${DEFAULTS.reconcileMaxRunHours})`)
    .option('--describe-rate <n>', `DescribeExecution calls per second (default ${DEFAULT_RATES.describe})`)
    .option('--list-rate <n>', `ListExecutions, ListStateMachines and DescribeStateMachine calls per second, each (default ${DEFAULT_RATES.list})`)
    .option('--history-rate <n>', `GetExecutionHistory calls per second, for state-scoped policies (default ${DEFAULT_RATES.history})`)
    .option('--state-file <file>', 'checkpoint file (default: one per arguments under the OS temp dir)')
    .option('--restart', 'ignore the checkpoint of an interrupted run and start over')
    .addHelpText(
      'after',
      `
Every FAILED, TIMED_OUT and ABORTED execution that stopped in the window is described
and decided with the controller's own event path, as if its event arrived now: the
policy that matches it, the ledger's history of it and the kill switch (when the tables
are known: --stack, --local, flags), the breaker's current state. Without tables, a
proposed file is judged alone. Nothing is written. Ctrl-C (or a crash) keeps what was
described; the same command again continues. Details: docs/cli.md#what-if.

Examples:
  redrivectl what-if
  redrivectl what-if --since 7d --policies proposed.json -o json
  redrivectl --local what-if --state-machine arn:aws:states:us-east-1:123456789012:stateMachine:orders`,
    )
    .action(withContext((ctx, options: WhatIfOptions) => whatIf(ctx, options)));
}
