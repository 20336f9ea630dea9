/**
 * `redrivectl release`: a person releases held failures after a fix: one execution's, or
 * every held failure of a state machine (its open breakers stop holding, reason
 * released-by-hand, and failures held after exhaustion are included). Each one goes
 * through the controller's event path as source `release` (audit trail, metrics), under
 * the controller's RedriveExecution limiter item; a person's release is not stopped by
 * maxRedrives or by an open breaker. It is refused while the kill switch is on (it would
 * only record the held failures as paused skips); dry-run and disabled policies apply as to
 * every redrive, and park the failures until they change.
 */
import { Command } from 'commander';
import { isExecutionArn, isStateMachineArn } from '../../contract/arn';
import { groupLabel } from '../../contract/breaker';
import { AWAITING_APPROVAL } from '../../contract/approval';
import { DynamoRateLimiter } from '../../lambda/act/rate-limiter';
import { heldOfStateMachine, refuseWhilePaused, releaseExecutionByHand, ReleaseWhilePausedError, releaseStateMachineByHand } from '../../lambda/breaker/release';
import type { Outcome } from '../../lambda/event-path';
import { assertConfirmable, confirm } from '../confirm';
import { type CliContext, withContext } from '../context';
import type { Wired } from '../../lambda/wiring';
import { CliError, EXIT, failed, usage } from '../errors';
import { isoTime } from '../output';
import { outcomesTable, outcomeView, untilInterrupted } from '../outcomes';
import { cliRedriveRate } from '../redrive-rate';

interface ReleaseOptions {
  stateMachine?: string;
  rate?: string;
  yes?: boolean;
}

function summary(outcomes: readonly Outcome[]) {
  const redriven = outcomes.filter((o) => o.action === 'redriven').length;
  const scheduled = outcomes.filter((o) => o.action === 'scheduled').length;
  return { released: outcomes.length, redriven, scheduled, other: outcomes.length - redriven - scheduled };
}

async function release(ctx: CliContext, executionArn: string | undefined, options: ReleaseOptions): Promise<void> {
  if ((executionArn === undefined) === (options.stateMachine === undefined)) {
    throw usage('release: give one execution ARN, or --state-machine <arn> (not both)');
  }
  if (executionArn !== undefined && !isExecutionArn(executionArn)) {
    throw usage(`release: '${executionArn.slice(0, 300)}' is not a Step Functions execution ARN`);
  }
  if (options.stateMachine !== undefined && !isStateMachineArn(options.stateMachine)) {
    throw usage(`release: --state-machine '${options.stateMachine.slice(0, 300)}' is not a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>)`);
  }
  const { rate } = await cliRedriveRate(ctx, 'release', options.rate);
  assertConfirmable('release', options.yes);
  // The controller's own limiter item at this run's rate: one budget of RedriveExecution calls.
  const deps = ctx.wire({ redriveRate: new DynamoRateLimiter(ctx.doc(), ctx.ledgerTable, 'RedriveExecution', rate) });
  try {
    await releaseWith(ctx, deps, executionArn, rate, options);
  } catch (e) {
    // Checked before anything is shown or touched, and again by the library itself.
    if (e instanceof ReleaseWhilePausedError) {
      throw failed(`release: refused: ${e.message}. A release now would only record the held failures as paused skips; nothing was released and they stay held. Run redrivectl resume first, then release again.`);
    }
    throw e;
  }
}

async function releaseWith(ctx: CliContext, deps: Wired, executionArn: string | undefined, rate: number, options: ReleaseOptions): Promise<void> {
  await refuseWhilePaused(deps);

  if (executionArn !== undefined) {
    const all = (await deps.ledger.failuresOf(executionArn)).filter((f) => f.state === 'held');
    const held = all.filter((f) => f.reason !== AWAITING_APPROVAL);
    if (held.length === 0 && all.length > 0) throw failed(`release: ${executionArn} is held for approval: redrivectl approve ${executionArn} (or reject it)`);
    if (held.length === 0) throw failed(`release: ${executionArn} has no held failure (redrivectl explain shows its records)`);
    ctx.out.note(
      `held: ${held.map((f) => `failure ${f.redriveCount} (${f.reason}, ${f.errorName ?? 'no error'}, held since ${isoTime(f.heldAt ?? f.updatedAt)})`).join('; ')}`,
    );
    await confirm('release', `Release ${held.length} held failure(s) of ${executionArn} now (redrive at up to ${rate}/s)?`, options.yes);
    const outcomes = await releaseExecutionByHand(executionArn, deps);
    ctx.out.emit({ executionArn, rate, summary: summary(outcomes), outcomes: outcomes.map(outcomeView) }, () => outcomesTable(outcomes));
    return;
  }

  const sm = options.stateMachine!;
  const plan = await heldOfStateMachine(sm, deps);
  const total = plan.groups.reduce((n, g) => n + g.held, 0) + plan.exhausted;
  if (total === 0 && plan.groups.length === 0) {
    ctx.out.emit({ stateMachine: sm, rate, applied: false, summary: summary([]), outcomes: [] }, () => `nothing held for ${sm}`);
    return;
  }
  ctx.out.note(
    [
      ...plan.groups.map((g) => `breaker ${groupLabel(g.group)}: ${g.status}, ${g.held} held${g.status === 'open' ? ' (it stops holding: released by hand)' : ''}`),
      `held after exhaustion: ${plan.exhausted}`,
    ].join('\n'),
  );
  await confirm('release', `Release ${total} held failure(s) of ${sm} now (redrive at up to ${rate}/s)?`, options.yes);

  let done = 0;
  let lastLine = Date.now();
  const { outcomes, stopped } = await untilInterrupted('release', async (stopping) => ({
    outcomes: await releaseStateMachineByHand(sm, deps, {
      concurrency: Math.min(64, Math.max(4, Math.ceil(rate / 5))),
      shouldStop: stopping,
      onOutcome: () => {
        done++;
        if (Date.now() - lastLine >= 1000) {
          lastLine = Date.now();
          process.stderr.write(`release: ${done}/${total}\n`);
        }
      },
    }),
    stopped: stopping(),
  }));
  ctx.out.emit({ stateMachine: sm, rate, applied: true, stopped, summary: summary(outcomes), outcomes: outcomes.map(outcomeView) }, () => {
    const s = summary(outcomes);
    return [outcomes.length ? outcomesTable(outcomes) : 'nothing was released', '', `done: ${s.released} released, ${s.redriven} redriven, ${s.scheduled} scheduled, ${s.other} other`].join('\n');
  });
  if (stopped) throw new CliError(`release: interrupted after ${done} failure(s); run the same command again to continue, nothing is redriven twice`, EXIT.interrupted);
}

export function releaseCommand(): Command {
  return new Command('release')
    .description('release held failures (breaker holds and holds after exhaustion): back to their policy through the controller (now, or when their backoff ends), with audit trail')
    .argument('[executionArn]', 'one execution whose held failure to release')
    .option('--state-machine <arn>', "every held failure of this state machine (its open breakers stop holding)")
    .option('--rate <n>', "redrives per second, shared with the controller's limiter (default and maximum: the controller's deployed rate)")
    .option('--yes', 'do not ask for confirmation (required when stdin is not a terminal)')
    .addHelpText(
      'after',
      `
A person's release is not stopped by maxRedrives or by an open breaker. Within maxRedrives
each failure goes back to its policy: redriven now if its own backoff has passed, scheduled
for then otherwise; past maxRedrives the release is the redrive. While the kill
switch is on (redrivectl pause) it is refused (redrivectl resume first); a dry-run or
disabled policy still applies: such failures are parked and decided again by the drain
once the policy changes (redrivectl status counts them). Every release is in the audit trail
(source release): redrivectl explain <executionArn>.

Examples:
  redrivectl status                      # open breakers and held failures
  redrivectl release arn:aws:states:us-east-1:123456789012:execution:orders:run-42
  redrivectl release --state-machine arn:aws:states:us-east-1:123456789012:stateMachine:orders --yes`,
    )
    .action(withContext(release));
}
