/**
 * `redrivectl dlq replay`: status-change events that could not be delivered or handled
 * (the stack's dead-letter queue) are fed through the controller's normal path with
 * source 'replay'. A message is deleted only after it was handled; whatever fails stays
 * in the queue for the next attempt.
 */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import { Command } from 'commander';
import { handleStatusChange, type Outcome, processStatusChange } from '../../lambda/event-path';
import { parseStatusChange } from '../../lambda/event/status-change';
import { type CliContext, withContext } from '../context';
import { describeError, failed, usage } from '../errors';
import { table } from '../output';

interface ReplayOptions {
  dryRun?: boolean;
  max?: string;
}

/** Long enough to handle a batch; a message we did not delete reappears after it. */
const VISIBILITY_SECONDS = 60;

interface MessageReport {
  readonly messageId: string;
  readonly eventId: string | null;
  readonly executionArn: string | null;
  readonly decision: string | null;
  readonly reason: string | null;
  readonly action: string | null;
  readonly detail: string | null;
  /** deleted | kept | would-delete | would-keep */
  readonly result: string;
  readonly error: string | null;
}

function fromOutcome(messageId: string, o: Outcome, result: string): MessageReport {
  return {
    messageId,
    eventId: o.eventId,
    executionArn: o.executionArn,
    decision: o.decision.decision,
    reason: o.decision.reason,
    action: o.action,
    detail: [o.decision.detail, o.actionDetail].filter(Boolean).join(' / '),
    result,
    error: null,
  };
}

function kept(messageId: string, error: string, eventId: string | null = null, executionArn: string | null = null): MessageReport {
  return { messageId, eventId, executionArn, decision: null, reason: null, action: null, detail: null, result: 'kept', error };
}

async function replay(ctx: CliContext, options: ReplayOptions): Promise<void> {
  const queueUrl = ctx.dlqUrl;
  if (!queueUrl) throw usage('dlq replay: no dead-letter queue: pass --dlq-url or set AUTO_REDRIVE_DLQ_URL (the stack output DeadLetterQueueUrl), or use --local');
  let max = Infinity;
  if (options.max !== undefined) {
    max = Number(options.max);
    if (!Number.isInteger(max) || max < 1) throw usage(`dlq replay: --max '${options.max}' must be a whole number of messages, 1 or more`);
  }
  const dryRun = options.dryRun ?? false;
  const sqs = ctx.sqs();
  const deps = ctx.wire();
  const reports: MessageReport[] = [];
  const seen = new Set<string>();
  const toRelease: string[] = [];

  while (reports.length < max) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, max - reports.length),
        VisibilityTimeout: VISIBILITY_SECONDS,
        WaitTimeSeconds: 1,
      }),
    );
    const messages = (out.Messages ?? []).filter((m: Message) => m.MessageId && !seen.has(m.MessageId));
    if (messages.length === 0) break;
    for (const m of messages) {
      const id = m.MessageId!;
      seen.add(id);
      const report = await handle(m, id);
      reports.push(report);
      if (report.result === 'deleted') {
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
      } else if (m.ReceiptHandle) {
        toRelease.push(m.ReceiptHandle);
      }
    }
  }
  // Messages we keep become visible again right away (for the next replay, or people).
  for (const handle of toRelease) {
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: handle, VisibilityTimeout: 0 })).catch(() => undefined);
  }

  async function handle(m: Message, id: string): Promise<MessageReport> {
    let body: unknown;
    try {
      body = JSON.parse(m.Body ?? '');
    } catch {
      return kept(id, 'the body is not JSON (not an EventBridge event)');
    }
    const parsed = parseStatusChange(body);
    if (!parsed.ok) {
      // Replaying cannot fix a malformed event; leave it for a person.
      return kept(id, `not a valid status-change event: ${parsed.error.problems.join('; ')}`, parsed.error.eventId ?? null);
    }
    try {
      if (dryRun) {
        const o = await processStatusChange(parsed.event, deps, { source: 'replay', decideOnly: true });
        return fromOutcome(id, o, 'would-delete');
      }
      const o = await handleStatusChange(body, deps, 'replay');
      return fromOutcome(id, o, 'deleted');
    } catch (e) {
      return kept(id, describeError(e).message, parsed.event.eventId, parsed.event.executionArn);
    }
  }

  const deleted = reports.filter((r) => r.result === 'deleted').length;
  const keptCount = reports.filter((r) => r.result === 'kept').length;
  const summary = dryRun
    ? `dry run: ${reports.length} message(s) read, ${reports.length - keptCount} replayable, ${keptCount} would stay in the queue; nothing changed`
    : `${reports.length} message(s) read, ${deleted} replayed and deleted, ${keptCount} kept in the queue`;
  ctx.out.emit({ queueUrl, dryRun, read: reports.length, deleted, kept: keptCount, messages: reports }, () =>
    [
      reports.length === 0
        ? 'the dead-letter queue is empty'
        : table(reports, [
            { header: 'message', value: (r) => r.messageId },
            { header: 'execution', value: (r) => r.executionArn },
            { header: 'decision', value: (r) => r.decision },
            { header: 'reason', value: (r) => r.reason },
            { header: 'action', value: (r) => r.action },
            { header: 'result', value: (r) => r.result },
            { header: 'detail', value: (r) => r.error ?? r.detail },
          ]),
      '',
      summary,
    ].join('\n'),
  );
  if (keptCount > 0 && !dryRun) throw failed(`dlq replay: ${keptCount} message(s) could not be replayed and stay in the queue (see above)`);
}

export function dlqCommand(): Command {
  const dlq = new Command('dlq').description('the dead-letter queue of undeliverable or unhandled status-change events');
  dlq
    .command('replay')
    .description('feed the queued events through the controller (source replay); delete each message once handled')
    .option('--dry-run', 'decide only: nothing is redriven, recorded or deleted')
    .option('--max <n>', 'replay at most this many messages (default: until the queue is empty)')
    .addHelpText(
      'after',
      `
Each message body is the EventBridge event. A message that is not a valid status-change
event, or whose handling fails, stays in the queue and is reported (exit 1).
Messages are hidden from other readers for ${VISIBILITY_SECONDS}s while being replayed.

Examples:
  redrivectl dlq replay --dry-run
  redrivectl dlq replay --max 100 -o json
  redrivectl --local dlq replay`,
    )
    .action(withContext((ctx, options: ReplayOptions) => replay(ctx, options)));
  return dlq;
}
