/**
 * The seed story, run on the local stand-in with simulated time:
 *  1. orders-pipeline: a Lambda call fails with an explicit IAM deny (like the real
 *     fixtures). The controller redrives after backoff, the deny is still there and it
 *     fails again; then the IAM fix lands and the next redrive succeeds.
 *  2. invoice-render: fails with States.Runtime (bad input). A redrive reuses the same
 *     input, so the controller rightly does not redrive it.
 *  3. inventory-sync: a downstream that never recovers. Its redrives fail again with the
 *     same error, but one execution is not an outage (the breaker opens only on failed
 *     redrives of distinct executions), so it is redriven up to the policy's limit, with
 *     backoff, then reported as exhausted.
 */
import { CreateStateMachineCommand, DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { Outcome } from '../lambda/event-path';
import { drain } from '../lambda/scheduled-drain';
import { MemoryLog } from '../lambda/observability/telemetry';
import { startLocal, type LocalEnvironment } from './environment';
import { SimClock } from './sim-clock';
import type { StatusChangeEvent } from './sfn';

export const STORY_START = Date.UTC(2026, 10, 16, 6, 38, 0);
const DRAIN_EVERY_MS = 60_000;
const ACCOUNT = '123456789012';
const LAMBDA = (name: string) => `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${name}`;

export type TimelineEntry =
  | { readonly at: number; readonly kind: 'event'; readonly execution: string; readonly status: string; readonly redriveCount: number; readonly error: string | null }
  | { readonly at: number; readonly kind: 'decision'; readonly execution: string; readonly outcome: Outcome }
  | { readonly at: number; readonly kind: 'note'; readonly text: string };

export interface StoryExecution {
  readonly label: string;
  readonly executionArn: string;
  readonly finalStatus: string;
  readonly redriveCount: number;
}

export interface StoryResult {
  readonly timeline: TimelineEntry[];
  readonly executions: StoryExecution[];
  readonly ownerEvents: LocalEnvironment['notifier']['events'];
  readonly redriveCalls: number;
  readonly elapsedSimulatedMs: number;
}

const definition = (resource: string) =>
  JSON.stringify({ StartAt: 'Call', States: { Call: { Type: 'Task', Resource: resource, End: true } } });

export async function runStory(onEntry: (e: TimelineEntry) => void = () => undefined): Promise<StoryResult> {
  const clock = new SimClock(STORY_START);
  const timeline: TimelineEntry[] = [];
  const add = (e: TimelineEntry) => {
    timeline.push(e);
    onEntry(e);
  };
  const labels = new Map<string, string>();
  const label = (arn: string) => labels.get(arn) ?? arn;

  // The structured log lines are what CloudWatch would get; the timeline is built from
  // the audit trail below, which is what `redrivectl explain` reads.
  const log = new MemoryLog();
  const env = await startLocal({
    clock: clock.now,
    sleep: clock.sleep,
    log,
    standIn: { clock: clock.now },
  });
  try {
    // Record every Step Functions event, then hand it to the bus as the stand-in would.
    const originalPut = env.bus.put.bind(env.bus);
    env.bus.put = (event: unknown) => {
      const e = event as StatusChangeEvent;
      add({ at: clock.now(), kind: 'event', execution: label(e.detail.executionArn), status: e.detail.status, redriveCount: e.detail.redriveCount, error: e.detail.error });
      return originalPut(event);
    };

    await env.putPolicy({
      stateMachine: '*',
      description: 'Default: redrive transient failures up to 3 times, 60 s base backoff doubling, full jitter',
      maxRedrives: 3,
      intervalSeconds: 60,
      backoffRate: 2,
    });

    // 1. IAM deny, fixed after the first redrive has failed again.
    let iamFixed = false;
    env.standIn.setBehaviour(LAMBDA('orders-charge'), () =>
      iamFixed
        ? { ok: true }
        : {
            ok: false,
            error: 'Lambda.AWSLambdaException',
            cause: `User: arn:aws:sts::${ACCOUNT}:assumed-role/StepFunctions-orders-pipeline-role/session is not authorized to perform: lambda:InvokeFunction on resource: ${LAMBDA('orders-charge')} with an explicit deny in an identity-based policy (Service: AWSLambda; Status Code: 403; Error Code: AccessDeniedException)`,
          },
    );
    // 2. Bad input.
    env.standIn.setBehaviour(LAMBDA('invoice-render'), {
      kind: 'fail',
      error: 'States.Runtime',
      cause: "An error occurred while executing the state 'Call'. The JSONPath '$.customer.id' specified for the field 'customerId.$' could not be found in the input",
    });
    // 3. A downstream that stays down.
    env.standIn.setBehaviour(LAMBDA('inventory-sync'), { kind: 'fail', error: 'States.TaskFailed', cause: 'Inventory API returned 503 Service Unavailable' });

    const start = async (machine: string, resource: string, name: string) => {
      // Label first: the stand-in emits RUNNING before StartExecution returns.
      labels.set(`arn:aws:states:us-east-1:${ACCOUNT}:execution:${machine}:${name}`, `${machine}/${name}`);
      const sm = await env.sfn.send(
        new CreateStateMachineCommand({ name: machine, definition: definition(resource), roleArn: `arn:aws:iam::${ACCOUNT}:role/${machine}-role` }),
      );
      const ex = await env.sfn.send(new StartExecutionCommand({ stateMachineArn: sm.stateMachineArn!, name, input: JSON.stringify({ orderId: name }) }));
      return ex.executionArn!;
    };

    // Decisions, as they are recorded (event path and drain alike).
    env.deps.audit.observe((entry) => {
      if (entry.executionArn) {
        add({
          at: entry.at,
          kind: 'decision',
          execution: label(entry.executionArn),
          outcome: {
            decision: {
              decision: entry.decision,
              reason: entry.reason,
              detail: entry.detail,
              policyKey: entry.policyKey,
              redriveCount: entry.redriveCount,
              errorName: entry.errorName,
            } as Outcome['decision'],
            executionArn: entry.executionArn,
            eventId: entry.eventId,
            source: entry.source,
            action: entry.action,
            actionDetail: entry.actionDetail,
            dueAt: entry.dueAt,
          },
        });
      }
      if (entry.executionArn && label(entry.executionArn).startsWith('orders-pipeline') && entry.redriveCount === 1 && entry.status === 'FAILED' && !iamFixed) {
        iamFixed = true;
        add({ at: clock.now(), kind: 'note', text: 'IAM fix lands: the explicit deny on lambda:InvokeFunction is removed' });
      }
   });

    const arns = [
      await start('orders-pipeline', LAMBDA('orders-charge'), 'order-1001'),
      await start('invoice-render', LAMBDA('invoice-render'), 'invoice-2002'),
      await start('inventory-sync', LAMBDA('inventory-sync'), 'sync-3003'),
    ];
    await env.settle();

    // Time moves to each pending redrive's due time; the scheduled drain carries it out.
    // While a breaker is open, the drain runs every minute, as scheduled, until it closes.
    for (let tick = 0; tick < 100; tick++) {
      const { oldestDueAt } = await env.deps.ledger.backlog();
      const open = (await env.deps.breakers.active()).length > 0;
      if (oldestDueAt === null && !open) break;
      clock.advanceTo(oldestDueAt !== null && (!open || oldestDueAt < clock.now() + DRAIN_EVERY_MS) ? oldestDueAt : clock.now() + DRAIN_EVERY_MS);
      await drain(env.deps);
      await env.settle();
    }

    const executions: StoryExecution[] = [];
    for (const arn of arns) {
      const d = await env.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
      executions.push({ label: label(arn), executionArn: arn, finalStatus: d.status ?? '?', redriveCount: d.redriveCount ?? 0 });
    }
    return {
      timeline,
      executions,
      ownerEvents: env.notifier.events,
      redriveCalls: env.standIn.redrives.length,
      elapsedSimulatedMs: clock.now() - STORY_START,
    };
  } finally {
    await env.stop();
  }
}
