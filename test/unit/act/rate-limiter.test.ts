import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { DynamoRateLimiter, LATE_GRANT_TOLERANCE_MS, UnlimitedRate } from '../../../lambda/act/rate-limiter';

const T0 = 1_700_000_000_000;

/**
 * A one-item store with DynamoDB's conditional-update semantics for the two updates the
 * limiter makes. `returnItem` false behaves like dynalite (no item on condition failure).
 */
function fakeStore(options: { returnItem?: boolean; onUpdate?: () => void } = {}) {
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }));
  const mock = mockClient(doc);
  const state: { tat: number | undefined } = { tat: undefined };
  const fail = () => {
    const e = new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
    if (options.returnItem !== false && state.tat !== undefined) Object.assign(e, { Item: { tat: { N: String(state.tat) } } });
    return e;
  };
  mock.on(UpdateCommand).callsFake((input: UpdateCommandInput) => {
    options.onUpdate?.();
    const v = input.ExpressionAttributeValues!;
    if (input.UpdateExpression === 'SET tat = tat + :i') {
      if (state.tat === undefined || !(state.tat >= v[':now'] && state.tat <= v[':latest'])) throw fail();
      state.tat += v[':i'];
      return { Attributes: { tat: state.tat } };
    }
    if (input.UpdateExpression === 'SET tat = :next') {
      if (!(state.tat === undefined || state.tat < v[':now'])) throw fail();
      state.tat = v[':next'];
      return {};
    }
    throw new Error(`unexpected update ${input.UpdateExpression}`);
  });
  mock.on(GetCommand).callsFake(() => ({ Item: state.tat === undefined ? undefined : { pk: 'RATE', sk: 'redrive', tat: state.tat } }));
  return { doc, mock, state };
}

function clock(start = T0) {
  const c = { now: start, fn: () => c.now };
  return c;
}

describe('DynamoRateLimiter', () => {
  it('rejects a rate that is not positive', () => {
    const { doc } = fakeStore();
    for (const r of [0, -1, NaN]) expect(() => new DynamoRateLimiter(doc, 't', 'redrive', r)).toThrow(/ratePerSecond/);
  });

  it('an idle limiter grants now and sets the next slot one interval later', async () => {
    const { doc, state, mock } = fakeStore();
    const c = clock();
    const limiter = new DynamoRateLimiter(doc, 'ledger', 'redrive', 10, c.fn);
    await expect(limiter.acquire(1_000)).resolves.toEqual({ granted: true, at: T0 });
    expect(state.tat).toBe(T0 + 100);
    const first = mock.commandCalls(UpdateCommand)[0].args[0].input;
    expect(first).toMatchObject({ TableName: 'ledger', Key: { pk: 'RATE', sk: 'redrive' } });
  });

  it('a burst gets consecutive slots exactly one interval apart', async () => {
    const { doc } = fakeStore();
    const c = clock();
    const limiter = new DynamoRateLimiter(doc, 'ledger', 'redrive', 4, c.fn);
    const grants = [];
    for (let i = 0; i < 5; i++) grants.push(await limiter.acquire(10_000));
    expect(grants).toEqual([0, 250, 500, 750, 1000].map((d) => ({ granted: true, at: T0 + d })));
  });

  it('beyond the wait budget: not granted, retryAt is when capacity frees up, nothing reserved', async () => {
    const { doc, state } = fakeStore();
    const c = clock();
    const limiter = new DynamoRateLimiter(doc, 'ledger', 'redrive', 1, c.fn);
    await limiter.acquire(0); // slot T0, tat T0+1000
    await limiter.acquire(1_000); // slot T0+1000, tat T0+2000
    const r = await limiter.acquire(1_500);
    expect(r).toEqual({ granted: false, retryAt: T0 + 2_000 });
    expect(state.tat).toBe(T0 + 2_000);
  });

  it('without the item on condition failure (dynalite), reads tat with a consistent Get', async () => {
    const { doc, mock } = fakeStore({ returnItem: false });
    const c = clock();
    const limiter = new DynamoRateLimiter(doc, 'ledger', 'redrive', 1, c.fn);
    await limiter.acquire(0);
    expect(await limiter.acquire(0)).toEqual({ granted: false, retryAt: T0 + 1_000 });
    const gets = mock.commandCalls(GetCommand);
    expect(gets.length).toBeGreaterThan(0);
    expect(gets[0].args[0].input).toMatchObject({ TableName: 'ledger', Key: { pk: 'RATE', sk: 'redrive' }, ConsistentRead: true });
  });

  it('after an idle gap the slot is now again (no saved-up burst)', async () => {
    const { doc } = fakeStore();
    const c = clock();
    const limiter = new DynamoRateLimiter(doc, 'ledger', 'redrive', 2, c.fn);
    await limiter.acquire(0);
    c.now += 60_000;
    expect(await limiter.acquire(0)).toEqual({ granted: true, at: T0 + 60_000 });
    expect(await limiter.acquire(10_000)).toEqual({ granted: true, at: T0 + 60_500 });
  });

  it('other DynamoDB errors propagate', async () => {
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
    mockClient(doc).on(UpdateCommand).rejects(Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' }));
    await expect(new DynamoRateLimiter(doc, 't', 'n', 1, () => T0).acquire(0)).rejects.toThrow('throttled');
  });

  it('a queued grant that arrives too late is not used; a fresh slot is taken', async () => {
    const c = clock();
    let slowOnce = false;
    const { doc, state } = fakeStore({
      onUpdate: () => {
        if (slowOnce) {
          c.now += 5_000; // the store took 5 s to answer this update
          slowOnce = false;
        }
      },
    });
    const limiter = new DynamoRateLimiter(doc, 'ledger', 'redrive', 10, c.fn);
    await limiter.acquire(1_000); // idle grant at T0, tat T0+100
    slowOnce = true;
    const g = await limiter.acquire(1_000); // queued slot T0+100, answered at T0+5000
    expect(g.granted).toBe(true);
    if (g.granted) {
      expect(g.at).toBeGreaterThanOrEqual(c.now - Math.max(100, LATE_GRANT_TOLERANCE_MS));
      expect(g.at).toBeGreaterThan(T0 + 100);
    }
    expect(state.tat).toBeGreaterThan(T0 + 5_000);
  });

  it('property: granted slots are never closer than one interval and never beyond the wait budget', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.record({ advance: fc.integer({ min: 0, max: 2_000 }), maxWait: fc.integer({ min: 0, max: 3_000 }) }), { minLength: 1, maxLength: 25 }),
        async (rate, steps) => {
          const { doc } = fakeStore();
          const c = clock();
          const limiter = new DynamoRateLimiter(doc, 'ledger', 'redrive', rate, c.fn);
          const interval = 1000 / rate;
          const slots: number[] = [];
          for (const s of steps) {
            c.now += s.advance;
            const g = await limiter.acquire(s.maxWait);
            if (g.granted) {
              expect(g.at).toBeGreaterThanOrEqual(c.now - 0.01);
              expect(g.at).toBeLessThanOrEqual(c.now + s.maxWait + 0.01);
              slots.push(g.at);
            } else {
              expect(g.retryAt).toBeGreaterThan(c.now + s.maxWait);
            }
          }
          for (let i = 1; i < slots.length; i++) expect(slots[i] - slots[i - 1]).toBeGreaterThanOrEqual(interval - 0.01); // epoch-ms floats carry ~0.0002 ms of rounding;
        },
      ),
      { numRuns: 300, seed: 77 },
    );
  });
});

describe('UnlimitedRate', () => {
  it('always grants now', async () => {
    await expect(new UnlimitedRate(() => 42).acquire()).resolves.toEqual({ granted: true, at: 42 });
  });
});
