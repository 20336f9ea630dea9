/** Canary recoveries: the status item (one UpdateItem, on dynalite), the metrics, and the canary's metrics filter. */
import { CANARY_STATUS_PK, canaryStateMachineName, canaryStatusSk } from '../../../contract/canary';
import { METRIC } from '../../../contract/metrics';
import { InMemoryMetrics, MemoryLog } from '../../../lambda/observability/telemetry';
import { canaryMetrics, CanaryStatusStore, recordCanaryRecovery } from '../../../lambda/record/canary-status';
import type { FailureRecord } from '../../../lambda/record/failure-ledger';
import { useLedgerTable } from '../../support/dynalite';
import { fixtureEvent, T0 } from '../helpers';

const table = useLedgerTable();
const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const SM = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${canaryStateMachineName('payments')}`;
const execution = (run: string) => `arn:aws:states:${REGION}:${ACCOUNT}:execution:${canaryStateMachineName('payments')}:${run}`;
const KEY = { pk: CANARY_STATUS_PK, sk: canaryStatusSk(ACCOUNT, REGION) };

/** A canary's SUCCEEDED event after `redriveCount` redrives, stopped at `stopDate`. */
const succeeded = (run: string, stopDate: number, redriveCount = 1) =>
  fixtureEvent('succeeded3', { account: ACCOUNT, region: REGION, stateMachineArn: SM, executionArn: execution(run), redriveCount, stopDate, eventTime: stopDate });

function harness(failureStopDates: Record<string, number> = {}) {
  const metrics = new InMemoryMetrics();
  const log = new MemoryLog();
  const reads: Array<[string, number]> = [];
  const ledger = {
    get: async (executionArn: string, redriveCount: number) => {
      reads.push([executionArn, redriveCount]);
      const stopDate = failureStopDates[executionArn];
      return stopDate === undefined ? undefined : ({ executionArn, redriveCount, stopDate } as FailureRecord);
    },
  };
  const deps = { ledger, canaryStatus: new CanaryStatusStore(table().doc, table().name), metrics, log, clock: () => T0 };
  return { deps, metrics, log, reads };
}

const dims = { Account: ACCOUNT, Region: REGION };

test("a redriven canary's success: CanaryRecoveries 1 and the seconds since the failure's stopDate, with the canary's Account and Region; the status item", async () => {
  const h = harness({ [execution('r1')]: T0 });
  await expect(recordCanaryRecovery(succeeded('r1', T0 + 7_400), h.deps)).resolves.toBe('recorded');
  expect(h.reads).toEqual([[execution('r1'), 0]]);
  expect(h.metrics.points).toEqual([
    { name: METRIC.canaryRecoveries, value: 1, unit: 'Count', dimensions: dims },
    { name: METRIC.canaryRecoverySeconds, value: 7, unit: 'Seconds', dimensions: dims },
  ]);
  expect(await table().item(KEY)).toEqual({
    ...KEY,
    account: ACCOUNT,
    region: REGION,
    stateMachineArn: SM,
    executionArn: execution('r1'),
    failedAt: new Date(T0).toISOString(),
    recoveredAt: new Date(T0 + 7_400).toISOString(),
    recoverySeconds: 7,
    recoveries: 1,
  });
});

test('the next interval\'s recovery replaces the last one and counts recoveries; a duplicate or an older event is not counted again', async () => {
  const h = harness({ [execution('r1')]: T0, [execution('r2')]: T0 + 3_600_000 });
  await recordCanaryRecovery(succeeded('r1', T0 + 5_000), h.deps);
  await expect(recordCanaryRecovery(succeeded('r2', T0 + 3_609_000), h.deps)).resolves.toBe('recorded');
  await expect(recordCanaryRecovery(succeeded('r2', T0 + 3_609_000), h.deps)).resolves.toBe('already-recorded');
  await expect(recordCanaryRecovery(succeeded('r1', T0 + 5_000), h.deps)).resolves.toBe('already-recorded');
  expect(h.metrics.sum(METRIC.canaryRecoveries, dims)).toBe(2);
  expect(await table().item(KEY)).toMatchObject({ executionArn: execution('r2'), recoverySeconds: 9, recoveries: 2 });
});

test('no ledger record of the failure: the recovery is still counted and stored, without a duration, and a log line says so', async () => {
  const h = harness();
  await expect(recordCanaryRecovery(succeeded('r1', T0 + 5_000), h.deps)).resolves.toBe('recorded');
  expect(h.metrics.points.map((p) => p.name)).toEqual([METRIC.canaryRecoveries]);
  expect(h.log.lines.find((l) => l.level === 'warn')?.message).toMatch(/no record of its failure/);
  const item = await table().item(KEY);
  expect(item).toMatchObject({ executionArn: execution('r1'), recoveries: 1 });
  expect(item).not.toHaveProperty('failedAt');
  expect(item).not.toHaveProperty('recoverySeconds');
});

test('a recovery without a duration after one with it removes the stale duration', async () => {
  const h = harness({ [execution('r1')]: T0 });
  await recordCanaryRecovery(succeeded('r1', T0 + 5_000), h.deps);
  await recordCanaryRecovery(succeeded('r2', T0 + 3_605_000), h.deps);
  const item = await table().item(KEY);
  expect(item).toMatchObject({ executionArn: execution('r2'), recoveries: 2 });
  expect(item).not.toHaveProperty('recoverySeconds');
});

test('a canary that succeeded without a redrive is no recovery (logged); decide-only writes nothing', async () => {
  const h = harness({ [execution('r1')]: T0 });
  await expect(recordCanaryRecovery(succeeded('r0', T0 + 1_000, 0), h.deps)).resolves.toBe('not-redriven');
  await expect(recordCanaryRecovery(succeeded('r1', T0 + 5_000), h.deps, true)).resolves.toBe('decide-only');
  expect(h.metrics.points).toEqual([]);
  expect(await table().item(KEY)).toBeUndefined();
  expect(h.log.lines.map((l) => l.message)).toEqual([expect.stringMatching(/without a redrive/)]);
});

test('canaryMetrics passes only the canary metrics', () => {
  const inner = new InMemoryMetrics();
  const m = canaryMetrics(inner);
  m.count(METRIC.decisions, { Outcome: 'redrive', Reason: 'due' });
  m.count(METRIC.redrives);
  m.milliseconds(METRIC.redriveLatency, 12);
  m.count(METRIC.deferrals, { Reason: 'rate-limited' });
  m.count(METRIC.canaryRecoveries, dims);
  m.seconds(METRIC.canaryRecoverySeconds, 5, dims);
  expect(inner.points.map((p) => p.name)).toEqual([METRIC.canaryRecoveries, METRIC.canaryRecoverySeconds]);
});
