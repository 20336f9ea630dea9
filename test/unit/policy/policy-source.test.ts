import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { METRIC } from '../../../contract/metrics';
import { InMemoryMetrics, MemoryLog } from '../../../lambda/observability/telemetry';
import { PolicySource, resolvePolicy } from '../../../lambda/policy/policy-source';
import { KillSwitch } from '../../../lambda/record/kill-switch';
import { STATE_MACHINE_ARN } from '../helpers';

const TABLE = 'policies';
const LEDGER = 'ledger';
const TTL = 30_000;
const T0 = 1_700_000_000_000;

const item = (key: string, extra: Record<string, AttributeValue> = {}): Record<string, AttributeValue> => ({ stateMachine: { S: key }, ...extra });

function setup() {
  const ddb = new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }));
  const ddbMock = mockClient(ddb);
  const docMock = mockClient(doc);
  docMock.on(GetCommand).resolves({});
  const log = new MemoryLog();
  const metrics = new InMemoryMetrics();
  const source = new PolicySource(ddb, TABLE, new KillSwitch(doc, LEDGER), TTL, log, metrics);
  return { ddbMock, docMock, log, metrics, source };
}

describe('PolicySource', () => {
  it('loads every item and the kill switch, with consistent reads', async () => {
    const { ddbMock, docMock, source } = setup();
    ddbMock.on(ScanCommand).resolves({ Items: [item('*'), item(STATE_MACHINE_ARN, { maxRedrives: { N: '5' } })] });
    const snap = await source.snapshot(T0);
    expect(snap.loadedAt).toBe(T0);
    expect(snap.pause).toEqual({ paused: false });
    expect([...snap.policies.keys()].sort()).toEqual(['*', STATE_MACHINE_ARN].sort());
    const r = resolvePolicy(snap, STATE_MACHINE_ARN);
    expect(r.kind === 'found' && r.policy.maxRedrives).toBe(5);
    const scan = ddbMock.commandCalls(ScanCommand);
    expect(scan).toHaveLength(1);
    expect(scan[0].args[0].input).toMatchObject({ TableName: TABLE, ConsistentRead: true });
    const get = docMock.commandCalls(GetCommand);
    expect(get).toHaveLength(1);
    expect(get[0].args[0].input).toMatchObject({ TableName: LEDGER, Key: { pk: 'CONTROL', sk: 'PAUSE' }, ConsistentRead: true });
  });

  it('caches for the TTL, reloads after it', async () => {
    const { ddbMock, docMock, source } = setup();
    ddbMock.on(ScanCommand).resolvesOnce({ Items: [item('*', { maxRedrives: { N: '1' } })] }).resolves({ Items: [item('*', { maxRedrives: { N: '2' } })] });
    const a = await source.snapshot(T0);
    const b = await source.snapshot(T0 + 1);
    const c = await source.snapshot(T0 + TTL - 1);
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(ddbMock.commandCalls(ScanCommand)).toHaveLength(1);
    expect(docMock.commandCalls(GetCommand)).toHaveLength(1);

    const d = await source.snapshot(T0 + TTL);
    expect(d).not.toBe(a);
    expect(d.loadedAt).toBe(T0 + TTL);
    expect(ddbMock.commandCalls(ScanCommand)).toHaveLength(2);
    expect(docMock.commandCalls(GetCommand)).toHaveLength(2);
    const r = resolvePolicy(d, STATE_MACHINE_ARN);
    expect(r.kind === 'found' && r.policy.maxRedrives).toBe(2);
    // and the new snapshot is cached from its own load time
    await source.snapshot(T0 + 2 * TTL - 1);
    expect(ddbMock.commandCalls(ScanCommand)).toHaveLength(2);
  });

  it('invalidate() forces a reload', async () => {
    const { ddbMock, source } = setup();
    ddbMock.on(ScanCommand).resolves({ Items: [] });
    await source.snapshot(T0);
    source.invalidate();
    await source.snapshot(T0 + 1);
    expect(ddbMock.commandCalls(ScanCommand)).toHaveLength(2);
  });

  it('concurrent callers share one load', async () => {
    const { ddbMock, docMock, source } = setup();
    ddbMock.on(ScanCommand).resolves({ Items: [item('*')] });
    const snaps = await Promise.all([source.snapshot(T0), source.snapshot(T0), source.snapshot(T0 + 5)]);
    expect(snaps[1]).toBe(snaps[0]);
    expect(snaps[2]).toBe(snaps[0]);
    expect(ddbMock.commandCalls(ScanCommand)).toHaveLength(1);
    expect(docMock.commandCalls(GetCommand)).toHaveLength(1);
  });

  it('pages with LastEvaluatedKey', async () => {
    const { ddbMock, source } = setup();
    const lek1 = { stateMachine: { S: 'b' } };
    const lek2 = { stateMachine: { S: 'c' } };
    ddbMock
      .on(ScanCommand)
      .resolvesOnce({ Items: [item('a*')], LastEvaluatedKey: lek1 })
      .resolvesOnce({ Items: [], LastEvaluatedKey: lek2 })
      .resolvesOnce({ Items: [item('*')] });
    const snap = await source.snapshot(T0);
    expect([...snap.policies.keys()].sort()).toEqual(['*', 'a*']);
    const calls = ddbMock.commandCalls(ScanCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(3);
    expect(calls[0].ExclusiveStartKey).toBeUndefined();
    expect(calls[1].ExclusiveStartKey).toEqual(lek1);
    expect(calls[2].ExclusiveStartKey).toEqual(lek2);
  });

  it('a page without Items is fine', async () => {
    const { ddbMock, source } = setup();
    ddbMock.on(ScanCommand).resolves({});
    expect((await source.snapshot(T0)).policies.size).toBe(0);
  });

  it('an invalid item is kept as invalid, logged with key and fields, and counted', async () => {
    const { ddbMock, log, metrics, source } = setup();
    ddbMock.on(ScanCommand).resolves({
      Items: [item('*'), item(STATE_MACHINE_ARN, { maxRedrive: { N: '5' }, backoffRate: { N: '0.5' } }), item('arn:*', { jitter: { S: 'HALF' } })],
    });
    const snap = await source.snapshot(T0);
    expect(snap.policies.get('*')?.ok).toBe(true);
    expect(snap.policies.get(STATE_MACHINE_ARN)?.ok).toBe(false);
    // the invalid exact key wins: never a fallback to '*'
    expect(resolvePolicy(snap, STATE_MACHINE_ARN)).toMatchObject({ kind: 'invalid', key: STATE_MACHINE_ARN });

    const errors = log.lines.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(2);
    const forArn = errors.find((l) => l.attributes.policyKey === STATE_MACHINE_ARN)!;
    const fields = (forArn.attributes.fields as Array<{ field: string }>).map((f) => f.field);
    expect(fields).toEqual(expect.arrayContaining(['maxRedrive', 'backoffRate']));
    expect(errors.find((l) => l.attributes.policyKey === 'arn:*')).toBeDefined();
    expect(metrics.sum(METRIC.policyInvalid)).toBe(2);
    expect(metrics.points.filter((p) => p.name === METRIC.policyInvalid).every((p) => p.unit === 'Count')).toBe(true);
  });

  it('valid items log nothing and count nothing', async () => {
    const { ddbMock, log, metrics, source } = setup();
    ddbMock.on(ScanCommand).resolves({ Items: [item('*'), item(STATE_MACHINE_ARN)] });
    await source.snapshot(T0);
    expect(log.lines).toEqual([]);
    expect(metrics.points).toEqual([]);
  });

  it('an item that cannot even be unmarshalled is invalid, not a failed load', async () => {
    const { ddbMock, log, metrics, source } = setup();
    ddbMock.on(ScanCommand).resolves({ Items: [item('*'), item('broken*', { weird: { X: 1 } as unknown as AttributeValue })] });
    const snap = await source.snapshot(T0);
    const broken = snap.policies.get('broken*');
    expect(broken?.ok).toBe(false);
    if (broken && !broken.ok) {
      expect(broken.error.policyKey).toBe('broken*');
      expect(broken.error.issues[0].field).toBe('(item)');
      expect(broken.error.issues[0].message).toMatch(/^cannot be read: /);
    }
    expect(snap.policies.get('*')?.ok).toBe(true);
    expect(metrics.sum(METRIC.policyInvalid)).toBe(1);
    expect(log.lines[0].attributes.policyKey).toBe('broken*');
  });

  it('a huge number in an item invalidates only that field', async () => {
    const { ddbMock, log, source } = setup();
    ddbMock.on(ScanCommand).resolves({ Items: [item('*', { maxRedrives: { N: '1E+30' } })] });
    const snap = await source.snapshot(T0);
    const p = snap.policies.get('*');
    expect(p?.ok).toBe(false);
    if (p && !p.ok) expect(p.error.issues.map((i) => i.field)).toEqual(['maxRedrives']);
    expect(log.lines).toHaveLength(1);
  });

  it('an item without the key attribute is named (no stateMachine key)', async () => {
    const { ddbMock, source } = setup();
    ddbMock.on(ScanCommand).resolves({ Items: [{ maxRedrives: { N: '1' } }] });
    const snap = await source.snapshot(T0);
    expect(snap.policies.get('(no stateMachine key)')?.ok).toBe(false);
  });

  it('a failed load rejects, caches nothing, and the next call retries', async () => {
    const { ddbMock, source } = setup();
    ddbMock.on(ScanCommand).rejectsOnce(Object.assign(new Error('boom'), { name: 'ProvisionedThroughputExceededException' })).resolves({ Items: [item('*')] });
    await expect(source.snapshot(T0)).rejects.toThrow('boom');
    const snap = await source.snapshot(T0 + 1);
    expect(snap.policies.has('*')).toBe(true);
    expect(ddbMock.commandCalls(ScanCommand)).toHaveLength(2);
  });

  it('a failed reload after the TTL rejects (the stale snapshot is not served) and the next call retries', async () => {
    const { ddbMock, source } = setup();
    ddbMock.on(ScanCommand).resolvesOnce({ Items: [item('*')] }).rejectsOnce(new Error('down')).resolves({ Items: [] });
    await source.snapshot(T0);
    await expect(source.snapshot(T0 + TTL)).rejects.toThrow('down');
    expect((await source.snapshot(T0 + TTL + 1)).policies.size).toBe(0);
  });
});

describe('KillSwitch.read', () => {
  it('no item: not paused', async () => {
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
    const m = mockClient(doc);
    m.on(GetCommand).resolves({});
    expect(await new KillSwitch(doc, LEDGER).read()).toEqual({ paused: false });
    expect(m.commandCalls(GetCommand)[0].args[0].input).toMatchObject({ TableName: LEDGER, Key: { pk: 'CONTROL', sk: 'PAUSE' }, ConsistentRead: true });
  });

  it('an item: paused, with reason, by and at', async () => {
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
    const m = mockClient(doc);
    m.on(GetCommand, { TableName: LEDGER, Key: { pk: 'CONTROL', sk: 'PAUSE' } }).resolves({ Item: { pk: 'CONTROL', sk: 'PAUSE', reason: 'incident 42', by: 'alice', at: T0 } });
    expect(await new KillSwitch(doc, LEDGER).read()).toEqual({ paused: true, reason: 'incident 42', by: 'alice', at: T0 });
  });

  it('the snapshot carries the pause state', async () => {
    const { ddbMock, docMock, source } = setup();
    ddbMock.on(ScanCommand).resolves({ Items: [] });
    docMock.on(GetCommand).resolves({ Item: { pk: 'CONTROL', sk: 'PAUSE', reason: 'r', by: 'b', at: 1 } });
    expect((await source.snapshot(T0)).pause).toEqual({ paused: true, reason: 'r', by: 'b', at: 1 });
  });
});
