/**
 * The audit trail on dynalite: where an entry is stored, what it holds, the daily counters
 * `redrivectl status` reads (written in batches, one item per shard), and the per-execution
 * trail `redrivectl explain` reads (entries of their own and entries in failure records).
 */
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { type AuditEntry, AuditTrail } from '../../../lambda/record/audit-trail';
import { useLedgerTable } from '../../support/dynalite';

const T0 = Date.UTC(2023, 10, 14, 22, 13, 20); // 2023-11-14T22:13:20.000Z
const DAY = 86_400_000;
const RETENTION_DAYS = 90;
const ARN = 'arn:aws:states:us-east-1:123456789012:execution:orders:run-1';

const table = useLedgerTable();
/** A document client without removeUndefinedValues: the trail drops undefined fields itself. Counts written at every decision unless `flushEveryMs`. */
const trail = (flushEveryMs = 0) => new AuditTrail(DynamoDBDocumentClient.from(table().client), table().name, RETENTION_DAYS, flushEveryMs);

function entry(overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    at: T0,
    executionArn: ARN,
    stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:orders',
    eventId: 'e-1',
    source: 'event',
    redriveCount: 0,
    status: 'FAILED',
    errorName: 'Lambda.ServiceException',
    decision: 'redrive-later',
    reason: 'backoff',
    detail: 'redrive 1 of 3 in 30s',
    policyKey: '*',
    action: 'scheduled',
    actionDetail: undefined,
    dueAt: T0 + 30_000,
    ...overrides,
  };
}

/** The entry without its undefined fields, as stored. */
const defined = (e: AuditEntry) => Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)) as unknown as AuditEntry;

/** Every item under one partition key, as stored. */
async function partition(pk: string): Promise<Record<string, unknown>[]> {
  const out = await table().doc.send(new QueryCommand({ TableName: table().name, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk } }));
  return out.Items ?? [];
}

describe('record', () => {
  it("stores the entry under the execution's partition, keyed by time, with a TTL and without undefined fields", async () => {
    await trail().record(entry());
    const items = await partition(`EXEC#${ARN}`);
    expect(items).toHaveLength(1);
    const defined = Object.fromEntries(Object.entries(entry()).filter(([k]) => k !== 'actionDetail'));
    expect(items[0]).toEqual({
      pk: `EXEC#${ARN}`,
      sk: expect.stringMatching(/^AUDIT#2023-11-14T22:13:20\.000Z#[0-9a-f]{8}$/),
      ...defined,
      expiresAt: Math.floor(T0 / 1000) + RETENTION_DAYS * 86_400,
    });
    expect(items[0]).not.toHaveProperty('actionDetail');
  });

  it('two entries at the same millisecond are both kept', async () => {
    await trail().record(entry());
    await trail().record(entry({ decision: 'redrive', reason: 'due', action: 'redriven', dueAt: undefined }));
    expect((await partition(`EXEC#${ARN}`)).map((i) => i.action).sort()).toEqual(['redriven', 'scheduled']);
  });

  it.each([
    ['its event id', 'e-9', 'EVENT#e-9'],
    ['"unknown" when the event had no id either', null, 'EVENT#unknown'],
  ])('an entry without an execution (malformed event) is stored under %s', async (_what, eventId, pk) => {
    const malformed = entry({ executionArn: null, stateMachineArn: null, eventId, redriveCount: null, status: null, decision: 'skip', reason: 'malformed-event', action: 'skipped', dueAt: undefined });
    await trail().record(malformed);
    expect(await partition(pk)).toEqual([expect.objectContaining({ pk, decision: 'skip', reason: 'malformed-event', executionArn: null })]);
  });

  it('counts each decision:reason:action per UTC day in a counter item of its own shard, with a TTL', async () => {
    const t = trail(0);
    await t.record(entry());
    await t.record(entry({ at: T0 + 1_000 }));
    await t.record(entry({ decision: 'skip', reason: 'paused', action: 'skipped', dueAt: undefined }));
    await t.record(entry({ at: T0 + DAY }));
    const items = await partition('STATS#2023-11-14');
    expect(items).toHaveLength(1);
    expect(items[0]).toEqual({
      pk: 'STATS#2023-11-14',
      sk: expect.stringMatching(/^COUNTS#\d\d$/),
      'redrive-later:backoff:scheduled': 2,
      'skip:paused:skipped': 1,
      expiresAt: Math.floor(Date.UTC(2023, 10, 14) / 1000) + RETENTION_DAYS * 86_400,
    });
    expect(await partition('STATS#2023-11-15')).toEqual([expect.objectContaining({ 'redrive-later:backoff:scheduled': 1 })]);
  });
});

describe('counters in batches', () => {
  it('the first decision is written at once, later ones at most every flushEveryMs, and all at flush()', async () => {
    const t = trail(10_000);
    const total = async () => (await partition('STATS#2023-11-14')).reduce((n, i) => n + Number(i['redrive-later:backoff:scheduled'] ?? 0), 0);
    await t.record(entry());
    expect(await total()).toBe(1);
    await t.record(entry({ at: T0 + 1_000 }));
    await t.counted(entry({ at: T0 + 9_999 }));
    expect(await total()).toBe(1);
    await t.counted(entry({ at: T0 + 10_000 }));
    expect(await total()).toBe(4);
    await t.counted(entry({ at: T0 + 10_001 }));
    await t.flush(T0 + 10_002);
    expect(await total()).toBe(5);
  });

  it('counted() stores no entry: its entry went with the ledger write', async () => {
    await trail(0).counted(entry());
    expect(await partition(`EXEC#${ARN}`)).toEqual([]);
    await expect(trail().countsFor(T0)).resolves.toEqual({ day: '2023-11-14', counts: { 'redrive-later:backoff:scheduled': 1 } });
  });

  it('counts that could not be written are kept for the next flush', async () => {
    const failing = { send: jest.fn().mockRejectedValueOnce(new Error('ProvisionedThroughputExceededException')) } as unknown as DynamoDBDocumentClient;
    const t = new AuditTrail(failing, table().name, RETENTION_DAYS, 0);
    await expect(t.counted(entry())).rejects.toThrow('ProvisionedThroughputExceededException');
    (failing.send as jest.Mock).mockImplementation((command) => table().doc.send(command));
    await t.counted(entry());
    await expect(trail().countsFor(T0)).resolves.toEqual({ day: '2023-11-14', counts: { 'redrive-later:backoff:scheduled': 2 } });
  });
});

describe('trail', () => {
  it("one execution's entries, oldest first; not its failure records, not another execution's", async () => {
    await trail().record(entry({ at: T0 + 2_000, action: 'redriven', decision: 'redrive', reason: 'due' }));
    await trail().record(entry({ at: T0 }));
    await trail().record(entry({ at: T0 + 1_000, executionArn: `${ARN}-other` }));
    await table().doc.send(new PutCommand({ TableName: table().name, Item: { pk: `EXEC#${ARN}`, sk: 'FAILURE#0000000', state: 'redriven' } }));
    const entries = await trail().trail(ARN);
    expect(entries.map((e) => [e.at, e.action])).toEqual([
      [T0, 'scheduled'],
      [T0 + 2_000, 'redriven'],
    ]);
  });

  it('with the decisions stored in its failure records (written with the outcome), all in time order', async () => {
    await trail().record(entry({ at: T0 }));
    await trail().record(entry({ at: T0 + 3_000, decision: 'skip', reason: 'already-handled', action: 'skipped', dueAt: undefined }));
    const inRecord = [entry({ at: T0 + 1_000, decision: 'redrive', reason: 'due', action: 'deferred' }), entry({ at: T0 + 2_000, decision: 'redrive', reason: 'due', action: 'redriven', dueAt: undefined })].map(defined);
    await table().doc.send(new PutCommand({ TableName: table().name, Item: { pk: `EXEC#${ARN}`, sk: 'FAILURE#0000000', state: 'redriven', decisions: inRecord } }));
    await table().doc.send(new PutCommand({ TableName: table().name, Item: { pk: `EXEC#${ARN}`, sk: 'FAILURE#0000001', state: 'pending' } }));
    const entries = await trail().trail(ARN);
    expect(entries.map((e) => [e.at, e.action])).toEqual([
      [T0, 'scheduled'],
      [T0 + 1_000, 'deferred'],
      [T0 + 2_000, 'redriven'],
      [T0 + 3_000, 'skipped'],
    ]);
    expect(entries[2]).toEqual(inRecord[1]);
    expect(entries[0]).toEqual(defined(entry()));
  });

  it('an execution with no decisions has an empty trail', async () => {
    await expect(trail().trail(ARN)).resolves.toEqual([]);
  });
});

describe('countsFor', () => {
  it("the counters of the day that holds the given time, and none of another day's", async () => {
    await trail().record(entry());
    await trail().record(entry({ decision: 'skip', reason: 'paused', action: 'skipped', dueAt: undefined }));
    await trail().record(entry({ at: T0 - DAY }));
    await expect(trail().countsFor(T0 + 3_600_000)).resolves.toEqual({
      day: '2023-11-14',
      counts: { 'redrive-later:backoff:scheduled': 1, 'skip:paused:skipped': 1 },
    });
  });

  it("sums the day's counter shards, the single counter item of earlier versions included", async () => {
    await table().doc.send(new PutCommand({ TableName: table().name, Item: { pk: 'STATS#2023-11-14', sk: 'COUNTS', 'skip:paused:skipped': 2, 'redrive:no-delay:redriven': 5 } }));
    await table().doc.send(new PutCommand({ TableName: table().name, Item: { pk: 'STATS#2023-11-14', sk: 'COUNTS#07', 'redrive:no-delay:redriven': 3 } }));
    await trail().record(entry({ decision: 'skip', reason: 'paused', action: 'skipped', dueAt: undefined }));
    await expect(trail().countsFor(T0)).resolves.toEqual({ day: '2023-11-14', counts: { 'skip:paused:skipped': 3, 'redrive:no-delay:redriven': 8 } });
  });

  it('a day without decisions has no counts', async () => {
    await expect(trail().countsFor(T0)).resolves.toEqual({ day: '2023-11-14', counts: {} });
  });
});
