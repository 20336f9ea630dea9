/**
 * The write-sharded byDue index end to end (contract/due-shards.ts): failures deferred by
 * the event path land in many shards, records written by a version before sharding sit
 * under the legacy `DUE` value, and the drain finds and redrives every one of them once,
 * oldest first; a later deploy with fewer shards strands nothing.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { handleStatusChange } from '../../lambda/event-path';
import { drain, minBatchMs } from '../../lambda/scheduled-drain';
import { wire } from '../../lambda/wiring';
import { InMemoryMetrics, MemoryLog } from '../../lambda/observability/telemetry';
import { indexShardsFor, shardOf } from '../../contract/due-shards';
import { createMachine, failedExecution, FLAKY_LAMBDA, redrivesOf, type SimEnv, withSimEnv } from '../support/local';

const failsOnce = { kind: 'fail-times', times: 1, error: 'Lambda.ServiceException' } as const;
const PEAK = 1000; // 16 shards
const N = 40;

/** N failures of one machine a second apart, each handled by the event path and scheduled 60 s later. */
async function scheduledFailures(env: SimEnv): Promise<string[]> {
  // The breaker is off: 40 failures of one error would open it (held, not pending); this is about the drain's shards.
  await env.putPolicy({ stateMachine: '*', breaker: { enabled: false }, intervalSeconds: 60, jitter: 'NONE', maxRedrives: 1 });
  const machine = await createMachine(env, 'stormy', FLAKY_LAMBDA, failsOnce);
  const arns: string[] = [];
  for (let i = 0; i < N; i++) {
    const { arn, event } = await failedExecution(env, machine, `storm-${i}`);
    expect((await handleStatusChange(event, env.deps)).action).toBe('scheduled');
    arns.push(arn);
    env.clock.advanceTo(env.clock.now() + 1000); // distinct due times: the drain's order is checkable
  }
  return arns;
}

/** Moves a record back to the value a version before sharding wrote. */
async function makeLegacy(env: SimEnv, arn: string): Promise<void> {
  await env.deps.doc.send(
    new UpdateCommand({ TableName: env.config.ledgerTableName, Key: { pk: `EXEC#${arn}`, sk: 'FAILURE#0000000' }, UpdateExpression: 'SET dueShard = :legacy', ExpressionAttributeValues: { ':legacy': 'DUE' } }),
  );
}

test('the drain finds pending redrives in every shard and under the legacy DUE value, and redrives each once', async () => {
  await withSimEnv({ detachBus: true, config: { peakFailuresPerSecond: PEAK } }, async (env) => {
    const arns = await scheduledFailures(env);
    const shards = new Set(arns.map((arn) => shardOf(arn, indexShardsFor(PEAK))));
    expect(shards.size).toBeGreaterThanOrEqual(12); // 40 executions over 16 shards
    for (const arn of arns.slice(0, 5)) await makeLegacy(env, arn);
    const stored = await Promise.all(arns.map((arn) => env.deps.ledger.get(arn, 0)));
    const expected = new Set(['DUE', ...arns.slice(5).map((arn) => `DUE#${shardOf(arn, indexShardsFor(PEAK))}`)]);
    expect(new Set(stored.map((r) => (r as unknown as { dueShard: string }).dueShard))).toEqual(expected);
    expect((await env.deps.ledger.backlog()).count).toBe(N);

    env.clock.advanceTo(env.clock.now() + 61_000);
    const report = await drain(env.deps, { maxItems: 15 });
    // Batches of 15, oldest first (legacy ones included), until none is left within the run's budget.
    expect(report.due).toBe(40);
    await env.standIn.idle();
    const order = env.standIn.redrives.map((r) => r.executionArn);
    expect(new Set(order.slice(0, 15))).toEqual(new Set(arns.slice(0, 15)));
    for (const arn of arns) expect(redrivesOf(env, arn)).toBe(1);
    expect((await env.deps.ledger.backlog()).count).toBe(0);
  });
});

test('a deploy with fewer shards: its drain still reads the shards the earlier one wrote', async () => {
  await withSimEnv({ detachBus: true, config: { peakFailuresPerSecond: PEAK } }, async (env) => {
    const arns = await scheduledFailures(env);
    expect(arns.filter((arn) => shardOf(arn, indexShardsFor(PEAK)) >= 2).length).toBeGreaterThan(N / 2);
    // The next version runs with 2 shards.
    const smaller = wire({ ...env.config, peakFailuresPerSecond: 100 }, { log: new MemoryLog(), metrics: new InMemoryMetrics(), clock: env.clock.now, sleep: env.clock.sleep });
    env.clock.advanceTo(env.clock.now() + 61_000);
    await drain(smaller);
    await env.standIn.idle();
    for (const arn of arns) expect(redrivesOf(env, arn)).toBe(1);
    expect((await smaller.ledger.backlog()).count).toBe(0);
  });
});

test("the drain's pace keeps a batch's DUE index writes at half a value's 1,000 write units a second", () => {
  // 16 shards x 500 units; a record costs up to 2 index writes of 2 units on its DUE value.
  expect(minBatchMs(1000, PEAK)).toBe(500);
  expect(minBatchMs(1000, 1)).toBe(8000);
});
