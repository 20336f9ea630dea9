/**
 * The leasing rate limiter on dynalite: several instances (each its own limiter, one lease
 * item in a real ledger table) over virtual time (test/support/virtual-time.ts: the clock
 * moves only when no DynamoDB request is in flight), so the one-second windows are exact
 * and nothing depends on this machine's speed.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoRateLimiter, readRecordedRate } from '../../lambda/act/rate-limiter';
import { chooseRate } from '../../cli/redrive-rate';
import { liveTotal } from '../../lambda/act/rate-shares';
import { LEDGER_TABLE } from '../../contract/table-definitions';
import { createTable, type LocalDynamo, startDynalite } from '../../local/dynamodb';
import { maxInAnySecond, T0, VirtualTime } from '../support/virtual-time';

/** A deterministic pseudo-random sequence per seed (the limiters' jitter). */
function seeded(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 16807) % 2147483647;
    return x / 2147483647;
  };
}

let dynamo: LocalDynamo;
let n = 0;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo.close();
});

async function setup() {
  const time = new VirtualTime();
  const client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const table = `leases-${++n}`;
  await createTable(client, table, LEDGER_TABLE);
  time.track(client);
  const calls = { writes: 0, reads: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = (context as { commandName?: string }).commandName;
      if (name === 'UpdateItemCommand') calls.writes++;
      if (name === 'GetItemCommand') calls.reads++;
      return next(args);
    },
    { step: 'initialize', name: 'countLimiterCalls' },
  );
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return { time, client, doc, table, calls };
}

test('6 instances at 30/s over dynalite: never more than 30 in any second, the whole rate used while all are busy, few writes; the old GCRA item is ignored', async () => {
  const { time, client, doc, table, calls } = await setup();
  try {
    // What the previous single-item limiter left behind: its tat far in the future would have blocked it.
    await doc.send(new PutCommand({ TableName: table, Item: { pk: 'RATE', sk: 'RedriveExecution', tat: T0 + 3_600_000 } }));
    const rate = 30;
    // Seeded jitter: with Math.random, about one run in ten deferred one acquire past the 5-s
    // budget while the set of instances changed (deferred, not lost: the drain takes it).
    const lims = Array.from({ length: 6 }, (_, i) => new DynamoRateLimiter(doc, table, 'RedriveExecution', rate, time.clock, { sleep: time.sleep, random: seeded(i + 1) }));
    const worst = { total: 0 };
    const starts: number[] = [];
    const byInstance: number[][] = lims.map(() => []);
    let deferred = 0;
    const instance = async (lim: DynamoRateLimiter, events: number, startAt: number, mine: number[]) => {
      await time.sleep(startAt);
      for (let i = 0; i < events; i++) {
        await time.sleep(20); // the rest of the handler
        const grant = await lim.acquire(5_000);
        if (!grant.granted) {
          deferred++;
          continue;
        }
        await time.sleep(grant.at - time.now);
        starts.push(time.now);
        mine.push(time.now);
        const item = (await doc.send(new GetCommand({ TableName: table, Key: { pk: 'RATE', sk: 'LEASES#RedriveExecution' }, ConsistentRead: true }))).Item!;
        worst.total = Math.max(worst.total, liveTotal(item.h, time.now, 100));
      }
    };
    // Staggered arrivals: the set of instances changes during the first second.
    await time.run(Promise.all(lims.map((lim, i) => instance(lim, 80, i * 150, byInstance[i]))));
    const observerReads = starts.length;

    expect(deferred).toBe(0);
    expect(starts).toHaveLength(480);
    expect(worst.total).toBeLessThanOrEqual(rate);
    expect(maxInAnySecond(starts)).toBeLessThanOrEqual(rate);
    // While all six are busy (from the last one's first call to the first one's last call), the whole rate is used.
    const from = Math.max(...byInstance.map((c) => c[0]));
    const to = Math.min(...byInstance.map((c) => c[c.length - 1]));
    const busy = starts.filter((t) => t >= from && t <= to).length;
    expect(busy / ((to - from) / 1000) / rate).toBeGreaterThan(0.9);
    expect(calls.writes / starts.length).toBeLessThan(0.1);
    expect((calls.reads - observerReads + calls.writes) / starts.length).toBeLessThan(0.25);
    // The old item is untouched.
    const old = await doc.send(new GetCommand({ TableName: table, Key: { pk: 'RATE', sk: 'RedriveExecution' } }));
    expect(old.Item?.tat).toBe(T0 + 3_600_000);
  } finally {
    client.destroy();
  }
});

test('a dead holder on dynalite: its share comes back after its lease and the allowance, and the window bound holds across the handover', async () => {
  const { time, client, doc, table } = await setup();
  try {
    const rate = 10;
    const dead = new DynamoRateLimiter(doc, table, 'DescribeExecution', rate, time.clock, { sleep: time.sleep, random: seeded(7) });
    const starts: number[] = [];
    const first = await time.run(dead.acquire(1_000));
    if (first.granted) {
      await time.run(time.sleep(first.at - time.now));
      starts.push(time.now);
    }
    const deadUntil = dead.lease().until;
    const heir = new DynamoRateLimiter(doc, table, 'DescribeExecution', rate, time.clock, { sleep: time.sleep, random: seeded(8) });
    await time.run(
      (async () => {
        for (let i = 0; i < 40; i++) {
          const grant = await heir.acquire(20_000);
          if (!grant.granted) continue;
          await time.sleep(grant.at - time.now);
          starts.push(time.now);
        }
      })(),
    );
    expect(starts).toHaveLength(41);
    expect(starts[1]).toBeGreaterThanOrEqual(deadUntil + 100);
    expect(maxInAnySecond(starts)).toBeLessThanOrEqual(rate);
  } finally {
    client.destroy();
  }
});

describe('redrivectl release next to the controller: one deployed rate', () => {
  const DEPLOYED = 10;

  /** Two controller instances and a CLI release at `cliRate`, all busy for 15 s; the start times of their calls. */
  async function shared(cliRate: (deployed: number) => number): Promise<{ starts: number[]; cli: number; cliPlanned: number }> {
    const { time, client, doc, table } = await setup();
    try {
      const controllers = [1, 2].map((i) => new DynamoRateLimiter(doc, table, 'RedriveExecution', DEPLOYED, time.clock, { sleep: time.sleep, random: seeded(i) }));
      // The controller's drain records its rate; the CLI reads it as redrivectl does.
      await time.run(controllers[0].publishRate(time.now));
      const recorded = await time.run(readRecordedRate(doc, table, 'RedriveExecution'));
      const planned = cliRate(recorded!.ratePerSecond);
      const cliLimiter = new DynamoRateLimiter(doc, table, 'RedriveExecution', planned, time.clock, { sleep: time.sleep, random: seeded(9) });
      const starts: number[] = [];
      let cli = 0;
      const busy = async (lim: DynamoRateLimiter, isCli: boolean, startAt: number) => {
        await time.sleep(startAt);
        while (time.now < T0 + 15_000) {
          await time.sleep(5);
          const grant = await lim.acquire(5_000);
          if (!grant.granted) continue;
          await time.sleep(grant.at - time.now);
          lim.started(time.now);
          starts.push(time.now);
          if (isCli) cli++;
        }
      };
      await time.run(Promise.all([busy(controllers[0], false, 0), busy(controllers[1], false, 300), busy(cliLimiter, true, 2_000)]));
      return { starts, cli, cliPlanned: planned };
    } finally {
      client.destroy();
    }
  }

  test('the CLI at the recorded deployed rate (its default): controller + CLI never exceed it in any second, and the CLI gets its turn', async () => {
    const { starts, cli, cliPlanned } = await shared((deployed) => chooseRate('release', undefined, deployed));
    expect(cliPlanned).toBe(DEPLOYED);
    expect(maxInAnySecond(starts)).toBeLessThanOrEqual(DEPLOYED);
    expect(cli).toBeGreaterThan(0);
    expect(starts.length).toBeGreaterThan(0.9 * DEPLOYED * 15 - DEPLOYED);
  });

  test('a lower --rate keeps the sum within the deployed rate too', async () => {
    const { starts } = await shared((deployed) => chooseRate('release', '3', deployed));
    expect(maxInAnySecond(starts)).toBeLessThanOrEqual(DEPLOYED);
  });

  test('what the CLI did before (planning with its built-in 50/s) exceeds the deployed rate: the check above can fail', async () => {
    const { starts } = await shared(() => 50);
    expect(maxInAnySecond(starts)).toBeGreaterThan(DEPLOYED);
  });
});
