/**
 * `npm start -- --story canary`: the canary (contract/canary.ts) on the local stand-in,
 * with simulated time. The construct's pieces are done by hand here: the canary's state
 * machine from canaryDefinition(), its managed policy item written the way the RedrivePolicy
 * custom resource writes it (lambda/policy/managed-policy.ts), and one run started as the
 * schedule would. Then the same controller and drain as every other execution: the first run
 * fails with Sfn.InvalidArnException, the policy redrives it after its backoff, the redriven
 * run succeeds, and the controller records the recovery (metrics and the status item).
 */
import { CreateStateMachineCommand, DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { CANARY_ERROR, CANARY_POLICY, CANARY_STATUS_PK, canaryDefinition, canaryStateMachineName, canaryStatusSk } from '../contract/canary';
import { METRIC } from '../contract/metrics';
import { managedByValue } from '../contract/policy-resource';
import type { Outcome } from '../lambda/event-path';
import { MemoryLog } from '../lambda/observability/telemetry';
import { applyPolicyResource } from '../lambda/policy/managed-policy';
import type { CanaryStatusItem } from '../lambda/record/canary-status';
import { drain } from '../lambda/scheduled-drain';
import { LOCAL_ACCOUNT, LOCAL_REGION, startLocal } from './environment';
import { SimClock } from './sim-clock';
import type { StatusChangeEvent } from './sfn';
import { STORY_START, type TimelineEntry } from './story';

const STACK = 'AutoRedriveLocal';
const ROLE = `arn:aws:iam::${LOCAL_ACCOUNT}:role/${STACK}-canary-role`;

export interface CanaryStoryResult {
  readonly timeline: TimelineEntry[];
  readonly executionArn: string;
  readonly finalStatus: string;
  readonly redriveCount: number;
  /** The first run's error (Sfn.InvalidArnException). */
  readonly firstError: string | null;
  readonly recoveries: number;
  readonly recoverySeconds: number[];
  /** Decisions and Redrives metrics the canary emitted (must be 0: not in the dashboard's totals). */
  readonly generalMetricPoints: number;
  readonly statusItem: CanaryStatusItem | undefined;
  readonly elapsedSimulatedMs: number;
}

export async function runCanaryStory(onEntry: (e: TimelineEntry) => void = () => undefined): Promise<CanaryStoryResult> {
  const clock = new SimClock(STORY_START);
  const timeline: TimelineEntry[] = [];
  const add = (e: TimelineEntry) => {
    timeline.push(e);
    onEntry(e);
  };
  const name = canaryStateMachineName(STACK);
  const log = new MemoryLog((line) => {
    if (line.message === 'canary recovered') {
      add({ at: clock.now(), kind: 'note', text: `controller: canary recovered in ${String(line.attributes.recoverySeconds)} s (CanaryRecoveries +1, status item updated)` });
    }
  });
  const env = await startLocal({ clock: clock.now, sleep: clock.sleep, log, standIn: { clock: clock.now } });
  try {
    const originalPut = env.bus.put.bind(env.bus);
    env.bus.put = (event: unknown) => {
      const e = event as StatusChangeEvent;
      add({ at: clock.now(), kind: 'event', execution: `${name}/${e.detail.name}`, status: e.detail.status, redriveCount: e.detail.redriveCount, error: e.detail.error });
      return originalPut(event);
    };
    env.deps.audit.observe((entry) => {
      if (!entry.executionArn) return;
      const decision = { decision: entry.decision, reason: entry.reason, detail: entry.detail, policyKey: entry.policyKey, redriveCount: entry.redriveCount, errorName: entry.errorName };
      const outcome = { decision: decision as Outcome['decision'], executionArn: entry.executionArn, eventId: entry.eventId, source: entry.source, action: entry.action, actionDetail: entry.actionDetail, dueAt: entry.dueAt };
      add({ at: entry.at, kind: 'decision', execution: `${name}/${entry.executionArn.split(':').pop()}`, outcome });
    });

    // The managed policy item, as the construct's RedrivePolicy custom resource writes it.
    await applyPolicyResource(
      {
        RequestType: 'Create',
        RequestId: 'local-canary-policy',
        LogicalResourceId: 'CanaryPolicy',
        ResourceProperties: { TableName: env.config.policyTableName, Policy: { ...CANARY_POLICY, managedBy: managedByValue(STACK, 'AutoRedrive/Canary/Policy') } },
      },
      { dynamodb: env.dynamodb, log: env.log, metrics: env.metrics, clock: clock.now },
    );
    env.deps.policies.invalidate();
    add({ at: clock.now(), kind: 'note', text: `managed policy ${CANARY_POLICY.stateMachine}: maxRedrives ${CANARY_POLICY.maxRedrives}, ${CANARY_POLICY.intervalSeconds} s, breaker off` });

    const sm = await env.sfn.send(new CreateStateMachineCommand({ name, definition: JSON.stringify(canaryDefinition()), roleArn: ROLE }));
    const runName = `run-${new Date(clock.now()).toISOString().slice(0, 13).replace(/[-T:]/g, '')}`;
    const { executionArn } = await env.sfn.send(new StartExecutionCommand({ stateMachineArn: sm.stateMachineArn!, name: runName }));
    await env.settle();
    const firstError = env.standIn.getExecution(executionArn!)?.error ?? null;

    // Time moves to the pending redrive's due time; the scheduled drain carries it out.
    for (let tick = 0; tick < 10; tick++) {
      const { oldestDueAt } = await env.deps.ledger.backlog();
      if (oldestDueAt === null) break;
      clock.advanceTo(oldestDueAt);
      await drain(env.deps);
      await env.settle();
    }

    const d = await env.sfn.send(new DescribeExecutionCommand({ executionArn }));
    const item = await env.deps.doc.send(
      new GetCommand({ TableName: env.config.ledgerTableName, Key: { pk: CANARY_STATUS_PK, sk: canaryStatusSk(LOCAL_ACCOUNT, LOCAL_REGION) }, ConsistentRead: true }),
    );
    return {
      timeline,
      executionArn: executionArn!,
      finalStatus: d.status ?? '?',
      redriveCount: d.redriveCount ?? 0,
      firstError,
      recoveries: env.metrics.sum(METRIC.canaryRecoveries, { Account: LOCAL_ACCOUNT, Region: LOCAL_REGION }),
      recoverySeconds: env.metrics.points.filter((p) => p.name === METRIC.canaryRecoverySeconds).map((p) => p.value),
      generalMetricPoints: env.metrics.points.filter((p) => p.name === METRIC.decisions || p.name === METRIC.redrives || p.name === METRIC.redrivesSucceeded).length,
      statusItem: item.Item as CanaryStatusItem | undefined,
      elapsedSimulatedMs: clock.now() - STORY_START,
    };
  } finally {
    await env.stop();
  }
}

/** What did not happen as it should (empty: the story ended as expected). */
export function canaryStoryProblems(r: CanaryStoryResult): string[] {
  const problems: string[] = [];
  if (r.firstError !== CANARY_ERROR) problems.push(`first run ended with ${r.firstError ?? 'no error'}, not ${CANARY_ERROR}`);
  if (r.finalStatus !== 'SUCCEEDED' || r.redriveCount !== 1) problems.push(`canary ended ${r.finalStatus} after ${r.redriveCount} redrives, not SUCCEEDED after 1`);
  if (r.recoveries !== 1) problems.push(`CanaryRecoveries is ${r.recoveries}, not 1`);
  if (r.recoverySeconds.length !== 1) problems.push(`CanaryRecoverySeconds has ${r.recoverySeconds.length} data points, not 1`);
  if (r.generalMetricPoints !== 0) problems.push(`the canary emitted ${r.generalMetricPoints} Decisions/Redrives data points (it must stay out of the totals)`);
  if (!r.statusItem || r.statusItem.executionArn !== r.executionArn || r.statusItem.recoveries !== 1) problems.push('the status item does not hold this recovery');
  return problems;
}
